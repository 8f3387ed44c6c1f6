// Run with --expose-gc: the heap that serve's memory of recent targets (RecentProbes) holds after a million
// distinct targets, measured after garbage collection, against a plain Map of the same million (what serve kept
// before the bound). Prints JSON: bytes held, targets remembered, ms for the million takes.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { RecentProbes } = await import(`${root}dist/src/modes/serve.js`);
const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};
const key = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} all`;
const base = heap();
const recent = new RecentProbes(86_400_000);
const begin = performance.now();
for (let i = 0; i < 1_000_000; i++) recent.take(key(i), i / 1000);
const ms = performance.now() - begin;
const bounded = heap() - base;
const unbounded = new Map();
for (let i = 0; i < 1_000_000; i++) unbounded.set(key(i), i / 1000);
const plain = heap() - base - bounded;
process.stdout.write(
  `${JSON.stringify({ bounded, remembered: recent.size, ms, plain, plainSize: unbounded.size })}\n`,
);
