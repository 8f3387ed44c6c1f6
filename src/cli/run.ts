/** The command line: yargs, the commands, and one line on stderr with a documented exit code for every error. */
import yargs from 'yargs';
import { errorCode, ResolveError, UsageError } from '../errors.js';
import { version } from '../version.js';
import * as demo from './demo-command.js';
import * as egress from './egress-command.js';
import { exitCodes, fail } from './exit.js';
import { reportFilesIn, writeFailureReports } from './files.js';
import * as ports from './ports-command.js';
import * as probe from './probe-command.js';

/** Parses the command line and runs a command. Errors end as one line on stderr and a documented exit code. */
export async function run(argv: string[]): Promise<void> {
  const parser = yargs(argv)
    .scriptName('mailprobe')
    .usage(
      "$0 <host> [options]\n\nProbe a mail host's SMTP, IMAP and POP3 ports and tell what works and what is safe.",
    )
    .command(demo)
    .command(egress)
    .command(ports)
    .command(probe)
    .version(version())
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .strict()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .epilogue(
      'exit codes: 0 no finding of severity high or above, 1 at least one, 2 bad usage or input, 3 host not resolvable',
    )
    .fail((message, error) => {
      if (error) throw error;
      // yargs' own wording for a missing positional names no argument; say which one.
      throw new UsageError(
        /^Not enough non-option arguments/.test(message)
          ? 'missing <host> (or a command: demo, ports)'
          : message,
      );
    });
  try {
    await parser.parseAsync();
  } catch (error) {
    // By code, not instanceof: the engine may come from a bundle of its own, with its own copies of the classes.
    const kind = errorCode(error);
    const text = error instanceof Error ? error.message : String(error);
    const [message, code] =
      kind === new UsageError('').code
        ? [`${text} (see mailprobe --help)`, exitCodes.usage]
        : kind === new ResolveError('', '').code
          ? [text, exitCodes.resolve]
          : [`internal error: ${text}`, 70];
    fail(message, code);
    // A CI dashboard must not keep showing the previous run's green report: the requested files say why.
    await writeFailureReports(reportFilesIn(argv), message, code);
  }
}
