/**
 * Probes, then (./finish.js) judges, checks expectations, renders, writes report files and sets the exit code.
 */

import {
  type DomainProbeOptions,
  type HostResult,
  type ProbeOptions,
  probeDomain,
  probeHost,
  ResolveError,
  type RoundTripOptions,
  trustFrom,
} from '../index.js';
import { exitCodes, failPlugin } from './exit.js';
import type { ReportOptions } from './finish.js';
import { interruption } from './interrupt.js';
import { type Progress, spinner } from './spinner.js';

export type { Format } from '../render/report.js';
export type { ReportOptions } from './finish.js';

/**
 * The judging and rendering (./finish.js: the rules and renderers, in the package's bin the bundle
 * dist/cli/judge.cjs), loaded once the first sockets are being opened (an immediate after the probe starts):
 * not before the first socket, and before the answers need judging.
 */
let finishing: Promise<typeof import('./finish.js')> | undefined;
function loadFinish(): Promise<typeof import('./finish.js')> {
  finishing ??= import('./finish.js');
  return finishing;
}
function loadFinishSoon(): NodeJS.Immediate {
  // A failure here is the caller's to report when it awaits loadFinish(); a probe that threw first never does.
  return setImmediate(() => loadFinish().catch(() => {}));
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
  const preload = loadFinishSoon();
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
    clearImmediate(preload);
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
  const { finish } = await loadFinish();
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
  const preload = loadFinishSoon();
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
    const { finish } = await loadFinish();
    await finish(hosts, report, true, discovery, stop.interrupted());
  } catch (error) {
    spin?.stop();
    stop.release();
    clearImmediate(preload);
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
  const preload = loadFinishSoon();
  try {
    const { discovery, hosts } = await probeDomain(target, domainOptions(probe, stop.signal, options));
    stop.release();
    if (stop.interrupted()) {
      process.stderr.write('mailprobe: interrupted (Ctrl-C): nothing to publish from a partial run\n');
      process.exitCode = exitCodes.interrupted;
      return;
    }
    const { publish } = await loadFinish();
    publish(discovery, hosts, options);
  } catch (error) {
    stop.release();
    clearImmediate(preload);
    if (stop.interrupted()) {
      process.stderr.write('mailprobe: interrupted (Ctrl-C) before any host was probed\n');
      process.exitCode = exitCodes.interrupted;
      return;
    }
    throw error;
  }
}
