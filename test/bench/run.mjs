// mailprobe benchmarks (npm run bench; needs a build). Prints figures, asserts nothing:
//  1. cold start of `mailprobe --version` against `node -e 0` (median of N runs each), and of `mailprobe ports`
//  2. seven-port wall time on a local fixture host against its slowest single port (median of N rounds)
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { tlsFile } = await import(`${root}dist/src/demo/servers.js`);
const { probeHost, probePort, defaultLimits } = await import(`${root}dist/src/index.js`);
const main = `${root}dist/src/cli/main.js`;
const runs = Number(process.env.BENCH_RUNS ?? 20);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const time = (fn) => {
  const start = performance.now();
  fn();
  return performance.now() - start;
};
const timeAsync = async (fn) => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

// 1. Start-up.
const bare = [];
const version = [];
const ports = [];
for (let i = 0; i < runs; i++) {
  bare.push(time(() => execFileSync(process.execPath, ['-e', '0'])));
  version.push(time(() => execFileSync(process.execPath, [main, '--version'])));
  ports.push(time(() => execFileSync(process.execPath, [main, 'ports'])));
}
const bareMs = median(bare);
console.log(`cold start (median of ${runs}):`);
console.log(`  node -e 0              ${bareMs.toFixed(1)} ms`);
console.log(
  `  mailprobe --version    ${median(version).toFixed(1)} ms   ratio ${(median(version) / bareMs).toFixed(2)}`,
);
console.log(
  `  mailprobe ports        ${median(ports).toFixed(1)} ms   ratio ${(median(ports) / bareMs).toFixed(2)}  (loads yargs)`,
);

// 2. Seven ports against the slowest one alone, the servers in a process of their own.
const host = spawn(process.execPath, [`${root}test/bench/fixture-host.mjs`], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const targets = JSON.parse(
  await new Promise((resolve) => host.stdout.once('data', (chunk) => resolve(chunk.toString()))),
);
const ca = tlsFile('ca.pem');
const rounds = Math.max(5, Math.floor(runs / 2));
const slowest = [];
const all = [];
for (let round = 0; round < rounds; round++) {
  let max = 0;
  for (const target of targets) {
    const ms = await timeAsync(() =>
      probePort({
        address: '127.0.0.1',
        family: 4,
        ...target,
        servername: 'localhost',
        ca,
        limits: defaultLimits,
      }),
    );
    max = Math.max(max, ms);
  }
  slowest.push(max);
  all.push(await timeAsync(() => probeHost('127.0.0.1', { ports: targets, servername: 'localhost', ca })));
}
host.stdin.end();
console.log(`seven ports on a local fixture host (median of ${rounds} rounds):`);
console.log(`  slowest single port    ${median(slowest).toFixed(1)} ms`);
console.log(
  `  all seven at once      ${median(all).toFixed(1)} ms   ratio ${(median(all) / median(slowest)).toFixed(2)}`,
);
