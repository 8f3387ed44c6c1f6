/**
 * The judged result as a monitoring plugin's output (Nagios, Icinga, Naemon, Checkmk), by the Monitoring Plugins
 * development guidelines (https://www.monitoring-plugins.org/doc/guidelines.html): one status line of at most 80
 * characters, then `|` and the performance data (`label=value[UOM];[warn];[crit];[min];[max]`), then the long
 * output, one line per problem and per port; and the state's exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 * Pure: the judged result and the thresholds in, the text and the exit code out. A run that fails (`outcome.passed`
 * false, as every other format reports it) is never OK nor WARNING here: at least CRITICAL.
 */

import type { PortVerdict } from '../rules/evaluate.js';
import { severityRank } from '../rules/finding.js';
import { type CheckedHost, failsRun, type Outcome, portCounts } from '../rules/outcome.js';
import { sanitize } from './sanitize.js';

/** The plugin states, by their exit codes. */
export const pluginStates = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;
export type PluginState = (typeof pluginStates)[number];

/** Days and milliseconds that make a port WARNING or CRITICAL; a threshold left out is not checked. */
export interface PluginThresholds {
  /** WARNING when the leaf certificate has fewer whole days left than this. */
  warningDays?: number | undefined;
  /** CRITICAL when the leaf certificate has fewer whole days left than this (expired: negative days). */
  criticalDays?: number | undefined;
  /** WARNING when a working port took longer than this many ms to answer (its whole dialogue). */
  warningMs?: number | undefined;
  /** CRITICAL when a working port took longer than this many ms to answer. */
  criticalMs?: number | undefined;
}

/** The defaults for certificate days: 21 warns when a 30-day renewal (certbot's) did not happen, 7 is critical. */
export const defaultPluginThresholds = { warningDays: 21, criticalDays: 7 } as const;

export interface PluginOutput {
  /** The status line with its performance data, then the long output; ends with a line feed. */
  text: string;
  /** 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
  exitCode: 0 | 1 | 2 | 3;
}

/** The most characters of the status line before ` | `, as the guidelines advise. */
const statusWidth = 80;

interface Problem {
  /** 1 WARNING, 2 CRITICAL, 3 UNKNOWN (a port that could not be tested). */
  state: 1 | 2 | 3;
  /** A few words for the status line (`993 cert expires in 3 d`). */
  short: string;
  /** One line of long output. */
  long: string;
}

/** Text for the plugin's output: printable, one line, never a `|` (it would start the performance data). */
function plain(text: string): string {
  return sanitize(text).replace(/\|/g, '/');
}

/** Shortens to `max` characters, in ASCII (some monitoring front ends mangle other characters). */
function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 3))}...`;
}

function days(left: number): string {
  return left < 0 ? `cert expired ${-left} d ago` : `cert expires in ${left} d`;
}

/**
 * Whole days left to the certificate of the chain that expires first (the leaf when no chain was read), as the
 * cert-expiring-soon rule counts them; a certificate the chain holds but does not use is left out.
 */
function fewestDaysLeft(port: PortVerdict): number | undefined {
  const chain = port.tls?.chain?.filter((cert) => !cert.problems.includes('unrelated') && cert.validTo);
  if (!chain || chain.length === 0) return port.certificateDaysLeft;
  const ends = chain.map((cert) => Date.parse(cert.validTo ?? '')).filter((end) => Number.isFinite(end));
  if (ends.length === 0) return port.certificateDaysLeft;
  return Math.floor((Math.min(...ends) - Date.parse(port.startedAt)) / 86_400_000);
}

/** The status line: the state, the first of the worst problems, how many more. */
function statusLine(state: PluginState, summary: string, more: number): string {
  const head = `MAILPROBE ${state} - `;
  const tail = more > 0 ? ` (+${more} more)` : '';
  return `${head}${cut(summary, statusWidth - head.length - tail.length)}${tail}`;
}

/** The plugin output of one probe run. */
export function renderPlugin(
  hosts: CheckedHost[],
  outcome: Outcome,
  thresholds: PluginThresholds = defaultPluginThresholds,
): PluginOutput {
  const problems: Problem[] = [];
  const portLines: string[] = [];
  const perfdata: string[] = [];
  const { warningDays, criticalDays, warningMs, criticalMs } = thresholds;
  // Ports that work out of the ports, one count a port number over its addresses, as the human report's first line.
  let working = 0;
  let ports = 0;
  let probed = 0;
  for (const host of hosts) {
    const counts = portCounts(host);
    working += counts.working;
    ports += counts.ports;
    const met = (host.expectations ?? []).filter((e) => e.passed);
    /** The port was expected not to work (`--expect 25=closed`) and that expectation was met. */
    const downAsExpected = (port: number) =>
      met.some((e) => e.port === port && /^(state=(closed|refused|filtered)|fails)$/.test(e.expectation));
    const failing = failsRun(host, outcome.failOn);
    /** Port and address already CRITICAL by their status (they do not work, and were not expected not to). */
    const critical = new Set<string>();
    // One series per port: its slowest address, its certificate with the fewest days left.
    const series = new Map<number, { ms?: number; days?: number }>();
    for (const port of host.ports) {
      const where = `${hosts.length > 1 ? `${host.host} ` : ''}${port.port} (${port.service}) on ${port.address}`;
      const entry = series.get(port.port) ?? {};
      series.set(port.port, entry);
      // No route from here to the address's family: a fact about the monitoring host, which clients fall back from.
      if (port.noRouteFromHere) {
        portLines.push(`${where}: not tested (${cut(plain(port.statusDetail), 120)})`);
        continue;
      }
      probed++;
      if (port.status === 'local-error' || port.status === 'aborted') {
        portLines.push(`${where}: ${port.status}`);
        problems.push({
          state: 3,
          short: `${port.port} not tested (${port.status})`,
          long: `${where}: not tested, ${port.status} (${cut(plain(port.statusDetail), 120)})`,
        });
        continue;
      }
      if (!port.works) {
        portLines.push(`${where}: ${port.status}`);
        if (!downAsExpected(port.port)) {
          critical.add(`${port.port} ${port.address}`);
          problems.push({
            state: 2,
            short: `${port.port} ${port.status}`,
            long: `${where}: ${port.status} (${cut(plain(port.statusDetail), 120)})`,
          });
        }
        continue;
      }
      const ms = Math.round(port.timings.total);
      entry.ms = Math.max(entry.ms ?? 0, ms);
      const left = fewestDaysLeft(port);
      if (left !== undefined) entry.days = Math.min(entry.days ?? left, left);
      portLines.push(
        `${where}: works${port.safe ? ', safe' : ', not safe'}, ${ms} ms${left === undefined ? '' : `, ${days(left)}`}`,
      );
      if (left !== undefined) {
        const state =
          criticalDays !== undefined && left < criticalDays
            ? 2
            : warningDays !== undefined && left < warningDays
              ? 1
              : 0;
        if (state > 0)
          problems.push({
            state: state as 1 | 2,
            short: `${port.port} ${days(left)}`,
            long: `${where}: ${days(left)} (${state === 2 ? 'critical' : 'warning'} under ${state === 2 ? criticalDays : warningDays} d)`,
          });
      }
      const slow =
        criticalMs !== undefined && ms > criticalMs ? 2 : warningMs !== undefined && ms > warningMs ? 1 : 0;
      if (slow > 0)
        problems.push({
          state: slow as 1 | 2,
          short: `${port.port} answered in ${ms} ms`,
          long: `${where}: answered in ${ms} ms (${slow === 2 ? 'critical' : 'warning'} over ${slow === 2 ? criticalMs : warningMs} ms)`,
        });
    }
    for (const result of host.expectations ?? [])
      if (!result.passed)
        problems.push({
          state: 2,
          short: `${result.port} expected ${result.expectation}`,
          long: `${result.port}${result.address ? ` on ${result.address}` : ''}: expected ${result.expectation}, observed ${plain(result.observed)}`,
        });
    for (const finding of host.findings) {
      const rank = severityRank(finding.severity);
      // A finding that fails the run in every format (outcome.ts counts it) is CRITICAL here, on a port expected down
      // too; only no-port-works on a host expected down does not fail the run.
      const fails = failing(finding);
      if (!fails) {
        if (rank < severityRank('medium') || downAsExpected(finding.port)) continue;
        // The thresholds judge the certificates' days here, in place of the rule's fixed 14 days.
        if (finding.id === 'cert-expiring-soon') continue;
      }
      // A port that does not work is already CRITICAL by its status; its findings say why, in the other reports.
      if (critical.has(`${finding.port} ${finding.address}`)) continue;
      problems.push({
        state: fails ? 2 : 1,
        short: `${finding.port} ${finding.id}`,
        long: `${finding.port} (${finding.service}) on ${finding.address}: ${finding.id} (${finding.severity}): ${plain(finding.title)}`,
      });
    }
    for (const [port, { ms, days: left }] of series) {
      const label = hosts.length > 1 ? `${host.host}_${port}` : String(port);
      if (ms !== undefined)
        perfdata.push(`'${plain(label)} time'=${ms}ms;${warningMs ?? ''};${criticalMs ?? ''};0`);
      if (left !== undefined)
        perfdata.push(
          `'${plain(label)} cert days'=${left};${warningDays === undefined ? '' : `${warningDays}:`};${criticalDays === undefined ? '' : `${criticalDays}:`}`,
        );
    }
  }
  // A run that fails for what no port shows here (what a domain publishes, with discovery) is CRITICAL all the same.
  if (!outcome.passed && !outcome.interrupted && !problems.some((p) => p.state === 2)) {
    const published = outcome.failingPublished ?? 0;
    problems.push({
      state: 2,
      short:
        published > 0
          ? `${published} published-record finding${published === 1 ? '' : 's'} at or above ${outcome.failOn}`
          : 'the run failed',
      long: `the run failed: ${outcome.failingFindings} finding${outcome.failingFindings === 1 ? '' : 's'} at or above ${outcome.failOn}, ${outcome.failedExpectations} expectation${outcome.failedExpectations === 1 ? '' : 's'} not met${published > 0 ? ` (${published} about what the domain publishes)` : ''}`,
    });
  }
  perfdata.push(`'ports working'=${working};;;0;${ports}`);
  // The worst state: CRITICAL, then UNKNOWN (a port not tested), then WARNING, as Icinga ranks them.
  const rank = [0, 1, 3, 2];
  let code = problems.reduce<0 | 1 | 2 | 3>(
    (worst, p) => ((rank[p.state] ?? 0) > (rank[worst] ?? 0) ? p.state : worst),
    0,
  );
  let summary: string;
  let more = 0;
  if (outcome.interrupted) {
    code = 3;
    summary = 'interrupted before the probe ended';
  } else if (code > 0) {
    const worst = problems.filter((p) => p.state === code);
    summary = worst[0]?.short ?? '';
    more = problems.length - 1;
  } else if (probed === 0) {
    code = 3;
    summary = portLines.length > 0 ? 'no port could be tested from here (no route)' : 'no port was probed';
  } else {
    const fewest = [...hosts.flatMap((h) => h.ports.filter((p) => p.works).map(fewestDaysLeft))].filter(
      (d): d is number => d !== undefined,
    );
    const works = [...new Set(hosts.flatMap((h) => h.ports.filter((p) => p.works).map((p) => p.port)))];
    const list = works.length > 0 && works.length <= 4 ? ` (${works.join(', ')})` : '';
    summary = `${working} of ${ports} ports work${list}${fewest.length > 0 ? `, cert ${Math.min(...fewest)} d left` : ''}`;
  }
  const state = pluginStates[code];
  const long = [
    ...[2, 3, 1].flatMap((level) =>
      problems.filter((p) => p.state === level).map((p) => `${pluginStates[level]}: ${p.long}`),
    ),
    ...portLines,
  ];
  return {
    text: `${statusLine(state, summary, more)} | ${perfdata.join(' ')}\n${long.map((line) => `${line}\n`).join('')}`,
    exitCode: code,
  };
}
