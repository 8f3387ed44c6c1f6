/**
 * What a mail client is told, judged against what the servers do: every published setting (autoconfig, ISPDB,
 * Autodiscover, SRV) checked against the probe of that host and port on every address, the rules run over each
 * setting, source, redirect and DNS record (one finding per kind of drift and place, its sources gathered), and
 * what each client would pick. Pure: discovery and host verdicts in, judgement out.
 */
import type { Discovery } from '../../types/index.js';
import type { HostVerdict, PortVerdict } from '../evaluate.js';
import type { DomainExpectationResult } from '../expectations.js';
import { severityRank } from '../finding.js';
import { type ClientPick, predict } from './clients.js';
import { mxRules, mxSubjects } from './mx.js';
import { checkSetting, modeOf, observe, type SettingCheck } from './observed.js';
import { recordRules } from './records.js';
import type { PublishedFinding, PublishedRule } from './rule.js';
import { settingRules } from './settings.js';
import {
  type DomainSubject,
  delivered,
  deliveredRedirectRules,
  domainRules,
  problemRules,
  protocolRules,
  redirectRules,
} from './sources.js';
import { transportRules } from './transport.js';

export interface PublishedJudgement {
  findings: PublishedFinding[];
  checks: SettingCheck[];
  clients: ClientPick[];
  /** With `--expect mta-sts=MODE`: each domain expectation and what was observed. */
  expectations?: DomainExpectationResult[];
}

/** Every rule about what a domain publishes (the README lists them all, with their severities). */
export const publishedRules: PublishedRule<never>[] = [
  ...problemRules,
  ...redirectRules,
  ...deliveredRedirectRules,
  ...settingRules,
  ...domainRules,
  ...protocolRules,
  ...recordRules,
  ...transportRules,
  ...mxRules,
];

/** MTA-STS and TLS-RPT (--mta-sts): the domain's transport policy, then each MX under it. */
function applyTransport(findings: Findings, discovery: Discovery, hosts: HostVerdict[]): void {
  if (!discovery.transport) return;
  const subject = { discovery, transport: discovery.transport, hosts };
  findings.apply(transportRules, subject);
  for (const mx of mxSubjects(subject)) findings.apply(mxRules, mx);
}

/** The findings so far, one per rule and key, in the order first found. */
class Findings {
  private readonly byKey = new Map<string, PublishedFinding>();

  /** Runs each rule over the subject: a new finding, or one more source for a finding already made. */
  apply<S>(rules: PublishedRule<S>[], subject: S): void {
    for (const rule of rules) {
      const hit = rule.check(subject);
      if (!hit) continue;
      const key = `${rule.id} ${hit.key}`;
      const known = this.byKey.get(key);
      if (known) {
        if (!known.sources.includes(hit.source)) known.sources.push(hit.source);
        continue;
      }
      this.byKey.set(key, {
        id: rule.id,
        title: hit.title,
        detail: hit.detail,
        evidence: hit.evidence,
        reference: hit.reference ?? rule.reference,
        ...(hit.at ? { host: hit.at.host, port: hit.at.port } : {}),
        severity: rule.severity,
        sources: [hit.source],
      });
    }
  }

  /** The findings, worst first (in the order found within one severity). */
  sorted(): PublishedFinding[] {
    return [...this.byKey.values()].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  }

  get size(): number {
    return this.byKey.size;
  }
}

export function judgePublished(discovery: Discovery, hosts: HostVerdict[]): PublishedJudgement {
  const sources = discovery.published ?? [];
  const findings = new Findings();
  const checks: SettingCheck[] = [];
  // Each check's port verdicts, for the client predictions (not part of the JSON).
  const observed = new Map<SettingCheck, PortVerdict[]>();
  for (const source of sources) {
    for (const problem of source.problems ?? []) findings.apply(problemRules, { source, problem });
    const hops = source.fetch?.redirects ?? [];
    for (const hop of hops) findings.apply(redirectRules, { source, hop });
    for (const hop of delivered(source) ? hops : []) findings.apply(deliveredRedirectRules, { source, hop });
    for (const setting of source.settings) {
      const seen = observe(discovery, hosts, setting);
      const check = checkSetting(seen, setting, source.location);
      checks.push(check);
      observed.set(check, seen.ports);
      findings.apply(settingRules, {
        source,
        setting,
        check,
        ports: seen.ports,
        modes: seen.ports.map(modeOf),
      });
    }
  }
  const domain: DomainSubject = { discovery, sources, hosts };
  findings.apply(domainRules, domain);
  for (const record of discovery.records)
    findings.apply(recordRules, {
      record,
      records: discovery.records,
      hosts,
      mxAddresses: discovery.mxAddresses ?? [],
    });
  for (const protocol of ['IMAP', 'POP3', 'SMTP'] as const)
    findings.apply(protocolRules, { ...domain, protocol });
  applyTransport(findings, discovery, hosts);
  return { findings: findings.sorted(), checks, clients: predict(sources, checks, observed) };
}

/**
 * What the DNS records alone show, when no published source was looked for (--no-web): only the record findings;
 * no setting is checked and no client's pick is predicted (their sources were not read).
 */
export function judgeRecords(discovery: Discovery, hosts: HostVerdict[]): PublishedJudgement | undefined {
  const findings = new Findings();
  for (const record of discovery.records)
    findings.apply(recordRules, {
      record,
      records: discovery.records,
      hosts,
      mxAddresses: discovery.mxAddresses ?? [],
    });
  applyTransport(findings, discovery, hosts);
  return findings.size === 0 ? undefined : { findings: findings.sorted(), checks: [], clients: [] };
}
