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
  hash: (text: string) => number,
): (line: string) => void {
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
    // Named after the input line, made safe for a file name, and its FNV-1a hash (two lines never share a page).
    const safe = input
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 80);
    replaceFile(join(dir, `${safe || 'target'}-${hash(input).toString(16).padStart(8, '0')}.html`), page);
  };
}
