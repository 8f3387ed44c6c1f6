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
