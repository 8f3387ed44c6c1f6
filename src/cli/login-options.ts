/**
 * The login check's and round trip's options: the user name, the secret from an environment variable, a file or
 * a prompt on the terminal (never from the command line), the lockout knobs, the round trip's recipient and wait.
 */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { echo } from '../limits.js';
import { readInputFile } from './files.js';

/** Options that would put a secret on the command line (seen in `ps` and the shell's history): refused. */
export const refusedSecretOptions = ['password', 'pass', 'token', 'secret'] as const;

export function loginOptions<T>(yargs: Argv<T>) {
  let y = yargs
    .option('login', {
      type: 'string',
      describe: 'opt-in: log in as USER on each port (once per account backend; see README "Logging in")',
    })
    .option('password-env', {
      type: 'string',
      describe: 'with --login: the password is in this environment variable',
    })
    .option('password-file', {
      type: 'string',
      describe: 'with --login: the password is this file’s first line',
    })
    .option('token-env', {
      type: 'string',
      describe: 'with --login: an OAuth 2.0 bearer token (XOAUTH2, OAUTHBEARER) in this environment variable',
    })
    .option('token-file', {
      type: 'string',
      describe: 'with --login: the bearer token is this file’s first line',
    })
    .option('login-each-port', {
      type: 'boolean',
      describe: 'with --login: try every port, not once per backend (143+993, 110+995, 587+465 count as one)',
    })
    .option('login-max', {
      type: 'string',
      describe: 'with --login: most login attempts in the run (default 3)',
    })
    .option('round-trip', {
      type: 'boolean',
      describe: 'with --login: submit one test message on 587/465 and find it over IMAP (or POP3)',
    })
    .option('mail-to', {
      type: 'string',
      describe: 'with --round-trip: the recipient (default: the login’s address)',
    })
    .option('round-trip-wait', {
      type: 'string',
      describe: 'with --round-trip: seconds to watch the mailbox (default 60)',
    })
    .option('keep', {
      type: 'boolean',
      describe: 'with --round-trip: leave the test message in the mailbox',
    });
  for (const name of refusedSecretOptions) y = y.option(name, { type: 'string', hidden: true });
  return y;
}

export interface LoginChoice {
  credential: { user: string; secret: string; kind: 'password' | 'token' };
  eachPort: boolean;
  maxAttempts: number | undefined;
  roundTrip?: { recipient: string | undefined; waitS: number; keep: boolean } | undefined;
}

type Args = Record<string, unknown>;

/** The largest --password-file or --token-file read (a bearer token is a few KiB; the prompt takes 4096 bytes). */
export const secretFileBytes = 65_536;

const firstLine = (text: string) => text.split(/\r?\n/)[0] ?? '';

/** Reads the secret from a terminal without echoing it. */
function prompt(what: string): string {
  const fs = process.getBuiltinModule('node:fs');
  let fd: number;
  try {
    fd = fs.openSync('/dev/tty', 'r+');
  } catch {
    throw new UsageError(
      `--login needs the ${what}: give --password-env VAR, --password-file FILE (or --token-env/--token-file); there is no terminal to ask on`,
    );
  }
  const { execFileSync } = process.getBuiltinModule('node:child_process');
  const stty = (arg: string) => execFileSync('stty', [arg], { stdio: [fd, 'ignore', 'ignore'] });
  // Echo off before the prompt shows: nothing typed after it can appear on the screen.
  stty('-echo');
  try {
    fs.writeSync(fd, `${what} (not echoed): `);
    const bytes: number[] = [];
    const one = Buffer.alloc(1);
    while (bytes.length < 4096 && fs.readSync(fd, one, 0, 1, null) === 1 && one[0] !== 10 && one[0] !== 13)
      bytes.push(one[0] ?? 0);
    return Buffer.from(bytes).toString('utf8');
  } finally {
    stty('echo');
    fs.writeSync(fd, '\n');
    fs.closeSync(fd);
  }
}

function positive(value: unknown, name: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max)
    throw new UsageError(`${name}: '${echo(text)}' is not a whole number from 1 to ${max}`);
  return Number(text);
}

/** The login options, checked; undefined without --login. Throws UsageError with one line on bad input. */
export function loginChoice(args: Args): LoginChoice | undefined {
  for (const name of refusedSecretOptions)
    if (args[name] !== undefined)
      throw new UsageError(
        `--${name} is refused: a secret on the command line shows in ps and the shell history; use --password-env VAR, --password-file FILE or the prompt`,
      );
  const user = args.login;
  const dependent = [
    'password-env',
    'password-file',
    'token-env',
    'token-file',
    'login-each-port',
    'login-max',
    'round-trip',
    'mail-to',
    'round-trip-wait',
    'keep',
  ].filter((name) => args[name] !== undefined && args[name] !== false);
  if (user === undefined) {
    if (dependent.length > 0) throw new UsageError(`--${dependent[0]} needs --login USER`);
    return undefined;
  }
  const name = String(user);
  if (name === '' || name.length > 320 || /[\u0000-\u001f\u007f]/.test(name))
    throw new UsageError('--login: the user name is empty, too long, or holds control characters');
  const sources = ['password-env', 'password-file', 'token-env', 'token-file'].filter(
    (s) => args[s] !== undefined,
  );
  if (sources.length > 1)
    throw new UsageError(`--${sources[0]} and --${sources[1]}: give one source of the secret`);
  const source = sources[0];
  const kind: 'password' | 'token' = source?.startsWith('token') ? 'token' : 'password';
  let secret: string;
  if (source?.endsWith('-env')) {
    const variable = String(args[source]);
    const value = process.env[variable];
    if (value === undefined || value === '')
      throw new UsageError(`--${source}: the environment variable ${echo(variable)} is not set or empty`);
    secret = value;
  } else if (source?.endsWith('-file')) {
    const file = String(args[source]);
    // A regular file of bounded size: a FIFO would block, /dev/zero would be read until memory runs out.
    secret = firstLine(readInputFile(`--${source}`, file, secretFileBytes));
    if (secret === '') throw new UsageError(`--${source}: ${echo(file)} is empty`);
  } else {
    secret = prompt(`password for ${name}`);
    if (secret === '') throw new UsageError('--login: no password was typed');
  }
  if (/[\r\n\u0000]/.test(secret)) throw new UsageError('--login: the secret holds a line break or NUL');
  const roundTrip = args['round-trip'] === true;
  if (
    !roundTrip &&
    ['mail-to', 'round-trip-wait', 'keep'].some((n) => args[n] !== undefined && args[n] !== false)
  )
    throw new UsageError('--mail-to, --round-trip-wait and --keep apply to --round-trip');
  const recipient = args['mail-to'] === undefined ? undefined : String(args['mail-to']);
  if (recipient !== undefined && !/^[^\s@<>()",;:\\]+@[A-Za-z0-9.-]+$/.test(recipient))
    throw new UsageError(`--mail-to: '${echo(recipient)}' is not a mail address`);
  return {
    credential: { user: name, secret, kind },
    eachPort: args['login-each-port'] === true,
    maxAttempts: positive(args['login-max'], '--login-max', 20),
    ...(roundTrip
      ? {
          roundTrip: {
            recipient,
            waitS: positive(args['round-trip-wait'], '--round-trip-wait', 3600) ?? 60,
            keep: args.keep === true,
          },
        }
      : {}),
  };
}
