import type { ExpectationResult } from '../expect/expectations.js';
import type { HostVerdict } from '../rules/evaluate.js';
import { type Severity, severityRank } from '../rules/finding.js';

/** A host verdict with the expectations it was checked against (absent when none were given). */
export interface CheckedHost extends HostVerdict {
  expectations?: ExpectationResult[];
}

/** Whether the run passes: no unmet expectation and no finding at or above `failOn`. */
export interface Outcome {
  failOn: Severity;
  passed: boolean;
  /** Findings at or above failOn, over all hosts. */
  failingFindings: number;
  /** Unmet expectations, over all hosts. */
  failedExpectations: number;
}

export function outcome(hosts: CheckedHost[], failOn: Severity): Outcome {
  const failingFindings = hosts
    .flatMap((host) => host.findings)
    .filter((finding) => severityRank(finding.severity) >= severityRank(failOn)).length;
  const failedExpectations = hosts
    .flatMap((host) => host.expectations ?? [])
    .filter((result) => !result.passed).length;
  return {
    failOn,
    passed: failingFindings === 0 && failedExpectations === 0,
    failingFindings,
    failedExpectations,
  };
}
