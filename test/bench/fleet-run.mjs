// Runs inside a network namespace of its own (only loopback): builds and starts the fleet servers
// (test/bench/fleet-server.c: the seven reference services in one epoll loop, listening on 0.0.0.0, which there is
// every 127/8 address) with an ECDSA P-256 leaf issued by the test CA, writes a target file of N port probes
// spread over N/7 addresses (127.2.0.0/16 on), and runs, one after the other against the same servers:
//   - the floor (test/bench/fleet-floor.mjs: the same dialogues in a minimal Node script), in one process and in as
//     many processes as the most workers;
//   - `mailprobe batch` with each --workers count given (default 1 and 2).
// Prints JSON: for each run the probes per second and CPU a probe (the run's and the servers'), and for the
// mailprobe runs the peak RSS (getrusage of the child, via python3) and every status seen.
// --documents: besides, the floor writing one report document a probe (FLOOR_DOCUMENT in fleet-floor.mjs; the
// template is mailprobe's document for the first target), in as many processes as the most workers: a reference
// for what building and writing the documents alone costs.
// Usage: node fleet-run.mjs N [WORKERS,...] [--no-floor] [--plain] [--documents]   (WORKERS: a count, or 'default')
// MAILPROBE_BENCH_PROF=DIR: each batch run under `node --cpu-prof` (build with MAILPROBE_NO_MINIFY=1 to read it).
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const probes = Number(process.argv[2] ?? 10_000);
// 'default': no --workers (the number of cores, as a user runs it); it counts as that many processes.
const workerArgs = (process.argv[3] ?? '1,2').split(',');
const cores = Math.min(16, availableParallelism());
const workerCounts = workerArgs.map((text) => (text === 'default' ? cores : Number(text)));
const withFloor = !process.argv.includes('--no-floor');
const plain = process.argv.includes('--plain');
const withDocuments = process.argv.includes('--documents');
const dir = mkdtempSync(join(tmpdir(), 'mailprobe-fleet-'));

function must(command, args) {
  const run = spawnSync(command, args, { encoding: 'utf8' });
  if (run.status !== 0)
    throw new Error(`${command} ${args.join(' ')}: ${(run.stderr || run.error?.message || '').trim()}`);
}

/** The servers' CPU seconds so far (utime + stime, in clock ticks of 1/100 s). */
const cpuOf = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(stat[11]) + Number(stat[12])) / 100;
};

let server;
try {
  must('cc', [
    '-O2',
    '-o',
    join(dir, 'fleet-server'),
    `${root}test/bench/fleet-server.c`,
    '-lssl',
    '-lcrypto',
  ]);
  const key = join(dir, 'leaf.key');
  const cert = join(dir, 'leaf.pem');
  must('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  must('openssl', ['req', '-new', '-key', key, '-subj', '/CN=localhost', '-out', join(dir, 'leaf.csr')]);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n');
  must('openssl', [
    'x509',
    '-req',
    '-in',
    join(dir, 'leaf.csr'),
    '-CA',
    `${root}fixtures/tls/ca.pem`,
    '-CAkey',
    `${root}fixtures/tls/ca.key`,
    '-set_serial',
    '4242',
    '-days',
    '30',
    '-extfile',
    join(dir, 'ext.cnf'),
    '-out',
    cert,
  ]);
  server = spawn(join(dir, 'fleet-server'), [cert, key], { stdio: ['pipe', 'pipe', 'inherit'] });
  const services = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.stdout.once('data', (chunk) => resolve(JSON.parse(chunk.toString())));
  });
  const lines = [];
  // --plain: only plaintext SMTP dialogues (greeting, EHLO, QUIT; no STARTTLS offered), one an address;
  // otherwise the seven reference services an address.
  const plainPort = services.find((s) => s.service === 'smtp-plain')?.port;
  const mixed = services.filter((s) => s.service !== 'smtp-plain');
  for (let i = 0; lines.length < probes; i++) {
    const address = `127.${2 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
    if (plain) lines.push(`${address},${plainPort},smtp`);
    else
      for (const { port, service } of mixed)
        if (lines.length < probes) lines.push(`${address},${port},${service}`);
  }
  const targets = join(dir, 'targets.txt');
  writeFileSync(targets, `${lines.join('\n')}\n`);
  const ca = `${root}fixtures/tls/ca.pem`;

  const runs = [];
  // The floor first, each mailprobe run after it, against the same servers.
  const template = join(dir, 'template.json');
  if (withDocuments) {
    const first = join(dir, 'first.txt');
    writeFileSync(first, `${lines[0]}\n`);
    const one = spawnSync(
      process.execPath,
      [`${root}bin/mailprobe.cjs`, 'batch', first, '--quiet', '--ca', ca],
      {
        encoding: 'utf8',
      },
    );
    writeFileSync(template, one.stdout);
  }
  const floorRuns = withFloor ? [...new Set([1, Math.max(...workerCounts)])].map((p) => [p, false]) : [];
  if (withDocuments) floorRuns.push([Math.max(...workerCounts), true]);
  if (floorRuns.length > 0) {
    // In one process, then in as many processes as the most workers (each a part of the lines), at once.
    for (const [processes, documents] of floorRuns) {
      const before = cpuOf(server.pid);
      const started = performance.now();
      const parts = await Promise.all(
        Array.from(
          { length: processes },
          (_, i) =>
            new Promise((resolve) => {
              const child = spawn(
                process.execPath,
                [
                  `${root}test/bench/fleet-floor.mjs`,
                  targets,
                  ca,
                  String(Math.ceil(64 / processes)),
                  `${i + 1}/${processes}`,
                ],
                {
                  stdio: ['ignore', 'pipe', 'inherit'],
                  env: documents
                    ? { ...process.env, FLOOR_DOCUMENT: template, FLOOR_OUT: join(dir, `floor-${i}.ndjson`) }
                    : process.env,
                },
              );
              let out = '';
              child.stdout.on('data', (chunk) => (out += chunk));
              child.on('close', () => resolve(JSON.parse(out)));
            }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      if (documents)
        for (let i = 0; i < processes; i++) rmSync(join(dir, `floor-${i}.ndjson`), { force: true });
      runs.push({
        run: `floor${documents ? ' writing documents' : ''}, ${processes} process${processes > 1 ? 'es' : ''}`,
        processes,
        writesDocuments: documents,
        probes,
        failed: parts.reduce((sum, part) => sum + part.failed, 0),
        seconds,
        perSecond: probes / seconds,
        cpuMsPerProbe: parts.reduce((sum, part) => sum + part.cpuMsPerProbe * part.probes, 0) / probes,
        serverCpuMsPerProbe: ((cpuOf(server.pid) - before) / probes) * 1000,
      });
    }
  }
  for (const [k, workers] of workerCounts.entries()) {
    const byDefault = workerArgs[k] === 'default';
    const before = cpuOf(server.pid);
    const out = join(dir, `out-${workers}.ndjson`);
    const started = performance.now();
    const run = spawnSync(
      'python3',
      [
        '-c',
        'import resource,subprocess,sys\n' +
          'with open(sys.argv[1], "wb") as out: code = subprocess.run(sys.argv[2:], stdout=out).returncode\n' +
          'r = resource.getrusage(resource.RUSAGE_CHILDREN); print(r.ru_maxrss, code, r.ru_utime + r.ru_stime)',
        out,
        process.execPath,
        // MAILPROBE_BENCH_PROF=DIR: a CPU profile of each batch run (with --workers 1, the whole run) in DIR.
        ...(process.env.MAILPROBE_BENCH_PROF
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MAILPROBE_BENCH_PROF}`]
          : []),
        `${root}bin/mailprobe.cjs`,
        'batch',
        targets,
        '--quiet',
        ...(byDefault ? [] : ['--workers', String(workers)]),
        '--ca',
        ca,
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    const seconds = (performance.now() - started) / 1000;
    const [maxRssKb, code, cpuSeconds] = run.stdout.trim().split(' ').map(Number);
    const statuses = {};
    let documents = 0;
    for await (const line of createInterface({ input: createReadStream(out) })) {
      if (line === '') continue;
      documents++;
      const doc = JSON.parse(line);
      for (const h of doc.hosts) for (const p of h.ports) statuses[p.status] = (statuses[p.status] ?? 0) + 1;
      if (doc.hosts.length === 0) statuses.error = (statuses.error ?? 0) + 1;
    }
    rmSync(out);
    runs.push({
      run: byDefault ? `mailprobe (${workers} workers)` : `mailprobe --workers ${workers}`,
      workers,
      probes,
      documents,
      seconds,
      perSecond: probes / seconds,
      // RUSAGE_CHILDREN: the batch process and its workers (the largest one's peak RSS).
      cpuMsPerProbe: (cpuSeconds / probes) * 1000,
      serverCpuMsPerProbe: ((cpuOf(server.pid) - before) / probes) * 1000,
      maxRssKb,
      code,
      statuses,
      stderr: run.stderr.slice(0, 500),
    });
  }
  process.stdout.write(`${JSON.stringify({ probes, runs })}\n`);
} finally {
  server?.stdin.end();
  rmSync(dir, { recursive: true, force: true });
}
