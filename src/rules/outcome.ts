/** Pass or fail: findings at or above --fail-on and unmet expectations, over all hosts. */
import { type HostVerdict, portKey } from './evaluate.js';
import type { ExpectationResult } from './expectations.js';
import { type Finding, type Severity, severityRank } from './finding.js';

/** A host verdict with the expectations it was checked against (absent when none were given). */
export interface CheckedHost extends HostVerdict {
  /** The expectations' results, when expectations were given. */
  expectations?: ExpectationResult[];
}

/** Whether the run passes: no unmet expectation and no finding at or above `failOn`. */
export interface Outcome {
  /** The lowest severity that fails the run. */
  failOn: Severity;
  /** No unmet expectation and no finding at or above failOn (and no error). */
  passed: boolean;
  /** Findings at or above failOn, over all hosts. */
  failingFindings: number;
  /** Unmet expectations, over all hosts. */
  failedExpectations: number;
  /**
   * With discovery: how many of failingFindings are about what the domain publishes (not about a host's ports),
   * so the domain's verdict can say where its failure comes from.
   */
  failingPublished?: number;
  /** The run was interrupted (Ctrl-C): what the report shows is what was seen until then. */
  interrupted?: true;
  /** Why the run failed before or apart from the findings: bad input (exit 2), nothing to probe (exit 3). */
  error?: { exitCode: number; message: string };
}

/** Every port that does not work was expected not to (`--expect PORT=closed`, `fails`, ...), and was found so. */
function downAsExpected(host: CheckedHost): boolean {
  const met = (host.expectations ?? []).filter(
    (e) => e.passed && /^(state=(closed|refused|filtered)|fails)$/.test(e.expectation),
  );
  return met.length > 0 && host.ports.every((p) => p.works || met.some((e) => e.port === p.port));
}

/** Whether a finding of `host` fails the run at `failOn`: what outcome() counts, and plugin mode's CRITICAL. */
export function failsRun(host: CheckedHost, failOn: Severity): (finding: Finding) => boolean {
  const least = severityRank(failOn);
  // A host expected to be down that is down fails on its expectations, not on no-port-works.
  const down = host.expectations !== undefined && downAsExpected(host);
  return (finding) => severityRank(finding.severity) >= least && !(down && finding.id === 'no-port-works');
}

export function outcome(hosts: CheckedHost[], failOn: Severity): Outcome {
  let failingFindings = 0;
  let failedExpectations = 0;
  for (const host of hosts) {
    const fails = failsRun(host, failOn);
    for (const finding of host.findings) if (fails(finding)) failingFindings++;
    for (const result of host.expectations ?? []) if (!result.passed) failedExpectations++;
  }
  return {
    failOn,
    passed: failingFindings === 0 && failedExpectations === 0,
    failingFindings,
    failedExpectations,
  };
}

/**
 * One host's own pass or fail within a run: its findings and expectations only. With discovery, a host's verdict
 * says this, never the domain's (a finding about what the domain publishes does not fail a host).
 */
export function hostOutcome(host: CheckedHost, run: Outcome): Outcome {
  const own = outcome([host], run.failOn);
  return run.interrupted ? { ...own, passed: false, interrupted: true } : own;
}

/**
 * How many of a host's ports work from here and how many are safe, one count a port number (a port works when it
 * works on some address, and is safe when it is safe on every address): the counts of the report's first line.
 */
export function portCounts(host: Pick<CheckedHost, 'ports'>): {
  ports: number;
  working: number;
  safe: number;
} {
  const byPort = new Map<string, CheckedHost['ports']>();
  for (const port of host.ports) byPort.set(portKey(port), [...(byPort.get(portKey(port)) ?? []), port]);
  const all = [...byPort.values()];
  return {
    ports: all.length,
    working: all.filter((ports) => ports.some((p) => p.works)).length,
    safe: all.filter((ports) => ports.every((p) => p.safe === true)).length,
  };
}
