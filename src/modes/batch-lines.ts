/**
 * A batch target list read a line at a time, a chunk at a time (Reader), from the bytes or the file a TargetList
 * (batch-list.ts) reads; a file measured (measureFile) and stamped (fileStamp); the hash of a line's key.
 */

import { fstatSync, readSync } from 'node:fs';

/** Bytes read from a file at once. */
export const chunkBytes = 1 << 20;

/** What a Reader reads: a list's bytes, in memory or in a file. */
export interface LineSource {
  readonly inMemory: boolean;
  readonly byteLength: number;
  /** Why a walk stopped short (set by the reader when a read fails). */
  changed: string | undefined;
  /** Bytes from `position`, at most `max`: a view of the bytes in memory, or read into `into`. */
  view(position: number, max: number, into: Buffer): Buffer;
  /** Before a file is read on: is it as it was when indexed? */
  checkUnchanged(): boolean;
}

/**
 * Reads a list a line at a time, a chunk at a time: `line[from, to)` is the line (without its newline), which
 * starts at `offset` in the list. A line that spans chunks is copied whole.
 */
export class Reader {
  chunk: Buffer = Buffer.alloc(0);
  /** Where `chunk` starts in the list, and where in it the next line starts. */
  private chunkAt = 0;
  private at = 0;
  private readonly buffer: Buffer;
  line: Buffer = this.chunk;
  from = 0;
  to = 0;
  offset = 0;

  constructor(private readonly list: LineSource) {
    this.buffer = list.inMemory ? Buffer.alloc(0) : Buffer.allocUnsafe(Math.min(chunkBytes, list.byteLength));
  }

  /** The next chunk, whole (for counting lines): false at the end. */
  nextChunk(): boolean {
    const position = this.chunkAt + this.chunk.length;
    if (position >= this.list.byteLength) return false;
    this.chunk = this.list.view(position, this.list.byteLength - position, this.buffer);
    this.chunkAt = position;
    this.at = 0;
    return this.chunk.length > 0;
  }

  /** The next line: false at the end of the list (or when the file changed: TargetList.changed). */
  next(): boolean {
    let pieces: Buffer[] | undefined;
    let total = 0;
    const offset = this.chunkAt + this.at;
    for (;;) {
      if (this.at >= this.chunk.length) {
        // The file is checked before each chunk read (not after the last: what was read is what was indexed).
        const left = this.chunkAt + this.chunk.length < this.list.byteLength;
        let more = false;
        try {
          more = left && this.list.checkUnchanged() && this.nextChunk();
        } catch (error) {
          this.list.changed = `could not be read (${(error as { code?: string }).code ?? 'error'})`;
        }
        if (!more) {
          // The end of the list, or a walk stopped short (TargetList.changed): a line cut short is not one.
          if (!pieces || this.chunkAt + this.chunk.length < this.list.byteLength) return false;
          this.line = Buffer.concat(pieces, total);
          this.from = 0;
          this.to = total;
          this.offset = offset;
          return true;
        }
      }
      const newline = this.chunk.indexOf(10, this.at);
      if (newline >= 0) {
        if (pieces) {
          pieces.push(this.chunk.subarray(this.at, newline));
          total += newline - this.at;
          this.line = Buffer.concat(pieces, total);
          this.from = 0;
          this.to = total;
        } else {
          this.line = this.chunk;
          this.from = this.at;
          this.to = newline;
        }
        this.offset = offset;
        this.at = newline + 1;
        return true;
      }
      // No newline in the rest of the chunk: kept (a copy: the buffer is read into again).
      pieces ??= [];
      pieces.push(Buffer.from(this.chunk.subarray(this.at)));
      total += this.chunk.length - this.at;
      this.at = this.chunk.length;
    }
  }

  /** Does the chunk held start at or before `offset` (a line that started there is whole in it)? */
  holds(offset: number): boolean {
    return offset >= this.chunkAt && offset < this.chunkAt + this.at;
  }

  /** The line at `offset`, in the chunk held. */
  lineIn(offset: number): { bytes: Buffer; from: number; to: number } {
    const from = offset - this.chunkAt;
    const newline = this.chunk.indexOf(10, from);
    return { bytes: this.chunk, from, to: newline < 0 ? this.chunk.length : newline };
  }
}

/**
 * A file's length and lines (1 + its newlines), read to its end (a file that grows while read is read as it
 * grows), within `max` bytes, and its stamp (fileStamp) at the end.
 */
export function measureFile(
  fd: number,
  max: number,
  fail: (why: string) => Error,
): { length: number; lines: number; stamp: string } {
  const buffer = Buffer.allocUnsafe(chunkBytes);
  let length = 0;
  let lines = 1;
  let stamp = '';
  /** Where the file ended last (a size that says more, with nothing more to read, is taken once only). */
  let atEnd = -1;
  for (;;) {
    let read: number;
    try {
      read = readSync(fd, buffer, 0, buffer.length, length);
    } catch (error) {
      throw fail(`could not be read (${(error as { code?: string }).code ?? 'error'})`);
    }
    // At the end: the end of the file as it is now (a file still being written is read to where it is).
    if (read === 0) {
      stamp = fileStamp(fd) ?? '';
      if (Number(stamp.split(' ')[0]) <= length || length === atEnd) break;
      atEnd = length;
      continue;
    }
    length += read;
    if (length > max) throw fail(`is more than the ${max} bytes allowed`);
    const chunk = buffer.subarray(0, read);
    for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
  }
  return { length, lines, stamp };
}

/** A file's size and modification time (ns), to tell that it changed; undefined if it cannot be read. */
export function fileStamp(fd: number): string | undefined {
  try {
    const stat = fstatSync(fd, { bigint: true });
    return `${stat.size} ${stat.mtimeNs}`;
  } catch {
    return undefined;
  }
}

/** Whitespace that String#trim removes, in ASCII: tab, LF, VT, FF, CR, space. */
export function isAsciiSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

/**
 * FNV-1a over UTF-16 code units: the table's hash (not the shard's, which is over UTF-8 bytes). Over an ASCII
 * line it is the hash of its bytes (TargetList.scan).
 */
export function fnv1aUnits(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
