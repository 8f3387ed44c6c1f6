/**
 * The targets of a batch: the list's distinct lines read lazily (TargetList: a million targets in constant
 * memory, issue 28), each parsed into a host and its ports as it is reached (parseTarget).
 */

import { echo } from '../limits.js';
import { isHostName, isIP, normalizeHostName } from '../net/names.js';
import { defaultPorts, type PortSpec } from '../probe/host.js';
import { isService, referenceTable } from '../reference/table.js';
import type { Service } from '../types/index.js';

/** One target of the batch: a host and the ports to probe there. */
export interface BatchTarget {
  /** The input line, as given (trimmed). */
  input: string;
  host: string;
  ports: PortSpec[];
}

/**
 * The `input` of a target's document: the line as given, or for a line longer than 1 KiB (no target is: it can
 * only be an error) its first KiB and its length. --resume matches documents to lines by this.
 */
export function documentInput(input: string): string {
  return echo(input);
}

/**
 * Reads targets: a host or address a line (the seven ports, or `ports`: the CLI's --ports/--port), or
 * `host,port,service`, or ZGrab2's CSV (`ip,domain,tag` or `ip,domain,tag,port`: the domain when there is one,
 * the port with its reference service). A line that names its port keeps it, whatever `ports` says.
 * Blank lines, `#` comments and repeated lines are skipped; a line that names no target is a target that fails with the reason.
 */
export function parseTargets(
  text: string,
  ports: readonly PortSpec[] = defaultPorts,
): {
  targets: BatchTarget[];
  errors: { input: string; reason: string }[];
} {
  const targets: BatchTarget[] = [];
  const errors: { input: string; reason: string }[] = [];
  for (const input of new TargetList(text)) {
    const parsed = parseTarget(input, ports);
    if ('reason' in parsed) errors.push(parsed);
    else targets.push(parsed);
  }
  return { targets, errors };
}

/** One target line (trimmed, not blank, not a comment): the target, or why it names none. */
export function parseTarget(
  input: string,
  ports: readonly PortSpec[] = defaultPorts,
): BatchTarget | { input: string; reason: string } {
  const fields = input.split(',').map((field) => field.trim());
  let host = fields[0] ?? '';
  let linePorts: PortSpec[] = ports as PortSpec[];
  if (fields.length === 3 && /^\d+$/.test(fields[1] ?? '') && isService(fields[2] ?? '')) {
    linePorts = [{ port: Number(fields[1]), service: fields[2] as Service }];
  } else if (fields.length >= 3) {
    // ZGrab2: ip, domain, tag[, port]
    host = fields[1] || fields[0] || '';
    const port = fields[3] ? Number(fields[3]) : undefined;
    if (port !== undefined) {
      const row = referenceTable.find((entry) => entry.port === port);
      if (!row)
        return {
          input,
          reason: `port ${echo(fields[3] ?? '', 80)} has no reference service (use host,port,service)`,
        };
      linePorts = [{ port, service: row.service }];
    }
  } else if (fields.length !== 1) {
    return { input, reason: 'expected HOST, HOST,PORT,SERVICE or ZGrab2 CSV (ip,domain,tag[,port])' };
  }
  const named = normalizeHostName(host);
  if (!named || (!isIP(named.name) && !isHostName(named.name)))
    return { input, reason: `'${host.slice(0, 80)}' is not a host name or IP address` };
  if (linePorts.some((spec) => spec.port < 1 || spec.port > 65535))
    return { input, reason: 'a port out of range (1-65535)' };
  return { input, host: named.name, ports: linePorts };
}

/**
 * The distinct target lines of a list, in order, read lazily (issue 28: a million targets in constant memory): no
 * object per line is kept, only the list's bytes (never its whole text as a string besides) and, per distinct line, where it starts and ends (8 bytes), a
 * slot of an open-addressing index on its `input` key (4 bytes at load ≤ 1/2, so 8) and a done bit for --resume.
 * A line is trimmed; blank lines and `#` comments are skipped; a line repeated (the same `input` key, see
 * documentInput) is one target.
 */
export class TargetList implements Iterable<string> {
  /** Distinct lines. */
  size = 0;
  /** Of them, the lines --resume found done. */
  doneCount = 0;
  /** Where each distinct line starts and ends in `bytes`, trimmed: two numbers a line. */
  private bounds = new Uint32Array(2048);
  /** Each distinct line's hash (of its `input` key), for growing the index without decoding every line. */
  private hashes = new Uint32Array(1024);
  private slots = new Int32Array(4096).fill(-1);
  private done: Uint8Array | undefined;

  /** The list's bytes (UTF-8): its text is decoded a line at a time, never whole. */
  private readonly bytes: Buffer;

  constructor(text: string | Buffer) {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    this.bytes = bytes;
    let from = 0;
    while (from <= bytes.length) {
      let to = bytes.indexOf(10, from);
      if (to < 0) to = bytes.length;
      this.scan(from, to);
      from = to + 1;
    }
  }

  /**
   * One line of the list. An ASCII line of at most 1 KiB (what a target is) is trimmed, hashed and compared as
   * bytes, with no string made; any other line is decoded and trimmed as a string (its `input` key may differ from
   * its text: documentInput).
   */
  private scan(from: number, to: number): void {
    const bytes = this.bytes;
    let start = from;
    let end = to;
    while (start < end && isAsciiSpace(bytes[start] as number)) start++;
    while (end > start && isAsciiSpace(bytes[end - 1] as number)) end--;
    if (start === end || bytes[start] === 0x23) return;
    let ascii = end - start <= 1024;
    let hash = 0x811c9dc5;
    for (let i = start; ascii && i < end; i++) {
      const byte = bytes[i] as number;
      if (byte >= 0x80) ascii = false;
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    if (ascii) {
      hash >>>= 0;
      const at = this.findBytes(start, end, hash);
      if (this.slots[at] === -1) this.add(at, start, end, hash);
      return;
    }
    const decoded = bytes.toString('utf8', start, end);
    const line = decoded.trim();
    if (line === '' || line.startsWith('#')) return;
    // The whitespace trimmed is whole characters, each from its own bytes: the bounds of the line as bytes.
    const lead = Buffer.byteLength(decoded.slice(0, decoded.length - decoded.trimStart().length));
    const trail = Buffer.byteLength(decoded.slice(decoded.trimEnd().length));
    const key = documentInput(line);
    const keyHash = fnv1aUnits(key);
    const at = this.find(key, keyHash);
    if (this.slots[at] === -1) this.add(at, start + lead, end - trail, keyHash);
  }

  /** A distinct line (trimmed). */
  private line(index: number): string {
    return this.bytes.toString('utf8', this.bounds[index * 2], this.bounds[index * 2 + 1]);
  }

  private add(at: number, start: number, end: number, hash: number): void {
    if ((this.size + 1) * 2 > this.bounds.length) {
      const grown = new Uint32Array(this.bounds.length * 2);
      grown.set(this.bounds);
      this.bounds = grown;
      const hashes = new Uint32Array(this.hashes.length * 2);
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    this.bounds[this.size * 2] = start;
    this.bounds[this.size * 2 + 1] = end;
    this.hashes[this.size] = hash;
    this.slots[at] = this.size++;
    if (this.size * 2 > this.slots.length) this.rehash();
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let index = 0; index < this.size; index++) {
      let at = (this.hashes[index] as number) & mask;
      while (slots[at] !== -1) at = (at + 1) & mask;
      slots[at] = index;
    }
    this.slots = slots;
  }

  /** The slot of an ASCII line of at most 1 KiB (its own `input` key), by its bytes. */
  private findBytes(start: number, end: number, hash: number): number {
    const mask = this.slots.length - 1;
    let at = hash & mask;
    for (;;) {
      const index = this.slots[at] as number;
      if (index === -1) return at;
      const from = this.bounds[index * 2] as number;
      const to = this.bounds[index * 2 + 1] as number;
      if (to - from === end - start && this.bytes.compare(this.bytes, start, end, from, to) === 0) return at;
      at = (at + 1) & mask;
    }
  }

  /** The slot of `key`: the one holding it, or the empty one where it would go. */
  private find(key: string, hash = fnv1aUnits(key)): number {
    const mask = this.slots.length - 1;
    let at = hash & mask;
    for (;;) {
      const index = this.slots[at] as number;
      if (index === -1 || documentInput(this.line(index)) === key) return at;
      at = (at + 1) & mask;
    }
  }

  /** Is `input` (a document's `input`) one of the lines? */
  has(input: string): boolean {
    return this.slots[this.find(input)] !== -1;
  }

  /** --resume: the line whose document's `input` this is has one already. */
  markDone(input: string): void {
    const index = this.slots[this.find(input)] as number;
    if (index === -1) return;
    this.done ??= new Uint8Array(this.size);
    if (this.done[index] === 1) return;
    this.done[index] = 1;
    this.doneCount++;
  }

  isDone(index: number): boolean {
    return this.done?.[index] === 1;
  }

  /** The lines not done, in order. */
  *[Symbol.iterator](): Iterator<string> {
    for (let index = 0; index < this.size; index++) if (!this.isDone(index)) yield this.line(index);
  }
}

/** Whitespace that String#trim removes, in ASCII: tab, LF, VT, FF, CR, space. */
function isAsciiSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

/**
 * FNV-1a over UTF-16 code units: the index's hash (not the shard's, which is over UTF-8 bytes). Over an ASCII
 * line it is the hash of its bytes (TargetList.scan).
 */
function fnv1aUnits(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
