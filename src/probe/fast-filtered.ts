/**
 * Deciding "filtered" early, like nmap, and only with evidence. A port whose SYN gets no answer is called
 * filtered before its connect deadline only when the network looks reliable from here: every other port of the
 * host (other port numbers, both families) answered its first SYN (in under a second, the kernel's first
 * retransmission time, and with no extra SYN of ours), and the rest of the host is done. Its connect had extra
 * SYNs on fresh sockets: one at 0.5 s, as every port's connect gets, and one at 0.25 s and one at 0.75 s when
 * the ports that had answered did so in under a quarter of the time elapsed; the kernel retries the first at 1 s.
 * The port is called filtered at 1 s + max(200 ms, 4 × the slowest sibling's connect time) if none of them was
 * answered and at least two extra SYNs went out (four attempts or more). With 5% of packets lost each way, a live
 * port loses one attempt about one time in ten, and four about once in 10,000; on three attempts (one extra SYN,
 * as first built) it was about once in a thousand, which the loss benchmark saw. A slow-but-alive port answers
 * one of them, and is never called filtered.
 */
import { monotonicMs } from '../net/clock.js';
import type { ConnectWatch, FilteredEvidence } from '../types/index.js';

export type { ConnectWatch, FilteredEvidence, LossyPeer } from '../types/index.js';

/** The first SYN is retransmitted by the kernel after about 1 s (RFC 6298 §2.1); an answer before that is to the first. */
const firstSynWindowMs = 1000;
/** When extra SYNs may go out (ms after the first). */
export const extraSynsAtMs = [250, 500, 750];
/** The extra SYN every port's connect gets, whatever the others showed (the rest need a fast network). */
const alwaysAtMs = 500;
/** The last of them. */
const lastExtraAtMs = Math.max(...extraSynsAtMs);
/** The least extra SYNs for an early verdict: with the first and the kernel's retry, four attempts. */
const leastExtras = 2;

interface Job {
  port: number;
  address: string;
  startedAt?: number;
  /** ms from the first SYN to the answer (connected, or refused), when one came. */
  connectMs?: number;
  /** No answer to the first SYN within its window, or none at all: the network is not that reliable. */
  unanswered?: boolean;
  finished: boolean;
  decide?: ((evidence: FilteredEvidence) => void) | undefined;
  /** When extra SYNs went out (ms after the first). */
  extras: number[];
}

/** One host's coordinator: every (address, port) probed, and what their connects showed. */
export class FastFiltered {
  private readonly jobs = new Map<string, Job>();
  private timer: NodeJS.Timeout | undefined;

  constructor(targets: { address: string; port: number }[]) {
    for (const { address, port } of targets)
      this.jobs.set(`${address}|${port}`, { address, port, finished: false, extras: [] });
  }

  /** The watch for one port's connect. */
  watch(address: string, port: number): ConnectWatch {
    const job = this.jobs.get(`${address}|${port}`) ?? { address, port, finished: false, extras: [] };
    this.jobs.set(`${address}|${port}`, job);
    const verdict = new Promise<FilteredEvidence>((resolve) => {
      job.decide = resolve;
    });
    return {
      extraSynsAtMs,
      mayAddSyn: (atMs) => this.mayAddSyn(job, atMs),
      started: () => {
        job.startedAt = monotonicMs();
      },
      extraSent: () => {
        job.extras.push(job.startedAt === undefined ? 0 : Math.round(monotonicMs() - job.startedAt));
      },
      answered: (ms) => {
        job.connectMs = ms;
        // An answer that needed an extra SYN, or came after the kernel's retry, shows a lossy or slow path.
        if (ms >= firstSynWindowMs || job.extras.length > 0) job.unanswered = true;
        job.decide = undefined;
        this.check();
      },
      unanswered: () => {
        job.unanswered = true;
        job.decide = undefined;
        this.check();
      },
      verdict,
      lossyPeer: () => {
        for (const other of this.jobs.values()) {
          if (other === job || other.address !== job.address || other.port === job.port) continue;
          if (other.connectMs === undefined) continue;
          if (other.connectMs >= firstSynWindowMs || other.extras.length > 0)
            return { port: other.port, connectMs: Math.round(other.connectMs) };
        }
        return undefined;
      },
    };
  }

  /** The port's whole probe is over (its connect too). */
  finished(address: string, port: number): void {
    const job = this.jobs.get(`${address}|${port}`);
    if (job) job.finished = true;
    this.check();
  }

  /** Stops the timer; pending verdicts never resolve. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * The extra SYN at 0.5 s always goes out. The others go out when the network looks fast and reliable from here:
   * at least one other port answered, every one that did answered in under a quarter of the time `job` has
   * waited, and none went unanswered. On a slow path (answers of hundreds of ms) they do not, and then nothing is
   * decided early.
   */
  private mayAddSyn(job: Job, atMs: number): boolean {
    if (atMs === alwaysAtMs) return true;
    if (job.startedAt === undefined) return false;
    const elapsed = monotonicMs() - job.startedAt;
    const siblings = [...this.jobs.values()].filter((other) => other.port !== job.port);
    if (siblings.some((other) => other.unanswered)) return false;
    const answered = siblings.filter((other) => other.connectMs !== undefined);
    return answered.length > 0 && Math.max(...answered.map((other) => other.connectMs ?? 0)) * 4 < elapsed;
  }

  private check(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = monotonicMs();
    let next = Number.POSITIVE_INFINITY;
    for (const job of this.jobs.values()) {
      if (!job.decide || job.startedAt === undefined || job.connectMs !== undefined || job.unanswered)
        continue;
      // Fewer than four attempts is not enough evidence: once no more extra SYN can go out, the port waits its
      // whole deadline.
      if (job.extras.length < leastExtras && now - job.startedAt > lastExtraAtMs + 10) continue;
      const siblings = [...this.jobs.values()].filter((other) => other.port !== job.port);
      // Armed only when every sibling answered its first SYN, and only once the rest of the host is done.
      if (siblings.length === 0) continue;
      if (siblings.some((other) => other.unanswered)) continue;
      if (!siblings.every((other) => other.finished && other.connectMs !== undefined)) continue;
      const slowest = Math.max(...siblings.map((other) => other.connectMs ?? 0));
      const waitMs = firstSynWindowMs + Math.max(200, 4 * slowest);
      const due = job.startedAt + waitMs;
      if (now < due) {
        next = Math.min(next, due - now);
        continue;
      }
      const decide = job.decide;
      job.decide = undefined;
      decide({
        decidedAfterMs: Math.round(now - job.startedAt),
        synsSentAtMs: [0, ...job.extras],
        siblings: siblings.map((other) => ({
          port: other.port,
          address: other.address,
          connectMs: Math.round((other.connectMs ?? 0) * 10) / 10,
        })),
        slowestSiblingMs: Math.round(slowest * 10) / 10,
      });
    }
    if (Number.isFinite(next)) {
      this.timer = setTimeout(() => this.check(), Math.ceil(next) + 1);
      this.timer.unref();
    }
  }
}
