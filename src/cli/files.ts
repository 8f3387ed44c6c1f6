/**
 * Files the CLI reads and writes. Inputs are regular files of bounded size (a FIFO would block, a huge file
 * would be read whole); reports are written to a temporary file beside the target and renamed over it, so a
 * reader never sees half a report and a symlink at the target is replaced, never written through (but for a
 * stream the user names for a report, such as /dev/stdout: writesThrough).
 */
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  linkSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { errorCode, UsageError } from '../errors.js';

/**
 * Reads a user-named input file: a regular file of at most `maxBytes`, or one line and exit 2. It is opened without
 * waiting (a FIFO is refused, never waited on) and checked on the descriptor read, and no more than `maxBytes` is
 * ever read (a file that grows after the check, or a device such as /dev/zero, costs no memory).
 */
export function readInputFile(option: string, file: string, maxBytes: number): string {
  const cannot = (error: unknown) =>
    new UsageError(`${option}: cannot read ${file} (${errorCode(error) ?? 'error'})`);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw cannot(error);
  }
  try {
    let stat: Stats;
    try {
      stat = fstatSync(fd);
    } catch (error) {
      throw cannot(error);
    }
    if (!stat.isFile()) throw new UsageError(`${option}: ${file} is not a regular file`);
    if (stat.size > maxBytes)
      throw new UsageError(`${option}: ${file} is ${stat.size} bytes, more than the ${maxBytes} allowed`);
    // A chunk at a time until the end, never past maxBytes + 1 (the file may have grown since fstat).
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(65_536, maxBytes + 1 - length));
      let read: number;
      try {
        read = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        throw cannot(error);
      }
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      length += read;
      if (length > maxBytes)
        throw new UsageError(`${option}: ${file} is more than the ${maxBytes} bytes allowed`);
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * A report target that is a stream, not a file: a character device (/dev/full, a terminal), a FIFO, a socket, or
 * a link in /dev or /proc (/dev/stdout, /dev/fd/3). It is written to directly: renaming a temporary file over
 * it would replace the device node or the link itself (as root, /dev/stdout for every later process) and make
 * nothing atomic. A regular file (in /dev/shm too) is still written beside itself and renamed.
 */
export function writesThrough(path: string): boolean {
  try {
    // /dev/stdout, /dev/fd/1, /proc/self/fd/1: links to whatever the descriptor is, a file included.
    if (/^\/(dev|proc)\//.test(resolve(path)) && lstatSync(path).isSymbolicLink()) return true;
    const stat = statSync(path);
    return !stat.isFile() && !stat.isDirectory();
  } catch {
    return false;
  }
}

/** A report file that could not be written (a full disk, a quota, an I/O error): exit 74, EX_IOERR. */
export class WriteError extends Error {
  readonly code = 'WRITE_FAILED';
  constructor(path: string, cause: unknown) {
    super(`cannot write ${path} (${errorCode(cause) ?? 'error'})`);
    this.name = 'WriteError';
  }
}

/**
 * Writes a report the user named: to a stream it names (writesThrough: `--html /dev/stdout`), else atomically
 * (replaceFile). A failure throws a WriteError.
 */
export function writeReportFile(path: string, text: string): void {
  if (!writesThrough(path)) {
    replaceFile(path, text);
    return;
  }
  try {
    // Appended: /dev/stdout may be a file the shell opened with >>, never to be truncated from here.
    writeFileSync(path, text, { flag: 'a' });
  } catch (error) {
    // A pipe whose reader quit early (`--html /dev/stdout | head`) took what it wanted, as stdout does (stdout.ts).
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') return;
    throw new WriteError(path, error);
  }
}

/**
 * Writes a file atomically, whatever is at its name: a temporary file in the same folder (created, never opened
 * if there), then a rename over the name, which replaces the entry itself (a file, a symlink, a FIFO, a device
 * node), never what it points to; a folder there fails (EISDIR). A failure leaves the name as it was and throws a
 * WriteError. For files the run names itself (batch's pages), where nothing is meant to be written through.
 */
export function replaceFile(path: string, text: string): void {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`,
  );
  try {
    writeFileSync(temporary, text, { flag: 'wx', mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // never created
    }
    throw new WriteError(path, error);
  }
}

/**
 * Writes a new file whole (a temporary file beside it, then a hard link to the name, which fails when the name
 * exists): a file already there is never replaced (UsageError naming `force`, exit 2); a write error is a
 * WriteError (exit 74).
 */
export function writeNewFile(path: string, text: string, force: string): void {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`,
  );
  try {
    writeFileSync(temporary, text, { flag: 'wx', mode: 0o644 });
    linkSync(temporary, path);
  } catch (error) {
    if (errorCode(error) === 'EEXIST' && existsSync(temporary))
      throw new UsageError(`${path} exists (${force} replaces it)`);
    throw new WriteError(path, error);
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // never created
    }
  }
}

export type ReportFiles = Partial<Record<'json' | 'junit' | 'markdown' | 'html', string>>;

/** Writes each requested report as a failure that says why; a file that cannot be written is skipped. */
export async function writeFailureReports(
  files: ReportFiles,
  message: string,
  exitCode: number,
): Promise<void> {
  if (Object.keys(files).length === 0) return;
  const { renderJsonFailure } = await import('../render/json.js');
  const { renderJunitFailure } = await import('../render/junit.js');
  const { renderMarkdownFailure } = await import('../render/markdown.js');
  const html = files.html ? await import('../render/html.js') : undefined;
  const render = {
    json: renderJsonFailure,
    junit: renderJunitFailure,
    markdown: renderMarkdownFailure,
    html: (text: string, code: number) => html?.renderHtmlFailure(text, code) ?? '',
  };
  for (const [kind, file] of Object.entries(files) as [keyof ReportFiles, string][]) {
    try {
      writeReportFile(file, render[kind](message, exitCode));
    } catch {
      // the error line on stderr still says why the run failed
    }
  }
}
