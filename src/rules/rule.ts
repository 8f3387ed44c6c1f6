/**
 * The shape of a rule and the evidence helpers every theme uses. A rule is one array entry: an id, a
 * severity, a one-line title, the reference that makes it a rule, and a pure check of the observed results.
 */
import { referenceFor } from '../reference/table.js';
import type { HostResult, PortResult } from '../types/index.js';
import type { Severity } from './finding.js';

/** What a rule returns for one port: its own severity may depend on the port's role. */
export interface Hit {
  severity?: Severity;
  detail: string;
  evidence: string[];
}

/** A pure rule: facts in, hits out. Rules never look at anything but the results. */
export interface Rule {
  id: string;
  /** The usual severity; a hit may raise or lower it (the README lists both). */
  severity: Severity;
  title: string;
  reference: string;
  check: (port: PortResult, host: HostResult) => Hit | undefined;
}

/** Server lines of the transcript that match, as evidence ("S: …"), at most five. */
export function serverLines(port: PortResult, match: (text: string) => boolean): string[] {
  return port.transcript
    .filter((entry) => entry.dir === 'S' && match(entry.text))
    .map((entry) => `S: ${entry.text}`)
    .slice(0, 5);
}

/** The last `count` server lines of the transcript, as evidence ("S: …"): the words a step ended on. */
export function lastServerLines(port: PortResult, count: number): string[] {
  const lines: string[] = [];
  for (let i = port.transcript.length - 1; i >= 0 && lines.length < count; i--) {
    const entry = port.transcript[i];
    if (entry?.dir === 'S') lines.unshift(`S: ${entry.text}`);
  }
  return lines;
}

/** The port's status and its detail, as evidence. */
export function statusEvidence(port: PortResult): string[] {
  return [`status ${port.status}${port.statusDetail ? `: ${port.statusDetail}` : ''}`];
}

/** The port starts in plaintext and upgrades with STARTTLS/STLS. */
export const plainStart = (port: PortResult) => port.expectedTls === 'starttls';
/** The port is the relay port (25), where some rules weigh less: STARTTLS is optional there (RFC 3207). */
export const isRelay = (port: PortResult) => referenceFor(port.service).role === 'relay';

export type { HostResult, PortResult };
