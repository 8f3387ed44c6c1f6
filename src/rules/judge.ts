/**
 * Judging, in one call: every host's findings and works/safe verdicts, its expectations' verdicts, the
 * run's pass or fail, and (with discovery) the settings a mail client should use. Pure: results in,
 * judgement out; the renderers only show what this returns.
 */
import type { DomainExpectation, PortExpectation } from '../expect/parse.js';
import type { Discovery, HostResult } from '../types/index.js';
import { evaluate } from './evaluate.js';
import { checkDomainExpectations, checkExpectations } from './expectations.js';
import { type Severity, severityRank } from './finding.js';
import { type CheckedHost, type Outcome, outcome } from './outcome.js';
import { judgePublished, judgeRecords, type PublishedJudgement } from './published/judge.js';
import { type ClientSettings, chooseSettings } from './settings.js';

export interface JudgeOptions {
  /** What each port must do; unmet expectations fail the run. */
  expectations?: PortExpectation[] | undefined;
  /** With discovery: what the domain must publish; unmet, they fail the run as a port's do. */
  domainExpectations?: DomainExpectation | undefined;
  /** Findings at or above this severity fail the run (default high). */
  failOn?: Severity | undefined;
  /** With discovery: what DNS published, to choose client settings from. */
  discovery?: Discovery | undefined;
}

export interface Judgement {
  /** Each host's verdict, with its expectations' results when expectations were given. */
  hosts: CheckedHost[];
  /** Whether the run passes, and why not. */
  outcome: Outcome;
  /** With discovery: the settings a mail client should use, and where DNS and the servers disagree. */
  settings?: ClientSettings;
  /** With published sources: each published setting checked live, the drift findings, each client's pick. */
  published?: PublishedJudgement;
}

export function judge(results: HostResult[], options: JudgeOptions = {}): Judgement {
  const hosts: CheckedHost[] = results.map((result) => {
    const verdict = evaluate(result);
    return options.expectations
      ? { ...verdict, expectations: checkExpectations(verdict, options.expectations) }
      : verdict;
  });
  const failOn = options.failOn ?? 'high';
  const result = outcome(hosts, failOn);
  // Without the web sources (--no-web) the DNS records are still judged: a bad name, an SRV "." for what runs.
  const published = options.discovery?.published
    ? judgePublished(options.discovery, hosts)
    : options.discovery
      ? judgeRecords(options.discovery, hosts)
      : undefined;
  if (published) {
    // What a domain publishes fails the run as a port's findings do.
    const failing = published.findings.filter((f) => severityRank(f.severity) >= severityRank(failOn)).length;
    result.failingFindings += failing;
    result.failingPublished = failing;
    if (failing > 0) result.passed = false;
    if (options.discovery && options.domainExpectations) {
      published.expectations = checkDomainExpectations(options.discovery, options.domainExpectations);
      const failed = published.expectations.filter((e) => !e.passed).length;
      result.failedExpectations += failed;
      if (failed > 0) result.passed = false;
    }
  }
  const judgement: Judgement = { hosts, outcome: result };
  if (options.discovery) judgement.settings = chooseSettings(options.discovery, hosts);
  if (published) judgement.published = published;
  return judgement;
}
