/** Probes, judges, checks expectations, renders, writes report files and sets the exit code. */

import {
  buildPublication,
  type CheckedHost,
  type Discovery,
  type DiscoveryReport,
  type DomainProbeOptions,
  type Format,
  type HostResult,
  judge,
  type Outcome,
  type PluginThresholds,
  type PortExpectation,
  type ProbeOptions,
  probeDomain,
  probeHost,
  ResolveError,
  renderPlugin,
  renderPublication,
  renderReport,
  type Severity,
} from '../index.js';
import { renderChainsPem } from '../render/pem.js';
import { exitCodes, failPlugin } from './exit.js';
import { writeReportFile } from './files.js';
import { interruption } from './interrupt.js';
import { useColor } from './options.js';
import { type Progress, spinner } from './spinner.js';

export type { Format } from '../render/report.js';

export interface ReportOptions {
  /** What goes to stdout: a report, or a monitoring plugin's status line (with `plugin`'s thresholds). */
  format: Format | 'plugin';
  /** --format plugin's thresholds. */
  plugin?: PluginThresholds | undefined;
  /** Reports written to files as well. */
  files: Partial<Record<'json' | 'junit' | 'markdown', string>>;
  verbose: boolean;
  /** The human report's first lines only (the verdict, what to use, what to fix first). */
  quiet?: boolean | undefined;
  color: boolean | undefined;
  /** Findings at or above this severity fail the run. */
  failOn: Severity;
  expectations?: PortExpectation[] | undefined;
  /** Print each certificate chain as sent, in PEM, on stdout instead of the report (--show-certs). */
  showCerts?: boolean | undefined;
}

/** The report in `format`; the human one coloured as asked and fitted to the terminal. */
function render(
  format: Format,
  hosts: CheckedHost[],
  result: Outcome,
  report: ReportOptions,
  discovery?: DiscoveryReport,
): string {
  if (format !== 'human') return renderReport(format, hosts, result, { color: false }, discovery);
  const color = useColor(report.color, process.stdout);
  // Fitted to the terminal; through a pipe, to COLUMNS when it is set (as shells and CI runners set it).
  const terminal = process.stdout.isTTY ? process.stdout.columns : Number(process.env.COLUMNS);
  const width = Number.isFinite(terminal) && terminal > 0 ? terminal : undefined;
  return renderReport(
    format,
    hosts,
    result,
    { color, verbose: report.verbose, quiet: report.quiet, width },
    discovery,
  );
}

/** Judges, checks expectations, writes the report files and stdout, sets the exit code. */
async function finish(
  results: HostResult[],
  report: ReportOptions,
  exitOnFailure: boolean,
  discovery?: Discovery,
  interrupted = false,
) {
  if (interrupted)
    for (const result of results)
      result.notes = [
        ...(result.notes ?? []),
        'interrupted (Ctrl-C): ports still being probed were stopped and show as aborted',
      ];
  const {
    hosts,
    outcome: summary,
    settings,
    published,
  } = judge(results, {
    expectations: report.expectations,
    failOn: report.failOn,
    discovery,
  });
  const extra =
    discovery && settings
      ? { ...discovery, settings, ...(published ? { publishedCheck: published } : {}) }
      : undefined;
  if (interrupted) Object.assign(summary, { passed: false, interrupted: true });
  for (const [format, file] of Object.entries(report.files) as ['json' | 'junit' | 'markdown', string][]) {
    writeReportFile(file, render(format, hosts, summary, report, extra));
  }
  if (report.format === 'plugin') {
    // A monitoring plugin's exit code is its state (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), interrupted or not.
    const plugin = renderPlugin(hosts, summary, report.plugin);
    process.stdout.write(plugin.text);
    process.exitCode = exitOnFailure ? plugin.exitCode : exitCodes.ok;
    return;
  }
  process.stdout.write(
    report.showCerts ? renderChainsPem(results) : render(report.format, hosts, summary, report, extra),
  );
  process.exitCode = interrupted
    ? exitCodes.interrupted
    : exitOnFailure && !summary.passed
      ? exitCodes.findings
      : exitCodes.ok;
}

/** The CLI's one job for a single host, shared by the default command and demo. Uses only the public API. */
export async function probeAndReport(
  host: string,
  probe: ProbeOptions,
  report: ReportOptions,
  exitOnFailure = true,
): Promise<void> {
  const stop = interruption();
  let spin: Progress | undefined;
  let result: HostResult;
  try {
    result = await probeHost(host, {
      ...probe,
      signal: probe.signal ? AbortSignal.any([probe.signal, stop.signal]) : stop.signal,
      // The spinner counts what is really probed: the ports times the addresses resolved.
      onResolved: (addresses) => {
        spin = spinner(report, (probe.ports?.length ?? 7) * addresses.length, probe.limits);
      },
      onPhase: (where, phase) => spin?.phase(where.port, where.address, phase, where.service),
      onPortDone: (port) => spin?.done(port.port, port.address),
    });
  } finally {
    spin?.stop();
    stop.release();
  }
  await finish([result], report, exitOnFailure, undefined, stop.interrupted());
}

/** What the commands that start from a domain (an address, --discover, publish) pass on to probeDomain. */
interface DomainBounds {
  maxHosts?: number | undefined;
  deadlineMs?: number | undefined;
  published?: boolean;
  ispdb?: string | false | undefined;
  /** --mta-sts: look up MTA-STS and TLS-RPT for the domain. */
  mtaSts?: boolean;
}

/** The probe options, Ctrl-C's signal joined to the caller's, and the domain bounds that were given. */
function domainOptions(
  probe: ProbeOptions,
  interrupt: AbortSignal,
  bounds: DomainBounds,
): DomainProbeOptions {
  return {
    ...probe,
    signal: probe.signal ? AbortSignal.any([probe.signal, interrupt]) : interrupt,
    ...(bounds.maxHosts ? { maxHosts: bounds.maxHosts } : {}),
    ...(bounds.deadlineMs ? { deadlineMs: bounds.deadlineMs } : {}),
    ...(bounds.published === false ? { published: false } : {}),
    ...(bounds.ispdb !== undefined ? { ispdb: bounds.ispdb } : {}),
    ...(bounds.mtaSts ? { mtaSts: true } : {}),
  };
}

/**
 * From a domain or an address: the library's probeDomain, with the spinner, then the report. The deadline's
 * messages name the CLI option.
 */
export async function discoverAndReport(
  target: string,
  probe: ProbeOptions,
  report: ReportOptions,
  bounds: DomainBounds & { perHost: number },
): Promise<void> {
  let spin: Progress | undefined;
  const stop = interruption();
  try {
    const { discovery, hosts } = await probeDomain(target, {
      ...domainOptions(probe, stop.signal, bounds),
      perHost: bounds.perHost,
      onDiscovered: (found) => {
        spin = spinner(
          report,
          found.candidates.reduce((sum, c) => sum + c.ports.length, 0),
          probe.limits,
        );
      },
      onPhase: (where, phase) => spin?.phase(where.port, where.address, phase, where.service),
      onPortDone: (port) => spin?.done(port.port, port.address),
    });
    spin?.stop();
    stop.release();
    await finish(hosts, report, true, discovery, stop.interrupted());
  } catch (error) {
    spin?.stop();
    stop.release();
    if (stop.interrupted() && report.format === 'plugin') {
      failPlugin('interrupted (Ctrl-C) before any host was probed');
      return;
    }
    if (stop.interrupted()) {
      process.stderr.write('mailprobe: interrupted (Ctrl-C) before any host was probed\n');
      process.exitCode = exitCodes.interrupted;
      return;
    }
    if (error instanceof ResolveError && /deadline of \d+ ms/.test(error.reason))
      throw new ResolveError(error.host, error.reason.replace('deadline', '--deadline'), error.notFound);
    throw error;
  }
}

/** `mailprobe publish`: discover and probe as for an address, then print what to publish and the difference. */
export async function publishAndReport(
  target: string,
  probe: ProbeOptions,
  options: DomainBounds & { json: boolean },
): Promise<void> {
  const stop = interruption();
  try {
    const { discovery, hosts } = await probeDomain(target, domainOptions(probe, stop.signal, options));
    stop.release();
    if (stop.interrupted()) {
      process.stderr.write('mailprobe: interrupted (Ctrl-C): nothing to publish from a partial run\n');
      process.exitCode = exitCodes.interrupted;
      return;
    }
    const { hosts: verdicts } = judge(hosts, { discovery });
    const publication = buildPublication(discovery, verdicts);
    process.stdout.write(
      options.json ? `${JSON.stringify(publication, null, 2)}\n` : renderPublication(publication),
    );
    process.exitCode =
      publication.offers.length === 0
        ? exitCodes.resolve
        : publication.matches
          ? exitCodes.ok
          : exitCodes.findings;
  } catch (error) {
    stop.release();
    if (stop.interrupted()) {
      process.stderr.write('mailprobe: interrupted (Ctrl-C) before any host was probed\n');
      process.exitCode = exitCodes.interrupted;
      return;
    }
    throw error;
  }
}
