/** The command line: yargs, the commands, and one line on stderr with a documented exit code for every error. */
import yargs from 'yargs';
import { errorCode, ResolveError, UsageError } from '../errors.js';
import { version } from '../version.js';
import * as batch from './batch-command.js';
import * as demo from './demo-command.js';
import * as egress from './egress-command.js';
import { exitCodes, fail } from './exit.js';
import { reportFilesIn, writeFailureReports } from './files.js';
import * as ports from './ports-command.js';
import * as probe from './probe-command.js';
import * as publish from './publish-command.js';
import * as serve from './serve-command.js';

/** Every long option of every command, for "did you mean" (yargs' root instance does not know the commands'). */
const optionNames = [
  'ports',
  'port',
  'timeout',
  'json',
  'format',
  'junit',
  'markdown',
  'fail-on',
  'expect',
  'expect-file',
  'ca',
  'servername',
  'ehlo-name',
  'check',
  'limit',
  'concurrency',
  'all-addresses',
  'dns-server',
  'discover',
  'per-host',
  'max-hosts',
  'deadline',
  'fast-filtered',
  'no-fast-filtered',
  'verbose',
  'color',
  'no-color',
  'quiet',
  'help',
  'version',
  'via',
  'control-port',
  'listen',
  'max-concurrent',
  'min-interval',
  'allow',
  'allow-any',
  'host-name',
  'grace',
  'shard',
  'per-address',
  'address-interval',
  'workers',
  'resume',
  'web',
  'no-web',
  'ispdb',
  'no-ispdb',
];

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length] ?? 0;
}

/** The known option closest to `word`, when one is close enough to be what was meant. */
export function closest(word: string, known: string[]): string | undefined {
  const ranked = known
    .filter((name) => name.length > 1)
    .map((name) => ({ name, d: distance(word.toLowerCase(), name.toLowerCase()) }))
    .sort((a, b) => a.d - b.d);
  const best = ranked[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) && best.d < word.length
    ? best.name
    : undefined;
}

/** yargs' messages, as one line that names the option and, for a typo, what was probably meant. */
function oneLine(message: string, known: string[], args: string[]): string {
  // yargs' own wording for a missing positional names no argument; say which one.
  if (/^Not enough non-option arguments/.test(message))
    return args[0] === 'publish'
      ? 'publish: missing <domain>'
      : 'missing <host> (or a command: demo, ports, egress, serve, batch, publish)';
  if (/^Too many non-option arguments/.test(message))
    return 'one <host> at a time (a command comes first: demo, ports, egress, serve, batch, publish)';
  const unknown = /^Unknown arguments?: (.*)$/s.exec(message);
  if (unknown?.[1]) {
    const words = unknown[1].split(', ').map((word) => word.trim().replace(/^-+/, ''));
    // yargs names an unknown option and a word too many alike; the command line tells them apart.
    const given = (word: string) =>
      args.some((arg) => arg === `-${word}` || arg === `--${word}` || arg.startsWith(`--${word}=`));
    const extra = words.filter((word) => !given(word) && args.includes(word));
    const options = words.filter((word) => !extra.includes(word));
    const parts = [];
    if (options.length > 0)
      parts.push(
        `unknown option${options.length > 1 ? 's' : ''} ${options
          .map((word) => {
            const guess = closest(word, known);
            return `--${word}${guess ? ` (did you mean --${guess}?)` : ''}`;
          })
          .join(', ')}`,
      );
    if (extra.length > 0)
      parts.push(
        `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((word) => `'${word}'`).join(', ')}`,
      );
    return parts.join('; ');
  }
  const invalid = /Argument: ([^,]+), Given: ("[^"]*"|\S+), Choices: (.*)$/s.exec(message);
  if (invalid) {
    const choices = (invalid[3] ?? '').replace(/"/g, '').replace(/\s+/g, ' ').trim();
    return `--${invalid[1]}: ${invalid[2]?.replace(/"/g, "'")} is not one of ${choices}`;
  }
  return message.replace(/\s*\n\s*/g, '; ');
}

/** The words that name the commands besides the probe. */
const commandWords = [batch, demo, egress, ports, publish, serve].map(
  (command) => command.command.split(' ')[0] ?? '',
);

/**
 * A command line with no command word and no --help or --version: `mailprobe <host> [options]`. Parsed by yargs
 * with the probe's options at the top level (the host is its one non-option argument), not through the default
 * command, which makes yargs register every command and parse the line three times: about 3 ms before the
 * probe's first socket. Any other line goes to everyCommand, which knows them all.
 */
function namesNoCommand(args: string[]): boolean {
  return !args.some(
    (arg) =>
      commandWords.includes(arg) ||
      /^--(help|version)(=|$)/.test(arg) ||
      /^-[A-Za-z0-9]*[hV][A-Za-z0-9]*$/.test(arg),
  );
}

type OnFail = (message: string, error: Error | undefined, instance: unknown) => never;

async function probeLine(args: string[], onFail: OnFail): Promise<void> {
  const argv = await probe
    .options(yargs(args))
    .scriptName('mailprobe')
    .strict()
    // The host stays the text it was ("0x10" is not 16).
    .parserConfiguration({ 'camel-case-expansion': false, 'parse-positional-numbers': false })
    .demandCommand(1, 1)
    .help(false)
    .version(false)
    .wrap(100)
    .fail(onFail)
    .parseAsync();
  await probe.handler({ ...argv, host: String(argv._[0]) });
}

/** Every command, the probe as the default one, --help and --version. */
function everyCommand(args: string[], onFail: OnFail) {
  return (
    yargs(args)
      .scriptName('mailprobe')
      .usage(
        "$0 <host> [options]\n\nProbe a mail host's SMTP, IMAP and POP3 ports and tell what works and what is safe.",
      )
      .command(batch)
      .command(demo)
      .command(egress)
      .command(ports)
      .command(publish)
      .command(serve)
      .command(probe)
      .version(version())
      .alias('version', 'V')
      // --help is yargs' default (registering it again costs a few hundred microseconds before the first socket).
      .alias('help', 'h')
      .strict()
      // Options are read by their hyphenated names only: no camelCase twin of each (yargs-parser builds one per
      // hyphenated option and alias on every parse, about a millisecond before the first socket).
      .parserConfiguration({ 'camel-case-expansion': false })
      // The width matters only to the help text; reading it makes process.stdout (2-5 ms) before the first socket.
      .wrap(
        args.some((arg) => arg === '--help' || arg === '-h')
          ? Math.min(110, process.stdout.columns ?? 100)
          : 100,
      )
      .epilogue(
        'exit codes: 0 passed (no unmet expectation, no finding at or above --fail-on); 1 failed (a finding at or above --fail-on, an unmet expectation; egress: blocked or intercepted); 2 bad usage or input; 3 nothing to probe (the host does not resolve, no mail host); 4 egress inconclusive; 70 internal error; 74 output not written (a full disk, an I/O error); 130 interrupted (Ctrl-C)',
      )
      .fail(onFail)
  );
}

/** Parses the command line and runs a command. Errors end as one line on stderr and a documented exit code. */
export async function run(argv: string[]): Promise<void> {
  // `--junit -` (stdout): yargs takes a lone "-" for a positional; `--junit=-` it keeps as the value.
  const args = argv.flatMap((arg, i) =>
    arg === '-' && /^--(json|junit|markdown)$/.test(argv[i - 1] ?? '')
      ? []
      : /^--(json|junit|markdown)$/.test(arg) && argv[i + 1] === '-'
        ? [`${arg}=-`]
        : [arg],
  );
  const onFail = (message: string, error: Error | undefined, instance: unknown) => {
    if (error) throw error;
    const known = (instance as { getOptions?: () => { key?: Record<string, unknown> } }).getOptions?.().key;
    throw new UsageError(oneLine(message, [...new Set([...Object.keys(known ?? {}), ...optionNames])], args));
  };
  try {
    if (namesNoCommand(args)) await probeLine(args, onFail);
    else await everyCommand(args, onFail).parseAsync();
  } catch (error) {
    // By code, not instanceof: the engine may come from a bundle of its own, with its own copies of the classes.
    const kind = errorCode(error);
    const text = error instanceof Error ? error.message : String(error);
    const [message, code] =
      kind === new UsageError('').code
        ? [`${text} (see mailprobe --help)`, exitCodes.usage]
        : kind === new ResolveError('', '').code
          ? [text, exitCodes.resolve]
          : kind === 'WRITE_FAILED'
            ? [text, exitCodes.writeError]
            : [`internal error: ${text}`, 70];
    fail(message, code);
    // A CI dashboard must not keep showing the previous run's green report: the requested files say why.
    await writeFailureReports(reportFilesIn(argv), message, code);
  }
}
