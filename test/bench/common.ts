/** Shared by the benchmarks: paths, the interleaved timer, and how figures are printed. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
/** The shipped command: the package's bin, which runs the CLI bundle with its code cache. */
export const bin = `${root}bin/mailprobe.cjs`;
export const timer = `${root}test/bench/timer.mjs`;
export const rounds = Number(process.env.BENCH_ROUNDS ?? 15);

export interface Timed {
  reference: number;
  [name: string]: number | { ms: number; ratio: number };
}

/** Runs the interleaved timer here (not in a namespace). */
export function timeHere(spec: object): Timed {
  return JSON.parse(
    execFileSync(process.execPath, [timer, JSON.stringify(spec)], { encoding: 'utf8' }),
  ) as Timed;
}

/** Prints one figure: its time, its ratio to the reference, and the target when there is one. */
export function figure(label: string, entry: { ms: number; ratio: number }, target?: number): string {
  const mark =
    target === undefined
      ? ''
      : entry.ratio <= target
        ? `  (target <= ${target}: met)`
        : `  (target <= ${target}: NOT met)`;
  return `  ${label.padEnd(44)} ${entry.ms.toFixed(1).padStart(8)} ms   ratio ${entry.ratio.toFixed(2)}${mark}`;
}

/** Is a program installed? */
export function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
