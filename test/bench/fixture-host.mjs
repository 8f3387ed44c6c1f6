// Serves the seven fixture services in a process of their own (so the benchmark times the prober, not the
// servers sharing its event loop) and prints their ports as JSON on stdout. Ends when stdin closes.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { referenceFixtures: specs, startFixture } = await import(`${root}dist/src/demo/servers.js`);
// An optional address to listen on (the fleet benchmark listens on 0.0.0.0 inside a namespace of its own).
const host = process.argv[2];
const fixtures = await Promise.all(
  specs.map(([, options]) => startFixture(host ? { ...options, host } : options)),
);
process.stdout.write(
  `${JSON.stringify(specs.map(([service], i) => ({ port: fixtures[i].port, service })))}\n`,
);
process.stdin.resume();
process.stdin.on('end', () =>
  Promise.all(fixtures.map((fixture) => fixture.close())).then(() => process.exit(0)),
);
