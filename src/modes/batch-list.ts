/**
 * The distinct lines of a batch's target list, in order (TargetList): a million targets in constant memory (issue
 * 28). The list is read a chunk at a time, once to index it and once more each time it is walked; what is kept
 * per distinct line is what exact deduplication needs, 12 bytes of an open-addressing table: the line's hash and
 * where it starts. Two lines with the same hash are told apart by reading the earlier one back.
 */

import { readSync } from 'node:fs';
import { echo } from '../limits.js';
import { fileStamp, fnv1aUnits, isAsciiSpace, measureFile, Reader } from './batch-lines.js';

export { fnv1aUnits } from './batch-lines.js';

/**
 * A list in a file: an open descriptor of a regular file (read with positional reads, so its offset is never
 * used), and the most bytes read from it (beyond them, `error` is thrown).
 */
export interface TargetFile {
  fd: number;
  maxBytes?: number;
  /**
   * The error thrown when the file holds more than `maxBytes`, cannot be read, or changes while it is indexed
   * (`why` says which; default: an Error).
   */
  error?: (why: string) => Error;
}

/**
 * Lines of a list whose table is made for all of them at once (1.5 slots a line: 12 bytes); a longer list's table
 * starts there (12 MiB) and grows with its distinct lines only, so that blank, comment or repeated lines never
 * cost more than that.
 */
const presizedLines = 1 << 20;

/** Bytes read back at once to compare an earlier line. */
const sideBytes = 4096;

/**
 * The distinct target lines of a list, in order, read lazily: from bytes in memory (a string or a Buffer, as given)
 * or from a file (`{ fd }`), which is then never held whole. A line is trimmed; blank lines and `#` comments are
 * skipped; a line repeated (the same `input` key, see documentInput) is one target. Per distinct line, 12 bytes
 * are kept for a list of up to 1 Mi lines, at most 16 beyond (an open-addressing table of 1.5 slots a line, 8
 * bytes a slot: the line's FNV-1a hash and its offset, never fuller than 3/4) and, with --resume, a done bit a
 * slot. A line whose hash matches an earlier line's is compared
 * with it exactly, read back from the list: a collision never drops a target.
 *
 * A file must not change while it is walked: each chunk read checks its size and modification time against those
 * it had when indexed, and a change ends the walk with `changed` set (the caller reports it).
 */
export class TargetList implements Iterable<string> {
  /** Distinct lines. */
  size = 0;
  /** Of them, the lines --resume found done. */
  doneCount = 0;
  /** Why a walk of the list ended early: the file changed or could not be read (undefined: it did not). */
  changed: string | undefined;

  private readonly bytes: Buffer | undefined;
  private readonly fd: number;
  /** The list's length in bytes, fixed when it was indexed. */
  private readonly length: number;
  /** The file's size and modification time when indexed. */
  private stamp = '';
  /** Slots: two numbers each, the line's hash and 1 + its offset in the list (0: an empty slot). */
  private table: Uint32Array;
  private slots: number;
  private done: Uint8Array | undefined;
  /** A buffer to read an earlier line back into. */
  private side: Buffer | undefined;

  /** The line scanned last (scan): trimmed bounds of an ASCII line, else its trimmed text and key. */
  private start = 0;
  private end = 0;
  private text: string | undefined;
  private key: string | undefined;

  constructor(list: string | Buffer | TargetFile) {
    let fail = (why: string): Error => new Error(`the list ${why}`);
    // At most one distinct line a newline, and one more: the table is sized once, never grown (no slot moves).
    let lines = 1;
    if (typeof list === 'string' || Buffer.isBuffer(list)) {
      this.bytes = typeof list === 'string' ? Buffer.from(list, 'utf8') : list;
      this.fd = -1;
      this.length = this.bytes.length;
      for (let at = this.bytes.indexOf(10); at >= 0; at = this.bytes.indexOf(10, at + 1)) lines++;
    } else {
      this.bytes = undefined;
      this.fd = list.fd;
      if (list.error) fail = list.error;
      const measured = measureFile(this.fd, list.maxBytes ?? 2 ** 31, fail);
      this.length = measured.length;
      lines = measured.lines;
      this.stamp = measured.stamp;
    }
    // 1.5 slots a line, up to presizedLines lines; beyond, the table grows with the distinct lines (growTable).
    const presized = Math.min(lines, presizedLines);
    this.slots = presized + (presized >> 1) + 1;
    this.table = new Uint32Array(this.slots * 2);
    const reader = new Reader(this);
    while (reader.next()) {
      const hash = this.scan(reader.line, reader.from, reader.to);
      if (hash < 0) continue;
      let at = hash % this.slots;
      for (;;) {
        const offset = this.table[at * 2 + 1] as number;
        if (offset === 0) {
          this.table[at * 2] = hash;
          this.table[at * 2 + 1] = reader.offset + 1;
          this.size++;
          if (this.size * 4 > this.slots * 3) this.growTable();
          break;
        }
        if (this.table[at * 2] === hash && this.sameAs(offset - 1, reader)) break;
        at = at + 1 === this.slots ? 0 : at + 1;
      }
    }
    if (this.changed !== undefined && this.fd >= 0) throw fail(this.changed);
  }

  /**
   * Half as many slots again (a table fuller than 3/4 would probe long runs), each line moved by its hash: no line
   * is read. Only while the list is indexed (a slot's done bit is by its place).
   */
  private growTable(): void {
    const old = this.table;
    const slots = this.slots + (this.slots >> 1) + 1;
    const table = new Uint32Array(slots * 2);
    for (let from = 0; from < old.length; from += 2) {
      if (old[from + 1] === 0) continue;
      let at = (old[from] as number) % slots;
      while (table[at * 2 + 1] !== 0) at = at + 1 === slots ? 0 : at + 1;
      table[at * 2] = old[from] as number;
      table[at * 2 + 1] = old[from + 1] as number;
    }
    this.table = table;
    this.slots = slots;
  }

  /** Bytes of the list from `position`, at most `max`: a view of the bytes in memory, or read into `into`. */
  view(position: number, max: number, into: Buffer): Buffer {
    if (this.bytes) return this.bytes.subarray(position, position + max);
    const read = readSync(this.fd, into, 0, Math.min(max, into.length), position);
    return into.subarray(0, read);
  }

  get inMemory(): boolean {
    return this.bytes !== undefined;
  }

  /** The list's length in bytes. */
  get byteLength(): number {
    return this.length;
  }

  /** The bytes this list keeps besides the list itself: its table and done bits. */
  get indexBytes(): number {
    return this.table.byteLength + (this.done?.byteLength ?? 0);
  }

  /** A file walked: has it changed since it was indexed? Sets `changed` when it has. */
  checkUnchanged(): boolean {
    if (this.fd < 0 || this.changed) return this.changed === undefined;
    if (fileStamp(this.fd) !== this.stamp)
      this.changed = 'changed while it was read (its size or modification time)';
    return this.changed === undefined;
  }

  /**
   * Scans one line, line[from, to) without its newline: its hash (FNV-1a of its `input` key, over UTF-16 units,
   * which for an ASCII line is over its bytes), or -1 for a blank or comment line. An ASCII line of at most 1 KiB
   * (what a target is) is trimmed and hashed as bytes, with no string made; any other line is decoded and trimmed
   * as a string (its `input` key may differ from its text: documentInput).
   */
  private scan(line: Buffer, from: number, to: number): number {
    let start = from;
    let end = to;
    while (start < end && isAsciiSpace(line[start] as number)) start++;
    while (end > start && isAsciiSpace(line[end - 1] as number)) end--;
    if (start === end || line[start] === 0x23) return -1;
    let ascii = end - start <= 1024;
    let hash = 0x811c9dc5;
    for (let i = start; ascii && i < end; i++) {
      const byte = line[i] as number;
      if (byte >= 0x80) ascii = false;
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    if (ascii) {
      this.start = start;
      this.end = end;
      this.text = undefined;
      this.key = undefined;
      return hash >>> 0;
    }
    const text = line.toString('utf8', start, end).trim();
    if (text === '' || text.startsWith('#')) return -1;
    this.text = text;
    this.key = echo(text);
    return fnv1aUnits(this.key);
  }

  /** The `input` key of the line scanned last. */
  private scannedKey(line: Buffer): string {
    return this.key ?? line.toString('latin1', this.start, this.end);
  }

  /** Is the line at `offset` (an earlier one, with the same hash) the same target as the line `reader` is on? */
  private sameAs(offset: number, reader: Reader): boolean {
    const line = reader.line;
    const current = { start: this.start, end: this.end, key: this.key, text: this.text };
    // The earlier line is in the chunk the reader holds (the usual case for a repeat close by), or read back.
    const earlier =
      reader.holds(offset) && this.bytes === undefined ? reader.lineIn(offset) : this.lineAt(offset);
    this.scan(earlier.bytes, earlier.from, earlier.to);
    let same: boolean;
    if (this.key === undefined && current.key === undefined)
      same =
        this.end - this.start === current.end - current.start &&
        earlier.bytes.compare(line, current.start, current.end, this.start, this.end) === 0;
    else
      same =
        this.scannedKey(earlier.bytes) ===
        (current.key ?? line.toString('latin1', current.start, current.end));
    this.start = current.start;
    this.end = current.end;
    this.key = current.key;
    this.text = current.text;
    return same;
  }

  /** The line of the list that starts at `offset`: its bytes, up to its newline or the end of the list. */
  private lineAt(offset: number): { bytes: Buffer; from: number; to: number } {
    if (this.bytes) {
      const newline = this.bytes.indexOf(10, offset);
      return {
        bytes: this.bytes,
        from: offset,
        to: newline < 0 || newline > this.length ? this.length : newline,
      };
    }
    this.side ??= Buffer.allocUnsafe(sideBytes);
    const pieces: Buffer[] = [];
    let total = 0;
    let position = offset;
    while (position < this.length) {
      const view = this.view(position, this.length - position, this.side);
      if (view.length === 0) break;
      const newline = view.indexOf(10);
      const piece = newline < 0 ? view : view.subarray(0, newline);
      if (newline >= 0 && pieces.length === 0) return { bytes: piece, from: 0, to: piece.length };
      pieces.push(Buffer.from(piece));
      total += piece.length;
      if (newline >= 0) break;
      position += view.length;
    }
    return { bytes: Buffer.concat(pieces, total), from: 0, to: total };
  }

  /** The slot of the distinct line whose `input` key is `key`, or -1. */
  private slotOf(key: string): number {
    const hash = fnv1aUnits(key);
    let at = hash % this.slots;
    for (;;) {
      const offset = this.table[at * 2 + 1] as number;
      if (offset === 0) return -1;
      if (this.table[at * 2] === hash) {
        const line = this.lineAt(offset - 1);
        if (this.scan(line.bytes, line.from, line.to) >= 0 && this.scannedKey(line.bytes) === key) return at;
      }
      at = at + 1 === this.slots ? 0 : at + 1;
    }
  }

  /** Is `input` (a document's `input`) one of the lines? */
  has(input: string): boolean {
    return this.slotOf(input) >= 0;
  }

  /** --resume: the line whose document's `input` this is has one already. */
  markDone(input: string): void {
    const at = this.slotOf(input);
    if (at < 0) return;
    this.done ??= new Uint8Array((this.slots + 7) >> 3);
    const bit = 1 << (at & 7);
    if (((this.done[at >> 3] as number) & bit) !== 0) return;
    this.done[at >> 3] = (this.done[at >> 3] as number) | bit;
    this.doneCount++;
  }

  /** The lines not done, in order (trimmed). A file is read again, a chunk at a time. */
  *[Symbol.iterator](): Iterator<string> {
    const reader = new Reader(this);
    while (reader.next()) {
      const hash = this.scan(reader.line, reader.from, reader.to);
      if (hash < 0) continue;
      // The line is the first of its kind if a slot holds its offset (its hash's run of slots leads there).
      const offset = reader.offset + 1;
      let at = hash % this.slots;
      let found = this.table[at * 2 + 1] as number;
      while (found !== 0 && found !== offset) {
        at = at + 1 === this.slots ? 0 : at + 1;
        found = this.table[at * 2 + 1] as number;
      }
      if (found === 0 || ((this.done?.[at >> 3] ?? 0) & (1 << (at & 7))) !== 0) continue;
      yield this.text ?? reader.line.toString('latin1', this.start, this.end);
    }
  }
}
