/**
 * The seven-port report on a healthy real Postfix + Dovecot (both address families, 14 probes), against the
 * summed time of the seven monitoring-plugins checks on the same host, in the same namespace, interleaved.
 * Installs nothing: the bench set-up (test/bench/setup.sh) installs the plugins and nmap.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MailHost, mailServersMissing, makeTls } from '../helpers/mail-servers.js';
import { netnsMissing, sweepStaleNamespaces } from '../helpers/netns.js';
import { bin, figure, has, rounds, timer } from './common.js';

const plugins = '/usr/lib/nagios/plugins';
const missing =
  netnsMissing() ??
  mailServersMissing() ??
  (has(`${plugins}/check_smtp`) ? undefined : 'needs monitoring-plugins-basic (test/bench/setup.sh)');

if (missing) console.warn(`skipping the seven-port benchmark: ${missing}`);

let root = '';
let host: MailHost | undefined;
beforeAll(() => {
  if (missing) return;
  sweepStaleNamespaces();
  root = mkdtempSync(join(tmpdir(), 'mailprobe-bench-'));
  chmodSync(root, 0o755);
  makeTls(join(root, 'tls'), 'mail.test');
  const dir = join(root, 'host');
  host = new MailHost(dir, join(root, 'tls'));
  host.start({
    cert: 'server',
    postfix: { services: ['smtp', 'submission', 'submissions'], starttlsOn25: true, authBeforeTls: false },
    dovecot: { listeners: ['imap', 'imaps', 'pop3', 'pop3s'], plaintextAuth: false },
  });
});
afterAll(() => {
  host?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

it.skipIf(missing !== undefined)(
  'the seven-port report against the seven monitoring-plugins checks',
  async () => {
    const check = (name: string, ...args: string[]) => [`${plugins}/${name}`, '-H', 'mail.test', ...args];
    const checks = [
      check('check_smtp', '-p', '25', '-S'),
      check('check_ssmtp', '-p', '465'),
      check('check_smtp', '-p', '587', '-S'),
      check('check_imap', '-p', '143'),
      check('check_simap', '-p', '993'),
      check('check_pop', '-p', '110'),
      check('check_spop', '-p', '995'),
    ];
    const spec = {
      rounds,
      repeat: 3,
      reference: ['/bin/true'],
      candidates: {
        plugins: checks,
        mailprobe: [process.execPath, bin, 'mail.test', '--ca', join(root, 'tls', 'ca.pem'), '--json'],
        floor: [process.execPath, '-e', '0'],
      },
    };
    const run = await host?.netns.run(process.execPath, [timer, JSON.stringify(spec)], 600_000);
    const result = JSON.parse(run?.stdout ?? '{}') as Record<string, { ms: number; ratio: number }>;
    const plugin = result.plugins as { ms: number };
    const probe = result.mailprobe as { ms: number };
    const ratio = probe.ms / plugin.ms;
    console.log(
      [
        `the seven-port report on real Postfix + Dovecot (median of ${rounds} interleaved rounds):`,
        `  the seven plugins checks, summed             ${plugin.ms.toFixed(1).padStart(8)} ms`,
        figure('mailprobe mail.test (both families, 14 probes)', { ms: probe.ms, ratio }, 1.7),
        `  (node -e 0 in the same rounds: ${(result.floor as { ms: number }).ms.toFixed(1)} ms)`,
      ].join('\n'),
    );
    // Where one run's time goes: each port's phases (ms), from the JSON report.
    const once = await host?.netns.run(process.execPath, [
      bin,
      'mail.test',
      '--ca',
      join(root, 'tls', 'ca.pem'),
      '--json',
    ]);
    const report = JSON.parse(once?.stdout ?? '{}') as {
      hosts: {
        durationMs: number;
        resolveMs: number;
        ports: { port: number; address: string; timings: Record<string, number> }[];
      }[];
    };
    const first = report.hosts[0];
    if (first) {
      console.log(
        `  one run: ${first.durationMs} ms in the engine (resolve ${first.resolveMs} ms); per port:`,
      );
      for (const port of first.ports)
        console.log(
          `    ${String(port.port).padEnd(4)} ${port.address.padEnd(10)} ${Object.entries(port.timings)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        );
    }
    expect(plugin.ms).toBeGreaterThan(0);
  },
);
