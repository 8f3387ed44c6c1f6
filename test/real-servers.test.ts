/**
 * mailprobe against real Postfix and Dovecot, in a network namespace of the test's own, on the real port
 * numbers, on 127.0.0.1 and ::1. Each configuration is asserted port by port from the JSON report.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerFix } from '../src/rules/finding.js';
import {
  MailHost,
  mailServersMissing,
  makeTls,
  type PostfixOptions,
  type ServerSetup,
} from './helpers/mail-servers.js';
import { netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';
import { validReport } from './helpers/schema.js';

const missing = netnsMissing() ?? mailServersMissing();
if (missing && process.env.CI) {
  it('real mail server prerequisites', () => {
    throw new Error(`CI=true and the real-server tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping real Postfix/Dovecot tests: ${missing}`);
}

interface PortReport {
  port: number;
  address: string;
  status: string;
  works: boolean;
  safe: boolean | null;
  loginBeforeTls?: boolean;
  passwordBeforeTls?: boolean;
  findings: string[];
  tls?: { protocol: string; certificate?: { validTo: string } };
  failedPhase?: string;
  crossCheck?: { tried: string; outcome: string };
  transcript: { dir: string; text: string; at: number }[];
  checks?: {
    injection?: { verdict: string };
    authRequired?: { verdict: string; detail?: string; ways?: { way: string; outcome: string }[] };
    tlsVersions?: { accepted: string[]; refused: string[] };
  };
}
interface Report {
  hosts: {
    addresses: { address: string }[];
    ports: PortReport[];
    findings: {
      id: string;
      severity: string;
      port: number;
      address: string;
      detail: string;
      evidence: string[];
    }[];
    recommendation: { sending: { port: number }[]; reading: { port: number }[]; text: string };
  }[];
}

const wellConfigured: ServerSetup = {
  cert: 'server',
  postfix: { services: ['smtp', 'submission', 'submissions'], starttlsOn25: true, authBeforeTls: false },
  dovecot: { listeners: ['imap', 'imaps', 'pop3', 'pop3s'], plaintextAuth: false },
};

describe.skipIf(missing !== undefined)('real Postfix and Dovecot', () => {
  let root = '';
  let tls = '';
  let host: MailHost | undefined;
  const timings: string[] = [];

  beforeAll(() => {
    sweepStaleNamespaces();
    root = mkdtempSync(join(tmpdir(), 'mailprobe-servers-'));
    // Postfix and Dovecot drop to their own users, who must be able to walk into their folders.
    chmodSync(root, 0o755);
    tls = join(root, 'tls');
    makeTls(tls, 'mail.test', { chains: true });
  });
  afterEach(() => {
    const left = host?.stop() ?? [];
    host = undefined;
    expect(left, 'processes left in the namespace after the servers stopped').toEqual([]);
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    if (timings.length > 0) console.log(`real-server wall times: ${timings.join(', ')}`);
  });

  /** Starts the servers, runs mailprobe against mail.test (127.0.0.1 and ::1), returns the report. */
  async function probe(
    name: string,
    setup: ServerSetup,
    extra: string[] = [],
    blockPort25 = false,
    ca = join(tls, 'ca.pem'),
  ) {
    const started = performance.now();
    const dir = mkdtempSync(join(root, `${name}-`));
    chmodSync(dir, 0o755);
    host = new MailHost(dir, tls);
    if (blockPort25) {
      host.netns.exec('iptables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
      host.netns.exec('ip6tables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
    }
    host.start(setup);
    const run = await host.mailprobe(['mail.test', '--ca', ca, '--timeout', '3000', '--json', ...extra]);
    timings.push(`${name} ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (run.stdout === '') throw new Error(`mailprobe printed nothing (exit ${run.code}): ${run.stderr}`);
    const report = validReport<Report>(run.stdout).hosts[0];
    if (!report) throw new Error('no host in the report');
    const port = (number: number, address: string) => {
      const found = report.ports.find((p) => p.port === number && p.address === address);
      if (!found) throw new Error(`no result for ${number} on ${address}`);
      return found;
    };
    // One port, one truth: what --check auth-required proved, the findings and safe follow (issue 21).
    for (const result of report.ports) {
      const verdict = result.checks?.authRequired?.verdict;
      const where = `${result.port} ${result.address}`;
      const loginFindings = report.findings.filter(
        (f) =>
          f.port === result.port &&
          f.address === result.address &&
          ['cleartext-auth-before-tls', 'challenge-auth-before-tls'].includes(f.id),
      );
      if (verdict === 'enforced') {
        expect(result.loginBeforeTls, where).toBe(false);
        for (const finding of loginFindings) expect(finding.severity, `${where} ${finding.id}`).toBe('low');
      }
      if (verdict === 'allowed') expect(result.safe, where).toBe(false);
    }
    return { run, report, port, host };
  }

  const addresses = ['127.0.0.1', '::1'];

  it('well configured: every port on both addresses works and is safe, no finding above info', async () => {
    const { run, report, port } = await probe('well-configured', wellConfigured, ['--check', 'all']);
    expect(run.code, run.stderr).toBe(0);
    expect(report.addresses.map((a) => a.address).sort()).toEqual(['127.0.0.1', '::1']);
    for (const address of addresses) {
      for (const number of [25, 465, 587, 143, 993, 110, 995]) {
        const result = port(number, address);
        expect(result, `${number} ${address}`).toMatchObject({
          status: 'open',
          works: true,
          safe: true,
          findings: [],
        });
        expect(['TLSv1.2', 'TLSv1.3']).toContain(result.tls?.protocol);
      }
    }
    expect(report.findings).toEqual([]);
    // The opt-in checks on real servers: no injection, TLS enforced before auth, only TLS 1.2 and 1.3.
    for (const address of addresses) {
      for (const number of [25, 587, 143, 110])
        expect(port(number, address).checks?.injection?.verdict, `${number}`).toBe('safe');
      for (const number of [587, 143, 110])
        expect(port(number, address).checks?.authRequired?.verdict, `${number}`).toBe('enforced');
      for (const number of [465, 993, 995]) {
        expect(port(number, address).checks?.tlsVersions).toEqual({
          accepted: ['TLSv1.2', 'TLSv1.3'],
          refused: ['TLSv1', 'TLSv1.1'],
        });
      }
    }
    expect(report.recommendation.sending.map((r) => r.port)).toEqual([587, 465]);
    expect(report.recommendation.reading.map((r) => r.port)).toEqual([993, 995, 143, 110]);
    // Nothing to log in with is listed before TLS, and the check proved the server refuses for the whole server.
    for (const address of addresses)
      for (const number of [587, 143, 110])
        expect(port(number, address).loginBeforeTls, `${number}`).toBe(false);
  });

  it('weak: cleartext auth before TLS on 587, 143 and 110, no STARTTLS on 25, a certificate for another name', async () => {
    const { run, report, port } = await probe(
      'weak',
      {
        cert: 'other',
        postfix: {
          services: ['smtp', 'submission', 'submissions'],
          starttlsOn25: false,
          authBeforeTls: true,
        },
        dovecot: { listeners: ['imap', 'imaps', 'pop3', 'pop3s'], plaintextAuth: true },
      },
      ['--check', 'auth-required'],
    );
    expect(run.code).toBe(1);
    for (const address of addresses) {
      for (const number of [587, 143, 110]) {
        expect(port(number, address).findings, `${number} ${address}`).toContain('cleartext-auth-before-tls');
        expect(port(number, address).findings, `${number} ${address}`).toContain('auth-allowed-before-tls');
        expect(port(number, address).safe, `${number} ${address}`).toBe(false);
      }
      expect(port(25, address).findings).toContain('starttls-not-offered');
      expect(port(25, address).safe).toBe(false);
      for (const number of [465, 993, 995, 587, 143, 110]) {
        expect(port(number, address).findings, `${number} ${address}`).toContain('cert-name-mismatch');
        expect(port(number, address).safe).toBe(false);
      }
    }
    expect(report.recommendation.sending).toEqual([]);
    expect(report.recommendation.reading).toEqual([]);
  });

  it('the fixes the report lists, pasted into main.cf and the Dovecot configuration, remove their findings', async () => {
    // Cleartext login before TLS on 587, 143 and 110 and no STARTTLS on 25; then the same servers with the
    // settings the report names for those findings (src/rules/fixes.ts) appended to their configuration.
    const weak: ServerSetup = {
      cert: 'server',
      postfix: { services: ['smtp', 'submission', 'submissions'], starttlsOn25: false, authBeforeTls: true },
      dovecot: { listeners: ['imap', 'imaps', 'pop3', 'pop3s'], plaintextAuth: true },
    };
    const ids = ['cleartext-auth-before-tls', 'starttls-not-offered'];
    const before = await probe('fixes-before', weak);
    for (const address of addresses) {
      for (const number of [587, 143, 110])
        expect(before.port(number, address).findings, `${number} ${address}`).toContain(
          'cleartext-auth-before-tls',
        );
      expect(before.port(25, address).findings).toContain('starttls-not-offered');
    }
    // The settings as the JSON report gives them, for the server each port runs.
    const listed = (server: string, file: RegExp) => {
      const fixes = (before.report.findings as { id: string; fixes?: ServerFix[] }[])
        .filter((f) => ids.includes(f.id))
        .flatMap((f) => f.fixes ?? [])
        .filter((fix) => fix.server === server && file.test(fix.file))
        .map((fix) => fix.setting);
      return [...new Set(fixes)];
    };
    const postfixLines = listed('postfix', /^main\.cf$/);
    const dovecotLines = listed('dovecot', /^conf\.d\//);
    expect(postfixLines).toEqual(['smtpd_tls_auth_only = yes', 'smtpd_tls_security_level = may']);
    expect(dovecotLines).toEqual(['disable_plaintext_auth = yes']);
    expect(host?.stop(), 'processes left in the namespace after the servers stopped').toEqual([]);
    host = undefined;

    const after = await probe('fixes-after', {
      ...weak,
      postfix: { ...(weak.postfix as PostfixOptions), mainCfLines: postfixLines },
      dovecot: { ...(weak.dovecot as NonNullable<ServerSetup['dovecot']>), extraLines: dovecotLines },
    });
    for (const address of addresses)
      for (const number of [25, 587, 143, 110]) {
        const result = after.port(number, address);
        expect(result.status, `${number} ${address}`).toBe('open');
        for (const id of ids) expect(result.findings, `${number} ${address}`).not.toContain(id);
      }
  });

  it('Dovecot with disable_plaintext_auth = yes and cram-md5, apop: a challenge-response login before TLS is not safe, with or without the check', async () => {
    // The truth, from the configuration: disable_plaintext_auth = yes hides PLAIN and LOGIN before TLS and makes
    // IMAP list LOGINDISABLED, but cram-md5 is not a plaintext mechanism, so IMAP lists AUTH=CRAM-MD5 and POP3
    // lists SASL CRAM-MD5 before STARTTLS/STLS; apop puts a <…@…> timestamp in the POP3 greeting. A login before
    // TLS works on both ports (CRAM-MD5 goes ahead; APOP is never tried, it carries a digest).
    const setup: ServerSetup = {
      cert: 'server',
      dovecot: {
        listeners: ['imap', 'imaps', 'pop3', 'pop3s'],
        plaintextAuth: false,
        mechanisms: ['plain', 'login', 'cram-md5', 'apop'],
      },
    };
    const truth: Record<number, { offered: RegExp; ways: Record<string, string> }> = {
      143: { offered: /offers AUTH=CRAM-MD5: /, ways: { 'CRAM-MD5': 'allowed' } },
      110: {
        offered: /offers SASL CRAM-MD5, APOP \(the greeting's timestamp <[^>]+@[^>]+>\): /,
        ways: { 'CRAM-MD5': 'allowed', APOP: 'not-tried' },
      },
    };
    const plain = await probe('challenge-auth', setup);
    for (const address of addresses) {
      for (const number of [143, 110]) {
        const result = plain.port(number, address);
        expect(result, `${number} ${address}`).toMatchObject({
          status: 'open',
          works: true,
          safe: false,
          loginBeforeTls: true,
          passwordBeforeTls: false,
          findings: ['challenge-auth-before-tls'],
        });
        const finding = plain.report.findings.find((f) => f.port === number && f.address === address);
        expect(finding?.severity).toBe('medium');
        expect(finding?.detail).toMatch(truth[number]?.offered ?? /never/);
        expect(finding?.detail).toMatch(/Only advertised: "--check auth-required" would prove/);
      }
      for (const number of [993, 995])
        expect(plain.port(number, address)).toMatchObject({ safe: true, findings: [] });
    }
    expect(plain.report.recommendation.reading.map((r) => r.port)).toEqual([993, 995]);
    expect(host?.stop(), 'processes left in the namespace after the servers stopped').toEqual([]);
    host = undefined;

    const checked = await probe('challenge-auth-checked', setup, ['--check', 'all']);
    for (const address of addresses) {
      for (const number of [143, 110]) {
        const result = checked.port(number, address);
        expect(result.checks?.authRequired?.verdict, `${number} ${address}`).toBe('allowed');
        expect(
          Object.fromEntries((result.checks?.authRequired?.ways ?? []).map((way) => [way.way, way.outcome])),
        ).toEqual(truth[number]?.ways);
        expect(result.findings.sort()).toEqual(['auth-allowed-before-tls', 'challenge-auth-before-tls']);
        // One port, one truth: the same verdict with and without the check.
        expect(result.safe).toBe(plain.port(number, address).safe);
      }
    }
  });

  it('port 25 dropped on the way: filtered, not refused, diagnosed as an outbound block because 465 and 587 answer', async () => {
    const { run, report, port } = await probe('port-25-blocked', wellConfigured, [], true);
    expect(run.code).toBe(1);
    for (const address of addresses) {
      expect(port(25, address).status).toBe('filtered');
      expect(port(25, address).findings).toEqual(['port-25-blocked']);
      expect(port(465, address).works && port(587, address).works).toBe(true);
    }
    const blocked = report.findings.filter((f) => f.id === 'port-25-blocked');
    expect(blocked.map((f) => f.address).sort()).toEqual(addresses);
    expect(blocked[0]?.detail).toMatch(/something between you and the host drops port 25, most often an ISP/);
  });

  it('partly down: only 587 and 993 run; the others are refused and the recommendation names the two', async () => {
    const { run, report, port } = await probe('partly-down', {
      cert: 'server',
      postfix: { services: ['submission'], starttlsOn25: true, authBeforeTls: false },
      dovecot: { listeners: ['imaps'], plaintextAuth: false },
    });
    expect(run.code).toBe(0);
    for (const address of addresses) {
      for (const number of [25, 465, 143, 110, 995])
        expect(port(number, address).status, `${number} ${address}`).toBe('refused');
      expect(port(587, address)).toMatchObject({ works: true, safe: true });
      expect(port(993, address)).toMatchObject({ works: true, safe: true });
    }
    expect(report.recommendation.sending.map((r) => r.port)).toEqual([587]);
    expect(report.recommendation.reading.map((r) => r.port)).toEqual([993]);
    expect(report.recommendation.text).toBe('sending 587 (STARTTLS) · reading 993 (IMAP, TLS)');
  });

  it('submission without SASL (smtpd_sasl_auth_enable = no): 587 and 465 are safe but offer no login, and are not named for sending', async () => {
    const { run, report, port } = await probe('no-auth-submission', {
      cert: 'server',
      postfix: {
        services: ['submission', 'submissions'],
        starttlsOn25: true,
        authBeforeTls: false,
        noAuthOnSubmission: true,
      },
      dovecot: { listeners: ['imaps'], plaintextAuth: false },
    });
    expect(run.code, run.stderr).toBe(0); // low: it does not fail the run
    for (const address of addresses)
      for (const number of [465, 587])
        expect(port(number, address), `${number} ${address}`).toMatchObject({
          works: true,
          safe: true,
          findings: ['submission-auth-not-offered'],
        });
    const [finding] = report.findings.filter((f) => f.id === 'submission-auth-not-offered' && f.port === 587);
    expect(finding?.severity).toBe('low');
    // The EHLO Postfix sends over TLS, as it is: everything but AUTH.
    expect(finding?.evidence).toEqual([
      expect.stringMatching(/^EHLO over TLS lists: PIPELINING, .*CHUNKING$/),
    ]);
    expect(finding?.evidence[0]).not.toMatch(/AUTH/);
    expect(report.recommendation.sending).toEqual([]);
    expect(report.recommendation.text).toBe(
      'sending: no port offers a login (465, 587: no AUTH over TLS) · reading 993 (IMAP, TLS)',
    );
  });

  it('expired certificate: reported as expired, with the date', async () => {
    const { run, report } = await probe('expired-certificate', { ...wellConfigured, cert: 'expired' });
    expect(run.code).toBe(1);
    const expired = report.findings.filter((f) => f.id === 'cert-expired');
    // Seven ports, each on two addresses.
    expect(expired).toHaveLength(14);
    for (const finding of expired) {
      expect(finding.severity).toBe('critical');
      expect(finding.detail).toMatch(/^leaf: CN=mail\.test expired on 2026-01-02/);
    }
  });

  it('a chain with an expired intermediate (leaf in date): cert-expired names the intermediate, no port is safe', async () => {
    const { run, report, port } = await probe(
      'expired-intermediate',
      { ...wellConfigured, cert: 'chains/expired-int' },
      [],
      false,
      join(tls, 'chains', 'root.pem'),
    );
    expect(run.code).toBe(1);
    for (const address of addresses) {
      for (const number of [25, 465, 587, 143, 993, 110, 995]) {
        expect(port(number, address).status, `${number} ${address}`).toBe('open');
        expect(port(number, address).findings, `${number} ${address}`).toEqual(['cert-expired']);
        expect(port(number, address).safe, `${number} ${address}`).toBe(false);
      }
    }
    for (const finding of report.findings.filter((f) => f.id === 'cert-expired'))
      expect(finding.detail).toMatch(/^intermediate 1: CN=mailprobe test int-expired expired on 2026-01-02/);
  });

  it('postscreen on 25 (its default 6 s greet wait) under a 3 s deadline: stalled in the greeting, nothing sent; 10 s: open', async () => {
    const {
      run,
      report,
      port,
      host: mail,
    } = await probe('postscreen', {
      ...wellConfigured,
      postfix: { ...(wellConfigured.postfix as PostfixOptions), postscreen: true },
    });
    // Truth from the configuration: postscreen sends `220-mail.test ESMTP` (smtpd_banner) at once and smtpd the
    // rest after postscreen_greet_wait (6 s); a client that talks in between is logged as PREGREET.
    expect(run.code, run.stderr).toBe(0); // greeting-delayed is low on 25
    for (const address of addresses) {
      const smtp = port(25, address);
      expect(smtp).toMatchObject({ status: 'stalled', failedPhase: 'greeting', works: false });
      expect(smtp.findings).toEqual(['greeting-delayed']);
      expect(smtp.crossCheck).toBeUndefined();
      expect(smtp.transcript.filter((entry) => entry.dir === 'S').map((entry) => entry.text)).toEqual([
        '220-mail.test ESMTP',
      ]);
      expect(smtp.transcript.filter((entry) => entry.dir === 'C')).toEqual([]);
      for (const number of [465, 587, 143, 993, 110, 995])
        expect(port(number, address), `${number} ${address}`).toMatchObject({ status: 'open', safe: true });
    }
    const delayed = report.findings.filter((f) => f.id === 'greeting-delayed');
    expect(delayed.map((f) => f.severity)).toEqual(['low', 'low']);
    expect(delayed[0]?.detail).toMatch(/as Postfix postscreen does during its greet wait/);
    expect(delayed[0]?.detail).toMatch(/--timeout 10000/);
    expect(delayed[0]?.evidence).toContain('S: 220-mail.test ESMTP');
    expect(report.findings.map((f) => f.id)).not.toContain('no-port-works');

    // The wait the finding names: with --timeout 10000 the greeting ends (after the 6 s) and 25 works.
    const again = await mail.mailprobe([
      'mail.test',
      '--ca',
      join(tls, 'ca.pem'),
      '--timeout',
      '10000',
      '--port',
      '25=smtp',
      '--json',
    ]);
    if (again.stdout === '')
      throw new Error(`mailprobe printed nothing (exit ${again.code}): ${again.stderr}`);
    const ports = validReport<Report>(again.stdout).hosts[0]?.ports ?? [];
    expect(ports.map((p) => [p.address, p.status, p.safe]).sort()).toEqual([
      ['127.0.0.1', 'open', true],
      ['::1', 'open', true],
    ]);
    for (const smtp of ports) {
      const [first, second] = smtp.transcript.filter((entry) => entry.dir === 'S');
      expect(first?.text).toBe('220-mail.test ESMTP');
      expect(second?.text).toBe('220 mail.test ESMTP');
      expect(second?.at ?? 0).toBeGreaterThan(5500);
    }
    // postscreen's own word: no client spoke before its turn, and both passed the greet test.
    const log = readFileSync(join(mail.root, 'postfix.log'), 'utf8');
    expect(log).toMatch(/postscreen\[\d+\]: CONNECT from \[127\.0\.0\.2\]/);
    expect(log).not.toMatch(/PREGREET|COMMAND PIPELINING|NON-SMTP COMMAND|BARE NEWLINE/);
    expect(log).toMatch(/PASS NEW \[127\.0\.0\.2\]/);
    expect(log).toMatch(/PASS NEW \[::2\]/);
  });

  it('587 set up for implicit TLS (wrapper mode): wrong-tls-mode 3 s after the connect, not after the 30 s greeting deadline', async () => {
    const started = performance.now();
    // Truth from the configuration: smtpd_tls_wrappermode=yes on 587, so a plaintext client hears nothing.
    const { run, port } = await probe(
      'implicit-tls-on-587',
      {
        ...wellConfigured,
        postfix: { ...(wellConfigured.postfix as PostfixOptions), implicitTlsOn587: true },
      },
      ['--limit', 'greetingMs=30000'],
    );
    const seconds = (performance.now() - started) / 1000;
    expect(run.code).toBe(0); // tls-on-plaintext-port is medium
    for (const address of addresses) {
      const submission = port(587, address);
      expect(submission).toMatchObject({ status: 'wrong-tls-mode', findings: ['tls-on-plaintext-port'] });
      expect(submission.crossCheck).toMatchObject({ tried: 'implicit-tls', outcome: 'tls-handshake' });
      // The plaintext connection was sent nothing.
      expect(submission.transcript.filter((entry) => entry.dir === 'C')).toEqual([]);
      for (const number of [25, 465, 143, 993, 110, 995])
        expect(port(number, address), `${number} ${address}`).toMatchObject({ status: 'open', safe: true });
    }
    // Servers started, probed and stopped well before the 30 s greeting deadline.
    expect(seconds).toBeLessThan(15);
  });
});
