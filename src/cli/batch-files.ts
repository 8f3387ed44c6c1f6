/**
 * The files of `mailprobe batch`: the targets (a regular file, or a stream: a pipe, a FIFO, `<(cmd)`, /dev/stdin)
 * and the partial output named by --resume, which is read as a stream, validated whole before anything is
 * changed, and never the input itself. Nothing here holds a whole file in memory: the targets are read where they
 * are, a stream's copied to a temporary file first (only when none can be written, held in memory, at most
 * `maxInputBytes`); a resume file of any size is read a chunk at a time.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  rmSync,
  type Stats,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { errorCode, UsageError } from '../errors.js';
import type { TargetFile } from '../modes/batch-list.js';

/** The largest target list read, a file or a stream: 512 MiB. */
export const maxInputBytes = 512 * 1024 * 1024;
/** The longest line of a resume file: a batch document is far shorter (transcripts and certificates are capped). */
export const maxResumeLine = 64 * 1024 * 1024;
const chunkBytes = 1024 * 1024;

/**
 * The targets as TargetList reads them (`list`), and where they came from: its device and inode, so that --resume
 * can refuse to name the same file.
 */
export interface TargetsInput {
  /**
   * A regular file named by its path: read where it is, a chunk at a time, never held whole. A stream (a pipe, a
   * FIFO, stdin, even one redirected from a file): copied to a temporary file first (spoolStream), or its bytes
   * when no temporary file could be written.
   */
  list: Buffer | TargetFile;
  identity?: { dev: number; ino: number } | undefined;
  /** Closes the file read (a temporary copy has no name left: its space is freed as it is closed). */
  close(): void;
}

/**
 * Opens the targets: a regular file of at most `maxInputBytes`, or a stream (a pipe, a FIFO, a character device,
 * a socket) read to its end, with the same bound. `-` is stdin. Anything else (a folder) is one line and exit 2.
 */
export function readTargets(file: string): TargetsInput {
  const name = file === '-' ? 'stdin' : file;
  let fd: number;
  // An inherited descriptor by its name: /dev/stdin, /dev/fd/N. A socket (what a parent process may hand over
  // in place of a pipe) cannot be opened by that name (ENXIO), but it can be read.
  const inherited = file === '-' ? 0 : inheritedFd(file);
  let own = false;
  try {
    fd = file === '-' ? 0 : openSync(file, constants.O_RDONLY);
    own = fd !== 0;
  } catch (error) {
    if (errorCode(error) !== 'ENXIO' || inherited === undefined)
      throw new UsageError(`batch: cannot read ${name} (${errorCode(error) ?? 'error'})`);
    fd = inherited;
  }
  let kept = false;
  try {
    let stat: Stats;
    try {
      stat = fstatSync(fd);
    } catch (error) {
      throw new UsageError(`batch: cannot read ${name} (${errorCode(error) ?? 'error'})`);
    }
    if (stat.isDirectory()) throw new UsageError(`batch: ${name} is a folder, not a list of targets`);
    if (stat.isFile() && stat.size > maxInputBytes)
      throw new UsageError(`batch: ${name} is ${stat.size} bytes, more than the ${maxInputBytes} allowed`);
    const error = (why: string) => new UsageError(`batch: ${name} ${why}`);
    // A regular file this process opened is read where it is (positional reads: its offset is never used), once
    // to index its lines and again as they are probed. Its size 0 may be a file of /proc: read as a stream.
    if (own && stat.isFile() && stat.size > 0) {
      kept = true;
      const opened = fd;
      return {
        list: { fd: opened, maxBytes: maxInputBytes, error },
        identity: { dev: stat.dev, ino: stat.ino },
        close: () => closeSync(opened),
      };
    }
    const spooled = spoolStream(fd, name);
    return {
      list: typeof spooled === 'number' ? { fd: spooled, maxBytes: maxInputBytes, error } : spooled,
      identity: stat.isFile() || stat.isFIFO() ? { dev: stat.dev, ino: stat.ino } : undefined,
      close: () => {
        if (typeof spooled === 'number') closeSync(spooled);
      },
    };
  } finally {
    if (own && !kept) closeSync(fd);
  }
}

/**
 * A stream read to its end (at most `maxInputBytes`) into a temporary file of this process's only (in
 * os.tmpdir(), mode 0600, removed from its folder as soon as it is made: nothing is left behind, even when the
 * process is killed), whose descriptor is returned. When no temporary file can be made or written (a read-only or
 * full TMPDIR), the stream's bytes are kept in memory instead, as they are returned.
 */
export function spoolStream(fd: number, name: string): number | Buffer {
  let spool = createSpool();
  let written = 0;
  const chunks: Buffer[] = [];
  let total = 0;
  const buffer = Buffer.allocUnsafe(chunkBytes);
  try {
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, buffer, 0, buffer.length, null);
      } catch (error) {
        // A non-blocking pipe with nothing in it yet: wait a little and read again.
        if (errorCode(error) === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          continue;
        }
        throw new UsageError(`batch: cannot read ${name} (${errorCode(error) ?? 'error'})`);
      }
      if (read === 0) break;
      total += read;
      if (total > maxInputBytes)
        throw new UsageError(`batch: ${name} gives more than the ${maxInputBytes} bytes allowed`);
      if (spool !== undefined) {
        try {
          for (let done = 0; done < read; )
            done += writeSync(spool, buffer, done, read - done, written + done);
          written += read;
          continue;
        } catch {
          // The temporary file cannot take more (a full disk): what it holds is read back, the rest kept here.
          const back = Buffer.allocUnsafe(written);
          for (let done = 0; done < written; ) {
            const got = readSync(spool, back, done, written - done, done);
            if (got === 0) break;
            done += got;
          }
          chunks.push(back);
          closeSync(spool);
          spool = undefined;
        }
      }
      chunks.push(Buffer.from(buffer.subarray(0, read)));
    }
  } catch (error) {
    if (spool !== undefined) closeSync(spool);
    throw error;
  }
  return spool ?? Buffer.concat(chunks, total);
}

/** A temporary file, open for reading and writing, already removed from its folder; undefined if none can be made. */
function createSpool(): number | undefined {
  const { tmpdir } = process.getBuiltinModule('node:os');
  const { randomBytes } = process.getBuiltinModule('node:crypto');
  const path = `${tmpdir()}/mailprobe-targets-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch {
    return undefined;
  }
  try {
    unlinkSync(path);
  } catch {
    // Removed at exit, then (also after Ctrl-C, which ends the run through its normal end).
    process.once('exit', () => rmSync(path, { force: true }));
  }
  return fd;
}

function inheritedFd(file: string): number | undefined {
  if (file === '/dev/stdin') return 0;
  const match = /^\/(?:dev|proc\/self)\/fd\/(\d+)$/.exec(file);
  return match ? Number(match[1]) : undefined;
}

/** The targets a resume file is matched against: each document's `input` found is marked done. */
export interface ResumeIndex {
  markDone(input: string): void;
}

/** What a batch document begins with: every one is `{"input":"…",…}` (src/batch.ts writes input first). */
const documentStart = Buffer.from('{"input":"');

/** A complete line of a resume file is a document of mailprobe's batch NDJSON, or the file is not one. */
function documentInput(bytes: Buffer): string | undefined {
  if (!bytes.subarray(0, documentStart.length).equals(documentStart)) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return undefined;
  }
  const d = document as {
    input?: unknown;
    schemaVersion?: unknown;
    tool?: { name?: unknown };
    result?: unknown;
    hosts?: unknown;
  };
  if (
    typeof d !== 'object' ||
    d === null ||
    typeof d.input !== 'string' ||
    typeof d.schemaVersion !== 'number' ||
    d.tool?.name !== 'mailprobe' ||
    typeof d.result !== 'object' ||
    d.result === null ||
    !Array.isArray(d.hosts)
  )
    return undefined;
  return d.input;
}

/**
 * The inputs of `wanted` that already have a document in the partial output `file`. The whole file is read
 * first, a chunk at a time, and every complete line must be a batch document of mailprobe's; only then is a last
 * line cut off mid-write removed (the run was stopped while writing it), so that the output appended next stays
 * NDJSON. A file that is the target list itself, is not a regular file, or holds anything else is refused (exit
 * 2) and left as it was. A file that does not exist yet is an empty one: the first run of a resumable job.
 * Memory: one line at a time; the targets found are marked in `wanted` (a bit each, src/modes/batch.ts TargetList).
 */
export function resumeDone(file: string, wanted: ResumeIndex, input: TargetsInput['identity']): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw new UsageError(`--resume: cannot read ${file} (${errorCode(error) ?? 'error'})`);
  }
  let cut: number | undefined;
  let stat: Stats;
  try {
    stat = fstatSync(fd);
    if (input && stat.dev === input.dev && stat.ino === input.ino)
      throw new UsageError(`--resume: ${file} is the target list itself; name the output of the earlier run`);
    if (!stat.isFile())
      throw new UsageError(
        `--resume: ${file} is not a regular file (the output of an earlier run, appended to)`,
      );
    const notOurs = (line: number, why: string) =>
      new UsageError(
        `--resume: ${file} line ${line} ${why} (not mailprobe batch output?); the file is unchanged`,
      );
    const buffer = Buffer.allocUnsafe(chunkBytes);
    // The line being read: its pieces, their length, and where in the file it starts.
    let pieces: Buffer[] = [];
    let pending = 0;
    let lineStart = 0;
    let lineNumber = 1;
    let position = 0;
    const finish = (bytes: Buffer) => {
      const found = documentInput(bytes);
      if (found === undefined) throw notOurs(lineNumber, 'is not a batch document');
      wanted.markDone(found);
    };
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, buffer, 0, buffer.length, position);
      } catch (error) {
        throw new UsageError(`--resume: cannot read ${file} (${errorCode(error) ?? 'error'})`);
      }
      if (read === 0) break;
      let from = 0;
      for (;;) {
        const newline = buffer.indexOf(10, from);
        if (newline < 0 || newline >= read) break;
        const piece = buffer.subarray(from, newline);
        const line = pieces.length === 0 ? piece : Buffer.concat([...pieces, piece], pending + piece.length);
        if (line.length > 0) finish(line);
        pieces = [];
        pending = 0;
        lineNumber++;
        from = newline + 1;
        lineStart = position + from;
      }
      if (from < read) {
        pending += read - from;
        if (pending > maxResumeLine) throw notOurs(lineNumber, `is longer than ${maxResumeLine} bytes`);
        pieces.push(Buffer.from(buffer.subarray(from, read)));
      }
      position += read;
    }
    if (pending > 0) {
      // The last line has no newline: a complete document whose newline was not written yet is kept (and ended);
      // the beginning of one, cut off mid-write, is removed; anything else is not ours.
      const last = Buffer.concat(pieces, pending);
      const found = documentInput(last);
      if (found !== undefined) {
        wanted.markDone(found);
        cut = -1;
      } else if (last.subarray(0, documentStart.length).equals(documentStart.subarray(0, last.length)))
        cut = lineStart;
      else throw notOurs(lineNumber, 'is not a batch document');
    }
  } finally {
    closeSync(fd);
  }
  if (cut !== undefined) {
    // Validated: now, and only now, the file is changed, if it is still the one that was read.
    let writable: number;
    try {
      writable = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      throw new UsageError(`--resume: cannot write ${file} (${errorCode(error) ?? 'error'})`);
    }
    try {
      const now = fstatSync(writable);
      if (now.dev !== stat.dev || now.ino !== stat.ino || now.size !== stat.size)
        throw new UsageError(`--resume: ${file} changed while it was read; run again`);
      if (cut < 0) writeSync(writable, '\n', stat.size);
      else ftruncateSync(writable, cut);
    } finally {
      closeSync(writable);
    }
  }
}
