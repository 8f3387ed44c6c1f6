/** The reference table as data: how each mail port should behave, with the RFC that says so. */
import type { Protocol, Service, TlsMode } from '../types/index.js';

/** One row of the reference table: how a mail service's port should behave, and the source that says so. */
export interface ServiceReference {
  service: Service;
  /** The IANA-registered port. */
  port: number;
  protocol: Protocol;
  /** Who connects, and to do what. */
  role: 'relay' | 'submission' | 'mailbox-access' | 'download';
  /** How TLS should be reached. */
  tls: TlsMode;
  /** For STARTTLS services: whether TLS must be used before authentication (false only for port 25 relay). */
  tlsRequiredForAuth: boolean;
  /** The short form shown in the report's "expected" column. */
  expected: string;
  /** What the reference says, in one sentence. */
  summary: string;
  /** The documents that make this row. */
  reference: string;
}

/**
 * Version of the table. Sources: the project's seed port reference (shared/seed/email-ports.txt), the IANA
 * service name registry, and the RFCs named per row. RFC 8314 §3.3 prefers implicit TLS (465/993/995);
 * the seed calls 587 with STARTTLS "recommended": both are recorded as policy choices, not as the only truth.
 */
export const referenceVersion = '2026-11';

export const referenceTable: readonly ServiceReference[] = [
  {
    service: 'smtp',
    port: 25,
    protocol: 'smtp',
    role: 'relay',
    tls: 'starttls',
    tlsRequiredForAuth: false,
    expected: 'plain + STARTTLS',
    summary: 'server-to-server relay (MTA to MTA); plaintext, STARTTLS optional but should be offered',
    reference: 'RFC 5321 §4.5.3.2; RFC 3207; RFC 8314 §3',
  },
  {
    service: 'submissions',
    port: 465,
    protocol: 'smtp',
    role: 'submission',
    tls: 'implicit',
    tlsRequiredForAuth: true,
    expected: 'implicit TLS',
    summary: 'client submission over implicit TLS (re-standardised by RFC 8314, preferred there)',
    reference: 'RFC 8314 §3.3, §7.3',
  },
  {
    service: 'submission',
    port: 587,
    protocol: 'smtp',
    role: 'submission',
    tls: 'starttls',
    tlsRequiredForAuth: true,
    expected: 'STARTTLS required',
    summary: 'client submission (recommended by RFC 6409 and common practice); STARTTLS required before AUTH',
    reference: 'RFC 6409 §4; RFC 3207 §4; RFC 8314 §3.3',
  },
  {
    service: 'imap',
    port: 143,
    protocol: 'imap',
    role: 'mailbox-access',
    tls: 'starttls',
    tlsRequiredForAuth: true,
    expected: 'plain + STARTTLS',
    summary: 'mailbox access; plaintext, STARTTLS should be offered, no login before TLS',
    reference: 'RFC 9051 §6.2.1, §11.1; RFC 2595 §3.1',
  },
  {
    service: 'imaps',
    port: 993,
    protocol: 'imap',
    role: 'mailbox-access',
    tls: 'implicit',
    tlsRequiredForAuth: true,
    expected: 'implicit TLS',
    summary: 'mailbox access over implicit TLS',
    reference: 'RFC 8314 §3.2, §7.2',
  },
  {
    service: 'pop3',
    port: 110,
    protocol: 'pop3',
    role: 'download',
    tls: 'starttls',
    tlsRequiredForAuth: true,
    expected: 'plain + STLS',
    summary: 'download and delete; plaintext, STLS should be offered, no login before TLS',
    reference: 'RFC 1939; RFC 2595 §4; RFC 2449',
  },
  {
    service: 'pop3s',
    port: 995,
    protocol: 'pop3',
    role: 'download',
    tls: 'implicit',
    tlsRequiredForAuth: true,
    expected: 'implicit TLS',
    summary: 'download and delete over implicit TLS',
    reference: 'RFC 8314 §3.2, §7.2',
  },
];

export const services: readonly Service[] = referenceTable.map((row) => row.service);

export function referenceFor(service: Service): ServiceReference {
  const row = referenceTable.find((entry) => entry.service === service);
  if (!row) throw new Error(`no reference row for ${service}`);
  return row;
}

export function isService(name: string): name is Service {
  return (services as readonly string[]).includes(name);
}

/** A port to probe and the service it is judged as. */
export interface PortSpec {
  port: number;
  service: Service;
}

/** The seven ports of the table, each judged as its own service: what a probe of a host covers by default. */
export const defaultPorts: PortSpec[] = referenceTable.map((row) => ({
  port: row.port,
  service: row.service,
}));
