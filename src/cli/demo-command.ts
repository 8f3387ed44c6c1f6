/** `mailprobe demo`: the built-in servers on loopback, probed and reported like a real host. */
import type { Argv } from 'yargs';
import type { Fixture } from '../demo/servers.js';
import { type ReportArgs, reportBuilder, reportOptions } from './report-options.js';

export const command = 'demo';
export const describe =
  'start built-in SMTP, IMAP and POP3 servers on 127.0.0.1 and probe them (no network needed)';

export function builder(yargs: Argv) {
  return reportBuilder(yargs);
}

/**
 * The demo host: one server per service on ephemeral ports, with the test CA's certificate for
 * "localhost". Two are misconfigured on purpose (no STARTTLS on the relay, cleartext login on IMAP) and
 * the POP3 port is left closed, so the report shows findings of each kind.
 */
export async function handler(args: ReportArgs): Promise<void> {
  const report = reportOptions(args);
  const { probeAndReport, startFixture, startRawServer, tlsFile } = await import('./engine.js');
  const fixtures: Fixture[] = [];
  try {
    const start = async (service: string, fixture: Promise<Fixture>) => {
      const started = await fixture;
      fixtures.push(started);
      return { port: started.port, service };
    };
    // A port that was just freed: nothing listens there, so the probe is refused.
    const closed = await startRawServer(() => {});
    const closedPort = closed.port;
    await closed.close();
    const ports = await Promise.all([
      start('smtp', startFixture({ protocol: 'smtp', tls: 'none' })),
      start('submissions', startFixture({ protocol: 'smtp', tls: 'implicit' })),
      start('submission', startFixture({ protocol: 'smtp', tls: 'starttls' })),
      start('imap', startFixture({ protocol: 'imap', tls: 'starttls', authBeforeTls: true })),
      start('imaps', startFixture({ protocol: 'imap', tls: 'implicit' })),
      Promise.resolve({ port: closedPort, service: 'pop3' }),
      start('pop3s', startFixture({ protocol: 'pop3', tls: 'implicit' })),
    ]);
    await probeAndReport(
      '127.0.0.1',
      {
        ports: ports.map(({ port, service }) => ({ port, service: service as never })),
        servername: 'localhost',
        ca: tlsFile('ca.pem'),
        limits: { connectMs: 2000, greetingMs: 2000, replyMs: 2000, tlsMs: 2000, portMs: 10000 },
      },
      report,
      false,
    );
  } finally {
    await Promise.all(fixtures.map((fixture) => fixture.close()));
  }
}
