/**
 * One retry on a fresh connection after a timeout (issue 28, docs/reference.md "One retry after a timeout"): which
 * tries may be retried, and which of the two tries is the port's result.
 */
import type { PortResult } from '../types/index.js';

/** How a try ended, beside its result: on a phase's own deadline (not the port's), and whether the server spoke. */
export interface FirstStop {
  /** The try ended on its phase's own timeout, not the port deadline's, nor any error. */
  timedOut?: boolean;
}

/**
 * A try that may be retried on a fresh connection (issue 28): it ended `silent`, `stalled`, `tls-failed` or
 * `starttls-failed` (the handshake after the STARTTLS OK) on a
 * phase's own timeout, and no word of the server's says why: not a greeting that began and stopped (a
 * postscreen-like greet wait), nothing the server refused with, no reset, no refusal, no port deadline.
 */
export function mayRetry(result: PortResult, stop: FirstStop): boolean {
  if (!stop.timedOut) return false;
  if (result.status === 'silent') return result.detected === undefined;
  // A handshake (implicit TLS, or after the STARTTLS OK) that ran out of time: a lost ServerHello looks so.
  if (result.status === 'tls-failed' || result.status === 'starttls-failed') return true;
  return result.status === 'stalled' && result.failedPhase !== 'greeting';
}

/**
 * The retry's verdict when the port worked on it: the first try is noted as the network's (`firstTry`). Otherwise
 * (it timed out too, or failed another way) the first try stands and the retry is noted (`retry`): only a port
 * that works on the retry changes its verdict.
 */
export function afterRetry(first: PortResult, second: PortResult): PortResult {
  const seen = (result: PortResult) => ({
    status: result.status,
    detail: result.statusDetail,
    ...(result.failedPhase ? { failedPhase: result.failedPhase } : {}),
  });
  if (second.status !== 'open') return { ...first, retry: seen(second) };
  second.startedAt = first.startedAt;
  second.firstTry = seen(first);
  if (first.crossCheck && !second.crossCheck) second.crossCheck = first.crossCheck;
  return second;
}
