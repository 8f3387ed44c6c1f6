/**
 * Expectations' verdicts: each expectation of a port checked against the port's verdict, a pure function.
 * A port never probed fails its expectations.
 */

import type { DomainExpectation, PortExpectation } from '../expect/parse.js';
import { echo } from '../limits.js';
import type { Discovery } from '../types/index.js';
import { daneStatus } from './dane.js';
import type { HostVerdict, PortVerdict } from './evaluate.js';
import { authenticationOffered, wholeDaysLeft } from './facts.js';
import { maxMaxAge, usablePolicy } from './published/transport.js';

/** The outcome of one expectation on one port and address. */
export interface ExpectationResult {
  /** The port the expectation is about. */
  port: number;
  /** The address it was checked on (empty when the port was never probed). */
  address: string;
  /** What was expected, e.g. "tls=starttls". */
  expectation: string;
  /** Whether the port met it. */
  passed: boolean;
  /** What was observed, in a few words. */
  observed: string;
  /** The facts behind it. */
  evidence: string[];
}

/** The most a --expect-file greeting pattern may run on one greeting. */
export const patternBudgetMs = 200;

let patternContext: { context: object; script: import('node:vm').Script } | undefined;

/**
 * The user's pattern tested on text the server chose, within patternBudgetMs: a pattern that backtracks
 * catastrophically (`^(\w+\s?)+ ESMTP$` on a long word and no ESMTP) would otherwise run for minutes, past
 * every deadline. V8 stops a script at its `timeout`, also inside a regular expression.
 */
export function boundedMatch(pattern: string, text: string): boolean | 'too-slow' {
  const vm = process.getBuiltinModule('node:vm');
  patternContext ??= {
    context: vm.createContext(Object.create(null)),
    script: new vm.Script('pattern.test(text)'),
  };
  const { context, script } = patternContext;
  const slots = context as { pattern: RegExp | undefined; text: string | undefined };
  slots.pattern = new RegExp(pattern);
  slots.text = text;
  try {
    return script.runInContext(context, { timeout: patternBudgetMs }) === true;
  } catch {
    return 'too-slow';
  } finally {
    slots.pattern = undefined;
    slots.text = undefined;
  }
}

function observedTls(port: PortVerdict): 'implicit' | 'starttls' | 'none' | undefined {
  if (port.status === 'wrong-tls-mode') return port.crossCheck?.tried === 'plaintext' ? 'none' : 'implicit';
  if (port.status !== 'open') return undefined;
  if (port.expectedTls === 'implicit') return 'implicit';
  return port.starttls?.upgraded ? 'starttls' : 'none';
}

function offered(port: PortVerdict, afterTls: boolean): string[] {
  const caps = afterTls
    ? (port.capabilitiesAfterTls ?? (port.expectedTls === 'implicit' ? port.capabilities : undefined))
    : port.expectedTls === 'implicit'
      ? undefined
      : port.capabilities;
  const offeredThere = caps ? authenticationOffered(caps, port.protocol) : [];
  // A POP3 greeting's timestamp offers APOP before TLS (RFC 1939 §7), whatever CAPA lists.
  return !afterTls && port.expectedTls === 'starttls' && port.greeting?.apopTimestamp
    ? [...offeredThere, 'APOP']
    : offeredThere;
}

/** What --login saw on the port, in a few words, and whether the account works there. */
function loginSeen(
  port: PortVerdict,
  host: HostVerdict,
): { works: boolean; observed: string; evidence: string[] } {
  const login = port.login;
  if (!login) return { works: false, observed: 'no login check (give --login)', evidence: [] };
  const evidence = [login.reply ?? login.why ?? ''].filter(Boolean);
  if (login.outcome === 'works')
    return { works: true, observed: `works (${login.mechanism ?? ''})`, evidence };
  // The account was proved on the port that shares its backend (143 with 993): the same account works.
  const sibling = /^the same account was tried on port (\d+)/.exec(login.why ?? '')?.[1];
  const other = host.ports.find((p) => String(p.port) === sibling && p.address === port.address);
  if (other?.login?.outcome === 'works')
    return {
      works: true,
      observed: `works on port ${sibling}, which shares the account (--login-each-port tries this one too)`,
      evidence,
    };
  return { works: false, observed: login.outcome, evidence };
}

/** Checks one port's verdict against its expectation: one result per expectation field. */
function checkPort(port: PortVerdict, expectation: PortExpectation, host: HostVerdict): ExpectationResult[] {
  const results: ExpectationResult[] = [];
  const status = `status ${port.status}${port.statusDetail ? `: ${port.statusDetail}` : ''}`;
  const add = (label: string, passed: boolean, observed: string, evidence: string[] = [status]) =>
    results.push({ port: port.port, address: port.address, expectation: label, passed, observed, evidence });
  if (expectation.works !== undefined)
    add(
      expectation.works ? 'works' : 'fails',
      port.works === expectation.works,
      port.works ? 'works' : 'does not work',
    );
  if (expectation.state) {
    const closed = ['refused', 'filtered', 'unreachable'].includes(port.status);
    const passed =
      expectation.state === 'closed'
        ? closed
        : expectation.state === 'open'
          ? port.status === 'open'
          : port.status === expectation.state;
    add(`state=${expectation.state}`, passed, port.status);
  }
  if (expectation.tls) {
    const seen = observedTls(port);
    add(`tls=${expectation.tls}`, seen === expectation.tls, seen ?? `no TLS verdict (${port.status})`);
  }
  if (expectation.safe !== undefined) {
    const evidence = port.findings.length > 0 ? [`findings: ${port.findings.join(', ')}`] : [status];
    add(
      expectation.safe ? 'safe' : 'unsafe',
      port.safe === expectation.safe,
      port.safe === null ? 'not working' : port.safe ? 'safe' : 'not safe',
      evidence,
    );
  }
  if (expectation.certDaysAtLeast !== undefined) {
    const validTo = port.tls?.certificate?.validTo;
    const days = wholeDaysLeft(port);
    add(
      `cert-days>=${expectation.certDaysAtLeast}`,
      days !== undefined && days >= expectation.certDaysAtLeast,
      days !== undefined
        ? `${days} days left`
        : port.tls?.certificate?.unreadableDates
          ? "the certificate's notAfter cannot be read"
          : 'no certificate seen',
      validTo
        ? [`not after: ${validTo}`]
        : port.tls?.certificate?.unreadableDates
          ? port.tls.certificate.unreadableDates.map((date) => `${date.field}: ${date.encoded}`)
          : [status],
    );
  }
  for (const [key, afterTls] of [
    ['authBeforeTls', false],
    ['authAfterTls', true],
  ] as const) {
    const spec = expectation[key];
    if (!spec) continue;
    const seen = offered(port, afterTls);
    const where = afterTls ? 'after TLS' : 'before TLS';
    for (const mechanism of spec.offer ?? [])
      add(`${key}.offer ${mechanism}`, seen.includes(mechanism), `${where}: ${seen.join(' ') || '(none)'}`);
    for (const mechanism of spec.notOffer ?? [])
      add(
        `${key}.notOffer ${mechanism}`,
        port.works && !seen.includes(mechanism),
        `${where}: ${seen.join(' ') || '(none)'}`,
      );
  }
  if (expectation.greeting !== undefined) {
    const text = port.greeting?.lines.join(' ') ?? '';
    const matched = port.greeting !== undefined ? boundedMatch(expectation.greeting, text) : false;
    add(
      `greeting~/${echo(expectation.greeting)}/`,
      matched === true,
      matched === 'too-slow'
        ? `the pattern did not finish on this greeting within ${patternBudgetMs} ms (a pattern that backtracks on the server's text; not matched)`
        : text || '(no greeting)',
    );
  }
  if (expectation.dane !== undefined) {
    const seen = daneStatus(port);
    add(
      `dane=${expectation.dane}`,
      seen === expectation.dane,
      seen ?? 'no TLSA lookup',
      port.dane
        ? [`${port.dane.name}: ${port.dane.outcome}${port.dane.rcode ? ` (${port.dane.rcode})` : ''}`]
        : [status],
    );
  }
  if (expectation.maxLatencyMs !== undefined) {
    add(
      `latency<=${expectation.maxLatencyMs}`,
      port.timings.total <= expectation.maxLatencyMs,
      `${port.timings.total} ms`,
      [`timings: ${JSON.stringify(port.timings)}`],
    );
  }
  if (expectation.login) {
    const seen = loginSeen(port, host);
    add('login', seen.works, seen.observed, seen.evidence);
  }
  if (expectation.maxDeliveryS !== undefined) {
    const trip = host.roundTrip;
    const arrived = trip?.arrivedAfterS;
    add(
      `delivery<=${expectation.maxDeliveryS}s`,
      arrived !== undefined && arrived <= expectation.maxDeliveryS,
      !trip
        ? 'no round trip (give --round-trip)'
        : arrived !== undefined
          ? `arrived after ${arrived} s`
          : trip.failedStep
            ? `the ${trip.failedStep} step failed`
            : `accepted but not arrived in ${trip.waitedS} s`,
      trip
        ? [
            `token ${trip.token}`,
            ...(trip.queueId ? [`queue id ${trip.queueId}`] : []),
            ...(trip.why ? [trip.why] : []),
          ]
        : [],
    );
  }
  return results;
}

/** Checks a host verdict against the expectations: a pure function. A port never probed fails its expectations. */
export function checkExpectations(
  verdict: HostVerdict,
  expectations: PortExpectation[],
): ExpectationResult[] {
  const results: ExpectationResult[] = [];
  for (const expectation of expectations) {
    const ports = verdict.ports.filter((port) => port.port === expectation.port);
    if (ports.length === 0) {
      results.push({
        port: expectation.port,
        address: '',
        expectation: 'probed',
        passed: false,
        observed: 'not probed',
        evidence: [],
      });
    }
    for (const port of ports) results.push(...checkPort(port, expectation, verdict));
  }
  return results;
}

/** The outcome of one expectation about the domain (`--expect mta-sts=MODE`). */
export interface DomainExpectationResult {
  /** The domain it is about. */
  domain: string;
  /** What was expected, e.g. "mta-sts=enforce". */
  expectation: string;
  passed: boolean;
  /** What was observed, in a few words. */
  observed: string;
  /** The facts behind it. */
  evidence: string[];
}

/**
 * The MTA-STS mode sending servers apply (RFC 8461 §5): the mode of a policy they can use (a valid TXT record and
 * a policy fetched as §3.3 requires, with no syntax problem); none when there is no policy, or one they cannot
 * use; undefined when the TXT lookup failed (a sender would retry: the mode is unknown).
 */
function appliedMode(discovery: Discovery): { mode?: string; observed: string; evidence: string[] } {
  const transport = discovery.transport;
  if (!transport) return { observed: 'no MTA-STS lookup', evidence: [] };
  const record = transport.stsRecord;
  const evidence = [
    `${record.name} TXT: ${record.outcome === 'found' ? record.records.map((r) => JSON.stringify(r.slice(0, 200))).join(', ') : record.outcome}${record.detail ? ` (${record.detail})` : ''}`,
    ...(transport.policyFetch ? [`GET ${transport.policyFetch.url}: ${transport.policyFetch.detail}`] : []),
  ];
  const policy = usablePolicy(transport);
  if (policy?.mode)
    return {
      mode: policy.mode,
      observed: `${policy.mode} (id ${transport.stsId}, max_age ${policy.maxAge} s${(policy.maxAge ?? 0) > maxMaxAge ? `, above the maximum of ${maxMaxAge}: some senders discard the policy` : ''})`,
      evidence,
    };
  if (record.outcome === 'failed') return { observed: 'unknown: the _mta-sts TXT lookup failed', evidence };
  if (record.outcome === 'none' && !transport.policy)
    return { mode: 'none', observed: 'none: no MTA-STS record or policy', evidence };
  const why = !transport.stsId
    ? (transport.stsRecordProblem ?? 'no valid _mta-sts TXT record')
    : !transport.policy
      ? 'the policy could not be fetched'
      : `the policy is invalid: ${transport.policy.problems.join('; ')}`;
  return { mode: 'none', observed: `none: published but senders cannot use it (${why})`, evidence };
}

/** Checks what the domain publishes against the domain expectations: a pure function. */
export function checkDomainExpectations(
  discovery: Discovery,
  expectations: DomainExpectation,
): DomainExpectationResult[] {
  const results: DomainExpectationResult[] = [];
  if (expectations.mtaSts) {
    const seen = appliedMode(discovery);
    results.push({
      domain: discovery.domain,
      expectation: `mta-sts=${expectations.mtaSts}`,
      passed: seen.mode === expectations.mtaSts,
      observed: seen.observed,
      evidence: seen.evidence,
    });
  }
  return results;
}
