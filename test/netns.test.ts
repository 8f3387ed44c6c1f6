/**
 * What only a network can show: a port whose packets are dropped (filtered), a port answered by ICMP
 * unreachable, port 25 blocked on the way while 465 and 587 answer, and a host that does not resolve.
 * Each test builds its own namespace; nothing leaves it.
 */
import { appendFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Netns, netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';
import { validReport } from './helpers/schema.js';

const missing = netnsMissing();
if (missing && process.env.CI) {
  it('network namespace prerequisites', () => {
    throw new Error(`CI=true and the namespace tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping network namespace tests: ${missing}`);
}

const ca = new URL('../fixtures/tls/ca.pem', import.meta.url).pathname;
const made: Netns[] = [];
afterEach(() => {
  for (const netns of made.splice(0)) netns.destroy();
});

function netns(): Netns {
  const created = new Netns();
  made.push(created);
  return created;
}

/** Well-configured fixture servers on the real submission and relay ports, on both loopback addresses. */
const mailServers = ['127.0.0.1', '::1'].flatMap((host) => [
  { protocol: 'smtp', tls: 'starttls', port: 25, host },
  { protocol: 'smtp', tls: 'implicit', port: 465, host },
  { protocol: 'smtp', tls: 'starttls', port: 587, host },
]);

interface Report {
  hosts: {
    addresses: { address: string }[];
    ports: { port: number; address: string; status: string }[];
    findings: { id: string; port: number; detail: string }[];
  }[];
}

describe.skipIf(missing !== undefined)('in a network namespace', () => {
  beforeAll(sweepStaleNamespaces);

  it('port 25 dropped on the way while 465 and 587 answer: filtered, not refused, and diagnosed as a block in the path', async () => {
    const ns = netns();
    ns.exec('iptables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
    ns.exec('ip6tables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
    const run = await ns.scenario({
      servers: mailServers,
      cli: [
        'mail.test',
        '--ports',
        '25,465,587',
        '--ca',
        ca,
        '--servername',
        'localhost',
        '--timeout',
        '800',
        '--json',
      ],
    });
    expect(run.code, run.stderr).toBe(1);
    const host = validReport<Report>(run.stdout).hosts[0];
    expect(host?.addresses.map((a) => a.address).sort()).toEqual(['127.0.0.1', '::1']);
    for (const address of ['127.0.0.1', '::1']) {
      const status = (port: number) =>
        host?.ports.find((p) => p.port === port && p.address === address)?.status;
      expect([status(25), status(465), status(587)]).toEqual(['filtered', 'open', 'open']);
    }
    const blocked = host?.findings.filter((f) => f.id === 'port-25-blocked') ?? [];
    expect(blocked).toHaveLength(2);
    expect(blocked[0]?.detail).toMatch(/between you and the host drops port 25/);
    expect(host?.findings.map((f) => f.id)).not.toContain('port-closed');
  });

  describe('a filtered port decided early, with evidence', () => {
    const allSeven = ['127.0.0.1', '::1'].flatMap((host) => [
      ...mailServers.filter((server) => server.host === host),
      { protocol: 'imap', tls: 'starttls', port: 143, host },
      { protocol: 'imap', tls: 'implicit', port: 993, host },
      { protocol: 'pop3', tls: 'starttls', port: 110, host },
      { protocol: 'pop3', tls: 'implicit', port: 995, host },
    ]);
    const args = ['mail.test', '--ca', ca, '--servername', 'localhost', '--json'];
    interface Early {
      hosts: {
        ports: {
          port: number;
          address: string;
          status: string;
          filteredEarly?: { decidedAfterMs: number; synsSentAtMs: number[]; siblings: unknown[] };
        }[];
        findings: { id: string; evidence: string[] }[];
      }[];
    }

    /** One SYN to 993 in every `every` (the one at `packet`, 0-based) goes to `target`, in both families. */
    const nthSynTo993 = (ns: Netns, every: number, packet: number, target: 'ACCEPT' | 'DROP') => {
      for (const table of ['iptables', 'ip6tables'])
        ns.exec(
          table,
          '-A',
          'OUTPUT',
          '-p',
          'tcp',
          '--dport',
          '993',
          '--syn',
          '-m',
          'statistic',
          '--mode',
          'nth',
          '--every',
          String(every),
          '--packet',
          String(packet),
          '-j',
          target,
        );
    };

    it('port 25 dropped while every other port answers at once: filtered in about a second, not five', async () => {
      const ns = netns();
      ns.exec('iptables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
      ns.exec('ip6tables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
      const started = performance.now();
      const run = await ns.scenario({ servers: allSeven, cli: args });
      const elapsed = performance.now() - started;
      const host = validReport<Early>(run.stdout).hosts[0];
      for (const address of ['127.0.0.1', '::1']) {
        const port25 = host?.ports.find((p) => p.port === 25 && p.address === address);
        expect(port25?.status).toBe('filtered');
        expect(port25?.filteredEarly?.synsSentAtMs[0]).toBe(0);
        // Three extra SYNs at 0.25, 0.5 and 0.75 s, the other ports having answered at once.
        expect(port25?.filteredEarly?.synsSentAtMs).toHaveLength(4);
        // Node's timers count from libuv's loop time, cached at the start of the loop's turn: a timer of 250 ms
        // can fire a few ms less than 250 after the connect's own clock reading (249 was seen under load).
        expect(port25?.filteredEarly?.synsSentAtMs[1]).toBeGreaterThanOrEqual(240);
        expect(port25?.filteredEarly?.synsSentAtMs[3]).toBeGreaterThanOrEqual(740);
        expect(port25?.filteredEarly?.siblings).toHaveLength(12);
        expect(port25?.filteredEarly?.decidedAfterMs).toBeLessThan(2500);
        expect(
          host?.ports.filter((p) => p.address === address && p.port !== 25).every((p) => p.status === 'open'),
        ).toBe(true);
      }
      const finding = host?.findings.find((f) => f.id === 'port-25-blocked');
      expect(finding?.evidence.join('\n')).toMatch(/the other ports answered their first SYN/);
      // The connect deadline is 5 s: deciding early took a fraction of it (the run includes node's start).
      expect(elapsed).toBeLessThan(4500);
      const slow = await ns.scenario({ servers: allSeven, cli: [...args, '--no-fast-filtered'] });
      const waited = validReport<Early>(slow.stdout).hosts[0]?.ports.find((p) => p.port === 25);
      expect(waited?.status).toBe('filtered');
      expect(waited?.filteredEarly).toBeUndefined();
    });

    it('a port whose first SYN is lost answers the extra one: open, never filtered', async () => {
      const ns = netns();
      // Drop every other SYN to 993: the first attempt's SYN is lost, the first extra one (0.25 s) gets through.
      nthSynTo993(ns, 2, 0, 'DROP');
      const run = await ns.scenario({ servers: allSeven, cli: args });
      const host = validReport<Early>(run.stdout).hosts[0];
      for (const port of host?.ports ?? []) expect(port.status, `${port.port} ${port.address}`).toBe('open');
    });

    it('a port whose first three SYNs are all lost answers the third extra one: open, never filtered', async () => {
      const ns = netns();
      // Of every four SYNs to 993 only the fourth gets through: the first (0 s) and the extra ones at 0.25 and
      // 0.5 s are lost, the one at 0.75 s is answered. With one extra SYN only (at 0.5 s), the fourth SYN would
      // have been the kernel's retry of the extra one at 1.5 s, after the early verdict at about 1.2 s.
      nthSynTo993(ns, 4, 3, 'ACCEPT');
      for (const table of ['iptables', 'ip6tables'])
        ns.exec(table, '-A', 'OUTPUT', '-p', 'tcp', '--dport', '993', '--syn', '-j', 'DROP');
      const run = await ns.scenario({ servers: allSeven, cli: args });
      const host = validReport<Early>(run.stdout).hosts[0];
      for (const port of host?.ports ?? []) expect(port.status, `${port.port} ${port.address}`).toBe('open');
    });

    it('two ports dropped: no port answered for the other, so no early verdict (the full deadline)', async () => {
      const ns = netns();
      for (const table of ['iptables', 'ip6tables']) {
        ns.exec(table, '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
        ns.exec(table, '-A', 'OUTPUT', '-p', 'tcp', '--dport', '110', '-j', 'DROP');
      }
      const run = await ns.scenario({ servers: allSeven, cli: [...args, '--timeout', '1500'] });
      const host = validReport<Early>(run.stdout).hosts[0];
      for (const port of host?.ports.filter((p) => p.port === 25 || p.port === 110) ?? []) {
        expect(port.status).toBe('filtered');
        expect(port.filteredEarly).toBeUndefined();
      }
    });
  });

  it("the README's CI example: its expectations file passes on a host that behaves, and fails when 465 goes", async () => {
    const expectFile = new URL('../examples/mailprobe.expect.json', import.meta.url).pathname;
    const good = [
      { protocol: 'smtp', tls: 'starttls', port: 25, host: '127.0.0.1' },
      { protocol: 'smtp', tls: 'starttls', port: 587, host: '127.0.0.1' },
      { protocol: 'smtp', tls: 'implicit', port: 465, host: '127.0.0.1' },
      { protocol: 'imap', tls: 'implicit', port: 993, host: '127.0.0.1' },
    ];
    const args = [
      'mail.test',
      '-4',
      '--expect-file',
      expectFile,
      '--ca',
      ca,
      '--servername',
      'localhost',
      '--timeout',
      '800',
      '--format',
      'junit',
    ];
    const ns = netns();
    const pass = await ns.scenario({ servers: good, cli: args });
    expect(pass.code, pass.stdout).toBe(0);
    expect(pass.stdout).toMatch(/<testsuite name="mail\.test" tests="\d+" failures="0"/);
    const fail = await ns.scenario({ servers: good.filter((server) => server.port !== 465), cli: args });
    expect(fail.code).toBe(1);
    expect(fail.stdout).toContain('message="expected tls=implicit, observed no TLS verdict (refused)"');
  });

  it('a port answered by ICMP host-unreachable is reported unreachable', async () => {
    const ns = netns();
    ns.exec(
      'iptables',
      '-A',
      'INPUT',
      '-p',
      'tcp',
      '--dport',
      '110',
      '-j',
      'REJECT',
      '--reject-with',
      'icmp-host-unreachable',
    );
    const run = await ns.scenario({
      servers: [],
      cli: ['127.0.0.1', '--ports', '110', '--timeout', '800', '--json'],
    });
    const host = validReport<Report>(run.stdout).hosts[0];
    expect(host?.ports[0]?.status).toBe('unreachable');
    expect(host?.findings.map((f) => f.id)).toEqual(['no-port-works', 'port-unreachable']);
  });

  it('no IPv6 route on this machine: said once as a note, never as findings about the server', async () => {
    const ns = netns();
    // Only loopback is up: 2001:db8::10 has no route, so the local stack refuses the connect at once.
    appendFileSync(`/etc/netns/${ns.name}/hosts`, '127.0.0.1 dual.test\n2001:db8::10 dual.test\n');
    const run = await ns.scenario({
      servers: [{ protocol: 'smtp', tls: 'starttls', port: 587, host: '127.0.0.1' }],
      cli: [
        'dual.test',
        '--ports',
        '587',
        '--ca',
        ca,
        '--servername',
        'localhost',
        '--timeout',
        '800',
        '--json',
      ],
    });
    const host = validReport<Report & { hosts: { notes?: string[] }[] }>(run.stdout).hosts[0];
    const v6 = host?.ports.find((port) => port.address === '2001:db8::10');
    expect(v6?.status).toBe('local-error');
    expect(host?.ports.find((port) => port.address === '127.0.0.1')?.status).toBe('open');
    expect(host?.findings.map((f) => f.id)).toEqual([]);
    expect(host?.notes).toEqual([
      'IPv6 not tested from here: this machine has no IPv6 route (2001:db8::10); mail clients here fall back to the other family',
    ]);
    expect(run.code).toBe(0);
  });

  it('a closed port is refused, not filtered; a host where nothing works fails the run', async () => {
    const ns = netns();
    const run = await ns.scenario({
      servers: [],
      cli: ['127.0.0.1', '--ports', '587', '--timeout', '800', '--json'],
    });
    expect(run.code).toBe(1);
    expect(validReport<Report>(run.stdout).hosts[0]?.findings.map((f) => f.id)).toEqual([
      'no-port-works',
      'port-closed',
    ]);
    expect(validReport<Report>(run.stdout).hosts[0]?.ports[0]?.status).toBe('refused');
  });

  it('an unresolvable host exits 3 with one line', async () => {
    const ns = netns();
    const run = await ns.scenario({ servers: [], cli: ['no-such-host.invalid'] });
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^mailprobe: cannot resolve no-such-host\.invalid/);
    expect(run.stdout).toBe('');
  });
});
