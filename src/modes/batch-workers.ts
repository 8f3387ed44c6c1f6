/**
 * Batch mode over several processes (`mailprobe batch --workers N`): one process of Node runs its JavaScript and
 * its TLS on one core, so a fleet run spreads its targets over N workers: N processes, or, with `local`, this
 * process (the first share, over an in-process channel) and N - 1 others. The per-address limits stay in
 * this (the parent) process: a worker asks for a connection slot, and for its turn under --address-interval,
 * before each connection, so that the limits hold across workers even when two names share an address. Each
 * worker sends back its targets' documents; the parent is the only writer of the output. A worker that ends
 * without finishing its targets (it crashed or was killed) still leaves a document for each of them, with the
 * reason: no target is lost silently.
 */
import type { ChildProcess } from 'node:child_process';
import { type BatchOptions, type BatchTarget, fnv1a, LocalGate, renderBatchError } from './batch.js';
import {
  type FromWorker,
  gathered,
  localWorker,
  serveBatchWorker,
  type ToWorker,
  type WorkerOptions,
  type WorkerProcess,
} from './batch-channel.js';

export type { FromWorker, ToWorker, WorkerOptions } from './batch-channel.js';

/** The worker (0-based) a target goes to: FNV-1a of its host, so one host's lines share a worker. */
export function workerOf(host: string, count: number): number {
  return fnv1a(host) % count;
}

export interface WorkersOptions extends BatchOptions {
  /** Worker processes (2 or more). */
  workers: number;
  /** Starts one worker: a Node process running the worker script, with an IPC channel (child_process.fork). */
  fork: () => ChildProcess;
  /**
   * The first worker's share runs in this process (localWorker), so that `workers` processes probe in all:
   * this one and workers - 1 forked. Otherwise this process only hands out targets and writes documents.
   */
  local?: boolean;
}

/** Targets sent to a worker at once. */
const chunkSize = 64;

/**
 * Probes every target over `workers` processes; the same contract as runBatch. Targets are pulled from `targets`
 * as the workers need them (each holds at most a window of a few times its share of --concurrency, sent or
 * queued), so neither the parent nor a worker keeps more than that of a list of any length.
 */
export async function runBatchInWorkers(
  targets: Iterable<BatchTarget>,
  options: WorkersOptions,
): Promise<{ passed: number; failed: number; notDone: number }> {
  const gate = options.gate ?? new LocalGate(options.perAddress ?? 2, options.addressIntervalMs ?? 0);
  const failOn = options.failOn ?? 'high';
  const counts = { passed: 0, failed: 0, notDone: 0 };
  const list = Array.isArray(targets) ? (targets as BatchTarget[]) : undefined;
  if (list?.length === 0) return counts;
  // --concurrency is over all workers: never more workers than targets probed at once, and the targets at once
  // split between the workers, so that their sum is exactly --concurrency (for a list given whole, between the
  // workers that have any).
  const concurrency = Math.max(1, options.hostConcurrency ?? 64);
  const count = Math.max(1, Math.min(options.workers, list?.length ?? Number.POSITIVE_INFINITY, concurrency));
  const used = list
    ? [...new Set(list.map((target) => workerOf(target.host, count)))].sort((a, b) => a - b)
    : Array.from({ length: count }, (_, index) => index);
  const { onDocument, signal, gate: _gate, fork, workers: _workers, local, trust, ...rest } = options;
  const shareOf = (index: number): number => {
    const rank = Math.max(0, used.indexOf(index));
    return Math.floor(concurrency / used.length) + (rank < concurrency % used.length ? 1 : 0);
  };
  const optionsFor = (index: number): WorkerOptions => ({
    ...rest,
    // A Trust does not cross the process boundary: its PEM does, and each worker builds its own.
    ...(trust?.ca !== undefined ? { ca: trust.ca } : {}),
    hostConcurrency: Math.max(1, shareOf(index)),
  });

  interface Worker {
    send(message: ToWorker): void;
    /** Targets sent or queued and not yet reported, by input. */
    pending: Map<string, BatchTarget>;
    queue: BatchTarget[];
    window: number;
    /** The process ended: targets that come for it get a document with the reason at once. */
    gone?: string;
    wake?: (() => void) | undefined;
    ended: Promise<void>;
  }
  const children: WorkerProcess[] = [];
  const workers = new Map<number, Worker>();
  /**
   * What onDocument threw (it could not write a document): the run stops as on `signal` (the workers are told to
   * abort, no document is taken after it), and runBatchInWorkers throws it once every worker has ended, as
   * runBatch rejects. Never thrown inside a worker's message or exit handler, where nothing would catch it.
   */
  let failure: { error: unknown } | undefined;
  const stopped = () => signal?.aborted === true || failure !== undefined;
  const onAbort = () => {
    for (const child of children) if (child.connected) child.send({ t: 'abort' } satisfies ToWorker);
    for (const worker of workers.values()) worker.wake?.();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const deliver = (line: string, target: BatchTarget, passed: boolean) => {
    try {
      onDocument(line, target, passed);
    } catch (error) {
      failure = { error };
      if (!signal?.aborted) onAbort();
    }
  };

  const lost = (target: BatchTarget, why: string) => {
    if (stopped()) {
      counts.notDone++;
      return;
    }
    counts.failed++;
    deliver(renderBatchError(target.input, why, failOn, 70), target, false);
  };

  const start = (index: number): Worker => {
    let child: WorkerProcess;
    if (local && index === 0) {
      const pair = localWorker();
      child = pair.child;
      serveBatchWorker(pair.channel, pair.fail);
    } else child = fork() as unknown as WorkerProcess;
    children.push(child);
    let finished = false;
    /** The connection slots this worker holds, by address. */
    const held = new Map<string, number>();
    const send = gathered<ToWorker>(child as Parameters<typeof gathered<ToWorker>>[0]);
    let resolveEnded: () => void = () => {};
    const worker: Worker = {
      send,
      pending: new Map(),
      queue: [],
      window: Math.max(chunkSize * 2, shareOf(index) * 4),
      ended: new Promise<void>((resolve) => {
        resolveEnded = resolve;
      }),
    };
    const receive = (message: FromWorker): void => {
      switch (message.t) {
        case 'batch':
          for (const one of message.messages) receive(one);
          return;
        case 'document': {
          const target = worker.pending.get(message.input);
          if (!target) return;
          worker.pending.delete(message.input);
          worker.wake?.();
          if (stopped()) return;
          counts[message.passed ? 'passed' : 'failed']++;
          deliver(message.line, target, message.passed);
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
    };
    child.on('message', receive);
    let startError: string | undefined;
    child.on('error', (error) => {
      if (child.pid === undefined) startError ??= error.message;
    });
    let ended = false;
    const end = (code: number | null, exitSignal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      // The slots a worker held when it ended go back, or other workers would wait for them forever.
      for (const [address, count] of held) for (let i = 0; i < count; i++) gate.release(address, false);
      held.clear();
      // Targets the worker left without a document: none after Ctrl-C (a resumed run probes them), and
      // otherwise one each, with the reason, as for any target that could not be probed; so for any that come
      // for it later.
      const how = exitSignal ? `signal ${exitSignal}` : `exit code ${code}`;
      const when = finished ? 'after' : 'before';
      worker.gone = startError
        ? `not probed: its batch worker process could not be started (${startError})`
        : child.failure !== undefined
          ? `not probed: the share probed in mailprobe's own process failed (${child.failure}) ${when} reporting it`
          : `not probed: its batch worker process ended (${how}) ${when} reporting it`;
      const left = [...worker.pending.values()];
      worker.pending.clear();
      worker.queue = [];
      for (const target of left) lost(target, worker.gone);
      worker.wake?.();
      resolveEnded();
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
    send({ t: 'start', options: optionsFor(index) });
    if (stopped()) send({ t: 'abort' });
    return worker;
  };

  const flush = (worker: Worker) => {
    if (worker.queue.length === 0 || worker.gone) return;
    worker.send({ t: 'targets', targets: worker.queue });
    worker.queue = [];
  };
  try {
    for (const target of targets) {
      if (stopped()) break;
      const index = workerOf(target.host, count);
      let worker = workers.get(index);
      if (!worker) {
        worker = start(index);
        workers.set(index, worker);
      }
      if (worker.gone) {
        lost(target, worker.gone);
        continue;
      }
      worker.pending.set(target.input, target);
      worker.queue.push(target);
      if (worker.queue.length >= chunkSize) flush(worker);
      // A worker with a full window: everything queued goes out, then wait for its documents.
      while (worker.pending.size >= worker.window && !worker.gone && !stopped()) {
        for (const other of workers.values()) flush(other);
        await new Promise<void>((resolve) => {
          (worker as Worker).wake = resolve;
        });
        worker.wake = undefined;
      }
    }
    for (const worker of workers.values()) {
      flush(worker);
      worker.send({ t: 'end' });
    }
    await Promise.all([...workers.values()].map((worker) => worker.ended));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.error;
  return counts;
}
