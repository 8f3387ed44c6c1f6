/**
 * The rules about a domain's DNS records themselves (MX and SRV), which need no web source: they are judged with
 * --no-web too. A name no host can have, an SRV record of port 0, and an SRV "." for a service that runs.
 */
import { defaultPorts } from '../../reference/table.js';
import type { DnsRecordFact } from '../../types/index.js';
import type { HostVerdict } from '../evaluate.js';
import type { PublishedRule } from './rule.js';

/** One DNS record of the discovery. */
export interface RecordSubject {
  record: DnsRecordFact;
  hosts: HostVerdict[];
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

const srvNotOfferedButRuns: PublishedRule<RecordSubject> = {
  id: 'srv-not-offered-but-runs',
  severity: 'low',
  title: 'an SRV record says a service is not offered, but it runs',
  reference: 'RFC 6186 §3, §3.4; RFC 2782; RFC 8314 §5.1',
  check: ({ record, hosts }) => {
    if (record.kind !== 'SRV' || record.note !== 'not-offered') return undefined;
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

/**
 * Each DNS record of the discovery, one subject each: these need no web source (they are judged with --no-web
 * too).
 */
export const recordRules = [invalidName, srvPortZero, srvNotOfferedButRuns];
