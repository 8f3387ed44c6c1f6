/** The channel between batch mode's parent process and its workers (batch-workers.ts). */

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
  fail: (code: number) => void;
} {
  const { EventEmitter } = process.getBuiltinModule('node:events');
  const link = { connected: true };
  class End extends EventEmitter {
    other: End | undefined;
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
  const fail = (code: number) => {
    if (!link.connected) return;
    link.connected = false;
    queueMicrotask(() => {
      child.emit('exit', code, null);
      child.emit('close', code, null);
    });
  };
  return { child: child as unknown as WorkerProcess, channel: channel as unknown as ParentChannel, fail };
}
