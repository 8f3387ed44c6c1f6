/** The JSON report (schema v1, schema/report-1.schema.json): the judged hosts as data, exact server text kept. */
import { invisibleControls } from '../limits.js';
import { isoTime } from '../net/clock.js';
import { referenceVersion } from '../reference/table.js';
import type { CheckedHost, Outcome } from '../rules/outcome.js';
import type { PublishedJudgement } from '../rules/published/judge.js';
import type { ClientSettings } from '../rules/settings.js';
import type { Discovery } from '../types/index.js';
import { version } from '../version.js';

/** The JSON report's schema version. Bumped on any change that is not purely additive (see README). */
export const schemaVersion = 1;

export interface JsonReport {
  /** Batch mode only: the input line this document answers. */
  input?: string;
  schemaVersion: typeof schemaVersion;
  tool: { name: 'mailprobe'; version: string };
  /** Version of the reference table the verdicts were judged against. */
  reference: string;
  generatedAt: string;
  /** Whether the run passed, and why not. */
  result: Outcome;
  /** Only when a domain or an address was given: what DNS said and the settings chosen. */
  discovery?: Discovery & { settings: ClientSettings; publishedCheck?: PublishedJudgement };
  hosts: CheckedHost[];
}

export function jsonReport(
  hosts: CheckedHost[],
  result: Outcome,
  discovery?: JsonReport['discovery'],
): JsonReport {
  // Filled in, not spread: a property after a spread costs about 1 µs on Node 20 (CONTRIBUTING, "Hot paths").
  const report: JsonReport = {
    schemaVersion,
    tool: { name: 'mailprobe', version: version() },
    reference: referenceVersion,
    generatedAt: isoTime(),
    result,
  } as JsonReport;
  if (discovery) report.discovery = discovery;
  report.hosts = hosts;
  return report;
}

/** The JSON report of a run that ended before any host was judged (bad input, a host that does not resolve). */
export function failureReport(
  message: string,
  exitCode: number,
  failOn: Outcome['failOn'] = 'high',
): JsonReport {
  return jsonReport([], {
    failOn,
    passed: false,
    failingFindings: 0,
    failedExpectations: 0,
    error: { exitCode, message },
  });
}

/** That report as the CLI prints it. */
export function renderJsonFailure(
  message: string,
  exitCode: number,
  failOn: Outcome['failOn'] = 'high',
): string {
  return `${JSON.stringify(failureReport(message, exitCode, failOn), null, 2)}\n`;
}

const notInert = new RegExp(`[${invisibleControls}]`, 'u');
const notInertAll = new RegExp(notInert.source, 'gu');

/** A character as JSON's \\u escapes: one, or a surrogate pair's two for a code point beyond U+FFFF. */
const escaped = (char: string) => {
  let out = '';
  for (let i = 0; i < char.length; i++) out += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
};

/**
 * JSON text made inert when printed, still exact when parsed: JSON.stringify escapes C0 controls itself; DEL, C1
 * controls (0x9B acts as CSI on some terminals) and bidi/zero-width controls are escaped here too. For every JSON
 * output that carries text from outside (a server's words, a web page, DNS): the report, batch's documents,
 * egress, publish. A document with none of them (nearly every one) is only scanned.
 */
export function inertJson(text: string): string {
  return notInert.test(text) ? text.replace(notInertAll, escaped) : text;
}

/** The JSON report: exact server text, inert when printed (inertJson). */
export function renderJson(
  hosts: CheckedHost[],
  result: Outcome,
  discovery?: JsonReport['discovery'],
): string {
  return `${inertJson(JSON.stringify(jsonReport(hosts, result, discovery), null, 2))}\n`;
}
