/**
 * The human report of one host: the first lines (the verdict, what to use, what to fix first), the port table,
 * notes, the findings with their fixes, expectations, a --servername hint, and the recap line last; --verbose adds
 * each finding's settings, detail, evidence and RFC, the certificates and the transcripts.
 */
import { referenceFor } from '../reference/table.js';
import type { PortVerdict } from '../rules/evaluate.js';
import { submissionWithoutLogin, upgradeCommand } from '../rules/facts.js';
import { type Finding, type Severity, severities, severityRank } from '../rules/finding.js';
import { fixAction, greetingFamily, needsServername, type ServerFix, serverLabel } from '../rules/fixes.js';
import { type CheckedHost, type Outcome, portCounts } from '../rules/outcome.js';
import { certificateLines } from './certificates.js';
import { clip, sanitize } from './sanitize.js';
import { columns, type Style, style, transcriptFlags, width } from './style.js';
import { wrap } from './wrap.js';

export interface HumanOptions {
  color: boolean;
  /** Adds each port's transcript, every evidence line and each certificate chain. */
  verbose?: boolean;
  /** The terminal's width: the table and the text are fitted to it (none: no limit). */
  width?: number | undefined;
  /** Only the first lines: the verdict, what to use, what to fix first. */
  quiet?: boolean | undefined;
  /** The run's pass or fail, shown in the first lines. */
  outcome?: Outcome | undefined;
}

/** A duration as people read it: whole ms under a second (a 40 ms run is not "0.0 s"), else seconds to 0.1. */
const seconds = (ms: number) => (ms < 999.5 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

/** Node's `TLSv1.2` as people write it, `TLS 1.2`; its `TLSv1` is TLS 1.0. */
function tlsVersion(protocol: string): string {
  return protocol === 'TLSv1' ? 'TLS 1.0' : protocol.replace(/^TLSv/, 'TLS ');
}

function certSummary(port: PortVerdict): string {
  const tls = port.tls;
  if (!tls?.certificate) return 'no certificate';
  if (tls.certificate.unreadableDates) return 'cert dates unreadable';
  const left = port.certificateDaysLeft ?? 0;
  if (left < 0) return `cert expired ${tls.certificate.validTo?.slice(0, 10)}`;
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

/** One piece of the "observed" cell; `extra` pieces (the greeting, "auth only after TLS") go first when narrow. */
interface ObservedPart {
  text: string;
  extra?: true;
}

/** The "observed" cell: what the port did, in a few words. */
export function observed(port: PortVerdict): string {
  return observedParts(port)
    .map((part) => part.text)
    .join(' · ');
}

/** The "observed" cell in pieces; `brief` leaves out the pieces that are not about a problem. */
function observedParts(port: PortVerdict, brief = false): ObservedPart[] {
  if (port.status !== 'open') return [{ text: observedOther(port) }];
  const parts: ObservedPart[] = [];
  if (port.expectedTls === 'implicit' && port.tls)
    parts.push({ text: `${tlsVersion(port.tls.protocol)} · ${certSummary(port)}` });
  if (port.greeting) parts.push({ text: greetingSummary(port), extra: true });
  if (port.greeting?.kind === 'preauth') parts.push({ text: 'PREAUTH' });
  const st = port.starttls;
  const word = upgradeCommand(port.protocol);
  if (st && port.expectedTls === 'starttls') {
    if (st.upgraded && port.tls)
      parts.push({ text: `${word} → ${tlsVersion(port.tls.protocol)} · ${certSummary(port)}` });
    else if (st.attempted) parts.push({ text: `${word} refused` });
    else if (!st.advertised) parts.push({ text: `no ${word}` });
  }
  const before = port.capabilities;
  if (before?.ok && port.expectedTls === 'starttls') {
    const after = port.capabilitiesAfterTls;
    const offersAuth = (caps: typeof before) => caps.authMechanisms.length > 0 || caps.plaintextLogin;
    // "auth only after TLS" only when no way to log in is offered before TLS, or each was proved refused.
    const offeredBefore = offersAuth(before) || port.greeting?.apopTimestamp !== undefined;
    if (port.passwordBeforeTls) parts.push({ text: 'password before TLS' });
    else if (port.loginBeforeTls) parts.push({ text: 'login before TLS' });
    else if (offeredBefore && port.checks?.authRequired?.verdict === 'enforced')
      parts.push({ text: 'auth refused before TLS', extra: true });
    else if (!offeredBefore && after && offersAuth(after))
      parts.push({ text: 'auth only after TLS', extra: true });
  }
  if (submissionWithoutLogin(port)) parts.push({ text: 'no AUTH over TLS' });
  const problems = parts.filter((part) => !part.extra);
  return brief && problems.length > 0 ? problems : parts;
}

/** The "observed" cell of a port that is not open. */
function observedOther(port: PortVerdict): string {
  switch (port.status) {
    case 'refused':
      return 'refused (nothing listening)';
    case 'filtered':
      return port.filteredEarly
        ? `no answer to ${port.filteredEarly.synsSentAtMs.length + 1} SYNs in ${seconds(port.filteredEarly.decidedAfterMs)} (filtered)`
        : `timed out after ${seconds(port.timings.connect ?? 0)} (filtered)`;
    case 'silent':
      return `connected, silent for ${seconds(port.timings.greeting ?? 0)}`;
    case 'stalled': {
      if (port.failedPhase !== 'greeting') break;
      const late = port.lateGreeting;
      if (late)
        return `no greeting in ${seconds(port.timings.greeting ?? 0)}, then at ${seconds(late.at)}: “${clip(sanitize(late.line.trim()), 28)}”`;
      const first = port.transcript.find((entry) => entry.dir === 'S')?.text ?? '';
      // Not "paused": a greeting sent a byte at a time never pauses long, and still does not end.
      return `greeting began, unfinished after ${seconds(port.timings.greeting ?? 0)}: “${clip(sanitize(first.trim()), 28)}”`;
    }
    case 'rejected':
    case 'rate-limited':
      return `${port.status}: ${clip(sanitize(port.statusDetail), 48)}`;
    case 'wrong-protocol':
      return `not ${port.protocol.toUpperCase()}: ${port.detected ?? 'unknown'} answered`;
    case 'wrong-tls-mode':
      return port.crossCheck?.tried === 'plaintext' ? 'plaintext, not TLS' : 'TLS, not plaintext';
  }
  return `${port.status}${port.failedPhase ? ` in ${port.failedPhase}` : ''}: ${clip(sanitize(port.statusDetail), 48)}`;
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

/** One finding as it is shown: a group of the same finding on several ports and addresses. */
interface FindingGroup {
  finding: Finding;
  where: string[];
  /** Every finding of the group, one per port and address. */
  members: Finding[];
}

/** Groups the same finding (id and severity) on several ports and addresses into one entry that lists them all. */
function groupFindings(findings: Finding[], showAddress: boolean): FindingGroup[] {
  const groups = new Map<string, FindingGroup>();
  for (const finding of findings) {
    const key = `${finding.severity} ${finding.id}`;
    const where = showAddress ? `${finding.port} ${finding.address}` : String(finding.port);
    const group = groups.get(key);
    if (!group) groups.set(key, { finding, where: [where], members: [finding] });
    else {
      if (!group.where.includes(where)) group.where.push(where);
      group.members.push(finding);
    }
  }
  return [...groups.values()];
}

/** Each server's settings for one finding, grouped by file: the label ("Postfix main.cf"), the settings, notes. */
function settingGroups(fixes: ServerFix[]): { label: string; settings: string[]; notes: string[] }[] {
  const byFile = new Map<string, { label: string; settings: string[]; notes: string[] }>();
  for (const fix of fixes) {
    const label = `${serverLabel[fix.server]} ${fix.file}`;
    const entry = byFile.get(label) ?? { label, settings: [], notes: [] };
    if (!entry.settings.includes(fix.setting)) entry.settings.push(fix.setting);
    if (fix.note && !entry.notes.includes(fix.note)) entry.notes.push(fix.note);
    byFile.set(label, entry);
  }
  return [...byFile.values()];
}

/**
 * "label: setting; setting" on one line when it fits; else the label, then each setting on a line of its own,
 * never broken inside (a setting is pasted whole).
 */
function settingBlock(label: string, settings: string[], indent: string, max: number): string[] {
  const line = `${indent}${label}: ${settings.join('; ')}`;
  if (width(line) <= max) return [line];
  return [`${indent}${label}:`, ...settings.map((setting) => `${indent}  ${setting}`)];
}

/**
 * The fix under a finding: the setting of the server the greetings name (Postfix, Exim, Dovecot) when every port
 * of the group names the same one, or else what to do (each server's settings are under --verbose).
 */
function fixLines(group: FindingGroup, ports: PortVerdict[], pad: string, max: number): string[] {
  const action = fixAction(group.finding.id);
  if (!action) return [];
  const families = new Set(
    group.members.map((member) => {
      const port = ports.find((p) => p.port === member.port && p.address === member.address);
      return port ? greetingFamily(port) : undefined;
    }),
  );
  const [family] = families;
  const fixes = (group.finding.fixes ?? []).filter((fix) => fix.server === family);
  if (families.size === 1 && family && fixes.length > 0)
    return settingGroups(fixes).flatMap((entry) =>
      settingBlock(`fix: ${entry.label}`, entry.settings, pad, max),
    );
  return wrap(`${pad}fix: ${action}`, max, `${pad}     `);
}

/**
 * The opt-in login check and round trip are about what the server answered: their findings show it, and what it
 * means, without --verbose (`server: 535 5.7.8 …`, then the detail), wrapped (a word longer than a line broken
 * over lines), never cut short; --verbose does not repeat them.
 */
function answerLines(group: FindingGroup, pad: string, max: number): string[] {
  return answered(group).flatMap((line) => wrap(`${pad}${sanitize(line)}`, max, `${pad}  `));
}

/** What answerLines shows of the group's first finding: the server's answer, then the detail (what it means). */
function answered(group: FindingGroup): string[] {
  const first = group.members[0];
  if (!first || !/^(login|round-trip)-/.test(group.finding.id)) return [];
  return [...first.evidence.filter((line) => line.startsWith('server: ')), first.detail];
}

/** One finding: severity, id, where and what it means; then its fix (under --verbose: settings, detail, evidence, RFC). */
function groupLines(
  group: FindingGroup,
  ports: PortVerdict[],
  s: Style,
  max: number,
  verbose: boolean,
  showAddress: boolean,
): string[] {
  const { finding } = group;
  const pad = '         ';
  const head = `${severityLabel(finding.severity, s)} ${s.bold(finding.id)} ${s.dim(`on ${group.where.join(', ')}`)} · ${sanitize(finding.title)}`;
  const lines = [
    ...wrap(head, max, pad),
    ...fixLines(group, ports, pad, max),
    ...answerLines(group, pad, max),
  ];
  if (!verbose) return lines;
  const settings = settingGroups(group.members.flatMap((member) => member.fixes ?? [])).flatMap((entry) => [
    ...settingBlock(entry.label, entry.settings, `${pad}  `, max),
    ...entry.notes.flatMap((note) => wrap(`${pad}    (${note})`, max, `${pad}     `)),
  ]);
  // Each port's own detail and evidence when the group has several (the first port's alone otherwise); what the
  // answer lines above already show (a login's reply and what it means) is not shown twice.
  const several = group.members.length > 1;
  const label = (member: Finding) =>
    several ? `${member.port}${showAddress ? ` ${member.address}` : ''}: ` : '';
  const shown = answered(group);
  const details = group.members.filter(
    (member, i) =>
      group.members.findIndex((other) => other.detail === member.detail) === i &&
      !shown.includes(member.detail),
  );
  return [
    ...lines,
    ...settings,
    ...details.flatMap((member) => wrap(`${pad}${label(member)}${sanitize(member.detail)}`, max, pad)),
    // Evidence wraps, never cut short: the token a finding is about (AUTH=PLAIN) stays whole on its line.
    ...group.members.flatMap((member, i) =>
      member.evidence
        .filter((line) => i > 0 || !shown.includes(line))
        .flatMap((line) =>
          wrap(`  ${pad}${label(member)}${sanitize(line)}`, max, `    ${pad}`).map((l) => s.dim(l)),
        ),
    ),
    ...wrap(`  ${pad}ref: ${finding.reference}`, max, `  ${pad}     `).map((line) => s.dim(line)),
  ];
}

/** The counts by severity, worst first: "1 critical, 6 high". */
function severityCounts(findings: Finding[]): string {
  return [...severities]
    .reverse()
    .map((severity) => [severity, findings.filter((f) => f.severity === severity).length] as const)
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${count} ${severity}`)
    .join(', ');
}

/**
 * The last line: the run's verdict, the findings by severity, and the one to fix first (the most severe, ties in
 * the table's order): `FAILED · 1 critical, 6 high · fix first: cert-expired on 25`.
 */
function recapLine(
  verdict: CheckedHost,
  groups: FindingGroup[],
  options: HumanOptions,
  s: Style,
  max: number,
): string {
  const result = options.outcome;
  const parts: string[] = [];
  if (result)
    parts.push(
      `${result.passed ? s.green('PASSED') : s.red('FAILED')}${result.interrupted ? ' (interrupted)' : ''}`,
    );
  parts.push(verdict.findings.length === 0 ? 'no findings' : severityCounts(verdict.findings));
  if (result && result.failedExpectations > 0)
    parts.push(`${plural(result.failedExpectations, 'expectation')} not met`);
  const first = groups[0];
  if (first && severityRank(first.finding.severity) >= severityRank('medium')) {
    // One line, always: the ports are shortened, then left out, before the line would wrap.
    const tries = [
      `fix first: ${first.finding.id} on ${first.where.join(', ')}`,
      `fix first: ${first.finding.id} on ${first.where[0]}${first.where.length > 1 ? ` and ${first.where.length - 1} more` : ''}`,
      `fix first: ${first.finding.id}`,
    ].map((fix) => [...parts, fix].join(' · '));
    return tries.find((line) => width(line) <= max) ?? (tries.at(-1) as string);
  }
  return parts.join(' · ');
}

/** The findings' header, in the unit of the verdict line (one finding = one id on one port and address). */
function findingsHeader(verdict: CheckedHost, showAddress: boolean): string {
  const ports = new Set(verdict.findings.map((f) => f.port)).size;
  const addresses = new Set(verdict.findings.map((f) => f.address)).size;
  return `${plural(verdict.findings.length, 'finding')} on ${plural(ports, 'port')}${
    showAddress ? ` and ${addresses} address${addresses === 1 ? '' : 'es'}` : ''
  }`;
}

/** What to type into a mail client, from the ports that work and are safe on every address (the recommendation). */
function clientSettings(verdict: CheckedHost): string[] {
  const name = verdict.servername;
  // No port of that role probed (`--ports 587`): nothing is known of it, which "none works safely" would not say.
  const probed = (roles: string[]) =>
    verdict.ports.some((port) => roles.includes(referenceFor(port.service).role));
  // Safe submission ports that offer no login are no setting either, but "none works safely" would not say why.
  const noLogin = verdict.recommendation.noLogin ?? [];
  const describe = (
    entry: { port: number; service: string; tls: 'implicit' | 'starttls' } | undefined,
    roles: string[],
  ) => {
    if (!entry && roles.includes('submission') && noLogin.length > 0)
      return `no port offers a login (${noLogin.join(', ')}: no AUTH over TLS)`;
    if (!entry) return probed(roles) ? 'none works safely' : 'no port probed';
    const protocol = entry.service.startsWith('imap')
      ? 'IMAP'
      : entry.service.startsWith('pop3')
        ? 'POP3'
        : 'SMTP';
    const security = entry.tls === 'implicit' ? 'SSL/TLS' : 'STARTTLS';
    return `${sanitize(name)}, port ${entry.port}, ${protocol}, ${security}`;
  };
  const { reading, sending } = verdict.recommendation;
  if (reading.length === 0 && sending.length === 0) return [];
  return [
    `settings for a mail client: incoming ${describe(reading[0], ['mailbox-access', 'download'])} · outgoing ${describe(sending[0], ['submission'])}`,
  ];
}

/** The first lines: does it work from here, is it safe, what to use, did the run pass, what to fix first. */
function verdictLines(
  verdict: CheckedHost,
  groups: FindingGroup[],
  options: HumanOptions,
  s: Style,
): string[] {
  const { ports: count, working, safe } = portCounts(verdict);
  const lines = [
    `${s.bold('works from here')}: ${working} of ${plural(count, 'port')} · ${s.bold('safe')}: ${safe} of ${count}${
      options.outcome
        ? ` · ${options.outcome.passed ? s.green('PASSED') : s.red('FAILED')}${options.outcome.interrupted ? ' (interrupted)' : ''}${
            options.outcome.failingFindings > 0
              ? `: ${plural(options.outcome.failingFindings, 'finding')} at or above ${options.outcome.failOn}`
              : ''
          }${options.outcome.failedExpectations > 0 ? `${options.outcome.failingFindings > 0 ? ',' : ':'} ${plural(options.outcome.failedExpectations, 'expectation')} not met` : ''}`
        : ''
    }`,
    `${s.bold('use')}: ${verdict.recommendation.text}`,
    ...clientSettings(verdict),
  ];
  const serious = groups
    .filter((group) => ['critical', 'high', 'medium'].includes(group.finding.severity))
    .slice(0, 3);
  if (serious.length > 0) {
    lines.push(`${s.bold('fix first')}:`);
    for (const group of serious) {
      // A title's own parenthesis ("(opt-in check)") joins the one that names the finding: never two in a row.
      const [, title, aside] = /^(.*?)(?: \(([^()]*)\))?$/.exec(group.finding.title) ?? [];
      const where = `${group.where.slice(0, 4).join(', ')}${group.where.length > 4 ? ', …' : ''}`;
      lines.push(
        ` - ${sanitize(title ?? group.finding.title)} (${group.finding.id}, on ${where}${aside ? `; ${sanitize(aside)}` : ''})`,
      );
    }
  }
  return lines;
}

/**
 * Lays out the port table within `max` columns: drops "expected" first, then wraps "observed" at its separators;
 * when the other columns leave it too little room (long IPv6 addresses), "observed" goes on lines under its row.
 */
function tableLines(verdict: CheckedHost, showAddress: boolean, s: Style, max: number | undefined): string[] {
  // Under its row, "observed" starts below the address (or service) column.
  const indent = ' '.repeat(1 + Math.max(4, ...verdict.ports.map((p) => String(p.port).length)) + 2);
  const build = (withExpected: boolean, observedWidth: number | undefined, under = false) => {
    const header = [
      'port',
      ...(showAddress ? ['address'] : []),
      'service',
      ...(withExpected ? ['expected'] : []),
      'works',
      'safe',
      ...(under ? [] : ['observed']),
    ];
    const rows: string[][] = [];
    // The lines under each row (by its index in the laid-out table, the header being 0), when `under`.
    const beneath = new Map<number, string[]>();
    for (const port of verdict.ports) {
      const cells = [
        String(port.port),
        ...(showAddress ? [port.address] : []),
        port.service,
        ...(withExpected ? [port.expected] : []),
        mark(port.works, s),
        mark(port.safe, s),
      ];
      const text = observed(port);
      // Narrow: a row that would wrap leaves out its greeting and other notes that are not about a problem first.
      const fitted =
        observedWidth === undefined || width(text) <= observedWidth
          ? text
          : observedParts(port, true)
              .map((part) => part.text)
              .join(' · ');
      const parts = observedWidth === undefined ? [text] : wrapParts(fitted, observedWidth);
      if (under) {
        rows.push(cells);
        beneath.set(rows.length, parts);
        continue;
      }
      rows.push([...cells, parts[0] ?? '']);
      for (const more of parts.slice(1)) rows.push([...cells.map(() => ''), more]);
    }
    return columns([header.map((h) => s.bold(h)), ...rows]).flatMap((line, i) => [
      ` ${line}`,
      ...(beneath.get(i) ?? []).map((part) => `${indent}${part}`),
    ]);
  };
  const widest = (lines: string[]) => Math.max(...lines.map(width));
  const full = build(true, undefined);
  if (max === undefined || widest(full) <= max) return full;
  const noExpected = build(false, undefined);
  if (widest(noExpected) <= max) return noExpected;
  // The fixed columns' width: a table whose observed cells are empty is as wide as they and the header word.
  const fixed = widest(build(false, 0)) - 'observed'.length;
  if (max - fixed >= 24) return build(false, max - fixed);
  // Narrower than even that: a line that still does not fit wraps (the last resort; nothing is cut short).
  return build(false, Math.max(24, max - indent.length), true).flatMap((line) =>
    width(line) <= max ? [line] : wrap(line, max, indent),
  );
}

/** Splits an "observed" cell at its " · " separators (then at spaces) into pieces of at most `max` columns. */
function wrapParts(text: string, max: number): string[] {
  if (max <= 0) return [''];
  const pieces = text.split(' · ');
  const lines: string[] = [];
  let line = '';
  for (const piece of pieces) {
    const next = line ? `${line} · ${piece}` : piece;
    if (width(next) <= max) line = next;
    else {
      if (line) lines.push(line);
      line = piece;
      while (width(line) > max) {
        const cut = line.lastIndexOf(' ', max);
        const at = cut > 0 ? cut : max;
        lines.push(line.slice(0, at));
        line = line.slice(at).trimStart();
      }
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The first line: the host, its addresses, the ports and the time, wrapped (a long name cut), the name in bold. */
function hostLines(verdict: CheckedHost, s: Style, max: number): string[] {
  const host = sanitize(verdict.host);
  const ports = plural(new Set(verdict.ports.map((p) => p.port)).size, 'port');
  const addresses = verdict.addresses.map((a) => a.address).join(', ');
  const lines = wrap(`${host}  →  ${addresses}   ${ports} in ${seconds(verdict.durationMs)}`, max, '   ');
  // Styled after wrapping: the name in bold over as many lines as it was cut into, each after its indent.
  let left = [...host].length;
  return lines.map((line) => {
    if (left <= 0) return line;
    const indent = /^ */.exec(line)?.[0] ?? '';
    const chars = [...line.slice(indent.length)];
    const name = chars.slice(0, left);
    left -= name.length;
    return `${indent}${s.bold(name.join(''))}${chars.slice(name.length).join('')}`;
  });
}

export function renderHuman(verdict: CheckedHost, options: HumanOptions): string {
  const s = style(options.color);
  const showAddress = verdict.addresses.length > 1;
  const max = options.width !== undefined && options.width > 0 ? options.width : undefined;
  const lineMax = max ?? 160;
  const groups = groupFindings(verdict.findings, showAddress);
  const out: string[] = [];
  out.push(
    ...hostLines(verdict, s, lineMax),
    ...verdictLines(verdict, groups, options, s).flatMap((line) => wrap(line, lineMax, '   ')),
  );
  if (options.quiet) return `${out.join('\n')}\n`;
  out.push('', ...tableLines(verdict, showAddress, s, max), '');
  // Each leaf and chain: under --verbose (the table says whether each certificate is fine).
  const certificates = options.verbose
    ? certificateLines(verdict, true, s).flatMap((line) => wrap(line, lineMax, '   '))
    : [];
  if (certificates.length > 0) out.push(s.bold('certificates'), ...certificates, '');
  if (verdict.notes?.length)
    out.push(
      ...verdict.notes
        .flatMap((note) => wrap(`note: ${sanitize(note)}`, lineMax, '      '))
        .map((l) => s.dim(l)),
      '',
    );
  if (groups.length === 0) out.push('no findings');
  else {
    out.push(s.bold(findingsHeader(verdict, showAddress)));
    for (const group of groups)
      out.push(
        ...groupLines(group, verdict.ports, s, lineMax - 1, options.verbose === true, showAddress).map(
          (l) => ` ${l}`,
        ),
      );
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
      const head = ` ${e.passed ? s.green('✓') : s.red('✗')} ${where.padEnd(showAddress ? 22 : 5)} ${e.expectation}`;
      const seen = `observed: ${clip(sanitize(e.observed), 80)}`;
      // On the expectation's line when it fits, else wrapped on the lines below it.
      if (width(`${head}  ${seen}`) <= lineMax) out.push(`${head}  ${s.dim(seen)}`);
      else
        out.push(...wrap(head, lineMax, '   '), ...wrap(`   ${seen}`, lineMax, '     ').map((l) => s.dim(l)));
    }
  }
  if (options.verbose) {
    for (const port of verdict.ports) {
      out.push('', s.bold(`transcript ${port.port} ${port.address}`));
      if (port.transcriptOmitted)
        out.push(
          ...wrap(
            `  (capped: ${port.transcriptOmitted.entries} entries and ${port.transcriptOmitted.chars} characters left out; see transcriptEntries, transcriptChars)`,
            lineMax,
            '   ',
          ).map((l) => s.dim(l)),
        );
      for (const entry of port.transcript) {
        // Client lines and notes can carry server text too (an error message): everything is sanitised.
        const text = sanitize(entry.text);
        const flags = transcriptFlags(entry);
        out.push(
          ...wrap(
            `  ${entry.at.toFixed(1).padStart(8)} ms ${entry.dir} ${text}${flags.length ? s.dim(`  [${flags.join(',')}]`) : ''}`,
            lineMax,
            ' '.repeat(16),
          ),
        );
      }
    }
  }
  if (needsServername(verdict, verdict.findings))
    out.push(
      '',
      ...wrap(
        `hint: no certificate names ${verdict.servername}: pass --servername NAME (the host name the server is known by) to check them against it`,
        lineMax,
        '      ',
      ),
    );
  out.push('', recapLine(verdict, groups, options, s, lineMax));
  return `${out.join('\n')}\n`;
}
