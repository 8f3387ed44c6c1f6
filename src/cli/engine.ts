/**
 * What the commands load only when they probe: the engine and the report flows. One module, so the package's bin
 * can ship it as a bundle of its own (dist/cli/engine.cjs) that `ports`, `--help` and bad input never load. What
 * judges and renders (./finish.js, the rules and renderers) is a bundle of its own too (dist/cli/judge.cjs), loaded
 * once the sockets are open. The modes (batch, serve, egress, the demo servers) are in ./modes.js, a bundle of
 * their own (dist/cli/modes.cjs) that a probe never loads. See CONTRIBUTING "Start-up and speed".
 */

export { discoverAndReport, probeAndReport, publishAndReport } from './report.js';
export { egressLine, liveLine } from './spinner.js';
