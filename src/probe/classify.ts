/**
 * From what stopped a probe to its status: the one place where an error, the phase it happened in and the
 * server's last words become one of the closed set of statuses (types.ts), with the detail that says why.
 */
import {
  AbortedError,
  ConnectionClosedError,
  errorCode,
  FilteredEarlyError,
  type Phase,
  PhaseTimeoutError,
  ProtocolError,
  ServiceClosingError,
} from '../errors.js';
import { classifyConnectError } from '../net/dial.js';
import { NotThisProtocol } from '../protocols/dialogue.js';
import type { PortResult, Status } from '../types/index.js';

/** Refusals that are about load or rate, not policy: told apart so they are not read as misconfiguration. */
export const rateLimitText = /too many|rate limit|ratelimit|connection limit|try again later|exceeded|busy/i;

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
export function refusalBeforeClose(transcript: PortResult['transcript']): string | undefined {
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
  if (error instanceof ServiceClosingError) {
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
