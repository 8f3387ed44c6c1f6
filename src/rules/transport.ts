/**
 * Port 25 and 587 as a sending server meets them: REQUIRETLS (RFC 8689) as advertised in the EHLO after TLS
 * (never the one before TLS: a man in the middle writes that one), and the opt-in proof that TLS is required
 * (`--check tls-required`, RFC 3207 §4).
 */
import { isRelay, type Rule, serverLines } from './rule.js';

const offersRequireTls = (list: string[] | undefined) =>
  (list ?? []).some((line) => /^REQUIRETLS\b/i.test(line));

export const transportRules: readonly Rule[] = [
  {
    id: 'requiretls-offered',
    severity: 'info',
    title: 'REQUIRETLS is offered after STARTTLS',
    reference: 'RFC 8689 §4.1, §2',
    check: (port) =>
      port.protocol === 'smtp' && offersRequireTls(port.capabilitiesAfterTls?.list)
        ? {
            detail:
              'senders can mark a message MAIL FROM:<…> REQUIRETLS: this server then relays it only over validated TLS (taken from the EHLO after TLS only)',
            evidence: serverLines(port, (text) => /^250[ -]REQUIRETLS\b/i.test(text)),
          }
        : undefined,
  },
  {
    id: 'tls-required-proven',
    severity: 'info',
    title: 'TLS is required: mail before STARTTLS is refused with 530',
    reference: 'RFC 3207 §4',
    // On port 25 only: on 587 a refusal before TLS is what is expected, and its proof stays in checks.tlsRequired.
    check: (port) =>
      port.checks?.tlsRequired?.verdict === 'proven' && isRelay(port)
        ? {
            detail:
              'senders without TLS cannot deliver here (RFC 3207 §4 says a publicly-referenced MX must not require it); senders with TLS are unaffected',
            evidence: [`C: MAIL FROM:<>`, `S: ${port.checks.tlsRequired.reply ?? ''}`],
          }
        : undefined,
  },
];
