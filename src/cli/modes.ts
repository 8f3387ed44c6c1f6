/**
 * What the commands other than a probe load: batch, serve, egress and the demo servers, with the engine's report
 * and spinner lines. One module, so the package's bin can ship it as a bundle of its own (dist/cli/modes.cjs) that
 * takes the engine's modules from dist/cli/engine.cjs and that a probe never loads. See CONTRIBUTING "Start-up
 * and speed".
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
export { serveBatchWorker } from '../modes/batch-channel.js';
export { runBatchInWorkers } from '../modes/batch-workers.js';
export { checkEgress, defaultControlPort, defaultEgressHosts } from '../modes/egress.js';
export { canonicalAddress, createProbeServer, parseCidr } from '../modes/serve.js';
export { Dns } from '../net/dns.js';
export { renderEgressHuman, renderEgressJson } from '../render/egress.js';
export { discoverAndReport, probeAndReport, publishAndReport } from './report.js';
export { egressLine, liveLine } from './spinner.js';
