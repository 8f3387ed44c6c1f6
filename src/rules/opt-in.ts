/** The opt-in checks (--check): what their results make findings of. */
import { mechanismKind } from './facts.js';
import { isRelay, type Rule } from './rule.js';

export const optInRules: readonly Rule[] = [
  {
    id: 'starttls-injection',
    severity: 'high',
    title: 'a command pipelined after STARTTLS is executed inside TLS (opt-in check)',
    reference:
      'CVE-2011-0411; RFC 3207 §6; Poddebniak et al., "Why TLS is better without STARTTLS", USENIX Security 2021',
    check: (port) =>
      port.checks?.injection?.verdict === 'vulnerable'
        ? {
            detail:
              'the server kept bytes sent before the handshake and answered them inside TLS: an attacker on the path can inject commands into the protected session',
            evidence: [`unprompted reply inside TLS: ${port.checks.injection.reply ?? ''}`],
          }
        : undefined,
  },
  {
    id: 'auth-allowed-before-tls',
    severity: 'high',
    title: 'the server starts authentication before TLS (opt-in check)',
    reference: 'RFC 8314 §3.3, §4.1; RFC 4954 §4; RFC 9051 §11.1; RFC 2595 §2.1',
    check: (port) => {
      const check = port.checks?.authRequired;
      if (check?.verdict !== 'allowed') return undefined;
      const allowed = (check.ways ?? []).filter((way) => way.outcome === 'allowed');
      const password = allowed.some((way) => !way.sasl || mechanismKind(way.way).kind === 'password');
      const names = allowed.map((way) => way.way).join(', ') || 'an authentication exchange';
      return {
        severity: password ? (isRelay(port) ? 'medium' : 'high') : 'medium',
        detail: password
          ? `${names} started in cleartext (mailprobe cancelled it at once, sending no credential): a client would send its password unprotected`
          : `${names} started in cleartext (mailprobe cancelled it at once, sending no credential): a client would log in, and read its mail, without TLS, and the exchange is open to an offline dictionary attack`,
        evidence:
          allowed.length > 0
            ? allowed.map((way) => `reply to ${way.way} before TLS: ${way.reply ?? ''}`)
            : [`reply to the authentication command before TLS: ${check.reply}`],
      };
    },
  },
  {
    id: 'tls-legacy-accepted',
    severity: 'medium',
    title: 'TLS 1.0 or 1.1 is accepted (opt-in check)',
    reference: 'RFC 8996 §2-§3',
    check: (port) => {
      const legacy =
        port.checks?.tlsVersions?.accepted.filter(
          (version) => version === 'TLSv1' || version === 'TLSv1.1',
        ) ?? [];
      if (legacy.length === 0) return undefined;
      return {
        detail: `the port completes handshakes offering only ${legacy.join(' or ')}: a client that still allows them can be held to a deprecated version`,
        evidence: [
          `accepted: ${port.checks?.tlsVersions?.accepted.join(', ')}`,
          `refused: ${port.checks?.tlsVersions?.refused.join(', ') || '(none)'}`,
        ],
      };
    },
  },
  {
    id: 'check-not-completed',
    severity: 'info',
    title: 'an opt-in check could not be completed',
    reference: 'mailprobe (no protocol finding)',
    check: (port) => {
      const failed = [
        port.checks?.injection?.verdict === 'not-tested' ? `injection: ${port.checks.injection.detail}` : '',
        port.checks?.authRequired?.verdict === 'not-tested' ||
        port.checks?.authRequired?.verdict === 'partial'
          ? `auth-required: ${port.checks.authRequired.detail ?? port.checks.authRequired.reply}`
          : '',
        ...(port.checks?.tlsVersions?.untested ?? []).map(
          (entry) => `tls-versions: ${entry.version} not tried to the end: ${entry.reason}`,
        ),
      ].filter(Boolean);
      return failed.length > 0
        ? { detail: 'the check ended before a full verdict', evidence: failed }
        : undefined;
    },
  },
];
