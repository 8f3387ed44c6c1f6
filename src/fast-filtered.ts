/**
 * Deciding "filtered" early, like nmap, and only with evidence. A port whose SYN gets no answer is called
 * filtered before its connect deadline only when the network looks reliable from here: every other port of the
 * host (other port numbers, both families) answered its first SYN (in under a second, the kernel's first
 * retransmission time), and the rest of the host is done. Its connect then had one extra SYN on a fresh socket
 * at 0.5 s, and the kernel's own retry at 1 s: the port is called filtered at 1 s + max(200 ms, 4 × the slowest
 * sibling's connect time) if none of them was answered. That is as many unanswered SYNs as the full deadline
 * gives, in a third of the time. A slow-but-alive port answers one of them, and is never called filtered.
 */
import { monotonicMs } from './net/clock.js';

/** The evidence for a port called filtered early. */
export interface FilteredEvidence {
  /** ms after the first SYN at which the port was called filtered. */
  decidedAfterMs: number;
  /** When mailprobe's SYNs went out (ms after the first); the kernel retries the first one at about 1000 ms. */
  synsSentAtMs: number[];
  /** Every other port of the host and how fast it answered its first SYN (ms). */
  siblings: { port: number; address: string; connectMs: number }[];
  /** The slowest of those answers, in ms. */
  slowestSiblingMs: number;
}

/** The first SYN is retransmitted by the kernel after about 1 s (RFC 6298 §2.1); an answer before that is to the first. */
const firstSynWindowMs = 1000;
/** When the extra SYN goes out. */
export const extraSynAfterMs = 500;

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
  extraAt?: number;
}

/** What one port's connect step reports to, and hears from, its host's coordinator. */
export interface ConnectWatch {
  /** Send one extra SYN on a fresh socket after this many ms without an answer. */
  extraSynAfterMs: number;
  /** The connect attempt starts (the first SYN goes out). */
  started(): void;
  /** mailprobe sent its extra SYN. */
  extraSent(): void;
  /** The connect was answered (connected or refused) after `ms`. */
  answered(ms: number): void;
  /** The connect ended without an answer (a timeout, an unreachable). */
  unanswered(): void;
  /** Resolves with the evidence when this port may be called filtered; never resolves otherwise. */
  verdict: Promise<FilteredEvidence>;
}

/** One host's coordinator: every (address, port) probed, and what their connects showed. */
export class FastFiltered {
  private readonly jobs = new Map<string, Job>();
  private timer: NodeJS.Timeout | undefined;

  constructor(targets: { address: string; port: number }[]) {
    for (const { address, port } of targets)
      this.jobs.set(`${address}|${port}`, { address, port, finished: false });
  }

  /** The watch for one port's connect. */
  watch(address: string, port: number): ConnectWatch {
    const job = this.jobs.get(`${address}|${port}`) ?? { address, port, finished: false };
    this.jobs.set(`${address}|${port}`, job);
    const verdict = new Promise<FilteredEvidence>((resolve) => {
      job.decide = resolve;
    });
    return {
      extraSynAfterMs,
      started: () => {
        job.startedAt = monotonicMs();
      },
      extraSent: () => {
        job.extraAt = job.startedAt === undefined ? extraSynAfterMs : monotonicMs() - job.startedAt;
      },
      answered: (ms) => {
        job.connectMs = ms;
        if (ms >= firstSynWindowMs) job.unanswered = true;
        job.decide = undefined;
        this.check();
      },
      unanswered: () => {
        job.unanswered = true;
        job.decide = undefined;
        this.check();
      },
      verdict,
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

  private check(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = monotonicMs();
    let next = Number.POSITIVE_INFINITY;
    for (const job of this.jobs.values()) {
      if (!job.decide || job.startedAt === undefined || job.connectMs !== undefined || job.unanswered)
        continue;
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
        synsSentAtMs: job.extraAt === undefined ? [0] : [0, Math.round(job.extraAt)],
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
