/**
 * Discovery, every-address probing and the egress check on real DNS: dnsmasq serves MX, SRV, A and AAAA for
 * test domains inside a network namespace of the test's own, fixture servers stand for the mail hosts on
 * loopback addresses there, and iptables drops what a test needs dropped. What dnsmasq cannot answer (a SERVFAIL
 * for one name) comes from a DNS server on loopback whose answers the test writes, naming loopback addresses only.
 * Nothing resolves or connects outside.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../src/render/json.js';
import { cli, root } from './helpers/cli.js';
import { loopbackDns } from './helpers/loopback-dns.js';
import { makeTls } from './helpers/mail-servers.js';
import { Netns, netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';
import { validEgress, validReport } from './helpers/schema.js';

const missing =
  netnsMissing() ??
  (existsSync('/usr/sbin/dnsmasq') ? undefined : 'needs dnsmasq: apt-get install -y dnsmasq-base');
if (missing && process.env.CI) {
  it('DNS test prerequisites', () => {
    throw new Error(`CI=true and the DNS tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping DNS and egress tests: ${missing}`);
}

const made: Netns[] = [];
afterEach(() => {
  for (const netns of made.splice(0)) netns.destroy();
});
function netns(...addresses: string[]): Netns {
  const created = new Netns();
  made.push(created);
  created.addresses(...addresses);
  return created;
}

const dnsArgs = ['--dns-server', '127.0.0.1:53'];

describe.skipIf(missing !== undefined)('on real DNS (dnsmasq) in a network namespace', () => {
  let tls = '';
  let dir = '';
  beforeAll(() => {
    sweepStaleNamespaces();
    dir = mkdtempSync(join(tmpdir(), 'mailprobe-dns-'));
    tls = join(dir, 'tls');
    makeTls(tls, '*.example.test');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const server = (protocol: string, mode: string, host: string, port: number) => ({
    protocol,
    tls: mode,
    host,
    port,
    tlsDir: tls,
  });

  it('alice@example.test: MX, SRV and guessed names are probed, and client settings are chosen from what works', async () => {
    const ns = netns('127.0.0.11', '127.0.0.12', '127.0.0.20');
    const run = await ns.scenario({
      dnsmasq: [
        '--mx-host=example.test,mx.example.test,10',
        '--host-record=mx.example.test,127.0.0.20',
        '--host-record=mail.example.test,127.0.0.11',
        '--host-record=smtp.example.test,127.0.0.12',
        '--srv-host=_submissions._tcp.example.test,mail.example.test,465,0,1',
        '--srv-host=_submission._tcp.example.test,mail.example.test,587,0,1',
        '--srv-host=_imaps._tcp.example.test,mail.example.test,993,0,1',
        '--srv-host=_imap._tcp.example.test',
      ],
      servers: [
        server('smtp', 'starttls', '127.0.0.20', 25),
        server('smtp', 'implicit', '127.0.0.11', 465),
        server('imap', 'implicit', '127.0.0.11', 993),
        server('imap', 'starttls', '127.0.0.11', 143),
      ],
      cli: [
        'alice@example.test',
        ...dnsArgs,
        '--ca',
        join(tls, 'ca.pem'),
        '--timeout',
        '800',
        '-4',
        '--json',
      ],
    });
    const report = validReport<JsonReport>(run.stdout);
    const discovery = report.discovery;
    expect(discovery?.email).toBe('alice@example.test');
    expect(discovery?.records).toEqual(
      expect.arrayContaining([
        { kind: 'MX', query: 'example.test', answer: '10 mx.example.test' },
        {
          kind: 'SRV',
          query: '_imap._tcp.example.test',
          answer: '0 0 1 .',
          note: 'not-offered',
          detail: 'published as not offered (target ".")',
        },
        { kind: 'guess', query: 'mail.example.test', answer: '127.0.0.11' },
        expect.objectContaining({ kind: 'guess', query: 'imap.example.test', note: 'no-record' }),
      ]),
    );
    expect(discovery?.candidates.map((c) => [c.host, c.sources])).toEqual([
      ['mx.example.test', ['MX 10']],
      ['mail.example.test', ['SRV _submissions._tcp', 'SRV _submission._tcp', 'SRV _imaps._tcp', 'guess']],
      ['smtp.example.test', ['guess']],
    ]);
    expect(discovery?.settings.incoming).toEqual({
      host: 'mail.example.test',
      port: 993,
      protocol: 'IMAP',
      security: 'TLS',
      source: expect.stringContaining('SRV'),
    });
    expect(discovery?.settings.outgoing).toEqual({
      host: 'mail.example.test',
      port: 465,
      protocol: 'SMTP',
      security: 'TLS',
      source: expect.stringContaining('SRV'),
    });
    expect(discovery?.settings.notes).toEqual(
      expect.arrayContaining([
        'SRV _submission._tcp.example.test points at mail.example.test:587, which does not work (refused)',
        'SRV _imap._tcp.example.test says imap is not offered, but mail.example.test:143 works safely',
      ]),
    );
    const human = await ns.scenario({
      servers: [],
      cli: ['nothing-here.test', '--discover', ...dnsArgs, '--timeout', '500'],
      dnsmasq: [],
    });
    expect(human.code).toBe(3);
  });

  it('a null MX (or only null MX records), and a domain with no mail records at all, are one-line errors with exit 3', async () => {
    const ns = netns();
    const nullMx = await ns.scenario({
      dnsmasq: ['--mx-host=nullmx.test,.,0'],
      servers: [],
      cli: ['bob@nullmx.test', ...dnsArgs, '--timeout', '500'],
    });
    expect(nullMx.code).toBe(3);
    expect(nullMx.stderr.trim()).toBe(
      'mailprobe: cannot resolve nullmx.test: it publishes a null MX (accepts no mail, RFC 7505) and no other mail host',
    );
    // Several "." and no other MX: no MX names a host, the domain accepts no mail all the same (serve says so too).
    const nulls = await ns.scenario({
      dnsmasq: ['--mx-host=nulls.test,.,10', '--mx-host=nulls.test,.,0'],
      servers: [],
      cli: ['bob@nulls.test', ...dnsArgs, '--timeout', '500'],
    });
    expect(nulls.code).toBe(3);
    expect(nulls.stderr.trim()).toBe(
      'mailprobe: cannot resolve nulls.test: it publishes only null MX records, 0 . and 10 . (accepts no mail: no MX names a host; RFC 7505 §3 defines one null MX) and no other mail host',
    );
    const none = await ns.scenario({
      dnsmasq: [],
      servers: [],
      cli: ['nothing.test', '--discover', ...dnsArgs, '--timeout', '500'],
    });
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/^mailprobe: cannot resolve nothing\.test: no mail host found/);
  });

  it('a domain whose only MX has no address: nothing was probed, so exit 3, and the JUnit file says why', async () => {
    const ns = netns();
    const junit = join(dir, 'no-address.xml');
    const run = await ns.scenario({
      dnsmasq: ['--mx-host=empty.test,mx.empty.test,10'],
      servers: [],
      cli: ['empty.test', '--discover', ...dnsArgs, '--timeout', '800', '--junit', junit],
    });
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^mailprobe: cannot resolve empty\.test: none of its mail hosts has an address \(mx\.empty\.test/,
    );
    expect(readFileSync(junit, 'utf8')).toMatch(/errors="1"[\s\S]*type="exit 3"/);
  });

  it('discovery is bounded: --max-hosts probes the first hosts and lists the rest; MX at loopback is a finding', async () => {
    const addresses = Array.from({ length: 12 }, (_, i) => `127.0.0.${40 + i}`);
    const ns = netns(...addresses);
    const run = await ns.scenario({
      dnsmasq: addresses.flatMap((address, i) => [
        `--mx-host=many.test,mx${i}.many.test,${10 + i}`,
        `--host-record=mx${i}.many.test,${address}`,
      ]),
      servers: [{ protocol: 'smtp', tls: 'starttls', host: '127.0.0.40', port: 25 }],
      cli: ['many.test', '--discover', ...dnsArgs, '--timeout', '800', '--max-hosts', '3', '--json'],
    });
    const report = validReport<
      JsonReport & {
        discovery: { leftOut?: string[] };
        hosts: { host: string; findings: { id: string }[] }[];
      }
    >(run.stdout);
    expect(report.discovery.candidates.map((c) => c.host)).toEqual([
      'mx0.many.test',
      'mx1.many.test',
      'mx2.many.test',
    ]);
    expect(report.discovery.leftOut?.slice(0, 9)).toEqual(
      Array.from({ length: 9 }, (_, i) => `mx${i + 3}.many.test`),
    );
    expect(report.hosts.map((h) => h.host)).toEqual(['mx0.many.test', 'mx1.many.test', 'mx2.many.test']);
    expect(report.hosts[0]?.findings.map((f) => f.id)).toContain('published-private-address');
    const human = await ns.scenario({
      dnsmasq: addresses.flatMap((address, i) => [
        `--mx-host=many.test,mx${i}.many.test,${10 + i}`,
        `--host-record=mx${i}.many.test,${address}`,
      ]),
      servers: [],
      cli: ['many.test', '--discover', ...dnsArgs, '--timeout', '800', '--max-hosts', '3', '--no-color'],
    });
    expect(human.stdout).toMatch(/left out \(over --max-hosts\): \d+ more: mx3\.many\.test/);
  });

  it('discovery has one deadline for the whole run: running probes are aborted and reported, never waited out', async () => {
    const ns = netns('127.0.0.60');
    const started = performance.now();
    const run = await ns.scenario({
      dnsmasq: ['--mx-host=slow.test,mx.slow.test,10', '--host-record=mx.slow.test,127.0.0.60'],
      // Accepts and never greets: without the deadline this port would take its whole greeting deadline.
      servers: [{ protocol: 'tcp-silent', host: '127.0.0.60', port: 25 }],
      cli: ['slow.test', '--discover', ...dnsArgs, '--timeout', '20000', '--deadline', '1500', '--json'],
    });
    expect(performance.now() - started).toBeLessThan(6000);
    const report = validReport<JsonReport & { discovery: { deadline?: { ms: number } } }>(run.stdout);
    expect(report.discovery.deadline?.ms).toBe(1500);
    expect(report.hosts[0]?.ports.find((p) => p.port === 25)?.status).toBe('aborted');
  });

  it('an MX that points at an alias or at an address literal is reported as such', async () => {
    const ns = netns('127.0.0.11');
    const run = await ns.scenario({
      dnsmasq: [
        '--mx-host=odd.test,alias.odd.test,10',
        '--cname=alias.odd.test,real.odd.test',
        '--host-record=real.odd.test,127.0.0.11',
        '--mx-host=odd.test,127.0.0.11,20',
      ],
      servers: [],
      cli: ['odd.test', '--discover', ...dnsArgs, '--timeout', '500', '--json'],
    });
    const records = validReport<JsonReport>(run.stdout).discovery?.records.filter((r) => r.kind === 'MX');
    expect(records?.map((r) => [r.answer, r.note])).toEqual([
      ['10 alias.odd.test', 'cname-target'],
      ['20 127.0.0.11', 'address-literal'],
    ]);
  });

  it('a DNS server that does not answer ends at its deadline with exit 3', async () => {
    const ns = netns();
    ns.exec('iptables', '-A', 'INPUT', '-p', 'udp', '--dport', '53', '-j', 'DROP');
    const started = performance.now();
    const run = await ns.scenario({
      servers: [],
      cli: ['silent.test', '--discover', ...dnsArgs, '--timeout', '500'],
    });
    expect(run.code).toBe(3);
    expect(run.stderr.trim()).toBe(
      'mailprobe: cannot resolve silent.test: DNS failed: the DNS server did not answer in time',
    );
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  describe('names and records from the network (issue 21)', () => {
    type Run = { code: number; stdout: string; stderr: string };
    const common = (tls: string) => [...dnsArgs, '--ca', join(tls, 'ca.pem'), '--timeout', '800', '-4'];
    const servers = () => [
      server('smtp', 'starttls', '127.0.0.20', 25),
      server('smtp', 'implicit', '127.0.0.11', 465),
      server('imap', 'implicit', '127.0.0.11', 993),
      server('imap', 'starttls', '127.0.0.11', 143),
    ];
    const publishedFindings = (run: Run | undefined) =>
      (validReport<JsonReport>(run?.stdout ?? '').discovery?.publishedCheck?.findings ?? []).map((f) => ({
        id: f.id,
        severity: f.severity,
        sources: f.sources,
        evidence: f.evidence,
      }));

    it('an xn-- label IDNA refuses, as an MX or an SRV target, is a finding on that record; the rest of the run goes on', async () => {
      const ns = netns('127.0.0.11', '127.0.0.20');
      const run = await ns.scenario({
        dnsmasq: [
          '--mx-host=example.test,mx.example.test,10',
          '--mx-host=example.test,xn--a.example.test,20',
          '--host-record=mx.example.test,127.0.0.20',
          '--host-record=mail.example.test,127.0.0.11',
          '--srv-host=_imaps._tcp.example.test,mail.example.test,993,0,1',
          '--srv-host=_submission._tcp.example.test,xn--a.test,587,0,1',
        ],
        servers: servers(),
        clis: [
          ['alice@example.test', ...common(tls), '--json'],
          ['alice@example.test', ...common(tls), '--no-web', '--json'],
          ['publish', 'alice@example.test', ...common(tls)],
        ],
      });
      expect(run.code, run.stderr).toBe(0);
      const [web, noWeb, publish] = JSON.parse(run.stdout) as Run[];
      for (const result of [web, noWeb]) {
        expect(result?.stderr).toBe('');
        // Not exit 2 (the user's fault) nor 70 (a crash): a medium finding does not fail the run.
        expect(result?.code).toBe(0);
        const report = validReport<JsonReport>(result?.stdout ?? '');
        expect(report.discovery?.records).toEqual(
          expect.arrayContaining([
            {
              kind: 'MX',
              query: 'example.test',
              answer: '20 xn--a.example.test',
              note: 'invalid-name',
              detail: expect.stringMatching(/^the MX target is not a usable host name: IDNA refuses it/),
            },
            {
              kind: 'SRV',
              query: '_submission._tcp.example.test',
              answer: '0 1 587 xn--a.test',
              note: 'invalid-name',
              detail: expect.stringMatching(/^the SRV target is not a usable host name: IDNA refuses it/),
            },
          ]),
        );
        expect(report.discovery?.candidates.map((c) => c.host)).toEqual([
          'mx.example.test',
          'mail.example.test',
        ]);
        expect(report.hosts.map((h) => h.host)).toEqual(['mx.example.test', 'mail.example.test']);
        expect(publishedFindings(result).filter((f) => f.id === 'published-invalid-name')).toEqual([
          {
            id: 'published-invalid-name',
            severity: 'medium',
            sources: ['MX example.test'],
            evidence: ['MX example.test: 20 xn--a.example.test'],
          },
          {
            id: 'published-invalid-name',
            severity: 'medium',
            sources: ['SRV _submission._tcp.example.test'],
            evidence: ['SRV _submission._tcp.example.test: 0 1 587 xn--a.test'],
          },
        ]);
      }
      // What is published (the SRV records that can be used) works safely: exit 0.
      expect(publish?.stderr).toBe('');
      expect(publish?.code).toBe(0);
      expect(publish?.stdout).toContain('_imaps._tcp.example.test. 3600 IN SRV 0 1 993 mail.example.test.');
    });

    it('an SRV record of port 0 is unusable: a finding on the record, never probed, never a connection failure', async () => {
      const ns = netns('127.0.0.11', '127.0.0.20');
      const run = await ns.scenario({
        dnsmasq: [
          '--mx-host=example.test,mx.example.test,10',
          '--host-record=mx.example.test,127.0.0.20',
          '--host-record=mail.example.test,127.0.0.11',
          '--srv-host=_imaps._tcp.example.test,mail.example.test,0,0,1',
          '--srv-host=_submissions._tcp.example.test,mail.example.test,465,0,1',
        ],
        servers: servers(),
        clis: [
          ['alice@example.test', ...common(tls), '--json'],
          ['alice@example.test', ...common(tls), '--no-web', '--json'],
          ['alice@example.test', ...common(tls), '--no-web'],
        ],
      });
      expect(run.code, run.stderr).toBe(0);
      const [web, noWeb, human] = JSON.parse(run.stdout) as Run[];
      for (const result of [web, noWeb]) {
        expect(result?.stderr).toBe('');
        // A medium finding: the run does not fail on it (--fail-on high).
        expect(result?.code).toBe(0);
        const report = validReport<JsonReport>(result?.stdout ?? '');
        expect(report.discovery?.records).toEqual(
          expect.arrayContaining([
            {
              kind: 'SRV',
              query: '_imaps._tcp.example.test',
              answer: '0 1 0 mail.example.test',
              note: 'port-zero',
              detail: 'the SRV record names port 0, which takes no connection',
            },
          ]),
        );
        // No port 0 anywhere: not among the candidates, not probed.
        expect(report.discovery?.candidates.flatMap((c) => c.ports.map((p) => p.port))).not.toContain(0);
        expect(report.hosts.flatMap((h) => h.ports.map((p) => p.port))).not.toContain(0);
        const findings = publishedFindings(result);
        expect(findings.filter((f) => f.id === 'srv-port-zero')).toEqual([
          {
            id: 'srv-port-zero',
            severity: 'medium',
            sources: ['SRV _imaps._tcp.example.test'],
            evidence: ['SRV _imaps._tcp.example.test: 0 1 0 mail.example.test'],
          },
        ]);
        expect(findings.filter((f) => f.id === 'published-not-working')).toEqual([]);
      }
      expect(human?.stdout).toContain('SRV: 1 record, 1 unusable');
      expect(human?.stdout).toMatch(
        /MEDIUM +srv-port-zero: SRV _imaps\._tcp\.example\.test names port 0: the record is unusable/,
      );
    });

    it('an SRV "." beside a record that names a server: flagged (clients differ), and the server is probed as before', async () => {
      const ns = netns('127.0.0.11', '127.0.0.20');
      const run = await ns.scenario({
        dnsmasq: [
          '--mx-host=example.test,mx.example.test,10',
          '--host-record=mx.example.test,127.0.0.20',
          '--host-record=mail.example.test,127.0.0.11',
          '--srv-host=_imaps._tcp.example.test',
          '--srv-host=_imaps._tcp.example.test,mail.example.test,993,0,1',
        ],
        servers: servers(),
        clis: [
          ['alice@example.test', ...common(tls), '--json'],
          ['alice@example.test', ...common(tls), '--no-web', '--json'],
          ['alice@example.test', ...common(tls), '--no-web'],
        ],
      });
      expect(run.code, run.stderr).toBe(0);
      const [web, noWeb, human] = JSON.parse(run.stdout) as Run[];
      for (const result of [web, noWeb]) {
        expect(result?.stderr).toBe('');
        expect(result?.code).toBe(0);
        const report = validReport<JsonReport>(result?.stdout ?? '');
        const mail = report.hosts.find((h) => h.host === 'mail.example.test');
        expect(mail?.ports.find((p) => p.port === 993)).toMatchObject({ service: 'imaps', works: true });
        const findings = publishedFindings(result);
        expect(findings.filter((f) => f.id === 'srv-not-offered-mixed')).toEqual([
          {
            id: 'srv-not-offered-mixed',
            severity: 'low',
            sources: ['SRV _imaps._tcp.example.test'],
            evidence: [
              'SRV _imaps._tcp.example.test: 0 1 993 mail.example.test',
              'SRV _imaps._tcp.example.test: 0 0 1 .',
            ],
          },
        ]);
        // Not "not offered, but it runs": the server that runs is published by the same name.
        expect(findings.filter((f) => f.id === 'srv-not-offered-but-runs')).toEqual([]);
        expect(report.discovery?.settings.notes).toContain(
          'SRV _imaps._tcp.example.test publishes "." (not offered) beside records that name servers: clients differ on whether imaps is offered',
        );
      }
      expect(human?.stdout).toMatch(
        /LOW +srv-not-offered-mixed: SRV _imaps\._tcp\.example\.test says both that imaps is not offered \("\."\) and where it runs/,
      );
    });

    it('a domain whose only SRV record names port 0, and nothing else: exit 3 with one line that says so', async () => {
      const ns = netns();
      const run = await ns.scenario({
        dnsmasq: [
          '--host-record=box.zero.test,127.0.0.11',
          '--srv-host=_imaps._tcp.zero.test,box.zero.test,0,0,1',
        ],
        servers: [],
        cli: ['bob@zero.test', ...dnsArgs, '--timeout', '500', '--no-web'],
      });
      expect(run.code).toBe(3);
      expect(run.stderr.trim().split('\n')).toEqual([
        'mailprobe: cannot resolve zero.test: no mail host found: its SRV "0 1 0 box.zero.test" names port 0, which takes no connection, and nothing else was found',
      ]);
    });

    it('an SRV "." is checked on the mail host the other SRV records name: the port is tried there too', async () => {
      const ns = netns('127.0.0.11', '127.0.0.12');
      const run = await ns.scenario({
        dnsmasq: [
          // box. and other. are no guessed names: only the SRV records lead there.
          '--host-record=box.example.test,127.0.0.11',
          '--host-record=other.example.test,127.0.0.12',
          '--srv-host=_imap._tcp.example.test,box.example.test,143,0,1',
          '--srv-host=_imaps._tcp.example.test',
          '--srv-host=_pop3._tcp.other.test,other.example.test,110,0,1',
          '--srv-host=_pop3s._tcp.other.test',
        ],
        servers: [
          server('imap', 'starttls', '127.0.0.11', 143),
          server('imap', 'implicit', '127.0.0.11', 993),
          // other.test: its "." is true (nothing on 995).
          server('pop3', 'starttls', '127.0.0.12', 110),
        ],
        clis: [
          ['alice@example.test', ...common(tls), '--no-web', '--json'],
          ['bob@other.test', ...common(tls), '--no-web', '--json'],
        ],
      });
      expect(run.code, run.stderr).toBe(0);
      const [runs, true_] = JSON.parse(run.stdout) as Run[];
      const report = validReport<JsonReport>(runs?.stdout ?? '');
      expect(report.discovery?.candidates).toEqual([
        {
          host: 'box.example.test',
          ports: [
            { port: 143, service: 'imap' },
            { port: 993, service: 'imaps' },
          ],
          sources: ['SRV _imap._tcp', 'check of SRV _imaps._tcp "."'],
        },
      ]);
      expect(publishedFindings(runs)).toEqual([
        {
          id: 'srv-not-offered-but-runs',
          severity: 'low',
          sources: ['SRV _imaps._tcp.example.test'],
          evidence: ['SRV _imaps._tcp.example.test: 0 0 1 .', 'works: box.example.test:993 (127.0.0.11)'],
        },
      ]);
      // Where the "." is true, the port is refused and nothing is said about the record.
      const other = validReport<JsonReport>(true_?.stdout ?? '');
      expect(other.hosts[0]?.ports.map((p) => [p.port, p.status])).toEqual([
        [110, 'open'],
        [995, 'refused'],
      ]);
      expect(other.discovery?.publishedCheck).toBeUndefined();
      expect(true_?.code).toBe(0);
    });

    it('a domain whose only mail host is a name that cannot exist: exit 3 with one line that says so', async () => {
      const ns = netns();
      const run = await ns.scenario({
        dnsmasq: ['--mx-host=only.test,xn--a.only.test,10'],
        servers: [],
        cli: ['bob@only.test', ...dnsArgs, '--timeout', '500', '--no-web'],
      });
      expect(run.code).toBe(3);
      expect(run.stderr.trim().split('\n')).toEqual([
        'mailprobe: cannot resolve only.test: no mail host found: its MX "10 xn--a.only.test" names a host that cannot exist (IDNA refuses it: an xn-- label must be the Punycode of a valid U-label (RFC 5890 §2.3.2.1, RFC 5891 §5.4)), and nothing else was found',
      ]);
    });

    it('an SRV "." for a service that runs safely is drift (low), with --no-web too, and publish proposes the record', async () => {
      const ns = netns('127.0.0.11', '127.0.0.20');
      const run = await ns.scenario({
        dnsmasq: [
          '--mx-host=example.test,mx.example.test,10',
          '--host-record=mx.example.test,127.0.0.20',
          '--host-record=mail.example.test,127.0.0.11',
          // Target "." (RFC 2782): IMAPS is decidedly not offered (RFC 6186 §3.4); 993 on mail.example.test works.
          '--srv-host=_imaps._tcp.example.test',
          '--srv-host=_submissions._tcp.example.test,mail.example.test,465,0,1',
        ],
        servers: servers(),
        clis: [
          ['alice@example.test', ...common(tls), '--json'],
          ['alice@example.test', ...common(tls), '--no-web', '--json'],
          ['alice@example.test', ...common(tls), '--no-web'],
          ['publish', 'alice@example.test', ...common(tls), '--no-web'],
          ['publish', 'alice@example.test', ...common(tls)],
        ],
      });
      expect(run.code, run.stderr).toBe(0);
      const [web, noWeb, human, publishNoWeb, publish] = JSON.parse(run.stdout) as Run[];
      for (const result of [web, noWeb]) {
        expect(publishedFindings(result).filter((f) => f.id === 'srv-not-offered-but-runs')).toEqual([
          {
            id: 'srv-not-offered-but-runs',
            severity: 'low',
            sources: ['SRV _imaps._tcp.example.test'],
            evidence: ['SRV _imaps._tcp.example.test: 0 0 1 .', 'works: mail.example.test:993 (127.0.0.11)'],
          },
        ]);
      }
      // --no-web: the DNS records alone are judged; no client's pick is predicted from sources never read.
      expect(validReport<JsonReport>(noWeb?.stdout ?? '').discovery?.publishedCheck?.clients).toEqual([]);
      expect(human?.stdout).toMatch(
        /LOW +srv-not-offered-but-runs: SRV _imaps\._tcp\.example\.test says imaps is not offered, but it runs/,
      );
      expect(human?.stdout).not.toContain('what each client would pick');
      for (const result of [publishNoWeb, publish]) {
        expect(result?.stderr).toBe('');
        // What is published (imaps not offered) differs from what works safely: exit 1.
        expect(result?.code).toBe(1);
        expect(result?.stdout).toContain(
          [
            'SRV _imaps._tcp.example.test',
            '  ~ _imaps._tcp.example.test. SRV 0 0 1 . says IMAP with implicit TLS is not offered, but mail.example.test:993 works safely: publish instead',
            '    _imaps._tcp.example.test. 3600 IN SRV 0 1 993 mail.example.test.',
          ].join('\n'),
        );
        expect(result?.stdout).not.toContain('nothing is published');
      }
    });
  });

  it('--all-addresses probes every address and reports a port that works on one but not another', async () => {
    const ns = netns('127.0.0.11', '127.0.0.13');
    const run = await ns.scenario({
      dnsmasq: ['--host-record=multi.example.test,127.0.0.11', '--host-record=multi.example.test,127.0.0.13'],
      servers: [server('imap', 'implicit', '127.0.0.11', 993)],
      cli: [
        'multi.example.test',
        '--all-addresses',
        '--ports',
        '993',
        ...dnsArgs,
        '--ca',
        join(tls, 'ca.pem'),
        '--timeout',
        '800',
        '--json',
      ],
    });
    const host = validReport<JsonReport>(run.stdout).hosts[0];
    expect(host?.ports.map((p) => [p.address, p.status])).toEqual([
      ['127.0.0.11', 'open'],
      ['127.0.0.13', 'refused'],
    ]);
    expect(host?.findings.map((f) => [f.id, f.address])).toEqual(
      expect.arrayContaining([['address-results-differ', '127.0.0.13']]),
    );
  });

  describe('mailprobe egress', () => {
    const hosts = ['127.0.0.31', '127.0.0.32', '127.0.0.33'];
    // Three independent mail hosts: each its own banner and its own certificate for its own name.
    const spec = (cli: string[], extra: object[] = [], tlsDir = (i: number) => join(dir, `mx${i + 1}`)) => ({
      dnsmasq: hosts.map((address, i) => `--host-record=mx${i + 1}.test,${address}`),
      servers: [
        ...hosts.flatMap((host, i) => [
          {
            protocol: 'smtp',
            tls: 'starttls',
            host,
            port: 25,
            tlsDir: tlsDir(i),
            greeting: `220 mx${i + 1}.test ESMTP ready\r\n`,
          },
          { protocol: 'tcp', host, port: 443 },
        ]),
        ...extra,
      ],
      cli: ['egress', '--via', 'mx1.test,mx2.test,mx3.test', ...dnsArgs, '--timeout', '500', ...cli],
    });
    const egress = (stdout: string) =>
      validEgress<{
        egress: {
          conclusion: string;
          summary: string;
          nextStep?: string;
          hosts: { host: string; port25: string; control: string; evidence: string; why: string[] }[];
        };
      }>(stdout).egress;
    beforeAll(() => {
      for (const i of [1, 2, 3]) makeTls(join(dir, `mx${i}`), `mx${i}.test`);
      makeTls(join(dir, 'relay'), 'relay.isp.example');
      // One provider's MX set: one certificate whose names cover mx1, mx2 and mx3.
      mkdirSync(join(dir, 'shared'));
      execFileSync(
        'openssl',
        [
          ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=mx1.test'],
          ...['-addext', 'subjectAltName=DNS:mx1.test,DNS:mx2.test,DNS:mx3.test'],
          ...['-keyout', join(dir, 'shared', 'server.key'), '-out', join(dir, 'shared', 'server.pem')],
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    });

    it('not blocked: 25 answers on the mail hosts (exit 0)', async () => {
      const run = await netns(...hosts).scenario(spec(['--json']));
      expect(run.code).toBe(0);
      expect(egress(run.stdout).conclusion).toBe('not-blocked');
      expect(egress(run.stdout).nextStep).toBeUndefined();
    });

    it("not blocked: one provider's hosts share a certificate valid for each, with their own greetings (exit 0)", async () => {
      const shared = () => join(dir, 'shared');
      const ns = netns(...hosts);
      const run = await ns.scenario(spec(['--json'], [], shared));
      expect(run.code).toBe(0);
      const result = egress(run.stdout);
      expect(result.conclusion).toBe('not-blocked');
      expect(result.hosts.map((h) => h.evidence)).toEqual(['open', 'open', 'open']);
      for (const host of result.hosts) expect(host.why.join(' ')).not.toMatch(/the same certificate/);
      const human = await ns.scenario(spec([], [], shared));
      expect(human.stdout).toMatch(/^outbound port 25: not blocked/);
    });

    it('on a terminal: a spinner on stderr says which hosts and ports are tried; the table fits 80 columns', async () => {
      const ns = netns(...hosts);
      ns.exec('iptables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
      const terminal = {
        columns: 80,
        command: [
          process.execPath,
          `${root}dist/src/cli/main.js`,
          ...['egress', '--via', 'mx1.test,mx2.test,mx3.test', ...dnsArgs, '--timeout', '1500'],
        ],
        unsetEnv: ['CI'],
      };
      // The CLI on a pseudo-terminal (test/helpers/terminal.py) inside the namespace, against its servers.
      const run = await ns.scenario({
        ...spec([]),
        run: ['python3', `${root}test/helpers/terminal.py`, JSON.stringify(terminal)],
      });
      const shown = JSON.parse(run.stdout) as { code: number; stdout: string; terminal: string };
      expect(shown.code, shown.terminal).toBe(1);
      // 25 waits out its 1.5 s while 443 answers: the spinner names a host, the ports and the deadline, and
      // fits 80 columns (it drops the address there), redrawn every second.
      expect(shown.terminal).toMatch(
        /egress: 0\/3 done · trying 25 and 443 on mx\d\.test: 0 s of 1\.5 s · \+2 more/,
      );
      expect(shown.terminal).toMatch(
        /egress: 0\/3 done · trying 25 and 443 on mx\d\.test: 1 s of 1\.5 s · \+2 more/,
      );
      expect(shown.terminal).toContain('\u001b[?25h'); // the cursor is given back
      expect(shown.stdout).toMatch(/^outbound port 25: BLOCKED/);
      expect(shown.stdout).not.toMatch(/egress: /);
      for (const line of shown.stdout.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
      // Each host's row, whatever it says, within 80 columns too.
      const open = await netns(...hosts).scenario(spec(['--no-color']));
      expect(open.code).toBe(0);
      expect(open.stderr).toBe('');
      expect(open.stdout).toMatch(/mx1\.test/);
      const lines = open.stdout.split('\n');
      expect(lines.filter((line) => [...line].length > 80)).toEqual([]);
    });

    it('blocked: 25 dropped on the way while the control port answers (exit 1)', async () => {
      const ns = netns(...hosts);
      ns.exec('iptables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
      const run = await ns.scenario(spec(['--json']));
      expect(run.code).toBe(1);
      const result = egress(run.stdout);
      expect(result.conclusion).toBe('blocked');
      expect(result.hosts.map((h) => [h.port25, h.control, h.evidence])).toEqual(
        Array(3).fill(['filtered', 'connected', 'blocked']),
      );
      // The verdict ends with what to do instead: a submission port, or the ISP's relay.
      expect(result.nextStep).toMatch(
        /^next step: .*587 with STARTTLS or 465 .*ISP's mail server \(smarthost\)/,
      );
      const human = await ns.scenario(spec([]));
      expect(human.stdout).toMatch(/^outbound port 25: BLOCKED/);
      const last = human.stdout.trimEnd().split('\n\n').at(-1) ?? '';
      expect(last.replace(/\n/g, ' ')).toBe(result.nextStep);
      for (const line of last.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    });

    it('intercepted: every outbound 25 is sent to one relay of the network (DNAT): the same banner and certificate, not valid for the hosts (exit 1)', async () => {
      const ns = netns(...hosts, '127.0.0.99');
      ns.exec(
        'iptables',
        '-t',
        'nat',
        '-A',
        'OUTPUT',
        '-p',
        'tcp',
        '--dport',
        '25',
        '-j',
        'DNAT',
        '--to-destination',
        '127.0.0.99:25',
      );
      const relay = {
        protocol: 'smtp',
        tls: 'starttls',
        host: '127.0.0.99',
        port: 25,
        tlsDir: join(dir, 'relay'),
        greeting: '220 relay.isp.example ESMTP\r\n',
      };
      const run = await ns.scenario(spec(['--json'], [relay]));
      expect(run.code).toBe(1);
      const result = egress(run.stdout);
      expect(result.conclusion).toBe('intercepted');
      for (const host of result.hosts) {
        expect(host.evidence).toBe('intercepted');
        expect(host.why.join(' ')).toMatch(/not valid for mx\d\.test/);
        expect(host.why.join(' ')).toMatch(/the same greeting as/);
        expect(host.why.join(' ')).toMatch(/the same certificate as/);
      }
      const human = await ns.scenario(spec([], [relay]));
      expect(human.stdout).toMatch(/^outbound port 25: INTERCEPTED/);
      // The shared certificate is named by its fingerprint's first 16 hex digits: every line fits 80 columns.
      expect(human.stdout.replace(/\n */g, ' ')).toMatch(
        /the same certificate as mx\d\.test, mx\d\.test: ([0-9A-F]{2}:){7}[0-9A-F]{2}…/,
      );
      expect(human.stdout.split('\n').filter((line) => [...line].length > 80)).toEqual([]);
    });

    it('refused everywhere, control port too: proves nothing (exit 4); the same host twice counts once', async () => {
      const ns = netns(...hosts);
      const run = await ns.scenario({
        dnsmasq: [
          ...hosts.map((address, i) => `--host-record=mx${i + 1}.test,${address}`),
          '--host-record=alias.test,127.0.0.31',
        ],
        servers: [],
        cli: [
          'egress',
          '--via',
          'mx1.test,mx2.test,alias.test,mx1.test',
          ...dnsArgs,
          '--timeout',
          '500',
          '--json',
        ],
      });
      expect(run.code).toBe(4);
      const result = egress(run.stdout);
      expect(result.conclusion).toBe('inconclusive');
      expect(result.hosts.map((h) => [h.host, h.evidence])).toEqual([
        ['mx1.test', 'unknown'],
        ['mx2.test', 'unknown'],
        ['alias.test', 'unknown'],
      ]);
      expect(result.hosts[2]?.why).toEqual(['same address as another host tried: not independent']);
      expect(result.hosts[0]?.why).toEqual([
        'the host refuses every port tried: that proves nothing about the path',
      ]);
    });

    it('refused on 25 by live hosts whose control port connects: blocked (exit 1)', async () => {
      const ns = netns(...hosts);
      ns.exec(
        'iptables',
        '-A',
        'OUTPUT',
        '-p',
        'tcp',
        '--dport',
        '25',
        '-j',
        'REJECT',
        '--reject-with',
        'tcp-reset',
      );
      const run = await ns.scenario(spec(['--json']));
      expect(run.code).toBe(1);
      const result = egress(run.stdout);
      expect(result.conclusion).toBe('blocked');
      expect(result.hosts.map((h) => [h.port25, h.control, h.evidence])).toEqual(
        Array(3).fill(['refused', 'connected', 'blocked']),
      );
    });

    it('rejected on 25 with an ICMP unreachable while the control port connects: blocked (exit 1)', async () => {
      for (const icmp of ['icmp-admin-prohibited', 'icmp-host-prohibited', 'icmp-net-unreachable']) {
        const ns = netns(...hosts);
        ns.exec(
          'iptables',
          '-A',
          'OUTPUT',
          '-p',
          'tcp',
          '--dport',
          '25',
          '-j',
          'REJECT',
          '--reject-with',
          icmp,
        );
        const run = await ns.scenario(spec(['--json']));
        expect(run.code, icmp).toBe(1);
        const result = egress(run.stdout);
        expect(result.conclusion, icmp).toBe('blocked');
        expect(result.hosts.map((h) => [h.port25, h.control, h.evidence])).toEqual(
          Array(3).fill(['unreachable', 'connected', 'blocked']),
        );
        expect(result.nextStep).toMatch(/^next step: /);
      }
    });

    it('no DNS at all: says DNS failed, and how to get names resolved, not "no host could be tried" (exit 4)', async () => {
      const ns = netns(...hosts);
      // The mail hosts are there, but the DNS server named answers nothing (no dnsmasq: the port is closed).
      const run = await ns.scenario({
        servers: spec([]).servers,
        cli: [
          'egress',
          '--via',
          'mx1.test,mx2.test,mx3.test',
          '--dns-server',
          '127.0.0.1:53',
          '--timeout',
          '500',
          '--json',
        ],
      });
      expect(run.code).toBe(4);
      const result = egress(run.stdout);
      expect(result.conclusion).toBe('inconclusive');
      expect(result.summary).toBe(
        'inconclusive: DNS failed: none of the 3 mail hosts could be looked up (the DNS server refused the connection), so nothing was tried on 25',
      );
      expect(result.nextStep).toMatch(/^next step: fix name resolution .*--dns-server/);
      expect(result.hosts.map((h) => h.evidence)).toEqual(['unknown', 'unknown', 'unknown']);
    });

    it('names that do not exist are not a DNS failure: each host says why (exit 4)', async () => {
      const ns = netns(...hosts);
      const run = await ns.scenario({
        dnsmasq: [],
        servers: [],
        cli: ['egress', '--via', 'nx1.test,nx2.test', ...dnsArgs, '--timeout', '500', '--json'],
      });
      expect(run.code).toBe(4);
      const result = egress(run.stdout);
      expect(result.summary).toMatch(
        /^inconclusive: no host could be tried: nx1\.test: no such host .*; nx2\.test: no such host/,
      );
      expect(result.summary).not.toMatch(/DNS failed/);
      expect(result.nextStep).toBeUndefined();
    });

    it('inconclusive: nothing answers, neither 25 nor the control port (exit 4)', async () => {
      const ns = netns(...hosts);
      ns.exec('iptables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
      ns.exec('iptables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '443', '-j', 'DROP');
      const run = await ns.scenario(spec(['--json']));
      expect(run.code).toBe(4);
      expect(egress(run.stdout).conclusion).toBe('inconclusive');
    });
  });
});

describe('on a DNS server on loopback (answers written by the test)', () => {
  /**
   * MX records for `domain`, each host `label.domain`: A or AAAA records as given, SERVFAIL for those in `failing`
   * (`label`, or `label:A` for its A records only).
   */
  async function mxDns(domain: string, mx: Record<string, string | undefined>, failing: string[] = []) {
    return loopbackDns((name, type) => {
      const labels = Object.keys(mx);
      if (name === domain && type === 'MX')
        return {
          answers: labels.map((label, i) => ({
            type: 'MX' as const,
            name,
            ttl: 0,
            data: { preference: 10 * (i + 1), exchange: `${label}.${domain}` },
          })),
        };
      if (name === domain) return {};
      const label = name.slice(0, -domain.length - 1);
      if (failing.includes(label) || failing.includes(`${label}:${type}`)) return { rcode: 2 };
      const address = mx[label];
      if (address && type === (address.includes(':') ? 'AAAA' : 'A'))
        return { answers: [{ type: address.includes(':') ? 'AAAA' : 'A', name, ttl: 0, data: address }] };
      // An MX host without an address: NXDOMAIN, or no A or AAAA (NODATA) when its value is ''.
      return address !== undefined ? {} : { rcode: 3 };
    });
  }
  const run = (target: string, server: string, ...more: string[]) =>
    cli([target, '--discover', '--dns-server', server, '--no-web', '--timeout', '500', ...more]);

  it('an MX host without an address is named, with what DNS said, and is a finding (RFC 5321 §5.1)', async () => {
    // a: an address on loopback (nothing listens on 25); b: NXDOMAIN; c: exists, no A or AAAA.
    const dns = await mxDns('part.test', { a: '127.77.25.10', b: undefined, c: '' });
    try {
      const json = await run('part.test', dns.server, '--json');
      const report = validReport<JsonReport>(json.stdout);
      const none = 'no such host (NXDOMAIN or no address records)';
      expect(report.discovery?.mxAddresses).toEqual([
        { host: 'a.part.test', outcome: 'found' },
        { host: 'b.part.test', outcome: 'none', detail: none },
        { host: 'c.part.test', outcome: 'none', detail: none },
      ]);
      expect(report.hosts.map((h) => h.host)).toEqual(['a.part.test']);
      const findings = report.discovery?.publishedCheck?.findings.filter((f) => f.id === 'mx-no-address');
      expect(findings?.map((f) => [f.severity, f.evidence])).toEqual([
        ['low', ['MX part.test: 20 b.part.test', `b.part.test: ${none}`]],
        ['low', ['MX part.test: 30 c.part.test', `c.part.test: ${none}`]],
      ]);
      const human = await run('part.test', dns.server, '--no-color');
      expect(human.stdout).toContain(
        `MX b.part.test has no address (${none}): not probed; senders skip it (RFC 5321 §5.1)`,
      );
      expect(human.stdout).toMatch(/mx-no-address/);
    } finally {
      dns.close();
    }
  });

  it('no MX host probed because an address lookup failed: exit 3 says DNS failed, as serve does', async () => {
    // b: NXDOMAIN; d: its lookup fails (SERVFAIL). Not "none of its mail hosts has an address".
    const dns = await mxDns('fail.test', { b: undefined, d: undefined }, ['d']);
    try {
      const failed = await run('fail.test', dns.server);
      expect(failed.code).toBe(3);
      expect(failed.stderr.trim()).toBe(
        'mailprobe: cannot resolve fail.test: DNS failed: the DNS server failed (SERVFAIL) (the addresses of its MX d.fail.test; no address: b.fail.test)',
      );
    } finally {
      dns.close();
    }
    // No lookup failed: an MX with only an IPv6 address, under -4, has no IPv4 address (not "DNS failed").
    const v6 = await mxDns('v6.test', { a: '::1', b: undefined });
    try {
      const none = await run('v6.test', v6.server, '-4');
      expect(none.code).toBe(3);
      expect(none.stderr.trim()).toBe(
        'mailprobe: cannot resolve v6.test: none of its mail hosts has an IPv4 address (a.v6.test, b.v6.test)',
      );
    } finally {
      v6.close();
    }
  });

  it('with -4, a failed IPv4 lookup is a DNS failure even when IPv6 answers; an MX not probed is named', async () => {
    // a: its A lookup fails (SERVFAIL), its AAAA gives ::1. Not "has no IPv4 address": that lookup failed.
    const dns = await mxDns('v4fail.test', { a: '::1' }, ['a:A']);
    try {
      const failed = await run('v4fail.test', dns.server, '-4');
      expect(failed.code).toBe(3);
      expect(failed.stderr.trim()).toBe(
        'mailprobe: cannot resolve v4fail.test: DNS failed: the DNS server failed (SERVFAIL) for its A records (the addresses of its MX a.v4fail.test)',
      );
    } finally {
      dns.close();
    }
    // The preferred MX a as above, or with an AAAA record only; b has an A record (loopback, nothing on 25): b is
    // probed, and the report says why a is not.
    for (const [domain, failing, outcome, detail, line] of [
      [
        'v4pref.test',
        ['a:A'],
        'failed',
        'the DNS server failed (SERVFAIL) for its A records',
        'MX a.v4pref.test could not be resolved: DNS failed (the DNS server failed (SERVFAIL) for its A records): not probed',
      ],
      [
        'v6pref.test',
        [],
        'found',
        'no IPv4 address: not probed',
        'MX a.v6pref.test has addresses, but no IPv4 address: not probed',
      ],
    ] as const) {
      const both = await mxDns(domain, { a: '::1', b: '127.77.25.11' }, [...failing]);
      try {
        const json = await run(domain, both.server, '-4', '--json');
        const report = validReport<JsonReport>(json.stdout);
        expect(report.discovery?.mxAddresses).toEqual([
          { host: `a.${domain}`, outcome, detail },
          { host: `b.${domain}`, outcome: 'found' },
        ]);
        expect(report.hosts.map((h) => h.host)).toEqual([`b.${domain}`]);
        const human = await run(domain, both.server, '-4', '--no-color');
        expect(human.stdout).toContain(line);
      } finally {
        both.close();
      }
    }
  });

  it('hosts left out by --max-hosts were not looked up: exit 3 says so, not "none of its mail hosts"', async () => {
    // a, b: NXDOMAIN (b's lookup fails, SERVFAIL, for fail.cut.test); c: an A record (loopback, nothing on 25), past
    // --max-hosts 2, never looked up.
    for (const [domain, failing, said] of [
      ['cut.test', [], 'none of the 2 mail hosts looked up has an address (a.cut.test, b.cut.test)'],
      [
        'fail.cut.test',
        ['b'],
        'DNS failed: the DNS server failed (SERVFAIL) (the addresses of its MX b.fail.cut.test; no address: a.fail.cut.test)',
      ],
    ] as const) {
      const dns = await mxDns(domain, { a: undefined, b: undefined, c: '127.77.25.12' }, [...failing]);
      try {
        const cut = await run(domain, dns.server, '--max-hosts', '2');
        expect(cut.code).toBe(3);
        expect(cut.stderr.trim()).toBe(
          `mailprobe: cannot resolve ${domain}: ${said}; 1 more mail host was not looked up (over --max-hosts 2: a larger --max-hosts includes it)`,
        );
        // As it says: with --max-hosts 3, c is looked up and probed.
        const all = await run(domain, dns.server, '--max-hosts', '3', '--json');
        expect(validReport<JsonReport>(all.stdout).hosts.map((h) => h.host)).toEqual([`c.${domain}`]);
      } finally {
        dns.close();
      }
    }
  });
});
