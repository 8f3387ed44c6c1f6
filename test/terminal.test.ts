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
    expect(run.terminal).toContain(`probing 1 port · ${silent} waiting for greeting 0 s`);
    expect(run.terminal).toContain(`probing 1 port · ${silent} waiting for greeting 1 s`);
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
  it('names the unfinished ports, longest wait first, one entry per port, at most three', async () => {
    const { progressLine } = await import('../src/cli/spinner.js');
    const now = 10_000;
    expect(progressLine(0, 7, [], now)).toBe('probing 7 ports');
    expect(
      progressLine(
        6,
        7,
        [
          { port: 587, phase: 'capabilities', since: 9_500 },
          { port: 143, phase: 'greeting', since: 5_900 },
          { port: 143, phase: 'connect', since: 9_900 }, // the same port on another address: its longest wait shows
          { port: 25, phase: 'connect', since: 8_000 },
          { port: 110, phase: 'tls', since: 9_990 },
        ],
        now,
      ),
    ).toBe(
      'probing: 6/7 done · 143 waiting for greeting 4 s · 25 connecting 2 s · 587 waiting for capabilities 0 s · +1 more',
    );
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
      /^This is a demo.*\n.*\n127\.0\.0\.1 {2}→ {2}127\.0\.0\.1 {3}7 ports in \d+\.\d s\nworks from here/,
    );
    expect(run.stdout).not.toMatch(/findings|certificates| port {3}service/);
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
      const entries = text.split('\n').filter((line) => /cleartext-auth-before-tls {2}/.test(line));
      expect(entries).toHaveLength(1);
      for (const server of servers) expect(text).toContain(`${server.port} ${server.host}`);
    } finally {
      await Promise.all(servers.map((server) => server.close()));
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
