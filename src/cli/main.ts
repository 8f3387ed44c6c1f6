#!/usr/bin/env node
/**
 * mailprobe's entry point. `--version` is answered before anything heavy loads, so it starts about as
 * fast as a bare `node`; everything else goes through yargs, loaded on demand.
 */
import { version } from '../version.js';

// Output piped into `head` and the like: stop quietly when the reader goes away, never a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  throw error;
});

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${version()}\n`);
} else {
  const { run } = await import('./run.js');
  await run(argv);
}
