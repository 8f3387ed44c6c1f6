/**
 * The discovery parts of the human report. First a block of at most 8 lines: the domain's verdict (and where its
 * failure comes from), the settings to type in, each client's outcome with the error it shows, the worst problem.
 * Then what is published (one line a kind of source; the DNS table and every source under --verbose), the host
 * reports, and at the end the notes, the drift findings and each client's pick (published-check.ts). Every line
 * fits the width (wrap.ts).
 */
import type { Finding, Severity } from '../rules/finding.js';
import { severityRank } from '../rules/finding.js';
import { type CheckedHost, hostOutcome, type Outcome } from '../rules/outcome.js';
import type { PickVerdict } from '../rules/published/clients.js';
import type { PublishedJudgement } from '../rules/published/judge.js';
import type { PublishedFinding } from '../rules/published/rule.js';
import type { ClientSetting, ClientSettings } from '../rules/settings.js';
import type { Discovery, HostResult, PublishedSource } from '../types/index.js';
import { publishedCheckLines } from './published-check.js';
import { clip, sanitize } from './sanitize.js';
import { columns, type Style, style } from './style.js';
import { mxAddressLines, renderTransport } from './transport.js';
import { wrap } from './wrap.js';

/** What the discovery parts render: the discovery, its chosen settings and its published check. */
export type DiscoveryParts = Discovery & { settings: ClientSettings; publishedCheck?: PublishedJudgement };

export interface DiscoveryLayout {
  color: boolean;
  verbose?: boolean | undefined;
  quiet?: boolean | undefined;
  /** The terminal's width (none: 160 columns, as the host report). */
  width?: number | undefined;
}

/** Most lines of the first block. */
export const firstBlockLines = 8;

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
const lineMax = (layout: DiscoveryLayout) =>
  layout.width !== undefined && layout.width > 0 ? layout.width : 160;

/** The human report's discovery parts before the host reports (all of it with --quiet: the first block). */
export function renderDiscoveryHead(
  discovery: DiscoveryParts,
  hosts: CheckedHost[],
  outcome: Outcome,
  layout: DiscoveryLayout,
): string {
  const s = style(layout.color);
  const max = lineMax(layout);
  const out = firstBlock(discovery, hosts, outcome, s, max);
  if (layout.quiet) return `${out.join('\n')}\n`;
  const bounds = [
    ...mxAddressLines(discovery),
    ...(discovery.leftOut?.length
      ? [
          `left out (over --max-hosts): ${discovery.leftOut.length} more: ${discovery.leftOut.slice(0, 10).map(sanitize).join(', ')}${discovery.leftOut.length > 10 ? ', …' : ''}`,
        ]
      : []),
    ...(discovery.deadline
      ? [
          `the --deadline of ${discovery.deadline.ms} ms ran out: probes still running were aborted${discovery.deadline.notProbed.length > 0 ? `; never probed: ${discovery.deadline.notProbed.map(sanitize).join(', ')}` : ''}`,
        ]
      : []),
  ];
  if (bounds.length > 0) out.push('', ...bounds.flatMap((b) => wrap(b, max)).map((l) => s.yellow(l)));
  // The transport policy (MTA-STS, TLS-RPT, each MX's DANE status): what other mail servers will enforce.
  const transport = renderTransport(discovery, {
    color: layout.color,
    hosts: hosts as unknown as readonly HostResult[],
  });
  if (transport)
    out.push(
      '',
      ...transport
        .trimEnd()
        .split('\n')
        .flatMap((line) => wrap(line, max, '   ')),
    );
  out.push(
    '',
    s.bold('published for mail clients'),
    ...sourceSummary(discovery).flatMap((l) => wrap(l, max)),
  );
  if (layout.verbose) {
    const rows = discovery.records.map((record) => [
      record.kind,
      sanitize(record.query),
      record.answer ? sanitize(record.answer) : '–',
      record.detail ? sanitize(record.detail) : '',
    ]);
    out.push('', s.bold('DNS'), ...columns(rows).flatMap((line) => wrap(` ${line}`, max, '      ')));
    if (discovery.published)
      out.push('', s.bold('published client settings'), ...renderSources(discovery.published, max));
    out.push(
      '',
      s.bold('probing'),
      ...discovery.candidates.flatMap((c) =>
        wrap(
          ` ${sanitize(c.host)} [${c.ports.map((p) => p.port).join(' ')}] ← ${c.sources.join(', ')}`,
          max,
          '     ',
        ),
      ),
    );
  }
  return `${out.join('\n')}\n\n`;
}

/** The human report's discovery parts after the host reports: notes, the drift findings, each client's pick. */
export function renderDiscoveryTail(discovery: DiscoveryParts, layout: DiscoveryLayout): string {
  const s = style(layout.color);
  const max = lineMax(layout);
  const out: string[] = [];
  if (discovery.settings.notes.length > 0)
    out.push(
      s.bold('notes'),
      ...discovery.settings.notes.flatMap((note) => wrap(` - ${sanitize(note)}`, max, '   ')),
    );
  if (discovery.publishedCheck)
    out.push(...publishedCheckLines(discovery.publishedCheck, s, max, layout.verbose === true));
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

/**
 * The first block: verdict, settings, clients, worst problem, each wrapped to the width; when that makes more than
 * firstBlockLines lines, the longest parts are cut to one line each (the rest of the report has them whole).
 */
function firstBlock(
  discovery: DiscoveryParts,
  hosts: CheckedHost[],
  outcome: Outcome,
  s: Style,
  max: number,
): string[] {
  // An address names its domain: the title is what was typed.
  const title = sanitize(discovery.email ?? discovery.domain);
  // The verdict and the settings are never cut; the worst problem, then the longest client line, are first.
  const parts: { text: string; cut: number; paint?: (line: string) => string }[] = [
    { text: `${title}: ${domainVerdict(hosts, outcome)}`, cut: 0, paint: (l) => paintVerdict(l, s) },
    { text: `incoming: ${setting(discovery.settings.incoming)}`, cut: 0 },
    {
      text: `outgoing: ${setting(
        discovery.settings.outgoing,
        hosts.flatMap((host) => (host.recommendation.noLogin ?? []).map((port) => `${host.host}:${port}`)),
      )}`,
      cut: 0,
    },
    ...clientLines(discovery).map((text) => ({ text, cut: 1, paint: (l: string) => paintPick(l, s) })),
    { text: worstProblem(discovery, hosts), cut: 2 },
  ];
  const wrapped = parts.map((part) => wrap(part.text, max, '   '));
  const count = () => wrapped.reduce((sum, lines) => sum + lines.length, 0);
  // Cut parts to one line each, most cuttable and longest first, until the block fits.
  const order = [...parts.keys()].sort(
    (a, b) =>
      (parts[b]?.cut ?? 0) - (parts[a]?.cut ?? 0) || (wrapped[b]?.length ?? 0) - (wrapped[a]?.length ?? 0),
  );
  for (const i of order) {
    const excess = count() - firstBlockLines;
    const lines = wrapped[i] ?? [];
    if (excess <= 0) break;
    if (lines.length <= 1) continue;
    const keep = Math.max(1, lines.length - excess);
    const last = lines[keep - 1] ?? '';
    wrapped[i] = [...lines.slice(0, keep - 1), clip(`${last}…`, max)];
  }
  return wrapped.flatMap((lines, i) => {
    const paint = parts[i]?.paint;
    return lines.map((line) => (paint ? paint(line) : line));
  });
}

/**
 * The domain's verdict: PASSED, or FAILED with where the failure comes from (the hosts, named, or what the domain
 * publishes). A host's own verdict, in its report, counts only that host's findings.
 */
function domainVerdict(hosts: CheckedHost[], outcome: Outcome): string {
  if (outcome.passed) return outcome.interrupted ? 'PASSED (interrupted)' : 'PASSED';
  const published = outcome.failingPublished ?? 0;
  const failing = hosts
    .map((host) => ({ host: host.host, count: hostOutcome(host, outcome).failingFindings }))
    .filter((h) => h.count > 0);
  const where =
    published > 0 && published === outcome.failingFindings
      ? ['all about what it publishes']
      : [
          ...(failing.length > 3
            ? [`${failing.reduce((sum, h) => sum + h.count, 0)} on ${failing.length} hosts`]
            : failing.map((h) => `${h.count} on ${sanitize(h.host)}`)),
          ...(published > 0 ? [`${published} about what it publishes`] : []),
        ];
  const findings =
    outcome.failingFindings > 0
      ? `${plural(outcome.failingFindings, 'finding')} ≥ ${outcome.failOn}, ${where.join(', ')}`
      : '';
  const expectations =
    outcome.failedExpectations > 0 ? `${plural(outcome.failedExpectations, 'expectation')} not met` : '';
  const why = [findings, expectations].filter(Boolean).join(', ');
  return `FAILED${outcome.interrupted ? ' (interrupted)' : ''}${why ? `: ${why}` : ''}`;
}

function paintVerdict(line: string, s: Style): string {
  return line.replace(/\b(PASSED|FAILED)\b/, (word) => (word === 'PASSED' ? s.green(word) : s.red(word)));
}

/** A setting to type in, as a mail client's form asks for it. */
function setting(value: ClientSetting | undefined, noLogin: string[] = []): string {
  // Only submission ports that offer no AUTH over TLS work safely: say so, as each host's use: line does.
  if (!value && noLogin.length > 0)
    return `no server offers a login (${noLogin.map(sanitize).join(', ')}: no AUTH over TLS)`;
  if (!value) return 'no server works safely';
  return `${value.protocol} · ${sanitize(value.host)} · port ${value.port} · ${value.security === 'TLS' ? 'SSL/TLS' : 'STARTTLS'}`;
}

/** One line a client: what it ends up with, and for what fails, the error it shows (its own words first). */
function clientLines(discovery: DiscoveryParts): string[] {
  if (!discovery.published) return ['clients: what the domain publishes was not fetched (--no-web)'];
  const clients = discovery.publishedCheck?.clients ?? [];
  // Clients that end up with the same are one line: "Outlook, SRV clients: nothing published".
  const lines = new Map<string, string[]>();
  for (const client of clients) {
    const one = (label: string, pick: PickVerdict | undefined) => {
      if (!pick) return undefined;
      if (pick.safe) return `${label} safe`;
      if (pick.works) return `${label} works, not safe`;
      const shown = pick.fails ? errorShown(pick.fails) : '';
      return `${label} fails${shown ? ` ${shown}` : ''}`;
    };
    const parts = [one('incoming', client.incoming), one('outgoing', client.outgoing)].filter(
      (part): part is string => part !== undefined,
    );
    const outcome = parts.length > 0 ? parts.join(' · ') : 'nothing published';
    lines.set(outcome, [...(lines.get(outcome) ?? []), client.client.replace(' (RFC 6186)', '')]);
  }
  return [...lines].map(([outcome, names]) => `${names.join(', ')}: ${outcome}`);
}

/** The words a client shows: the quoted message when its own words are known, else what happens. */
function errorShown(fails: string): string {
  const quoted = /^("[^"]*")/.exec(fails)?.[1];
  return sanitize(quoted ?? fails);
}

function paintPick(line: string, s: Style): string {
  return line
    .replace(/\bfails\b/g, (w) => s.red(w))
    .replace(/\bworks, not safe\b/g, (w) => s.yellow(w))
    .replace(/\bsafe\b(?!")/g, (w) => s.green(w));
}

/** The worst problem of the run: a finding on a host or about what the domain publishes, whichever is worse. */
function worstProblem(discovery: DiscoveryParts, hosts: CheckedHost[]): string {
  const published: PublishedFinding | undefined = discovery.publishedCheck?.findings[0];
  let host: { finding: Finding; host: string } | undefined;
  for (const verdict of hosts)
    for (const finding of verdict.findings)
      if (!host || severityRank(finding.severity) > severityRank(host.finding.severity))
        host = { finding, host: verdict.host };
  const rank = (severity: Severity | undefined) => (severity ? severityRank(severity) : -1);
  if (published && rank(published.severity) >= rank(host?.finding.severity))
    return `worst: ${published.severity} ${published.id}: ${sanitize(published.title)}`;
  if (host)
    return `worst: ${host.finding.severity} ${host.finding.id} on ${sanitize(host.host)}:${host.finding.port}: ${sanitize(host.finding.title)}`;
  return 'worst: nothing: no finding on the hosts or in what the domain publishes';
}

const kindLabel = { autoconfig: 'autoconfig', ispdb: 'ISPDB', autodiscover: 'Autodiscover', srv: 'SRV' };

/** One line a kind of source: where it was found and how many settings, or "not published (N URLs tried)". */
function sourceSummary(discovery: Discovery): string[] {
  const srvNames = discovery.records.filter((r) => r.kind === 'SRV');
  const notOffered = srvNames.filter((r) => r.note === 'not-offered').length;
  // Records no client can use: a target no host can have, port 0.
  const unusable = srvNames.filter((r) => r.note === 'invalid-name' || r.note === 'port-zero').length;
  const srvSettings = srvNames.filter((r) => !r.note && r.answer !== '').length;
  const others = [
    ...(notOffered > 0 ? [`${notOffered} "." (not offered)`] : []),
    ...(unusable > 0 ? [`${unusable} unusable`] : []),
  ];
  const srv =
    srvSettings > 0
      ? `SRV: ${plural(srvSettings, 'record')}${others.map((other) => `, ${other}`).join('')}`
      : unusable > 0
        ? `SRV: no usable record (${others.join(', ')})`
        : notOffered > 0
          ? `SRV: only "." records (${notOffered}, not offered)`
          : `SRV: not published (${plural(srvNames.length, 'name')} asked)`;
  if (!discovery.published) return ['autoconfig, ISPDB, Autodiscover: not fetched (--no-web)', srv];
  const out: string[] = [];
  for (const kind of ['autoconfig', 'ispdb', 'autodiscover'] as const) {
    const sources = discovery.published.filter((source) => source.kind === kind);
    const found = sources.filter((source) => source.settings.length > 0 || source.problems?.length);
    if (found.length === 0) {
      out.push(
        `${kindLabel[kind]}: ${sources.length === 0 ? 'not asked' : `not published (${plural(sources.length, 'URL')} tried)`}`,
      );
      continue;
    }
    for (const source of found)
      out.push(
        `${kindLabel[kind]}${source.viaMx ? ' (via MX)' : ''}: ${source.settings.length > 0 ? plural(source.settings.length, 'setting') : 'nothing usable'}${source.problems?.length ? ` (${plural(source.problems.length, 'problem')})` : ''} from ${sanitize(source.location)}`,
      );
  }
  out.push(srv);
  return out.map((line) => ` ${line}`);
}

/** Each published source, in client order: where it was looked for, how that went, what it says (--verbose). */
function renderSources(sources: PublishedSource[], max: number): string[] {
  const out: string[] = [];
  const add = (text: string, indent: string) => out.push(...wrap(text, max, indent));
  for (const source of sources) {
    const kind = kindLabel[source.kind];
    const how = source.fetch
      ? `${source.fetch.method === 'POST' ? 'POST ' : ''}${sanitize(source.location)}  → ${sanitize(source.fetch.detail)}`
      : sanitize(source.location);
    add(` ${kind}${source.viaMx ? ' (via MX)' : ''}  ${how}`, '     ');
    for (const hop of source.fetch?.redirects ?? [])
      add(
        `     redirect ${hop.status} → ${sanitize(hop.to)}${hop.crossDomain ? ' (another domain)' : ''}${hop.downgrade ? ' (https → http)' : ''}`,
        '       ',
      );
    for (const setting of source.settings)
      add(
        `     ${setting.protocol} ${sanitize(setting.host)}:${setting.port} ${setting.security} (${sanitize(setting.as)})`,
        '       ',
      );
    for (const problem of source.problems ?? []) add(`     problem: ${sanitize(problem)}`, '       ');
    if (source.ignored) add(`     ${sanitize(source.ignored)}`, '       ');
  }
  return out;
}

/** The settings a mail client should use and the notes, on their own (the library's; the report has them first). */
export function renderSettings(settings: ClientSettings, options: DiscoveryLayout): string {
  const s = style(options.color);
  const max = lineMax(options);
  const out = [
    s.bold('settings for a mail client'),
    ...wrap(` incoming: ${setting(settings.incoming)}`, max),
    ...wrap(` outgoing: ${setting(settings.outgoing)}`, max),
  ];
  if (settings.notes.length > 0)
    out.push('', s.bold('notes'), ...settings.notes.flatMap((note) => wrap(` - ${sanitize(note)}`, max)));
  return `${out.join('\n')}\n`;
}

export { renderPublishedCheck } from './published-check.js';
