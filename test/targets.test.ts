/** The probe's target as people type it (HOST:PORT, [V6]:PORT, URLs), and command words typed wrong: the CLI as a process. */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

/** A DNS server on loopback that answers every query NXDOMAIN, and counts them. */
async function countingDns(): Promise<{ port: number; queries: () => number; close: () => void }> {
  const socket = createSocket('udp4');
  let count = 0;
  socket.on('message', (query, peer) => {
    count++;
    if (query.length < 12) return;
    const answer = Buffer.from(query);
    // QR (a response), RD kept, RA, RCODE 3 (NXDOMAIN); no records.
    answer[2] = 0x80 | ((query[2] ?? 0) & 0x01);
    answer[3] = 0x83;
    socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, queries: () => count, close: () => socket.close() };
}

describe('a command typed wrong', () => {
  it('is refused as a typo, with the command meant, before any DNS query', async () => {
    const dns = await countingDns();
    try {
      for (const [word, meant] of [
        ['dmeo', 'demo'],
        ['egres', 'egress'],
        ['publsh', 'publish'],
        ['Demo', 'demo'],
        ['prots', 'ports'],
        ['hepl', 'help'],
      ]) {
        const run = await cli([word ?? '', '--dns-server', `127.0.0.1:${dns.port}`, '--timeout', '500']);
        expect(usageLine(run)).toMatch(new RegExp(`'${word}' is not a command: did you mean ${meant}\\?`));
      }
      expect(dns.queries()).toBe(0);
      // The same line with a host name that is no typo does ask the server: the count above could have moved.
      const host = await cli(['mailhost', '--dns-server', `127.0.0.1:${dns.port}`, '--timeout', '500']);
      expect(host.code).toBe(3);
      expect(dns.queries()).toBeGreaterThan(0);
    } finally {
      dns.close();
    }
  });

  it("help is --help, and help COMMAND that command's --help", async () => {
    const [help, flag, demo, demoFlag] = await Promise.all([
      cli(['help']),
      cli(['--help']),
      cli(['help', 'demo']),
      cli(['demo', '--help']),
    ]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toBe(flag.stdout);
    expect(demo.stdout).toBe(demoFlag.stdout);
    expect(demo.stdout).not.toBe(help.stdout);
  });

  const others: [string[], RegExp][] = [
    [
      ['demo', '--port', '2525=smtp'],
      /^mailprobe: --port is an option of batch, mailprobe <host>, not of demo /,
    ],
    [['127.0.0.1', '--via', 'x'], /--via is an option of egress, not of mailprobe <host>/],
    [['egress', '-q'], /(^|: )-q is an option of [a-z<>, ]+, not of egress/],
    [['ports', '--colour'], /unknown option --colour \(did you mean --color\?\)/],
  ];
  for (const [args, message] of others)
    it(`names whose option it is: ${args.join(' ')}`, async () => {
      expect(usageLine(await cli(args))).toMatch(message);
    });
});

/** Runs the CLI in a folder of its own, to see which files it writes there. */
function cliIn(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mainScript, ...args],
      { cwd: dir, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('report options', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mailprobe-report-options-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--json never takes the host: before or after it, JSON on stdout and no file', async () => {
    for (const args of [
      ['--json', '127.0.0.1', '--ports', '25', '--timeout', '300'],
      ['127.0.0.1', '--json', '--ports', '25', '--timeout', '300'],
    ]) {
      const run = await cliIn(dir, args);
      expect(run.stderr).toBe('');
      expect(probed(run.stdout)).toEqual(['25 smtp']);
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('--json-file FILE and --json=FILE write the file; --json - prints on stdout', async () => {
    const common = ['127.0.0.1', '--ports', '25', '--timeout', '300'];
    const file = await cliIn(dir, [...common, '--json-file', 'a.json']);
    const equals = await cliIn(dir, [...common, '--json=b.json']);
    const dash = await cliIn(dir, [...common, '--json', '-']);
    expect(file.stdout).toMatch(/works from here/);
    expect(equals.stdout).toMatch(/works from here/);
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.json']);
    expect(probed(readFileSync(join(dir, 'a.json'), 'utf8'))).toEqual(['25 smtp']);
    expect(probed(readFileSync(join(dir, 'b.json'), 'utf8'))).toEqual(['25 smtp']);
    expect(probed(dash.stdout)).toEqual(['25 smtp']);
  });

  it('a word after --json is refused with the spelling for a file, and no file is written', async () => {
    const probe = await cliIn(dir, ['127.0.0.1', '--json', 'out.json']);
    expect(usageLine(probe)).toMatch(
      /--json prints the JSON report on stdout and takes no FILE: --json-file out\.json/,
    );
    const egress = await cliIn(dir, ['egress', '--json', 'out.json']);
    expect(usageLine(egress)).toMatch(/egress writes no report file/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a command line that did not parse writes no report file; one that parsed does, on a bad value too', async () => {
    for (const args of [
      ['127.0.0.1', '--bogus', '--json-file', 'x.json'],
      ['egress', '--json-file', 'x.json'],
      ['dmeo', '--json-file', 'x.json'],
      ['127.0.0.1', '127.0.0.2', '--junit', 'x.xml'],
    ])
      expect((await cliIn(dir, args)).code, args.join(' ')).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
    const bad = await cliIn(dir, ['127.0.0.1', '--timeout', '0', '--json-file', 'x.json']);
    expect(usageLine(bad)).toMatch(/--timeout/);
    const report = JSON.parse(readFileSync(join(dir, 'x.json'), 'utf8')) as JsonReport;
    expect(report.result.error?.exitCode).toBe(2);
  });

  it('--json a --json is no crash; a value option given twice is exit 2', async () => {
    const dns = await countingDns();
    try {
      const twice = await cliIn(dir, ['--json', 'a', '--json', '--dns-server', `127.0.0.1:${dns.port}`]);
      expect(twice.code).toBe(3);
      expect(twice.stderr).toMatch(/^mailprobe: cannot resolve a/);
    } finally {
      dns.close();
    }
    for (const [args, message] of [
      [['127.0.0.1', '--ca', 'a', '--ca', 'b'], /--ca given 2 times; it takes one value/],
      [['127.0.0.1', '--timeout', '1', '--timeout', '2'], /--timeout given 2 times/],
      [['egress', '--timeout', '1', '--timeout', '2'], /--timeout given 2 times/],
      [['demo', '--json-file', 'a', '--json-file', 'b'], /--json-file given 2 times/],
    ] as const)
      expect(usageLine(await cliIn(dir, [...args]))).toMatch(message);
    expect(readdirSync(dir)).toEqual([]);
    // Repeatable options stay repeatable.
    const ports = await cliIn(dir, [
      '127.0.0.1',
      '--ports',
      '25',
      '--ports',
      '110',
      '--timeout',
      '300',
      '--json',
    ]);
    expect(probed(ports.stdout)).toEqual(['25 smtp', '110 pop3']);
  });
});
