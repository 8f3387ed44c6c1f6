/** Probes, judges, checks expectations, renders, writes report files and sets the exit code. */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '../errors.js';
import {
  buildPublication,
  type CheckedHost,
  type Discovery,
  type DiscoveryReport,
  type DomainExpectation,
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
  type RoundTripOptions,
  renderPlugin,
  renderPublication,
  renderReport,
  type Severity,
  trustFrom,
} from '../index.js';
import { renderChainsPem } from '../render/pem.js';
import { publicationFiles, srvZone } from '../render/publication.js';
import { exitCodes, failPlugin } from './exit.js';
import { WriteError, writeNewFile, writeReportFile } from './files.js';
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
  files: Partial<Record<'json' | 'junit' | 'markdown' | 'html', string>>;
  verbose: boolean;
  /** The human report's first lines only (the verdict, what to use, what to fix first). */
  quiet?: boolean | undefined;
  color: boolean | undefined;
  /** Findings at or above this severity fail the run. */
  failOn: Severity;
  expectations?: PortExpectation[] | undefined;
  /** With discovery: what the domain must publish (--expect mta-sts=MODE). */
  domainExpectations?: DomainExpectation | undefined;
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
    domainExpectations: report.domainExpectations,
    failOn: report.failOn,
    discovery,
  });
  const extra =
    discovery && settings
      ? { ...discovery, settings, ...(published ? { publishedCheck: published } : {}) }
      : undefined;
  if (interrupted) Object.assign(summary, { passed: false, interrupted: true });
  for (const [format, file] of Object.entries(report.files) as [
    'json' | 'junit' | 'markdown' | 'html',
    string,
  ][]) {
    if (format === 'html') {
      // The HTML renderer is a bundle of its own (dist/cli/html.cjs), loaded only when a page is asked for.
      const { renderHtml, shellCommand } = await import('../render/html.js');
      const command = shellCommand(['mailprobe', ...process.argv.slice(2)]);
      writeReportFile(file, renderHtml(hosts, summary, extra, { command }));
    } else writeReportFile(file, render(format, hosts, summary, report, extra));
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
  probe: ProbeOptions & { roundTrip?: Omit<RoundTripOptions, 'credential' | 'trust'> | undefined },
  report: ReportOptions,
  exitOnFailure = true,
): Promise<void> {
  const stop = interruption();
  let spin: Progress | undefined;
  let result: HostResult;
  // The round trip connects again: the roots are resolved once for the probe and for it.
  const trust = probe.roundTrip ? (probe.trust ?? trustFrom(probe.ca)) : probe.trust;
  try {
    result = await probeHost(host, {
      ...probe,
      ...(trust ? { trust } : {}),
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
  }
  try {
    // The round trip (--round-trip) after the login check: submit, then watch the mailbox.
    // Loaded only then: a probe without it never evaluates the round trip (start-up, CONTRIBUTING).
    if (probe.roundTrip && probe.login && !stop.interrupted()) {
      const { runRoundTrip } = await import('../modes/roundtrip.js');
      result.roundTrip = await runRoundTrip(result, {
        ...probe.roundTrip,
        credential: probe.login.credential,
        trust: trust ?? trustFrom(probe.ca),
        limits: probe.limits,
        ehloName: probe.ehloName,
        signal: stop.signal,
      });
    }
  } finally {
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
  options: DomainBounds & { json: boolean; writeDir?: string; overwrite?: boolean },
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
    const written =
      options.writeDir !== undefined && publication.autoconfig && publication.autodiscover
        ? writePublication(options.writeDir, publication, options.overwrite === true)
        : undefined;
    process.stdout.write(
      options.json
        ? `${JSON.stringify(written ? { ...publication, written } : publication, null, 2)}\n`
        : renderPublication(publication, written),
    );
    if (options.writeDir !== undefined && !written)
      process.stderr.write(
        `mailprobe: nothing written to ${options.writeDir}: no port is fit to publish (fix the servers first)\n`,
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

/**
 * `publish --write-dir`: the three documents as files (the folder made when missing, not its parents). Each is written whole or
 * not at all; an existing file is replaced only with --overwrite (else exit 2), a write error is exit 74.
 */
function writePublication(
  dir: string,
  publication: Parameters<typeof renderPublication>[0],
  overwrite: boolean,
): Record<keyof typeof publicationFiles, string> {
  const path = (name: string) => join(dir, name);
  try {
    // Not { recursive: true }: Node's loops forever on some paths (/proc/x); a missing parent is a write error.
    mkdirSync(dir);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw new WriteError(dir, error);
  }
  const documents = {
    autoconfig: publication.autoconfig ?? '',
    autodiscover: publication.autodiscover ?? '',
    srv: srvZone(publication),
  };
  const written = {} as Record<keyof typeof publicationFiles, string>;
  for (const kind of Object.keys(publicationFiles) as (keyof typeof publicationFiles)[]) {
    const target = path(publicationFiles[kind]);
    if (overwrite) writeReportFile(target, documents[kind]);
    else writeNewFile(target, documents[kind], '--overwrite');
    written[kind] = target;
  }
  return written;
}
