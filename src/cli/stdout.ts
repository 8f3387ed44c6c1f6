/** process.stdout, made on first use, with a quiet end for a reader that has gone (shared by every entry). */

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
