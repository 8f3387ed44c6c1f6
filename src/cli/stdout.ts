/** process.stdout, made on first use, with a quiet end for a reader that has gone (shared by every entry). */

let guarded = false;

/** EX_IOERR (sysexits.h): the output could not be written. */
export const writeErrorExit = 74;

/** The one line and exit code of an output that cannot be written (a full disk, /dev/full, an I/O error). */
export function failWrite(what: string, error: unknown): never {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'error';
  try {
    process.stderr.write(`mailprobe: cannot write ${what} (${code})\n`);
  } catch {
    // stderr is gone too: the exit code still says it
  }
  process.exit(writeErrorExit);
}

/**
 * Output piped into `head` and the like: stop quietly when the reader goes away, never a stack trace; any other
 * write error (a full disk, `> /dev/full`) is one line on stderr and exit 74. The handler is installed when
 * process.stdout is first used: Node makes the stream then, which costs 2-5 ms (a pipe, a terminal or a file
 * stream), and a probe writes nothing before its sockets are open.
 */
export function guardStdout(): void {
  if (guarded) return;
  guarded = true;
  const install = (stdout: NodeJS.WriteStream) => {
    // A file on stdout is written synchronously (SyncWriteStream): its error reaches the write's callback at once,
    // but the 'error' event only on the next tick, after yargs' --help has already exited 0. So the callback ends
    // the run, whatever the stream.
    const stream = stdout as unknown as {
      _write?: (chunk: unknown, encoding: string, callback: (error?: Error | null) => void) => void;
    };
    const write = stream._write;
    const ended = (error: unknown) => {
      // The reader went away: end quietly with the run's own exit code, which the code that wrote may set just
      // after its write (the callback can come before that, in the same tick).
      if ((error as NodeJS.ErrnoException).code === 'EPIPE')
        setImmediate(() => process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0));
      else failWrite('to stdout', error);
    };
    if (typeof write === 'function')
      stream._write = function (this: unknown, chunk, encoding, callback) {
        try {
          write.call(this, chunk, encoding, (error) => (error ? ended(error) : callback(error)));
        } catch (error) {
          ended(error);
        }
      };
    stdout.on('error', ended);
  };
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
