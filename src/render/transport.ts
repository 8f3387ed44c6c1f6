/**
 * The "transport policy" block of a domain's human report (--mta-sts, --dane): what a sending server does with
 * mail to the domain, answer first: the MTA-STS mode, which MX hosts senders refuse (from the rules' findings),
 * TLS-RPT, and the DANE status of each MX's port 25; and the lines naming an MX host not probed for want of an
 * address. Shows what rules/published/transport.ts and rules/dane.ts judged; judges nothing itself.
 */
import { daneStatus } from '../rules/dane.js';
import type { PublishedJudgement } from '../rules/published/judge.js';
import { mxHosts } from '../rules/published/transport.js';
import type { Discovery, HostResult } from '../types/index.js';
import { sanitize } from './sanitize.js';
import { columns, style } from './style.js';

/** The block's heading. */
export const transportHeading = 'transport policy (mail from other servers)';

export function renderTransport(
  discovery: Discovery & { publishedCheck?: PublishedJudgement },
  options: { color: boolean; hosts?: readonly HostResult[] | undefined },
): string {
  const s = style(options.color);
  const rows = transportRows(discovery, options.hosts ?? [], s);
  if (rows.length === 0) return '';
  return `${s.bold(transportHeading)}\n${columns(rows)
    .map((line) => ` ${line}`)
    .join('\n')}\n\n`;
}

/**
 * The block's rows, label then text (the HTML report shows them as a table): none without --mta-sts or --dane.
 * Server and DNS text is sanitized here; `s` colours it for a terminal, or not.
 */
export function transportRows(
  discovery: Discovery & { publishedCheck?: PublishedJudgement },
  hosts: readonly HostResult[],
  s: ReturnType<typeof style>,
): string[][] {
  const dane = daneLine(discovery, hosts, s);
  const transport = discovery.transport;
  if (!transport) return dane ? [dane] : [];
  const findings = (discovery.publishedCheck?.findings ?? []).filter((f) => /^(mta-sts|tls-rpt)-/.test(f.id));
  const find = (id: string) => findings.find((f) => f.id === id);
  const mode = find('mta-sts-mode');
  const policy = transport.policy;
  const sts = mode
    ? policy?.mode === 'enforce'
      ? s.green(`enforce · max_age ${policy.maxAge} s · mx ${policy.mx.map(sanitize).join(', ')}`)
      : `${policy?.mode ?? '?'} · max_age ${policy?.maxAge} s · mx ${(policy?.mx ?? []).map(sanitize).join(', ')}`
    : find('mta-sts-none')
      ? 'none: senders use opportunistic TLS'
      : s.red(
          `not applied by senders: ${
            (
              find('mta-sts-policy-unfetchable') ??
                find('mta-sts-policy-invalid') ??
                find('mta-sts-policy-without-txt') ??
                find('mta-sts-txt-invalid') ??
                find('mta-sts-lookup-failed')
            )?.id ?? 'no usable policy'
          }`,
        );
  const rows: string[][] = [['MTA-STS', sts]];
  const mxWords: Record<string, string> = {
    'mta-sts-mx-refused': s.red('refused'),
    'mta-sts-mx-would-fail': s.yellow('would fail'),
    'mta-sts-mx-unchecked': 'unchecked',
  };
  for (const f of findings.filter((x) => mxWords[x.id] !== undefined))
    rows.push([mxWords[f.id] as string, `${sanitize(f.host ?? '')}: ${sanitize(f.evidence.join('; '))}`]);
  rows.push([
    'TLS-RPT',
    transport.tlsRptRua
      ? transport.tlsRptRua.map(sanitize).join(', ')
      : transport.tlsRptProblem
        ? s.yellow(sanitize(transport.tlsRptProblem))
        : transport.tlsRptRecord.outcome === 'failed'
          ? s.yellow('lookup failed')
          : 'none',
  ]);
  if (dane) rows.push(dane);
  // --expect mta-sts=MODE: met or not, with what was seen.
  for (const e of discovery.publishedCheck?.expectations ?? [])
    rows.push([
      'expected',
      e.passed
        ? s.green(`✓ ${e.expectation}`)
        : s.red(`✗ ${e.expectation}, observed ${sanitize(e.observed)}`),
    ]);
  return rows;
}

/** "DANE  mx1: valid · mx2: mismatch", from each MX host's port 25 (every address), when any was looked up. */
function daneLine(
  discovery: Discovery,
  hosts: readonly HostResult[],
  s: ReturnType<typeof style>,
): string[] | undefined {
  const words = mxHosts(discovery).flatMap((mx) => {
    const statuses = [
      ...new Set(
        hosts
          .filter((host) => host.host.toLowerCase() === mx)
          .flatMap((host) => host.ports.filter((port) => port.port === 25).map(daneStatus))
          .filter((status) => status !== undefined),
      ),
    ];
    if (statuses.length === 0) return [];
    const text = statuses.join('/');
    const colour =
      statuses.includes('mismatch') || statuses.includes('no-tls')
        ? s.red
        : statuses.every((x) => x === 'valid')
          ? s.green
          : s.yellow;
    return [`${sanitize(mx)}: ${colour(text)}`];
  });
  return words.length > 0 ? ['DANE', words.join(' · ')] : undefined;
}

/**
 * One line an MX host that was not probed for want of an address: none (senders skip it, RFC 5321 §5.1), its
 * lookup failed, or (-4, -6) it has addresses of the other family only; what DNS said is its evidence
 * (discovery.mxAddresses).
 */
export function mxAddressLines(discovery: Discovery): string[] {
  return (discovery.mxAddresses ?? []).flatMap(({ host, outcome, detail }) =>
    outcome === 'found'
      ? detail === undefined
        ? []
        : [`MX ${sanitize(host)} has addresses, but ${sanitize(detail)}`]
      : [
          `MX ${sanitize(host)} ${outcome === 'none' ? 'has no address' : 'could not be resolved: DNS failed'} (${sanitize(detail ?? '')}): not probed${outcome === 'none' ? '; senders skip it (RFC 5321 §5.1)' : ''}`,
        ],
  );
}
