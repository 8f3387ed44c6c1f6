/**
 * One 'abort' listener per signal, however many phases wait on it. A seven-port run on a host with an IPv4 and
 * an IPv6 address has fourteen ports in a phase at once under the same signal: a listener each passed Node's
 * limit of ten and printed MaxListenersExceededWarning on every such run. The phases now wait in a set that
 * the signal's single listener walks once, and leave it when they settle.
 */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `callback` once when `signal` aborts; the returned function stops waiting (call it when settled). */
export function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  let callbacks = waiting.get(signal);
  if (!callbacks) {
    const fresh = new Set<() => void>();
    callbacks = fresh;
    waiting.set(signal, fresh);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        for (const each of [...fresh]) each();
        fresh.clear();
      },
      { once: true },
    );
  }
  const mine = callbacks;
  mine.add(callback);
  return () => {
    mine.delete(callback);
  };
}
