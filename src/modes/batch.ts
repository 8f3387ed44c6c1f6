/**
 * Many hosts at fleet rate: targets from lines of text, each probed with the single-host engine and judged, one
 * NDJSON document per target (the single-host JSON report, plus `input`), streamed as each finishes. Work is split
 * by `shard` (a stable hash of the target, so n shards cover every target exactly once), bounded per address
 * (connections at once, least time between connections), and an address that asks to slow down (a 421 or a
 * rate-limit reply) is backed off: its remaining ports are reported "not tested". Every input line that names a
 * target yields a document, with a status, even when it cannot be probed.
 */

import { ResolveError, UsageError } from '../errors.js';
import { echo } from '../limits.js';
import { monotonicMs } from '../net/clock.js';
import { canonicalAddress } from '../net/names.js';
import { backedOff, unprobedResult } from '../probe/classify.js';
import { type ProbeOptions, probeHost } from '../probe/host.js';
import type { PortTarget, probePort } from '../probe/port.js';
import { failureReport, inertJson, jsonReport } from '../render/json.js';
import type { Severity } from '../rules/finding.js';
import { judge } from '../rules/judge.js';
import { trustFrom } from '../tls/trust.js';
import type { HostResult, PortResult, Service } from '../types/index.js';
import { type BatchTarget, documentInput } from './batch-targets.js';

export {
  type BatchTarget,
  documentInput,
  parseTarget,
  parseTargets,
  type TargetFile,
  TargetList,
} from './batch-targets.js';

/** `i/n`, 1-based: this process takes shard i of n. */
export function parseShard(text: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count)
    throw new UsageError(`--shard: '${text}' is not I/N with 1 <= I <= N (e.g. 2/4)`);
  return { index, count };
}

/** The shard (1..count) a target belongs to: FNV-1a of its input line, stable across runs and machines. */
export function shardOf(input: string, count: number): number {
  return (fnv1a(input) % count) + 1;
}

/** FNV-1a (32 bits) of the text's UTF-8 bytes. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export interface BatchOptions extends Omit<ProbeOptions, 'ports' | 'concurrency' | 'onPortDone'> {
  /** Targets probed at once (default 64). */
  hostConcurrency?: number;
  /** Connections at once to one address (default 2). */
  perAddress?: number;
  /** Least ms between two connections to one address (default 0). */
  addressIntervalMs?: number;
  /**
   * Where the per-address limits are kept: by default a LocalGate of this run built from perAddress and
   * addressIntervalMs; batch workers pass one that asks the parent process's gate, so the limits hold across them.
   */
  gate?: AddressGate;
  /** Findings at or above this severity make a target's document fail (default high). */
  failOn?: Severity;
  /**
   * Called with each target's NDJSON line (one JSON document, no newline) as soon as it is done. After `signal`
   * aborts, targets not finished are not reported (so that a resumed run probes them again).
   */
  onDocument: (line: string, target: BatchTarget, passed: boolean) => void;
}

/**
 * The per-address limits of a batch: at most `perAddress` connections at once to an address, at least
 * `intervalMs` between two connections to it, and an address that asked to slow down is backed off.
 */
export interface AddressGate {
  /** Waits for a connection slot at the address; true when the address is backed off (leave it alone). */
  acquire(address: string): Promise<boolean>;
  /** Gives the slot back; `rateLimited` backs the address off for the rest of the run. */
  release(address: string, rateLimited: boolean): void;
  /** Waits until the address may take its next connection. */
  pace(address: string): Promise<void>;
}

/** The gate of one process: a count and a queue per address, forgotten when idle (bounded memory). */
export class LocalGate implements AddressGate {
  private readonly slots = new Map<string, { active: number; waiting: (() => void)[] }>();
  private readonly nextAt = new Map<string, number>();
  private readonly backedOff = new Set<string>();
  constructor(
    private readonly perAddress: number,
    private readonly intervalMs: number,
  ) {}

  acquire(address: string): Promise<boolean> {
    let slot = this.slots.get(address);
    if (!slot) {
      slot = { active: 0, waiting: [] };
      this.slots.set(address, slot);
    }
    if (slot.active < Math.max(1, this.perAddress)) {
      slot.active++;
      return Promise.resolve(this.backedOff.has(address));
    }
    const queued = slot;
    return new Promise((resolve) => queued.waiting.push(() => resolve(this.backedOff.has(address))));
  }

  release(address: string, rateLimited: boolean): void {
    if (rateLimited) this.backedOff.add(address);
    const slot = this.slots.get(address);
    if (!slot) return;
    const next = slot.waiting.shift();
    if (next) {
      // The slot passes straight to the next in line.
      next();
      return;
    }
    slot.active--;
    if (slot.active > 0) return;
    this.slots.delete(address);
    if ((this.nextAt.get(address) ?? 0) <= monotonicMs()) this.nextAt.delete(address);
  }

  async pace(address: string): Promise<void> {
    if (this.intervalMs <= 0) return;
    const now = monotonicMs();
    const at = Math.max(now, this.nextAt.get(address) ?? 0);
    this.nextAt.set(address, at + this.intervalMs);
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }
}

/** The document of a target that could not be probed: the single-host report with no host and the reason. */
export function renderBatchError(input: string, message: string, failOn: Severity, exitCode = 2): string {
  return inertJson(
    JSON.stringify({ input: documentInput(input), ...failureReport(echo(message), exitCode, failOn) }),
  );
}

/** Probes every target, streaming one document each through onDocument; returns how many passed and failed. */
export async function runBatch(
  targets: Iterable<BatchTarget> | AsyncIterable<BatchTarget>,
  options: BatchOptions,
): Promise<{ passed: number; failed: number; notDone: number }> {
  const gate = options.gate ?? new LocalGate(options.perAddress ?? 2, options.addressIntervalMs ?? 0);
  const counts = { passed: 0, failed: 0, notDone: 0 };
  const failOn = options.failOn ?? 'high';
  // The roots, resolved once for every target (a worker builds its own from the PEM it was sent).
  const trust = options.trust ?? trustFrom(options.ca);
  // What every target's probe shares, built once. Object.assign, not spreads: a property after a spread costs
  // about 1 µs on Node 20 (CONTRIBUTING, "Hot paths"), and a fleet run probes thousands of targets a second.
  const shared: ProbeOptions = Object.assign(
    // The early "filtered" rule opens a second connection attempt to a port that has not answered after 0.5 s;
    // that would be one connection more than --per-address allows, so batch mode waits the deadline.
    { trust, fastFiltered: false },
    options,
    {
      // Each port goes through its address's limits; an address that asked to slow down is left alone.
      probePort: async (portTarget: PortTarget, probe: typeof probePort): Promise<PortResult> => {
        // One key for one host: ::1 and 0:0:0:0:0:0:0:1, 127.0.0.1 and ::ffff:127.0.0.1 share their limits.
        const address =
          portTarget.family === 6
            ? (canonicalAddress(portTarget.address)?.address ?? portTarget.address)
            : portTarget.address;
        const backedOff = await gate.acquire(address);
        let rateLimited = false;
        try {
          if (backedOff) return notTested(portTarget);
          // Every connection of the probe (a cross-check, an opt-in check) waits its turn at the address.
          const port = await probe(
            Object.assign({}, portTarget, { beforeConnect: () => gate.pace(address) }),
          );
          // A rate-limit reply on any try, a retry's included (the port keeps its first try's status then).
          rateLimited = port.status === 'rate-limited' || port.retry?.status === 'rate-limited';
          return port;
        } finally {
          gate.release(address, rateLimited);
        }
      },
    },
  );
  // Judged in rounds: a target whose probe has ended waits in `due`, and its slot takes the next target at once.
  // A round judges, serialises and hands on every target due, one after another, `roundMs` after the first of
  // them ended, or in the next check phase once `roundSize` are due: the judge's code and data then stay in the
  // CPU's caches from one target to the next. Cold, between two sockets' callbacks, a TLS port's judge and JSON
  // cost two to three times what they cost warm, and only about 4.5 TLS probes end in one turn of the event loop
  // (issue 28; docs/bench-log.md, "judged in rounds"). A slot that finds `roundSize` due waits for the round: so
  // fewer than `roundSize` + `hostConcurrency` results wait, and probes that end without a turn of the event loop
  // (ports backed off) still give it one.
  const due: { target: BatchTarget; result: HostResult }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let roundEnded: { done: Promise<void>; end: () => void } | undefined;
  // A round runs from a timer: what it throws (onDocument's) ends the run, as it did inside `one`.
  let roundFailed: (error: unknown) => void = () => {};
  const roundFailure = new Promise<never>((_, reject) => {
    roundFailed = reject;
  });
  roundFailure.catch(() => {});
  let roundError: { error: unknown } | undefined;
  const document = (target: BatchTarget, result: HostResult): void => {
    let line: string;
    let passed = false;
    try {
      const judged = judge([result], { failOn });
      passed = judged.outcome.passed;
      // Exact server text, inert when printed, as --json's (inertJson).
      line = inertJson(
        JSON.stringify(
          Object.assign({ input: documentInput(target.input) }, jsonReport(judged.hosts, judged.outcome)),
        ),
      );
    } catch (error) {
      // A defect of ours (70): still one document.
      line = renderBatchError(
        target.input,
        error instanceof Error ? error.message : String(error),
        failOn,
        70,
      );
    }
    written(target, line, passed);
  };
  const written = (target: BatchTarget, line: string, passed: boolean): void => {
    if (options.signal?.aborted) {
      counts.notDone++;
      return;
    }
    counts[passed ? 'passed' : 'failed']++;
    options.onDocument(line, target, passed);
  };
  const judgeRound = (): void => {
    clearTimeout(timer);
    clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
    const ended = roundEnded;
    roundEnded = undefined;
    try {
      for (const { target, result } of due.splice(0)) document(target, result);
    } catch (error) {
      roundError ??= { error };
      roundFailed(error);
    } finally {
      ended?.end();
    }
  };
  const nextRound = (): Promise<void> => {
    if (!roundEnded) {
      let end = () => {};
      const done = new Promise<void>((resolve) => {
        end = resolve;
      });
      roundEnded = { done, end };
    }
    return roundEnded.done;
  };
  const one = async (target: BatchTarget): Promise<void> => {
    if (options.signal?.aborted) {
      counts.notDone++;
      return;
    }
    try {
      const result = await probeHost(
        target.host,
        Object.assign({}, shared, { ports: target.ports, concurrency: target.ports.length * 2 }),
      );
      due.push({ target, result });
      if (due.length >= roundSize) {
        immediate ??= setImmediate(judgeRound);
        await nextRound();
      } else timer ??= setTimeout(judgeRound, roundMs);
    } catch (error) {
      // A host that does not resolve (3), a bad name (2), or a defect of ours (70): still one document.
      const exitCode = error instanceof ResolveError ? 3 : error instanceof UsageError ? 2 : 70;
      const message = error instanceof Error ? error.message : String(error);
      written(target, renderBatchError(target.input, message, failOn, exitCode), false);
    }
  };
  // A fixed set of workers pulls targets in order, one at a time from the source (a list read lazily, or a
  // worker's queue): nothing of a target is kept once its document is written, so memory does not grow with the
  // length of the input.
  const source: Iterator<BatchTarget> | AsyncIterator<BatchTarget> =
    Symbol.asyncIterator in targets ? targets[Symbol.asyncIterator]() : targets[Symbol.iterator]();
  const worker = async () => {
    for (;;) {
      const step = await source.next();
      if (step.done) return;
      await one(step.value);
    }
  };
  const width = Math.max(1, options.hostConcurrency ?? 64);
  await Promise.race([
    Promise.all(
      Array.from({ length: Array.isArray(targets) ? Math.min(width, targets.length) : width }, worker),
    ),
    roundFailure,
  ]);
  judgeRound();
  if (roundError) throw roundError.error;
  return counts;
}

/** Targets due that start a judging round in the next check phase (runBatch). */
const roundSize = 32;
/** Otherwise a round starts this long after the first target due ended, in ms. */
const roundMs = 50;

/** A port left alone because its address asked to slow down (a 421 or a rate-limit reply on another port). */
function notTested(target: { address: string; family: 4 | 6; port: number; service: Service }): PortResult {
  const { status, detail } = backedOff();
  return Object.assign(unprobedResult(target, status, detail), { backedOff: true as const });
}
