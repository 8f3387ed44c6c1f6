/** Probes, judges, checks expectations, renders, writes report files and sets the exit code. */
import {
  type CheckedHost,
  type Discovery,
  type HostResult,
  type JsonReport,
  judge,
  type Outcome,
  type PortExpectation,
  type ProbeOptions,
  probeDomain,
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

/**
 * From a domain or an address: the library's probeDomain, with the spinner, then the report. The deadline's
 * messages name the CLI option.
 */
export async function discoverAndReport(
  target: string,
  probe: ProbeOptions,
  report: ReportOptions,
  bounds: { perHost: number; maxHosts?: number | undefined; deadlineMs?: number | undefined },
): Promise<void> {
  let spin: Awaited<ReturnType<typeof spinner>>;
  try {
    const { discovery, hosts } = await probeDomain(target, {
      ...probe,
      perHost: bounds.perHost,
      ...(bounds.maxHosts ? { maxHosts: bounds.maxHosts } : {}),
      ...(bounds.deadlineMs ? { deadlineMs: bounds.deadlineMs } : {}),
      onDiscovered: async (found) => {
        spin = await spinner(
          report,
          found.candidates.reduce((sum, c) => sum + c.ports.length, 0),
        );
      },
      onPortDone: (port) => spin?.tick(port.port),
    });
    spin?.stop();
    await finish(hosts, report, true, discovery);
  } catch (error) {
    spin?.stop();
    if (error instanceof ResolveError && /deadline of \d+ ms/.test(error.reason))
      throw new ResolveError(error.host, error.reason.replace('deadline', '--deadline'), error.notFound);
    throw error;
  }
}
