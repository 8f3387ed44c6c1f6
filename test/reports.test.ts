/**
 * What mailprobe writes: a report on every exit, written atomically and never through a symlink, inert
 * server text in every format, bounded and checked input files, a quiet end when stdout goes away.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { isoTime } from '../src/net/clock.js';
import { probeHost } from '../src/probe/host.js';
import { cli, mainScript, root } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';
import { validReport } from './helpers/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'mailprobe-reports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ca = `${root}fixtures/tls/ca.pem`;
const { fixture, raw } = fixtureServers();

describe('a report on every exit', () => {
  it('exit 2 (bad input): the JSON, JUnit and Markdown files say why the run failed', async () => {
    const files = {
      json: join(dir, 'usage.json'),
      junit: join(dir, 'usage.xml'),
      markdown: join(dir, 'usage.md'),
    };
    // A stale green report from an earlier run must not survive.
    writeFileSync(files.junit, '<testsuites tests="1" failures="0"/>');
    const run = await cli([
      '127.0.0.1',
      '--ports',
      '99999',
      '--json-file',
      files.json,
      '--junit',
      files.junit,
      '--markdown',
      files.markdown,
    ]);
    expect(run.code).toBe(2);
    const report = validReport<{
      result: { passed: boolean; error?: { exitCode: number; message: string } };
      hosts: unknown[];
    }>(readFileSync(files.json, 'utf8'));
    expect(report.result).toMatchObject({
      passed: false,
      error: { exitCode: 2, message: expect.stringMatching(/--ports: 99999 is out of range/) },
    });
    expect(report.hosts).toEqual([]);
    const xml = readFileSync(files.junit, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toMatch(/<error message="--ports: 99999 is out of range[^"]*" type="exit 2">/);
    expect(readFileSync(files.markdown, 'utf8')).toMatch(
      /failed before probing[\s\S]*--ports: 99999 is out of range[\s\S]*\(exit 2\)/,
    );
  });

  it("exit 2 for a value outside --fail-on's or --format's list: the files say why too", async () => {
    const json = join(dir, 'choices.json');
    for (const bad of [
      ['--fail-on', 'hgih'],
      ['--format', 'yaml'],
    ] as const) {
      writeFileSync(json, '{"stale": true}');
      const run = await cli(['127.0.0.1', '--json-file', json, ...bad]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^mailprobe: ${bad[0]}: '${bad[1]}' is not one of `));
      const report = validReport<{ result: { error?: { exitCode: number; message: string } } }>(
        readFileSync(json, 'utf8'),
      );
      expect(report.result.error).toMatchObject({ exitCode: 2, message: expect.stringContaining(bad[1]) });
    }
  });

  it('exit 3 (the host does not resolve): the JUnit file says so', async () => {
    const junit = join(dir, 'resolve.xml');
    const run = await cli([
      'no-such-host.invalid',
      '--junit',
      junit,
      '--dns-server',
      '127.0.0.1:9',
      '--timeout',
      '500',
    ]);
    expect(run.code).toBe(3);
    expect(readFileSync(junit, 'utf8')).toMatch(
      /type="exit 3">mailprobe ended with exit code 3 before probing: cannot resolve no-such-host\.invalid/,
    );
  });

  it('a host where no port works fails the run (exit 1, no-port-works)', async () => {
    const closed = await raw((socket) => socket.destroy());
    const run = await cli(['127.0.0.1', '--port', `${closed}=submission`, '--json', '--timeout', '500']);
    expect(run.code).toBe(1);
    const report = validReport<{ hosts: { findings: { id: string; severity: string }[] }[] }>(run.stdout);
    expect(report.hosts[0]?.findings.find((f) => f.id === 'no-port-works')?.severity).toBe('high');
  });

  it('a host expected to be down that is down passes on its expectations', async () => {
    const closed = await raw((socket) => socket.destroy());
    const run = await cli([
      '127.0.0.1',
      '--port',
      `${closed}=submission`,
      '--expect',
      `${closed}=fails,service=submission`,
      '--timeout',
      '500',
    ]);
    expect(run.code).toBe(0);
  });
});

describe('report files', () => {
  it('are written atomically over a symlink, never through it', async () => {
    const port = await fixture({ protocol: 'smtp', tls: 'implicit' });
    const elsewhere = join(dir, 'elsewhere.txt');
    writeFileSync(elsewhere, 'precious');
    const target = join(dir, 'report.json');
    symlinkSync(elsewhere, target);
    const run = await cli([
      '127.0.0.1',
      '--port',
      `${port}=submissions`,
      '--ca',
      ca,
      '--servername',
      'localhost',
      '--json-file',
      target,
    ]);
    expect(run.code).toBe(0);
    expect(readFileSync(elsewhere, 'utf8')).toBe('precious');
    expect(lstatSync(target).isSymbolicLink()).toBe(false);
    validReport(readFileSync(target, 'utf8'));
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('the same file for two formats is exit 2', async () => {
    const same = join(dir, 'same.out');
    const run = await cli(['127.0.0.1', '--ports', '587', '--json-file', same, '--junit', same]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /--junit and --json-file name the same file|--json-file and --junit name the same file/,
    );
  });
});

describe('server text in every format is inert', () => {
  const hostile = '220 <img src=x onerror=alert(1)> [click](javascript:alert(1)) \uFFFE\uFFFF\u0001 ok\r\n';

  it('Markdown escapes HTML and links; JUnit stays well-formed XML', async () => {
    const port = await fixture({ protocol: 'smtp', tls: 'starttls', greeting: hostile });
    const markdown = join(dir, 'hostile.md');
    const junit = join(dir, 'hostile.xml');
    await cli([
      '127.0.0.1',
      '--port',
      `${port}=submission`,
      '--ca',
      ca,
      '--servername',
      'localhost',
      '--markdown',
      markdown,
      '--junit',
      junit,
      '--expect',
      `${port}=fails`,
    ]);
    const md = readFileSync(markdown, 'utf8');
    expect(md).not.toContain('<img');
    const xml = readFileSync(junit, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).not.toMatch(/[\uFFFE\uFFFF\u0001]/);
  });

  it('the Markdown finding text with server HTML is escaped', async () => {
    // An unsolicited reply carries server text into a finding's evidence and detail.
    const port = await raw((socket) => {
      socket.write('220 ready\r\n');
      socket.once('data', () => socket.end('421 <script>alert(1)</script> closing\r\n'));
    });
    const markdown = join(dir, 'finding.md');
    await cli(['127.0.0.1', '--port', `${port}=submission`, '--markdown', markdown, '--timeout', '500']);
    const md = readFileSync(markdown, 'utf8');
    expect(md).not.toMatch(/<script>/);
  });

  it('--verbose sanitises every transcript line, client lines and notes included', async () => {
    const port = await raw((socket) => {
      socket.write('220 \u001b[31mred\u001b[0m\r\n');
      socket.once('data', () => socket.end('421 \u001b]52;c;aGVsbG8=\u0007 bye\r\n'));
    });
    const run = await cli([
      '127.0.0.1',
      '--port',
      `${port}=submission`,
      '--verbose',
      '--no-color',
      '--timeout',
      '500',
    ]);
    expect(run.stdout).not.toMatch(/\u001b/);
    expect(run.stdout).toContain('␛[31mred');
  });
});

describe('input files are bounded and checked', () => {
  it('a FIFO as --ca is refused at once, not read forever', async () => {
    const fifo = join(dir, 'ca.fifo');
    execFileSync('mkfifo', [fifo]);
    const run = await cli(['127.0.0.1', '--ports', '587', '--ca', fifo]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--ca: .*ca\.fifo is not a regular file/);
  });

  it('a --ca block that is not a certificate, and a huge --ca, are refused', async () => {
    const broken = join(dir, 'broken.pem');
    writeFileSync(
      broken,
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
    );
    const bad = await cli(['127.0.0.1', '--ports', '587', '--ca', broken]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--ca: .*broken\.pem: certificate 1 of 1 cannot be read/);
    const huge = join(dir, 'huge.pem');
    writeFileSync(huge, '');
    truncateSync(huge, 300_000_000);
    const big = await cli(['127.0.0.1', '--ports', '587', '--ca', huge]);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/is 300000000 bytes, more than the 10000000 allowed/);
  });

  it('the library refuses limits a timer cannot hold', async () => {
    await expect(probeHost('127.0.0.1', { limits: { portMs: 3_000_000_000 } })).rejects.toBeInstanceOf(
      UsageError,
    );
    await expect(probeHost('127.0.0.1', { limits: { replyMs: 0.5 } })).rejects.toBeInstanceOf(UsageError);
  });
});

describe('stdout that goes away', () => {
  it('piping into a reader that quits (head) ends quietly, no stack trace', async () => {
    const child = spawn(process.execPath, [mainScript, 'demo', '--verbose', '--no-color'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/Error|\n\s+at /);
    expect(code).toBe(0);
  });
});

describe('report times', () => {
  it('isoTime writes what Date#toISOString writes, edge years included', () => {
    for (const ms of [
      0,
      -1,
      1,
      Date.now(),
      951_782_400_000,
      253_402_300_799_999,
      -62_167_219_200_000,
      1e15,
      -1e15,
    ])
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(isoTime()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
