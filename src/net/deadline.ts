/** One absolute deadline per port, raced against each named phase; an abort signal ends every phase at once. */
import { AbortedError, type Phase, PhaseTimeoutError } from '../errors.js';
import { whenAborted } from './abort.js';
import { monotonicMs } from './clock.js';

/**
 * One absolute deadline for a whole port, raced against each step under a phase name.
 * A step ends at the earlier of its own deadline and the port's; whichever settles first wins,
 * and the loser's outcome is swallowed (the caller destroys the socket, which ends it).
 */
export class Deadline {
  endsAt: number;

  constructor(
    totalMs: number,
    private readonly signal?: AbortSignal,
  ) {
    this.endsAt = monotonicMs() + totalMs;
  }

  /** Moves the deadline later by `ms`: time spent waiting for our own turn (batch pacing) is not the server's. */
  extend(ms: number): void {
    this.endsAt += ms;
  }

  /** ms left before the port's absolute deadline (never negative). */
  remaining(): number {
    return Math.max(0, this.endsAt - monotonicMs());
  }

  get aborted(): boolean {
    return this.signal?.aborted === true;
  }

  run<T>(phase: Phase, ms: number, work: () => Promise<T>): Promise<T> {
    const left = this.remaining();
    const portDeadline = left < ms;
    const wait = Math.min(ms, left);
    return new Promise<T>((resolve, reject) => {
      if (this.signal?.aborted) {
        reject(new AbortedError(phase));
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      let stopWaiting: (() => void) | undefined;
      const onAbort = () => finish(() => reject(new AbortedError(phase)));
      const finish = (settle: () => void) => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        stopWaiting?.();
        stopWaiting = undefined;
        settle();
      };
      let started: Promise<T>;
      try {
        started = work();
      } catch (error) {
        finish(() => reject(error));
        return;
      }
      // Armed after the work has begun (a connect's SYN is then on its way): nothing can settle before this
      // runs, and the first timer and abort listener a process sets cost about 0.5 ms.
      timer = setTimeout(() => finish(() => reject(new PhaseTimeoutError(phase, ms, portDeadline))), wait);
      // One listener per signal (abort.ts): every port of a run waits on the same signal at once.
      if (this.signal) stopWaiting = whenAborted(this.signal, onAbort);
      started.then(
        (value) => finish(() => resolve(value)),
        (error: unknown) => finish(() => reject(error)),
      );
    });
  }
}
