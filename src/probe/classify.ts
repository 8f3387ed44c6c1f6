/**
 * From what a probe saw to its status: the one place where an error, the phase it happened in, the server's last
 * words and the extra evidence (a nudge, a route check, a second connection) become one of the closed set of
 * statuses (types/port.ts), with the detail that says why. The probe collects; the verdicts are made here.
 */
import {
  AbortedError,
  CapError,
  CommandRefusedError,
  ConnectionClosedError,
  errorCode,
  FilteredEarlyError,
  type Phase,
  PhaseTimeoutError,
  ProtocolError,
  ServiceClosingError,
} from '../errors.js';
import { isoTime } from '../net/clock.js';
import { classifyConnectError } from '../net/dial.js';
import { NotThisProtocol } from '../protocols/dialogue.js';
import type { Session } from '../protocols/session.js';
import { referenceFor } from '../reference/table.js';
import type { CrossCheck, Greeting, PortResult, Protocol, Service, Status } from '../types/index.js';

/** A status, the detail that says why, and the phase the probe stopped in when it stopped in one. */
export interface Verdict {
  status: Status;
  detail: string;
  failedPhase?: Phase;
}

/**
 * A port's result before anything is known of it beyond its target: the one shape every result starts from, a
 * probed port's (`open` until a verdict says otherwise) and one left alone (batch mode's back-off).
 */
export function unprobedResult(
  target: { address: string; family: 4 | 6; port: number; service: Service },
  status: Status,
  statusDetail: string,
  /** When the port's probe started (Date.now()); default now. */
  startedMs: number = Date.now(),
): PortResult {
  const reference = referenceFor(target.service);
  return {
    port: target.port,
    service: target.service,
    protocol: reference.protocol,
    expectedTls: reference.tls,
    address: target.address,
    family: target.family,
    status,
    statusDetail,
    startedAt: isoTime(startedMs),
    timings: { total: 0 },
    transcript: [],
  };
}

/** Writes a verdict on a port's result: with unprobedResult, the only writer of a port's status. */
export function settle(result: PortResult, verdict: Verdict): void {
  result.status = verdict.status;
  result.statusDetail = verdict.detail;
  if (verdict.failedPhase !== undefined) result.failedPhase = verdict.failedPhase;
}

/** Refusals that are about load or rate, not policy: told apart so they are not read as misconfiguration. */
const rateLimitText = /too many|rate limit|ratelimit|connection limit|try again later|exceeded|busy/i;

/** An error's message, shortened to OpenSSL's reason when it is one. */
export function message(error: unknown): string {
  const text = (error instanceof Error ? error.message : String(error)).trim();
  // OpenSSL messages carry source paths and addresses; keep the reason ("…:SSL routines:func:reason:…").
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(text);
  return openssl?.[1] ?? text;
}

/**
 * The server's last words before it hung up, when they refuse service: SMTP 421, IMAP * BYE, POP3 -ERR
 * (RFC 5321 §3.8; RFC 9051 §7.1.5; RFC 1939 §3). A close after them is the service refusing, not a crash.
 */
function refusalBeforeClose(transcript: PortResult['transcript']): string | undefined {
  const last = transcript.findLast((entry) => entry.dir === 'S');
  return last && /^(421[ -]|\* BYE\b|-ERR\b)/i.test(last.text) ? last.text : undefined;
}

/**
 * Turns the error that stopped a probe into a status, by phase. Never guesses: unknown stays local-error.
 * `received` is the bytes the connection being read had received: a greeting deadline that ran out after even
 * one byte is a greeting that began and did not end (`stalled`), not silence.
 */
export function classify(
  error: unknown,
  phase: Phase,
  transcript: PortResult['transcript'],
  received = 0,
): { status: Status; detail: string } {
  const detail = message(error);
  if (error instanceof AbortedError) return { status: 'aborted', detail };
  if (error instanceof FilteredEarlyError) return { status: 'filtered', detail };
  if (error instanceof ServiceClosingError || error instanceof CommandRefusedError) {
    return {
      status: rateLimitText.test(error.reply) ? 'rate-limited' : 'rejected',
      detail: `${phase}: ${error.reply}`,
    };
  }
  const closedAfter = phase === 'connect' || phase === 'tls' ? undefined : refusalBeforeClose(transcript);
  const code = errorCode(error);
  if (closedAfter && (error instanceof ConnectionClosedError || code === 'ECONNRESET' || code === 'EPIPE')) {
    return {
      status: rateLimitText.test(closedAfter) ? 'rate-limited' : 'rejected',
      detail: `${phase}: closed after "${closedAfter.slice(0, 120)}"`,
    };
  }
  if (error instanceof PhaseTimeoutError) {
    if (phase === 'connect') return { status: 'filtered', detail };
    if (phase === 'greeting')
      return received > 0
        ? { status: 'stalled', detail: `the greeting began (${received} bytes) and did not end: ${detail}` }
        : { status: 'silent', detail };
    if (phase === 'tls') return { status: 'tls-failed', detail };
    return { status: 'stalled', detail };
  }
  if (error instanceof NotThisProtocol) return { status: 'wrong-protocol', detail };
  if (error instanceof ProtocolError) return { status: 'protocol-error', detail };
  // What the protocol allows, past one of mailprobe's own caps: the probe stopped, the server broke nothing.
  if (error instanceof CapError) return { status: 'local-error', detail };
  if (error instanceof ConnectionClosedError) return { status: 'closed', detail };
  if (phase === 'connect') {
    const failure = classifyConnectError(code);
    return { status: failure, detail: `${code ?? 'error'}: ${detail}` };
  }
  // During a handshake a hang-up is a TLS failure: Node reports a FIN there as ECONNRESET too.
  if (phase === 'tls') return { status: 'tls-failed', detail: `${code ?? 'error'}: ${detail}` };
  if (code === 'ECONNRESET' || code === 'EPIPE') return { status: 'reset', detail: `${code}: ${detail}` };
  return { status: 'local-error', detail: `${code ?? 'error'}: ${detail}` };
}

/** The dialogue ran to its end: greeting, capabilities and, where due, the upgrade. */
export function dialogueCompleted(): Verdict {
  return { status: 'open', detail: '' };
}

/** A greeting that refuses service (SMTP 554 or 421, IMAP * BYE, POP3 -ERR): by load or by policy. */
export function greetingRefused(greeting: Greeting): Verdict {
  const text = greeting.lines.join(' ');
  return {
    status: rateLimitText.test(text) ? 'rate-limited' : 'rejected',
    detail: `${greeting.code ?? ''} ${text}`.trim(),
  };
}

/** How long the goodbye waits, after last words that refuse service, for the close that would follow them. */
export const hangUpWaitMs = 200;

/**
 * Says the protocol's goodbye (`quit`) after a completed dialogue. The verdict is made: a server that lingers or
 * mumbles at QUIT changes nothing but the transcript, unless its last words refused service and it hung up after
 * them, before the goodbye (quitFailed): after such words only (or bytes no command asked for), the goodbye
 * waits up to hangUpWaitMs for that close before it is sent (Session.hungUp).
 */
export async function goodbye(
  session: Session,
  result: PortResult,
  quit: () => Promise<void>,
): Promise<void> {
  // Words no command asked for join the transcript as the goodbye is sent (Session.send): they may refuse too.
  const hungUpBefore =
    (refusalBeforeClose(result.transcript) !== undefined || session.pendingBytes > 0) &&
    (await session.hungUp(hangUpWaitMs));
  try {
    await quit();
  } catch (error) {
    const verdict = quitFailed(error, result.transcript, hungUpBefore);
    if (verdict) settle(result, verdict);
    session.note(`QUIT/LOGOUT: ${message(error)}`);
  }
}

/**
 * QUIT (LOGOUT) failed after a completed dialogue. The verdict stands, unless the server had already refused
 * service and hung up before the goodbye was said (`hungUpBefore`: POP3 -ERR then a close, RFC 1939 §3): then
 * the refusal is the verdict. A server still there at the goodbye that closes in answer to it (a * BYE with no
 * tagged OK, RFC 9051 §6.1.3; a close with no +OK) said goodbye sloppily: its earlier -ERR answered a command.
 */
function quitFailed(
  error: unknown,
  transcript: PortResult['transcript'],
  hungUpBefore: boolean,
): Verdict | undefined {
  const refusal = error instanceof AbortedError || !hungUpBefore ? undefined : refusalBeforeClose(transcript);
  const code = errorCode(error) ?? '';
  if (!refusal || !(error instanceof ConnectionClosedError || code === 'ECONNRESET' || code === 'EPIPE'))
    return undefined;
  return {
    status: rateLimitText.test(refusal) ? 'rate-limited' : 'rejected',
    detail: `closed after "${refusal.slice(0, 120)}"`,
    failedPhase: 'capabilities',
  };
}

/**
 * A greeting that began and did not end: a server holding it back on purpose (Postfix postscreen's greet wait)
 * or a broken one. Nothing was sent during it; its unfinished text (in the transcript) is the evidence.
 */
export function greetingStalled(seen: {
  received: number;
  firstAt: number | undefined;
  portDeadline: boolean;
  greetingMs: number;
}): Verdict {
  return {
    status: 'stalled',
    detail: `the greeting began (${seen.received} bytes, the first at ${Math.round(seen.firstAt ?? 0)} ms) and had not ended when ${
      seen.portDeadline ? 'the port deadline ran out' : `its deadline of ${seen.greetingMs} ms ran out`
    }; nothing was sent during it`,
  };
}

/**
 * Unreachable at connect, and the route check found no route from this machine: a fact about where the probe
 * ran, not about the server (clients fall back to the other family at once, RFC 8305 §5).
 */
export function noRouteFromHere(family: 4 | 6, detail: string): Verdict {
  return {
    status: 'local-error',
    detail: `this machine has no route to IPv${family} (${detail}); nothing was sent`,
  };
}

/**
 * The first line of a greeting that offers service: SMTP 220 (RFC 5321 §4.2, §4.3.1), IMAP `* OK` or
 * `* PREAUTH` (RFC 9051 §7.1), POP3 `+OK` (RFC 1939 §4). Not an answer to the goodbye (221, `* BYE`).
 */
const serviceGreeting: Readonly<Record<Protocol, RegExp>> = {
  smtp: /^220(?:[ -]|$)/,
  imap: /^\* (?:OK|PREAUTH)\b/i,
  pop3: /^\+OK\b/i,
};

/**
 * The first line of a greeting that refuses service, as greeting() reads it: SMTP 421, 554 or 521 (RFC 5321 §3.1,
 * §4.2.3; RFC 7504 §3), IMAP `* BYE` (RFC 9051 §7.1.5), POP3 `-ERR` (RFC 1939 §4).
 */
const refusingGreeting: Readonly<Record<Protocol, RegExp>> = {
  smtp: /^(?:421|521|554)(?:[ -]|$)/,
  imap: /^\* BYE\b/i,
  pop3: /^-ERR\b/i,
};

/** LOGOUT's tagged completion followed the BYE (RFC 9051 §6.1.3): the BYE answered the goodbye, no greeting. */
function answeredGoodbye(goodbye: string, next = ''): boolean {
  return next.startsWith(`${goodbye.split(' ')[0]} `) && /^\S+ (?:OK|NO|BAD)\b/i.test(next);
}

/**
 * What a silent server answered when sent the protocol's goodbye (evidence.ts `nudge`): another protocol makes
 * it `wrong-protocol`; the protocol's own greeting is a greeting slower than its deadline (`stalled` in the
 * greeting: the server is there, not silent), and one that refuses service is the refusal it is (`rejected`, or
 * `rate-limited`, as in time), unless the goodbye's tagged completion followed it (an IMAP `* BYE` that answered
 * LOGOUT); an abort while asking leaves the evidence incomplete; anything else leaves it silent.
 */
export function afterNudge(
  answer:
    | { detected: PortResult['detected']; line: string; at: number; goodbyeAt: number; next?: string }
    | 'aborted'
    | undefined,
  expected: Protocol,
  goodbye: string,
  greetingMs: number,
): Verdict | undefined {
  if (answer === 'aborted')
    return { status: 'aborted', detail: 'aborted while asking a silent server what it is' };
  const command = goodbye.replace(/^mp0 /, '');
  if (answer?.detected === expected && serviceGreeting[expected].test(answer.line))
    return {
      status: 'stalled',
      detail: `no greeting within its deadline of ${greetingMs} ms; the greeting came at ${Math.round(answer.at)} ms, ${Math.round(answer.at - answer.goodbyeAt)} ms after ${command} was sent to see what answers: "${answer.line.slice(0, 120)}"`,
      failedPhase: 'greeting',
    };
  if (
    answer?.detected === expected &&
    refusingGreeting[expected].test(answer.line) &&
    !answeredGoodbye(goodbye, answer.next)
  )
    return {
      status: rateLimitText.test(answer.line) ? 'rate-limited' : 'rejected',
      detail: `${answer.line.slice(0, 120)} (the greeting, at ${Math.round(answer.at)} ms: none came within its deadline of ${greetingMs} ms, and ${command} had been sent to see what answers)`,
      failedPhase: 'greeting',
    };
  if (answer === undefined || answer.detected === 'unknown' || answer.detected === expected) return undefined;
  return {
    status: 'wrong-protocol',
    detail: `silent until sent ${command}, then answered as ${answer.detected}`,
  };
}

/** A failure while the connection was being upgraded (STARTTLS accepted, then the handshake): the upgrade failed. */
export function upgradeFailed(stopped: Verdict): Verdict {
  return { status: stopped.status === 'aborted' ? 'aborted' : 'starttls-failed', detail: stopped.detail };
}

/** The early TLS attempt on a second connection, after `silenceMs` of silence, completed a handshake. */
export function tlsInsteadOfGreeting(silenceMs: number): Verdict {
  return {
    status: 'wrong-tls-mode',
    detail: `a TLS handshake instead of a plaintext greeting (tried on a second connection after ${silenceMs} ms of silence; the protocol inside it not read)`,
    failedPhase: 'greeting',
  };
}

/**
 * What the second connection that tells a wrong TLS mode from a broken port found (evidence.ts `crossCheck`):
 * only a greeting or a handshake of the other mode makes it `wrong-tls-mode`; an abort leaves the evidence missing.
 */
export function afterCrossCheck(
  check: CrossCheck,
  aborted: boolean,
  protocol: Protocol,
): Verdict | undefined {
  if (aborted)
    return {
      status: 'aborted',
      detail: 'aborted during the second connection that tells a wrong TLS mode from a dead port',
    };
  // Nothing found, or no evidence either way (not run, out of time): the first verdict stands.
  if (check.outcome !== 'mail-greeting' && check.outcome !== 'tls-handshake') return undefined;
  return {
    status: 'wrong-tls-mode',
    detail:
      check.tried === 'plaintext'
        ? `a plaintext ${protocol.toUpperCase()} greeting instead of a TLS handshake`
        : 'a TLS handshake instead of a plaintext greeting (the protocol inside it not read)',
  };
}

/** A port batch mode left alone because its address asked to slow down (a 421 or a rate-limit reply elsewhere). */
export function backedOff(): Verdict {
  return {
    status: 'rate-limited',
    detail: 'not tested: the address asked to slow down (a 421 or a rate-limit reply); backed off',
  };
}
