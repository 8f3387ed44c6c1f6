/**
 * One 'abort' listener per signal, however many phases wait on it. A seven-port run on a host with an IPv4 and
 * an IPv6 address has fourteen ports in a phase at once under the same signal: a listener each passed Node's
 * limit of ten and printed MaxListenersExceededWarning on every such run. The phases now wait in a set that
 * the signal's single listener walks once, and leave it when they settle; the listener is removed when the last
 * one leaves, so a signal that never aborts holds no listener between phases (Node keeps a timeout or composite
 * signal with an abort listener alive until it fires).
 */
import { AbortedError, type Phase } from '../errors.js';

interface Waiting {
  callbacks: Set<() => void>;
  listener: () => void;
}

const waiting = new WeakMap<AbortSignal, Waiting>();

/** Calls `callback` once when `signal` aborts; the returned function stops waiting (call it when settled). */
export function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  let entry = waiting.get(signal);
  if (!entry) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      waiting.delete(signal);
      const all = [...callbacks];
      callbacks.clear();
      for (const each of all) each();
    };
    entry = { callbacks, listener };
    waiting.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  const mine = entry;
  mine.callbacks.add(callback);
  return () => {
    if (!mine.callbacks.delete(callback) || mine.callbacks.size > 0) return;
    signal.removeEventListener('abort', mine.listener);
    if (waiting.get(signal) === mine) waiting.delete(signal);
  };
}

/** Settles with `work`, or rejects with AbortedError(phase) as soon as `signal` fires (the work is left to end alone). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, phase: Phase): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(new AbortedError(phase));
  return new Promise<T>((resolve, reject) => {
    const stopWaiting = whenAborted(signal, () => reject(new AbortedError(phase)));
    work.then(
      (value) => {
        stopWaiting();
        resolve(value);
      },
      (error: unknown) => {
        stopWaiting();
        reject(error);
      },
    );
  });
}
