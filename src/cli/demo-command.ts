/** `mailprobe demo`: the built-in servers on loopback, probed and reported like a real host. */
import type { Argv } from 'yargs';
import type { Fixture, FixtureOptions } from '../demo/servers.js';
import { type ReportArgs, reportBuilder, reportOptions } from './report-options.js';

export const command = 'demo';
export const describe =
  'start built-in SMTP, IMAP and POP3 servers on 127.0.0.1 and probe them (no network needed)';

export function builder(yargs: Argv) {
  return reportBuilder(yargs);
}

/** One port of the demo host: its service and its server, or none for a port left closed. */
interface DemoPort {
  service: string;
  fixture?: FixtureOptions;
}

/**
 * The demo host: one server per service on ephemeral ports, with the test CA's certificate for
 * "localhost". Two are misconfigured on purpose (no STARTTLS on the relay, cleartext login on IMAP) and
 * the POP3 port is left closed, so the report shows findings of each kind.
 */
export const demoPorts: readonly DemoPort[] = [
  { service: 'smtp', fixture: { protocol: 'smtp', tls: 'none' } },
  { service: 'submissions', fixture: { protocol: 'smtp', tls: 'implicit' } },
  { service: 'submission', fixture: { protocol: 'smtp', tls: 'starttls' } },
  { service: 'imap', fixture: { protocol: 'imap', tls: 'starttls', authBeforeTls: true } },
  { service: 'imaps', fixture: { protocol: 'imap', tls: 'implicit' } },
  { service: 'pop3' },
  { service: 'pop3s', fixture: { protocol: 'pop3', tls: 'implicit' } },
];

/** What is wrong on purpose with a demo port, read from its configuration; undefined when nothing is. */
function deliberateFault({ fixture }: DemoPort): string | undefined {
  if (!fixture) return 'not listening';
  if (fixture.tls === 'none') return 'no STARTTLS';
  if (fixture.authBeforeTls) return 'password before TLS';
  return undefined;
}

/** The demo ports wrong on purpose, as `service (what is wrong)`, in the demo's order. */
export function deliberateFaults(ports: readonly DemoPort[] = demoPorts): string[] {
  return ports.flatMap((port) => {
    const fault = deliberateFault(port);
    return fault ? [`${port.service} (${fault})`] : [];
  });
}

/**
 * The human report's first lines: this is a demo, which ports are wrong on purpose (from demoPorts), and that
 * it exits 0 whatever it finds; wrapped at 80 columns.
 */
export function demoBanner(ports: readonly DemoPort[] = demoPorts): string {
  const faults = deliberateFaults(ports);
  const text =
    'This is a demo on built-in local servers' +
    (faults.length > 0 ? `, wrong on purpose: ${faults.join(', ')}.` : '.') +
    ' It exits 0 whatever it finds.';
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && `${lines[last]} ${word}`.length <= 80) lines[last] = `${lines[last]} ${word}`;
    else lines.push(word);
  }
  return `${lines.join('\n')}\n`;
}

/** Starts the demo host, prints the banner before a human report, probes it and reports; always exits 0. */
export async function handler(args: ReportArgs): Promise<void> {
  const report = reportOptions(args);
  const { probeAndReport, startFixture, startRawServer, tlsFile } = await import('./modes.js');
  const fixtures: Fixture[] = [];
  try {
    // A port that was just freed: nothing listens there, so the probe is refused.
    const closed = await startRawServer(() => {});
    const closedPort = closed.port;
    await closed.close();
    const ports = await Promise.all(
      demoPorts.map(async ({ service, fixture }) => {
        if (!fixture) return { port: closedPort, service };
        const started = await startFixture(fixture);
        fixtures.push(started);
        return { port: started.port, service };
      }),
    );
    if (report.format === 'human') process.stdout.write(demoBanner());
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
