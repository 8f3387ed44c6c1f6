/**
 * The shape of a rule about what a domain publishes, mirroring the port rules (../rule.ts): an id, a severity,
 * a one-line title, the reference that makes it a rule, and a pure check of one subject (a setting, a source's
 * problem or redirect, a DNS record, the domain's sources together) that returns a hit or nothing.
 */
import type { PublishedSecurity, PublishedSetting, PublishedSource } from '../../types/index.js';
import type { FindingBase, Severity } from '../finding.js';

/** A judgement about what a domain publishes (not about one port), with its evidence and reference. */
export interface PublishedFinding extends FindingBase {
  /** The sources (URLs, SRV names) it concerns. */
  sources: string[];
  /** The published host and port it concerns, when it concerns one. */
  host?: string;
  port?: number;
}

/** What a rule returns for one subject: the finding's own words and facts, and the source that gives it. */
export interface PublishedHit {
  /** Hits of one rule with the same key are one finding: a later one only adds its source. */
  key: string;
  /** The source (a URL, an SRV name) that gives it. */
  source: string;
  /** One line naming the setting or source: what is wrong there. */
  title: string;
  detail: string;
  evidence: string[];
  /** When the reference depends on the source (autoconfig, Autodiscover, SRV); else the rule's. */
  reference?: string;
  /** The published host and port it concerns, when it concerns one. */
  at?: { host: string; port: number };
}

/** A pure rule: one subject in, a hit or nothing out. */
export interface PublishedRule<Subject> {
  id: string;
  severity: Severity;
  /** What the rule finds, in general words (each hit's title names the setting or the source). */
  title: string;
  reference: string;
  check: (subject: Subject) => PublishedHit | undefined;
}

/** The specifications that make a published setting's encryption a rule, per kind of source. */
export const refs = {
  autoconfig: 'draft-ietf-mailmaint-autoconfig (config-v1.1.xml, socketType); RFC 8314 §3',
  ispdb: 'draft-ietf-mailmaint-autoconfig (ISPDB); RFC 8314 §3',
  autodiscover:
    'Outlook Autodiscover POX (<Encryption> overrides <SSL>; TLS there means STARTTLS); RFC 8314 §3',
  srv: 'RFC 6186 §3; RFC 8314 §5.1',
} as const;

export const securityWords: Record<PublishedSecurity, string> = {
  TLS: 'implicit TLS',
  STARTTLS: 'STARTTLS',
  plain: 'no encryption',
};

/** A source as the findings name it: its kind and location (an SRV source is its names). */
export const label = (source: PublishedSource) =>
  source.kind === 'srv'
    ? source.location
    : `${source.kind === 'ispdb' ? 'ISPDB' : source.kind} ${source.location}`;

/** A setting as the evidence shows it. */
export const settingText = (s: PublishedSetting) =>
  `${s.protocol} ${s.host}:${s.port} ${securityWords[s.security]} (${s.as})`;

/** A source that gave settings. */
export const usable = (s: PublishedSource) => s.settings.length > 0;
