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

/** The server families a fix is given for (src/rules/fixes.ts). */
export type ServerFamily = 'postfix' | 'dovecot' | 'exim';

/** One setting of one server that removes a finding. */
export interface ServerFix {
  /** The server software. */
  server: ServerFamily;
  /** The file (or the part of it) the setting goes in. */
  file: string;
  /** The setting, as it is typed in that file. */
  setting: string;
  /** When it applies only to some versions or builds, or needs a companion setting. */
  note?: string;
}
