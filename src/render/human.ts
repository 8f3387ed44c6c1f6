/** The human report of one host: the port table, certificates, notes, findings, expectations, transcripts. */
import type { PortVerdict } from '../rules/evaluate.js';
import { upgradeCommand } from '../rules/facts.js';
import type { Finding, Severity } from '../rules/finding.js';
import type { CheckedHost } from '../rules/outcome.js';
import { certificateLines } from './certificates.js';
import { clip, sanitize } from './sanitize.js';
import { columns, type Style, style } from './style.js';

export interface HumanOptions {
  color: boolean;
  /** Adds each port's transcript. */
  verbose?: boolean;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

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
      return port.filteredEarly
        ? `no answer to ${port.filteredEarly.synsSentAtMs.length + 1} SYNs in ${seconds(port.filteredEarly.decidedAfterMs)} (filtered)`
        : `timed out after ${seconds(port.timings.connect ?? 0)} (filtered)`;
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

export function renderHuman(verdict: CheckedHost, options: HumanOptions): string {
  const s = style(options.color);
  const showAddress = verdict.addresses.length > 1;
  const out: string[] = [];
  out.push(
    `${s.bold(sanitize(verdict.host))}  →  ${verdict.addresses.map((a) => a.address).join(', ')}          ${plural(
      new Set(verdict.ports.map((p) => p.port)).size,
      'port',
    )} in ${seconds(verdict.durationMs)}`,
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
