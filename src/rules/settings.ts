/**
 * The settings a mail client should use, chosen from what was observed to work and be safe on every address
 * (TLS set up, certificate valid for that exact name, no finding of medium or above), and where the published
 * records disagree with what the servers do. A pure function of the discovery and the verdicts.
 */
import type { Discovery } from '../types/index.js';
import type { HostVerdict } from './evaluate.js';
import { targetsBeside } from './published/records.js';

export interface ClientSetting {
  /** The server name a client should use. */
  host: string;
  /** The port. */
  port: number;
  /** The protocol spoken there. */
  protocol: 'SMTP' | 'IMAP' | 'POP3';
  /** How the connection is secured (implicit TLS, or STARTTLS/STLS). */
  security: 'TLS' | 'STARTTLS';
  /** Why this host was probed: "SRV _imaps._tcp", "guess", ... */
  source: string;
}

export interface ClientSettings {
  /** Where to read mail, when a port works safely. */
  incoming?: ClientSetting;
  /** Where to send mail, when a port works safely. */
  outgoing?: ClientSetting;
  /** Where DNS and the servers disagree, and other things a person should know. */
  notes: string[];
}

/** SRV-published hosts first (in record order), then guessed names in the order clients try them. */
export function ranked(discovery: Discovery, verdicts: HostVerdict[]): HostVerdict[] {
  const rank = (host: string) => {
    const candidate = discovery.candidates.findIndex((c) => c.host === host);
    const published = discovery.candidates[candidate]?.sources.some((s) => s.startsWith('SRV')) ?? false;
    return (published ? 0 : 1000) + candidate;
  };
  return [...verdicts].sort((a, b) => rank(a.host) - rank(b.host));
}

export function chooseSettings(discovery: Discovery, verdicts: HostVerdict[]): ClientSettings {
  const notes: string[] = [];
  const hosts = ranked(discovery, verdicts);
  const source = (host: string) =>
    discovery.candidates.find((c) => c.host === host)?.sources.join(', ') ?? '';
  const pick = (kind: 'sending' | 'reading'): ClientSetting | undefined => {
    for (const verdict of hosts) {
      const first = verdict.recommendation[kind][0];
      if (!first) continue;
      const protocol = first.service.startsWith('imap')
        ? 'IMAP'
        : first.service.startsWith('pop3')
          ? 'POP3'
          : 'SMTP';
      return {
        host: verdict.host,
        port: first.port,
        protocol,
        security: first.tls === 'implicit' ? 'TLS' : 'STARTTLS',
        source: source(verdict.host),
      };
    }
    return undefined;
  };
  const outgoing = pick('sending');
  const incoming = pick('reading');

  for (const record of discovery.records) {
    // One note for the answer, however many null MX records it holds.
    const nullMx =
      record.note !== 'null-mx'
        ? undefined
        : discovery.records.some((r) => r.kind === 'MX' && r.note !== 'null-mx' && r.answer !== '')
          ? `${record.query} publishes a null MX beside other MX records, which RFC 7505 §3 forbids: a sender may take it as accepting no mail, or use the others`
          : `${record.query} publishes ${discovery.records.filter((r) => r.note === 'null-mx').length === 1 ? 'a null MX' : 'only null MX records'}: it accepts no mail (RFC 7505)`;
    if (nullMx && !notes.includes(nullMx)) notes.push(nullMx);
    if (record.note === 'cname-target' || record.note === 'address-literal')
      notes.push(`MX ${record.answer}: ${record.detail}`);
    if (record.kind !== 'SRV') continue;
    const service = record.query.split('.')[0]?.slice(1) ?? '';
    if (record.note === 'not-offered') {
      if (targetsBeside(discovery.records, record).length > 0) {
        const note = `SRV ${record.query} publishes "." (not offered) beside records that name servers: clients differ on whether ${service} is offered`;
        if (!notes.includes(note)) notes.push(note);
        continue;
      }
      const offered = verdicts.flatMap((v) =>
        v.ports.filter((p) => p.service === service && p.works && p.safe).map((p) => `${v.host}:${p.port}`),
      );
      if (offered.length > 0)
        notes.push(
          `SRV ${record.query} says ${service} is not offered, but ${offered.join(', ')} works safely`,
        );
      continue;
    }
    const [, , port, target] = record.answer.split(' ');
    const host = target?.toLowerCase();
    const ports = verdicts.find((v) => v.host === host)?.ports.filter((p) => String(p.port) === port) ?? [];
    if (ports.length === 0) continue;
    if (!ports.every((p) => p.works)) {
      notes.push(
        `SRV ${record.query} points at ${host}:${port}, which does not work (${[...new Set(ports.map((p) => p.status))].join(', ')})`,
      );
    } else if (!ports.every((p) => p.safe)) {
      notes.push(
        `SRV ${record.query} points at ${host}:${port}, which works but is not safe (${[...new Set(ports.flatMap((p) => p.findings))].join(', ')})`,
      );
    }
  }
  if (!discovery.records.some((r) => r.kind === 'SRV' && r.answer !== '')) {
    notes.push(
      `${discovery.domain} publishes no SRV records for mail clients (RFC 6186): the settings come from guessed names`,
    );
  }
  return { ...(incoming ? { incoming } : {}), ...(outgoing ? { outgoing } : {}), notes };
}
