/** Probes, judges, checks expectations, renders, writes report files and sets the exit code. */

import {
  buildPublication,
  type CheckedHost,
  type Discovery,
  type DomainProbeOptions,
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
  renderOpenMetrics,
  renderPublication,
  renderPublishedCheck,
  renderSettings,
  type Severity,
} from '../index.js';
import { exitCodes } from './exit.js';
import { writeReportFile } from './files.js';
import { useColor } from './options.js';

export type Format = 'human' | 'json' | 'junit' | 'markdown' | 'openmetrics';

export interface ReportOptions {
  /** What goes to stdout. */
  format: Format;
  /** Reports written to files as well. */
  files: Partial<Record<'json' | 'junit' | 'markdown', string>>;
  verbose: boolean;
  /** The human report's first lines only (the verdict, what to use, what to fix first). */
  quiet?: boolean | undefined;
  color: boolean | undefined;
  /** Findings at or above this severity fail the run. */
  failOn: Severity;
  expectations?: PortExpectation[] | undefined;
}

type DiscoveryReport = NonNullable<JsonReport['discovery']>;

/** How long a probe runs before the spinner shows: a quick run never loads ora, and no socket waits for it. */
const spinnerDelayMs = 150;

/** What the report shows while probing. */
export interface Progress {
  tick: (port: number) => void;
  stop: () => void;
}

/**
 * A spinner on stderr, only for people: an interactive terminal of some width, human output, not in CI, colour
 * as the report's (NO_COLOR, --no-color, --color). ora is loaded only once probing has lasted 150 ms, and is told
 * to leave stdin alone: in raw mode Ctrl-C would never reach the process. ora 9.4 loops forever on a terminal
 * that reports 0 columns, so there is no spinner there.
 */
function spinner(report: ReportOptions, total: number): Progress | undefined {
  if (report.format !== 'human' || process.env.CI !== undefined) return undefined;
  let done = 0;
  let last: number | undefined;
  let stopped = false;
  let spin: { text: string; stop: () => unknown } | undefined;
  const text = () =>
    last === undefined
      ? `probing ${total} port${total === 1 ? '' : 's'}`
      : `probing: ${done}/${total} done (last ${last})`;
  const show = () => {
    // process.stderr is made on first use (a tty.WriteStream on a terminal, about 2 ms): only now, once the
    // sockets are open, is it looked at.
    if (process.stderr.isTTY !== true || !((process.stderr.columns ?? 0) > 0)) return;
    const color = useColor(report.color, process.stderr);
    import('ora').then(
      ({ default: ora }) => {
        if (!stopped)
          spin = ora({
            text: text(),
            stream: process.stderr,
            discardStdin: false,
            color: color ? 'cyan' : false,
            isEnabled: true,
          }).start();
      },
      () => {}, // no spinner is no loss
    );
  };
  // Armed once the sockets are being opened: the first timer a process sets costs about 0.3 ms.
  let timer: NodeJS.Timeout | undefined;
  const arming = setImmediate(() => {
    timer = setTimeout(show, spinnerDelayMs);
    timer.unref();
  });
  arming.unref();
  return {
    tick: (port: number) => {
      done++;
      last = port;
      if (spin) spin.text = text();
    },
    stop: () => {
      stopped = true;
      clearImmediate(arming);
      if (timer !== undefined) clearTimeout(timer);
      spin?.stop();
    },
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
  if (format === 'junit') return renderJunit(hosts, result, discovery?.publishedCheck);
  if (format === 'markdown') return renderMarkdown(hosts, result, discovery?.publishedCheck);
  if (format === 'openmetrics') return renderOpenMetrics(hosts, result);
  const color = useColor(report.color, process.stdout);
  // Fitted to the terminal; through a pipe, to COLUMNS when it is set (as shells and CI runners set it).
  const terminal = process.stdout.isTTY ? process.stdout.columns : Number(process.env.COLUMNS);
  const width = Number.isFinite(terminal) && terminal > 0 ? terminal : undefined;
  const body = hosts
    .map((host) =>
      renderHuman(host, { color, verbose: report.verbose, quiet: report.quiet, width, outcome: result }),
    )
    .join('\n');
  if (!discovery) return body;
  return `${renderDiscoveryHead(discovery, { color })}${body}\n${renderSettings(discovery.settings, { color })}${
    discovery.publishedCheck ? renderPublishedCheck(discovery.publishedCheck, { color }) : ''
  }`;
}

/**
 * Ctrl-C: the first SIGINT aborts every probe through the library's AbortSignal, so the report of what was seen
 * so far is printed (marked interrupted) and the run exits 130; a second one exits at once.
 */
function interruption(): { signal: AbortSignal; interrupted: () => boolean; release: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(exitCodes.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  return {
    signal: controller.signal,
    interrupted: () => controller.signal.aborted,
    release: () => process.off('SIGINT', onSignal),
  };
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
  process.stdout.write(render(report.format, hosts, summary, report, extra));
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
        spin = spinner(report, (probe.ports?.length ?? 7) * addresses.length);
      },
      onPortDone: (port) => spin?.tick(port.port),
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
        );
      },
      onPortDone: (port) => spin?.tick(port.port),
    });
    spin?.stop();
    stop.release();
    await finish(hosts, report, true, discovery, stop.interrupted());
  } catch (error) {
    spin?.stop();
    stop.release();
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
