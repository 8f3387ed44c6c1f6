/**
 * Facts derived from the observed results, computed in one place for every reader (rules, expectations,
 * renderers): certificate days left, the password mechanisms offered, the upgrade command's name, the capability
 * list over TLS and a submission port that offers no login there.
 */
import { type LoginWayOffered, loginWaysOffered, passwordMechanisms } from '../protocols/logins.js';
import { referenceFor } from '../reference/table.js';
import type { Capabilities, PortResult, Protocol } from '../types/index.js';

export {
  credentialFreeMechanisms,
  type LoginKind,
  mechanismKind,
  passwordMechanisms,
} from '../protocols/logins.js';

/** One way to log in a server offers before TLS, and what `--check auth-required` proved of it. */
export interface LoginWay extends LoginWayOffered {
  /** What the check proved; absent when the check did not run on this port. */
  proof?: 'allowed' | 'refused' | 'unclear' | 'not-tried';
  /** Why the check did not try it, when it says. */
  why?: string;
}

export const dayMs = 86_400_000;

/** Days from the probe's start to the leaf certificate's expiry (fractional; negative once expired). */
export function daysLeft(port: PortResult): number | undefined {
  const validTo = port.tls?.certificate?.validTo;
  if (!validTo) return undefined;
  return (Date.parse(validTo) - Date.parse(port.startedAt)) / dayMs;
}

/** Whole days from the probe's start to the leaf certificate's expiry (negative once expired). */
export function wholeDaysLeft(port: PortResult): number | undefined {
  const left = daysLeft(port);
  return left === undefined ? undefined : Math.floor(left);
}

/** The password mechanisms a capability list offers (PLAIN, LOGIN, bearer tokens), upper case. */
export function passwordMechanismsOffered(caps: Capabilities): string[] {
  return caps.authMechanisms.filter((mechanism) => passwordMechanisms.includes(mechanism));
}

/** Whether a capability list lets a client send its password as is: a password mechanism, IMAP LOGIN, POP3 USER. */
export function offersCleartextPassword(caps: Capabilities | undefined): boolean {
  return caps !== undefined && (passwordMechanismsOffered(caps).length > 0 || caps.plaintextLogin);
}

/**
 * The ways to log in a plaintext-start port offers before TLS, each with what `--check auth-required` proved of
 * it: a server-wide refusal proves every way refused; otherwise each way has the outcome of its own try.
 */
export function loginWaysBeforeTls(port: PortResult): LoginWay[] {
  if (port.expectedTls !== 'starttls') return [];
  const ways = loginWaysOffered(port.protocol, port.capabilities, port.greeting);
  const check = port.checks?.authRequired;
  if (!check) return ways;
  return ways.map((way) => {
    if (check.serverWide) return { ...way, proof: 'refused' };
    const tried = check.ways?.find((entry) => entry.way === way.name && entry.sasl === way.sasl);
    return {
      ...way,
      proof: tried?.outcome ?? 'not-tried',
      ...(tried?.outcome === 'not-tried' && tried.why ? { why: tried.why } : {}),
    };
  });
}

/** A way that may still work before TLS: not proved refused by the check. */
export const stillOpen = (way: LoginWay) => way.proof !== 'refused';

/**
 * The capability list a mail client logs in with: the one read over TLS (re-read after STARTTLS, or the only one on
 * an implicit-TLS port), when TLS was reached and the server answered the request.
 */
export function capabilitiesOverTls(port: PortResult): Capabilities | undefined {
  const caps =
    port.expectedTls === 'implicit'
      ? port.tls
        ? port.capabilities
        : undefined
      : port.starttls?.upgraded
        ? port.capabilitiesAfterTls
        : undefined;
  return caps?.ok ? caps : undefined;
}

/**
 * A submission port (587, 465, or a port named one with --port) that works and, over TLS, lists no AUTH at all: a
 * mail client has no way to log in to send there (RFC 6409 §7 makes AUTH a MUST on submission; §4.3 lets the server
 * authorize by other means, such as a trusted network, which only a client there has). AUTH offered only once TLS
 * is up is the normal case: the list before TLS is never read for this.
 */
export function submissionWithoutLogin(port: PortResult): boolean {
  if (port.status !== 'open' || referenceFor(port.service).role !== 'submission') return false;
  const caps = capabilitiesOverTls(port);
  return caps !== undefined && caps.authMechanisms.length === 0;
}

/** Everything a capability list offers to authenticate with: SASL mechanisms, and LOGIN (IMAP) or USER (POP3). */
export function authenticationOffered(caps: Capabilities, protocol: Protocol): string[] {
  const login = caps.plaintextLogin ? [protocol === 'imap' ? 'LOGIN' : 'USER'] : [];
  return [...caps.authMechanisms, ...login];
}

/** The name users know the upgrade command by: STLS for POP3 (RFC 2595 §4), STARTTLS otherwise. */
export function upgradeCommand(protocol: Protocol): 'STARTTLS' | 'STLS' {
  return protocol === 'pop3' ? 'STLS' : 'STARTTLS';
}
