/**
 * The rules about a domain's DNS records themselves (MX and SRV), which need no web source: they are judged with
 * --no-web too. A name no host can have, an SRV record of port 0, an SRV "." beside records that name servers, an
 * SRV "." for a service that runs, a null MX beside other MX records, and an MX naming a host with no address.
 */
import { defaultPorts } from '../../reference/table.js';
import type { DnsRecordFact, MxAddressLookup } from '../../types/index.js';
import type { HostVerdict } from '../evaluate.js';
import type { PublishedRule } from './rule.js';

/** One DNS record of the discovery, with all of them (a record can be judged only beside the others of its name). */
export interface RecordSubject {
  record: DnsRecordFact;
  records: DnsRecordFact[];
  hosts: HostVerdict[];
  /** What the address lookup of each MX host gave (discovery.mxAddresses). */
  mxAddresses: MxAddressLookup[];
}

/**
 * The SRV records of the same name as an SRV "." that name a target (usable or not): RFC 2782 gives "." its meaning
 * ("decidedly not available") only as the one record of its name, so beside these the answer contradicts itself.
 */
export function targetsBeside(records: DnsRecordFact[], dot: DnsRecordFact): DnsRecordFact[] {
  if (dot.kind !== 'SRV' || dot.note !== 'not-offered') return [];
  return records.filter(
    (r) =>
      r.kind === 'SRV' &&
      r.query === dot.query &&
      r.answer !== '' &&
      (r.note === undefined || r.note === 'invalid-name' || r.note === 'port-zero'),
  );
}

const invalidName: PublishedRule<RecordSubject> = {
  id: 'published-invalid-name',
  severity: 'medium',
  title: 'an MX or SRV record names a host that cannot exist',
  reference: 'RFC 5890 §2.3.2.1; RFC 5891 §5.4',
  check: ({ record }) => {
    if (record.note !== 'invalid-name') return undefined;
    const where = `${record.kind} ${record.query}`;
    return {
      key: `${where} ${record.answer}`,
      source: where,
      title: `${where} names a host that cannot exist`,
      detail: `${record.detail ?? 'the target is not a host name'}. No client or server can reach it: it is skipped (not probed), and the rest of the run goes on. Publish the host's A-label form (RFC 5890).`,
      evidence: [`${where}: ${record.answer}`],
      reference:
        record.kind === 'MX'
          ? 'RFC 5321 §5.1; RFC 5890 §2.3.2.1; RFC 5891 §5.4'
          : 'RFC 2782; RFC 6186 §3; RFC 5890 §2.3.2.1; RFC 5891 §5.4',
    };
  },
};

const srvPortZero: PublishedRule<RecordSubject> = {
  id: 'srv-port-zero',
  severity: 'medium',
  title: 'an SRV record names port 0, which takes no connection',
  reference: 'RFC 2782 (Port); RFC 6186 §3; IANA port registry (port 0 reserved)',
  check: ({ record }) => {
    if (record.kind !== 'SRV' || record.note !== 'port-zero') return undefined;
    const service = record.query.split('.')[0]?.slice(1) ?? '';
    const port = defaultPorts.find((spec) => spec.service === service)?.port;
    return {
      key: `${record.query} ${record.answer}`,
      source: `SRV ${record.query}`,
      title: `SRV ${record.query} names port 0: the record is unusable`,
      detail: `Port 0 is reserved and takes no connection, so no client can use this record (it was not probed: this says nothing about the host). A client that reads it fails there and goes on to the domain's next record for ${service}, if there is one. Publish the port the service listens on${port ? ` (${port} for ${service})` : ''}, or, when the service is not offered, the record "0 0 0 ." alone.`,
      evidence: [`SRV ${record.query}: ${record.answer}`],
    };
  },
};

const srvNotOfferedMixed: PublishedRule<RecordSubject> = {
  id: 'srv-not-offered-mixed',
  severity: 'low',
  title: 'an SRV answer holds a "." (not offered) beside records that name servers',
  reference: 'RFC 2782 (Target, usage rules); RFC 6186 §3, §3.4',
  check: ({ record, records }) => {
    const others = targetsBeside(records, record);
    if (others.length === 0) return undefined;
    const service = record.query.split('.')[0]?.slice(1) ?? '';
    const all = records.filter((r) => r.kind === 'SRV' && r.query === record.query && r.answer !== '');
    return {
      key: record.query,
      source: `SRV ${record.query}`,
      title: `SRV ${record.query} says both that ${service} is not offered (".") and where it runs`,
      detail: `A "." target means the service is decidedly not available (RFC 2782), and RFC 6186 §3.4 says a client seeing one MUST take the service as not offered; yet ${others.length === 1 ? 'another record names a server' : `${others.length} other records name servers`} for it. Clients differ: one that follows RFC 6186 skips ${service} at this domain, while one that follows only RFC 2782's selection (which gives up only when "." is the single record) uses the other targets. Those targets are probed as usual. Publish one or the other: drop the "." record when the service is offered, or the other records when it is not.`,
      evidence: all.map((r) => `SRV ${r.query}: ${r.answer}`),
    };
  },
};

const srvNotOfferedButRuns: PublishedRule<RecordSubject> = {
  id: 'srv-not-offered-but-runs',
  severity: 'low',
  title: 'an SRV record says a service is not offered, but it runs',
  reference: 'RFC 6186 §3, §3.4; RFC 2782; RFC 8314 §5.1',
  check: ({ record, records, hosts }) => {
    if (record.kind !== 'SRV' || record.note !== 'not-offered') return undefined;
    // A "." beside records that name servers is srv-not-offered-mixed: those records are published already.
    if (targetsBeside(records, record).length > 0) return undefined;
    const service = record.query.split('.')[0]?.slice(1) ?? '';
    const running = hosts.flatMap((h) =>
      h.ports
        .filter((p) => p.service === service && p.works)
        .map((p) => `${h.host}:${p.port} (${p.address})${p.safe ? '' : ', not safe'}`),
    );
    if (running.length === 0) return undefined;
    return {
      key: record.query,
      source: `SRV ${record.query}`,
      title: `SRV ${record.query} says ${service} is not offered, but it runs`,
      detail: `Clients that read SRV records will not use a service that works${['imaps', 'pop3s', 'submissions'].includes(service) ? ', and take the STARTTLS port where implicit TLS is preferred (RFC 8314 §5.1)' : ''}. Publish its SRV record (mailprobe publish prints it), or stop the service.`,
      evidence: [`SRV ${record.query}: ${record.answer}`, `works: ${running.join(', ')}`],
    };
  },
};

const nullMxMixed: PublishedRule<RecordSubject> = {
  id: 'null-mx-mixed',
  severity: 'medium',
  title: 'an MX answer holds a null MX (".") beside other MX records',
  reference: 'RFC 7505 §3, §4.1; RFC 5321 §5.1',
  check: ({ record, records }) => {
    if (record.kind !== 'MX' || record.note !== 'null-mx') return undefined;
    const all = records.filter((r) => r.kind === 'MX' && r.query === record.query && r.answer !== '');
    if (all.every((r) => r.note === 'null-mx')) return undefined;
    return {
      key: record.query,
      source: `MX ${record.query}`,
      title: `MX ${record.query} says both that the domain accepts no mail (".") and where it takes mail`,
      detail: `A null MX says the domain accepts no mail, and RFC 7505 §3 says a domain that publishes one MUST NOT publish any other MX record; RFC 7505 does not say what a sender does when it finds both. Senders differ: one that takes any "." as a null MX refuses all mail to the domain at once (556 5.1.10, RFC 7505 §4.1), one that follows RFC 5321 §5.1 alone finds no address for "." and delivers to the other MX hosts. Those are probed as usual. Publish one or the other: drop the null MX when the domain takes mail, or the other MX records when it does not.`,
      evidence: all.map((r) => `MX ${r.query}: ${r.answer}`),
    };
  },
};

const mxNoAddress: PublishedRule<RecordSubject> = {
  id: 'mx-no-address',
  severity: 'low',
  title: 'an MX record names a host that has no address',
  reference: 'RFC 5321 §5.1',
  check: ({ record, mxAddresses }) => {
    if (record.kind !== 'MX' || record.note === 'null-mx') return undefined;
    const host = record.answer.split(' ')[1]?.toLowerCase().replace(/\.$/, '');
    const lookup = mxAddresses.find((l) => l.host === host && l.outcome === 'none');
    if (!lookup || !host) return undefined;
    return {
      key: host,
      source: `MX ${record.query}`,
      title: `MX ${record.query} names ${host}, which has no address`,
      detail: `RFC 5321 §5.1: the host an MX record names MUST return at least one address record (A or AAAA) when queried; ${host} has none (${lookup.detail ?? 'no address'}). Senders skip it and deliver to the other MX hosts (only when none of them is usable must mail fail, §5.1), so it is no mail host: its port 25 was not probed. Publish its A or AAAA record, or remove the MX record.`,
      evidence: [`MX ${record.query}: ${record.answer}`, `${host}: ${lookup.detail ?? 'no address'}`],
    };
  },
};

/**
 * Each DNS record of the discovery, one subject each: these need no web source (they are judged with --no-web
 * too).
 */
export const recordRules = [
  invalidName,
  srvPortZero,
  srvNotOfferedMixed,
  srvNotOfferedButRuns,
  nullMxMixed,
  mxNoAddress,
];
