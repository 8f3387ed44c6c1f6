import { invisibleControls } from '../limits.js';

/** mailprobe's exit codes, as documented in the README. */
export const exitCodes = {
  /** No finding at or above the failing severity (high by default). */
  ok: 0,
  /** At least one finding at or above the failing severity. */
  findings: 1,
  /** Bad usage or input: an option, a port, a service, a file. */
  usage: 2,
  /** The host could not be resolved (or, with discovery, the domain has no mail host). */
  resolve: 3,
  /** `mailprobe egress` could not conclude. */
  inconclusive: 4,
  /** EX_SOFTWARE (sysexits.h): a bug, reported as one line (`mailprobe: internal error: ...`). */
  internal: 70,
  /** EX_IOERR (sysexits.h): stdout or a report file could not be written (a full disk, /dev/full, an I/O error). */
  writeError: 74,
  /** Ctrl-C (SIGINT): the report shows what was seen until then (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

/** What each exit code means, in the words of `mailprobe --help`. */
const meanings: Readonly<Record<keyof typeof exitCodes, string>> = {
  ok: 'passed (no unmet expectation, no finding at or above --fail-on)',
  findings: 'failed (a finding at or above --fail-on, an unmet expectation; egress: blocked or intercepted)',
  usage: 'bad usage or input',
  resolve: 'nothing to probe (the host does not resolve, no mail host)',
  inconclusive: 'egress inconclusive',
  internal: 'internal error',
  writeError: 'output not written (a full disk, an I/O error)',
  interrupted: 'interrupted (Ctrl-C)',
};

/** The --help epilogue: every exit code and what it means. */
export function exitEpilogue(): string {
  return `exit codes: ${(Object.keys(exitCodes) as (keyof typeof exitCodes)[])
    .map((name) => `${exitCodes[name]} ${meanings[name]}`)
    .join(
      '; ',
    )}; with --format plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad input, no DNS answer, an error)`;
}

/**
 * Prints one line to stderr and sets the exit code; never a stack trace. The message may quote a file's bytes (a
 * JSON parser's complaint about a binary file): its control characters are shown, never sent to the terminal.
 */
export function fail(message: string, code: number): void {
  process.stderr.write(`mailprobe: ${inert(message)}\n`);
  process.exitCode = code;
}

/**
 * C0 controls and the invisibleControls as `\xNN` / `\u{NNNN}` (not render/sanitize.ts: that module lives in the
 * judge bundle, which a usage error must not load).
 */
function inert(text: string): string {
  return text.replace(new RegExp(`[\\u0000-\\u001f${invisibleControls}]`, 'gu'), (char) => {
    const point = char.codePointAt(0) ?? 0;
    return point <= 0xff ? `\\x${point.toString(16).padStart(2, '0')}` : `\\u{${point.toString(16)}}`;
  });
}

/** `--format plugin` (or `--format=plugin`) on the command line, read before (or without) the option parser. */
export function pluginFormat(argv: string[]): boolean {
  return argv.some((arg, i) => arg === '--format=plugin' || (arg === '--format' && argv[i + 1] === 'plugin'));
}

/**
 * A monitoring plugin that could not judge (bad input, a name that does not resolve, an internal error): its
 * UNKNOWN status line on stdout, where the monitoring system reads it, and exit 3, as the Monitoring Plugins
 * guidelines ask; nothing on stderr.
 */
export function failPlugin(message: string): void {
  const head = 'MAILPROBE UNKNOWN - ';
  const text = message.replace(/[\x00-\x1f\x7f|]/g, ' ');
  // The status line fits 80 characters; a longer message follows whole, as the long output.
  const fits = text.length <= 80 - head.length;
  process.stdout.write(`${head}${fits ? text : `${text.slice(0, 77 - head.length)}...\n${text}`}\n`);
  process.exitCode = 3;
}
