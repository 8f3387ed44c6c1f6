/**
 * Each MX host of a domain under its MTA-STS policy (RFC 8461 §4.1, §4.2, §5), judged as a sending server applying
 * the policy acts: covered by an mx pattern, then STARTTLS and a certificate valid for its name on every address
 * whose port 25 gave a dialogue from here. Pure: the domain's transport subject in, one subject per MX out.
 */
import type { HostVerdict } from '../evaluate.js';
import type { PublishedRule } from './rule.js';
import { hit, mxHosts, mxMatches, type TransportSubject, usablePolicy } from './transport.js';

/** One MX host of the domain with what a sending server under the policy would do with it. */
export interface MxSubject extends TransportSubject {
  mx: string;
  /** Why a sender applying the policy fails this MX; empty when it delivers. */
  reasons: string[];
  /**
   * The MX's port 25 addresses with no completed dialogue from here (filtered, refused, not probed, …): what this
   * machine could not reach says nothing about the policy, so these are never reasons (a sender elsewhere may
   * well reach them); with no reason, the MX is reported unchecked.
   */
  unchecked: string[];
  mode: 'enforce' | 'testing';
}

/**
 * Why a sender applying the policy would not deliver to this MX (RFC 8461 §4.1, §4.2, §5): an mx pattern that does
 * not cover it, or a dialogue on its port 25 that ended without STARTTLS and a certificate valid for its name. A
 * port with no dialogue from here is `unchecked`, never a reason: the policy is about TLS, not about this
 * machine's path (a port 25 blocked by the local network is a finding of its own).
 */
export function mxReasons(
  mx: string,
  patterns: string[],
  hosts: HostVerdict[],
): { reasons: string[]; unchecked: string[] } {
  const reasons: string[] = [];
  const unchecked: string[] = [];
  if (!patterns.some((pattern) => mxMatches(pattern, mx)))
    reasons.push(`no mx pattern of the policy matches it (${patterns.join(', ')})`);
  const host = hosts.find((entry) => entry.host.toLowerCase() === mx);
  const ports = host?.ports.filter((port) => port.port === 25) ?? [];
  if (ports.length === 0) unchecked.push('its port 25 was not probed');
  for (const port of ports) {
    const where = `port 25 on ${port.address}`;
    if (port.status !== 'open') unchecked.push(`${where}: ${port.status}, no dialogue to check`);
    else if (!port.starttls?.advertised) reasons.push(`${where}: STARTTLS is not offered`);
    else if (!port.tls) reasons.push(`${where}: STARTTLS did not give a TLS session`);
    else if (!port.tls.nameMatches)
      reasons.push(
        `${where}: the certificate is not valid for ${mx} (${port.tls.nameError ?? 'name mismatch'})`,
      );
    else if (!port.tls.trusted)
      reasons.push(
        `${where}: the certificate is not trusted (${port.tls.trustProblems?.[0]?.detail ?? port.tls.trustError ?? 'untrusted'})`,
      );
  }
  return { reasons, unchecked };
}

export const mxRules: PublishedRule<MxSubject>[] = [
  {
    id: 'mta-sts-mx-unchecked',
    severity: 'info',
    title: 'MTA-STS: this MX could not be checked against the policy from here',
    reference: 'RFC 8461 §4.1, §4.2, §5',
    check: (subject) =>
      subject.reasons.length === 0 && subject.unchecked.length > 0
        ? {
            ...hit(
              subject,
              `MTA-STS ${subject.mode}: MX ${subject.mx} not checked from here`,
              `${subject.unchecked.join('; ')}. Whether senders deliver to it under the policy (STARTTLS, a certificate valid for ${subject.mx}) is unknown; probe it from a network that reaches its port 25.`,
              subject.unchecked,
              subject.mx,
            ),
            at: { host: subject.mx, port: 25 },
          }
        : undefined,
  },
  {
    id: 'mta-sts-mx-refused',
    severity: 'critical',
    title: 'MTA-STS enforce: sending servers refuse to deliver to this MX',
    reference: 'RFC 8461 §4.1, §4.2, §5',
    check: (subject) =>
      subject.mode === 'enforce' && subject.reasons.length > 0
        ? {
            ...hit(
              subject,
              `MTA-STS enforce: senders refuse to deliver to MX ${subject.mx}`,
              `${subject.reasons.join('; ')}. Mail goes to the other MX hosts, or waits in the senders' queues; cover the MX in the policy's mx lines and give it STARTTLS with a certificate valid for its name.`,
              subject.reasons,
              subject.mx,
            ),
            at: { host: subject.mx, port: 25 },
          }
        : undefined,
  },
  {
    id: 'mta-sts-mx-would-fail',
    severity: 'medium',
    title: 'MTA-STS testing: this MX fails the policy (senders deliver, and report it)',
    reference: 'RFC 8461 §4.1, §5; RFC 8460',
    check: (subject) =>
      subject.mode === 'testing' && subject.reasons.length > 0
        ? {
            ...hit(
              subject,
              `MTA-STS testing: MX ${subject.mx} fails the policy`,
              `${subject.reasons.join('; ')}. In enforce mode senders would refuse it; fix this before switching to enforce.`,
              subject.reasons,
              subject.mx,
            ),
            at: { host: subject.mx, port: 25 },
          }
        : undefined,
  },
];

/** Every MX subject of the domain's usable enforce or testing policy. */
export function mxSubjects(subject: TransportSubject): MxSubject[] {
  const policy = usablePolicy(subject.transport);
  if (!policy || (policy.mode !== 'enforce' && policy.mode !== 'testing')) return [];
  const mode = policy.mode;
  return mxHosts(subject.discovery).map((mx) => ({
    ...subject,
    mx,
    mode,
    ...mxReasons(mx, policy.mx, subject.hosts),
  }));
}
