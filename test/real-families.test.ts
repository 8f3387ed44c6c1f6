/**
 * mailprobe against mail server families other than Postfix and Dovecot: Exim (MTA), Courier and Cyrus (IMAP
 * and POP3), real Debian packages run unpacked (fixtures/families/unpack.sh) in a network namespace of the
 * test's own, each in a common configuration described by its helper (test/helpers/exim.ts, courier.ts,
 * cyrus.ts). Each server has a truth table taken from its configuration: what a client sees on each port, and
 * what that makes of it. The server starts once, mailprobe runs once against it, and each row is asserted
 * from the JSON report on 127.0.0.1 and ::1.

 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerFix } from '../src/rules/finding.js';
import { Courier, courierMissing } from './helpers/courier.js';
import { Cyrus, cyrusMissing, shippedImapdConf } from './helpers/cyrus.js';
import { Exim, type EximOptions, eximMissing } from './helpers/exim.js';
import { makeTls } from './helpers/mail-servers.js';
import { Netns, netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';
import { validReport } from './helpers/schema.js';

interface Capabilities {
  list: string[];
  starttls: boolean;
  authMechanisms: string[];
  plaintextLogin: boolean;
}
interface PortReport {
  port: number;
  address: string;
  service: string;
  expectedTls: string;
  status: string;
  works: boolean;
  safe: boolean | null;
  findings: string[];
  greeting?: { lines: string[] };
  capabilities?: Capabilities;
  capabilitiesAfterTls?: Capabilities;
  starttls?: { advertised: boolean; upgraded: boolean };
  tls?: { protocol: string; trusted: boolean; nameMatches: boolean };
  checks?: { injection?: { verdict: string }; authRequired?: { verdict: string; reply: string } };
}

/** One port of a server, as its configuration makes it. */
interface Row {
  port: number;
  service: string;
  /** How TLS starts: STARTTLS on the plaintext port, or a handshake at once. */
  tls: 'starttls' | 'implicit';
  /** The configuration this row follows from. */
  why: string;
  /** STARTTLS (STLS) is advertised before TLS (plaintext ports). */
  starttlsOffered?: boolean;
  /** SASL mechanisms listed before TLS (plaintext ports). */
  saslBeforeTls?: string[];
  /** The protocol's own password command offered before TLS: IMAP LOGIN (no LOGINDISABLED), POP3 USER. */
  commandBeforeTls?: 'LOGIN' | 'USER';
  /** POP3: the greeting carries an APOP timestamp (`<…@…>`), so APOP works before TLS. */
  apop?: boolean;
  /** A password can be sent in cleartext before TLS (LOGIN, USER/PASS, PLAIN, LOGIN mechanism). */
  cleartextPasswordBeforeTls: boolean;
  /** SASL mechanisms listed once TLS is up. */
  mechanismsUnderTls: string[];
  /** The certificate chains to the test CA (passed with --ca) and names mail.test. */
  certTrusted: boolean;
  works: boolean;
  /** No way to log in before TLS, STARTTLS where expected, a trusted certificate. */
  safe: boolean;
  /** `--check auth-required`: whether some login can start before TLS (omitted: not run on this port). */
  authRequired?: 'enforced' | 'allowed';
  /** `--check injection`: whether a command pipelined after STARTTLS runs inside TLS. */
  injection?: 'safe' | 'vulnerable';
  /** Assertions kept out because mailprobe gets them wrong today: field → the issue item that fixes it. */
}

interface Family {
  /** The describe block's title. */
  title: string;
  /** Why it cannot run here (one line), or undefined. */
  missing: string | undefined;
  ports: number[];
  /** The opt-in checks whose verdicts the configuration decides. */
  checks: string;
  /** The server, in the namespace, in `dir`, with the certificates in `tls`. */
  server: (netns: Netns, dir: string, tls: string) => { start(): void; stop(): void };
  table: Row[];
  /** mailprobe's exit code, when the configuration decides it: 0 with no finding at or above high, else 1. */
  exitCode?: number;
  /** The greeting on the first port names the server. */
  greeting: RegExp;
  /** What the table assumes of the package's shipped files. */
  shipped?: () => void;
}

const addresses = ['127.0.0.1', '::1'];
const timings: string[] = [];
afterAll(() => {
  if (timings.length > 0) console.log(`real-family wall times (start and probe): ${timings.join(', ')}`);
});

const sorted = (list: string[] | undefined) => [...(list ?? [])].sort();

/** Deletes the namespace and returns the pids of any process left in it once the servers stopped. */
function leftIn(netns: Netns): number[] {
  const until = Date.now() + 3000;
  let pids: number[] = [];
  for (;;) {
    pids = execFileSync('ip', ['netns', 'pids', netns.name])
      .toString()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    if (pids.length === 0 || Date.now() > until) break;
    execFileSync('sleep', ['0.05']);
  }
  netns.destroy();
  return pids;
}

/** Asserts one row of a truth table on every address. */
function assertRow(row: Row, result: (address: string) => PortReport): void {
  for (const address of addresses) {
    const port = result(address);
    const where = `${row.port} ${address} (${row.why})`;
    expect(port.service, where).toBe(row.service);
    expect(port.status, where).toBe('open');
    expect(port.expectedTls, where).toBe(row.tls);
    expect(['TLSv1.2', 'TLSv1.3'], where).toContain(port.tls?.protocol);
    let underTls = port.capabilities;
    if (row.tls === 'starttls') {
      expect(port.starttls?.advertised, where).toBe(row.starttlsOffered);
      expect(port.starttls?.upgraded, where).toBe(true);
      expect(sorted(port.capabilities?.authMechanisms), `${where}: SASL before TLS`).toEqual(
        sorted(row.saslBeforeTls),
      );
      expect(port.capabilities?.plaintextLogin, `${where}: ${row.commandBeforeTls} before TLS`).toBe(
        row.commandBeforeTls !== undefined,
      );
      underTls = port.capabilitiesAfterTls;
    }
    if (row.apop !== undefined)
      expect(/<[^<>@\s]+@[^<>\s]+>/.test(port.greeting?.lines.join(' ') ?? ''), `${where}: APOP`).toBe(
        row.apop,
      );
    expect(sorted(underTls?.authMechanisms), `${where}: SASL under TLS`).toEqual(
      sorted(row.mechanismsUnderTls),
    );
    expect(port.tls?.trusted && port.tls.nameMatches, where).toBe(row.certTrusted);
    expect(port.works, where).toBe(row.works);
    expect(port.safe, where).toBe(row.safe);
    expect(port.findings.includes('cleartext-auth-before-tls'), where).toBe(row.cleartextPasswordBeforeTls);
    if (row.authRequired) expect(port.checks?.authRequired?.verdict, where).toBe(row.authRequired);
    if (row.injection) expect(port.checks?.injection?.verdict, where).toBe(row.injection);
  }
}

function family(spec: Family): void {
  const { missing } = spec;
  if (missing && process.env.CI) {
    it(`${spec.title}: prerequisites`, () => {
      throw new Error(`CI=true and the ${spec.title} tests cannot run: ${missing}`);
    });
    return;
  }
  if (missing) console.warn(`skipping ${spec.title} tests: ${missing}`);
  describe.skipIf(missing !== undefined)(spec.title, () => {
    let root = '';
    let netns: Netns | undefined;
    let server: { start(): void; stop(): void } | undefined;
    let ports: PortReport[] = [];
    let code = -1;

    beforeAll(async () => {
      const started = performance.now();
      sweepStaleNamespaces();
      root = mkdtempSync(join(tmpdir(), 'mailprobe-family-'));
      // The servers drop to their own users, who must be able to walk into the folder.
      chmodSync(root, 0o755);
      const tls = join(root, 'tls');
      makeTls(tls, 'mail.test');
      netns = new Netns();
      server = spec.server(netns, join(root, 'server'), tls);
      server.start();
      const run = await netns.run(process.execPath, [
        new URL('../dist/src/cli/main.js', import.meta.url).pathname,
        'mail.test',
        '--ca',
        join(tls, 'ca.pem'),
        '--timeout',
        '3000',
        '--ports',
        spec.ports.join(','),
        '--check',
        spec.checks,
        '--json',
      ]);
      if (run.stdout === '') throw new Error(`mailprobe printed nothing (exit ${run.code}): ${run.stderr}`);
      const host = validReport<{ hosts: { ports: PortReport[] }[] }>(run.stdout).hosts[0];
      if (!host) throw new Error('no host in the report');
      ports = host.ports;
      code = run.code;
      timings.push(`${spec.title} ${((performance.now() - started) / 1000).toFixed(1)} s`);
    });
    afterAll(() => {
      // Also after a failed start: each server stops whatever wrote a pid file.
      server?.stop();
      const left = netns ? leftIn(netns) : [];
      rmSync(root, { recursive: true, force: true });
      expect(left, 'processes left in the namespace after the server stopped').toEqual([]);
    });

    const result = (number: number) => (address: string) => {
      const found = ports.find((p) => p.port === number && p.address === address);
      if (!found) throw new Error(`no result for ${number} on ${address}`);
      return found;
    };
    if (spec.shipped) it('the package ships what the table assumes', spec.shipped);
    for (const row of spec.table)
      it(`${row.port} ${row.service}: ${row.why}`, () => assertRow(row, result(row.port)));
    it(`the greeting names the server; exit code ${spec.exitCode ?? 'not asserted'}`, () => {
      expect(result(spec.ports[0] ?? 0)('127.0.0.1').greeting?.lines.join(' ')).toMatch(spec.greeting);
      if (spec.exitCode !== undefined) expect(code).toBe(spec.exitCode);
    });
  });
}

const exim: Row = {
  port: 25,
  service: 'smtp',
  tls: 'starttls',
  why: 'daemon_smtp_ports 25, tls_advertise_hosts = *, authenticators advertised only under TLS',
  starttlsOffered: true,
  saslBeforeTls: [],
  cleartextPasswordBeforeTls: false,
  mechanismsUnderTls: ['PLAIN', 'LOGIN'],
  certTrusted: true,
  works: true,
  safe: true,
  // Exim discards what was pipelined after STARTTLS.
  injection: 'safe',
};

family({
  title: 'real Exim (exim4-daemon-light, Debian)',
  missing: netnsMissing() ?? eximMissing(),
  ports: [25, 465, 587],
  checks: 'auth-required,injection',
  server: (netns, dir, tls) => new Exim(netns, dir, tls),
  // From eximConfig (test/helpers/exim.ts).
  table: [
    exim,
    {
      port: 465,
      service: 'submissions',
      tls: 'implicit',
      why: 'tls_on_connect_ports = 465',
      cleartextPasswordBeforeTls: false,
      mechanismsUnderTls: ['PLAIN', 'LOGIN'],
      certTrusted: true,
      works: true,
      safe: true,
    },
    {
      ...exim,
      port: 587,
      service: 'submission',
      why: 'daemon_smtp_ports 587, authenticators advertised only when $tls_in_cipher is set',
      // No authenticator is advertised before TLS, so Exim refuses every AUTH there.
      authRequired: 'enforced',
    },
  ],
  exitCode: 0,
  greeting: /^mail\.test ESMTP Exim 4\./,
});

/**
 * The fix the report lists for Exim, pasted into its main section, removes the finding: Exim advertising AUTH
 * before TLS (the authenticators without server_advertise_condition) gets cleartext-auth-before-tls on 587, with
 * the Exim setting on the finding's line (the greeting names Exim); with that setting added, the finding is gone.
 */
const eximFixMissing = netnsMissing() ?? eximMissing();
if (eximFixMissing && process.env.CI)
  it('real Exim fix: prerequisites', () => {
    throw new Error(`CI=true and the real Exim fix test cannot run: ${eximFixMissing}`);
  });
describe.skipIf(eximFixMissing !== undefined)('real Exim: the fix the report lists', () => {
  it('auth_advertise_hosts, added to the main section, removes cleartext-auth-before-tls on 587', async () => {
    sweepStaleNamespaces();
    const root = mkdtempSync(join(tmpdir(), 'mailprobe-exim-fix-'));
    chmodSync(root, 0o755);
    const tls = join(root, 'tls');
    makeTls(tls, 'mail.test');
    const run = async (name: string, options: EximOptions, args: string[]) => {
      const netns = new Netns();
      const server = new Exim(netns, join(root, name), tls, 'server', options);
      try {
        server.start();
        return await netns.run(process.execPath, [
          new URL('../dist/src/cli/main.js', import.meta.url).pathname,
          'mail.test',
          '--ca',
          join(tls, 'ca.pem'),
          '--timeout',
          '3000',
          '--ports',
          '587',
          ...args,
        ]);
      } finally {
        server.stop();
        expect(leftIn(netns), 'processes left in the namespace').toEqual([]);
      }
    };
    try {
      const weak = await run('weak', { authBeforeTls: true }, ['--json']);
      const findings = validReport<{ hosts: { findings: { id: string; fixes?: ServerFix[] }[] }[] }>(
        weak.stdout,
      ).hosts[0]?.findings.filter((f) => f.id === 'cleartext-auth-before-tls');
      expect(findings?.length, weak.stdout).toBe(2); // 127.0.0.1 and ::1
      const lines = [
        ...new Set(
          (findings ?? [])
            .flatMap((f) => f.fixes ?? [])
            .filter((fix) => fix.server === 'exim')
            .map((fix) => fix.setting),
        ),
      ];
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Exim's expansion syntax, not a template
      expect(lines).toEqual(['auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}']);
      const human = await run('weak-human', { authBeforeTls: true }, ['--no-color']);
      expect(human.stdout).toContain('fix: Exim configure (main): auth_advertise_hosts');
      const fixed = await run('fixed', { authBeforeTls: true, mainLines: lines }, ['--json']);
      const after = validReport<{ hosts: { findings: { id: string }[]; ports: { status: string }[] }[] }>(
        fixed.stdout,
      ).hosts[0];
      expect(after?.ports.map((p) => p.status)).toEqual(['open', 'open']);
      expect(after?.findings.map((f) => f.id)).not.toContain('cleartext-auth-before-tls');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

family({
  title: 'real Courier (courier-imap, courier-pop, Debian defaults)',
  missing: netnsMissing() ?? courierMissing(),
  ports: [143, 993, 110, 995],
  checks: 'auth-required,injection',
  server: (netns, dir, tls) => new Courier(netns, dir, tls),
  // From the package's /etc/courier files (Courier.shipped), unchanged but for the certificate.
  table: [
    {
      port: 143,
      service: 'imap',
      tls: 'starttls',
      why: 'IMAPDSTARTTLS=YES, IMAP_TLS_REQUIRED=0; AUTH=PLAIN only in IMAP_CAPABILITY_TLS',
      starttlsOffered: true,
      saslBeforeTls: [],
      commandBeforeTls: 'LOGIN',
      cleartextPasswordBeforeTls: true,
      mechanismsUnderTls: ['PLAIN'],
      certTrusted: true,
      works: true,
      safe: false,
      // IMAP_TLS_REQUIRED=0: `AUTHENTICATE PLAIN` before TLS is answered `+ ` though not listed.
      authRequired: 'allowed',
    },
    {
      port: 993,
      service: 'imaps',
      tls: 'implicit',
      why: 'SSLPORT=993, IMAP_TLS=1 (IMAP_CAPABILITY_TLS)',
      cleartextPasswordBeforeTls: false,
      mechanismsUnderTls: ['PLAIN'],
      certTrusted: true,
      works: true,
      safe: true,
    },
    {
      port: 110,
      service: 'pop3',
      tls: 'starttls',
      why: 'POP3_STARTTLS=YES, POP3_TLS_REQUIRED=0, POP3AUTH="" and POP3AUTH_TLS=""',
      starttlsOffered: true,
      saslBeforeTls: [],
      commandBeforeTls: 'USER',
      apop: false,
      cleartextPasswordBeforeTls: true,
      mechanismsUnderTls: [],
      certTrusted: true,
      works: true,
      safe: false,
      // POP3_TLS_REQUIRED=0: `AUTH PLAIN` before TLS is answered `+ ` though CAPA lists no SASL.
      authRequired: 'allowed',
      // CVE-2021-38084: Courier's POP3 before 1.1.5 keeps commands pipelined after STLS (Debian 12: 1.0.16).
      injection: 'vulnerable',
    },
    {
      port: 995,
      service: 'pop3s',
      tls: 'implicit',
      why: 'SSLPORT=995',
      cleartextPasswordBeforeTls: false,
      mechanismsUnderTls: [],
      certTrusted: true,
      works: true,
      safe: true,
    },
  ],
  exitCode: 1,
  greeting: /Courier-IMAP ready/,
  shipped: () => {
    expect(Courier.shipped('imapd-ssl')).toMatch(/^IMAP_TLS_REQUIRED=0$/m);
    expect(Courier.shipped('imapd-ssl')).toMatch(/^IMAPDSTARTTLS=YES$/m);
    expect(Courier.shipped('pop3d-ssl')).toMatch(/^POP3_TLS_REQUIRED=0$/m);
    expect(Courier.shipped('pop3d-ssl')).toMatch(/^POP3_STARTTLS=YES$/m);
    expect(Courier.shipped('pop3d')).toMatch(/^POP3AUTH=""$/m);
    expect(Courier.shipped('imapd')).toMatch(/^IMAP_CAPABILITY_TLS="\$IMAP_CAPABILITY AUTH=PLAIN"$/m);
    expect(Courier.shipped('imapd')).not.toMatch(/^IMAP_CAPABILITY="[^"]*AUTH=/m);
  },
});

/**
 * Cyrus offers every mechanism of the installed SASL plugins (sasl_pwcheck_method: auxprop, no
 * sasl_mech_list): libsasl2-modules' challenge-response ones, its PLAIN and LOGIN, and under TLS the SCRAM
 * variants with channel binding. ANONYMOUS is off (allowanonymouslogin: no).
 */
const challengeResponse = [
  'CRAM-MD5',
  'DIGEST-MD5',
  'NTLM',
  'SCRAM-SHA-1',
  'SCRAM-SHA-224',
  'SCRAM-SHA-256',
  'SCRAM-SHA-384',
  'SCRAM-SHA-512',
];
const underTls = [
  ...challengeResponse,
  ...challengeResponse.filter((m) => m.startsWith('SCRAM')).map((m) => `${m}-PLUS`),
  'PLAIN',
  'LOGIN',
];
const cyrusShipped = () => {
  expect(shippedImapdConf()).toMatch(/^allowplaintext: yes$/m);
  expect(shippedImapdConf()).toMatch(/^sasl_pwcheck_method: auxprop$/m);
  expect(shippedImapdConf()).toMatch(/^allowanonymouslogin: no$/m);
  expect(shippedImapdConf()).not.toMatch(/^sasl_mech_list:/m);
};
const cyrusImplicit = (port: number, service: string): Row => ({
  port,
  service,
  tls: 'implicit',
  why: `cyrus.conf: ${service} cmd="${service === 'imaps' ? 'imapd' : 'pop3d'} -s -U 30"`,
  cleartextPasswordBeforeTls: false,
  mechanismsUnderTls: underTls,
  certTrusted: true,
  works: true,
  safe: true,
});

family({
  title: 'real Cyrus (cyrus-imapd, cyrus-pop3d, Debian: allowplaintext yes)',
  missing: netnsMissing() ?? cyrusMissing(),
  ports: [143, 993, 110, 995],
  checks: 'auth-required',
  server: (netns, dir, tls) => new Cyrus(netns, dir, tls, { allowPlaintext: true }),
  table: [
    {
      port: 143,
      service: 'imap',
      tls: 'starttls',
      why: 'allowplaintext: yes: LOGIN, and every mechanism with PLAIN and LOGIN, before TLS',
      starttlsOffered: true,
      saslBeforeTls: [...challengeResponse, 'PLAIN', 'LOGIN'],
      commandBeforeTls: 'LOGIN',
      cleartextPasswordBeforeTls: true,
      mechanismsUnderTls: underTls,
      certTrusted: true,
      works: true,
      safe: false,
      authRequired: 'allowed',
    },
    cyrusImplicit(993, 'imaps'),
    {
      port: 110,
      service: 'pop3',
      tls: 'starttls',
      why: 'allowplaintext: yes: USER, APOP (auxprop secrets), and every mechanism before TLS',
      starttlsOffered: true,
      saslBeforeTls: [...challengeResponse, 'PLAIN', 'LOGIN'],
      commandBeforeTls: 'USER',
      apop: true,
      cleartextPasswordBeforeTls: true,
      mechanismsUnderTls: underTls,
      certTrusted: true,
      works: true,
      safe: false,
      authRequired: 'allowed',
    },
    cyrusImplicit(995, 'pop3s'),
  ],
  exitCode: 1,
  greeting: /mail\.test Cyrus IMAP 3\./,
  shipped: cyrusShipped,
});

family({
  title: "real Cyrus (allowplaintext no, upstream's default)",
  missing: netnsMissing() ?? cyrusMissing(),
  ports: [143, 993, 110, 995],
  checks: 'auth-required',
  server: (netns, dir, tls) => new Cyrus(netns, dir, tls, { allowPlaintext: false }),
  table: [
    {
      port: 143,
      service: 'imap',
      tls: 'starttls',
      why: 'allowplaintext: no: LOGINDISABLED, but the challenge-response mechanisms stay before TLS',
      starttlsOffered: true,
      saslBeforeTls: challengeResponse,
      cleartextPasswordBeforeTls: false,
      mechanismsUnderTls: underTls,
      certTrusted: true,
      works: true,
      // A CRAM-MD5 (or SCRAM, DIGEST-MD5, NTLM) login works before TLS: the mailbox then travels in cleartext.
      safe: false,
      // PLAIN is refused (`NO encryption needed to use mechanism`); CRAM-MD5 and the others are not.
      authRequired: 'allowed',
    },
    cyrusImplicit(993, 'imaps'),
    {
      port: 110,
      service: 'pop3',
      tls: 'starttls',
      why: 'allowplaintext: no: no USER, but APOP and the challenge-response mechanisms before TLS',
      starttlsOffered: true,
      saslBeforeTls: challengeResponse,
      apop: true,
      cleartextPasswordBeforeTls: false,
      mechanismsUnderTls: underTls,
      certTrusted: true,
      works: true,
      safe: false,
      authRequired: 'allowed',
    },
    cyrusImplicit(995, 'pop3s'),
  ],
  // Only challenge-response ways before TLS (no password in cleartext): challenge-auth-before-tls and
  // auth-allowed-before-tls are medium, nothing at or above high, so the run passes though 143 and 110 are not safe.
  exitCode: 0,
  greeting: /mail\.test Cyrus IMAP 3\./,
  shipped: cyrusShipped,
});
