/** Probes, judges, checks expectations, renders, writes report files and sets the exit code. */
import pLimit from 'p-limit';
import {
  AbortedError,
  type CheckedHost,
  type Discovery,
  Dns,
  discover,
  type HostResult,
  type JsonReport,
  judge,
  type Outcome,
  type PortExpectation,
  type ProbeOptions,
  parseTarget,
  probeHost,
  ResolveError,
  renderDiscoveryHead,
  renderHuman,
  renderJson,
  renderJunit,
  renderMarkdown,
  renderSettings,
  type Severity,
} from '../index.js';
import { exitCodes } from './exit.js';
import { writeReportFile } from './files.js';
import { useColor } from './options.js';

export type Format = 'human' | 'json' | 'junit' | 'markdown';

export interface ReportOptions {
  /** What goes to stdout. */
  format: Format;
  /** Reports written to files as well. */
  files: Partial<Record<'json' | 'junit' | 'markdown', string>>;
  verbose: boolean;
  color: boolean | undefined;
  /** Findings at or above this severity fail the run. */
  failOn: Severity;
  expectations?: PortExpectation[] | undefined;
}

type DiscoveryReport = NonNullable<JsonReport['discovery']>;

/** A spinner on stderr, only for people: an interactive terminal, human output, not in CI. */
async function spinner(report: ReportOptions, total: number) {
  if (process.stderr.isTTY !== true || report.format !== 'human' || process.env.CI !== undefined)
    return undefined;
  const { default: ora } = await import('ora');
  let done = 0;
  const spin = ora({ text: `probing ${total} ports`, stream: process.stderr }).start();
  return {
    tick: (port: number) => {
      done++;
      spin.text = `probing: ${done}/${total} done (last ${port})`;
    },
    stop: () => spin.stop(),
  };
}

function render(
  format: Format,
  hosts: CheckedHost[],
  result: Outcome,
  report: ReportOptions,
  discovery?: DiscoveryReport,
) {
  if (format === 'json') return renderJson(hosts, result, discovery);
  if (format === 'junit') return renderJunit(hosts, result);
  if (format === 'markdown') return renderMarkdown(hosts, result);
  const color = useColor(report.color, process.stdout);
  const body = hosts.map((host) => renderHuman(host, { color, verbose: report.verbose })).join('\n');
  if (!discovery) return body;
  return `${renderDiscoveryHead(discovery, { color })}${body}\n${renderSettings(discovery.settings, { color })}`;
}

/** Judges, checks expectations, writes the report files and stdout, sets the exit code. */
async function finish(
  results: HostResult[],
  report: ReportOptions,
  exitOnFailure: boolean,
  discovery?: Discovery,
) {
  const {
    hosts,
    outcome: summary,
    settings,
  } = judge(results, {
    expectations: report.expectations,
    failOn: report.failOn,
    discovery,
  });
  const extra = discovery && settings ? { ...discovery, settings } : undefined;
  for (const [format, file] of Object.entries(report.files) as ['json' | 'junit' | 'markdown', string][]) {
    writeReportFile(file, render(format, hosts, summary, report, extra));
  }
  process.stdout.write(render(report.format, hosts, summary, report, extra));
  process.exitCode = exitOnFailure && !summary.passed ? exitCodes.findings : exitCodes.ok;
}

/** The CLI's one job for a single host, shared by the default command and demo. Uses only the public API. */
export async function probeAndReport(
  host: string,
  probe: ProbeOptions,
  report: ReportOptions,
  exitOnFailure = true,
): Promise<void> {
  const perFamily = probe.family === 'both' || probe.family === undefined ? 2 : 1;
  const spin = await spinner(report, (probe.ports?.length ?? 7) * perFamily);
  let result: HostResult;
  try {
    result = await probeHost(host, {
      ...probe,
      ...(spin ? { onPortDone: (port) => spin.tick(port.port) } : {}),
    });
  } finally {
    spin?.stop();
  }
  await finish([result], report, exitOnFailure);
}

/** How discovery is bounded: connections per host, hosts probed, and the whole run's deadline. */
export interface DiscoveryBounds {
  perHost: number;
  maxHosts?: number | undefined;
  /** ms for the whole run, discovery and probes (default 120000). */
  deadlineMs?: number | undefined;
}

/**
 * From a domain or an address: discover the candidate hosts (MX, SRV, guessed names), probe at most
 * `maxHosts` of them with at most four hosts at once and `perHost` connections per host (so rate-limiting
 * servers are not tripped), all within one deadline, and choose the settings a mail client should use.
 */
export async function discoverAndReport(
  target: string,
  probe: ProbeOptions,
  report: ReportOptions,
  bounds: DiscoveryBounds,
): Promise<void> {
  const deadlineMs = bounds.deadlineMs ?? 120_000;
  const stop = AbortSignal.timeout(deadlineMs);
  const dns = new Dns({ server: probe.dnsServer, timeoutMs: probe.limits?.connectMs ?? 5000 });
  let discovery: Discovery;
  try {
    discovery = await discover(target, dns, {
      signal: stop,
      ...(bounds.maxHosts ? { maxHosts: bounds.maxHosts } : {}),
    });
  } catch (error) {
    if (error instanceof AbortedError)
      throw new ResolveError(
        parseTarget(target).domain,
        `DNS did not finish within the --deadline of ${deadlineMs} ms`,
      );
    throw error;
  }
  if (discovery.candidates.length === 0) {
    const nullMx = discovery.records.some((r) => r.note === 'null-mx');
    const failed = discovery.records.find((r) => r.note === 'failed');
    throw new ResolveError(
      discovery.domain,
      nullMx
        ? 'it publishes a null MX (accepts no mail, RFC 7505) and no other mail host'
        : failed
          ? `DNS failed: ${failed.detail ?? ''}`
          : 'no mail host found: no MX, no SRV, and none of mail., smtp., imap., pop., pop3. or the domain itself resolves',
    );
  }
  const total = discovery.candidates.reduce((sum, c) => sum + c.ports.length, 0);
  const spin = await spinner(report, total);
  const hostLimit = pLimit(4);
  const notProbed: string[] = [];
  let settled: (HostResult | undefined)[];
  try {
    settled = await Promise.all(
      discovery.candidates.map((candidate) =>
        hostLimit(() =>
          probeHost(candidate.host, {
            ...probe,
            ports: candidate.ports,
            concurrency: bounds.perHost,
            signal: probe.signal ? AbortSignal.any([probe.signal, stop]) : stop,
            ...(spin ? { onPortDone: (port) => spin.tick(port.port) } : {}),
          }).then(
            (result): HostResult => ({ ...result, publishedBy: candidate.sources }),
            (error: unknown) => {
              if (error instanceof ResolveError) return undefined; // its DNS answer is in the discovery records
              if (error instanceof AbortedError) {
                notProbed.push(candidate.host);
                return undefined;
              }
              throw error;
            },
          ),
        ),
      ),
    );
  } finally {
    spin?.stop();
  }
  const probed = settled.filter((r): r is HostResult => r !== undefined);
  if (stop.aborted) discovery.deadline = { ms: deadlineMs, notProbed };
  if (probed.length === 0) {
    // Nothing was probed, and a run that tested nothing must not pass.
    throw new ResolveError(
      discovery.domain,
      stop.aborted
        ? `the --deadline of ${deadlineMs} ms ran out before any host was probed`
        : `none of its mail hosts has an address (${discovery.candidates.map((c) => c.host).join(', ')})`,
    );
  }
  await finish(probed, report, true, discovery);
}
