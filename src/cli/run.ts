/** The command line: yargs, the commands, and one line on stderr with a documented exit code for every error. */
import yargs, { type CommandModule } from 'yargs';
import { errorCode, ResolveError, UsageError } from '../errors.js';
import { echo } from '../limits.js';
import { version } from '../version.js';
import { commands, commandWord, commandWords, optionOwners, probe, probeName } from './commands.js';
import { exitCodes, exitEpilogue, fail, failPlugin, pluginFormat } from './exit.js';
import { writeFailureReports } from './files.js';
import { requestedFiles } from './report-options.js';

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

/** The commands, as the messages name them. */
const commandList = commandWords.join(', ');

/**
 * yargs' messages, as one line that names the option and, for a typo, what was probably meant (`known` gives the
 * options, asked for only then).
 */
function oneLine(
  message: string,
  known: () => string[],
  owners: () => Map<string, string[]>,
  args: string[],
): string {
  // yargs' own wording for a missing positional names no argument; say which one.
  if (/^Not enough non-option arguments/.test(message))
    return args[0] === 'publish'
      ? 'publish: missing <domain>'
      : `missing <host> (or a command: ${commandList})`;
  // `--json FILE`: --json prints on stdout and takes no value, so the word after it is a word of its own.
  const afterJson = args.find((arg, i) => i > 0 && args[i - 1] === '--json' && !arg.startsWith('-'));
  if (afterJson && /^(Too many non-option arguments|Unknown arguments?: )/.test(message)) {
    const current = commandWords.includes(args[0] ?? '') ? (args[0] ?? '') : probeName;
    return (owners().get('json-file') ?? []).includes(current)
      ? `--json prints the JSON report on stdout and takes no FILE: --json-file ${echo(afterJson)} writes it there`
      : `--json prints on stdout and takes no FILE (${current} writes no report file: --json > ${echo(afterJson)})`;
  }
  if (/^Too many non-option arguments/.test(message))
    return `one <host> at a time (a command comes first: ${commandList})`;
  const unknown = /^Unknown arguments?: (.*)$/s.exec(message);
  if (unknown?.[1]) {
    const words = unknown[1].split(', ').map((word) => word.trim().replace(/^-+/, ''));
    // yargs names an unknown option and a word too many alike; the command line tells them apart.
    const given = (word: string) =>
      args.some((arg) => arg === `-${word}` || arg === `--${word}` || arg.startsWith(`--${word}=`));
    const extra = words.filter((word) => !given(word) && args.includes(word));
    const options = words.filter((word) => !extra.includes(word));
    const names = options.length > 0 ? known() : [];
    const takers = options.length > 0 ? owners() : new Map<string, string[]>();
    // The command this line runs, as the messages name it.
    const current = commandWords.includes(args[0] ?? '') ? (args[0] ?? '') : probeName;
    const flag = (word: string) => (word.length === 1 ? `-${word}` : `--${word}`);
    // An option of this command is unknown to yargs only when given a value it cannot take (`--no-color=x`: a
    // negation takes none); an option of another command says whose it is; any other gets "did you mean".
    const ownersOf = (word: string) => takers.get(word) ?? [];
    const valued = options.filter(
      (word) => ownersOf(word).includes(current) && args.some((arg) => arg.startsWith(`--${word}=`)),
    );
    const elsewhere = options.filter(
      (word) => ownersOf(word).length > 0 && !ownersOf(word).includes(current),
    );
    const unknownHere = options.filter((word) => !valued.includes(word) && !elsewhere.includes(word));
    const parts = [
      ...valued.map((word) => `${flag(word)} takes no value: give ${flag(word)} alone`),
      ...elsewhere.map(
        (word) => `${flag(word)} is an option of ${ownersOf(word).join(', ')}, not of ${current}`,
      ),
    ];
    if (unknownHere.length > 0)
      parts.push(
        `unknown option${unknownHere.length > 1 ? 's' : ''} ${unknownHere
          .map((word) => {
            const guess = closest(
              word,
              names.filter((name) => name !== word),
            );
            return `${flag(word)}${guess ? ` (did you mean ${flag(guess)}?)` : ''}`;
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

/**
 * A first word that is a command typed wrong (`dmeo`, `egres`, `Demo`, `hepl`): one label (no dot, colon or @)
 * within edit distance 2 of a command word or `help`, compared without case. Such a line is refused before it is
 * parsed, so no DNS query asks for a host of that name; a host of that name is written with a trailing dot.
 */
function mistypedCommand(word: string | undefined): string | undefined {
  if (!word || word.startsWith('-') || /[.:@[\]/]/.test(word) || commandWords.includes(word))
    return undefined;
  const lower = word.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const name of [...commandWords, 'help']) {
    const d = distance(lower, name);
    if (d <= 2 && d < name.length && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

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

/** The options that take a value each time they are given (`--port 2525=smtp --port 2526=imap`). */
const repeatable = new Set(['ports', 'port', 'limit', 'check', 'expect', 'allow', 'host-name']);

/**
 * Any other option that takes a value takes one: given twice (`--ca a --ca b`, `--timeout 1 --timeout 2`) is
 * exit 2, never the first or the last silently. A flag given twice (`-v -v`, `--no-color --color`) is the last.
 */
function givenOnce(argv: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(argv))
    if (Array.isArray(value) && name !== '_' && !repeatable.has(name))
      throw new UsageError(
        `${name.length === 1 ? '-' : '--'}${name} given ${value.length} times; it takes one value`,
      );
}

/** The options that take a value and also mean something negated: `--no-ispdb` (no ISPDB). */
const negatable = new Set(['ispdb']);

/**
 * `--no-OPTION` of an option that takes a value (`--no-ports`, `--no-ca`, `--no-login`, `--no-allow`): yargs makes
 * it the value false, which none of them means; refused, never read as a port list, a file name or a user "false".
 */
function noNegatedValues(argv: Record<string, unknown>, instance: unknown): void {
  const takesValue = (instance as { getOptions?: () => { string?: string[] } }).getOptions?.().string ?? [];
  for (const name of takesValue)
    if (!negatable.has(name) && [argv[name]].flat().some((value) => typeof value === 'boolean'))
      throw new UsageError(`--no-${name} is not an option: --${name} takes a value`);
}

/**
 * A flag given a value (`--color=x`, `--verbose=1`, `-v=x`): yargs reads any value but `true` as false, silently.
 * `true` and `false` are taken (`--color=false` is `--no-color`); anything else is refused, as a negation's value is.
 */
function noFlagValues(args: string[], instance: unknown): void {
  const flags = new Set(
    (instance as { getOptions?: () => { boolean?: string[] } }).getOptions?.().boolean ?? [],
  );
  for (const arg of args) {
    if (arg === '--') return;
    // `-qv=x`: the value is the last letter's.
    const match = /^(?:--([^=]+)|-[A-Za-z0-9]*([A-Za-z0-9]))=(.*)$/s.exec(arg);
    const name = match?.[1] ?? match?.[2] ?? '';
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    if (flags.has(name) && match?.[3] !== 'true' && match?.[3] !== 'false')
      throw new UsageError(`${flag} takes no value: give ${flag} alone`);
  }
}

type OnFail = (message: string, error: Error | undefined, instance: unknown) => never;

async function probeLine(args: string[], onFail: OnFail): Promise<void> {
  const parser = probe
    .options(yargs(args))
    .scriptName('mailprobe')
    .strict()
    // The host stays the text it was ("0x10" is not 16).
    .parserConfiguration({ 'camel-case-expansion': false, 'parse-positional-numbers': false })
    .demandCommand(1, 1)
    .help(false)
    .version(false)
    .wrap(100)
    .fail(onFail);
  const argv = await parser.parseAsync();
  givenOnce(argv);
  noNegatedValues(argv, parser);
  noFlagValues(args, parser);
  await probe.handler({ ...argv, host: String(argv._[0]) });
}

/** Every command, the probe as the default one, --help and --version. */
function everyCommand(args: string[], onFail: OnFail) {
  const root = yargs(args)
    .scriptName('mailprobe')
    .usage(
      "$0 <host> [options]\n\nProbe a mail host's SMTP, IMAP and POP3 ports and tell what works and what is safe.",
    );
  // Listed in --help by their words, the probe (the default command) last.
  const listed = [...commands].sort((a, b) => (commandWord(a) < commandWord(b) ? -1 : 1));
  for (const command of [...listed, probe]) root.command(command as unknown as CommandModule);
  return (
    root
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
      .epilogue(exitEpilogue())
      .fail(onFail)
  );
}

/** Parses the command line and runs a command. Errors end as one line on stderr and a documented exit code. */
export async function run(argv: string[]): Promise<void> {
  // `--junit -` (stdout): yargs takes a lone "-" for a positional; `--junit=-` it keeps as the value. `--json -`
  // and `--json=-` are `--json` (stdout), `--json=FILE` is `--json-file FILE`: --json itself takes no value.
  // `--html -` reaches --html's own check (a page is written to a file), not "one <host> at a time".
  const args = argv.flatMap((arg, i) =>
    arg === '-' && /^--(json|json-file|junit|markdown|html)$/.test(argv[i - 1] ?? '')
      ? []
      : /^--(json-file|junit|markdown|html)$/.test(arg) && argv[i + 1] === '-'
        ? [`${arg}=-`]
        : arg === '--json=-'
          ? ['--json']
          : /^--json=(?!(true|false)$)/.test(arg)
            ? [`--json-file=${arg.slice('--json='.length)}`]
            : [arg],
  );
  const onFail = (message: string, error: Error | undefined, instance: unknown) => {
    if (error) throw error;
    const own = (instance as { getOptions?: () => { key?: Record<string, unknown> } }).getOptions?.().key;
    const owners = () => optionOwners(() => yargs([]));
    const known = () => [...new Set([...Object.keys(own ?? {}), ...owners().keys()])];
    throw new UsageError(oneLine(message, known, owners, args));
  };
  try {
    // `help` and `help COMMAND` are --help.
    if (args[0] === 'help') args.splice(0, args.length, ...args.slice(1, 2), '--help');
    const meant = mistypedCommand(args[0]);
    if (meant)
      throw new UsageError(
        `'${echo(args[0] ?? '')}' is not a command: did you mean ${meant}? (a host of that name: ${echo(args[0] ?? '')}.)`,
      );
    if (namesNoCommand(args)) await probeLine(args, onFail);
    else {
      const parser = everyCommand(args, onFail);
      await parser
        .middleware((argv) => {
          givenOnce(argv);
          // The command's own options: yargs has set them up on this instance by the time it runs middleware.
          noNegatedValues(argv, parser);
          noFlagValues(args, parser);
        })
        .parseAsync();
    }
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
            : [`internal error: ${text}`, exitCodes.internal];
    // A monitoring plugin says UNKNOWN (exit 3) on stdout, where the monitoring system reads it.
    if (pluginFormat(args)) failPlugin(message.replace(/ \(see mailprobe --help\)$/, ''));
    else fail(message, code);
    // A CI dashboard must not keep showing the previous run's green report: the requested files say why. Only
    // the files of a command line that parsed, checked writable (cli/report-options.ts): a line that did not
    // parse names no file for sure (`mailprobe --json HOST` once wrote a report named HOST).
    await writeFailureReports({ ...requestedFiles }, message, code);
  }
}
