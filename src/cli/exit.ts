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
    .join('; ')}`;
}

/** Prints one line to stderr and sets the exit code; never a stack trace. */
export function fail(message: string, code: number): void {
  process.stderr.write(`mailprobe: ${message}\n`);
  process.exitCode = code;
}
