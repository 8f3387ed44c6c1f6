import type { ChainCertificate } from '../net/chain.js';
import { referenceTable, referenceVersion } from '../reference/table.js';
import type { PortVerdict } from '../rules/evaluate.js';
import { upgradeCommand } from '../rules/facts.js';
import type { Finding, Severity } from '../rules/finding.js';
import type { CheckedHost } from '../rules/outcome.js';
import type { ClientSetting, ClientSettings } from '../rules/settings.js';
import type { Discovery } from '../types.js';
import { clip, sanitize } from './sanitize.js';
import { columns, type Style, style } from './style.js';

export interface HumanOptions {
  color: boolean;
  /** Adds each port's transcript. */
  verbose?: boolean;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function tlsVersion(protocol: string): string {
  return protocol.replace(/^TLSv/, 'TLS ');
}

function certSummary(port: PortVerdict): string {
  const tls = port.tls;
  if (!tls?.certificate) return 'no certificate';
  const left = port.certificateDaysLeft ?? 0;
  if (left < 0) return `cert expired ${tls.certificate.validTo.slice(0, 10)}`;
  const problems = [
    !tls.trusted ? 'untrusted' : '',
    !tls.nameMatches ? `not for ${tls.checkedName}` : '',
  ].filter(Boolean);
  if (problems.length > 0) return `cert ${problems.join(', ')}`;
  if (tls.ocsp?.certStatus === 'revoked') return 'cert revoked';
  return left < 365 ? `cert ok, ${left} days left` : 'cert ok';
}

/** A server's greeting, shortened: the text after the host name is usually the software. */
function greetingSummary(port: PortVerdict): string {
  // IMAP greetings often open with a [CAPABILITY ...] response code: noise in a summary.
  // Quoted: the server's words, never to be read as mailprobe's own (an "[ALERT]" can say anything).
  const first = (port.greeting?.lines[0] ?? '').replace(/^\[[^\]]*\]\s*/, '');
  return `“${clip(sanitize(first.trim()), 28)}”`;
}

/** The "observed" cell: what the port did, in a few words. */
export function observed(port: PortVerdict): string {
  switch (port.status) {
    case 'open': {
      const parts: string[] = [];
      if (port.expectedTls === 'implicit' && port.tls)
        parts.push(`${tlsVersion(port.tls.protocol)} · ${certSummary(port)}`);
      if (port.greeting) parts.push(greetingSummary(port));
      if (port.greeting?.kind === 'preauth') parts.push('PREAUTH');
      const st = port.starttls;
      const word = upgradeCommand(port.protocol);
      if (st && port.expectedTls === 'starttls') {
        if (st.upgraded && port.tls)
          parts.push(`${word} → ${tlsVersion(port.tls.protocol)} · ${certSummary(port)}`);
        else if (st.attempted) parts.push(`${word} refused`);
        else if (!st.advertised) parts.push(`no ${word}`);
      }
      const before = port.capabilities;
      if (before?.ok && port.expectedTls === 'starttls') {
        const after = port.capabilitiesAfterTls;
        const offersAuth = (caps: typeof before) => caps.authMechanisms.length > 0 || caps.plaintextLogin;
        if (port.passwordBeforeTls) parts.push('password before TLS');
        else if (after && offersAuth(after)) parts.push('auth only after TLS');
      }
      return parts.join(' · ');
    }
    case 'refused':
      return 'refused (nothing listening)';
    case 'filtered':
      return `timed out after ${seconds(port.timings.connect ?? 0)} (filtered)`;
    case 'silent':
      return `connected, silent for ${seconds(port.timings.greeting ?? 0)}`;
    case 'rejected':
    case 'rate-limited':
      return `${port.status}: ${clip(sanitize(port.statusDetail), 48)}`;
    case 'wrong-protocol':
      return `not ${port.protocol.toUpperCase()}: ${port.detected ?? 'unknown'} answered`;
    case 'wrong-tls-mode':
      return port.crossCheck?.tried === 'plaintext' ? 'plaintext, not TLS' : 'TLS, not plaintext';
    default:
      return `${port.status}${port.failedPhase ? ` in ${port.failedPhase}` : ''}: ${clip(sanitize(port.statusDetail), 48)}`;
  }
}

function mark(value: boolean | null, s: Style): string {
  if (value === null) return s.dim('–');
  return value ? s.green('✓') : s.red('✗');
}

function severityLabel(severity: Severity, s: Style): string {
  const text = severity.padEnd(8);
  if (severity === 'critical' || severity === 'high') return s.red(text);
  if (severity === 'medium') return s.yellow(text);
  return s.dim(text);
}

function findingLines(finding: Finding, showAddress: boolean, s: Style): string[] {
  const where = showAddress ? `${finding.port} ${finding.address}` : String(finding.port);
  return [
    `${severityLabel(finding.severity, s)} ${where.padEnd(showAddress ? 22 : 5)} ${s.bold(finding.id)}  ${sanitize(finding.title)}`,
    `         ${sanitize(finding.detail)}`,
    ...finding.evidence.map((line) => s.dim(`           ${clip(sanitize(line), 160)}`)),
    s.dim(`           ref: ${finding.reference}`),
  ];
}

function keyLabel(cert: ChainCertificate): string {
  return `${cert.keyType.toUpperCase()} ${cert.keyBits}${cert.curve ? ` ${cert.curve}` : ''}`;
}

/** One line per distinct leaf certificate (with the ports that sent it); with verbose, each chain as sent. */
function certificateLines(verdict: CheckedHost, verbose: boolean, s: Style): string[] {
  const seen = new Map<string, { port: PortVerdict; ports: string[] }>();
  for (const port of verdict.ports) {
    const sha = port.tls?.certificate?.sha256;
    if (!sha) continue;
    const entry = seen.get(sha) ?? { port, ports: [] };
    if (!entry.ports.includes(String(port.port))) entry.ports.push(String(port.port));
    seen.set(sha, entry);
  }
  const out: string[] = [];
  for (const { port, ports } of seen.values()) {
    const tls = port.tls;
    const cert = tls?.certificate;
    if (!tls || !cert) continue;
    const dns = cert.subjectAltNames.filter((name) => name.startsWith('DNS:')).map((name) => name.slice(4));
    const names =
      dns.length > 0
        ? `${dns.slice(0, 2).join(', ')}${dns.length > 2 ? ` (+${dns.length - 2})` : ''}`
        : cert.subject;
    const leaf = tls.chain?.[0];
    const left = port.certificateDaysLeft ?? 0;
    const verdictWord = tls.trusted ? s.green('trusted') : s.red('not trusted');
    out.push(
      ` ${sanitize(names)} · issued by ${sanitize(cert.issuer)} · ${left < 0 ? s.red(`expired ${-left} days ago`) : `${left} days left`}${leaf ? ` · ${keyLabel(leaf)}` : ''} · ${verdictWord}${tls.ocsp?.certStatus ? ` · OCSP ${tls.ocsp.certStatus} (stapled)` : ''} · port${ports.length > 1 ? 's' : ''} ${ports.join(', ')}`,
    );
    if (!verbose) continue;
    for (const entry of tls.chain ?? []) {
      const role = `#${entry.index} ${entry.role}`.padEnd(16);
      const problems = entry.problems.length > 0 ? s.red(` · ${entry.problems.join(', ')}`) : '';
      out.push(
        s.dim(`   ${role}`) +
          `${sanitize(entry.subject)} ← ${sanitize(entry.issuer)} · ${entry.validFrom.slice(0, 10)}..${entry.validTo.slice(0, 10)} · ${keyLabel(entry)} · ${entry.signatureAlgorithm}${entry.ca ? ' · CA' : ''}${problems}`,
      );
    }
  }
  return out;
}

export function renderHuman(verdict: CheckedHost, options: HumanOptions): string {
  const s = style(options.color);
  const showAddress = verdict.addresses.length > 1;
  const out: string[] = [];
  out.push(
    `${s.bold(sanitize(verdict.host))}  →  ${verdict.addresses.map((a) => a.address).join(', ')}          ${
      new Set(verdict.ports.map((p) => p.port)).size
    } ports in ${seconds(verdict.durationMs)}`,
    '',
  );
  const header = [
    'port',
    ...(showAddress ? ['address'] : []),
    'service',
    'expected',
    'observed',
    'works',
    'safe',
  ];
  const rows = verdict.ports.map((port) => [
    String(port.port),
    ...(showAddress ? [port.address] : []),
    port.service,
    port.expected,
    clip(observed(port), 90),
    mark(port.works, s),
    mark(port.safe, s),
  ]);
  for (const line of columns([header.map((h) => s.bold(h)), ...rows])) out.push(` ${line}`);
  out.push('');
  const certificates = certificateLines(verdict, options.verbose === true, s);
  if (certificates.length > 0) out.push(s.bold('certificates'), ...certificates, '');
  if (verdict.notes?.length) out.push(...verdict.notes.map((note) => s.dim(`note: ${sanitize(note)}`)), '');
  if (verdict.findings.length === 0) out.push('no findings');
  else {
    out.push(s.bold('findings'));
    for (const finding of verdict.findings)
      out.push(...findingLines(finding, showAddress, s).map((l) => ` ${l}`));
  }
  if (verdict.expectations?.length) {
    const failed = verdict.expectations.filter((e) => !e.passed);
    out.push(
      '',
      s.bold(
        `expectations: ${verdict.expectations.length - failed.length} of ${verdict.expectations.length} met`,
      ),
    );
    for (const e of verdict.expectations) {
      const where = `${e.port}${e.address && showAddress ? ` ${e.address}` : ''}`;
      out.push(
        ` ${e.passed ? s.green('✓') : s.red('✗')} ${where.padEnd(showAddress ? 22 : 5)} ${e.expectation}  ${s.dim(`observed: ${clip(sanitize(e.observed), 80)}`)}`,
      );
    }
  }
  out.push('', `use: ${verdict.recommendation.text}`);
  if (options.verbose) {
    for (const port of verdict.ports) {
      out.push('', s.bold(`transcript ${port.port} ${port.address}`));
      if (port.transcriptOmitted)
        out.push(
          s.dim(
            `  (capped: ${port.transcriptOmitted.entries} entries and ${port.transcriptOmitted.chars} characters left out; see transcriptEntries, transcriptChars)`,
          ),
        );
      for (const entry of port.transcript) {
        // Client lines and notes can carry server text too (an error message): everything is sanitised.
        const text = sanitize(entry.text);
        const flags = [
          entry.tls ? 'tls' : '',
          entry.truncated ? 'truncated' : '',
          entry.bareLf ? 'bare-LF' : '',
          entry.unsolicited ? 'unsolicited' : '',
        ].filter(Boolean);
        out.push(
          `  ${entry.at.toFixed(1).padStart(8)} ms ${entry.dir} ${text}${flags.length ? s.dim(`  [${flags.join(',')}]`) : ''}`,
        );
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/** The reference table, as `mailprobe ports` prints it. */
export function renderReference(options: { color: boolean }): string {
  const s = style(options.color);
  const rows = referenceTable.map((row) => [
    String(row.port),
    row.service,
    row.protocol.toUpperCase(),
    row.role,
    row.expected,
    row.reference,
  ]);
  const lines = columns([
    ['port', 'service', 'protocol', 'role', 'TLS as it should be', 'reference'].map((h) => s.bold(h)),
    ...rows,
  ]);
  return `${lines.map((line) => ` ${line}`).join('\n')}\n\nreference table ${referenceVersion}; RFC 8314 §3.3 prefers implicit TLS (465/993/995), the seed recommends 587 with STARTTLS: both are policy choices.\n`;
}

/** The discovery part of a report: what DNS said, then (after the host reports) the client settings. */
export function renderDiscoveryHead(discovery: Discovery, options: { color: boolean }): string {
  const s = style(options.color);
  const rows = discovery.records.map((record) => [
    record.kind,
    sanitize(record.query),
    record.answer ? sanitize(record.answer) : '–',
    record.detail ? sanitize(record.detail) : '',
  ]);
  const title = discovery.email
    ? `${sanitize(discovery.email)} (domain ${sanitize(discovery.domain)})`
    : sanitize(discovery.domain);
  const hosts = discovery.candidates.map(
    (c) => `${sanitize(c.host)} [${c.ports.map((p) => p.port).join(' ')}] ← ${c.sources.join(', ')}`,
  );
  const bounds = [
    ...(discovery.leftOut?.length
      ? [
          ` left out (over --max-hosts): ${discovery.leftOut.length} more: ${discovery.leftOut.slice(0, 10).map(sanitize).join(', ')}${discovery.leftOut.length > 10 ? ', …' : ''}`,
        ]
      : []),
    ...(discovery.deadline
      ? [
          ` the --deadline of ${discovery.deadline.ms} ms ran out: probes still running were aborted${discovery.deadline.notProbed.length > 0 ? `; never probed: ${discovery.deadline.notProbed.map(sanitize).join(', ')}` : ''}`,
        ]
      : []),
  ];
  return `${s.bold(title)}\n\n${s.bold('DNS')}\n${columns(rows)
    .map((line) => ` ${line}`)
    .join(
      '\n',
    )}\n\n${s.bold('probing')}\n${[...hosts.map((h) => ` ${h}`), ...bounds.map((b) => s.yellow(b))].join('\n')}\n\n`;
}

export function renderSettings(settings: ClientSettings, options: { color: boolean }): string {
  const s = style(options.color);
  const line = (label: string, setting: ClientSetting | undefined) =>
    setting
      ? ` ${label.padEnd(9)} ${sanitize(setting.host)}  port ${setting.port}  ${setting.protocol}  ${setting.security}  ${s.dim(`(${setting.source})`)}`
      : ` ${label.padEnd(9)} ${s.red('no server works safely')}`;
  const out = [
    s.bold('settings for a mail client'),
    line('incoming', settings.incoming),
    line('outgoing', settings.outgoing),
  ];
  if (settings.notes.length > 0)
    out.push('', s.bold('notes'), ...settings.notes.map((note) => ` - ${sanitize(note)}`));
  return `${out.join('\n')}\n`;
}
