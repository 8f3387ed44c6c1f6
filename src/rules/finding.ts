import type { ServerFix } from './fixes.js';

/** Severity scale, lowest first (as testssl.sh uses it). */
export const severities = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];

export function severityRank(severity: Severity): number {
  return severities.indexOf(severity);
}

/** What every finding carries, whatever it is about: a port (Finding) or what a domain publishes. */
export interface FindingBase {
  /** Stable kebab-case id; the README lists them all. */
  id: string;
  /** How bad it is: info, low, medium, high, critical. */
  severity: Severity;
  /** One line: what is wrong. */
  title: string;
  /** What was seen and what to do about it. */
  detail: string;
  /** Observed facts that make the finding: transcript lines, status details, certificate fields. */
  evidence: string[];
  /** The RFC section or reference that makes it a finding. */
  reference: string;
}

/** A judgement about one port (or the host), with the evidence that makes it and the reference behind it. */
export interface Finding extends FindingBase {
  /** The port it concerns. */
  port: number;
  /** The service the port was judged as. */
  service: string;
  /** The address it was seen on. */
  address: string;
  /**
   * The settings that remove it, in the servers that speak the port's protocol (src/rules/fixes.ts); absent when
   * no setting causes it.
   */
  fixes?: ServerFix[];
}
