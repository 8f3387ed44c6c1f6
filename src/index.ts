/** mailprobe's library API: the same engine, judgement and renderers the CLI uses. */
export {
  AbortedError,
  ConnectionClosedError,
  type Phase,
  PhaseTimeoutError,
  ProtocolError,
  ResolveError,
  UsageError,
} from './errors.js';
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
export { type HumanOptions, renderHuman, renderReference } from './render/human.js';
export { type JsonReport, jsonReport, renderJson, schemaVersion } from './render/json.js';
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
