/**
 * Everything the commands load only when they probe: the engine, the report, the demo servers, egress. One
 * module, so the package's bin can ship it as a bundle of its own (dist/cli/engine.cjs) that `ports`, `--help`
 * and bad input never load. See README "Start-up".
 */

export { startFixture, startRawServer, tlsFile } from '../demo/servers.js';
export {
  documentInput,
  fnv1a,
  parseShard,
  parseTarget,
  parseTargets,
  renderBatchError,
  runBatch,
  shardOf,
  TargetList,
} from '../modes/batch.js';
export { runBatchInWorkers, serveBatchWorker } from '../modes/batch-workers.js';
export { checkEgress, defaultControlPort, defaultEgressHosts } from '../modes/egress.js';
export { canonicalAddress, createProbeServer, parseCidr } from '../modes/serve.js';
export { Dns } from '../net/dns.js';
export { renderEgressHuman, renderEgressJson } from '../render/egress.js';
export { discoverAndReport, probeAndReport, publishAndReport } from './report.js';
export { egressLine, liveLine } from './spinner.js';
