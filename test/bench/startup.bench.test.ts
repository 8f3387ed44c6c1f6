/**
 * Start-up: the shipped bin against a bare `node -e 0`, and the moment the first socket opens against a bare
 * `node` + `net.connect` script (with stderr on a terminal too, where the spinner must not come first).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { bin, figure, has, root, rounds, timeHere } from './common.js';

it('start-up of the shipped command, against node -e 0', () => {
  // Warm the code cache once per kind of run, as a user's second run finds it.
  for (const args of [
    ['--version'],
    ['ports'],
    ['--help'],
    ['127.0.0.1', '--ports', '25', '--timeout', '200'],
  ])
    spawnSync(process.execPath, [bin, ...args], { stdio: 'ignore' });
  const result = timeHere({
    rounds,
    repeat: 3,
    reference: [process.execPath, '-e', '0'],
    candidates: {
      version: [process.execPath, bin, '--version'],
      ports: [process.execPath, bin, 'ports'],
      help: [process.execPath, bin, '--help'],
      probe: [process.execPath, bin, '127.0.0.1', '--ports', '25', '--timeout', '200'],
    },
  });
  const lines = [
    `start-up (median of ${rounds} interleaved rounds, min of 3 each; node -e 0 = ${result.reference.toFixed(1)} ms):`,
    figure('mailprobe --version', result.version as { ms: number; ratio: number }, 1.1),
    figure('mailprobe ports', result.ports as { ms: number; ratio: number }, 1.3),
    figure('mailprobe --help', result.help as { ms: number; ratio: number }, 1.5),
    figure(
      'mailprobe 127.0.0.1 --ports 25 (refused), whole run',
      result.probe as { ms: number; ratio: number },
    ),
  ];
  console.log(lines.join('\n'));
  expect(result.reference).toBeGreaterThan(0);
});

/** ms from process start to the first client socket, the minimum of `repeat` runs. */
function firstSocket(args: string[], terminal: boolean, repeat = 3): number {
  const dir = mkdtempSync(join(tmpdir(), 'mailprobe-bench-'));
  const file = join(dir, 'first');
  try {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < repeat; i++) {
      writeFileSync(file, '');
      const command = [process.execPath, '--require', `${root}test/bench/first-socket-hook.cjs`, ...args];
      const env = { ...process.env, FIRST_SOCKET_FILE: file };
      if (terminal)
        spawnSync('python3', [`${root}test/bench/pty-run.py`, ...command], { env, stdio: 'ignore' });
      else spawnSync(command[0] as string, command.slice(1), { env, stdio: 'ignore' });
      const value = Number(readFileSync(file, 'utf8').split('\n')[0]);
      if (value > 0) best = Math.min(best, value);
    }
    return best;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it('first socket of a probe, against a bare node + net.connect script', () => {
  const floor = `${root}test/bench/first-socket-floor.mjs`;
  const probe = [bin, '127.0.0.1', '--ports', '25', '--timeout', '200'];
  const ratios: number[] = [];
  const terminalRatios: number[] = [];
  const floors: number[] = [];
  const terminal = has('python3');
  for (let round = 0; round < rounds; round++) {
    const base = firstSocket([floor], false);
    floors.push(base);
    ratios.push(firstSocket(probe, false) / base);
    // On a terminal, against the floor on a terminal too: node itself starts slower with a TTY on stderr.
    if (terminal) terminalRatios.push(firstSocket(probe, true) / firstSocket([floor], true));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  console.log(
    [
      `first socket (median of ${ratios.length} rounds; floor ${median(floors).toFixed(1)} ms after start):`,
      `  probe, stderr not a terminal               ratio ${median(ratios).toFixed(2)}  (target <= 1.3: ${median(ratios) <= 1.3 ? 'met' : 'NOT met'})`,
      terminal
        ? `  probe, stderr on a 120x40 terminal         ratio ${median(terminalRatios).toFixed(2)}  (target <= 1.3: ${median(terminalRatios) <= 1.3 ? 'met' : 'NOT met'})`
        : '  (no python3: the terminal run is skipped)',
    ].join('\n'),
  );
  expect(median(floors)).toBeGreaterThan(0);
});
