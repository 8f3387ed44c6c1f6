/**
 * The CLI's one function, for the unbundled entry (main.ts) and the bundle the package's bin runs
 * (dist/cli/cli.cjs, no top-level await there). `--version` is answered before anything heavy loads.
 */
import { version } from '../version.js';
import { portsFast } from './ports-fast.js';
import { guardStdout } from './stdout.js';

export async function main(argv: string[]): Promise<void> {
  guardStdout();
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (await portsFast(argv)) return;
  const { run } = await import('./run.js');
  await run(argv);
}
