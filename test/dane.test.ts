/**
 * DANE against real parts (issue 26): NSD serving zones signed with ldns-signzone, Unbound validating with a
 * trust anchor for them, and the real Postfix of the integration suite, all in one network namespace. The
 * built CLI asks Unbound (--dns-server 127.0.0.1: a resolver the user names, so its AD bit counts).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnssecMissing, startDnssec } from './helpers/dnssec.js';
import { MailHost, mailServersMissing, makeTls } from './helpers/mail-servers.js';
import { netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';
import { validReport } from './helpers/schema.js';

const missing = netnsMissing() ?? mailServersMissing() ?? dnssecMissing();
if (missing && process.env.CI) {
  it('DANE rig prerequisites', () => {
    throw new Error(`CI=true and the DANE tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping the DANE tests: ${missing}`);
}

interface Report {
  hosts: {
    host: string;
    ports: {
      port: number;
      status: string;
      dane?: {
        name: string;
        outcome: string;
        authenticData: boolean;
        rcode?: string;
        records: unknown[];
        transport?: string;
        alias?: { host: string; target: string; secure: boolean };
      };
    }[];
    findings: { id: string; severity: string; port: number; detail: string; evidence: string[] }[];
  }[];
}

/** SHA-256 of a certificate's DER SubjectPublicKeyInfo, by openssl (not by the code under test). */
function spkiSha256(pem: string): string {
  return execFileSync('sh', [
    '-c',
    `openssl x509 -in '${pem}' -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r`,
  ])
    .toString()
    .split(' ')[0] as string;
}

describe.skipIf(missing !== undefined)('DANE with real NSD, Unbound and Postfix', () => {
  let root = '';
  let host: MailHost | undefined;
  const pids: number[] = [];

  beforeAll(() => {
    sweepStaleNamespaces();
    root = mkdtempSync(join(tmpdir(), 'mailprobe-dane-'));
    chmodSync(root, 0o755);
    const tls = join(root, 'tls');
    makeTls(tls, 'mx.dane.test');
    // Postfix sends the leaf and the CA: DANE-TA (2 1 1) matches a certificate of the chain as sent.
    writeFileSync(
      join(tls, 'withca.pem'),
      readFileSync(join(tls, 'server.pem'), 'utf8') + readFileSync(join(tls, 'ca.pem'), 'utf8'),
    );
    copyFileSync(join(tls, 'server.key'), join(tls, 'withca.key'));
    const leaf = spkiSha256(join(tls, 'server.pem'));
    const ca = spkiSha256(join(tls, 'ca.pem'));
    // The key the certificate had before a renewal: what a TLSA record left unchanged still names.
    const before = spkiSha256(join(tls, 'other.pem'));
    const dns = join(root, 'dns');
    mkdirSync(dns);
    mkdirSync(join(root, 'mail'), { mode: 0o755 });
    host = new MailHost(join(root, 'mail'), tls);
    pids.push(
      ...startDnssec(host.netns, dns, [
        {
          name: 'dane.test',
          records: [
            '@ IN MX 10 mx.dane.test.',
            '_submission._tcp IN SRV 0 1 587 ee.dane.test.',
            ...['mx', 'ee', 'renewed', 'notls', 'big'].map((name) => `${name} IN A 127.0.0.1`),
            // More than 1232 bytes of TLSA: the UDP answer is truncated, the TCP one is whole.
            ...Array.from(
              { length: 24 },
              (_, i) => `_25._tcp.big IN TLSA 3 0 2 ${String(i).padStart(2, '0').repeat(64)}`,
            ),
            `_25._tcp.big IN TLSA 3 1 1 ${leaf}`,
            `_25._tcp.mx IN TLSA 2 1 1 ${ca}`,
            `_25._tcp.ee IN TLSA 3 1 1 ${leaf}`,
            `_587._tcp.ee IN TLSA 3 1 1 ${leaf}`,
            `_25._tcp.renewed IN TLSA 3 1 1 ${before}`,
            // An MX name that is an alias of a provider's host, whose TLSA records are there (RFC 7672 §2.2.3).
            'alias IN CNAME mx.provider.test.',
          ],
        },
        {
          name: 'provider.test',
          records: ['mx IN A 127.0.0.1', `_25._tcp.mx IN TLSA 3 1 1 ${leaf}`],
        },
        {
          name: 'plain.test',
          signed: false,
          // An alias in an unsigned zone: not validated, so the provider's records are not the host's.
          records: [
            'mx IN A 127.0.0.1',
            `_25._tcp.mx IN TLSA 3 1 1 ${leaf}`,
            'alias IN CNAME mx.provider.test.',
          ],
        },
        {
          name: 'bogus.test',
          records: ['mx IN A 127.0.0.1', `_25._tcp.mx IN TLSA 3 1 1 ${leaf}`],
          // The TLSA data changed after signing: its RRSIG no longer verifies, Unbound answers SERVFAIL.
          tamper: (signed) => signed.replace(leaf, before),
        },
      ]),
    );
    // Dovecot gives Postfix's submission service its SASL socket (without it smtpd exits and master throttles).
    host.start({
      cert: 'withca',
      postfix: { services: ['smtp', 'submission'], starttlsOn25: true, authBeforeTls: false },
      dovecot: { listeners: ['imaps'], plaintextAuth: false },
    });
  }, 60_000);

  afterAll(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
    host?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** The built CLI (dist/src) on NAME's port 25, or the package's bin (the bundles) with `bin`. */
  async function probe(name: string, extra: string[] = ['--ports', '25'], bin = false) {
    const args = [
      name,
      '--dns-server',
      '127.0.0.1',
      '--dane',
      '-4',
      '--timeout',
      '3000',
      '--json',
      '--ca',
      join(root, 'tls', 'ca.pem'),
      ...extra,
    ];
    const run = bin
      ? await host?.netns.run(process.execPath, [
          new URL('../bin/mailprobe.cjs', import.meta.url).pathname,
          ...args,
        ])
      : await host?.mailprobe(args);
    if (!run?.stdout) throw new Error(`mailprobe printed nothing (exit ${run?.code}): ${run?.stderr}`);
    return validReport<Report>(run.stdout);
  }
  const ids = (report: Report, port = 25) =>
    (report.hosts[0]?.findings ?? []).filter((f) => f.port === port && f.id.startsWith('dane-'));

  it('DANE-EE 3 1 1 matches the leaf, whatever its name (RFC 7672 §3.1.1)', async () => {
    // Through the package's bin: the TLSA code is a bundle of its own (dane.cjs), loaded only for --dane.
    const report = await probe('ee.dane.test', ['--ports', '25'], true);
    const port = report.hosts[0]?.ports[0];
    expect(port?.dane).toMatchObject({
      name: '_25._tcp.ee.dane.test',
      outcome: 'found',
      authenticData: true,
    });
    const found = ids(report);
    expect(found.map((f) => f.id)).toEqual(['dane-valid']);
    expect(found[0]?.detail).toContain('TLSA 3 1 1 (chain 0)');
    // The certificate is for mx.dane.test: the name finding stays, DANE-EE does not care.
    expect(report.hosts[0]?.findings.map((f) => f.id)).toContain('cert-name-mismatch');
  }, 30_000);

  it('DANE-TA 2 1 1 matches the CA sent in the chain, the leaf carrying the MX name', async () => {
    const found = ids(await probe('mx.dane.test'));
    expect(found.map((f) => f.id)).toEqual(['dane-valid']);
    expect(found[0]?.detail).toContain('TLSA 2 1 1 (chain 1)');
  }, 30_000);

  it('--expect 25=dane=valid holds for a matching record and fails the run for a mismatch (--dane implied)', async () => {
    const expect25 = (name: string) =>
      host?.mailprobe([
        name,
        '--dns-server',
        '127.0.0.1',
        '-4',
        '--timeout',
        '3000',
        '--expect',
        '25=dane=valid',
        '--json',
      ]);
    const good = await expect25('ee.dane.test');
    const bad = await expect25('renewed.dane.test');
    const failed = (run: { stdout: string } | undefined) =>
      validReport<{ result: { failedExpectations: number } }>(run?.stdout ?? '').result.failedExpectations;
    expect(failed(good)).toBe(0);
    expect(failed(bad)).toBe(1);
    expect(bad?.code).toBe(1);
  }, 30_000);

  it('OpenMetrics (and so serve): mailprobe_port_dane_status per port', async () => {
    const metrics = async (name: string) =>
      (
        await host?.mailprobe([
          name,
          '--dns-server',
          '127.0.0.1',
          '--dane',
          '-4',
          '--ports',
          '25',
          '--timeout',
          '3000',
          '--format',
          'openmetrics',
        ])
      )?.stdout ?? '';
    expect(await metrics('ee.dane.test')).toMatch(
      /^mailprobe_port_dane_status\{target="ee\.dane\.test",port="25",.*status="valid"\} 1$/m,
    );
    expect(await metrics('mx.bogus.test')).toMatch(/^mailprobe_port_dane_status\{.*status="unknown"\} 1$/m);
  }, 30_000);

  it('serve --dane answers /probe with the DANE status of the port', async () => {
    const main = new URL('../dist/src/cli/main.js', import.meta.url).pathname;
    // Inside the namespace: serve on 127.0.0.1:9925, one scrape, then SIGTERM.
    const script = `
      const { spawn } = require('node:child_process');
      const http = require('node:http');
      const serve = spawn(process.execPath, [${JSON.stringify(main)}, 'serve', '--dane', '--dns-server', '127.0.0.1',
        '--allow', '127.0.0.0/8', '--timeout', '3000', '--min-interval', '1'], { stdio: 'ignore' });
      const get = () => new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port: 9925,
        path: '/probe?target=ee.dane.test&module=smtp' }, (res) => { let body = ''; res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body)); }).on('error', reject));
      (async () => {
        for (let i = 0; i < 100; i++) {
          try { process.stdout.write(await get()); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
        }
        serve.kill('SIGTERM');
      })();`;
    const run = await host?.netns.run(process.execPath, ['-e', script]);
    expect(run?.stdout).toMatch(
      /^mailprobe_port_dane_status\{target="ee\.dane\.test",port="25",.*status="valid"\} 1$/m,
    );
  }, 30_000);

  it('a TLSA record left over from before a renewal is critical on port 25', async () => {
    const found = ids(await probe('renewed.dane.test'));
    expect(found.map((f) => [f.id, f.severity])).toEqual([['dane-mismatch', 'critical']]);
    expect(found[0]?.detail).toContain('refuse to deliver');
    expect(found[0]?.evidence.join('\n')).toMatch(/AD set/);
  }, 30_000);

  it('an unsigned zone gives no AD bit: unvalidated, never valid', async () => {
    const report = await probe('mx.plain.test');
    expect(report.hosts[0]?.ports[0]?.dane).toMatchObject({ outcome: 'found', authenticData: false });
    const found = ids(report);
    expect(found.map((f) => f.id)).toEqual(['dane-unvalidated']);
    expect(found[0]?.detail).toContain('would match the chain sent');
  }, 30_000);

  it('a bogus signature answers SERVFAIL: DANE status unknown, never "no DANE"', async () => {
    const report = await probe('mx.bogus.test');
    expect(report.hosts[0]?.ports[0]?.dane).toMatchObject({ outcome: 'failed', rcode: 'SERVFAIL' });
    expect(ids(report).map((f) => [f.id, f.severity])).toEqual([['dane-unknown', 'high']]);
  }, 30_000);

  it('a host without TLSA records: no DANE, the absence validated', async () => {
    const found = ids(await probe('notls.dane.test'));
    expect(found.map((f) => f.id)).toEqual(['dane-none']);
    expect(found[0]?.detail).toContain('validated');
  }, 30_000);

  it('a TLSA set too big for UDP is asked again over TCP (RFC 7766)', async () => {
    const report = await probe('big.dane.test');
    expect(report.hosts[0]?.ports[0]?.dane).toMatchObject({ outcome: 'found', transport: 'tcp' });
    expect(report.hosts[0]?.ports[0]?.dane?.records).toHaveLength(25);
    expect(ids(report).map((f) => f.id)).toEqual(['dane-valid']);
  }, 30_000);

  it('a system resolver off loopback: its AD bit is not believed, the result is unvalidated', async () => {
    const resolvConf = `/etc/netns/${host?.netns.name}/resolv.conf`;
    const before = readFileSync(resolvConf, 'utf8');
    writeFileSync(resolvConf, 'nameserver 10.53.0.1\noptions timeout:1 attempts:1\n');
    try {
      const run = await host?.mailprobe([
        'ee.dane.test',
        '--dane',
        '-4',
        '--ports',
        '25',
        '--timeout',
        '3000',
        '--json',
      ]);
      const report = validReport<Report>(run?.stdout ?? '');
      // The answer is signed and the AD bit is set, but the path to 10.53.0.1 is not one the user vouched for.
      expect(report.hosts[0]?.ports[0]?.dane).toMatchObject({
        resolver: '10.53.0.1:53',
        resolverTrusted: false,
        authenticData: true,
      });
      const found = ids(report);
      expect(found.map((f) => f.id)).toEqual(['dane-unvalidated']);
      expect(found[0]?.detail).toContain('--dns-server');
      // The same resolver named with --dns-server is trusted.
      const again = ['ee.dane.test', '--dane', '-4', '--ports', '25', '--dns-server', '10.53.0.1', '--json'];
      const named = validReport<Report>((await host?.mailprobe(again))?.stdout ?? '');
      expect(ids(named).map((f) => f.id)).toEqual(['dane-valid']);
    } finally {
      writeFileSync(resolvConf, before);
    }
  }, 30_000);

  it('an MX name that is a validated alias: TLSA at the expanded name first (RFC 7672 §2.2.3)', async () => {
    const report = await probe('alias.dane.test');
    const port = report.hosts[0]?.ports[0];
    expect(port?.dane).toMatchObject({
      name: '_25._tcp.mx.provider.test',
      outcome: 'found',
      authenticData: true,
      alias: { host: 'alias.dane.test', target: 'mx.provider.test', secure: true },
    });
    expect(ids(report).map((f) => f.id)).toEqual(['dane-valid']);
    expect(ids(report)[0]?.evidence.join('\n')).toContain('alias.dane.test is an alias of mx.provider.test');
  }, 30_000);

  it('an alias that does not validate: only the host name counts, and it has no records', async () => {
    const report = await probe('alias.plain.test');
    expect(report.hosts[0]?.ports[0]?.dane).toMatchObject({
      name: '_25._tcp.alias.plain.test',
      outcome: 'none',
      alias: { target: 'mx.provider.test', secure: false },
    });
    expect(ids(report).map((f) => f.id)).toEqual(['dane-none']);
  }, 30_000);

  it('a domain report opens with the DANE status of each MX', async () => {
    const run = await host?.mailprobe([
      'dane.test',
      '--discover',
      '--max-hosts',
      '1',
      '--dns-server',
      '127.0.0.1',
      '--dane',
      '-4',
      '--no-web',
      '--timeout',
      '3000',
      '--ca',
      join(root, 'tls', 'ca.pem'),
    ]);
    const text = run?.stdout ?? '';
    const block = text.slice(text.indexOf('transport policy'), text.indexOf('\nDNS\n'));
    expect(text.indexOf('transport policy')).toBeGreaterThan(0);
    expect(block).toMatch(/DANE +mx\.dane\.test: valid/);
  }, 60_000);

  it('the submission port a domain publishes in SRV gets its own TLSA lookup (RFC 7673)', async () => {
    const run = await host?.mailprobe([
      'dane.test',
      '--discover',
      '--dns-server',
      '127.0.0.1',
      '--dane',
      '-4',
      '--no-web',
      '--timeout',
      '3000',
      '--json',
      '--ca',
      join(root, 'tls', 'ca.pem'),
    ]);
    if (!run?.stdout) throw new Error(`mailprobe printed nothing (exit ${run?.code}): ${run?.stderr}`);
    const report = validReport<Report>(run.stdout);
    const ee = report.hosts.find((h) => h.host === 'ee.dane.test');
    const submission = ee?.ports.find((p) => p.port === 587);
    expect(submission?.dane).toMatchObject({
      name: '_587._tcp.ee.dane.test',
      outcome: 'found',
      authenticData: true,
    });
    expect(ee?.findings.filter((f) => f.port === 587 && f.id.startsWith('dane-')).map((f) => f.id)).toEqual([
      'dane-valid',
    ]);
    const mx = report.hosts.find((h) => h.host === 'mx.dane.test');
    expect(mx?.findings.filter((f) => f.port === 25 && f.id.startsWith('dane-')).map((f) => f.id)).toEqual([
      'dane-valid',
    ]);
  }, 60_000);
});
