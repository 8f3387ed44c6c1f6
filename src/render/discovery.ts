/** The discovery parts of the human report: what DNS said (before the host reports), the client settings (after). */
import type { ClientPick, PickVerdict } from '../rules/published/clients.js';
import type { PublishedJudgement } from '../rules/published/judge.js';
import type { ClientSetting, ClientSettings } from '../rules/settings.js';
import type { Discovery, HostResult, PublishedSource } from '../types/index.js';
import { sanitize } from './sanitize.js';
import { columns, style } from './style.js';
import { renderTransport } from './transport.js';

export function renderDiscoveryHead(
  discovery: Discovery & { publishedCheck?: PublishedJudgement },
  options: { color: boolean; hosts?: readonly HostResult[] | undefined },
): string {
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
  const published = discovery.published
    ? `${s.bold('published client settings')}\n${renderSources(discovery.published).join('\n')}\n\n`
    : '';
  const answer = discovery.publishedCheck ? `${renderClientAnswer(discovery.publishedCheck, s)}\n` : '';
  return `${s.bold(title)}\n${answer}\n${renderTransport(discovery, options)}${s.bold('DNS')}\n${columns(rows)
    .map((line) => ` ${line}`)
    .join(
      '\n',
    )}\n\n${published}${s.bold('probing')}\n${[...hosts.map((h) => ` ${h}`), ...bounds.map((b) => s.yellow(b))].join('\n')}\n\n`;
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

/** Each published source, in client order: where it was looked for, how that went, what it says. */
function renderSources(sources: PublishedSource[]): string[] {
  const out: string[] = [];
  for (const source of sources) {
    const kind = source.kind === 'ispdb' ? 'ISPDB' : source.kind === 'srv' ? 'SRV' : source.kind;
    const how = source.fetch
      ? `${source.fetch.method === 'POST' ? 'POST ' : ''}${sanitize(source.location)}  → ${sanitize(source.fetch.detail)}`
      : sanitize(source.location);
    out.push(` ${kind}${source.viaMx ? ' (via MX)' : ''}  ${how}`);
    for (const hop of source.fetch?.redirects ?? [])
      out.push(
        `     redirect ${hop.status} → ${sanitize(hop.to)}${hop.crossDomain ? ' (another domain)' : ''}${hop.downgrade ? ' (https → http)' : ''}`,
      );
    for (const setting of source.settings)
      out.push(
        `     ${setting.protocol} ${sanitize(setting.host)}:${setting.port} ${setting.security} (${sanitize(setting.as)})`,
      );
    for (const problem of source.problems ?? []) out.push(`     problem: ${sanitize(problem)}`);
    if (source.ignored) out.push(`     ${sanitize(source.ignored)}`);
  }
  return out;
}

/** The published settings checked live: findings, then what each client would pick. */
export function renderPublishedCheck(check: PublishedJudgement, options: { color: boolean }): string {
  const s = style(options.color);
  const paint = (severity: string, text: string) =>
    severity === 'critical' || severity === 'high'
      ? s.red(text)
      : severity === 'medium'
        ? s.yellow(text)
        : text;
  const out = ['', s.bold('what the domain publishes, checked against the servers')];
  if (check.findings.length === 0) out.push(' no drift: every published setting works as published');
  if (check.checks.length === 0 && check.clients.length === 0)
    out.push(` ${s.dim('(DNS records only: no autoconfig, ISPDB or Autodiscover was fetched)')}`);
  for (const finding of check.findings) {
    out.push(
      ` ${paint(finding.severity, finding.severity.toUpperCase().padEnd(6))} ${finding.id}: ${sanitize(finding.title)}`,
    );
    for (const line of finding.evidence) out.push(`        ${s.dim(sanitize(line))}`);
    out.push(`        ${s.dim(`(${finding.reference})`)}`);
  }
  // With --no-web only the DNS records were judged: no client's pick is predicted.
  if (check.clients.length > 0) out.push('', s.bold('what each client would pick'));
  for (const client of check.clients) out.push(...renderPick(client, s));
  return `${out.join('\n')}\n`;
}

function renderPick(client: ClientPick, s: ReturnType<typeof style>): string[] {
  const one = (label: string, verdict: PickVerdict | undefined) => {
    if (!verdict) return [];
    const { setting } = verdict;
    const state = pickState(verdict, s, 'works, safe');
    return [
      `   ${label.padEnd(9)} ${setting.protocol} ${sanitize(setting.host)}:${setting.port} ${setting.security}  ${state}`,
      ...(verdict.fails ? [`             ${sanitize(verdict.fails)}`] : []),
    ];
  };
  return [
    ` ${client.client}${client.source ? `  ${s.dim(sanitize(client.source))}` : ''}`,
    ...one('incoming', client.incoming),
    ...one('outgoing', client.outgoing),
    ...client.notes.map((note) => `   ${s.dim(sanitize(note))}`),
  ];
}

/** The answer first: what each client would end up with, and the worst drift, in two lines. */
function renderClientAnswer(check: PublishedJudgement, s: ReturnType<typeof style>): string {
  const verdict = (pick: PickVerdict | undefined) => (pick ? pickState(pick, s, 'safe') : undefined);
  const clients = check.clients.map((client) => {
    const parts = [
      client.incoming ? `incoming ${verdict(client.incoming)}` : undefined,
      client.outgoing ? `outgoing ${verdict(client.outgoing)}` : undefined,
    ].filter((part): part is string => part !== undefined);
    return `${client.client.replace(' (RFC 6186)', '')}: ${parts.length > 0 ? parts.join(', ') : s.dim('nothing published')}`;
  });
  const worst = check.findings[0];
  const drift =
    check.findings.length === 0
      ? 'what the domain publishes matches what its servers do'
      : `${check.findings.length} finding${check.findings.length === 1 ? '' : 's'} about what the domain publishes, worst ${worst?.severity} ${worst?.id} (details at the end)`;
  return clients.length > 0 ? `clients: ${clients.join(' · ')}\n${drift}` : drift;
}

/** A client's pick in one word or two: safe (worded as asked), works but not safe, or fails. */
function pickState(pick: PickVerdict, s: ReturnType<typeof style>, safeWords: string): string {
  return pick.safe ? s.green(safeWords) : pick.works ? s.yellow('works, not safe') : s.red('fails');
}
