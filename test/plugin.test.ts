/**
 * `--format plugin`: the monitoring-plugin output (Nagios, Icinga, Naemon, Checkmk) by the Monitoring Plugins
 * development guidelines. First the renderer on hand-built, really judged results (a table of states); then the
 * built CLI as a monitoring system runs it, against fixture servers: OK, WARNING, CRITICAL, UNKNOWN and their
 * exit codes 0/1/2/3, the status line and the performance data held to the guidelines' syntax.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportOptions } from '../src/cli/report-options.js';
import { startRawServer } from '../src/demo/servers.js';
import type { PortExpectation } from '../src/expect/parse.js';
import { referenceFor } from '../src/reference/table.js';
import { defaultPluginThresholds, type PluginThresholds, renderPlugin } from '../src/render/plugin.js';
import type { Severity } from '../src/rules/finding.js';
import { judge } from '../src/rules/judge.js';
import type { HostResult, PortResult, Service } from '../src/types/index.js';
import { cli, mainScript, root } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';
import { opensslMissing } from './helpers/mail-servers.js';

// The guidelines' performance data: 'label'=value[UOM];[warn];[crit];[min];[max], warn and crit as ranges
// ([@][start:][end], start may be ~), UOM one of s us ms % B KB MB TB c; trailing empty fields may be left out.
const number = String.raw`-?\d+(?:\.\d+)?`;
const range = `@?(?:(?:~|${number})?:)?(?:${number})?`;
const perfItem = new RegExp(
  String.raw`^(?:'[^'=]+'|[^'=\s]+)=${number}(?:us|ms|s|%|B|KB|MB|TB|c)?(?:;${range}(?:;${range}(?:;(?:${number})?(?:;(?:${number})?)?)?)?)?$`,
);
const statusLine = /^MAILPROBE (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n]+$/;

/** The status line, the performance data items and the long output; fails the test if the syntax is off. */
function parse(text: string) {
  const [first = '', ...long] = text.replace(/\n$/, '').split('\n');
  const [status = '', perf] = first.split(' | ');
  expect(status).toMatch(statusLine);
  expect(status.length).toBeLessThanOrEqual(80);
  expect(first.split('|').length).toBeLessThanOrEqual(2);
  // Items are separated by spaces; a quoted label may hold spaces of its own.
  const items = perf === undefined ? [] : [...perf.matchAll(/(?:'[^']*'|[^'\s=]+)=\S*/g)].map((m) => m[0]);
  expect(items.join(' ')).toBe(perf ?? '');
  for (const item of items) expect(item).toMatch(perfItem);
  for (const line of long) expect(line).not.toContain('|');
  return { state: statusLine.exec(status)?.[1], status, items, long };
}

describe('the perfdata pattern itself', () => {
  it('takes the guidelines examples and refuses what they do not allow', () => {
    for (const ok of [
      "'993 time'=12ms;500;1000;0",
      "'993 cert days'=3;21:;7:",
      'time=0.01s;;;0',
      'a=1',
      "'x y'=5%",
    ])
      expect(ok).toMatch(perfItem);
    for (const bad of ["'993 time'=12 ms", 'a b=1', "'a'=1d;2", "'a'=x", "'a'=1;2;3;4;5;6"])
      expect(bad).not.toMatch(perfItem);
  });
});

const startedAt = '2026-06-01T00:00:00.000Z';
const day = 86_400_000;

/** A hand-built open, well-behaved port (as test/rules.test.ts builds them), judged for real by the rules. */
function port(service: Service, overrides: Partial<PortResult> & { daysLeft?: number } = {}): PortResult {
  const row = referenceFor(service);
  const { daysLeft = 200, ...rest } = overrides;
  const validTo = new Date(Date.parse(startedAt) + daysLeft * day + day / 2).toISOString();
  const expired = daysLeft < 0;
  return {
    port: row.port,
    service,
    protocol: row.protocol,
    expectedTls: row.tls,
    address: '192.0.2.10',
    family: 4,
    status: 'open',
    statusDetail: '',
    greeting: { kind: 'ok', lines: ['mail.example ready'] },
    capabilities: {
      command: 'EHLO',
      ok: true,
      list: ['STARTTLS'],
      starttls: true,
      authMechanisms: [],
      plaintextLogin: false,
    },
    ...(row.tls === 'starttls'
      ? { starttls: { advertised: true, attempted: true, accepted: true, upgraded: true, bytesAfterOk: 0 } }
      : {}),
    tls: {
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      trusted: !expired,
      ...(expired
        ? {
            trustProblems: [
              { kind: 'expired' as const, certificate: 'leaf', index: 0, detail: 'CN=mail.example expired' },
            ],
          }
        : {}),
      checkedName: 'mail.example',
      nameMatches: true,
      certificate: {
        subject: 'CN=mail.example',
        issuer: 'CN=Test CA',
        subjectAltNames: ['DNS:mail.example'],
        validFrom: '2026-01-01T00:00:00.000Z',
        validTo,
        sha256: 'AA',
        chainLength: 2,
      },
    },
    startedAt,
    timings: { total: 40 },
    transcript: [],
    ...rest,
  };
}

/** A relay port that offers no STARTTLS (starttls-not-offered, medium). */
function noStarttls(): PortResult {
  const { tls: _tls, ...base } = port('smtp');
  return {
    ...base,
    capabilities: {
      command: 'EHLO',
      ok: true,
      list: [],
      starttls: false,
      authMechanisms: [],
      plaintextLogin: false,
    },
    starttls: { advertised: false, attempted: false, accepted: false, upgraded: false, bytesAfterOk: 0 },
  };
}

/** A refused port: what the probe records when nothing listens. */
function refused(service: Service): PortResult {
  const { tls: _tls, starttls: _starttls, greeting: _greeting, capabilities: _caps, ...base } = port(service);
  return {
    ...base,
    status: 'refused',
    statusDetail: 'ECONNREFUSED: connect ECONNREFUSED 192.0.2.10:25 | not a perfdata pipe',
    failedPhase: 'connect',
    timings: { total: 1 },
  };
}

function run(
  ports: PortResult[],
  options: {
    thresholds?: PluginThresholds;
    failOn?: Severity;
    expectations?: PortExpectation[];
    interrupted?: boolean;
  } = {},
) {
  const host: HostResult = {
    host: 'mail.example',
    servername: 'mail.example',
    addresses: [...new Map(ports.map((p) => [p.address, { address: p.address, family: p.family }])).values()],
    resolveMs: 0,
    startedAt,
    durationMs: 50,
    ports,
  };
  const { hosts, outcome } = judge([host], { failOn: options.failOn, expectations: options.expectations });
  if (options.interrupted) Object.assign(outcome, { passed: false, interrupted: true });
  const output = renderPlugin(hosts, outcome, options.thresholds ?? defaultPluginThresholds);
  return { ...output, ...parse(output.text), passed: outcome.passed };
}

describe('renderPlugin: the state, the status line, the performance data', () => {
  const cases: {
    name: string;
    ports: PortResult[];
    options?: Parameters<typeof run>[1];
    state: string;
    code: number;
    status: RegExp;
    perf?: string[];
  }[] = [
    {
      name: 'two healthy ports',
      ports: [port('submission'), port('imaps')],
      state: 'OK',
      code: 0,
      status: /^MAILPROBE OK - 2 of 2 ports work \(587, 993\), cert 200 d left$/,
      perf: [
        "'587 time'=40ms;;;0",
        "'587 cert days'=200;21:;7:",
        "'993 cert days'=200;21:;7:",
        "'ports working'=2;;;0;2",
      ],
    },
    {
      name: 'a certificate under --warning-days (21 by default)',
      ports: [port('submission'), port('imaps', { daysLeft: 10 })],
      state: 'WARNING',
      code: 1,
      status: /^MAILPROBE WARNING - 993 cert expires in 10 d/,
      perf: ["'993 cert days'=10;21:;7:"],
    },
    {
      name: 'a certificate under --critical-days (7 by default)',
      ports: [port('imaps', { daysLeft: 3 })],
      state: 'CRITICAL',
      code: 2,
      status: /^MAILPROBE CRITICAL - 993 cert expires in 3 d/,
    },
    {
      name: 'thresholds of its own',
      ports: [port('imaps', { daysLeft: 40 })],
      options: { thresholds: { warningDays: 60, criticalDays: 30 } },
      state: 'WARNING',
      code: 1,
      status: /^MAILPROBE WARNING - 993 cert expires in 40 d/,
      perf: ["'993 cert days'=40;60:;30:"],
    },
    {
      name: 'an expired certificate',
      ports: [port('imaps', { daysLeft: -5 })],
      state: 'CRITICAL',
      code: 2,
      status: /^MAILPROBE CRITICAL - 993 cert expired 5 d ago \(\+1 more\)$/,
      perf: ["'993 cert days'=-5;21:;7:"],
    },
    {
      name: 'a refused port (nothing listens): its server text stays out of the status line and perfdata',
      ports: [port('imaps'), refused('submission')],
      state: 'CRITICAL',
      code: 2,
      status: /^MAILPROBE CRITICAL - 587 refused$/,
      perf: ["'993 time'=40ms;;;0", "'ports working'=1;;;0;2"],
    },
    {
      name: 'a refused port expected closed (--expect 587=closed) is what was asked',
      ports: [port('imaps'), refused('submission')],
      options: { expectations: [{ port: 587, state: 'closed' }, { port: 993 }] },
      state: 'OK',
      code: 0,
      status: /^MAILPROBE OK - 1 of 2 ports work/,
    },
    {
      name: 'an unmet expectation',
      ports: [port('imaps')],
      options: { expectations: [{ port: 993, tls: 'starttls' }] },
      state: 'CRITICAL',
      code: 2,
      status: /^MAILPROBE CRITICAL - 993 expected tls=starttls$/,
    },
    {
      name: 'a medium finding below --fail-on (high) warns',
      ports: [noStarttls()],
      state: 'WARNING',
      code: 1,
      status: /^MAILPROBE WARNING - 25 starttls-not-offered$/,
    },
    {
      name: 'the same finding at or above --fail-on (medium) is critical',
      ports: [noStarttls()],
      options: { failOn: 'medium' },
      state: 'CRITICAL',
      code: 2,
      status: /^MAILPROBE CRITICAL - 25 starttls-not-offered$/,
    },
    {
      name: 'a slow answer over --warning-ms',
      ports: [port('imaps', { timings: { total: 700 } })],
      options: { thresholds: { ...defaultPluginThresholds, warningMs: 500, criticalMs: 1000 } },
      state: 'WARNING',
      code: 1,
      status: /^MAILPROBE WARNING - 993 answered in 700 ms$/,
      perf: ["'993 time'=700ms;500;1000;0"],
    },
    {
      name: 'a slow answer over --critical-ms',
      ports: [port('imaps', { timings: { total: 1500 } })],
      options: { thresholds: { ...defaultPluginThresholds, warningMs: 500, criticalMs: 1000 } },
      state: 'CRITICAL',
      code: 2,
      status: /^MAILPROBE CRITICAL - 993 answered in 1500 ms$/,
    },
    {
      name: 'an address this machine has no route to is not tested, not CRITICAL (clients fall back)',
      ports: [
        port('imaps'),
        {
          ...refused('imaps'),
          address: '2001:db8::10',
          family: 6,
          status: 'local-error',
          statusDetail: 'this machine has no route to IPv6 (ENETUNREACH); nothing was sent',
          noRouteFromHere: true,
        },
      ],
      state: 'OK',
      code: 0,
      status: /^MAILPROBE OK - 1 of 1 ports work \(993\)/,
      perf: ["'ports working'=1;;;0;1"],
    },
    {
      name: 'only addresses without a route from here: UNKNOWN',
      ports: [{ ...refused('imaps'), status: 'local-error', noRouteFromHere: true }],
      state: 'UNKNOWN',
      code: 3,
      status: /^MAILPROBE UNKNOWN - no port could be tested from here/,
    },
    {
      name: 'a port that could not be tested (a local error) is UNKNOWN, which outranks WARNING',
      ports: [
        port('imaps', { daysLeft: 10 }),
        { ...refused('submission'), status: 'local-error', statusDetail: 'EMFILE' },
      ],
      state: 'UNKNOWN',
      code: 3,
      status: /^MAILPROBE UNKNOWN - 587 not tested \(local-error\) \(\+1 more\)$/,
    },
    {
      name: 'CRITICAL outranks UNKNOWN',
      ports: [refused('imaps'), { ...refused('submission'), status: 'local-error', statusDetail: 'EMFILE' }],
      state: 'CRITICAL',
      code: 2,
      status: /^MAILPROBE CRITICAL - 993 refused \(\+1 more\)$/,
    },
    {
      name: 'an interrupted run judges nothing',
      ports: [port('imaps')],
      options: { interrupted: true },
      state: 'UNKNOWN',
      code: 3,
      status: /^MAILPROBE UNKNOWN - interrupted/,
    },
    {
      name: 'two addresses of a port: one series, its slowest time and fewest days',
      ports: [
        port('imaps', { daysLeft: 100, timings: { total: 30 } }),
        port('imaps', { address: '2001:db8::10', family: 6, daysLeft: 50, timings: { total: 90 } }),
      ],
      state: 'OK',
      code: 0,
      status: /^MAILPROBE OK - 1 of 1 ports work \(993\), cert 50 d left$/,
      perf: ["'993 time'=90ms;;;0", "'993 cert days'=50;21:;7:"],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const out = run(c.ports, c.options);
      expect(out.state).toBe(c.state);
      expect(out.exitCode).toBe(c.code);
      expect(out.status).toMatch(c.status);
      for (const item of c.perf ?? []) expect(out.items).toContain(item);
      if (c.name.includes('two addresses'))
        expect(out.items.filter((i) => i.startsWith("'993 time'"))).toHaveLength(1);
    });

  it('the worst problem leads, the rest follow as long output, worst first; the line stays within 80', () => {
    const out = run(
      [
        port('submission', { daysLeft: 12 }),
        refused('imaps'),
        port('pop3s', { timings: { total: 900 } }),
        refused('submissions'),
      ],
      { thresholds: { ...defaultPluginThresholds, warningMs: 500 } },
    );
    expect(out.status).toBe('MAILPROBE CRITICAL - 993 refused (+3 more)');
    expect(out.long.slice(0, 4).map((line) => line.split(':')[0])).toEqual([
      'CRITICAL',
      'CRITICAL',
      'WARNING',
      'WARNING',
    ]);
    expect(out.long).toContain('465 (submissions) on 192.0.2.10: refused');
  });
});

describe('renderPlugin follows the run outcome the other formats show', () => {
  it('a finding at or above --fail-on on a port expected closed is CRITICAL, as the run FAILED', () => {
    // --expect 995=closed,service=pop3s --fail-on info: port-closed (info) fails the run in every other format.
    const out = run([port('submission'), port('imaps'), refused('pop3s')], {
      failOn: 'info',
      expectations: [{ port: 995, state: 'closed', service: 'pop3s' }],
    });
    expect(out.passed).toBe(false);
    expect([out.state, out.exitCode]).toEqual(['CRITICAL', 2]);
    expect(out.status).toBe('MAILPROBE CRITICAL - 995 port-closed');
  });

  it('a run that fails on a certificate the day thresholds let pass is still CRITICAL, never OK', () => {
    // cert-expiring-soon (medium, 14 days) fails the run at --fail-on medium, whatever --warning-days says.
    const out = run([port('imaps', { daysLeft: 10 })], {
      failOn: 'medium',
      thresholds: { warningDays: 5, criticalDays: 2 },
    });
    expect([out.state, out.exitCode]).toEqual(['CRITICAL', 2]);
    expect(out.status).toBe('MAILPROBE CRITICAL - 993 cert-expiring-soon');
  });

  it('the OK line lists only the ports that work', () => {
    const out = run([port('submission'), port('imaps'), refused('pop3s')], {
      expectations: [{ port: 995, state: 'closed' }],
    });
    expect([out.state, out.exitCode]).toEqual(['OK', 0]);
    expect(out.status).toBe('MAILPROBE OK - 2 of 3 ports work (587, 993), cert 200 d left');
  });

  it('counts a port once over its addresses, as the human report does', () => {
    const v6 = { address: '2001:db8::10', family: 6 as const };
    const out = run([
      port('submission'),
      port('submission', v6),
      port('imaps'),
      { ...refused('imaps'), ...v6 },
    ]);
    // The refused address makes it CRITICAL; the count is still per port number.
    expect(out.items).toContain("'ports working'=2;;;0;2");
    const ok = run([port('submission'), port('submission', v6), port('imaps'), port('imaps', v6)]);
    expect(ok.status).toBe('MAILPROBE OK - 2 of 2 ports work (587, 993), cert 200 d left');
    expect(ok.items).toContain("'ports working'=2;;;0;2");
  });
});

describe('renderPlugin over several hosts (discovery)', () => {
  it('names the host in each label and in the long output', () => {
    const host = (name: string, ports: PortResult[]): HostResult => ({
      host: name,
      servername: name,
      addresses: [{ address: '192.0.2.10', family: 4 }],
      resolveMs: 0,
      startedAt,
      durationMs: 50,
      ports,
    });
    const { hosts, outcome } = judge([
      host('mx1.example', [port('smtp')]),
      host('imap.example', [port('imaps', { daysLeft: 5 })]),
    ]);
    const out = renderPlugin(hosts, outcome);
    const parsed = parse(out.text);
    expect([parsed.state, out.exitCode]).toEqual(['CRITICAL', 2]);
    expect(parsed.items).toContain("'mx1.example_25 time'=40ms;;;0");
    expect(parsed.items).toContain("'imap.example_993 cert days'=5;21:;7:");
    expect(parsed.long).toContain(
      'CRITICAL: imap.example 993 (imaps) on 192.0.2.10: cert expires in 5 d (critical under 7 d)',
    );
  });
});

describe('--format plugin options', () => {
  const args = { verbose: false, format: 'plugin' };
  it('default to the renderer own thresholds (the start-up path keeps a copy of them)', () => {
    expect(reportOptions(args).plugin).toEqual({
      ...defaultPluginThresholds,
      warningMs: undefined,
      criticalMs: undefined,
    });
  });
  it('refuse a threshold without --format plugin, an inverted pair, a non-number', () => {
    expect(() => reportOptions({ verbose: false, 'warning-days': '3' })).toThrow(
      /--warning-days applies to --format plugin/,
    );
    expect(() => reportOptions({ ...args, 'warning-days': '3', 'critical-days': '5' })).toThrow(
      /above --warning-days/,
    );
    expect(() => reportOptions({ ...args, 'warning-ms': '900', 'critical-ms': '500' })).toThrow(
      /above --critical-ms/,
    );
    expect(() => reportOptions({ ...args, 'critical-ms': '1e3x' })).toThrow(/whole number/);
  });
});

// The CLI as a monitoring system runs it.

const missing = opensslMissing();
if (missing && process.env.CI) {
  it('plugin CLI test prerequisites', () => {
    throw new Error(`CI=true and the plugin CLI tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping the plugin CLI tests: ${missing}`);
}

const ca = `${root}fixtures/tls/ca.pem`;
let dir = '';

/** A leaf for localhost from the test CA, valid for `days` from now (P-256: made in milliseconds). */
function leaf(name: string, days: number): { key: string; cert: string } {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-CA',
      ca,
      '-CAkey',
      `${root}fixtures/tls/ca.key`,
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      join(dir, `${name}.pem`),
      '-days',
      String(days),
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return {
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    cert: readFileSync(join(dir, `${name}.pem`), 'utf8'),
  };
}

/** A DNS server on loopback that answers every query NXDOMAIN (no such name). */
async function nxdomainServer() {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (query, from) => {
    if (query.length < 12) return;
    const reply = Buffer.from(query);
    reply[2] = 0x80 | ((query[2] ?? 0) & 0x01); // QR, opcode 0, RD copied
    reply[3] = 0x83; // RA, RCODE 3 (NXDOMAIN)
    reply.writeUInt16BE(0, 6);
    reply.writeUInt16BE(0, 8);
    reply.writeUInt16BE(0, 10);
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

describe.skipIf(missing !== undefined)('mailprobe --format plugin, as Nagios or Icinga runs it', () => {
  const { fixture } = fixtureServers();
  beforeAll(() => {
    if (!existsSync(mainScript))
      throw new Error('dist/src/cli/main.js is missing: run npm run build (npm test does)');
    dir = mkdtempSync(join(tmpdir(), 'mailprobe-plugin-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const probe = (port: number, ...extra: string[]) =>
    cli([
      '127.0.0.1',
      '--port',
      `${port}=imaps`,
      '--servername',
      'localhost',
      '--ca',
      ca,
      '--timeout',
      '2000',
      '--format',
      'plugin',
      ...extra,
    ]);

  it('OK: a healthy port, exit 0, one status line with perfdata, nothing on stderr', async () => {
    const port = await fixture({ protocol: 'imap', tls: 'implicit' });
    const run = await probe(port);
    expect(run.stderr).toBe('');
    const out = parse(run.stdout);
    expect([out.state, run.code]).toEqual(['OK', 0]);
    expect(out.status).toBe(
      `MAILPROBE OK - 1 of 1 ports work (${port}), cert ${/cert (\d+) d left/.exec(out.status)?.[1]} d left`,
    );
    expect(out.items).toContainEqual(expect.stringMatching(new RegExp(`^'${port} time'=\\d+ms;;;0$`)));
    expect(out.items).toContainEqual(expect.stringMatching(new RegExp(`^'${port} cert days'=\\d+;21:;7:$`)));
  });

  it('WARNING: a certificate with fewer days left than --warning-days, exit 1', async () => {
    const port = await fixture({ protocol: 'imap', tls: 'implicit', tlsMaterial: leaf('ten', 10) });
    const run = await probe(port);
    const out = parse(run.stdout);
    expect([out.state, run.code]).toEqual(['WARNING', 1]);
    expect(out.status).toMatch(new RegExp(`^MAILPROBE WARNING - ${port} cert expires in (9|10) d`));
    // The same certificate with thresholds of its own: OK.
    const calm = await probe(port, '--warning-days', '5', '--critical-days', '2');
    expect([parse(calm.stdout).state, calm.code]).toEqual(['OK', 0]);
  });

  it('CRITICAL: a certificate under --critical-days, an expired one, a refused port, exit 2', async () => {
    const soon = await fixture({ protocol: 'imap', tls: 'implicit', tlsMaterial: leaf('three', 3) });
    const run = await probe(soon);
    expect([parse(run.stdout).state, run.code]).toEqual(['CRITICAL', 2]);
    expect(parse(run.stdout).status).toMatch(
      new RegExp(`^MAILPROBE CRITICAL - ${soon} cert expires in (2|3) d`),
    );
    const expired = await fixture({ protocol: 'imap', tls: 'implicit', cert: 'expired' });
    const old = await probe(expired);
    expect([parse(old.stdout).state, old.code]).toEqual(['CRITICAL', 2]);
    expect(parse(old.stdout).status).toMatch(
      new RegExp(`^MAILPROBE CRITICAL - ${expired} cert expired \\d+ d ago`),
    );
    const closed = await startRawServer(() => {});
    const freed = closed.port;
    await closed.close();
    const refused = await probe(freed);
    expect(refused.stderr).toBe('');
    expect([parse(refused.stdout).state, refused.code]).toEqual(['CRITICAL', 2]);
    expect(parse(refused.stdout).status).toBe(`MAILPROBE CRITICAL - ${freed} refused`);
    expect(parse(refused.stdout).items).toContain("'ports working'=0;;;0;1");
  });

  it('UNKNOWN: a bad host, a bad option, a name DNS says does not exist, exit 3 on stdout only', async () => {
    const dns = await nxdomainServer();
    try {
      const nxdomain = await cli([
        'mail.nowhere.test',
        '--dns-server',
        `127.0.0.1:${(dns.address() as { port: number }).port}`,
        '--format',
        'plugin',
      ]);
      expect([parse(nxdomain.stdout).state, nxdomain.code, nxdomain.stderr]).toEqual(['UNKNOWN', 3, '']);
      expect(nxdomain.stdout).toMatch(/^MAILPROBE UNKNOWN - cannot resolve mail\.nowhere\.test/);
    } finally {
      dns.close();
    }
    for (const args of [
      ['bad host!', '--format', 'plugin'],
      ['127.0.0.1', '--format=plugin', '--warning-days', 'soon'],
      ['127.0.0.1', '--format', 'plugin', '--critical-days', '30', '--warning-days', '10'],
      ['127.0.0.1', '--format', 'plugin', '--no-such-option'],
    ]) {
      const run = await cli(args);
      expect([run.code, run.stderr], args.join(' ')).toEqual([3, '']);
      expect(run.stdout, args.join(' ')).toMatch(/^MAILPROBE UNKNOWN - \S/);
      expect(run.stdout.split('\n')[0]?.length).toBeLessThanOrEqual(80);
      expect(run.stdout).not.toMatch(/\n\s+at /);
    }
  });

  it("the README's Nagios/Icinga example runs as shown (examples/nagios-mailprobe.cfg)", async () => {
    const example = readFileSync(`${root}examples/nagios-mailprobe.cfg`, 'utf8');
    const line = /command_line\s+\S*mailprobe (.+)$/m.exec(example)?.[1];
    if (!line) throw new Error('no command_line in the example');
    const port = await fixture({ protocol: 'imap', tls: 'implicit' });
    const args = line
      .split(/\s+/)
      .flatMap((word) =>
        word === '$HOSTADDRESS$'
          ? ['127.0.0.1']
          : word === '$ARG1$'
            ? ['--port', `${port}=imaps`, '--servername', 'localhost', '--ca', ca]
            : [word],
      );
    const run = await cli(args);
    expect([parse(run.stdout).state, run.code, run.stderr]).toEqual(['OK', 0, '']);
  });
});
