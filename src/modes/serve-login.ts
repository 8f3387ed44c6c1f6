/**
 * `serve`'s `login` module, lockout-safe across scrapes: at most one login run a minute on a target, and none for
 * an hour after a refusal. A target is its canonical address (`::1`, `0::1` and `0000::0001` are one target;
 * `::ffff:127.0.0.1` is 127.0.0.1) or its name, and a run on a name holds for every address the name resolved to
 * as well: another spelling of the address, or another name for it, does not get round the pause.
 */
import { monotonicMs } from '../net/clock.js';

/** Least ms between two login runs on one target, whatever --min-interval says. */
export const loginIntervalMs = 60_000;
/** After a refusal (rejected, locked, app password), no login on the target for this long. */
export const loginPauseMs = 3_600_000;

/**
 * When a login run last started on each target, and until when a refusal holds logins back there. Entries go
 * once they hold nothing back (a start after the interval, a pause after its hour): both maps are in the order
 * their entries expire, every entry of one map living equally long, so expiring walks from the front. At most
 * `cap` targets are remembered in each (and the targets of the runs under way): when that many still hold
 * logins back, no new run starts (503) until some expire; a pause is never forgotten early.
 */
export class LoginGate {
  private readonly started = new Map<string, number>();
  private readonly paused = new Map<string, number>();

  constructor(
    readonly cap = 100_000,
    readonly intervalMs = loginIntervalMs,
    readonly pauseMs = loginPauseMs,
  ) {}

  /** Targets remembered (started within the interval, or paused). */
  get size(): number {
    return this.started.size + this.paused.size;
  }

  private expire(now: number): void {
    for (const [key, at] of this.started) {
      if (now - at < this.intervalMs) break;
      this.started.delete(key);
    }
    for (const [key, until] of this.paused) {
      if (until > now) break;
      this.paused.delete(key);
    }
  }

  /** Why no login run may start on these targets now (the 429 or 503 text, without the target), or undefined. */
  check(keys: readonly string[], now = monotonicMs()): { code: 429 | 503; why: string } | undefined {
    this.expire(now);
    for (const key of keys) {
      const until = this.paused.get(key);
      if (until !== undefined)
        return {
          code: 429,
          why: `a login was refused there${key === keys[0] ? '' : ` (${key})`}; no login for ${Math.ceil((until - now) / 60_000)} more minutes (lockout safety)`,
        };
    }
    for (const key of keys)
      if (this.started.has(key))
        return {
          code: 429,
          why: `one login run a minute at most${key === keys[0] ? '' : ` (${key})`} (lockout safety)`,
        };
    if (this.started.size + keys.length > this.cap || this.paused.size + keys.length > this.cap)
      return { code: 503, why: `${this.cap} targets are held back already: no login run on another one now` };
    return undefined;
  }

  /** Records a login run starting on these targets now (check first: this does not). */
  start(keys: readonly string[], now = monotonicMs()): void {
    for (const key of keys) {
      this.started.delete(key);
      this.started.set(key, now);
    }
  }

  /** Records a refusal on these targets (of a run that started): no login there for the pause. */
  refused(keys: readonly string[], now = monotonicMs()): void {
    for (const key of keys) {
      this.paused.delete(key);
      this.paused.set(key, now + this.pauseMs);
    }
  }
}
