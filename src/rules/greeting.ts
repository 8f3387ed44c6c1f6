/**
 * The greeting that did not end in time though the server was there (`stalled` in the greeting): held back after
 * its first bytes (greeting-delayed). Part of connectivity.
 */
import { isRelay, type PortResult, type Rule, serverLines, statusEvidence } from './rule.js';

/** The greeting began (bytes arrived) and did not end within its deadline: `stalled` in the greeting phase. */
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

/** ms as the findings say them: seconds to 0.1. */
const inSeconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export const greetingRules: readonly Rule[] = [
  {
    id: 'greeting-delayed',
    severity: 'medium',
    title: 'the greeting began, then paused past its deadline: the server holds it back',
    reference:
      'RFC 5321 §4.5.3.2.1 (a client waits 5 minutes for the 220); RFC 5321 §4.3.1; Postfix postscreen(8)',
    check: (port) => {
      if (!greetingPaused(port)) return undefined;
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
];
