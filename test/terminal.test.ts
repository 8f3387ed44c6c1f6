/**
 * On a terminal, as people run it: a pseudo-terminal (test/helpers/terminal.py) as the controlling terminal. Ctrl-C
 * typed on it stops the run at once with what was seen so far (exit 130), the spinner never takes stdin, and a
 * terminal that reports 0 columns gets no spinner (ora loops forever there).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cli, mainScript, root } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';

function hasPython(): string | undefined {
  try {
    execFileSync('python3', ['-c', 'import pty'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs python3 (its pty module stands in for a terminal)';
  }
}
const missing = hasPython();
if (missing && process.env.CI) {
  it('terminal test prerequisites', () => {
    throw new Error(`CI=true and the terminal tests cannot run: ${missing}`);
  });
} else if (missing) console.warn(`skipping the terminal tests: ${missing}`);

interface PtyRun {
  code: number;
  seconds: number;
  stdout: string;
  terminal: string;
}
function onTerminal(spec: {
  columns: number;
  rows?: number;
  interruptAfter?: number;
  command: string[];
  env?: Record<string, string>;
  unsetEnv?: string[];
}): PtyRun {
  return JSON.parse(
    execFileSync('python3', [`${root}test/helpers/terminal.py`, JSON.stringify(spec)], {
      encoding: 'utf8',
      timeout: 60_000,
    }),
  ) as PtyRun;
}

const { raw } = fixtureServers();

describe.skipIf(missing !== undefined)('on a terminal', () => {
  it('Ctrl-C stops the run within a fraction of a second, prints what was seen, marked interrupted, and exits 130', async () => {
    const silent = await raw(() => {}); // accepts and never greets: the probe would wait its whole deadline
    const run = onTerminal({
      columns: 120,
      interruptAfter: 0.8,
      command: [process.execPath, mainScript, '127.0.0.1', '--port', `${silent}=submission`],
      unsetEnv: ['CI'],
    });
    expect(run.code).toBe(130);
    expect(run.seconds).toBeLessThan(1.5);
    expect(run.stdout).toMatch(/interrupted \(Ctrl-C\)/);
    expect(run.stdout).toMatch(/aborted/);
    // The partial report ends with its recap line, marked interrupted.
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^FAILED \(interrupted\) · /);
    // The spinner ran (stderr is the terminal) and gave the cursor back.
    expect(run.terminal).toMatch(/probing/);
    expect(run.terminal).toContain('\u001b[?25h');
  });

  it('the spinner says what each unfinished port waits for, and for how long', async () => {
    const silent = await raw(() => {}); // accepts and never greets
    const run = onTerminal({
      columns: 120,
      command: [
        process.execPath,
        mainScript,
        '127.0.0.1',
        '--port',
        `${silent}=submission`,
        '--timeout',
        '1600',
        '--no-color',
      ],
      unsetEnv: ['CI'],
    });
    // Redrawn every second while the greeting is awaited.
    const waiting = `probing 1 port · waiting for ${silent} (submission) greeting`;
    expect(run.terminal).toContain(`${waiting}: 0 s of 1.6 s — ^C for a partial report`);
    expect(run.terminal).toContain(`${waiting}: 1 s of 1.6 s — ^C for a partial report`);
    expect(run.stdout).toMatch(/silent/);
  });

  it('a terminal that reports 0 columns gets no spinner, and the run ends', async () => {
    const silent = await raw((socket) => setTimeout(() => socket.end('220 late\r\n'), 400));
    const run = onTerminal({
      columns: 0,
      rows: 0,
      command: [
        process.execPath,
        mainScript,
        '127.0.0.1',
        '--port',
        `${silent}=submission`,
        '--timeout',
        '1000',
      ],
    });
    expect(run.seconds).toBeLessThan(20);
    expect(run.terminal).not.toMatch(/probing/);
  });
});

describe('the spinner line', () => {
  const waits = [
    { port: 587, service: 'submission', phase: 'capabilities' as const, since: 9_500, deadlineMs: 5000 },
    { port: 143, service: 'imap', phase: 'greeting' as const, since: -2_000, deadlineMs: 30_000 },
    // the same port on another address: its longest wait shows
    { port: 143, service: 'imap', phase: 'connect' as const, since: 9_900, deadlineMs: 5000 },
    { port: 25, service: 'smtp', phase: 'connect' as const, since: 8_000, deadlineMs: 5000 },
    { port: 110, service: 'pop3', phase: 'tls' as const, since: 9_990, deadlineMs: 1600 },
  ];

  it('names the unfinished ports with their service and deadline, longest wait first, at most three, and ^C', async () => {
    const { progressLine } = await import('../src/cli/spinner.js');
    const now = 10_000;
    expect(progressLine(0, 7, [], now)).toBe('probing 7 ports — ^C for a partial report');
    expect(progressLine(0, 7, [], now, 20)).toBe('probing 7 ports');
    expect(progressLine(6, 7, waits, now)).toBe(
      'probing: 6/7 done · waiting for 143 (imap) greeting: 12 s of 30 s · connecting to 25 (smtp): 2 s of 5 s · ' +
        'waiting for 587 (submission) capabilities: 0 s of 5 s · +1 more — ^C for a partial report',
    );
    expect(progressLine(6, 7, waits.slice(4), now)).toBe(
      'probing: 6/7 done · TLS handshake on 110 (pop3): 0 s of 1.6 s — ^C for a partial report',
    );
  });

  it('fits the room it has, dropping parts (never wrapping), down to a cut line', async () => {
    const { progressLine } = await import('../src/cli/spinner.js');
    const now = 10_000;
    const at = (room: number) => progressLine(6, 7, waits, now, room);
    for (let room = 1; room <= 200; room++) expect([...at(room)].length).toBeLessThanOrEqual(room);
    expect(at(140)).toBe(
      'probing: 6/7 done · waiting for 143 (imap) greeting: 12 s of 30 s · connecting to 25 (smtp): 2 s of 5 s · +2 more — ^C for a partial report',
    );
    expect(at(85)).toBe('waiting for 143 (imap) greeting: 12 s of 30 s · +3 more — ^C for a partial report');
    expect(at(77)).toBe('waiting for 143 (imap) greeting: 12 s of 30 s · +3 more');
    expect(at(40)).toBe('waiting for 143 greeting: 12 s · +3 more');
    expect(at(30)).toBe('probing: 6/7 done');
    expect(at(10)).toBe('probing: …');
  });

  it('a phase waits out its own deadline, or what is left of the port deadline when that ends first', async () => {
    const { phaseDeadline } = await import('../src/cli/spinner.js');
    const { defaultLimits } = await import('../src/limits.js');
    expect(phaseDeadline('greeting', defaultLimits, 0, 1000)).toBe(30_000);
    expect(phaseDeadline('capabilities', defaultLimits, 0, 1000)).toBe(5000);
    expect(phaseDeadline('greeting', { ...defaultLimits, portMs: 20_000 }, 0, 1000)).toBe(19_000);
    expect(phaseDeadline('dns', defaultLimits, 0, 0)).toBeUndefined();
  });
});

describe('the egress spinner line and report', () => {
  const progress = {
    hosts: 4,
    total: 8,
    done: 1,
    timeoutMs: 5000,
    controlPort: 443,
    trying: [
      { host: 'mx1.mail.icloud.com', address: '17.57.154.33', step: 'smtp' as const, since: 9_000 },
      {
        host: 'gmail-smtp-in.l.google.com',
        address: '2a00:1450:400c:c0b::1a',
        step: 'connect' as const,
        since: 7_000,
      },
      { host: 'mta5.am0.yahoodns.net', address: '67.195.204.72', step: 'connect' as const, since: 9_500 },
    ],
  };

  it('names the host, the ports tried and the deadline, longest first, and fits the room it has', async () => {
    const { egressLine } = await import('../src/cli/spinner.js');
    const at = (room?: number) => egressLine(progress, 10_000, room);
    expect(egressLine({ ...progress, total: undefined }, 10_000)).toBe('egress: looking up 4 mail hosts');
    expect(at()).toBe(
      'egress: 1/8 done · trying 25 and 443 on gmail-smtp-in.l.google.com (2a00:1450:400c:c0b::1a): 3 s of 5 s · ' +
        'SMTP dialogue on 25 of mx1.mail.icloud.com (17.57.154.33): 1 s of 20 s · +1 more',
    );
    for (let room = 1; room <= 200; room++) expect([...at(room)].length).toBeLessThanOrEqual(room);
    expect(at(90)).toBe(
      'egress: 1/8 done · trying 25 and 443 on gmail-smtp-in.l.google.com: 3 s of 5 s · +2 more',
    );
    expect(at(77)).toBe('egress: 1/8 done · trying gmail-smtp-in.l.google.com: 3 s · +2 more');
    expect(at(30)).toBe('egress: 1/8 done');
  });

  it('the human report fits 80 columns with long host names, IPv6 addresses, greetings and reasons', async () => {
    const { renderEgressHuman } = await import('../src/render/egress.js');
    const { defaultEgressHosts } = await import('../src/modes/egress.js');
    const text = renderEgressHuman(
      {
        conclusion: 'intercepted',
        summary: `outbound port 25 is intercepted on this network: ${defaultEgressHosts.join(', ')}`,
        controlPort: 443,
        families: [],
        hosts: defaultEgressHosts.map((host, i) => ({
          host,
          address: `2001:db8:ffff:ffff:ffff:ffff:ffff:${i}`,
          family: 6 as const,
          port25: 'connected' as const,
          control: 'connected' as const,
          smtp: {
            status: 'open' as const,
            greeting: `220 relay.isp.example ESMTP Postfix (Debian/GNU) ready ${'x'.repeat(80)}`,
          },
          evidence: 'intercepted' as const,
          why: [
            '25 reached the host',
            `the certificate (CN=relay.isp.example) is not valid for ${host}`,
            'the same greeting as the other hosts',
          ],
        })),
      },
      { color: false },
    );
    const lines = text.split('\n');
    expect(lines.filter((line) => [...line].length > 80)).toEqual([]);
    for (const host of defaultEgressHosts)
      expect(lines.some((line) => line.startsWith(` ${host}  `))).toBe(true);
    expect(text).toContain('2001:db8:ffff:ffff:ffff:ffff:ffff:0 · intercepted: 25 reached the host');
  });

  it("a shared certificate's fingerprint is shortened and a long greeting is cut: 80 columns; JSON keeps it whole", async () => {
    const { renderEgressHuman, renderEgressJson } = await import('../src/render/egress.js');
    const { concludeEgress, concludeFamily, hostEvidence } = await import('../src/modes/egress.js');
    const fingerprint = Array.from({ length: 32 }, (_, i) => (0xa0 + i).toString(16).toUpperCase()).join(':');
    const greeting = `220 relay.isp.example-${'x'.repeat(90)}`;
    const hosts = ['mx1.test', 'mx2.test', 'mx3.test'].map((host, i) => {
      const observed = {
        host,
        address: `127.0.0.3${i + 1}`,
        family: 4 as const,
        port25: 'connected' as const,
        control: 'connected' as const,
        smtp: {
          status: 'open' as const,
          greeting,
          starttls: true,
          certificate: fingerprint,
          certificateSubject: 'CN=relay.isp.example',
          nameMatches: false,
        },
      };
      return { ...observed, ...hostEvidence(observed) };
    });
    const family = { family: 4 as const, ...concludeFamily(hosts) };
    const result = { ...concludeEgress([family]), controlPort: 443, families: [family], hosts };
    expect(result.conclusion).toBe('intercepted');
    const text = renderEgressHuman(result, { color: false });
    expect(text.split('\n').filter((line) => [...line].length > 80)).toEqual([]);
    expect(text.replace(/\n */g, ' ')).toContain(
      `the same certificate as mx2.test, mx3.test: ${fingerprint.slice(0, 23)}…`,
    );
    expect(text).not.toContain(fingerprint);
    const json = JSON.parse(renderEgressJson(result)) as { egress: typeof result };
    expect(json.egress.hosts.map((h) => h.smtp.certificate)).toEqual(Array(3).fill(fingerprint));
  });
});

describe('the report, shaped for a person', () => {
  for (const columns of [80, 120]) {
    it(`at ${columns} columns no line is wider than the terminal, and the first lines carry the verdict`, async () => {
      for (const extra of [[], ['--verbose']]) {
        const run = await cli(['demo', '--no-color', ...extra], { COLUMNS: String(columns) });
        const all = run.stdout.split('\n');
        const wide = all.filter((line) => [...line].length > columns);
        expect(wide, wide.join('\n')).toEqual([]);
        // The demo's banner (two lines, tested below), then the report.
        expect(all[0]).toMatch(/^This is a demo/);
        const lines = all.slice(2);
        expect(lines[0]).toMatch(/^127\.0\.0\.1 {2}→/);
        expect(lines[1]).toMatch(/^works from here: 6 of 7 ports · safe: 4 of 7/);
        expect(lines.slice(1, 5).join(' ')).toMatch(/use: sending \d+ \(STARTTLS\)/);
        expect(run.stdout).toMatch(/fix first:\n - password authentication is offered before TLS/);
      }
    });
  }

  it('--quiet prints the verdict lines only', async () => {
    const run = await cli(['demo', '--no-color', '--quiet']);
    expect(run.stdout).toMatch(
      /^This is a demo.*\n.*\n127\.0\.0\.1 {2}→ {2}127\.0\.0\.1 {3}7 ports in (?:\d+ ms|\d+\.\d s)\nworks from here/,
    );
    expect(run.stdout).not.toMatch(/findings|certificates| port {3}service/);
  });

  it('the header gives a run under a second in ms (never "0.0 s"), a longer one in seconds', async () => {
    const { judge } = await import('../src/rules/judge.js');
    const { renderHuman } = await import('../src/render/human.js');
    const header = (durationMs: number) => {
      const host = {
        host: 'localhost',
        servername: 'localhost',
        addresses: [{ address: '127.0.0.1', family: 4 as const }],
        resolveMs: 0,
        startedAt: new Date().toISOString(),
        durationMs,
        ports: [],
      };
      const [verdict] = judge([host]).hosts;
      if (!verdict) throw new Error('no verdict');
      return renderHuman(verdict, { color: false })
        .split('\n')
        .find((line) => line.includes('→'));
    };
    expect(header(40.4)).toMatch(/ports? in 40 ms$/);
    expect(header(999.4)).toMatch(/ in 999 ms$/);
    expect(header(999.6)).toMatch(/ in 1\.0 s$/);
    expect(header(1234)).toMatch(/ in 1\.2 s$/);
  });

  it('one finding on several ports and addresses is one entry that lists them all', async () => {
    const { judge } = await import('../src/rules/judge.js');
    const { renderHuman } = await import('../src/render/human.js');
    const { probe } = await import('./helpers/probe.js');
    const { startFixture } = await import('../src/demo/servers.js');
    const servers = await Promise.all(
      ['127.0.0.1', '::1'].flatMap((host) =>
        [0, 1].map(() => startFixture({ protocol: 'imap', tls: 'starttls', authBeforeTls: true, host })),
      ),
    );
    try {
      const results = await Promise.all(
        servers.map((server) => probe(server.port, 'imap', { address: server.host })),
      );
      const host = {
        host: 'localhost',
        servername: 'localhost',
        addresses: [
          { address: '127.0.0.1', family: 4 as const },
          { address: '::1', family: 6 as const },
        ],
        resolveMs: 0,
        startedAt: new Date().toISOString(),
        durationMs: 1,
        ports: results,
      };
      const [verdict] = judge([host]).hosts;
      if (!verdict) throw new Error('no verdict');
      const text = renderHuman(verdict, { color: false });
      const entries = text.split('\n').filter((line) => /high +cleartext-auth-before-tls on /.test(line));
      expect(entries).toHaveLength(1);
      for (const server of servers) expect(text).toContain(`${server.port} ${server.host}`);
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  });

  it('a long host name, servername and address list fold within 80 columns, every fact still there', async () => {
    const { judge } = await import('../src/rules/judge.js');
    const { renderHuman } = await import('../src/render/human.js');
    const { probe } = await import('./helpers/probe.js');
    const { startFixture } = await import('../src/demo/servers.js');
    const server = await startFixture({ protocol: 'smtp', tls: 'starttls' });
    try {
      const label = (c: string) => c.repeat(60);
      const name = `${label('a')}.${label('b')}.${label('c')}.example`; // 190 characters, a valid name
      const v6 = Array.from({ length: 6 }, (_, i) => `2001:db8:ffff:ffff:ffff:ffff:ffff:${i + 1}`);
      const result = await probe(server.port, 'submission');
      const host = {
        host: name,
        servername: name,
        addresses: [
          { address: '127.0.0.1', family: 4 as const },
          ...v6.map((address) => ({ address, family: 6 as const })),
        ],
        resolveMs: 0,
        startedAt: new Date().toISOString(),
        durationMs: 1,
        // The same port on a long IPv6 address too: the table's address column is as wide as it.
        ports: [result, { ...result, address: v6[0] ?? '', family: 6 as const }],
      };
      const [verdict] = judge([host]).hosts;
      if (!verdict) throw new Error('no verdict');
      for (const verbose of [false, true]) {
        const text = renderHuman(verdict, { color: false, width: 80, verbose });
        const wide = text.split('\n').filter((line) => [...line].length > 80);
        expect(wide, text).toEqual([]);
        // Folded, not cut: the name and each address whole once the line breaks are taken out; the settings.
        const flat = text.replace(/\s+/g, '');
        expect(flat.startsWith(`${name}→127.0.0.1,`)).toBe(true);
        for (const address of v6) expect(flat).toContain(address);
        expect(flat).toContain(`outgoing${name},port${server.port},SMTP,STARTTLS`);
        expect(text).toMatch(
          new RegExp(`^ ${server.port} +2001:db8:ffff:ffff:ffff:ffff:ffff:1 +submission +✓ +✓$`, 'm'),
        );
        expect(flat).toContain('STARTTLS→TLS1.3·certok');
      }
    } finally {
      await server.close();
    }
  });

  it('batch with no FILE on a terminal says to give one, instead of waiting for typed targets (exit 2)', () => {
    const run = onTerminal({
      columns: 100,
      command: [process.execPath, mainScript, 'batch'],
      unsetEnv: ['CI'],
    });
    expect(run.code).toBe(2);
    expect(run.seconds).toBeLessThan(10);
    expect(run.terminal).toMatch(/batch: give a target FILE, or pipe targets on stdin/);
  });
});
