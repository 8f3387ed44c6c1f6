// Runs inside a network namespace (ip netns exec NS node this-file SPEC): starts the fixture servers the
// spec names on their real port numbers, runs the built mailprobe CLI with the spec's arguments, relays its
// output and exit code, and stops the servers. Uses the compiled code in dist/.
import { spawn } from 'node:child_process';
import dns from 'node:dns/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { startFixture } = await import(`${root}dist/src/demo/servers.js`);
const spec = JSON.parse(process.argv[2] ?? '{}');

const servers = [];
let dnsmasq;
let nginx;
try {
  for (const server of spec.servers ?? []) {
    const { port, ...options } = server;
    if (options.protocol === 'tcp') servers.push(await listenOnly(options.host, port));
    else if (options.protocol === 'tcp-silent') servers.push(await listenSilent(options.host, port));
    else servers.push(await startFixture({ ...options, listenPort: port }));
  }
  if (spec.dnsmasq) dnsmasq = await startDnsmasq(spec.dnsmasq);
  if (spec.nginx) nginx = await startNginx(spec.nginx);
  if (spec.clis) {
    // Several runs of the CLI against the same servers: their results as one JSON array.
    const results = [];
    // A run's leading NAME=value words (COLUMNS=80) are its environment, as a shell would take them.
    for (const cli of spec.clis) {
      const env = { ...process.env };
      let args = cli;
      while (/^[A-Z_]+=/.test(args[0] ?? '')) {
        const [name, ...value] = (args[0] ?? '').split('=');
        env[name] = value.join('=');
        args = args.slice(1);
      }
      results.push(await collect(process.execPath, [`${root}dist/src/cli/main.js`, ...args], env));
    }
    process.stdout.write(JSON.stringify(results));
  } else {
    // spec.run: any program and its arguments (the benchmarks' timer); spec.cli: the built CLI's arguments.
    const [file, ...args] = spec.run ?? [process.execPath, `${root}dist/src/cli/main.js`, ...spec.cli];
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(process.stdout);
    child.stderr.pipe(process.stderr);
    const code = await new Promise((resolve) => child.on('close', (status) => resolve(status ?? 99)));
    process.exitCode = code;
  }
} finally {
  dnsmasq?.kill();
  nginx?.kill();
  await Promise.all(servers.map((server) => server.close()));
}

/** A TCP port that accepts and closes at once (a control port for the egress check). */
function listenOnly(host, port) {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({ close: () => new Promise((done) => server.close(() => done())) }),
    );
  });
}

/** A TCP port that accepts and never sends a byte (a server that never greets). */
function listenSilent(host, port) {
  return new Promise((resolve, reject) => {
    const sockets = new Set();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.resume();
    });
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** dnsmasq on 127.0.0.1:53 inside the namespace, authoritative for .test, with the spec's records. */
async function startDnsmasq(records) {
  const child = spawn(
    'dnsmasq',
    [
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      '--conf-file=/dev/null',
      '--port=53',
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      '--user=root',
      '--pid-file',
      '--local=/test/',
      ...records,
    ],
    { stdio: 'ignore' },
  );
  const resolver = new dns.Resolver({ timeout: 200, tries: 1 });
  resolver.setServers(['127.0.0.1:53']);
  for (let i = 0; i < 50; i++) {
    try {
      await resolver.resolveSoa('test');
      return child;
    } catch (error) {
      if (error.code === 'ENODATA' || error.code === 'ENOTFOUND') return child; // it answers
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill();
  throw new Error('dnsmasq did not start');
}

/** One run of a program: its exit code and output. */
function collect(file, args, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const started = Date.now();
    child.on('close', (code) => resolve({ code: code ?? 99, stdout, stderr, ms: Date.now() - started }));
  });
}

/** The real nginx, in the foreground, with the test's configuration; ready once it accepts on `wait`. */
async function startNginx({ config, wait }) {
  const child = spawn('nginx', ['-c', config, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk) => (errors += chunk));
  const [host, port] = [wait.slice(0, wait.lastIndexOf(':')), Number(wait.slice(wait.lastIndexOf(':') + 1))];
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const socket = net.connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`nginx did not start: ${errors.trim()}`);
}
