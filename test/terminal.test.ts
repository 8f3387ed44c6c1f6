/**
 * On a terminal, as people run it: a pseudo-terminal (test/helpers/terminal.py) as the controlling terminal. Ctrl-C
 * typed on it stops the run at once with what was seen so far (exit 130), the spinner never takes stdin, and a
 * terminal that reports 0 columns gets no spinner (ora loops forever there).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mainScript, root } from './helpers/cli.js';
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
}

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
