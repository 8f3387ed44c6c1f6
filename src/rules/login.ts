/**
 * The opt-in login check and round trip (--login, --round-trip): what their facts make findings of. A login
 * finding is about the account, not the port's safety (evaluate.ts leaves them out of a port's `safe`).
 */
import type { LoginFacts, PortResult } from '../types/index.js';
import type { Hit, Rule } from './rule.js';

const words = (login: LoginFacts) =>
  [
    login.mechanism ? `mechanism: ${login.mechanism}` : undefined,
    login.reply ? `server: ${login.reply}` : undefined,
    login.offered ? `offered over TLS: ${login.offered.join(', ') || '(nothing)'}` : undefined,
    login.why ? `why: ${login.why}` : undefined,
  ].filter((line): line is string => line !== undefined);

function loginRule(
  id: string,
  severity: Rule['severity'],
  title: string,
  reference: string,
  when: (login: LoginFacts) => boolean,
  detail: (login: LoginFacts, port: PortResult) => string,
): Rule {
  return {
    id,
    severity,
    title,
    reference,
    check: (port): Hit | undefined =>
      port.login && when(port.login)
        ? { detail: detail(port.login, port), evidence: words(port.login) }
        : undefined,
  };
}

const authRefs =
  'RFC 4954 §4, §6; RFC 9051 §6.2.2-§6.2.3, §7.1 (RFC 5530); RFC 5034 §4; RFC 1939 §7; RFC 3206';

/** The round trip's findings sit on the port the message was submitted on (its first address). */
const submittedHere = (
  port: PortResult,
  host: { roundTrip?: { submittedOn?: number }; addresses: { address: string }[] },
) => host.roundTrip?.submittedOn === port.port && host.addresses[0]?.address === port.address;

export const loginRules: readonly Rule[] = [
  loginRule(
    'login-works',
    'info',
    'the login works (opt-in check)',
    authRefs,
    (l) => l.outcome === 'works',
    (l) => `the ${l.secret} was accepted with ${l.mechanism ?? 'the offered mechanism'} inside verified TLS`,
  ),
  loginRule(
    'login-rejected',
    'high',
    'the server rejects the login (opt-in check)',
    authRefs,
    (l) => l.outcome === 'rejected',
    (l) =>
      `the server refused the ${l.secret} with ${l.mechanism ?? 'the offered mechanism'}: check the user name form (full address or local part) and the ${l.secret}; no further attempt was made`,
  ),
  loginRule(
    'login-app-password',
    'high',
    'the server asks for an app password or a web login (opt-in check)',
    `${authRefs}; RFC 5530 §3 (WEBALERT: RFC 9051 §7.1)`,
    (l) => l.outcome === 'app-password',
    () =>
      'the refusal says this account needs an app password (an account with two-step sign-in) or a sign-in in a web browser first; the account password alone will not work in a mail client',
  ),
  loginRule(
    'login-locked',
    'high',
    'the account or client is locked or rate-limited (opt-in check)',
    `${authRefs}; RFC 4954 §6 (454); RFC 5321 §4.2.5 (421); RFC 5530 §3 ([UNAVAILABLE]); RFC 2449 §8.1 ([IN-USE], [LOGIN-DELAY])`,
    (l) => l.outcome === 'locked',
    () =>
      'the server answered with a temporary refusal (a lock, a throttle after failures, or an unavailable backend): wait before trying again; mailprobe made no further attempt',
  ),
  loginRule(
    'login-not-offered',
    'medium',
    'no mechanism a mail client would use is offered over TLS (opt-in check)',
    'RFC 4954 §3; RFC 9051 §6.2.2; RFC 5034 §4; RFC 4616; RFC 7628',
    (l) => l.outcome === 'not-offered',
    (l) =>
      l.secret === 'token'
        ? 'the server offers neither OAUTHBEARER (RFC 7628) nor XOAUTH2 over TLS: a bearer token cannot be used here'
        : 'the server offers no password mechanism (PLAIN, LOGIN, or the protocol’s own command) over TLS: a client with a password cannot log in here',
  ),
  loginRule(
    'login-no-verified-tls',
    'medium',
    'not tried: no verified TLS on this port (opt-in check)',
    'RFC 8314 §3.3, §4.1; RFC 9525 §6; RFC 4954 §4; RFC 9051 §11.1',
    (l) => l.outcome === 'not-tried' && /^no verified TLS/.test(l.why ?? ''),
    () =>
      'mailprobe sends a credential only inside TLS whose chain and name verified; a client that does the same cannot log in here (give --ca for a private CA)',
  ),
  loginRule(
    'login-not-tried',
    'info',
    'not tried, to keep the account safe from a lockout (opt-in check)',
    'RFC 4954 §4; RFC 5530 §3 ([UNAVAILABLE]); RFC 8314 §3.3',
    (l) => l.outcome === 'not-tried' && /^(?:the same account|the login was|the run's cap)/.test(l.why ?? ''),
    (l) => `no credential was sent here: ${l.why ?? ''}`,
  ),
  loginRule(
    'login-error',
    'medium',
    'the login exchange broke off (opt-in check)',
    authRefs,
    (l) => l.outcome === 'error',
    (l) =>
      l.why?.startsWith('no final answer')
        ? 'the server gave no final answer to the credential: it neither took nor refused it, and kept asking for more'
        : l.why?.startsWith('before the credential was sent')
          ? 'the connection broke off before the credential was sent: no attempt was counted for the account'
          : 'the exchange ended before the server answered the credential',
  ),
  {
    id: 'round-trip-arrived',
    severity: 'info',
    title: 'the test message was accepted and arrived (opt-in round trip)',
    reference: 'RFC 6409 §4; RFC 5321 §4.1.1.4; RFC 9051 §6.4.4',
    check: (port, host) => {
      const trip = host.roundTrip;
      if (!trip || trip.arrivedAfterS === undefined) return undefined;
      if (!submittedHere(port, host)) return undefined;
      return {
        detail: `accepted on port ${trip.submittedOn} and found on port ${trip.searchedOn} after ${trip.arrivedAfterS} s`,
        evidence: roundTripEvidence(trip),
      };
    },
  },
  {
    id: 'round-trip-not-arrived',
    severity: 'high',
    title: 'the test message was accepted but did not arrive (opt-in round trip)',
    reference: 'RFC 6409 §4; RFC 5321 §4.1.1.4, §6.1',
    check: (port, host) => {
      const trip = host.roundTrip;
      if (!trip?.accepted || trip.arrivedAfterS !== undefined || trip.failedStep) return undefined;
      if (!submittedHere(port, host)) return undefined;
      return {
        detail: `accepted on port ${trip.submittedOn}${trip.queueId ? ` (queue id ${trip.queueId})` : ''} but not in the mailbox after ${trip.waitedS} s: look in the server's mail log for the queue id`,
        evidence: roundTripEvidence(trip),
      };
    },
  },
  {
    id: 'round-trip-failed',
    severity: 'high',
    title: 'a step of the round trip failed (opt-in round trip)',
    reference: 'RFC 6409 §4; RFC 5321 §4.2; RFC 9051 §6.3.2, §6.4.4',
    check: (port, host) => {
      const trip = host.roundTrip;
      if (!trip?.failedStep) return undefined;
      const first = host.ports.find((p) => p.port === trip.submittedOn) ?? host.ports[0];
      if (trip.submittedOn !== undefined ? !submittedHere(port, host) : port !== first) return undefined;
      return {
        detail: `the ${trip.failedStep} step failed: ${trip.why ?? 'no reason given'}`,
        evidence: roundTripEvidence(trip),
      };
    },
  },
];

function roundTripEvidence(trip: NonNullable<import('../types/index.js').HostResult['roundTrip']>): string[] {
  return [
    `token: ${trip.token}`,
    `recipient: ${trip.recipient}`,
    ...(trip.acceptReply ? [`submission reply: ${trip.acceptReply}`] : []),
    ...(trip.queueId ? [`queue id: ${trip.queueId}`] : []),
    `watched the mailbox for ${trip.waitedS} s${trip.searchedOn ? ` on port ${trip.searchedOn}` : ''}`,
    `deleted afterwards: ${trip.deleted ? 'yes' : 'no'}`,
    ...(trip.why ? [`why: ${trip.why}`] : []),
  ];
}
