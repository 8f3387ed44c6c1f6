/** JUnit XML: one testsuite per host, one testcase per port and per expectation; always well-formed XML. */
import { isoTime } from '../net/clock.js';
import { severityRank } from '../rules/finding.js';
import type { CheckedHost, Outcome } from '../rules/outcome.js';
import type { PublishedJudgement } from '../rules/published/judge.js';
import { version } from '../version.js';
import { sanitize } from './sanitize.js';
import { escapeXml } from './xml.js';

/** XML 1.0 allows no C0 controls but tab, LF, CR: server text is sanitised first, then escaped. */
function xml(text: string): string {
  return escapeXml(sanitize(text));
}

/** Element text keeps its line breaks; each line is sanitised. */
function xmlText(text: string): string {
  return text
    .split('\n')
    .map((line) => escapeXml(sanitize(line)))
    .join('\n');
}

/** A failure's text: each finding with its detail, evidence and reference. */
function failureBody(
  findings: {
    severity: string;
    id: string;
    title: string;
    detail: string;
    evidence: string[];
    reference: string;
  }[],
): string {
  return findings
    .map((f) =>
      [
        `${f.severity} ${f.id}: ${f.title}`,
        `  ${f.detail}`,
        ...f.evidence.map((e) => `  ${e}`),
        `  ref: ${f.reference}`,
      ].join('\n'),
    )
    .join('\n\n');
}

interface Case {
  classname: string;
  name: string;
  seconds: number;
  failure?: { message: string; body: string };
}

function casesFor(host: CheckedHost, result: Outcome): Case[] {
  const cases: Case[] = [];
  for (const port of host.ports) {
    const failing = host.findings.filter(
      (f) =>
        f.port === port.port &&
        f.address === port.address &&
        severityRank(f.severity) >= severityRank(result.failOn),
    );
    const base = {
      classname: `${host.host}.${port.port}`,
      seconds: port.timings.total / 1000,
    };
    const name = `${port.port} ${port.service} [${port.address}] meets the reference (${port.expected}; fail-on ${result.failOn})`;
    cases.push(
      failing.length === 0
        ? { ...base, name }
        : {
            ...base,
            name,
            failure: {
              message: failing.map((f) => `${f.severity} ${f.id}`).join(', '),
              body: failureBody(failing),
            },
          },
    );
  }
  for (const expectation of host.expectations ?? []) {
    const port = host.ports.find((p) => p.port === expectation.port && p.address === expectation.address);
    const base = {
      classname: `${host.host}.${expectation.port}`,
      name: `${expectation.port}${port ? ` ${port.service}` : ''}${expectation.address ? ` [${expectation.address}]` : ''} expect ${expectation.expectation}`,
      seconds: 0,
    };
    cases.push(
      expectation.passed
        ? base
        : {
            ...base,
            failure: {
              message: `expected ${expectation.expectation}, observed ${expectation.observed}`,
              body: expectation.evidence.join('\n'),
            },
          },
    );
  }
  return cases;
}

/** What a suite's head needs of a host (the published settings make a suite of their own). */
interface SuiteHead {
  host: string;
  durationMs: number;
  startedAt: string;
  addresses: { address: string }[];
}

/** The published settings as one suite: a case per published setting checked, and per domain-wide finding. */
function publishedSuite(published: PublishedJudgement, result: Outcome): { host: SuiteHead; cases: Case[] } {
  const failing = published.findings.filter((f) => severityRank(f.severity) >= severityRank(result.failOn));
  const body = failureBody;
  const cases: Case[] = [];
  const concerned = new Set<PublishedJudgement['findings'][number]>();
  for (const check of published.checks) {
    const own = failing.filter(
      (f) => f.host === check.host && f.port === check.port && f.sources.includes(check.source),
    );
    for (const f of own) concerned.add(f);
    const base = {
      classname: 'published',
      name: `${check.source}: ${check.protocol} ${check.host}:${check.port} ${check.security} works as published (fail-on ${result.failOn})`,
      seconds: 0,
    };
    cases.push(
      own.length === 0
        ? base
        : {
            ...base,
            failure: { message: own.map((f) => `${f.severity} ${f.id}`).join(', '), body: body(own) },
          },
    );
  }
  for (const f of failing.filter((x) => !concerned.has(x)))
    cases.push({
      classname: 'published',
      name: `${f.id}: ${f.title}`,
      seconds: 0,
      failure: { message: `${f.severity} ${f.id}`, body: body([f]) },
    });
  // --expect mta-sts=MODE: one case per domain expectation, as a port's expectations are.
  for (const e of published.expectations ?? [])
    cases.push({
      classname: 'published',
      name: `${e.domain} expect ${e.expectation}`,
      seconds: 0,
      ...(e.passed
        ? {}
        : {
            failure: {
              message: `expected ${e.expectation}, observed ${e.observed}`,
              body: e.evidence.join('\n'),
            },
          }),
    });
  if (cases.length === 0)
    cases.push({ classname: 'published', name: 'no published setting to check', seconds: 0 });
  return {
    host: {
      host: 'published client settings',
      durationMs: 0,
      startedAt: isoTime(),
      addresses: [],
    },
    cases,
  };
}

/** JUnit XML for a run that ended before any report (bad input, a host that does not resolve). */
export function renderJunitFailure(message: string, exitCode: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="mailprobe" tests="1" failures="0" errors="1" time="0.000">\n  <testsuite name="mailprobe" tests="1" failures="0" errors="1" skipped="0" time="0.000">\n    <testcase classname="mailprobe" name="the run" time="0.000">\n      <error message="${xml(message)}" type="exit ${exitCode}">${xmlText(`mailprobe ended with exit code ${exitCode} before probing: ${message}`)}</error>\n    </testcase>\n  </testsuite>\n</testsuites>\n`;
}

/** JUnit XML: one <testsuite> per host, one <testcase> per port and per expectation, failures with evidence. */
export function renderJunit(hosts: CheckedHost[], result: Outcome, published?: PublishedJudgement): string {
  const perHost: { host: SuiteHead; cases: Case[] }[] = hosts.map((host) => ({
    host,
    cases: casesFor(host, result),
  }));
  if (published) perHost.push(publishedSuite(published, result));
  const suites = perHost.map(({ host, cases }) => {
    const failures = cases.filter((c) => c.failure).length;
    const body = cases
      .map((c) => {
        const open = `    <testcase classname="${xml(c.classname)}" name="${xml(c.name)}" time="${c.seconds.toFixed(3)}"`;
        if (!c.failure) return `${open}/>`;
        return `${open}>\n      <failure message="${xml(c.failure.message)}" type="mailprobe">${xmlText(c.failure.body)}</failure>\n    </testcase>`;
      })
      .join('\n');
    return [
      `  <testsuite name="${xml(host.host)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="${(host.durationMs / 1000).toFixed(3)}" timestamp="${host.startedAt.slice(0, 19)}">`,
      `    <properties>\n      <property name="mailprobe.version" value="${xml(version())}"/>\n      <property name="addresses" value="${xml(host.addresses.map((a) => a.address).join(' '))}"/>\n    </properties>`,
      body,
      '  </testsuite>',
    ].join('\n');
  });
  const total = perHost.reduce((sum, { cases }) => sum + cases.length, 0);
  const failures = perHost.reduce((sum, { cases }) => sum + cases.filter((c) => c.failure).length, 0);
  const seconds = hosts.reduce((sum, host) => sum + host.durationMs, 0) / 1000;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="mailprobe" tests="${total}" failures="${failures}" errors="0" time="${seconds.toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`;
}
