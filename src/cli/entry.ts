/**
 * The CLI's one function, for the unbundled entry (main.ts) and the bundle the package's bin runs
 * (dist/cli/cli.cjs, no top-level await there). `--version` is answered before anything heavy loads.
 */
import { version } from '../version.js';

export async function main(argv: string[]): Promise<void> {
  // Output piped into `head` and the like: stop quietly when the reader goes away, never a stack trace.
  whenStdoutMade((stdout) =>
    stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw error;
    }),
  );
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

/**
 * Runs `install` on process.stdout when something first uses it. Node makes the stream on first access, which
 * costs 2-5 ms (a pipe, a terminal or a file stream); a probe writes nothing before its sockets are open, so it
 * does not pay that before the first one.
 */
function whenStdoutMade(install: (stream: NodeJS.WriteStream) => void): void {
  const own = Object.getOwnPropertyDescriptor(process, 'stdout');
  const get = own?.get;
  if (!own || !get || !own.configurable) {
    install(process.stdout);
    return;
  }
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: own.enumerable ?? true,
    get() {
      // Node's own getter again (it keeps the stream it made), then the handler, once.
      Object.defineProperty(process, 'stdout', own);
      const stream = get.call(process) as NodeJS.WriteStream;
      install(stream);
      return stream;
    },
  });
}
