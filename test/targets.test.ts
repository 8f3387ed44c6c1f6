/** The probe's target as people type it (HOST:PORT, [V6]:PORT, URLs), and command words typed wrong: the CLI as a process. */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTarget } from '../src/cli/options.js';
import type { JsonReport } from '../src/render/json.js';
import { cli, mainScript } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';

beforeAll(() => {
  if (!existsSync(mainScript))
    throw new Error('dist/src/cli/main.js is missing: run npm run build (npm test does)');
});

const { fixture } = fixtureServers();

/** The ports a JSON report probed, as `port service`. */
function probed(stdout: string): string[] {
  const report = JSON.parse(stdout) as JsonReport;
  return report.hosts.flatMap((host) => host.ports.map((port) => `${port.port} ${port.service}`));
}

/** One line on stderr, exit 2, nothing on stdout. */
function usageLine(run: { code: number; stdout: string; stderr: string }): string {
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}

describe('targets typed as people type them', () => {
  it('HOST:PORT, [V6]:PORT and SCHEME://HOST probe that one port as its service', async () => {
    const cases: [string, string][] = [
      ['127.0.0.1:993', '993 imaps'],
      ['[::1]:993', '993 imaps'],
      ['[127.0.0.1]:25', '25 smtp'],
      ['smtps://127.0.0.1', '465 submissions'],
      ['submission://127.0.0.1', '587 submission'],
      ['POP3S://127.0.0.1/', '995 pop3s'],
      ['imap://[::1]', '143 imap'],
    ];
    for (const [target, port] of cases) {
      const run = await cli([target, '--timeout', '300', '--json']);
      expect(run.stderr, target).toBe('');
      expect(probed(run.stdout), target).toEqual([port]);
    }
  });

  it('a URL with a port probes that port as the scheme says, against a real server', async () => {
    const port = await fixture({ protocol: 'smtp', tls: 'implicit' });
    const run = await cli([`smtps://127.0.0.1:${port}`, '--timeout', '2000', '--json']);
    expect(probed(run.stdout)).toEqual([`${port} submissions`]);
    const report = JSON.parse(run.stdout) as JsonReport;
    expect(report.hosts[0]?.ports[0]?.status).not.toMatch(/refused|filtered|timeout/);
  });

  it('a bare IPv6 address is a host, not HOST:PORT', async () => {
    expect(parseTarget('::1')).toEqual({ host: '::1' });
    expect(parseTarget('2001:db8::25')).toEqual({ host: '2001:db8::25' });
    expect(parseTarget('[2001:db8::1]:587')).toEqual({
      host: '2001:db8::1',
      port: { port: 587, service: 'submission' },
    });
    const run = await cli(['::1', '--ports', '993', '--timeout', '300', '--json']);
    expect(probed(run.stdout)).toEqual(['993 imaps']);
  });

  const refused: [string, string[], RegExp][] = [
    [
      'a port of no reference service',
      ['mail.example.com:2525'],
      /port 2525 has no reference service; name it: mailprobe mail\.example\.com --port 2525=SERVICE/,
    ],
    ['the same in brackets', ['[::1]:2525'], /mailprobe \[::1\] --port 2525=SERVICE/],
    ['an unknown scheme', ['ftp://mail.example.com'], /unknown scheme ftp:\/\//],
    ['a user in the URL', ['smtp://alice@mail.example.com'], /no user, path or query/],
    ['a port out of range', ['127.0.0.1:70000'], /70000 is out of range/],
    ['a port and --ports', ['127.0.0.1:993', '--ports', '25'], /names its port: give no --ports/],
    ['a port and --discover', ['smtps://example.org', '--discover'], /names its port/],
  ];
  for (const [name, args, message] of refused)
    it(`exits 2 with one line for ${name}`, async () => {
      expect(usageLine(await cli(args))).toMatch(message);
    });
});
