/**
 * `mailprobe ports` with nothing but its own flags (`--json`, `--color` or `--no-color`, each once) needs no option
 * parser: the same handler, without yargs. The package's bin runs this from a bundle of its own
 * (dist/cli/ports.cjs), so that line does not load the CLI bundle either; any other line goes on to the CLI.
 */
export async function portsFast(argv: string[]): Promise<boolean> {
  const rest = argv.slice(1);
  const colorFlags = rest.filter((arg) => arg === '--color' || arg === '--no-color');
  if (
    argv[0] !== 'ports' ||
    !rest.every((arg) => arg === '--json' || arg === '--color' || arg === '--no-color') ||
    new Set(rest).size !== rest.length ||
    colorFlags.length > 1
  )
    return false;
  guardStdout();
  const { handler } = await import('./ports-command.js');
  await handler({
    json: rest.includes('--json'),
    ...(colorFlags[0] ? { color: colorFlags[0] === '--color' } : {}),
  });
  return true;
}

let guarded = false;

/**
 * Output piped into `head` and the like: stop quietly when the reader goes away, never a stack trace. The
 * handler is installed when process.stdout is first used: Node makes the stream then, which costs 2-5 ms (a
 * pipe, a terminal or a file stream), and a probe writes nothing before its sockets are open.
 */
export function guardStdout(): void {
  if (guarded) return;
  guarded = true;
  const install = (stdout: NodeJS.WriteStream) =>
    stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw error;
    });
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
