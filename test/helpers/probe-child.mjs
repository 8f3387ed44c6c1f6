// Probes one port in a process of its own and reports, as JSON on stdout, the result and what the process
// itself went through: wall time, peak growth of heap + buffer memory (sampled every 5 ms), unhandled
// rejections and exceptions, and the handles still open once the probe returned. Keeping the prober apart
// from the test's fixture servers makes the memory figure the prober's alone. Uses the compiled dist/.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { probePort } = await import(`${root}dist/src/index.js`);
const target = JSON.parse(process.argv[2] ?? '{}');

const errors = [];
process.on('unhandledRejection', (error) => errors.push(String(error)));
process.on('uncaughtException', (error) => errors.push(String(error)));
// Our own setImmediate polling below shows as 'Immediate'; stdio shows as pipes or TTYs.
const handles = () =>
  process
    .getActiveResourcesInfo()
    .filter((kind) => !['TTYWrap', 'PipeWrap', 'Immediate'].includes(kind))
    .sort();
/** Handles now open beyond those open before the probe (a multiset difference). */
const added = (before) => {
  const left = [...before];
  return handles().filter((kind) => {
    const index = left.indexOf(kind);
    if (index < 0) return true;
    left.splice(index, 1);
    return false;
  });
};

const used = () => {
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.arrayBuffers;
};
const before = handles();
const baseline = used();
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, used());
}, 5);
const started = performance.now();
const result = await probePort(target);
const ms = performance.now() - started;
clearInterval(sampler);
peak = Math.max(peak, used());
// Closed sockets release their handles over a few turns of the loop: wait up to a second, adding no timer.
const until = performance.now() + 1000;
while (performance.now() < until && added(before).length > 0)
  await new Promise((resolve) => setImmediate(resolve));
process.stdout.write(
  JSON.stringify({ result, ms, peakGrowth: peak - baseline, errors, handlesLeft: added(before) }),
);
