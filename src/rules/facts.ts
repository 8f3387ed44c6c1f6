/**
 * Facts derived from the observed results, computed in one place for every reader (rules, expectations,
 * renderers): certificate days left, the password mechanisms offered, the upgrade command's name.
 */
import type { Capabilities, PortResult, Protocol } from '../types.js';

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

/** SASL mechanisms that carry a reusable password in the clear unless TLS protects them (RFC 4616, LOGIN). */
export const passwordMechanisms = ['PLAIN', 'LOGIN'];

/** The password mechanisms a capability list offers (PLAIN, LOGIN), upper case. */
export function passwordMechanismsOffered(caps: Capabilities): string[] {
  return caps.authMechanisms.filter((mechanism) => passwordMechanisms.includes(mechanism));
}

/** Whether a capability list lets a client send its password as is: a password mechanism, IMAP LOGIN, POP3 USER. */
export function offersCleartextPassword(caps: Capabilities | undefined): boolean {
  return caps !== undefined && (passwordMechanismsOffered(caps).length > 0 || caps.plaintextLogin);
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
