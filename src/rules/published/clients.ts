/**
 * What Thunderbird, Outlook and SRV-reading clients would pick from what a domain publishes, whether that works
 * and is safe, and what each client would show when it does not (its own words where they are known).
 */
import type { PublishedSetting, PublishedSource } from '../../types/index.js';
import type { PortVerdict } from '../evaluate.js';
import { modeOf, oldTls, type SettingCheck } from './observed.js';
import { usable } from './rule.js';

/** What one client would be told and do. */
export interface ClientPick {
  client: 'Thunderbird' | 'Outlook' | 'SRV clients (RFC 6186)';
  /** The source it would use, or none (then it guesses or asks the user). */
  source?: string;
  incoming?: PickVerdict;
  outgoing?: PickVerdict;
  /** Where the pick comes from and anything the client does first (asks the user, warns about HTTP). */
  notes: string[];
}

export interface PickVerdict {
  setting: PublishedSetting;
  works: boolean;
  safe: boolean;
  /** When it fails: what the client shows (its own words where they are known), and why. */
  fails?: string;
}

/**
 * What Thunderbird shows for a setting that fails: its own words where they are known (the NSS errors, which
 * both its IMAP/POP3 and SMTP code show, and the IMAP connection messages), else what happens, in plain words.
 */
function thunderbirdSays(check: SettingCheck, ports: PortVerdict[]): string | undefined {
  const modes = ports.map(modeOf);
  if (check.works && oldTls(check.tlsVersion))
    return `"Peer using unsupported version of security protocol." — the server offers only ${check.tlsVersion}; Thunderbird 78 and later require TLS 1.2`;
  if (check.works) return undefined;
  if (check.security === 'TLS' && modes.some((m) => m === 'plain' || m === 'STARTTLS' || m === 'plaintext'))
    return '"SSL received a record that exceeded the maximum permissible length." — TLS was tried on a plaintext port';
  const imap = check.protocol === 'IMAP';
  if (check.security === 'STARTTLS' && modes.includes('TLS'))
    return `${imap ? `"Connection to server ${check.host} timed out." — ` : ''}it waits for a plaintext greeting on an implicit-TLS port`;
  if (check.security === 'STARTTLS' && modes.includes('plain'))
    return 'the server does not offer STARTTLS, so a client that requires it stops';
  const status = ports.find((p) => modeOf(p) === 'down')?.status;
  if (imap && status === 'refused')
    return `"Could not connect to mail server ${check.host}; the connection was refused."`;
  if (imap && (status === 'filtered' || status === 'silent' || status === 'stalled'))
    return `"Connection to server ${check.host} timed out."`;
  return `the connection fails: ${check.observed}`;
}

export function otherSays(check: SettingCheck, ports: PortVerdict[]): string | undefined {
  if (check.works) return undefined;
  const modes = ports.map(modeOf);
  if (check.security === 'STARTTLS' && modes.includes('TLS'))
    return 'it waits for a plaintext greeting on an implicit-TLS port, then times out';
  if (check.security === 'TLS' && modes.some((m) => m === 'plain' || m === 'STARTTLS' || m === 'plaintext'))
    return 'its TLS handshake meets a plaintext greeting and fails';
  return `the connection fails: ${check.observed}`;
}

export function predict(
  sources: PublishedSource[],
  checks: SettingCheck[],
  observed: Map<SettingCheck, PortVerdict[]>,
): ClientPick[] {
  const verdictOf = (
    source: PublishedSource,
    setting: PublishedSetting | undefined,
    client: ClientPick['client'],
  ) => {
    if (!setting) return undefined;
    const found = checks.find(
      (c) =>
        c.source === source.location &&
        c.host === setting.host &&
        c.port === setting.port &&
        c.security === setting.security,
    );
    if (!found) return undefined;
    const ports = observed.get(found) ?? [];
    const fails = client === 'Thunderbird' ? thunderbirdSays(found, ports) : otherSays(found, ports);
    const works = found.works && !(client === 'Thunderbird' && oldTls(found.tlsVersion));
    return {
      setting,
      works,
      safe: works && found.safe,
      ...(fails ? { fails } : {}),
    } satisfies PickVerdict;
  };
  const pick = (
    client: ClientPick['client'],
    source: PublishedSource | undefined,
    notes: string[],
  ): ClientPick => {
    if (!source) return { client, notes };
    const incoming = verdictOf(
      source,
      source.settings.find((s) => s.direction === 'incoming'),
      client,
    );
    const outgoing = verdictOf(
      source,
      source.settings.find((s) => s.direction === 'outgoing'),
      client,
    );
    return {
      client,
      source: source.location,
      ...(incoming ? { incoming } : {}),
      ...(outgoing ? { outgoing } : {}),
      notes,
    };
  };
  const thunderbirdOrder = sources.filter((s) => s.kind === 'autoconfig' || s.kind === 'ispdb');
  const tb = thunderbirdOrder.find(usable);
  const tbNotes = tb
    ? [
        `${tb.kind === 'ispdb' ? 'the ISPDB' : 'autoconfig'}: the first source in Thunderbird's order that gave settings`,
        ...(tb.viaMx
          ? [`found through the MX's domain ${tb.domain}: Thunderbird asks the user to confirm it`]
          : []),
        ...((tb.fetch?.redirects?.at(-1)?.to ?? tb.location).startsWith('http:')
          ? ['fetched over plain HTTP: nothing authenticates it']
          : []),
      ]
    : [
        'no autoconfig or ISPDB entry: Thunderbird tries Exchange Autodiscover, then guesses names and ports (see the settings above)',
      ];
  const ad = sources.find((s) => s.kind === 'autodiscover' && usable(s));
  const srv = sources.find((s) => s.kind === 'srv' && usable(s));
  return [
    pick('Thunderbird', tb, tbNotes),
    pick(
      'Outlook',
      ad,
      ad
        ? ['Autodiscover POX: the first IMAP/POP3 and SMTP <Protocol> of the response']
        : ['no usable Autodiscover response: Outlook asks the user for the server settings'],
    ),
    pick(
      'SRV clients (RFC 6186)',
      srv,
      srv
        ? ['SRV records, implicit TLS first (RFC 8314 §5.1)']
        : [
            'no SRV records for mail clients: SRV-reading clients (Evolution, aerc) fall back to asking or guessing',
          ],
    ),
  ];
}
