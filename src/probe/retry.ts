/**
 * One retry on a fresh connection after a timeout (issue 28, docs/reference.md "One retry after a timeout"): which
 * tries may be retried, and which of the two tries is the port's result.
 */
import { lostAckGreetingMs } from '../limits.js';
import type { Deadline } from '../net/deadline.js';
import type { Session } from '../protocols/session.js';
import type { ConnectWatch, LossyPeer, PortResult } from '../types/index.js';
import { crossCheckMinMs } from './evidence.js';

/**
 * Most retries after a timeout, each on a fresh connection and within the port's deadline: at 30 % loss a phase
 * of 2 s fails about one try in five (a lost final ACK of the handshake waits for the server's SYN-ACK again at
 * 1 s and 3 s), so one retry left about 5 % of live ports failing; three leave about 0.2 %.
 */
export const maxRetries = 3;

/**
 * Least time left of the port deadline to start a retry: with less, a fresh connection could only connect and be
 * closed, one more connection for nothing. The cross-check's own floor (evidence.ts), for the same reason.
 */
export const retryMinMs = crossCheckMinMs;

/** How a try ended, beside its result: on a phase's own deadline (not the port's), and whether the server spoke. */
export interface FirstStop {
  /** The try ended on its phase's own timeout, not the port deadline's, nor any error. */
  timedOut?: boolean;
}

/**
 * A try that may be retried on a fresh connection (issue 28): it ended `silent`, `stalled`, `tls-failed` or
 * `starttls-failed` (the handshake after the STARTTLS OK) on a
 * phase's own timeout, and no word of the server's says why: not a greeting that began and stopped (a
 * postscreen-like greet wait), nothing the server refused with, no reset, no refusal, no port deadline. A
 * greeting that came whole only after the goodbye is retried: that is what a lost last ACK of the handshake looks
 * like; one more than lostAckGreetingMs after it only if no try before had such a greeting retried
 * (`slowLateRetried`), as a server slower than the deadline fits it better, and each retry costs such a server a
 * connection it is spoken to early on.
 */
export function mayRetry(
  result: PortResult,
  stop: FirstStop,
  lossyPeer?: LossyPeer,
  slowLateRetried = false,
): boolean {
  if (!stop.timedOut) return false;
  // A connect deadline with no answer to any SYN is `filtered`, unless another port of the same address answered
  // only after a lost SYN: the host is up and the path loses packets, so a fresh connection may get through.
  if (result.status === 'filtered')
    return result.failedPhase === 'connect' && !result.filteredEarly && lossyPeer !== undefined;
  if (result.status === 'silent') return result.detected === undefined;
  // A handshake (implicit TLS, or after the STARTTLS OK) that ran out of time: a lost ServerHello looks so.
  if (result.status === 'tls-failed' || result.status === 'starttls-failed') return true;
  if (result.status !== 'stalled') return false;
  if (result.failedPhase !== 'greeting') return true;
  // A greeting that began and paused is the server's own (a greet wait). An OK greeting (a refusal is `rejected`)
  // read only after our goodbye, not one byte before it, is what a lost last ACK of the handshake looks like: the
  // server accepts the connection, and greets, only when a segment of ours completes the handshake, and on a lossy
  // path that segment or the greeting may be lost again for seconds. A server slower than the deadline looks the
  // same; its retry waits the greeting again (as silence's does), and the findings give both causes.
  return result.lateGreeting !== undefined && (!slowLate(result) || !slowLateRetried);
}

/** A greeting that came only after the goodbye, more than lostAckGreetingMs after it (retried once at most). */
function slowLate(result: PortResult): boolean {
  return result.lateGreeting !== undefined && result.lateGreeting.afterGoodbyeMs > lostAckGreetingMs;
}

/**
 * The retries' verdict (`second` is the last of `retries` retries) when the port worked on it: what the first try
 * saw is noted (`firstTry`). Otherwise (it timed out too, or failed another way) the first try stands and the last
 * retry is noted (`retry`, with `portDeadline` when the port's deadline ended it: `cut`): only a port that works
 * on a retry changes its verdict.
 */
export function afterRetry(first: PortResult, second: PortResult, retries = 1, cut = false): PortResult {
  const seen = (result: PortResult) => ({
    status: result.status,
    detail: result.statusDetail,
    ...(result.failedPhase ? { failedPhase: result.failedPhase } : {}),
    ...(retries > 1 ? { retries } : {}),
    ...(result.lateGreeting ? { afterGoodbyeMs: result.lateGreeting.afterGoodbyeMs } : {}),
  });
  if (second.status !== 'open')
    return { ...first, retry: cut ? { ...seen(second), portDeadline: true } : seen(second) };
  second.startedAt = first.startedAt;
  second.firstTry = seen(first);
  if (first.crossCheck && !second.crossCheck) second.crossCheck = first.crossCheck;
  return second;
}

/** What withRetries needs of the port's probe. */
export interface Retries {
  connectMs: number;
  watch?: ConnectWatch | undefined;
  signal?: AbortSignal | undefined;
  deadline: Deadline;
  /** A fresh session under the port's deadline. */
  session: () => Session;
  /** One try of the main dialogue on that session (probeOnce). */
  once: (session: Session, stop: FirstStop) => Promise<PortResult>;
}

/**
 * Up to maxRetries more tries on fresh connections while each try ends on a timeout that may be retried
 * (mayRetry) and the port's deadline has at least retryMinMs left; the port's result (afterRetry).
 */
export async function withRetries(
  first: PortResult,
  firstStop: FirstStop,
  port: Retries,
): Promise<PortResult> {
  let last = first;
  let stop = firstStop;
  let retries = 0;
  let slowLateRetried = false;
  while (
    retries < maxRetries &&
    mayRetry(last, stop, port.watch?.lossyPeer?.(), slowLateRetried) &&
    port.deadline.remaining() >= retryMinMs &&
    !port.signal?.aborted
  ) {
    const session = port.session();
    const peer = last.status === 'filtered' ? port.watch?.lossyPeer?.() : undefined;
    if (peer)
      session.note(
        `no answer to the SYNs within ${port.connectMs} ms, while port ${peer.port} of this address answered after ${peer.connectMs} ms and a lost SYN: one more try on a fresh connection`,
      );
    if (slowLate(last)) slowLateRetried = true;
    stop = {};
    last = await port.once(session, stop);
    retries++;
    if (last.status === 'open') break;
  }
  // A last try that ended with less than retryMinMs of the port deadline left was ended by it (a phase's own wait
  // is cut to what the port has left), whatever its error says (the goodbye's wait swallows a deadline).
  return retries > 0 ? afterRetry(first, last, retries, port.deadline.remaining() < retryMinMs) : first;
}
