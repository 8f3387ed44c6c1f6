/**
 * DANE for SMTP (RFC 7672) and for the ports a domain publishes in SRV records (RFC 7673): the TLSA records of a
 * port (`port.dane`, looked up with --dane) against the chain the server sent (`port.tls.chain`). Pure.
 *
 * - Validated means: the lookup's resolver is one the user trusts (named with --dns-server, or on loopback) and
 *   its answer carries the AD bit. Anything else is "unvalidated" and never shown as secure.
 * - A failed lookup (SERVFAIL, timeout) is "DANE status unknown", never "no DANE" (RFC 7672 §2.2.1: a sender
 *   defers the mail).
 * - Usable records (RFC 7672 §3.1.3): usage DANE-TA(2) or DANE-EE(3), selector 0 or 1, matching type 0, 1 or 2
 *   (0, Full, by the SHA-256 of its data: RFC 6698 §2.1.3). PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP.
 * - DANE-EE(3) matches the leaf only, names and dates ignored (RFC 7672 §3.1.1). DANE-TA(2) matches a certificate
 *   of the chain as sent above the leaf (RFC 7671 §5.2.2), or, for a Full record the server left out of its chain,
 *   the record's own certificate or key (`tls.tlsaIssuer`, RFC 7671 §5.2.2-5.2.3); the leaf must then chain to it, it and every
 *   certificate between it and the trust anchor be in date, and the leaf carry the host's name (RFC 7672 §3.1.2,
 *   §3.2.2).
 */
import { namePatternMatches } from '../net/names.js';
import type { ChainCertificate, DaneStatus, TlsaLookup, TlsaRecord } from '../types/index.js';
import { isRelay, type PortResult, type Rule } from './rule.js';

export type { DaneStatus } from '../types/index.js';

const usages = ['PKIX-TA', 'PKIX-EE', 'DANE-TA', 'DANE-EE'];
const selectors = ['Cert', 'SPKI'];
const matchings = ['Full', 'SHA2-256', 'SHA2-512'];

/** A record as RFC 7218 names its fields: "3 1 1 (DANE-EE SPKI SHA2-256) 8f3c…". */
export function describeTlsa(record: TlsaRecord): string {
  const names = [usages[record.usage], selectors[record.selector], matchings[record.matchingType]]
    .map((name) => name ?? '?')
    .join(' ');
  const data = record.data.length > 64 ? `${record.data.slice(0, 64)}…` : record.data;
  return `${record.usage} ${record.selector} ${record.matchingType} (${names}) ${data}`;
}

/** RFC 7672 §3.1.3: the records an SMTP client uses. */
export const usable = (record: TlsaRecord) =>
  (record.usage === 2 || record.usage === 3) &&
  (record.selector === 0 || record.selector === 1) &&
  (record.matchingType === 0 || record.matchingType === 1 || record.matchingType === 2);

/** The digest of a certificate a record names, or undefined when it cannot be computed from the facts. */
function digestOf(record: TlsaRecord, cert: ChainCertificate): string | undefined {
  // Full (0): the data's SHA-256 against the certificate's or the key's.
  const matching = record.matchingType === 0 ? 1 : record.matchingType;
  if (record.selector === 0 && matching === 1) return cert.sha256.replaceAll(':', '').toLowerCase();
  if (!cert.dane) return undefined;
  if (record.selector === 0 && matching === 2) return cert.dane.certSha512;
  if (record.selector === 1 && matching === 1) return cert.dane.spkiSha256;
  if (record.selector === 1 && matching === 2) return cert.dane.spkiSha512;
  return undefined;
}

/** The record names this certificate. */
const recordNames = (record: TlsaRecord, cert: ChainCertificate) => {
  const want = record.matchingType === 0 ? record.dataSha256 : record.data.toLowerCase();
  return want !== undefined && digestOf(record, cert) === want;
};

/** One record matched: the certificate it names (by index in the chain as sent), or why it does not count. */
export interface TlsaMatch {
  record: TlsaRecord;
  /** Index in the chain as sent of the certificate whose digest equals the record's data. */
  index?: number;
  /** The record matches and a DANE-aware sender accepts the chain by it. */
  accepted: boolean;
  /** Why a matching DANE-TA record does not make the chain accepted. */
  why?: string;
  /**
   * The trust anchor is the record's own certificate or key, which signed the last certificate sent; `index` is
   * then the chain's length (the place the anchor would have had).
   */
  notSent?: boolean;
}

/** Where a match's certificate is: "chain 1", or the record's own when the server did not send it. */
export const matchedWhere = (match: TlsaMatch) =>
  match.notSent
    ? `the record's own, issuer of chain ${(match.index ?? 1) - 1}, not sent`
    : `chain ${match.index}`;

/** The records came from the alias's expanded name (RFC 7672 §2.2.3), not from the host name itself. */
const fromExpanded = (lookup: TlsaLookup) =>
  lookup.alias !== undefined && lookup.name.toLowerCase().endsWith(`._tcp.${lookup.alias.target}`);

/**
 * A DNS name of the leaf (its DNS subjectAltNames; its subject CN when it has none) is `name`, exactly or by a
 * wildcard in the leftmost label only (RFC 6125 §6.4.3).
 */
export function leafCarries(leaf: ChainCertificate, name: string): boolean {
  const want = name.replace(/\.$/, '').toLowerCase();
  const dns = (leaf.subjectAltNames ?? [])
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).replace(/\.$/, '').toLowerCase());
  const cn = /(?:^|,\s*)CN=([^,]+)/.exec(leaf.subject)?.[1];
  const names = dns.length > 0 ? dns : cn ? [cn.toLowerCase()] : [];
  return names.some((candidate) => namePatternMatches(candidate, want));
}

/**
 * With the records from an alias's expanded name, the expanded name is a reference identifier too (RFC 7672
 * §3.2.3, RFC 7671 §7): the leaf may carry either.
 */
function carriesExpandedName(port: PortResult, leaf: ChainCertificate): boolean {
  const lookup = port.dane;
  return lookup?.alias !== undefined && fromExpanded(lookup) && leafCarries(leaf, lookup.alias.target);
}

/** Each usable record against the chain as sent (RFC 7671 §5.1-5.2; RFC 7672 §3.1). */
export function matchTlsa(records: TlsaRecord[], port: PortResult): TlsaMatch[] {
  const chain = port.tls?.chain ?? [];
  return records.filter(usable).map((record) => {
    if (record.usage === 3) {
      const leaf = chain[0];
      const matched = leaf !== undefined && recordNames(record, leaf);
      return matched ? { record, index: 0, accepted: true } : { record, accepted: false };
    }
    // DANE-TA: a certificate above the leaf, as sent; or a Full record's own certificate or key, which signed the
    // last certificate sent (the server left the trust anchor out: RFC 7671 §5.2.2-5.2.3).
    const omitted = record.matchingType === 0 && port.dane?.records[port.tls?.tlsaIssuer ?? -1] === record;
    const index = omitted ? chain.length : chain.findIndex((cert, at) => at > 0 && recordNames(record, cert));
    if (index < 0) return { record, accepted: false };
    const path = chain.slice(0, index + 1);
    const broken = path.find(
      (cert) => cert.problems.includes('unrelated') || cert.problems.includes('out-of-order'),
    );
    const leaf = chain[0] as ChainCertificate;
    // The path below the trust anchor is validated as PKIX validates it, dates included (RFC 7671 §5.2.2).
    const outOfDate = (omitted ? path : path.slice(0, -1)).find(
      (cert) => cert.problems.includes('expired') || cert.problems.includes('not-yet-valid'),
    );
    const why = broken
      ? `certificate ${broken.index} does not chain to the trust anchor`
      : outOfDate
        ? `${outOfDate.index === 0 ? 'the leaf' : `certificate ${outOfDate.index}, between the leaf and the trust anchor,`} is out of date (dates count under DANE-TA)`
        : port.tls?.nameMatches || carriesExpandedName(port, leaf)
          ? undefined
          : `the leaf does not carry the name ${port.tls?.checkedName ?? ''}${port.dane?.alias && fromExpanded(port.dane) ? ` or ${port.dane.alias.target}` : ''} (names count under DANE-TA)`;
    const match: TlsaMatch = why
      ? { record, index, accepted: false, why }
      : { record, index, accepted: true };
    if (omitted) match.notSent = true;
    return match;
  });
}

/** The lookup's answer may be believed: a trusted resolver set the AD bit. */
export const validated = (lookup: TlsaLookup) => lookup.resolverTrusted && lookup.authenticData;

/** One word for the port's DANE state (see DaneStatus). */
export function daneStatus(port: PortResult): DaneStatus | undefined {
  const lookup = port.dane;
  if (!lookup) return undefined;
  if (lookup.outcome === 'failed') return 'unknown';
  if (lookup.outcome === 'none') return 'none';
  if (!validated(lookup)) return 'unvalidated';
  if (!lookup.records.some(usable)) return 'unusable';
  if (!port.tls?.chain?.length) return 'no-tls';
  return matchTlsa(lookup.records, port).some((match) => match.accepted) ? 'valid' : 'mismatch';
}

function aliasEvidence(lookup: TlsaLookup): string[] {
  const alias = lookup.alias;
  if (!alias) return [];
  return [
    alias.secure
      ? `${alias.host} is an alias of ${alias.target}, validated: the TLSA records are looked up at ${alias.target} first, then at ${alias.host} (RFC 7672 §2.2.3); used: ${lookup.name}`
      : `${alias.host} is an alias of ${alias.target}, not validated: only ${alias.host} counts as the TLSA base domain (RFC 7672 §2.2.3)`,
  ];
}

function lookupEvidence(lookup: TlsaLookup): string[] {
  return [
    ...aliasEvidence(lookup),
    `${lookup.name} TLSA asked of ${lookup.resolver} (${lookup.resolverTrust})${lookup.transport ? ` over ${lookup.transport.toUpperCase()}` : ''}: ${lookup.rcode ?? 'no answer'}${lookup.authenticData ? ', AD set' : ', AD not set'}`,
    ...lookup.records.slice(0, 8).map((record) => `TLSA ${describeTlsa(record)}`),
    ...(lookup.error ? [lookup.error] : []),
  ];
}

function chainEvidence(port: PortResult): string[] {
  return (port.tls?.chain ?? [])
    .slice(0, 4)
    .map(
      (cert) =>
        `chain ${cert.index} (${cert.subject}): SPKI SHA-256 ${cert.dane?.spkiSha256 ?? '?'}, cert SHA-256 ${cert.sha256.replaceAll(':', '').toLowerCase()}`,
    );
}

const whatSendersDo = (port: PortResult) =>
  isRelay(port)
    ? 'DANE-aware sending servers (Postfix, Exim, Microsoft 365) refuse to deliver to this host and queue the mail'
    : 'DANE-aware clients refuse this server';

export const daneRules: readonly Rule[] = [
  {
    id: 'dane-mismatch',
    severity: 'critical',
    title: 'the validated TLSA records match no certificate the server sent',
    reference: 'RFC 7672 §3.1, §2.2; RFC 6698 §2.1; RFC 7671 §5',
    check: (port) => {
      if (daneStatus(port) !== 'mismatch' || !port.dane) return undefined;
      const notes = matchTlsa(port.dane.records, port)
        .filter((match) => match.why)
        .map((match) => `TLSA ${describeTlsa(match.record)} names ${matchedWhere(match)} but ${match.why}`);
      return {
        severity: isRelay(port) ? 'critical' : 'high',
        detail: `${whatSendersDo(port)}: the certificate changed (a renewal with a new key?) without the TLSA records; publish a record for the new key beside the old one, wait the TTL, then switch`,
        evidence: [...lookupEvidence(port.dane), ...chainEvidence(port), ...notes],
      };
    },
  },
  {
    id: 'dane-no-tls',
    severity: 'critical',
    title: 'validated TLSA records are published but no TLS session was set up',
    reference: 'RFC 7672 §2.2 (TLS is then mandatory)',
    check: (port) =>
      daneStatus(port) === 'no-tls' && port.dane && port.status !== 'filtered' && port.status !== 'closed'
        ? {
            severity: isRelay(port) ? 'critical' : 'high',
            detail: `${whatSendersDo(port)}: with TLSA records a sender requires STARTTLS and a matching certificate`,
            evidence: [...lookupEvidence(port.dane), `status ${port.status}`],
          }
        : undefined,
  },
  {
    id: 'dane-unknown',
    severity: 'high',
    title: 'DANE status unknown: the TLSA lookup failed',
    reference: 'RFC 7672 §2.1.1, §2.2.1; RFC 4035 §5.5 (bogus answers are SERVFAIL)',
    check: (port) =>
      daneStatus(port) === 'unknown' && port.dane
        ? {
            severity: isRelay(port) ? 'high' : 'medium',
            detail:
              'not "no DANE": the resolver failed (a broken DNSSEC signature answers SERVFAIL), and a DANE-aware sender defers mail to this host until the lookup succeeds; check the zone\'s signatures (e.g. with ldns-verify-zone or dnsviz)',
            evidence: lookupEvidence(port.dane),
          }
        : undefined,
  },
  {
    id: 'dane-unvalidated',
    // low: the port is no less safe than without the records (senders ignore them); it does not make it unsafe.
    severity: 'low',
    title: 'TLSA records found, but not validated by a resolver you trust',
    reference: 'RFC 7672 §2.2 (only secure TLSA records count); RFC 6698 §4.1; RFC 4035 §3.2.3 (AD bit)',
    check: (port) => {
      if (daneStatus(port) !== 'unvalidated' || !port.dane) return undefined;
      const lookup = port.dane;
      const matched = port.tls?.chain?.length
        ? matchTlsa(lookup.records, port).some((match) => match.accepted)
          ? 'they would match the chain sent'
          : 'they would match no certificate the server sent'
        : 'no chain to match them against';
      return {
        detail: `${
          lookup.resolverTrusted
            ? 'the answer is not signed (the zone or a parent is unsigned): sending servers ignore these records and deliver with opportunistic TLS'
            : 'the resolver is not one this tool trusts for the AD bit, so this is not shown as secure; run again with --dns-server naming a validating resolver you trust'
        }; ${matched}`,
        evidence: lookupEvidence(lookup),
      };
    },
  },
  {
    id: 'dane-unusable',
    // low: senders still require TLS (unauthenticated), so the port is no less safe than without the records.
    severity: 'low',
    title: 'the validated TLSA records are all unusable for SMTP',
    reference: 'RFC 7672 §3.1.3 (PKIX-TA and PKIX-EE are unusable); RFC 7671 §4',
    check: (port) =>
      daneStatus(port) === 'unusable' && port.dane
        ? {
            detail:
              'sending servers require TLS but authenticate nothing; publish DANE-EE (3 1 1) or DANE-TA (2 1 1) records',
            evidence: lookupEvidence(port.dane),
          }
        : undefined,
  },
  {
    id: 'dane-valid',
    severity: 'info',
    title: 'DANE: the validated TLSA records match the chain sent',
    reference: 'RFC 7672 §3.1; RFC 6698 §2.1',
    check: (port) => {
      if (daneStatus(port) !== 'valid' || !port.dane) return undefined;
      const accepted = matchTlsa(port.dane.records, port).filter((match) => match.accepted);
      return {
        detail: `DANE-aware senders require TLS to this host and accept its certificate by ${accepted
          .map(
            (match) =>
              `TLSA ${match.record.usage} ${match.record.selector} ${match.record.matchingType} (${matchedWhere(match)})`,
          )
          .join(', ')}`,
        evidence: [...lookupEvidence(port.dane), ...chainEvidence(port)],
      };
    },
  },
  {
    id: 'dane-none',
    severity: 'info',
    title: 'no TLSA records: DANE is not published',
    reference: 'RFC 7672 §2.2',
    check: (port) =>
      daneStatus(port) === 'none' && port.dane
        ? {
            detail: `${
              validated(port.dane)
                ? 'the absence is validated (DNSSEC denial of existence)'
                : 'the absence is not validated'
            }; sending servers use opportunistic TLS${isRelay(port) ? ' unless an MTA-STS policy says otherwise' : ''}`,
            evidence: lookupEvidence(port.dane),
          }
        : undefined,
  },
];
