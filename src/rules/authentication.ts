/**
 * Authentication: every way to log in that a plaintext-start port offers before TLS, judged by what a client
 * configured without TLS would expose, and by what `--check auth-required` proved when it ran; and a submission
 * port that offers no way to log in once TLS is up.
 */

import {
  capabilitiesOverTls,
  type LoginKind,
  type LoginWay,
  loginWaysBeforeTls,
  stillOpen,
  submissionWithoutLogin,
} from './facts.js';
import type { Severity } from './finding.js';
import { isRelay, type PortResult, plainStart, type Rule, serverLines } from './rule.js';

/** The name of each way with what is known of it: tried and refused, went ahead, only advertised. */
function described(way: LoginWay): string {
  switch (way.proof) {
    case undefined:
      return way.label; // the finding says once that every way was only advertised
    case 'allowed':
      return `${way.label} (the server went ahead when tried)`;
    case 'refused':
      return `${way.label} (refused when tried)`;
    case 'unclear':
      return `${way.label} (tried: the refusal does not say TLS is needed)`;
    default:
      return `${way.label} (not tried${way.why ? `: ${way.why}` : ''})`;
  }
}

/** Evidence: the capability line, the greeting's APOP timestamp, and the check's reply to each way it tried. */
function evidence(port: PortResult, ways: LoginWay[]): string[] {
  const caps = port.capabilities;
  const lines = caps?.ok ? [`${caps.command} before TLS lists: ${caps.list.join(', ')}`] : [];
  if (ways.some((way) => way.name === 'APOP' && !way.sasl))
    lines.push(...serverLines(port, (text) => /^\+OK\b.*<[^<>\s@]+@[^<>\s@]+>/i.test(text)).slice(0, 1));
  const check = port.checks?.authRequired;
  if (check) {
    if (check.serverWide) lines.push(`--check auth-required: refused for the whole server: ${check.reply}`);
    for (const tried of check.ways ?? [])
      if (tried.reply !== undefined && ways.some((way) => way.name === tried.way && way.sasl === tried.sasl))
        lines.push(`--check auth-required, ${tried.way}: ${tried.reply}`);
  }
  return lines;
}

/** What a finding says about proof: the check that would prove it, when it did not run. */
function proofNote(port: PortResult): string {
  return port.checks?.authRequired
    ? ''
    : ' Only advertised: "--check auth-required" would prove whether the server takes them before TLS.';
}

/** The ways of the same kind the check proved refused, when others remain open. */
function refusedNote(ways: LoginWay[]): string {
  const refused = ways.filter((way) => !stillOpen(way)).map((way) => way.label);
  return refused.length > 0 ? ` Refused when "--check auth-required" tried: ${refused.join(', ')}.` : '';
}

/** One rule per kind of exposure; both follow the check's proof when it ran. */
function loginRule(
  kind: Exclude<LoginKind, 'none'>,
  rule: Omit<Rule, 'check'>,
  exposed: (open: LoginWay[]) => string,
  openSeverity: (port: PortResult) => Severity,
): Rule {
  return {
    ...rule,
    check: (port) => {
      if (!plainStart(port)) return undefined;
      const ways = loginWaysBeforeTls(port).filter((way) => way.kind === kind);
      if (ways.length === 0) return undefined;
      const open = ways.filter(stillOpen);
      if (open.length === 0)
        return {
          severity: 'low',
          detail: `before TLS the server advertises ${ways.map((way) => way.label).join(', ')}, and ${port.checks?.authRequired?.serverWide ? 'refused logging in before TLS for the whole server' : 'refused each'} when "--check auth-required" tried it: logging in needs TLS, but the advertisement misleads clients, which may send their credentials before they learn of the refusal`,
          evidence: evidence(port, ways),
        };
      return {
        severity: openSeverity(port),
        detail: `before TLS the server offers ${open.map(described).join(', ')}: ${exposed(open)}.${refusedNote(ways)}${proofNote(port)}`,
        evidence: evidence(port, ways),
      };
    },
  };
}

const unknownNote = (open: LoginWay[]) => {
  const unknown = open.filter((way) => !way.known).map((way) => way.name);
  return unknown.length > 0
    ? ` (${unknown.join(', ')} unknown to mailprobe: judged as a challenge-response, the least it can expose)`
    : '';
};

export const authenticationRules: readonly Rule[] = [
  loginRule(
    'password',
    {
      id: 'cleartext-auth-before-tls',
      severity: 'high',
      title: 'password authentication is offered before TLS',
      reference: 'RFC 8314 §3.3 and §4.1; RFC 4954 §4; RFC 9051 §6.2.3; RFC 2595 §2.1; RFC 7628 §5',
    },
    () => 'a client may send its password (or a bearer token) in cleartext',
    (port) => (isRelay(port) ? 'medium' : 'high'),
  ),
  loginRule(
    'challenge',
    {
      id: 'challenge-auth-before-tls',
      severity: 'medium',
      title: 'challenge-response login is offered before TLS',
      reference: 'RFC 8314 §3.3 and §4.1; RFC 2595 §2.1; RFC 1939 §7, §13; RFC 2195 §4; RFC 5802 §9',
    },
    (open) =>
      `a client that logs in this way sends no password, but the exchange can be recorded and attacked offline with a dictionary, and the session after it, the whole mailbox or message included, travels in cleartext${unknownNote(open)}`,
    () => 'medium',
  ),
  {
    id: 'submission-auth-not-offered',
    // Low: nothing crosses in cleartext, so the port stays safe; but a client cannot log in to send (evaluate.ts
    // leaves such a port out of the recommendation).
    severity: 'low',
    title: 'a submission port offers no way to log in (no AUTH over TLS)',
    reference: 'RFC 6409 §7 (AUTH: MUST on submission), §4.3, §3.3; RFC 4954 §3',
    check: (port) => {
      const caps = capabilitiesOverTls(port);
      if (!caps || !submissionWithoutLogin(port)) return undefined;
      return {
        detail: `the ${caps.command} reply over TLS lists no AUTH, so a mail client has no way to log in to send here; the server may take mail only from networks it trusts (RFC 6409 §4.3), and a client elsewhere is refused. This alone puts nothing in cleartext and does not make the port unsafe, but the port is not recommended for sending. Offer SMTP AUTH once TLS is up`,
        evidence: [`${caps.command} over TLS lists: ${caps.list.join(', ') || '(nothing)'}`],
      };
    },
  },
  {
    id: 'imap-preauth-plaintext',
    severity: 'high',
    title: 'IMAP PREAUTH on a plaintext connection',
    reference: 'RFC 9051 §7.1.4, §11.1; RFC 2595 §3.1',
    check: (port) =>
      port.protocol === 'imap' && port.greeting?.kind === 'preauth' && !port.tls
        ? {
            detail:
              'the session starts authenticated in cleartext, so STARTTLS is no longer possible and the mailbox is open to the path',
            evidence: serverLines(port, (text) => /^\* PREAUTH/i.test(text)),
          }
        : undefined,
  },
];
