// Runs inside a network namespace (ip netns exec NS node this-file SPEC): starts the fixture servers the
// spec names on their real port numbers, runs the built mailprobe CLI with the spec's arguments, relays its
// output and exit code, and stops the servers. Uses the compiled code in dist/.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { startFixture } = await import(`${root}dist/fixtures/servers.js`);
const spec = JSON.parse(process.argv[2] ?? '{}');

const servers = [];
try {
  for (const server of spec.servers ?? []) {
    const { port, ...options } = server;
    servers.push(await startFixture({ ...options, listenPort: port }));
  }
  const child = spawn(process.execPath, [`${root}dist/src/cli/main.js`, ...spec.cli], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(process.stdout);
  child.stderr.pipe(process.stderr);
  const code = await new Promise((resolve) => child.on('close', (status) => resolve(status ?? 99)));
  process.exitCode = code;
} finally {
  await Promise.all(servers.map((server) => server.close()));
}
