/** One host's verdict: every rule over every port, then works/safe per port and the recommendation. */
import { referenceFor } from '../reference/table.js';
import type { HostResult, PortResult, Service } from '../types/index.js';
import {
  loginWaysBeforeTls,
  stillOpen,
  submissionWithoutLogin,
  upgradeCommand,
  wholeDaysLeft,
} from './facts.js';
import { type Finding, type Severity, severityRank } from './finding.js';
import { fixesFor } from './fixes.js';
import { rules } from './rules.js';

/** One port on one address, with the judgement and what its readers need, so renderers only render. */
export interface PortVerdict extends PortResult {
  /** How the reference table says this service should behave ("STARTTLS required", "implicit TLS"). */
  expected: string;
  /** Whole days the leaf certificate has left at the probe (negative once expired), when one was seen. */
  certificateDaysLeft?: number;
  /**
   * Before TLS, the server lets a client send a password as is (a password mechanism, LOGIN or USER), unless
   * `--check auth-required` proved each such way refused.
   */
  passwordBeforeTls: boolean;
  /**
   * Before TLS, the server offers some way to log in (a password, a challenge-response such as CRAM-MD5 or
   * APOP) that `--check auth-required` did not prove refused.
   */
  loginBeforeTls: boolean;
  /** The mail protocol was recognised and the dialogue completed. */
  works: boolean;
  /**
   * Works, TLS was set up (implicit or STARTTLS), and no finding of medium or above concerns the port.
   * null when the port does not work (nothing to call safe or unsafe).
   */
  safe: boolean | null;
  /** Ids of the findings on this port and address. */
  findings: string[];
}

/** A port worth using, per the results. */
export interface Recommended {
  /** The port number. */
  port: number;
  /** The service it was judged as. */
  service: Service;
  /** How TLS is reached there. */
  tls: 'implicit' | 'starttls';
}

export interface Recommendation {
  /** Ports for sending mail (submission), best first. */
  sending: Recommended[];
  /** Ports for reading mail (IMAP, then POP3), best first. */
  reading: Recommended[];
  /** One line for people. */
  text: string;
  /**
   * Submission ports that work and are safe on every address but list no AUTH over TLS on some
   * (submission-auth-not-offered), left out of `sending`: no client can log in there. Only when there are some.
   */
  noLogin?: number[];
}

export interface HostVerdict extends Omit<HostResult, 'ports'> {
  /** Every port's verdict. */
  ports: PortVerdict[];
  /** Every finding on the host, worst first. */
  findings: Finding[];
  /** The ports a mail client should use. */
  recommendation: Recommendation;
  /** The highest severity among the findings, or null when there are none. */
  worst: Severity | null;
}

/** A port as probed: its number and the service it was judged as (one port may be probed as two). */
export const portKey = (port: { port: number; service: string }) => `${port.port}/${port.service}`;

/** Findings of this severity or above make a port unsafe. */
const unsafeFrom: Severity = 'medium';

function judgePort(port: PortResult, findings: Finding[]): PortVerdict {
  const works = port.status === 'open';
  // The same port may be probed as two services (two published records disagree): each has its own findings.
  const own = findings.filter(
    (finding) =>
      finding.port === port.port && finding.address === port.address && finding.service === port.service,
  );
  // A login or round-trip finding is about the account and the delivery, not the port's safety.
  const serious = own.some(
    (finding) =>
      severityRank(finding.severity) >= severityRank(unsafeFrom) &&
      !/^(?:login|round-trip)-/.test(finding.id),
  );
  const encrypted =
    port.tls !== undefined && (port.expectedTls === 'implicit' || port.starttls?.upgraded === true);
  const days = wholeDaysLeft(port);
  const open = loginWaysBeforeTls(port).filter(stillOpen);
  // Object.assign, not a spread followed by properties: on Node 20 each property after a spread cost about
  // 1 µs, and every port of a fleet run is judged here (issue 28; CONTRIBUTING, "Hot paths").
  return Object.assign(
    {},
    port,
    { expected: referenceFor(port.service).expected },
    days === undefined ? {} : { certificateDaysLeft: days },
    {
      passwordBeforeTls: open.some((way) => way.kind === 'password'),
      loginBeforeTls: open.some((way) => way.kind !== 'none'),
      works,
      safe: works ? encrypted && !serious : null,
      findings: own.map((finding) => finding.id),
    },
  );
}

const order: Record<Service, number> = {
  submission: 0,
  submissions: 1,
  imaps: 2,
  pop3s: 3,
  imap: 4,
  pop3: 5,
  smtp: 6,
};

function recommend(ports: PortVerdict[]): Recommendation {
  // A port is recommended only when it works and is safe on every address probed.
  const byPort = new Map<string, PortVerdict[]>();
  for (const port of ports) byPort.set(portKey(port), [...(byPort.get(portKey(port)) ?? []), port]);
  const good: Recommended[] = [];
  // Safe submission ports that list no AUTH over TLS on some address: no client can log in there to send.
  const noLogin: number[] = [];
  for (const seen of byPort.values()) {
    const first = seen[0];
    if (first && seen.every((port) => port.works && port.safe === true)) {
      if (seen.some(submissionWithoutLogin)) noLogin.push(first.port);
      else good.push({ port: first.port, service: first.service, tls: first.expectedTls });
    }
  }
  good.sort((a, b) => order[a.service] - order[b.service] || a.port - b.port);
  noLogin.sort((a, b) => a - b);
  const sending = good.filter((entry) => referenceFor(entry.service).role === 'submission');
  const reading = good.filter((entry) =>
    ['mailbox-access', 'download'].includes(referenceFor(entry.service).role),
  );
  const describe = (entry: Recommended) => {
    const protocol = referenceFor(entry.service).protocol.toUpperCase();
    const tls = entry.tls === 'implicit' ? 'TLS' : upgradeCommand(referenceFor(entry.service).protocol);
    return entry.service === 'submission' || entry.service === 'submissions'
      ? `${entry.port} (${tls})`
      : `${entry.port} (${protocol}, ${tls})`;
  };
  const probed = (roles: string[]) => ports.some((port) => roles.includes(referenceFor(port.service).role));
  const line = (label: string, list: Recommended[], roles: string[]) =>
    list.length > 0
      ? `${label} ${list.map(describe).join(' or ')}`
      : label === 'sending' && noLogin.length > 0
        ? `${label}: no port offers a login (${noLogin.join(', ')}: no AUTH over TLS)`
        : probed(roles)
          ? `${label}: no port works safely`
          : `${label}: no port probed`;
  const text = [
    line('sending', sending, ['submission']),
    line('reading', reading, ['mailbox-access', 'download']),
  ].join(' · ');
  // Filled in, not spread: every host of a fleet run is judged here (CONTRIBUTING, "Hot paths").
  const recommendation: Recommendation = { sending, reading, text };
  if (noLogin.length > 0) recommendation.noLogin = noLogin;
  return recommendation;
}

/** Applies every rule to every port: a pure function of the observed result. */
export function evaluate(host: HostResult): HostVerdict {
  const findings: Finding[] = [];
  for (const port of host.ports) {
    for (const rule of rules) {
      const hit = rule.check(port, host);
      if (!hit) continue;
      const fixes = fixesFor(rule.id, port.protocol);
      const finding: Finding = {
        id: rule.id,
        severity: hit.severity ?? rule.severity,
        port: port.port,
        service: port.service,
        address: port.address,
        title: rule.title,
        detail: hit.detail,
        evidence: hit.evidence,
        reference: rule.reference,
      };
      if (fixes.length > 0) finding.fixes = fixes;
      findings.push(finding);
    }
  }
  // Worst first; within a severity, in the order of the table (the order the ports were asked for).
  if (host.ports.length > 1) {
    const order = new Map(host.ports.map((port, index) => [`${port.port} ${port.address}`, index]));
    const place = (finding: Finding) => order.get(`${finding.port} ${finding.address}`) ?? 0;
    findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || place(a) - place(b));
  } else if (findings.length > 1)
    findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  const ports = host.ports.map((port) => judgePort(port, findings));
  const worst = findings.reduce<Severity | null>(
    (max, finding) =>
      max === null || severityRank(finding.severity) > severityRank(max) ? finding.severity : max,
    null,
  );
  return Object.assign({}, host, { ports, findings, recommendation: recommend(ports), worst });
}
