// Serves the seven fixture services in a process of their own (so the benchmark times the prober, not the
// servers sharing its event loop) and prints their ports as JSON on stdout. Ends when stdin closes.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { startFixture } = await import(`${root}dist/fixtures/servers.js`);
const specs = [
  ['smtp', { protocol: 'smtp', tls: 'starttls' }],
  ['submissions', { protocol: 'smtp', tls: 'implicit' }],
  ['submission', { protocol: 'smtp', tls: 'starttls' }],
  ['imap', { protocol: 'imap', tls: 'starttls' }],
  ['imaps', { protocol: 'imap', tls: 'implicit' }],
  ['pop3', { protocol: 'pop3', tls: 'starttls' }],
  ['pop3s', { protocol: 'pop3', tls: 'implicit' }],
];
const fixtures = await Promise.all(specs.map(([, options]) => startFixture(options)));
process.stdout.write(
  `${JSON.stringify(specs.map(([service], i) => ({ port: fixtures[i].port, service })))}\n`,
);
process.stdin.resume();
process.stdin.on('end', () =>
  Promise.all(fixtures.map((fixture) => fixture.close())).then(() => process.exit(0)),
);
