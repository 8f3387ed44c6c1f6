/**
 * What a mail client is told, judged against what the servers do: every published setting (autoconfig,
 * ISPDB, Autodiscover, SRV) checked against the probe of that host and port on every address, findings for
 * each kind of drift (with evidence and the reference that makes it one), and what Thunderbird, Outlook and
 * SRV-reading clients would pick, whether that works and is safe, and what the client would show when not.
 * Pure: discovery and host verdicts in, judgement out.
 */
import type { Discovery, PublishedSecurity, PublishedSetting, PublishedSource } from '../types/index.js';
import type { HostVerdict, PortVerdict } from './evaluate.js';
import type { Severity } from './finding.js';

/** A judgement about what a domain publishes (not about one port), with its evidence and reference. */
export interface PublishedFinding {
  /** Stable kebab-case id; the README lists them all. */
  id: string;
  severity: Severity;
  /** One line: what is wrong. */
  title: string;
  /** What it does to a client and what to do about it. */
  detail: string;
  /** Observed facts that make the finding. */
  evidence: string[];
  /** The RFC section or specification that makes it a finding. */
  reference: string;
  /** The sources (URLs, SRV names) it concerns. */
  sources: string[];
  /** The published host and port it concerns, when it concerns one. */
  host?: string;
  port?: number;
}

/** One published setting, checked live. */
export interface SettingCheck extends PublishedSetting {
  /** Where it was published. */
  source: string;
  /** A client using it exactly as published gets a working connection on every address. */
  works: boolean;
  /** Works, is encrypted as published, and no finding of medium or above concerns the port. */
  safe: boolean;
  /** What the port was seen to do, in a few words. */
  observed: string;
  /** The negotiated TLS version, when TLS was set up. */
  tlsVersion?: string;
}

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

export interface PublishedJudgement {
  findings: PublishedFinding[];
  checks: SettingCheck[];
  clients: ClientPick[];
}

const refs = {
  autoconfig: 'draft-ietf-mailmaint-autoconfig (config-v1.1.xml, socketType); RFC 8314 §3',
  ispdb: 'draft-ietf-mailmaint-autoconfig (ISPDB); RFC 8314 §3',
  autodiscover:
    'Outlook Autodiscover POX (<Encryption> overrides <SSL>; TLS there means STARTTLS); RFC 8314 §3',
  srv: 'RFC 6186 §3; RFC 8314 §5.1',
} as const;

/** How a port was seen to behave, across one address. */
type Mode = 'TLS' | 'STARTTLS' | 'plain' | 'plaintext' | 'down';

function modeOf(port: PortVerdict): Mode {
  if (port.status === 'open')
    return port.expectedTls === 'implicit' ? 'TLS' : port.starttls?.upgraded ? 'STARTTLS' : 'plain';
  if (port.status === 'wrong-tls-mode')
    return port.crossCheck?.tried === 'implicit-tls' && port.crossCheck.outcome === 'tls-handshake'
      ? 'TLS'
      : port.crossCheck?.outcome === 'mail-greeting'
        ? 'plaintext'
        : 'down';
  return 'down';
}

const modeWords: Record<Mode, string> = {
  TLS: 'implicit TLS',
  STARTTLS: 'STARTTLS',
  plain: 'plaintext without STARTTLS',
  plaintext: 'a plaintext greeting',
  down: 'no working service',
};

const securityWords: Record<PublishedSecurity, string> = {
  TLS: 'implicit TLS',
  STARTTLS: 'STARTTLS',
  plain: 'no encryption',
};

/** Does a client using `security` get through to a port behaving as `mode`? undefined: not observed. */
function fits(security: PublishedSecurity, mode: Mode): boolean | undefined {
  if (mode === 'down') return false;
  if (security === 'TLS') return mode === 'TLS';
  if (security === 'STARTTLS') return mode === 'plaintext' ? undefined : mode === 'STARTTLS';
  return mode !== 'TLS';
}

/** The published protocol answered on a port that was probed as another one (named so by another source). */
const heardAsPublished = (port: PortVerdict, setting: PublishedSetting) =>
  port.status === 'wrong-protocol' && port.detected === setting.protocol.toLowerCase();

const oldTls = (version: string | undefined) => version !== undefined && /^(SSLv|TLSv1(\.1)?$)/.test(version);

interface Observed {
  ports: PortVerdict[];
  host?: HostVerdict;
  /** Why there is nothing to look at. */
  missing?: string;
}

function observe(discovery: Discovery, hosts: HostVerdict[], setting: PublishedSetting): Observed {
  const host = hosts.find((h) => h.host === setting.host);
  if (!host) {
    if (discovery.leftOut?.includes(setting.host))
      return { ports: [], missing: 'not probed (over --max-hosts)' };
    if (discovery.deadline?.notProbed.includes(setting.host))
      return { ports: [], missing: 'not probed (--deadline)' };
    return { ports: [], missing: 'the host name did not resolve to an address' };
  }
  const ports = host.ports.filter((p) => p.port === setting.port);
  return ports.length > 0 ? { ports, host } : { ports, host, missing: 'the port was not probed' };
}

function check(seen: Observed, setting: PublishedSetting, source: string): SettingCheck {
  if (seen.missing) return { ...setting, source, works: false, safe: false, observed: seen.missing };
  // The port was probed as another protocol (another source named it so) and the published one answered:
  // what a client of the published protocol gets there was not observed, so nothing is claimed about it.
  const other = seen.ports.find((p) => heardAsPublished(p, setting));
  if (other)
    return {
      ...setting,
      source,
      works: false,
      safe: false,
      observed: `${other.address}: ${setting.protocol} answers, but the port was probed as ${other.service}; not checked as published`,
    };
  const modes = seen.ports.map(modeOf);
  const protocolOk = seen.ports.every(
    (p) => p.status !== 'open' || p.protocol.toUpperCase() === setting.protocol,
  );
  const works = protocolOk && modes.every((mode) => fits(setting.security, mode) === true);
  const safe =
    works &&
    setting.security !== 'plain' &&
    seen.ports.every((p) => p.safe === true && !oldTls(p.tls?.protocol)) &&
    // Safe as probed: the probe used the mode the reference table gives the port; published must match it.
    modes.every((mode) => mode === setting.security);
  const described = [...new Set(seen.ports.map((p, i) => describe(p, modes[i] ?? 'down')))].join('; ');
  const version = seen.ports.find((p) => p.tls)?.tls?.protocol;
  return {
    ...setting,
    source,
    works,
    safe,
    observed: described,
    ...(version ? { tlsVersion: version } : {}),
  };
}

function describe(port: PortVerdict, mode: Mode): string {
  const where = `${port.address}`;
  if (mode === 'down') return `${where}: ${port.status} (${port.statusDetail})`;
  if (port.status === 'open' && mode !== 'plain' && port.tls)
    return `${where}: ${modeWords[mode]}, ${port.protocol.toUpperCase()}, ${port.tls.protocol}`;
  return `${where}: ${modeWords[mode]}${port.status === 'open' ? `, ${port.protocol.toUpperCase()}` : ''}`;
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

function otherSays(check: SettingCheck, ports: PortVerdict[]): string | undefined {
  if (check.works) return undefined;
  const modes = ports.map(modeOf);
  if (check.security === 'STARTTLS' && modes.includes('TLS'))
    return 'it waits for a plaintext greeting on an implicit-TLS port, then times out';
  if (check.security === 'TLS' && modes.some((m) => m === 'plain' || m === 'STARTTLS' || m === 'plaintext'))
    return 'its TLS handshake meets a plaintext greeting and fails';
  return `the connection fails: ${check.observed}`;
}

const label = (source: PublishedSource) =>
  source.kind === 'srv'
    ? source.location
    : `${source.kind === 'ispdb' ? 'ISPDB' : source.kind} ${source.location}`;

const settingText = (s: PublishedSetting) =>
  `${s.protocol} ${s.host}:${s.port} ${securityWords[s.security]} (${s.as})`;

/** Every finding about what a domain publishes, with its severity (the README lists them all). */
export const publishedFindingSeverity = {
  'published-encryption-mismatch': 'high',
  'published-plaintext': 'high',
  'published-not-working': 'high',
  'published-protocol-mismatch': 'high',
  'published-cert-name': 'high',
  'published-tls-too-old': 'high',
  'published-http-only': 'high',
  'published-redirect-downgrade': 'high',
  'published-smtp-port-25': 'medium',
  'published-encryption-ambiguous': 'medium',
  'published-malformed': 'medium',
  'published-redirect-cross-domain': 'medium',
  'published-invalid-name': 'medium',
  'published-redirect-private-address': 'medium',
  'published-via-mx': 'low',
  'published-sources-disagree': 'low',
  'srv-not-offered-but-runs': 'low',
} as const satisfies Record<string, Severity>;

type NewFinding = Omit<PublishedFinding, 'sources' | 'severity' | 'id'> & {
  id: keyof typeof publishedFindingSeverity;
};

export function judgePublished(discovery: Discovery, hosts: HostVerdict[]): PublishedJudgement {
  const sources = discovery.published ?? [];
  const findings = new Map<string, PublishedFinding>();
  const add = (key: string, finding: NewFinding, source: string) => {
    const known = findings.get(key);
    if (known) {
      if (!known.sources.includes(source)) known.sources.push(source);
      return;
    }
    findings.set(key, { ...finding, severity: publishedFindingSeverity[finding.id], sources: [source] });
  };
  const checks: SettingCheck[] = [];
  // Each check's port verdicts, for the client predictions (not part of the JSON).
  const observed = new Map<SettingCheck, PortVerdict[]>();

  for (const source of sources) {
    const where = label(source);
    for (const problem of source.problems ?? []) {
      const ambiguous = /<SSL>|<Encryption>/.test(problem);
      add(
        `${ambiguous ? 'ambiguous' : 'malformed'} ${source.location} ${problem}`,
        ambiguous
          ? {
              id: 'published-encryption-ambiguous',
              title: `${where} does not say clearly how to encrypt`,
              detail: `${problem}. Clients read it differently; publish <Encryption>SSL</Encryption> for implicit TLS or <Encryption>TLS</Encryption> for STARTTLS.`,
              evidence: [problem],
              reference: refs.autodiscover,
            }
          : {
              id: 'published-malformed',
              title: `${where} cannot be used as published`,
              detail: `${problem}. A client skips what it cannot read and goes on to the next source, or to guessing.`,
              evidence: [
                problem,
                ...(source.fetch
                  ? [`${source.fetch.method} ${source.fetch.url}: ${source.fetch.detail}`]
                  : []),
              ],
              reference: source.kind === 'autodiscover' ? refs.autodiscover : refs.autoconfig,
            },
        source.location,
      );
    }
    // A public web server that sends the client into the network it runs in (loopback, private, link-local): not
    // followed, whatever it would have delivered.
    for (const hop of source.fetch?.redirects ?? [])
      if (hop.privateAddress)
        add(
          `private ${hop.from} ${hop.to}`,
          {
            id: 'published-redirect-private-address',
            title: `${where} redirects from a public address to a private one`,
            detail: `A redirect to ${hop.to}, which resolves to ${hop.privateAddress}, was not followed: a client (or a proxy fetching for it) that follows it asks whatever answers at that address in its own network, such as a cloud metadata service or an admin page.`,
            evidence: [
              `HTTP ${hop.status}: ${hop.from} → ${hop.to}`,
              `${new URL(hop.to).hostname} → ${hop.privateAddress}`,
            ],
            reference: 'RFC 9110 §15.4 (redirection); RFC 6890 (special-purpose addresses)',
          },
          source.location,
        );
    // A redirect matters when it delivered a configuration (or what was meant as one): one that ends at a web
    // site's page or a "not found" sent the client nowhere.
    const delivered = source.settings.length > 0 || (source.problems?.length ?? 0) > 0;
    for (const hop of delivered ? (source.fetch?.redirects ?? []) : []) {
      if (hop.crossDomain)
        add(
          `cross ${hop.from} ${hop.to}`,
          {
            id: 'published-redirect-cross-domain',
            title: `${where} redirects to another domain`,
            detail: `A redirect to ${hop.to} leaves the domain's registrable domain: a careful client asks the user before trusting settings from there, and a careless one hands the account to whoever holds that domain.`,
            evidence: [`HTTP ${hop.status}: ${hop.from} → ${hop.to}`],
            reference: 'draft-ietf-mailmaint-autoconfig (security considerations)',
          },
          source.location,
        );
      if (hop.downgrade)
        add(
          `downgrade ${hop.from}`,
          {
            id: 'published-redirect-downgrade',
            title: `${where} redirects from https to http`,
            detail:
              'The settings then travel unauthenticated: anyone on the path can change the server a client is sent to.',
            evidence: [`HTTP ${hop.status}: ${hop.from} → ${hop.to}`],
            reference: 'draft-ietf-mailmaint-autoconfig (security considerations)',
          },
          source.location,
        );
    }
    for (const setting of source.settings) {
      const seen = observe(discovery, hosts, setting);
      const result = check(seen, setting, source.location);
      const ports = seen.ports;
      checks.push(result);
      observed.set(result, ports);
      const modes = ports.map(modeOf);
      const key = `${setting.protocol} ${setting.host} ${setting.port} ${setting.security}`;
      const evidence = [`${where}: ${settingText(setting)}`, `observed: ${result.observed}`];
      const reference = refs[source.kind];
      if (setting.security === 'plain')
        add(
          `plain ${key}`,
          {
            id: 'published-plaintext',
            title: `${setting.protocol} ${setting.host}:${setting.port} is published without encryption`,
            detail:
              'A client following it sends the password and all mail in cleartext. Publish implicit TLS (or STARTTLS) instead.',
            evidence,
            reference: `${reference}; RFC 8314 §5`,
            host: setting.host,
            port: setting.port,
          },
          source.location,
        );
      if (setting.protocol === 'SMTP' && setting.port === 25)
        add(
          `port25 ${key}`,
          {
            id: 'published-smtp-port-25',
            title: `mail submission is published on port 25 (${setting.host})`,
            detail:
              'Port 25 is for relay between servers; many residential and mobile networks block it outbound. Publish submission on 465 (implicit TLS) or 587 (STARTTLS).',
            evidence,
            reference: 'RFC 8314 §3.3; RFC 6409 §3.1',
            host: setting.host,
            port: setting.port,
          },
          source.location,
        );
      const alive = modes.filter((m) => m !== 'down');
      // Another mail protocol answers: seen open as it (probed so for another source), or detected in its place.
      const spoken = (p: PortVerdict) =>
        p.status === 'open'
          ? p.protocol
          : p.status === 'wrong-protocol' &&
              (p.detected === 'smtp' || p.detected === 'imap' || p.detected === 'pop3')
            ? p.detected
            : undefined;
      const protocolWrong = ports.find((p) => {
        const heard = spoken(p);
        return heard !== undefined && heard.toUpperCase() !== setting.protocol;
      });
      if (protocolWrong)
        add(
          `protocol ${key}`,
          {
            id: 'published-protocol-mismatch',
            title: `${setting.host}:${setting.port} is published as ${setting.protocol} but speaks ${spoken(protocolWrong)?.toUpperCase()}`,
            detail: 'A client following it speaks the wrong protocol and fails.',
            evidence,
            reference,
            host: setting.host,
            port: setting.port,
          },
          source.location,
        );
      else if (
        alive.length > 0 &&
        alive.some((m) => fits(setting.security, m) === false) &&
        setting.security !== 'plain'
      )
        add(
          `mismatch ${key}`,
          {
            id: 'published-encryption-mismatch',
            title: `${setting.protocol} ${setting.host}:${setting.port} is published with ${securityWords[setting.security]} but the port does ${[...new Set(alive.map((m) => modeWords[m]))].join(' / ')}`,
            detail: `A client following it fails: ${otherSays(result, ports) ?? 'the modes differ'}. Publish what the port does.`,
            evidence,
            reference,
            host: setting.host,
            port: setting.port,
          },
          source.location,
        );
      const unverified = ports.some((p) => heardAsPublished(p, setting));
      if (!result.works && !unverified && !protocolWrong && (alive.length === 0 || modes.includes('down')))
        add(
          `down ${setting.host} ${setting.port}`,
          {
            id: 'published-not-working',
            title: `the published ${setting.protocol} server ${setting.host}:${setting.port} does not work${alive.length > 0 ? ` on ${modes.length - alive.length} of its ${modes.length} addresses` : ''}`,
            detail:
              alive.length > 0
                ? 'Clients that reach the addresses that do not work fail, the others do not: a failure that comes and goes. Fix or withdraw those addresses.'
                : 'Every client that follows this source fails to connect. Fix the server or publish one that works.',
            evidence,
            reference,
            host: setting.host,
            port: setting.port,
          },
          source.location,
        );
      if (result.works && oldTls(result.tlsVersion))
        add(
          `oldtls ${setting.host} ${setting.port}`,
          {
            id: 'published-tls-too-old',
            title: `the published ${setting.protocol} server ${setting.host}:${setting.port} offers only ${result.tlsVersion}`,
            detail:
              'Thunderbird 78 and later require TLS 1.2 or later and fail with "Peer using unsupported version of security protocol"; users then often switch encryption off. Enable TLS 1.2 and 1.3 on the server.',
            evidence,
            reference: 'RFC 8996 §2-3; RFC 8314 §4.1',
            host: setting.host,
            port: setting.port,
          },
          source.location,
        );
      const misnamed = ports.filter((p) => p.findings.includes('cert-name-mismatch'));
      if (misnamed.length > 0)
        add(
          `certname ${setting.host} ${setting.port}`,
          {
            id: 'published-cert-name',
            title: `the certificate at ${setting.host}:${setting.port} is not valid for the published name ${setting.host}`,
            detail:
              'A client verifying the name (as it must) refuses the connection or asks the user to accept the certificate. Publish a name the certificate covers, or add it to the certificate.',
            evidence: [
              ...evidence,
              ...misnamed.map(
                (p) =>
                  `${p.address}: certificate names ${(p.tls?.certificate?.subjectAltNames ?? []).join(', ') || '(none)'}`,
              ),
            ],
            reference: 'RFC 9525 §6; RFC 8314 §4.1',
            host: setting.host,
            port: setting.port,
          },
          source.location,
        );
    }
  }

  addSourceFindings(discovery, sources, hosts, add);
  const clients = predict(sources, checks, observed);
  const order = ['critical', 'high', 'medium', 'low', 'info'];
  return {
    findings: [...findings.values()].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity)),
    checks,
    clients,
  };
}

type Add = (key: string, finding: NewFinding, source: string) => void;

function addSourceFindings(
  discovery: Discovery,
  sources: PublishedSource[],
  hosts: HostVerdict[],
  add: Add,
): void {
  const own = sources.filter((s) => (s.kind === 'autoconfig' || s.kind === 'ispdb') && !s.viaMx);
  const usable = (s: PublishedSource) => s.settings.length > 0;
  const firstOwn = own.find(usable);
  const finalUrl = (s: PublishedSource) => s.fetch?.redirects?.at(-1)?.to ?? s.location;
  if (
    firstOwn &&
    finalUrl(firstOwn).startsWith('http:') &&
    !own.some((s) => usable(s) && finalUrl(s).startsWith('https:'))
  )
    add(
      'http-only',
      {
        id: 'published-http-only',
        title: `${discovery.domain}'s autoconfig file is served only over plain HTTP`,
        detail:
          'Nothing authenticates it: anyone on the path can send the client to another server. Serve it over HTTPS (https://autoconfig.DOMAIN/mail/config-v1.1.xml).',
        evidence: own.map(
          (s) => `${s.location}: ${s.fetch?.detail ?? 'not fetched'}${usable(s) ? ' (settings)' : ''}`,
        ),
        reference: 'draft-ietf-mailmaint-autoconfig (security considerations)',
      },
      firstOwn.location,
    );
  const viaMx = sources.find((s) => s.viaMx && usable(s));
  if (!firstOwn && viaMx)
    add(
      'via-mx',
      {
        id: 'published-via-mx',
        title: `the only autoconfig for ${discovery.domain} comes through its MX's domain ${viaMx.domain}`,
        detail:
          'A client asks the user whether to trust a configuration from another domain; many users cannot answer. Publish autoconfig under the mail domain itself.',
        evidence: [
          `${viaMx.location}: ${viaMx.settings.length} settings`,
          ...own.map((s) => `${s.location}: ${s.fetch?.detail ?? ''}`),
        ],
        reference: 'draft-ietf-mailmaint-autoconfig (MX-based discovery)',
      },
      viaMx.location,
    );
  addRecordFindings(discovery, hosts, add);
  // Sources that disagree: each source's first setting per protocol.
  for (const protocol of ['IMAP', 'POP3', 'SMTP'] as const) {
    const firsts = sources
      .filter(usable)
      .map((s) => ({ s, setting: s.settings.find((x) => x.protocol === protocol) }))
      .filter((x): x is { s: PublishedSource; setting: PublishedSetting } => x.setting !== undefined);
    // Two names of one server (the same addresses) are one place: clients end up at the same server.
    const place = (host: string) => {
      const addresses = hosts.find((h) => h.host === host)?.addresses.map((a) => a.address);
      return addresses && addresses.length > 0 ? [...addresses].sort().join(' ') : host;
    };
    const distinct = new Set(
      firsts.map((x) => `${place(x.setting.host)}:${x.setting.port} ${x.setting.security}`),
    );
    if (distinct.size > 1)
      add(
        `disagree ${protocol}`,
        {
          id: 'published-sources-disagree',
          title: `the published sources disagree on the ${protocol} server`,
          detail:
            'Different clients are sent to different places; when one of them is wrong, only some users fail, which is hard to diagnose. Publish the same settings everywhere.',
          evidence: firsts.map((x) => `${label(x.s)}: ${settingText(x.setting)}`),
          reference: 'draft-ietf-mailmaint-autoconfig; RFC 6186 §3',
        },
        firsts.map((x) => x.s.location).join(', '),
      );
  }
}

/**
 * Findings about the DNS records themselves, which need no web source (they are made with --no-web too): an MX or
 * SRV target no host can have, and an SRV "." (not offered) for a service that runs.
 */
function addRecordFindings(discovery: Discovery, hosts: HostVerdict[], add: Add): void {
  for (const record of discovery.records) {
    if (record.note === 'invalid-name') {
      const where = `${record.kind} ${record.query}`;
      add(
        `invalid-name ${where} ${record.answer}`,
        {
          id: 'published-invalid-name',
          title: `${where} names a host that cannot exist`,
          detail: `${record.detail ?? 'the target is not a host name'}. No client or server can reach it: it is skipped (not probed), and the rest of the run goes on. Publish the host's A-label form (RFC 5890).`,
          evidence: [`${where}: ${record.answer}`],
          reference:
            record.kind === 'MX'
              ? 'RFC 5321 §5.1; RFC 5890 §2.3.2.1; RFC 5891 §5.4'
              : 'RFC 2782; RFC 6186 §3; RFC 5890 §2.3.2.1; RFC 5891 §5.4',
        },
        where,
      );
    }
    // SRV "." (not offered) for a service that runs.
    if (record.kind !== 'SRV' || record.note !== 'not-offered') continue;
    const service = record.query.split('.')[0]?.slice(1) ?? '';
    const running = hosts.flatMap((h) =>
      h.ports
        .filter((p) => p.service === service && p.works)
        .map((p) => `${h.host}:${p.port} (${p.address})${p.safe ? '' : ', not safe'}`),
    );
    if (running.length > 0)
      add(
        `srv-dot ${record.query}`,
        {
          id: 'srv-not-offered-but-runs',
          title: `SRV ${record.query} says ${service} is not offered, but it runs`,
          detail: `Clients that read SRV records will not use a service that works${['imaps', 'pop3s', 'submissions'].includes(service) ? ', and take the STARTTLS port where implicit TLS is preferred (RFC 8314 §5.1)' : ''}. Publish its SRV record (mailprobe publish prints it), or stop the service.`,
          evidence: [`SRV ${record.query}: ${record.answer}`, `works: ${running.join(', ')}`],
          reference: 'RFC 6186 §3, §3.4; RFC 2782; RFC 8314 §5.1',
        },
        `SRV ${record.query}`,
      );
  }
}

/**
 * What the DNS records alone show, when no published source was looked for (--no-web): only the record findings;
 * no setting is checked and no client's pick is predicted (their sources were not read).
 */
export function judgeRecords(discovery: Discovery, hosts: HostVerdict[]): PublishedJudgement | undefined {
  const findings = new Map<string, PublishedFinding>();
  addRecordFindings(discovery, hosts, (key, finding, source) => {
    const known = findings.get(key);
    if (known) {
      if (!known.sources.includes(source)) known.sources.push(source);
      return;
    }
    findings.set(key, { ...finding, severity: publishedFindingSeverity[finding.id], sources: [source] });
  });
  if (findings.size === 0) return undefined;
  const order = ['critical', 'high', 'medium', 'low', 'info'];
  return {
    findings: [...findings.values()].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity)),
    checks: [],
    clients: [],
  };
}

function predict(
  sources: PublishedSource[],
  checks: SettingCheck[],
  observed: Map<SettingCheck, PortVerdict[]>,
): ClientPick[] {
  const usable = (s: PublishedSource) => s.settings.length > 0;
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
