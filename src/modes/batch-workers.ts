/**
 * Batch mode over several processes (`mailprobe batch --workers N`): one process of Node runs its JavaScript and
 * its TLS on one core, so a fleet run spreads its targets over N worker processes. The per-address limits stay in
 * this (the parent) process: a worker asks for a connection slot, and for its turn under --address-interval,
 * before each connection, so that the limits hold across workers even when two names share an address. Each
 * worker sends back its targets' documents; the parent is the only writer of the output. A worker that ends
 * without finishing its targets (it crashed or was killed) still leaves a document for each of them, with the
 * reason: no target is lost silently.
 */
import type { ChildProcess } from 'node:child_process';
import {
  type BatchOptions,
  type BatchTarget,
  fnv1a,
  LocalGate,
  renderBatchError,
  runBatch,
} from './batch.js';

/** What the parent sends a worker. */
export type ToWorker =
  | { t: 'start'; targets: BatchTarget[]; options: WorkerOptions }
  | { t: 'grant'; id: number; backedOff: boolean }
  | { t: 'paced'; id: number }
  | { t: 'abort' };

/** What a worker sends the parent. */
export type FromWorker =
  | { t: 'document'; input: string; line: string; passed: boolean }
  | { t: 'acquire'; id: number; address: string }
  | { t: 'release'; address: string; rateLimited: boolean }
  | { t: 'pace'; id: number; address: string }
  | { t: 'done' };

/** The options a worker runs its share with (data only: they cross a process boundary). */
export type WorkerOptions = Omit<
  BatchOptions,
  'onDocument' | 'signal' | 'gate' | 'onResolved' | 'onPhase' | 'onPortStart' | 'probePort' | 'trust'
>;

/** The worker (0-based) a target goes to: FNV-1a of its host, so one host's lines share a worker. */
export function workerOf(host: string, count: number): number {
  return fnv1a(host) % count;
}

export interface WorkersOptions extends BatchOptions {
  /** Worker processes (2 or more). */
  workers: number;
  /** Starts one worker: a Node process running the worker script, with an IPC channel (child_process.fork). */
  fork: () => ChildProcess;
}

/** Probes every target over `workers` processes; the same contract as runBatch. */
export async function runBatchInWorkers(
  targets: BatchTarget[],
  options: WorkersOptions,
): Promise<{ passed: number; failed: number; notDone: number }> {
  const gate = options.gate ?? new LocalGate(options.perAddress ?? 2, options.addressIntervalMs ?? 0);
  const failOn = options.failOn ?? 'high';
  const counts = { passed: 0, failed: 0, notDone: 0 };
  if (targets.length === 0) return counts;
  // --concurrency is over all workers: never more workers than targets probed at once, and the targets at once
  // split between the workers that have any, so that their sum is exactly --concurrency.
  const concurrency = Math.max(1, options.hostConcurrency ?? 64);
  const count = Math.max(1, Math.min(options.workers, targets.length, concurrency));
  const byWorker: BatchTarget[][] = Array.from({ length: count }, () => []);
  for (const target of targets) byWorker[workerOf(target.host, count)]?.push(target);
  const shares = byWorker.filter((share) => share.length > 0);
  const { onDocument, signal, gate: _gate, fork, workers: _workers, trust, ...rest } = options;
  const optionsFor = (index: number): WorkerOptions => ({
    ...rest,
    // A Trust does not cross the process boundary: its PEM does, and each worker builds its own.
    ...(trust?.ca !== undefined ? { ca: trust.ca } : {}),
    hostConcurrency: Math.floor(concurrency / shares.length) + (index < concurrency % shares.length ? 1 : 0),
  });
  const children: ChildProcess[] = [];
  const onAbort = () => {
    for (const child of children) if (child.connected) child.send({ t: 'abort' } satisfies ToWorker);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(
      shares.map(
        (share, index) =>
          new Promise<void>((resolve) => {
            const pending = new Map(share.map((target) => [target.input, target]));
            const child = fork();
            children.push(child);
            let finished = false;
            /** The connection slots this worker holds, by address. */
            const held = new Map<string, number>();
            const send = (message: ToWorker) => {
              if (child.connected) child.send(message);
            };
            child.on('message', (message: FromWorker) => {
              switch (message.t) {
                case 'document': {
                  const target = pending.get(message.input);
                  if (!target) return;
                  pending.delete(message.input);
                  if (signal?.aborted) return;
                  counts[message.passed ? 'passed' : 'failed']++;
                  onDocument(message.line, target, message.passed);
                  return;
                }
                case 'acquire':
                  void gate.acquire(message.address).then((backedOff) => {
                    // A slot granted to a worker that is gone goes back at once.
                    if (!child.connected) return gate.release(message.address, false);
                    held.set(message.address, (held.get(message.address) ?? 0) + 1);
                    send({ t: 'grant', id: message.id, backedOff });
                  });
                  return;
                case 'release': {
                  const count = held.get(message.address) ?? 0;
                  if (count <= 1) held.delete(message.address);
                  else held.set(message.address, count - 1);
                  gate.release(message.address, message.rateLimited);
                  return;
                }
                case 'pace':
                  void gate.pace(message.address).then(() => send({ t: 'paced', id: message.id }));
                  return;
                case 'done':
                  // Messages arrive in order: every document came before this. Closing the channel ends the worker.
                  finished = true;
                  child.disconnect();
                  return;
              }
            });
            let startError: string | undefined;
            child.on('error', (error) => {
              if (child.pid === undefined) startError ??= error.message;
            });
            let ended = false;
            const end = (code: number | null, exitSignal: NodeJS.Signals | null) => {
              if (ended) return;
              ended = true;
              // The slots a worker held when it ended go back, or other workers would wait for them forever.
              for (const [address, count] of held)
                for (let i = 0; i < count; i++) gate.release(address, false);
              held.clear();
              // Targets the worker left without a document: none after Ctrl-C (a resumed run probes them), and
              // otherwise one each, with the reason, as for any target that could not be probed.
              for (const target of pending.values()) {
                if (signal?.aborted) {
                  counts.notDone++;
                  continue;
                }
                const how = exitSignal ? `signal ${exitSignal}` : `exit code ${code}`;
                counts.failed++;
                onDocument(
                  renderBatchError(
                    target.input,
                    startError
                      ? `not probed: its batch worker process could not be started (${startError})`
                      : `not probed: its batch worker process ended (${how}) ${finished ? 'after' : 'before'} reporting it`,
                    failOn,
                    70,
                  ),
                  target,
                  false,
                );
              }
              resolve();
            };
            // A worker that ended on its own (or was never started) gets 'close' once its channel is read to
            // the end, so no document still on its way is taken for lost. After 'done' the channel is closed
            // here, and Node then gives 'exit' only: every document came before 'done'.
            child.once('close', end);
            child.once('exit', (code, exitSignal) => {
              if (finished) end(code, exitSignal);
              // A 'close' that never comes must not hold the run: the channel has had two seconds to drain.
              else setTimeout(() => end(code, exitSignal), 2000);
            });
            send({ t: 'start', targets: share, options: optionsFor(index) });
            if (signal?.aborted) send({ t: 'abort' });
          }),
      ),
    );
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return counts;
}

/**
 * A worker's side: reads its share and options from the parent, probes them with runBatch under the parent's
 * per-address gate, sends each document back, then 'done'; it exits when the parent closes the channel. Run by dist/cli/batch-worker.cjs.
 */
export function serveBatchWorker(channel: NodeJS.Process = process): void {
  let next = 0;
  const waiting = new Map<number, (value: boolean) => void>();
  const controller = new AbortController();
  const send = (message: FromWorker) => {
    if (channel.connected) channel.send?.(message);
  };
  const ask = (message: { t: 'acquire' | 'pace'; address: string }) =>
    new Promise<boolean>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      send({ ...message, id });
    });
  // The parent decides about Ctrl-C (the terminal sends it to the whole process group).
  channel.on('SIGINT', () => {});
  // A parent that is gone takes the run with it.
  channel.on('disconnect', () => process.exit(0));
  channel.on('message', (message: ToWorker) => {
    switch (message.t) {
      case 'grant':
        waiting.get(message.id)?.(message.backedOff);
        waiting.delete(message.id);
        return;
      case 'paced':
        waiting.get(message.id)?.(false);
        waiting.delete(message.id);
        return;
      case 'abort':
        controller.abort();
        return;
      case 'start': {
        const interval = message.options.addressIntervalMs ?? 0;
        runBatch(message.targets, {
          ...message.options,
          signal: controller.signal,
          gate: {
            acquire: (address) => ask({ t: 'acquire', address }),
            release: (address, rateLimited) => send({ t: 'release', address, rateLimited }),
            // No interval, no round trip to the parent.
            pace: async (address) => {
              if (interval > 0) await ask({ t: 'pace', address });
            },
          },
          onDocument: (line, target, passed) => send({ t: 'document', input: target.input, line, passed }),
        }).then(
          () => send({ t: 'done' }),
          () => process.exit(70),
        );
        return;
      }
    }
  });
}
