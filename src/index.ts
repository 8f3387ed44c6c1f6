/**
 * mailprobe's library API: the same engine, judgement and renderers the CLI uses. Only what a user of the library
 * needs: the probes, the judgement, the renderers, the other ways to run the engine, and the vocabulary of their
 * results (docs/reference.md, "Library API"). Everything else is internal, importable by path for the tests only.
 */

export type { Candidate, Discovery, DnsRecordFact } from './discovery/hosts.js';
export { AbortedError, ResolveError, UsageError } from './errors.js';
export {
  type AuthExpectation,
  type DomainExpectation,
  type PortExpectation,
  parseDomainExpectFlag,
  parseExpectDocument,
  parseExpectFlag,
} from './expect/parse.js';
export { defaultLimits, type Limits } from './limits.js';
export {
  type AddressGate,
  type BatchOptions,
  type BatchTarget,
  LocalGate,
  parseTarget,
  parseTargets,
  runBatch,
  type TargetFile,
  TargetList,
} from './modes/batch.js';
export { checkEgress, defaultControlPort, defaultEgressHosts } from './modes/egress.js';
export { type MonitorOptions, type MonitorResult, monitor } from './modes/monitor.js';
export { buildPublication } from './modes/publish.js';
export { type RoundTripOptions, runRoundTrip } from './modes/roundtrip.js';
export { createProbeServer, type ProbeServer, type ServeOptions } from './modes/serve.js';
export { Dns, type DnsOptions, parseDnsServer } from './net/dns.js';
export { type CheckName, checkNames } from './probe/check-names.js';
export { type DomainProbeOptions, type DomainResult, probeDomain } from './probe/domain.js';
export {
  defaultPorts,
  type PortSpec,
  type ProbeOptions,
  type ProgressEvents,
  probeHost,
} from './probe/host.js';
export { type PortProbeTarget, type PortTarget, probePort } from './probe/port.js';
export {
  referenceFor,
  referenceTable,
  referenceVersion,
  type ServiceReference,
  services,
} from './reference/table.js';
export {
  renderDiscoveryHead,
  renderDiscoveryTail,
  renderPublishedCheck,
  renderSettings,
} from './render/discovery.js';
export { renderEgressHuman, renderEgressJson } from './render/egress.js';
export { type HumanOptions, renderHuman } from './render/human.js';
export { type JsonReport, renderJson, schemaVersion } from './render/json.js';
export { renderJunit } from './render/junit.js';
export { renderMarkdown } from './render/markdown.js';
export { renderOpenMetrics } from './render/openmetrics.js';
export { renderChainsPem } from './render/pem.js';
export {
  defaultPluginThresholds,
  type PluginOutput,
  type PluginState,
  type PluginThresholds,
  pluginStates,
  renderPlugin,
} from './render/plugin.js';
export { type Publication, renderPublication } from './render/publication.js';
export { renderReference } from './render/reference.js';
export { type DiscoveryReport, type Format, type HumanLayout, renderReport } from './render/report.js';
export type { HostVerdict, PortVerdict, Recommendation, Recommended } from './rules/evaluate.js';
export type { DomainExpectationResult, ExpectationResult } from './rules/expectations.js';
export type { Finding, Severity } from './rules/finding.js';
export { severities } from './rules/finding.js';
export { type Judgement, type JudgeOptions, judge } from './rules/judge.js';
export type { CheckedHost, Outcome } from './rules/outcome.js';
export type { Offer, SourceDifference } from './rules/publication.js';
export type { ClientPick, PickVerdict } from './rules/published/clients.js';
export type { PublishedJudgement } from './rules/published/judge.js';
export type { SettingCheck } from './rules/published/observed.js';
export type { PublishedFinding } from './rules/published/rule.js';
export type { ClientSetting, ClientSettings } from './rules/settings.js';
export type { CertificateProblem, ChainCertificate, TrustProblem } from './tls/chain.js';
export type { CertificateFacts, OcspFacts, TlsFacts } from './tls/facts.js';
export { type Trust, trustFrom } from './tls/trust.js';
export * from './types/index.js';
export { version } from './version.js';
