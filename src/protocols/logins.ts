/**
 * The ways to log in a mail server offers before TLS, from its capability list and greeting: every SASL
 * mechanism listed, and the protocol's own commands (IMAP LOGIN, POP3 USER/PASS and APOP). Shared by the
 * rules (which judge them) and the auth-required check (which tries them).
 */
import type { Capabilities, Greeting, Protocol } from '../types/index.js';

/**
 * SASL mechanisms that hand the server the secret itself: a reusable password in the clear unless TLS protects
 * it (PLAIN, RFC 4616; LOGIN), or a bearer token that is as good as one (XOAUTH2, OAUTHBEARER RFC 7628).
 */
export const passwordMechanisms = ['PLAIN', 'LOGIN', 'XOAUTH2', 'OAUTHBEARER', 'XOAUTH'];

/** SASL mechanisms that carry no credential of the user's: ANONYMOUS (RFC 4505), EXTERNAL (RFC 4422 App. A). */
export const credentialFreeMechanisms = ['ANONYMOUS', 'EXTERNAL'];

/**
 * Challenge-response and ticket mechanisms mailprobe knows: no password crosses, but the session and the
 * mailbox do in cleartext, and a recorded exchange is open to an offline dictionary attack (CRAM-MD5 RFC 2195,
 * DIGEST-MD5 RFC 6331, SCRAM RFC 5802/7677, NTLM, GSSAPI RFC 4752, APOP RFC 1939 §7, ...).
 */
const challengeMechanism =
  /^(?:CRAM-MD5|DIGEST-MD5|SCRAM-.+|NTLM|GSSAPI|GSS-SPNEGO|GS2-.+|KERBEROS_V4|KERBEROS_V5|OTP|SKEY|SRP|APOP|EAP-AES128(?:-PLUS)?)$/;

/**
 * What a way to log in exposes when used without TLS: the secret itself (password), a challenge-response
 * exchange and the session after it (challenge), or no credential of the user's (none).
 */
export type LoginKind = 'password' | 'challenge' | 'none';

/** One way to log in a server offers before TLS, as offered. */
export interface LoginWayOffered {
  /** A SASL mechanism (PLAIN, CRAM-MD5), or `LOGIN command` (IMAP), `USER` (POP3 USER/PASS), `APOP` (POP3). */
  name: string;
  sasl: boolean;
  kind: LoginKind;
  /** mailprobe knows the mechanism; an unknown one is judged as a challenge-response, the least it can be. */
  known: boolean;
  /** As the server showed it: `AUTH=CRAM-MD5`, `SASL PLAIN`, `AUTH LOGIN`, `the LOGIN command (no LOGINDISABLED)`. */
  label: string;
}

/** The kind of a SASL mechanism (upper case), and whether mailprobe knows it. */
export function mechanismKind(mechanism: string): { kind: LoginKind; known: boolean } {
  if (passwordMechanisms.includes(mechanism)) return { kind: 'password', known: true };
  if (credentialFreeMechanisms.includes(mechanism)) return { kind: 'none', known: true };
  return { kind: 'challenge', known: challengeMechanism.test(mechanism) };
}

/**
 * Every way to log in that a capability list and greeting offer before TLS: each SASL mechanism listed, IMAP
 * LOGIN without LOGINDISABLED, POP3 USER, and APOP when the greeting carries a timestamp. Not proofs, claims.
 */
export function loginWaysOffered(
  protocol: Protocol,
  caps: Capabilities | undefined,
  greeting: Greeting | undefined,
): LoginWayOffered[] {
  const ways: LoginWayOffered[] = [];
  if (caps?.ok) {
    for (const mechanism of caps.authMechanisms) {
      const label =
        protocol === 'imap' ? `AUTH=${mechanism}` : `${protocol === 'pop3' ? 'SASL' : 'AUTH'} ${mechanism}`;
      ways.push({ name: mechanism, sasl: true, ...mechanismKind(mechanism), label });
    }
    if (caps.plaintextLogin)
      ways.push(
        protocol === 'imap'
          ? {
              name: 'LOGIN command',
              sasl: false,
              kind: 'password',
              known: true,
              label: 'the LOGIN command (no LOGINDISABLED)',
            }
          : { name: 'USER', sasl: false, kind: 'password', known: true, label: 'USER/PASS' },
      );
  }
  if (protocol === 'pop3' && greeting?.apopTimestamp)
    ways.push({
      name: 'APOP',
      sasl: false,
      kind: 'challenge',
      known: true,
      label: `APOP (the greeting's timestamp ${greeting.apopTimestamp})`,
    });
  return ways;
}
