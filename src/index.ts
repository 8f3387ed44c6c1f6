/** mailprobe's library API: the same engine, judgement and renderers the CLI uses. */

export {
  type Candidate,
  type DiscoverOptions,
  type Discovery,
  type DnsRecordFact,
  defaultMaxHosts,
  discover,
  parseTarget,
} from './discovery/hosts.js';
export {
  AbortedError,
  ConnectionClosedError,
  type Phase,
  PhaseTimeoutError,
  ProtocolError,
  ResolveError,
  ServiceClosingError,
  UsageError,
} from './errors.js';
export {
  type AuthExpectation,
  contradiction,
  expectedService,
  mergeExpectations,
  type PortExpectation,
  parseExpectDocument,
  parseExpectFlag,
} from './expect/parse.js';
export { defaultLimits, invalidLimit, type Limits, limitMaxima, limitsFromTimeout } from './limits.js';
export {
  type AddressGate,
  type BatchOptions,
  type BatchTarget,
  LocalGate,
  parseShard,
  parseTargets,
  renderBatchError,
  runBatch,
  shardOf,
} from './modes/batch.js';
export {
  checkEgress,
  concludeEgress,
  concludeFamily,
  defaultControlPort,
  defaultEgressHosts,
  type EgressFamily,
  type EgressHost,
  type EgressResult,
  hostEvidence,
} from './modes/egress.js';
export { type MonitorOptions, type MonitorResult, monitor } from './modes/monitor.js';
export { buildPublication } from './modes/publish.js';
export { createProbeServer, modules, type ProbeServer, parseCidr, type ServeOptions } from './modes/serve.js';
export { Dns, type DnsOptions, parseDnsServer } from './net/dns.js';
export { normalizeHostName } from './net/names.js';
export { type CheckName, checkNames } from './probe/check-names.js';
export type {
  AuthRequiredFacts,
  AuthWayFacts,
  CheckResults,
  InjectionFacts,
  TlsVersionFacts,
} from './probe/checks.js';
export { type DomainProbeOptions, type DomainResult, probeDomain } from './probe/domain.js';
export {
  defaultPorts,
  type PortSpec,
  type ProbeOptions,
  type ProgressEvents,
  probeHost,
  resolveHost,
} from './probe/host.js';
export { type PortTarget, probePort } from './probe/port.js';
export {
  isService,
  referenceFor,
  referenceTable,
  referenceVersion,
  type ServiceReference,
  services,
} from './reference/table.js';
export { renderDiscoveryHead, renderPublishedCheck, renderSettings } from './render/discovery.js';
export { type HumanOptions, renderHuman } from './render/human.js';
export { type JsonReport, jsonReport, renderJson, schemaVersion } from './render/json.js';
export { renderJunit } from './render/junit.js';
export { renderMarkdown } from './render/markdown.js';
export { renderOpenMetrics } from './render/openmetrics.js';
export { type Publication, renderPublication } from './render/publication.js';
export { renderReference } from './render/reference.js';
export { sanitize } from './render/sanitize.js';
export {
  evaluate,
  type HostVerdict,
  type PortVerdict,
  type Recommendation,
  type Recommended,
} from './rules/evaluate.js';
export { checkExpectations, type ExpectationResult } from './rules/expectations.js';
export type { Finding, Severity } from './rules/finding.js';
export { severities, severityRank } from './rules/finding.js';
export { type Judgement, type JudgeOptions, judge } from './rules/judge.js';
export { type CheckedHost, type Outcome, outcome } from './rules/outcome.js';
export { type Offer, observedOffers, type SourceDifference } from './rules/publication.js';
export type { ClientPick, PickVerdict } from './rules/published/clients.js';
export { judgePublished, type PublishedJudgement } from './rules/published/judge.js';
export type { SettingCheck } from './rules/published/observed.js';
export type { PublishedFinding } from './rules/published/rule.js';
export { type Rule, rules } from './rules/rules.js';
export { type ClientSetting, type ClientSettings, chooseSettings } from './rules/settings.js';
export type { CertificateProblem, ChainCertificate, TrustProblem } from './tls/chain.js';
export type { CertificateFacts, OcspFacts, TlsFacts } from './tls/facts.js';
export * from './types/index.js';
export { version } from './version.js';
