/**
 * The published settings checked live, as the human report shows them: the drift findings (evidence and references
 * under --verbose) and what each client would pick, whether that works and is safe, and what it shows when not.
 */
import type { ClientPick, PickVerdict } from '../rules/published/clients.js';
import type { PublishedJudgement } from '../rules/published/judge.js';
import { sanitize } from './sanitize.js';
import { type Style, style } from './style.js';
import { wrap } from './wrap.js';

/** The published settings checked live: findings (evidence and reference under --verbose), each client's pick. */
export function publishedCheckLines(
  check: PublishedJudgement,
  s: Style,
  max: number,
  verbose: boolean,
): string[] {
  const paint = (severity: string, text: string) =>
    severity === 'critical' || severity === 'high'
      ? s.red(text)
      : severity === 'medium'
        ? s.yellow(text)
        : text;
  const out = ['', s.bold('what the domain publishes, checked against the servers')];
  if (check.findings.length === 0) out.push(' no drift: every published setting works as published');
  if (check.checks.length === 0 && check.clients.length === 0)
    out.push(s.dim(' (DNS records only: no autoconfig, ISPDB or Autodiscover was fetched)'));
  for (const finding of check.findings) {
    const [first = '', ...rest] = wrap(
      ` ${finding.severity.toUpperCase().padEnd(6)} ${finding.id}: ${sanitize(finding.title)}`,
      max,
      '        ',
    );
    out.push(
      first.replace(finding.severity.toUpperCase(), (w) => paint(finding.severity, w)),
      ...rest,
    );
    if (verbose) {
      for (const line of finding.evidence)
        out.push(...wrap(`        ${sanitize(line)}`, max, '          ').map((l) => s.dim(l)));
      out.push(...wrap(`        (${finding.reference})`, max, '          ').map((l) => s.dim(l)));
    }
  }
  if (!verbose && check.findings.some((f) => f.evidence.length > 0))
    out.push(s.dim(' (evidence and references: --verbose, --json)'));
  // With --no-web only the DNS records were judged: no client's pick is predicted.
  if (check.clients.length > 0) out.push('', s.bold('what each client would pick'));
  for (const client of check.clients) out.push(...renderPick(client, s, max));
  return out;
}

function renderPick(client: ClientPick, s: Style, max: number): string[] {
  const one = (label: string, verdict: PickVerdict | undefined) => {
    if (!verdict) return [];
    const { setting } = verdict;
    const state = verdict.safe
      ? s.green('works, safe')
      : verdict.works
        ? s.yellow('works, not safe')
        : s.red('fails');
    return [
      ...wrap(
        `   ${label.padEnd(9)} ${setting.protocol} ${sanitize(setting.host)}:${setting.port} ${setting.security}  ${state}`,
        max,
        '             ',
      ),
      ...(verdict.fails ? wrap(`             ${sanitize(verdict.fails)}`, max, '             ') : []),
    ];
  };
  return [
    ...wrap(` ${client.client}${client.source ? `  ${sanitize(client.source)}` : ''}`, max, '     '),
    ...one('incoming', client.incoming),
    ...one('outgoing', client.outgoing),
    ...client.notes.flatMap((note) => wrap(`   ${sanitize(note)}`, max, '     ').map((l) => s.dim(l))),
  ];
}

/** The published settings checked live, on their own: findings with evidence, then each client's pick. */
export function renderPublishedCheck(
  check: PublishedJudgement,
  options: { color: boolean; verbose?: boolean | undefined; width?: number | undefined },
): string {
  return `${publishedCheckLines(check, style(options.color), options.width !== undefined && options.width > 0 ? options.width : 160, options.verbose ?? true).join('\n')}\n`;
}
