// Serves the seven fixture services in a process of their own (so the benchmark times the prober, not the
// servers sharing its event loop) and prints their ports as JSON on stdout. Ends when stdin closes.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { referenceFixtures: specs, startFixture } = await import(`${root}dist/src/demo/servers.js`);
const fixtures = await Promise.all(specs.map(([, options]) => startFixture(options)));
process.stdout.write(
  `${JSON.stringify(specs.map(([service], i) => ({ port: fixtures[i].port, service })))}\n`,
);
process.stdin.resume();
process.stdin.on('end', () =>
  Promise.all(fixtures.map((fixture) => fixture.close())).then(() => process.exit(0)),
);
