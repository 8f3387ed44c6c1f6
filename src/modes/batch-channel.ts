/**
 * The channel between batch mode's parent process and its workers (batch-workers.ts): the messages, the sender that
 * gathers them, the in-process worker (localWorker) and the worker's side (serveBatchWorker).
 */

import { type BatchOptions, type BatchTarget, runBatch } from './batch.js';

/** What the parent sends a worker: its options, then its targets a chunk at a time as it asks, then the end. */
export type ToWorker =
  | { t: 'batch'; messages: ToWorker[] }
  | { t: 'start'; options: WorkerOptions }
  | { t: 'targets'; targets: BatchTarget[] }
  | { t: 'end' }
  | { t: 'grant'; id: number; backedOff: boolean }
  | { t: 'paced'; id: number }
  | { t: 'abort' };

/** What a worker sends the parent. */
export type FromWorker =
  | { t: 'batch'; messages: FromWorker[] }
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

/**
 * A channel's sender that gathers the messages of one turn of the event loop into one (`batch`), in order: a
 * fleet run sends four messages a port (acquire, grant, release, document), and each send is a serialisation
 * and a write of its own (issue 28 item 2).
 */
export function gathered<M extends { t: string }>(channel: {
  connected: boolean;
  send?: (message: M | { t: 'batch'; messages: M[] }) => boolean;
}): (message: M) => void {
  let queue: M[] = [];
  return (message) => {
    queue.push(message);
    if (queue.length > 1) return;
    setImmediate(() => {
      const out = queue;
      queue = [];
      if (!channel.connected) return;
      channel.send?.(out.length === 1 ? (out[0] as M) : { t: 'batch', messages: out });
    });
  };
}

/** The parent's view of a worker: a forked process, or a share run in the parent's own process (localWorker). */
export interface WorkerProcess {
  readonly pid?: number | undefined;
  readonly connected: boolean;
  /** Set only on a localWorker's end: why the share probed in this process failed, once it has. */
  readonly failure?: string | undefined;
  send(message: unknown): boolean;
  disconnect(): void;
  on(event: 'message', listener: (message: never) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  once(
    event: 'close' | 'exit',
    listener: (code: number | null, signal: NodeJS.Signals | null) => void,
  ): unknown;
}

/** A worker's view of the parent: its own process's IPC channel, or the parent's side of a localWorker. */
export interface ParentChannel {
  readonly connected: boolean;
  send?(message: unknown): boolean;
  on(event: 'message', listener: (message: never) => void): unknown;
  on(event: 'disconnect' | 'SIGINT', listener: () => void): unknown;
}

/**
 * A worker share run in the parent's own process, with the messages of a forked one (issue 28: on a small
 * machine a parent that only hands out targets leaves part of a core idle, and a third process competes with
 * two for two cores). Messages are handed over, not serialised, each in its own microtask, in order. `fail`
 * ends it as a crashed worker ends, so that the parent writes its targets' documents with the reason.
 */
export function localWorker(): {
  child: WorkerProcess;
  channel: ParentChannel;
  fail: (code: number, reason?: string) => void;
} {
  const { EventEmitter } = process.getBuiltinModule('node:events');
  const link = { connected: true };
  class End extends EventEmitter {
    other: End | undefined;
    failure: string | undefined;
    readonly pid = process.pid;
    get connected(): boolean {
      return link.connected;
    }
    send(message: unknown): boolean {
      if (!link.connected) return false;
      queueMicrotask(() => this.other?.emit('message', message));
      return true;
    }
    disconnect(): void {
      fail(0);
    }
  }
  const child = new End();
  const channel = new End();
  child.other = channel;
  channel.other = child;
  const fail = (code: number, reason?: string) => {
    if (!link.connected) return;
    link.connected = false;
    if (reason !== undefined) child.failure = reason;
    queueMicrotask(() => {
      child.emit('exit', code, null);
      child.emit('close', code, null);
    });
  };
  return { child: child as unknown as WorkerProcess, channel: channel as unknown as ParentChannel, fail };
}

/**
 * A worker's side: reads its share and options from the parent, probes them with runBatch under the parent's
 * per-address gate, sends each document back, then 'done'; it ends when the parent closes the channel. Run by
 * dist/cli/batch-worker.cjs in a worker process (`fail` exits it), and by the parent for its own share over a
 * localWorker's channel (`fail` ends that share as a crashed worker's).
 */
export function serveBatchWorker(
  channel: ParentChannel = process as unknown as ParentChannel,
  fail: (code: number, reason?: string) => void = (code) => process.exit(code),
): void {
  let next = 0;
  const waiting = new Map<number, (value: boolean) => void>();
  const controller = new AbortController();
  const queue: BatchTarget[] = [];
  const waiters: (() => void)[] = [];
  let ended = false;
  const send = gathered<FromWorker>(channel as Parameters<typeof gathered<FromWorker>>[0]);
  const ask = (message: { t: 'acquire' | 'pace'; address: string }) =>
    new Promise<boolean>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      send({ ...message, id });
    });
  // The parent decides about Ctrl-C (the terminal sends it to the whole process group).
  channel.on('SIGINT', () => {});
  // A parent that is gone takes the run with it.
  channel.on('disconnect', () => fail(0));
  const receive = (message: ToWorker): void => {
    switch (message.t) {
      case 'batch':
        for (const one of message.messages) receive(one);
        return;
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
      case 'targets':
        queue.push(...message.targets);
        for (const wake of waiters.splice(0)) wake();
        return;
      case 'end':
        ended = true;
        for (const wake of waiters.splice(0)) wake();
        return;
      case 'start': {
        const interval = message.options.addressIntervalMs ?? 0;
        // The targets as the parent sends them: a queue read by runBatch's workers, waiting when it is empty.
        const source: AsyncIterable<BatchTarget> = {
          [Symbol.asyncIterator]: () => ({
            next: async (): Promise<IteratorResult<BatchTarget>> => {
              for (;;) {
                const target = queue.shift();
                if (target) return { done: false, value: target };
                if (ended) return { done: true, value: undefined };
                await new Promise<void>((resolve) => waiters.push(resolve));
              }
            },
          }),
        };
        runBatch(source, {
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
          (error: unknown) => fail(70, error instanceof Error ? error.message : String(error)),
        );
        return;
      }
    }
  };
  channel.on('message', receive);
}
