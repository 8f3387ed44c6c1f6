/**
 * `batch --html-dir DIR`: one HTML page a target, written into DIR as the target's document is. One page a
 * target, not one for the run, because a batch can be 100,000 targets (one page would be unbounded, held in memory
 * to the end and too big to open) and because each page goes to the people of that host.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { replaceFile } from './files.js';

/** --html-dir: an existing folder this process can write to, or one line and exit 2. */
export function pagesFolder(dir: string): string {
  const path = resolve(dir);
  try {
    if (!statSync(path).isDirectory()) throw new UsageError(`--html-dir: ${dir} is not a folder`);
    accessSync(path, constants.W_OK);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--html-dir: cannot write into ${dir} (missing or not writable)`);
  }
  return path;
}

/** Hex digits of SHA-256 in a page's name: 80 bits, so that no two lines are found with the same one. */
export const pageHashDigits = 20;

/**
 * A page's name, from its document's `input`: the line made safe for a file name on any system (lower case, for
 * a case-insensitive file system; anything but `a-z 0-9 . -` as `_`; no leading dot; at most 80 characters), a
 * dash, and the first pageHashDigits hex digits of the line's SHA-256 (of the line as given, so lines that differ
 * only in case or in the characters made `_` differ there).
 */
export function pageName(input: string): { name: string; hash: Buffer } {
  const safe = input
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 80);
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256').update(input, 'utf8').digest();
  return { name: `${safe || 'target'}-${hash.toString('hex', 0, pageHashDigits / 2)}`, hash };
}

/**
 * The page names a run has given, so that two of its lines never share a page even should their names come out
 * the same: the later one gets `-2` (then `-3` …) before `.html`. Kept per name given: the first 64 bits of
 * its hash in an open-addressing table (8 bytes a slot, at most 3/4 full: 11 to 21 bytes a page), never the
 * name; a name met again (its 64 bits) is counted in a map of its own, which only a collision fills.
 */
export class PageNames {
  private table = new Uint32Array(2 * 1024);
  private count = 0;
  /** The 64 bits 0: a slot holds 0, 0 when empty. */
  private zero = false;
  private readonly again = new Map<string, number>();

  /** The file name of the page of `input`, `.html` included: one no earlier input of the run was given. */
  take(input: string): string {
    const { name, hash } = pageName(input);
    if (!this.add(hash.readUInt32BE(0), hash.readUInt32BE(4))) {
      const times = (this.again.get(name) ?? 1) + 1;
      this.again.set(name, times);
      return `${name}-${times}.html`;
    }
    return `${name}.html`;
  }

  /** Adds the key; false when it was there. */
  private add(high: number, low: number): boolean {
    if (high === 0 && low === 0) {
      const fresh = !this.zero;
      this.zero = true;
      return fresh;
    }
    const slots = this.table.length / 2;
    let at = (high ^ low) & (slots - 1);
    for (;;) {
      const h = this.table[at * 2] as number;
      const l = this.table[at * 2 + 1] as number;
      if (h === 0 && l === 0) break;
      if (h === high && l === low) return false;
      at = (at + 1) & (slots - 1);
    }
    this.table[at * 2] = high;
    this.table[at * 2 + 1] = low;
    if (++this.count * 4 > slots * 3) this.grow();
    return true;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    this.count = 0;
    for (let at = 0; at < old.length; at += 2) {
      const high = old[at] as number;
      const low = old[at + 1] as number;
      if (high !== 0 || low !== 0) this.add(high, low);
    }
  }
}

/**
 * Writes each target's page into `dir`, from its NDJSON document (the same data, so workers need not send more):
 * the page of its hosts, or for a line that could not be probed the failure page. A page is always a new file
 * renamed over its name (replaceFile): a symlink, a FIFO or a device node there is replaced, never written
 * through (it would hang the run or put the page into the NDJSON on stdout); a failure throws a WriteError.
 */
export function pageWriter(
  dir: string,
  html: typeof import('../render/html.js'),
  command: string | undefined,
): (line: string) => void {
  const names = new PageNames();
  return (line) => {
    const document = JSON.parse(line) as import('../render/json.js').JsonReport;
    const input = document.input ?? '';
    const page =
      document.hosts.length > 0
        ? html.renderHtml(document.hosts, document.result, undefined, {
            command,
            generatedAt: document.generatedAt,
          })
        : html.renderHtmlFailure(
            `${input}: ${document.result.error?.message ?? 'not probed'}`,
            document.result.error?.exitCode ?? 2,
          );
    replaceFile(join(dir, names.take(input)), page);
  };
}
