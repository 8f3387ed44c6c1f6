/** mailprobe's library API: the same engine, judgement and renderers the CLI uses. */

export { type CheckName, checkNames } from './check-names.js';
export type { AuthRequiredFacts, CheckResults, InjectionFacts, TlsVersionFacts } from './checks.js';
export { type Candidate, type Discovery, type DnsRecordFact, discover, parseTarget } from './discover.js';
export { Dns, type DnsOptions, parseDnsServer } from './dns.js';
export {
  checkEgress,
  concludeEgress,
  defaultControlPort,
  defaultEgressHosts,
  type EgressHost,
  type EgressResult,
} from './egress.js';
export {
  AbortedError,
  ConnectionClosedError,
  type Phase,
  PhaseTimeoutError,
  ProtocolError,
  ResolveError,
  UsageError,
} from './errors.js';
export {
  type AuthExpectation,
  checkExpectations,
  type ExpectationResult,
  expectedService,
  mergeExpectations,
  type PortExpectation,
  parseExpectDocument,
  parseExpectFlag,
} from './expect/expectations.js';
export { defaultLimits, type Limits, limitsFromTimeout } from './limits.js';
export type { CertificateFacts, TlsFacts } from './net/tls-facts.js';
export { type PortTarget, probePort } from './probe.js';
export {
  isService,
  referenceFor,
  referenceTable,
  referenceVersion,
  type ServiceReference,
  services,
} from './reference/table.js';
export {
  type HumanOptions,
  renderDiscoveryHead,
  renderHuman,
  renderReference,
  renderSettings,
} from './render/human.js';
export { type JsonReport, jsonReport, renderJson, schemaVersion } from './render/json.js';
export { renderJunit } from './render/junit.js';
export { renderMarkdown } from './render/markdown.js';
export { type CheckedHost, type Outcome, outcome } from './render/outcome.js';
export { sanitize } from './render/sanitize.js';
export {
  evaluate,
  type HostVerdict,
  type PortVerdict,
  type Recommendation,
  type Recommended,
} from './rules/evaluate.js';
export type { Finding, Severity } from './rules/finding.js';
export { severities, severityRank } from './rules/finding.js';
export { type Rule, rules } from './rules/rules.js';
export { type ClientSetting, type ClientSettings, chooseSettings } from './rules/settings.js';
export {
  defaultPorts,
  type PortSpec,
  type ProbeOptions,
  type ProgressEvents,
  probeHost,
  resolveHost,
} from './scan.js';
export * from './types.js';
export { version } from './version.js';
