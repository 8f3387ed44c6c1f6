import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { commands, commandWords } from '../src/cli/commands.js';
import { exitCodes } from '../src/cli/exit.js';
import { startRawServer } from '../src/demo/servers.js';
import type { JsonReport } from '../src/render/json.js';
import { cli, mainScript as main, root } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';
import { validReport } from './helpers/schema.js';

const ca = `${root}fixtures/tls/ca.pem`;

beforeAll(() => {
  if (!existsSync(main))
    throw new Error('dist/src/cli/main.js is missing: run npm run build (npm test does)');
});

const { track, fixture } = fixtureServers();

describe('mailprobe CLI', () => {
  it('--version prints the package version', async () => {
    const run = await cli(['--version']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('ports prints the seven rows of the reference table', async () => {
    const run = await cli(['ports']);
    expect(run.code).toBe(0);
    for (const port of ['25', '465', '587', '143', '993', '110', '995'])
      expect(run.stdout).toMatch(new RegExp(`^ ${port} `, 'm'));
    const json = JSON.parse((await cli(['ports', '--json'])).stdout) as {
      services: { port: number; reference: string }[];
    };
    expect(json.services.map((s) => s.port)).toEqual([25, 465, 587, 143, 993, 110, 995]);
    expect(json.services.every((s) => s.reference.includes('RFC'))).toBe(true);
  });

  it('ports without the option parser (its fast path) prints exactly what the parsed command prints', async () => {
    // `--json=false` and `--color=true` take the yargs path; the bare flags take the fast one.
    for (const [fast, parsed] of [
      [['ports'], ['ports', '--json=false']],
      [
        ['ports', '--json'],
        ['ports', '--json=true'],
      ],
      [
        ['ports', '--color'],
        ['ports', '--color=true'],
      ],
      [
        ['ports', '--no-color'],
        ['ports', '--color=false'],
      ],
    ]) {
      const a = await cli(fast ?? []);
      const b = await cli(parsed ?? []);
      expect(a.code).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      expect(a.stdout.length).toBeGreaterThan(100);
    }
    const bad = await cli(['ports', '--json', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option --bogus/);
  });

  it('ports fits the width (COLUMNS through a pipe), from the bin too, and keeps every fact of the table', async () => {
    const { referenceTable, referenceVersion } = await import('../src/reference/table.js');
    for (const columns of [80, 50]) {
      const env = { COLUMNS: String(columns), MAILPROBE_NO_CACHE: '1' };
      const run = await cli(['ports', '--no-color'], env);
      expect(run.code).toBe(0);
      const wide = run.stdout.split('\n').filter((line) => [...line].length > columns);
      expect(wide, run.stdout).toEqual([]);
      // The package's bin takes its fast path (dist/cli/ports.cjs): the same table.
      const bin = execFileSync(process.execPath, [`${root}bin/mailprobe.cjs`, 'ports', '--no-color'], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
      expect(bin).toBe(run.stdout);
      // Wrapped, never cut: each row's every cell and reference, and the note, read whole.
      const text = run.stdout.replace(/\s+/g, ' ');
      for (const row of referenceTable) {
        expect(run.stdout).toMatch(new RegExp(`^ ${row.port} +${row.service} +${row.protocol}`, 'im'));
        for (const fact of [row.role, row.expected, ...row.reference.split('; ')])
          expect(text).toContain(fact);
      }
      expect(text).toContain(`reference table ${referenceVersion}; RFC 8314 §3.3 prefers implicit TLS`);
      expect(text).toContain('both are policy choices.');
    }
    // Wide enough (or no width known), one line a port, the references in their column.
    const wide = await cli(['ports', '--no-color'], { COLUMNS: '200' });
    expect(wide.stdout).toMatch(
      /^ 25 +smtp +SMTP +relay +plain \+ STARTTLS +RFC 5321 §4\.5\.3\.2; RFC 3207/m,
    );
  });

  it("every command's options pass yargs' own API checks, and the bundle (built without them) prints the same help", () => {
    // The unbundled CLI runs yargs' argsert on every call mailprobe makes to yargs; the bundle leaves it out.
    for (const command of [[], ['demo'], ['ports'], ['egress'], ['serve'], ['batch'], ['publish']]) {
      const run = (script: string) =>
        execFileSync(process.execPath, [script, ...command, '--help'], {
          encoding: 'utf8',
          env: { ...process.env, MAILPROBE_NO_CACHE: '1', LC_ALL: 'C' },
        });
      const unbundled = run(main);
      expect(unbundled).toMatch(/Options:/);
      expect(run(`${root}bin/mailprobe.cjs`)).toBe(unbundled);
    }
  });

  it('the host stays the text it was given, also when it looks like a number (0x7f000001 is not 2130706433)', async () => {
    const run = await cli(['0x7f000001', '--ports', '25', '--timeout', '300', '--json']);
    expect(run.stderr).toBe('');
    expect((JSON.parse(run.stdout) as JsonReport).hosts[0]?.host).toBe('0x7f000001');
  });

  it('--help shows examples and the exit codes', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Examples:/);
    expect(run.stdout).toMatch(/exit codes: 0/);
    // Every documented code, in order, and no other.
    const epilogue = run.stdout.replace(/\s+/g, ' ').match(/exit codes: (.*)$/)?.[1] ?? '';
    expect([...epilogue.matchAll(/(?:^|; )(\d+) /g)].map((m) => Number(m[1]))).toEqual(
      Object.values(exitCodes),
    );
  });

  it("the commands are declared once: the bin's list of command words is the table's", () => {
    // The bin picks its code cache by the command word (`kind`): a command it does not know shares the probe's.
    const bin = readFileSync(`${root}bin/mailprobe.cjs`, 'utf8');
    const listed = /\[((?:'[a-z]+',? ?)+)\]\.includes\(argv\[0\]\)/.exec(bin)?.[1];
    expect(listed, 'the kind list in bin/mailprobe.cjs').toBeDefined();
    const words = [...(listed ?? '').matchAll(/'([a-z]+)'/g)].map((m) => m[1]);
    expect([...words].sort()).toEqual([...commandWords].sort());
    expect(commands.map((command) => command.command.split(' ')[0])).toEqual([...commandWords]);
  });

  it('-4, -6 and --dns-server are declared once, for the probe, egress and publish alike', () => {
    const declaring = readdirSync(`${root}src/cli`).filter((file) =>
      /\.option\('(4|6|dns-server)'/.test(readFileSync(`${root}src/cli/${file}`, 'utf8')),
    );
    expect(declaring).toEqual(['options.ts']);
  });

  it('the messages name every command, and "did you mean" knows every option of every command', async () => {
    const missing = await cli([]);
    expect(missing.stderr).toContain(`missing <host> (or a command: ${commandWords.join(', ')})`);
    // An option of each command, misspelt on a line of another: the guess comes from the command's own table.
    for (const [typo, meant] of [
      ['--workrs', 'workers'],
      ['--max-concurent', 'max-concurrent'],
      ['--controlport', 'control-port'],
      ['--noispdb', 'no-ispdb'],
    ]) {
      const run = await cli(['ports', typo as string]);
      expect(run.code, typo).toBe(2);
      expect(run.stderr).toContain(`(did you mean --${meant}?)`);
    }
  });

  it('demo --json: a real report, exit 0, the intended findings', async () => {
    const run = await cli(['demo', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = validReport<JsonReport>(run.stdout);
    expect(report.schemaVersion).toBe(1);
    const host = report.hosts[0];
    expect(host?.ports).toHaveLength(7);
    expect(host?.findings.map((f) => f.id).sort()).toEqual([
      'cleartext-auth-before-tls',
      'port-closed',
      'starttls-not-offered',
    ]);
    expect(host?.recommendation.sending.map((r) => r.service)).toEqual(['submission', 'submissions']);
    expect(host?.recommendation.reading.map((r) => r.service)).toEqual(['imaps', 'pop3s']);
  });

  it('demo prints the human report with no colour when not on a terminal', async () => {
    const run = await cli(['demo']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^use: sending \d+ \(STARTTLS\) or \d+ \(TLS\)/m);
    expect(run.stdout).not.toMatch(/\u001b/);
    expect(run.stderr).toBe('');
  });

  it("demo's first lines say it is a demo, which ports are wrong on purpose (those with findings), exit 0", async () => {
    const [human, json] = await Promise.all([
      cli(['demo', '--no-color'], { COLUMNS: '80' }),
      cli(['demo', '--json']),
    ]);
    expect(human.code).toBe(0);
    const lines = human.stdout.split('\n');
    const banner = lines.slice(
      0,
      lines.findIndex((line) => line.startsWith('127.0.0.1  →')),
    );
    expect(banner.length).toBeGreaterThan(0);
    expect(banner.length).toBeLessThanOrEqual(2);
    for (const line of banner) expect([...line].length).toBeLessThanOrEqual(80);
    const text = banner.join(' ');
    expect(text).toMatch(/^This is a demo on built-in local servers, wrong on purpose: /);
    expect(text).toMatch(/It exits 0 whatever it finds\.$/);
    // Named wrong on purpose: exactly the services whose ports the report finds something on.
    const host = validReport<JsonReport>(json.stdout).hosts[0];
    const withFindings = new Set(host?.findings.map((f) => f.service));
    expect(withFindings.size).toBe(3);
    for (const { service } of host?.ports ?? [])
      expect(text.includes(` ${service} (`), service).toBe(withFindings.has(service));
    // The other formats stay as they are: no banner before the JSON, JUnit, Markdown or plugin line.
    expect(json.stdout.startsWith('{')).toBe(true);
    for (const format of [
      ['--junit', '-'],
      ['--markdown', '-'],
      ['--format', 'plugin'],
    ]) {
      const run = await cli(['demo', ...format]);
      expect(run.stdout, format.join(' ')).not.toMatch(/This is a demo/);
      expect(run.stdout, format.join(' ')).toMatch(/^(<\?xml|### mailprobe |MAILPROBE )/);
    }
  });

  it('exits 0 on a clean host and 1 when a finding is high or worse', async () => {
    const good = await fixture({ protocol: 'smtp', tls: 'starttls' });
    const weak = await fixture({ protocol: 'imap', tls: 'starttls', authBeforeTls: true });
    const common = ['--ca', ca, '--servername', 'localhost', '--timeout', '1000'];
    expect((await cli(['127.0.0.1', '--port', `${good}=submission`, ...common])).code).toBe(0);
    const run = await cli(['127.0.0.1', '--port', `${weak}=imap`, ...common, '--json']);
    expect(run.code).toBe(1);
    const report = validReport<JsonReport>(run.stdout);
    expect(report.hosts[0]?.ports[0]).toMatchObject({
      port: weak,
      service: 'imap',
      status: 'open',
      works: true,
      safe: false,
    });
    expect(report.hosts[0]?.findings[0]).toMatchObject({ id: 'cleartext-auth-before-tls', severity: 'high' });
  });

  it('shows server text neutralised in the human report and exact in JSON', async () => {
    const banner =
      '220 evil \u001b]8;;http://x\u0007link\u001b]8;;\u0007 \u001b[2J \u009b31m \u202eRTL\r bare-CR\r\n';
    const server = await startRawServer((socket) => {
      socket.write(Buffer.from(banner, 'utf8'));
      socket.on('data', () => socket.end('221 bye\r\n'));
    });
    track(server);
    const args = ['127.0.0.1', '--port', `${server.port}=smtp`, '--timeout', '1000'];
    const human = await cli([...args, '--verbose']);
    expect(human.stdout).not.toMatch(/[\u001b\u0007\u009b\u202e\r]/);
    expect(human.stdout).toContain('␛]8;;');
    expect(human.stdout).toContain('<U+202E>');
    const json = await cli([...args, '--json']);
    expect(json.stdout).not.toMatch(/[\u001b\u0007\u009b\u202e\r]/);
    const port = validReport<JsonReport>(json.stdout).hosts[0]?.ports[0];
    expect(port?.transcript[0]?.text).toBe(banner.slice(0, -2));
  });

  const usage: [string, string[], RegExp][] = [
    ['a port out of range', ['127.0.0.1', '--port', '70000=smtp'], /--port: 70000 is out of range/],
    ['an unknown service', ['127.0.0.1', '--port', '2525=smtps'], /unknown service 'smtps'/],
    ['a reference port list entry with no service', ['127.0.0.1', '--ports', '2525'], /no default service/],
    [
      'an unreadable --ca file',
      ['127.0.0.1', '--ca', '/nonexistent/ca.pem'],
      /--ca: cannot read \/nonexistent\/ca.pem/,
    ],
    [
      'a --ca file with no certificate',
      ['127.0.0.1', '--ca', `${root}package.json`],
      /holds no PEM certificate/,
    ],
    ['a malformed host', ['not a host'], /is not a host name or IP address/],
    ['a bad timeout', ['127.0.0.1', '--timeout', '0'], /--timeout/],
    [
      'a timeout not written in digits',
      ['127.0.0.1', '--timeout', '1e3'],
      /--timeout: '1e3' is not a whole number/,
    ],
    ['-4 with -6', ['127.0.0.1', '-4', '-6'], /mutually exclusive/],
    ['an unknown option', ['127.0.0.1', '--bogus'], /unknown option --bogus/],
    ['two hosts', ['127.0.0.1', '127.0.0.2'], /one <host> at a time/],
    ['a word after the host', ['127.0.0.1', 'demo'], /unexpected argument 'demo'/],
    ['a misspelt option', ['127.0.0.1', '--colour'], /unknown option --colour \(did you mean --color\?\)/],
    // A negation with a value is an option of this very command that takes none (the old line contradicted itself).
    [
      '--no-color=x',
      ['127.0.0.1', '--no-color=x'],
      /^mailprobe: --no-color takes no value: give --no-color alone \(/,
    ],
    [
      'demo --no-color=x',
      ['demo', '--no-color=x'],
      /^mailprobe: --no-color takes no value: give --no-color alone \(/,
    ],
    [
      '--no-fast-filtered=true',
      ['127.0.0.1', '--no-fast-filtered=true'],
      /^mailprobe: --no-fast-filtered takes no value: give --no-fast-filtered alone \(/,
    ],
    // A flag given a value other than true or false (yargs read it as false, silently: --color=1 was no colour).
    [
      '--color=x',
      ['127.0.0.1', '--ports', '25', '--color=x'],
      /^mailprobe: --color takes no value: give --color alone \(/,
    ],
    [
      '--verbose=1',
      ['127.0.0.1', '--ports', '25', '--verbose=1'],
      /^mailprobe: --verbose takes no value: give --verbose alone \(/,
    ],
    ['-qv=x', ['127.0.0.1', '--ports', '25', '-qv=x'], /^mailprobe: -v takes no value: give -v alone \(/],
    ['ports --color=', ['ports', '--color='], /^mailprobe: --color takes no value: give --color alone \(/],
    [
      'serve --dane=x',
      ['serve', '--listen', 'nowhere', '--dane=x'],
      /^mailprobe: --dane takes no value: give --dane alone \(/,
    ],
    [
      '--all-addresses=yes',
      ['127.0.0.1', '--ports', '25', '--all-addresses=yes'],
      /^mailprobe: --all-addresses takes no value: give --all-addresses alone \(/,
    ],
    // A negation of an option that takes a value (yargs made it false: a port list, a file, a user "false").
    ['--no-ports', ['127.0.0.1', '--no-ports'], /--no-ports is not an option: --ports takes a value/],
    ['--no-ca', ['127.0.0.1', '--ports', '25', '--no-ca'], /--no-ca is not an option: --ca takes a value/],
    [
      '--no-login',
      ['127.0.0.1', '--ports', '25', '--no-login', '--password-env', 'PATH'],
      /--no-login is not an option: --login takes a value/,
    ],
    ['serve --no-allow', ['serve', '--no-allow'], /--no-allow is not an option: --allow takes a value/],
    [
      'batch --no-color=x, an option batch has not',
      ['batch', '--no-color=x'],
      /--no-color is an option of demo, ports, egress, mailprobe <host>, not of batch/,
    ],
    [
      'an invalid choice, in one line',
      ['127.0.0.1', '--fail-on', 'severe'],
      /--fail-on: 'severe' is not one of info, low, medium, high, critical/,
    ],
    [
      'host:port of no reference port',
      ['mail.example.com:2525'],
      /'mail\.example\.com:2525': port 2525 has no reference service; name it: mailprobe mail\.example\.com --port 2525=SERVICE/,
    ],
    ['an IPv4 address out of range', ['256.1.1.1'], /'256\.1\.1\.1' is not a valid IPv4 address/],
    ['a partial IPv4 address', ['1.2.3'], /'1\.2\.3' is not a valid IPv4 address/],
    ['no host', [], /missing <host>/],
    ['a malformed address', ['@example.org'], /'@example\.org' is not a mail address/],
    // An address or domain that is not a mail domain is refused before any lookup (the DNS server given answers
    // nothing: the old code went on to probe 127.0.0.1 as a guessed name and said PASSED with every port refused).
    [
      'an address at an IP address',
      ['alice@127.0.0.1', '--no-web', '--dns-server', '127.0.0.1:1'],
      /'alice@127\.0\.0\.1': its domain is an IP address, not a mail domain \(to probe that host: mailprobe 127\.0\.0\.1\)/,
    ],
    [
      'an address at an address literal',
      ['alice@[127.0.0.1]', '--no-web', '--dns-server', '127.0.0.1:1'],
      /its domain is an address literal, not a mail domain/,
    ],
    [
      'an IPv6 address with --discover',
      ['[::1]', '--discover', '--no-web', '--dns-server', '127.0.0.1:1'],
      /'\[::1\]' is an IP address, not a mail domain \(to probe that host: mailprobe ::1\)/,
    ],
    [
      'an address at a number a resolver reads as an address',
      ['alice@0x7f000001', '--no-web', '--dns-server', '127.0.0.1:1'],
      /its domain is a number a resolver reads as an IPv4 address/,
    ],
    [
      'an address with two @',
      ['a@b@c', '--no-web', '--dns-server', '127.0.0.1:1'],
      /'a@b@c' is not a mail address \(more than one @\)/,
    ],
    [
      'publish of an IP address',
      ['publish', '127.0.0.1', '--no-web', '--dns-server', '127.0.0.1:1'],
      /'127\.0\.0\.1' is an IP address, not a mail domain/,
    ],
    [
      'publish of an address with two @',
      ['publish', 'a@b@c', '--no-web', '--dns-server', '127.0.0.1:1'],
      /'a@b@c' is not a mail address/,
    ],
    [
      'a bad --dns-server',
      ['example.org', '--discover', '--dns-server', 'dns.example'],
      /--dns-server: 'dns\.example' is not an IP address/,
    ],
    [
      'host options with discovery',
      ['alice@example.org', '--ports', '587'],
      /apply to one host, not to discovery/,
    ],
    [
      'a port expectation with discovery',
      ['alice@example.org', '--expect', '25=starttls'],
      /--expect PORT=\.\.\., --expect-file and --servername apply to one host, not to discovery/,
    ],
    [
      'an MTA-STS expectation for one host',
      ['127.0.0.1', '--expect', 'mta-sts=enforce'],
      /--expect mta-sts=MODE applies to discovery/,
    ],
    [
      'an unknown MTA-STS mode',
      ['alice@example.org', '--expect', 'mta-sts=strict'],
      /unknown MTA-STS mode 'strict' \(enforce, testing, none\)/,
    ],
    [
      'two MTA-STS modes',
      ['alice@example.org', '--expect', 'mta-sts=enforce', '--expect', 'mta-sts=testing'],
      /enforce and testing contradict each other/,
    ],
    ['an empty --ports', ['127.0.0.1', '--ports', ''], /--ports: no port given/],
    ['an empty --check', ['127.0.0.1', '--ports', '25', '--check', ''], /--check: no check given \(one of /],
    ['a --check of commas only', ['127.0.0.1', '--ports', '25', '--check', ' , '], /--check: no check given/],
    [
      'contradictory expectation words',
      ['127.0.0.1', '--expect', '993=starttls,implicit'],
      /'implicit' contradicts an earlier word/,
    ],
    [
      'an expectation no port can meet',
      ['127.0.0.1', '--expect', '993=works,closed'],
      /works contradicts closed/,
    ],
    [
      'a limit beyond what a timer holds',
      ['127.0.0.1', '--limit', 'portMs=3000000000'],
      /--limit: portMs must be from 1 to 2147483647/,
    ],
    // Names every object inherits are no limit and no scheme (the old code took them: exit 1, and exit 70).
    ...['toString', 'constructor', 'valueOf', 'hasOwnProperty'].map((name): [string, string[], RegExp] => [
      `--limit ${name}=5, a name every object has`,
      ['127.0.0.1', '--ports', '25', '--limit', `${name}=5`],
      new RegExp(`--limit: '${name}=5' is not NAME=NUMBER`),
    ]),
    [
      'a scheme named as a name every object has',
      ['constructor://127.0.0.1'],
      /unknown scheme constructor:\/\//,
    ],
    ['a --ca that is a folder', ['127.0.0.1', '--ca', '/tmp'], /--ca: \/tmp is not a regular file/],
    [
      'an --ispdb that is not an http(s) URL',
      ['a@example.org', '--ispdb', 'ftp://x/'],
      /--ispdb: 'ftp:\/\/x\/' is not an http/,
    ],
    ['an --ispdb without a URL', ['a@example.org', '--ispdb', ''], /--ispdb needs a URL/],
    ['--no-web on one host', ['127.0.0.1', '--no-web'], /apply to discovery/],
    ['publish with a bad domain', ['publish', 'exa mple.org'], /exa mple\.org/],
    ['publish with no domain', ['publish'], /publish: missing <domain>/],
    [
      'egress with port 25 as control',
      ['egress', '--control-port', '25'],
      /--control-port: the control must be another port than 25/,
    ],
    ['egress with -4 and -6', ['egress', '-4', '-6'], /mutually exclusive/],
    [
      'egress with a bad --dns-server',
      ['egress', '--dns-server', 'dns.example'],
      /--dns-server: 'dns\.example' is not an IP address/,
    ],
  ];
  for (const [name, args, message] of usage) {
    it(`exits 2 with one line for ${name}`, async () => {
      const run = await cli(args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^mailprobe: /);
      expect(lines[0]).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('a flag given true or false is the flag or its negation: --color=true colours, --color=false does not', async () => {
    const on = await cli(['ports', '--color=true']);
    const off = await cli(['ports', '--color=false']);
    expect([on.code, off.code]).toEqual([0, 0]);
    expect(on.stdout).toContain('\u001b[');
    expect(off.stdout).not.toContain('\u001b[');
    expect(off.stdout).toContain('submissions');
  });

  it('--no-ispdb, the one negation of an option that takes a value, still parses (the run goes on to DNS)', async () => {
    for (const args of [
      ['alice@example.test', '--no-ispdb', '--no-web', '--dns-server', '127.0.0.1:1', '--deadline', '2000'],
      [
        'publish',
        'example.test',
        '--no-ispdb',
        '--no-web',
        '--dns-server',
        '127.0.0.1:1',
        '--deadline',
        '2000',
      ],
    ]) {
      const run = await cli(args);
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toMatch(/cannot resolve example\.test/);
    }
  });

  it('an address or domain that is no mail domain asks no DNS question, from the CLI or the library', async () => {
    const asked: string[] = [];
    const dns = createSocket('udp4');
    dns.on('message', (message) => asked.push(message.toString('latin1')));
    await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve));
    const dnsServer = `127.0.0.1:${dns.address().port}`;
    try {
      const targets = ['a@b@c.test', 'alice@127.0.0.1', 'alice@[127.0.0.1]', '[::1]', 'alice@0x7f000001'];
      for (const target of targets) {
        for (const args of [
          [target, '--discover', '--no-web', '--dns-server', dnsServer, '--deadline', '3000'],
          ['publish', target, '--no-web', '--dns-server', dnsServer, '--deadline', '3000'],
        ]) {
          const run = await cli(args);
          expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
          expect(run.stderr.trim().split('\n')).toHaveLength(1);
        }
        // The library refuses the same before any question: discover() and probeDomain() throw UsageError.
        const { discover } = await import('../src/discovery/hosts.js');
        const { probeDomain } = await import('../src/probe/domain.js');
        const { Dns } = await import('../src/net/dns.js');
        const { UsageError } = await import('../src/errors.js');
        await expect(discover(target, new Dns({ server: dnsServer }))).rejects.toBeInstanceOf(UsageError);
        await expect(
          probeDomain(target, { dnsServer, published: false, deadlineMs: 3000 }),
        ).rejects.toBeInstanceOf(UsageError);
      }
      // A mail domain is asked about: the server above hears the questions.
      await cli(['alice@example.test', '--no-web', '--dns-server', dnsServer, '--deadline', '1000']);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.join('')).toContain('example');
      expect(asked.filter((question) => !question.includes('example'))).toEqual([]);
    } finally {
      dns.close();
    }
  });
});

describe('options anywhere', () => {
  it('options before the host, and a flag after a list, parse as written', async () => {
    const before = await cli(['--ports', '587', '127.0.0.1', '--timeout', '300', '--json']);
    const after = await cli(['127.0.0.1', '--ports', '587', '-4', '--timeout', '300', '--json']);
    for (const run of [before, after]) {
      expect(run.stderr).toBe('');
      const report = JSON.parse(run.stdout) as { hosts: { ports: { port: number }[] }[] };
      expect(report.hosts[0]?.ports.map((p) => p.port)).toEqual([587]);
    }
  });
});

describe('- for stdout', () => {
  it('--junit - prints the JUnit report instead of the human one; two reports on stdout is exit 2', async () => {
    const run = await cli(['demo', '--junit', '-']);
    expect(run.stdout).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="mailprobe"/);
    const both = await cli(['demo', '--junit', '-', '--json', '-']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--json and --junit both name stdout/);
  });
});

describe('output that cannot be written', () => {
  /** Runs the bin through sh, with stdout redirected as given (`> /dev/full`) and a shell limit on file sizes. */
  const shell = (script: string, args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', script, 'sh', process.execPath, `${root}bin/mailprobe.cjs`, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, NO_COLOR: '1', ...env },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it('a full stdout (> /dev/full) is one line and exit 74, for every way of printing, cached or not', async () => {
    if (!existsSync('/dev/full')) throw new Error('needs /dev/full (Linux)');
    const server = await startRawServer((socket) => socket.end('554 no service\r\n'));
    try {
      const home = mkdtempSync(join(tmpdir(), 'mailprobe-cache-'));
      for (const cache of [{ MAILPROBE_NO_CACHE: '1' }, { XDG_CACHE_HOME: home }, { XDG_CACHE_HOME: home }])
        for (const args of [
          ['--version'],
          ['--help'],
          ['batch', '--help'],
          ['ports'],
          ['ports', '--json'],
          ['demo'],
          ['127.0.0.1', '--port', `${server.port}=submission`, '--timeout', '2000'],
          ['127.0.0.1', '--port', `${server.port}=submission`, '--timeout', '2000', '--json'],
        ]) {
          const run = await shell('"$@" > /dev/full', args, cache);
          expect({ args, ...run }).toEqual({
            args,
            code: 74,
            stderr: 'mailprobe: cannot write to stdout (ENOSPC)\n',
          });
        }
    } finally {
      await server.close();
    }
  });

  it('a report file that cannot be written (a file size limit) is one line and exit 74, the file left whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailprobe-full-'));
    try {
      const file = join(dir, 'report.json');
      // ulimit -f 1: no file may grow past 1 KiB (EFBIG); the seven-port JSON report is longer.
      const run = await shell('ulimit -f 1; "$@" > /dev/null', ['demo', '--json-file', file]);
      expect(run.stderr).toBe(`mailprobe: cannot write ${file} (EFBIG)\n`);
      expect(run.code).toBe(74);
      // What was written instead is the short failure report that says why, complete.
      const report = JSON.parse(readFileSync(file, 'utf8')) as JsonReport;
      expect(report.result.error).toEqual({ exitCode: 74, message: `cannot write ${file} (EFBIG)` });
      expect(readdirSync(dir)).toEqual(['report.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a report file that is a device or a FIFO', () => {
  const root0 = process.getuid?.() === 0;
  if (!root0 && process.env.CI)
    it('prerequisites', () => {
      throw new Error('CI=true and the device test cannot run: needs root (mknod)');
    });

  it.skipIf(!root0)(
    'is written to, never renamed over: a full device is exit 74 and stays a device',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mailprobe-device-'));
      try {
        // A /dev/full of the test's own (char 1,7), and a link to it: the rename of a temporary file over either
        // replaced the device node (as root, /dev/full itself, or /dev/stdout for every later process).
        const full = join(dir, 'full');
        execFileSync('mknod', [full, 'c', '1', '7']);
        const link = join(dir, 'link');
        symlinkSync(full, link);
        for (const target of [full, link]) {
          const run = await cli(['demo', '--json-file', target]);
          expect(run.stderr).toBe(`mailprobe: cannot write ${target} (ENOSPC)\n`);
          expect(run.code).toBe(74);
        }
        expect(lstatSync(full).isCharacterDevice()).toBe(true);
        expect(lstatSync(link).isSymbolicLink()).toBe(true);
        expect(readdirSync(dir).sort()).toEqual(['full', 'link']);
        // A FIFO gets the report itself.
        const fifo = join(dir, 'fifo');
        execFileSync('mkfifo', [fifo]);
        const reader = new Promise<string>((resolve) => {
          const child = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
          let text = '';
          child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
          child.on('close', () => resolve(text));
        });
        const run = await cli(['demo', '--markdown', fifo]);
        expect(run.code).toBe(0);
        expect(await reader).toMatch(/^### mailprobe/);
        expect(lstatSync(fifo).isFIFO()).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('a reader that quits early', () => {
  /** Runs the bin with its stdout a pipe whose reading end is already closed, as `mailprobe … | true` does. */
  const closedPipe = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [`${root}bin/mailprobe.cjs`, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it('ends the run quietly with its own exit code (EPIPE), no stack trace, also for a probe', async () => {
    const ports = await closedPipe(['ports']);
    expect(ports.stderr).toBe('');
    expect(ports.code).toBe(0);
    // --version writes to fd 1 itself, without the stream.
    const version = await closedPipe(['--version']);
    expect(version.stderr).toBe('');
    expect(version.code).toBe(0);
    // A report file that is the same pipe (--html /dev/stdout): its reader quit too, no error (exit 74).
    const page = await closedPipe(['demo', '--html', '/dev/stdout', '-q']);
    expect(page.stderr).toBe('');
    expect(page.code).toBe(0);
    const server = await startRawServer((socket) => socket.end('554 no service\r\n'));
    try {
      const probe = await closedPipe([
        '127.0.0.1',
        '--port',
        `${server.port}=submission`,
        '--timeout',
        '2000',
      ]);
      expect(probe.stderr).not.toMatch(/Error|at .*\.c?js/);
      expect(probe.code).toBe(1);
    } finally {
      await server.close();
    }
  });
});
