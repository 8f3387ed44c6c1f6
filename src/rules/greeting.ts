/**
 * The greeting that did not end in time though the server was there (`stalled` in the greeting): held back after
 * its first bytes (greeting-delayed), or sent only after the deadline (greeting-late); and how a refusing greeting
 * sent only after the deadline is told (lateRefusal). Part of connectivity.
 */
import { lostAckGreetingMs } from '../limits.js';
import { type Hit, isRelay, type PortResult, type Rule, serverLines, statusEvidence } from './rule.js';

/**
 * The greeting began (bytes arrived) and did not end within its deadline, or came only after it: `stalled` in the
 * greeting phase. Such a port was not tested to its end.
 */
export function greetingPaused(port: PortResult): boolean {
  return port.status === 'stalled' && port.failedPhase === 'greeting';
}

/** The options that wait longer than `waitedMs`: --timeout for the usual greet waits, greetingMs beyond. */
function suggestedWait(waitedMs: number): string {
  if (waitedMs < 10_000) return 'run again with --timeout 10000 (or more), or --limit greetingMs=30000';
  const next = Math.min(300_000, Math.max(60_000, Math.ceil((waitedMs * 2) / 10_000) * 10_000));
  // The port's own deadline (portMs, 60 s by default) must outlast the longer greeting, or it ends the port first.
  return `run again with --limit greetingMs=${next} --limit portMs=${next + 30_000} (RFC 5321 lets a client wait up to 300000 ms for the greeting)`;
}

/**
 * What a late greeting says of its cause: one just after the goodbye fits a lost last ACK first; a later one a slow
 * server first, though a lossy path can delay the goodbye's segment or the greeting by seconds more.
 */
function lateGreetingCause(port: PortResult, afterGoodbyeMs: number): string {
  const tries = port.retry?.retries ?? 1;
  // A retry the port deadline ended may not have waited its greeting out: not said to have been silent.
  const since = port.retry
    ? `; the ${tries} ${tries > 1 ? 'tries' : 'try'} on a fresh connection since did not settle it (the last ${port.retry.portDeadline ? `was cut short by the port deadline, ${port.retry.status}` : `ended ${port.retry.status}`})`
    : '';
  if (afterGoodbyeMs > lostAckGreetingMs)
    return `Its greeting is slower than the deadline (often a loaded server, or one that waits on a slow DNS lookup of the client before it greets); on a lossy path it may also have waited for a segment of the client's to complete the TCP handshake (the last ACK lost), with that segment or the greeting lost again${since}`;
  return `So soon after the goodbye, the greeting may have waited for it: a server that had not yet accepted the connection (the last ACK of the TCP handshake lost on the way) greets only when a segment of the client's arrives; or the greeting is slower than the deadline (a loaded server, or one that waits on a slow DNS lookup of the client), and came then by chance${since}`;
}

/** ms as the findings say them: seconds to 0.1. */
const inSeconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * A greeting that refused service, read only after its deadline (in answer to the goodbye): the refusal is the
 * verdict, its lateness the evidence. It came after mailprobe spoke, so it may answer that: sendmail's greet_pause
 * greets a client that talked first with 554 instead of 220. Undefined for a refusal in time.
 */
export function lateRefusal(port: PortResult): Hit | undefined {
  const late = port.lateGreeting;
  if (!late) return undefined;
  return {
    detail: `the greeting, when it came, refused service. It came only at ${inSeconds(late.at)}, after not one byte in the ${inSeconds(port.timings.greeting ?? 0)} mailprobe waited for it and after mailprobe had sent its goodbye to see what answers, so it may answer that goodbye (sendmail's greet_pause refuses a client that talks before the greeting with 554); to see the greeting a client that waits gets: ${suggestedWait(late.at)}`,
    evidence: [...statusEvidence(port), `S (at ${Math.round(late.at)} ms): ${late.line}`],
  };
}

export const greetingRules: readonly Rule[] = [
  {
    id: 'greeting-delayed',
    severity: 'medium',
    title: 'the greeting began, then paused past its deadline: the server holds it back',
    reference:
      'RFC 5321 §4.5.3.2.1 (a client waits 5 minutes for the 220); RFC 5321 §4.3.1; Postfix postscreen(8)',
    check: (port) => {
      if (!greetingPaused(port) || port.lateGreeting) return undefined;
      const sent = serverLines(port, () => true);
      const waited = port.timings.greeting ?? 0;
      const postscreen =
        port.protocol === 'smtp' && sent.length > 0 && sent.every((line) => /^S: 220-/.test(line));
      return {
        // On 25 the sending servers wait up to 5 minutes, and a held-back greeting is a known defence (a client that
        // talks first is a bot); on a port people's mail clients use, every connection waits as long.
        severity: isRelay(port) ? 'low' : 'medium',
        detail: `${
          postscreen
            ? 'the server sent a 220- continuation line at once and then nothing: it delays the rest of its greeting on purpose, as Postfix postscreen does during its greet wait (6 s by default), to catch clients that talk before it has finished'
            : 'the server began its greeting and did not finish it: it holds the greeting back on purpose, or is stuck'
        }. mailprobe sent nothing and gave up after ${inSeconds(waited)}; to see the port, wait longer than the server: ${suggestedWait(waited)}`,
        evidence: [...statusEvidence(port), ...sent],
      };
    },
  },
  {
    id: 'greeting-late',
    severity: 'medium',
    title: 'the greeting came only after its deadline, after mailprobe had sent its goodbye',
    reference:
      'RFC 5321 §4.5.3.2.1 (a client waits 5 minutes for the 220); RFC 9051 §7.1 and RFC 1939 §4 (the server greets first; no client timeout is set)',
    check: (port) => {
      const late = port.lateGreeting;
      if (!greetingPaused(port) || !late) return undefined;
      const waited = port.timings.greeting ?? 0;
      return {
        // As with a held-back greeting: sending servers wait up to 5 minutes on 25; mail clients give up sooner.
        severity: isRelay(port) ? 'low' : 'medium',
        detail: `not one byte arrived in the ${inSeconds(waited)} mailprobe waited for the greeting; the server's greeting came at ${inSeconds(late.at)}, ${Math.round(late.afterGoodbyeMs)} ms after mailprobe had sent its goodbye to see what answers: the port is not silent. ${lateGreetingCause(port, late.afterGoodbyeMs)}. The dialogue was not tested; to see the port, wait longer than the server: ${suggestedWait(late.at)}`,
        evidence: [...statusEvidence(port), `S (at ${Math.round(late.at)} ms): ${late.line}`],
      };
    },
  },
];
