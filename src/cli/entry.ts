/**
 * The CLI's one function, for the unbundled entry (main.ts) and the bundle the package's bin runs
 * (dist/cli/cli.cjs, no top-level await there). `--version` is answered before anything heavy loads.
 */
import { version } from '../version.js';

export async function main(argv: string[]): Promise<void> {
  // Output piped into `head` and the like: stop quietly when the reader goes away, never a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw error;
  });
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${version()}\n`);
    return;
  }
  // `mailprobe ports` with nothing but its own flags needs no option parser: the same handler, without yargs.
  const rest = argv.slice(1);
  const colorFlags = rest.filter((arg) => arg === '--color' || arg === '--no-color');
  if (
    argv[0] === 'ports' &&
    rest.every((arg) => arg === '--json' || arg === '--color' || arg === '--no-color') &&
    new Set(rest).size === rest.length &&
    colorFlags.length <= 1
  ) {
    const { handler } = await import('./ports-command.js');
    await handler({
      json: rest.includes('--json'),
      ...(colorFlags[0] ? { color: colorFlags[0] === '--color' } : {}),
    });
    return;
  }
  const { run } = await import('./run.js');
  await run(argv);
}
