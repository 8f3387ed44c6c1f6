/**
 * What a domain publishes for the servers that send it mail, judged as a sending server acts on it: MTA-STS
 * (RFC 8461: the TXT record, the policy as fetched, its mode; each MX against the policy is mx.ts) and TLS-RPT
 * (RFC 8460). Pure: discovery.transport and the host verdicts in, hits out.
 */
import { namePatternMatches } from '../../net/names.js';
import type { Discovery, TransportPolicyFacts } from '../../types/index.js';
import type { HostVerdict } from '../evaluate.js';
import type { PublishedRule } from './rule.js';

export interface TransportSubject {
  discovery: Discovery;
  transport: TransportPolicyFacts;
  hosts: HostVerdict[];
}

const policyUrl = (domain: string) => `https://mta-sts.${domain}/.well-known/mta-sts.txt`;

/** RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year). */
export const maxMaxAge = 31_557_600;

/** RFC 8461 §4.1: an mx pattern matches the MX host exactly, or `*.` stands for exactly one left-most label. */
export const mxMatches = namePatternMatches;

/** The MX host names of the domain, in preference order (a null MX has none). */
export function mxHosts(discovery: Discovery): string[] {
  return discovery.records
    .filter((record) => record.kind === 'MX' && record.note === undefined)
    .map((record) => record.answer.split(/\s+/)[1]?.replace(/\.$/, '').toLowerCase() ?? '')
    .filter((host) => host !== '');
}

/** A policy a sender applies: fetched as RFC 8461 §3.3 requires, with no syntax problem, and a valid TXT. */
export function usablePolicy(transport: TransportPolicyFacts) {
  const policy = transport.policy;
  return transport.stsId && policy && policy.problems.length === 0 ? policy : undefined;
}

function fetchFailure(transport: TransportPolicyFacts): string | undefined {
  const fetched = transport.policyFetch;
  if (!fetched) return 'the policy was not fetched';
  if (fetched.outcome !== 'ok') {
    if (fetched.redirects?.length)
      return `the policy is behind a redirect (HTTP ${fetched.redirects[0]?.status} to ${fetched.redirects[0]?.to}), which senders never follow`;
    return `${fetched.detail}`;
  }
  if (!/^text\/plain\s*(;|$)/i.test(transport.policyContentType ?? ''))
    return `the policy is served as ${transport.policyContentType ?? 'no Content-Type'}, not text/plain`;
  return undefined;
}

export const hit = (
  subject: TransportSubject,
  title: string,
  detail: string,
  evidence: string[],
  key = '',
) => ({
  key: `${subject.discovery.domain} ${key}`,
  source: policyUrl(subject.discovery.domain),
  title,
  detail,
  evidence: evidence.filter((line) => line !== ''),
});

const recordEvidence = (transport: TransportPolicyFacts) => [
  `${transport.stsRecord.name} TXT: ${transport.stsRecord.outcome === 'found' ? transport.stsRecord.records.map((r) => JSON.stringify(r.slice(0, 200))).join(', ') : transport.stsRecord.outcome}${transport.stsRecord.detail ? ` (${transport.stsRecord.detail})` : ''}`,
];
const fetchEvidence = (transport: TransportPolicyFacts) =>
  transport.policyFetch
    ? [
        `GET ${transport.policyFetch.url}: ${transport.policyFetch.detail}${transport.policyContentType ? `, Content-Type ${transport.policyContentType}` : ''}${transport.policyFetch.bytes !== undefined ? `, ${transport.policyFetch.bytes} bytes` : ''}`,
      ]
    : [];

export const transportRules: PublishedRule<TransportSubject>[] = [
  {
    id: 'mta-sts-policy-unfetchable',
    severity: 'high',
    title: 'the MTA-STS record is published but its policy cannot be fetched as senders fetch it',
    reference: 'RFC 8461 §3.3, §3.2',
    check: (subject) => {
      const { transport } = subject;
      if (!transport.stsId) return undefined;
      const why = fetchFailure(transport);
      if (!why) return undefined;
      return hit(
        subject,
        `the MTA-STS policy of ${subject.discovery.domain} cannot be fetched`,
        `${why}. Sending servers without a cached policy apply none (opportunistic TLS, no protection); those with one keep the old policy until its max_age runs out. Serve the policy over HTTPS with a certificate valid for mta-sts.${subject.discovery.domain}, as text/plain, at most 64 KiB, with no redirect.`,
        [...recordEvidence(transport), ...fetchEvidence(transport)],
      );
    },
  },
  {
    id: 'mta-sts-policy-invalid',
    severity: 'high',
    title: 'the MTA-STS policy breaks the strict syntax, and senders discard it',
    reference: 'RFC 8461 §3.2',
    check: (subject) => {
      const policy = subject.transport.policy;
      if (!policy || policy.problems.length === 0) return undefined;
      return hit(
        subject,
        `the MTA-STS policy of ${subject.discovery.domain} is not valid`,
        `${policy.problems.join('; ')}. A sending server discards the policy: no protection.`,
        [...fetchEvidence(subject.transport), ...policy.problems],
      );
    },
  },
  {
    id: 'mta-sts-policy-without-txt',
    severity: 'medium',
    title: 'an MTA-STS policy is served, but no valid _mta-sts TXT record points to it',
    reference: 'RFC 8461 §3.1, §5',
    check: (subject) => {
      const { transport } = subject;
      if (transport.stsId || !transport.policy) return undefined;
      return hit(
        subject,
        `${subject.discovery.domain} serves an MTA-STS policy without a valid TXT record`,
        `${transport.stsRecordProblem ?? 'there is no _mta-sts TXT record'}: sending servers look for the TXT record first and never fetch the policy; publish "v=STSv1; id=…"`,
        [...recordEvidence(transport), ...fetchEvidence(transport)],
      );
    },
  },
  {
    id: 'mta-sts-max-age-too-long',
    severity: 'medium',
    title: `the MTA-STS policy's max_age is above the maximum of ${maxMaxAge}: senders differ on it`,
    reference: 'RFC 8461 §3.2',
    check: (subject) => {
      const maxAge = subject.transport.policy?.maxAge;
      if (maxAge === undefined || maxAge <= maxMaxAge) return undefined;
      return hit(
        subject,
        `the MTA-STS policy of ${subject.discovery.domain} has max_age ${maxAge}, above the maximum of ${maxMaxAge}`,
        `RFC 8461 §3.2 allows max_age up to ${maxMaxAge} seconds (about a year); its grammar takes up to 10 digits, and senders differ on a larger value: some discard the whole policy as invalid (no protection from them), others apply it and cache it for less or for the value given. Publish at most ${maxMaxAge} (weeks or more is what the RFC expects).`,
        [...fetchEvidence(subject.transport), `max_age: ${maxAge}`],
        'max_age',
      );
    },
  },
  {
    id: 'mta-sts-policy-changed-same-id',
    severity: 'medium',
    title: 'the MTA-STS policy changed but the id of its TXT record did not: senders keep the cached policy',
    reference: 'RFC 8461 §3.1, §3.3, §5.1',
    check: (subject) => {
      const { transport } = subject;
      const earlier = transport.earlier;
      if (!earlier || !transport.stsId || !transport.policyDigest || !usablePolicy(transport))
        return undefined;
      if (earlier.id !== transport.stsId || earlier.policyDigest === transport.policyDigest) return undefined;
      return hit(
        subject,
        `the MTA-STS policy of ${subject.discovery.domain} changed under the same id ${transport.stsId}`,
        `the policy differs from the one seen at ${earlier.at} (its mode, mx lines or max_age), but the _mta-sts TXT id is still ${transport.stsId}: senders that cached the earlier policy do not refetch it until its max_age runs out; change the id whenever the policy changes`,
        [
          `earlier: id ${earlier.id}, policy sha256 ${earlier.policyDigest.slice(0, 16)}… at ${earlier.at}`,
          `now: id ${transport.stsId}, policy sha256 ${transport.policyDigest.slice(0, 16)}…`,
          ...recordEvidence(transport),
        ],
      );
    },
  },
  {
    id: 'mta-sts-txt-invalid',
    severity: 'medium',
    title: 'the _mta-sts TXT record is not one valid v=STSv1 record',
    reference: 'RFC 8461 §3.1',
    check: (subject) =>
      subject.transport.stsRecordProblem && !subject.transport.policy
        ? hit(
            subject,
            `the _mta-sts TXT record of ${subject.discovery.domain} is not valid`,
            `${subject.transport.stsRecordProblem}: senders ignore it`,
            recordEvidence(subject.transport),
          )
        : undefined,
  },
  {
    id: 'mta-sts-lookup-failed',
    severity: 'medium',
    title: 'the _mta-sts TXT lookup failed: MTA-STS status unknown',
    reference: 'RFC 8461 §3.1, §5.1',
    check: (subject) =>
      subject.transport.stsRecord.outcome === 'failed'
        ? hit(
            subject,
            `MTA-STS status of ${subject.discovery.domain} unknown`,
            'not "no MTA-STS": the DNS lookup failed; senders then use a cached policy, or none',
            recordEvidence(subject.transport),
          )
        : undefined,
  },
  {
    id: 'mta-sts-mode',
    severity: 'info',
    title: 'the MTA-STS mode senders apply',
    reference: 'RFC 8461 §5',
    check: (subject) => {
      const policy = usablePolicy(subject.transport);
      if (!policy) return undefined;
      const words: Record<string, string> = {
        enforce: 'senders refuse to deliver to an MX that is not covered or fails TLS',
        testing: 'senders deliver anyway and report failures (TLS-RPT)',
        none: 'senders apply no policy (a policy being withdrawn)',
      };
      return hit(
        subject,
        `MTA-STS mode ${policy.mode} for ${subject.discovery.domain} (max_age ${policy.maxAge ?? '?'} s, id ${subject.transport.stsId})`,
        `${words[policy.mode ?? ''] ?? ''}; mx ${policy.mx.join(', ') || '(none)'}`,
        [...recordEvidence(subject.transport), ...fetchEvidence(subject.transport)],
        'mode',
      );
    },
  },
  {
    id: 'mta-sts-none',
    severity: 'info',
    title: 'no MTA-STS: sending servers use opportunistic TLS',
    reference: 'RFC 8461 §2',
    check: (subject) =>
      subject.transport.stsRecord.outcome === 'none' && !subject.transport.policy
        ? hit(
            subject,
            `${subject.discovery.domain} publishes no MTA-STS policy`,
            'sending servers accept any certificate, or none, from its MX hosts unless DANE says otherwise (--dane)',
            [...recordEvidence(subject.transport), ...fetchEvidence(subject.transport)],
          )
        : undefined,
  },
  {
    id: 'tls-rpt-missing',
    severity: 'low',
    title: 'a transport policy is published without a TLS-RPT record to hear of failures',
    reference: 'RFC 8460 §3; RFC 8461 §2',
    check: (subject) => {
      const { transport } = subject;
      if (transport.tlsRptRecord.outcome !== 'none' || !transport.stsId) return undefined;
      return hit(
        subject,
        `${subject.discovery.domain} has MTA-STS but no TLS-RPT record`,
        `publish _smtp._tls.${subject.discovery.domain} TXT "v=TLSRPTv1; rua=mailto:…" to receive the reports of senders that fail TLS to your MX hosts`,
        [`${transport.tlsRptRecord.name} TXT: none`],
      );
    },
  },
  {
    id: 'tls-rpt-invalid',
    severity: 'low',
    title: 'the TLS-RPT record is not one valid v=TLSRPTv1 record',
    reference: 'RFC 8460 §3',
    check: (subject) =>
      subject.transport.tlsRptProblem
        ? hit(
            subject,
            `the TLS-RPT record of ${subject.discovery.domain} is not valid`,
            `${subject.transport.tlsRptProblem}: senders send no reports`,
            [
              `${subject.transport.tlsRptRecord.name} TXT: ${subject.transport.tlsRptRecord.records.map((r) => JSON.stringify(r.slice(0, 200))).join(', ')}`,
            ],
          )
        : undefined,
  },
];
