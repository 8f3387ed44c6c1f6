/** Authentication: whether a password can cross the network before TLS. */
import { passwordMechanismsOffered } from './facts.js';
import { isRelay, plainStart, type Rule, serverLines } from './rule.js';

export const authenticationRules: readonly Rule[] = [
  {
    id: 'cleartext-auth-before-tls',
    severity: 'high',
    title: 'password authentication is offered before TLS',
    reference: 'RFC 8314 §3.3 and §4.1; RFC 4954 §4; RFC 9051 §6.2.3; RFC 2595 §2.1',
    check: (port) => {
      const caps = port.capabilities;
      if (!plainStart(port) || !caps?.ok) return undefined;
      const mechanisms = passwordMechanismsOffered(caps);
      const offered = [
        ...mechanisms.map((mechanism) =>
          port.protocol === 'imap'
            ? `AUTH=${mechanism}`
            : `${port.protocol === 'pop3' ? 'SASL' : 'AUTH'} ${mechanism}`,
        ),
        ...(caps.plaintextLogin
          ? [port.protocol === 'imap' ? 'the LOGIN command (no LOGINDISABLED)' : 'USER/PASS']
          : []),
      ];
      if (offered.length === 0) return undefined;
      return {
        severity: isRelay(port) ? 'medium' : 'high',
        detail: `before TLS the server offers ${offered.join(', ')}: a client may send its password in cleartext`,
        evidence: [`${caps.command} before TLS lists: ${caps.list.join(', ')}`],
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
