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
  type Phase,
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
  /** A port on an address entered a phase (its first phase when it starts). */
  phase: (port: number, address: string, phase: Phase) => void;
  /** A port on an address is done. */
  done: (port: number, address: string) => void;
  stop: () => void;
}

/** What a port in each phase is waiting for, in the spinner's words. */
const waitingFor: Readonly<Record<Phase, string>> = {
  dns: 'resolving',
  connect: 'connecting',
  tls: 'in TLS handshake',
  greeting: 'waiting for greeting',
  capabilities: 'waiting for capabilities',
  starttls: 'in STARTTLS',
  check: 'running checks',
  quit: 'closing',
};

/**
 * The spinner's line: how many ports are done, then what each unfinished port waits for and for how long, the
 * longest first (`probing: 6/7 done · 143 waiting for greeting 4 s`); a port probed on several addresses shows
 * once, with its longest wait. At most three ports are named.
 */
export function progressLine(
  done: number,
  total: number,
  waits: Iterable<{ port: number; phase: Phase; since: number }>,
  now: number,
): string {
  const longest = new Map<number, { port: number; phase: Phase; since: number }>();
  for (const wait of waits) {
    const seen = longest.get(wait.port);
    if (!seen || wait.since < seen.since) longest.set(wait.port, wait);
  }
  const ordered = [...longest.values()].sort((a, b) => a.since - b.since || a.port - b.port);
  const named = ordered
    .slice(0, 3)
    .map(
      (wait) =>
        `${wait.port} ${waitingFor[wait.phase]} ${Math.max(0, Math.floor((now - wait.since) / 1000))} s`,
    );
  if (ordered.length > 3) named.push(`+${ordered.length - 3} more`);
  const head =
    done === 0 ? `probing ${total} port${total === 1 ? '' : 's'}` : `probing: ${done}/${total} done`;
  return [head, ...named].join(' · ');
}

/**
 * A spinner on stderr, only for people: an interactive terminal of some width, human output, not in CI, colour
 * as the report's (NO_COLOR, --no-color, --color). ora is loaded only once probing has lasted 150 ms, and is told
 * to leave stdin alone: in raw mode Ctrl-C would never reach the process. ora 9.4 loops forever on a terminal
 * that reports 0 columns, so there is no spinner there. Its line says what each unfinished port waits for, and is
 * redrawn every second.
 */
function spinner(report: ReportOptions, total: number): Progress | undefined {
  if (report.format !== 'human' || process.env.CI !== undefined) return undefined;
  let done = 0;
  let stopped = false;
  let spin: { text: string; stop: () => unknown } | undefined;
  let redraw: NodeJS.Timeout | undefined;
  const waits = new Map<string, { port: number; phase: Phase; since: number }>();
  const text = () => {
    const line = progressLine(done, total, waits.values(), performance.now());
    // One line: ora redraws in place only what fits (the spinner and a space take 2 columns).
    const room = (process.stderr.columns ?? 80) - 3;
    return line.length > room ? `${line.slice(0, Math.max(0, room - 1))}…` : line;
  };
  const show = () => {
    // process.stderr is made on first use (a tty.WriteStream on a terminal, about 2 ms): only now, once the
    // sockets are open, is it looked at.
    if (process.stderr.isTTY !== true || !((process.stderr.columns ?? 0) > 0)) return;
    const color = useColor(report.color, process.stderr);
    import('ora').then(
      ({ default: ora }) => {
        if (stopped) return;
        spin = ora({
          text: text(),
          stream: process.stderr,
          discardStdin: false,
          color: color ? 'cyan' : false,
          isEnabled: true,
        }).start();
        // The seconds of each wait move on even when no port changes phase.
        redraw = setInterval(() => {
          if (spin) spin.text = text();
        }, 1000);
        redraw.unref();
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
    phase: (port, address, phase) => {
      waits.set(`${port} ${address}`, { port, phase, since: performance.now() });
      if (spin) spin.text = text();
    },
    done: (port, address) => {
      done++;
      waits.delete(`${port} ${address}`);
      if (spin) spin.text = text();
    },
    stop: () => {
      stopped = true;
      clearImmediate(arming);
      if (timer !== undefined) clearTimeout(timer);
      if (redraw !== undefined) clearInterval(redraw);
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
      onPhase: (where, phase) => spin?.phase(where.port, where.address, phase),
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
      onPhase: (where, phase) => spin?.phase(where.port, where.address, phase),
      onPortDone: (port) => spin?.done(port.port, port.address),
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
