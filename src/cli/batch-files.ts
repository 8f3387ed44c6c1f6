/**
 * The files of `mailprobe batch`: the targets (a regular file, or a stream: a pipe, a FIFO, `<(cmd)`, /dev/stdin)
 * and the partial output named by --resume, which is read as a stream, validated whole before anything is
 * changed, and never the input itself. Nothing here holds a whole file in memory but the targets' text (at most
 * `maxInputBytes`); a resume file of any size is read a chunk at a time.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { errorCode, UsageError } from '../errors.js';

/** The largest target list read, a file or a stream: 512 MiB. */
export const maxInputBytes = 512 * 1024 * 1024;
/** The longest line of a resume file: a batch document is far shorter (transcripts and certificates are capped). */
export const maxResumeLine = 64 * 1024 * 1024;
const chunkBytes = 1024 * 1024;

/** Where the targets came from: its device and inode, so that --resume can refuse to name the same file. */
export interface TargetsText {
  /** The list as bytes (UTF-8): TargetList decodes it a line at a time. */
  bytes: Buffer;
  identity?: { dev: number; ino: number } | undefined;
}

/**
 * Reads the targets: a regular file of at most `maxInputBytes`, or a stream (a pipe, a FIFO, a character device,
 * a socket) read to its end, with the same bound. `-` is stdin. Anything else (a folder) is one line and exit 2.
 */
export function readTargets(file: string): TargetsText {
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
    // A regular file is read into one buffer of its size, a stream a chunk at a time; the bytes are all that is
    // kept (TargetList decodes a line at a time), so a list of a million lines is held once.
    if (stat.isFile() && stat.size > 0) {
      const whole = Buffer.allocUnsafe(stat.size);
      let filled = 0;
      while (filled < whole.length) {
        let read: number;
        try {
          read = readSync(fd, whole, filled, whole.length - filled, null);
        } catch (error) {
          throw new UsageError(`batch: cannot read ${name} (${errorCode(error) ?? 'error'})`);
        }
        if (read === 0) break;
        filled += read;
      }
      // A file that grew while read: the rest as for a stream.
      const more = readRest(fd, name, maxInputBytes - filled);
      return {
        bytes: more.length > 0 ? Buffer.concat([whole.subarray(0, filled), more]) : whole.subarray(0, filled),
        identity: { dev: stat.dev, ino: stat.ino },
      };
    }
    const rest = readRest(fd, name, maxInputBytes);
    return {
      bytes: rest,
      identity: stat.isFile() || stat.isFIFO() ? { dev: stat.dev, ino: stat.ino } : undefined,
    };
  } finally {
    if (own) closeSync(fd);
  }
}

/** Reads `fd` to its end, a chunk at a time, at most `limit` bytes (else the usage error of a list too long). */
function readRest(fd: number, name: string, limit: number): Buffer {
  {
    const chunks: Buffer[] = [];
    let total = 0;
    const buffer = Buffer.allocUnsafe(chunkBytes);
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
      if (total > limit)
        throw new UsageError(`batch: ${name} gives more than the ${maxInputBytes} bytes allowed`);
      chunks.push(Buffer.from(buffer.subarray(0, read)));
    }
    return Buffer.concat(chunks, total);
  }
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
export function resumeDone(file: string, wanted: ResumeIndex, input: TargetsText['identity']): void {
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
