// Runs inside a network namespace of its own (only loopback): serves the seven fixture services on every
// 127/8 address (listening on 0.0.0.0, which there is loopback only), writes a target file of N port probes
// spread over N/7 addresses (127.2.0.0/16 on), runs `mailprobe batch` on it, and prints as JSON the probes
// per second, the batch's peak RSS (getrusage of the child, via python3) and every status seen.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const probes = Number(process.argv[2] ?? 10_000);
const concurrency = process.argv[3] ?? '64';

const host = spawn(process.execPath, [`${root}test/bench/fixture-host.mjs`, '0.0.0.0'], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const services = await new Promise((resolve) =>
  host.stdout.once('data', (chunk) => resolve(JSON.parse(chunk.toString()))),
);
const dir = mkdtempSync(join(tmpdir(), 'mailprobe-fleet-'));
try {
  const lines = [];
  for (let i = 0; lines.length < probes; i++) {
    const address = `127.2.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    for (const { port, service } of services)
      if (lines.length < probes) lines.push(`${address},${port},${service}`);
  }
  writeFileSync(join(dir, 'targets.txt'), `${lines.join('\n')}\n`);
  const started = performance.now();
  const run = spawnSync(
    'python3',
    [
      '-c',
      'import resource,subprocess,sys\n' +
        'with open(sys.argv[1], "wb") as out: code = subprocess.run(sys.argv[2:], stdout=out).returncode\n' +
        'r = resource.getrusage(resource.RUSAGE_CHILDREN); print(r.ru_maxrss, code, r.ru_utime + r.ru_stime)',
      join(dir, 'out.ndjson'),
      process.execPath,
      `${root}bin/mailprobe.cjs`,
      'batch',
      join(dir, 'targets.txt'),
      '--quiet',
      '--concurrency',
      concurrency,
      '--ca',
      `${root}fixtures/tls/ca.pem`,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  const seconds = (performance.now() - started) / 1000;
  // The fixture servers' CPU (utime + stime, in clock ticks of 1/100 s), to see which side the cores went to.
  const stat = readFileSync(`/proc/${host.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const serverCpuSeconds = (Number(stat[11]) + Number(stat[12])) / 100;
  const [maxRssKb, code, cpuSeconds] = run.stdout.trim().split(' ').map(Number);
  const statuses = {};
  let documents = 0;
  for await (const line of createInterface({ input: createReadStream(join(dir, 'out.ndjson')) })) {
    if (line === '') continue;
    documents++;
    const doc = JSON.parse(line);
    for (const h of doc.hosts) for (const p of h.ports) statuses[p.status] = (statuses[p.status] ?? 0) + 1;
    if (doc.hosts.length === 0) statuses.error = (statuses.error ?? 0) + 1;
  }
  process.stdout.write(
    `${JSON.stringify({ probes, documents, seconds, perSecond: probes / seconds, cpuSeconds, serverCpuSeconds, maxRssKb, code, statuses, stderr: run.stderr.slice(0, 500) })}\n`,
  );
} finally {
  host.stdin.end();
  rmSync(dir, { recursive: true, force: true });
}
