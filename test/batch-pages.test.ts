/**
 * `batch --html-dir`: what is already in the folder never hangs the run or reaches the NDJSON (a FIFO, a symlink
 * to /dev/stdout or to a file elsewhere at a page's name is replaced, never written through); a page that cannot
 * be written ends the run with one line and exit 74, whatever --workers, with the documents written so far kept;
 * two lines never share a page, even lines whose safe names are the same. Targets are names under .invalid,
 * which are never resolved (RFC 6761 §6.4): each gets the failure page, at once.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PageNames, pageName } from '../src/cli/batch-pages.js';
import { root } from './helpers/cli.js';
import { expectInertHtml } from './helpers/html.js';

const bin = join(root, 'bin/mailprobe.cjs');

/** The bundled CLI, as a user runs it, killed (SIGKILL: a blocked open ignores SIGINT) if not done in time. */
function run(args: string[], timeoutMs = 30_000) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    },
  );
}

const inputs = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { input: string }).input);

describe('batch --html-dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailprobe-pages-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const lines = Array.from({ length: 6 }, (_, i) => `host${i}.invalid`);
  const list = join(dir, 'list.txt');
  writeFileSync(list, `${lines.join('\n')}\n`);

  /** A new folder, and the page names the lines get (from a run into a folder of its own). */
  async function folderAndNames(name: string): Promise<{ folder: string; names: string[] }> {
    const scratch = join(dir, `${name}-names`);
    mkdirSync(scratch);
    const first = await run(['batch', list, '--html-dir', scratch, '--workers', '1', '-q']);
    expect(first.code).toBe(1);
    const names = readdirSync(scratch).sort();
    expect(names).toHaveLength(lines.length);
    const folder = join(dir, name);
    mkdirSync(folder);
    return { folder, names };
  }

  it('a FIFO at a page name is replaced by the page: the run ends, every document written', async () => {
    const { folder, names } = await folderAndNames('fifo');
    for (const name of names) execFileSync('mkfifo', [join(folder, name)]);
    const result = await run(['batch', list, '--html-dir', folder, '--workers', '1', '-q'], 20_000);
    // Before: the first page was written into the FIFO, which blocked the process for good (no reader).
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(inputs(result.stdout).sort()).toEqual([...lines].sort());
    for (const name of names) expect(lstatSync(join(folder, name)).isFile()).toBe(true);
  });

  it('a symlink at a page name is replaced, never written through: not to stdout, not to a file elsewhere', async () => {
    const { folder, names } = await folderAndNames('links');
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'not a page\n');
    const [toStdout = '', toFile = ''] = names;
    symlinkSync('/dev/stdout', join(folder, toStdout));
    symlinkSync(outside, join(folder, toFile));
    for (const workers of ['1', '2']) {
      const result = await run(['batch', list, '--html-dir', folder, '--workers', workers, '-q']);
      expect(result.code).toBe(1);
      // Before: the page went into the NDJSON stream, which no longer parsed.
      expect(result.stdout).not.toContain('<html');
      expect(inputs(result.stdout).sort()).toEqual([...lines].sort());
      expect(readFileSync(outside, 'utf8')).toBe('not a page\n');
      for (const name of [toStdout, toFile]) {
        expect(lstatSync(join(folder, name)).isFile()).toBe(true);
        expect(expectInertHtml(readFileSync(join(folder, name), 'utf8')).text).toContain('✗ FAILED');
      }
    }
  });

  it('a page that cannot be written (a folder at its name): one line, exit 74, for any --workers', async () => {
    const { folder, names } = await folderAndNames('eisdir');
    const blocked = names.find((name) => name.startsWith('host3.invalid-')) ?? '';
    mkdirSync(join(folder, blocked));
    for (const workers of ['2', '5', '1']) {
      const result = await run(['batch', list, '--html-dir', folder, '--workers', workers, '-q'], 20_000);
      // Before, with --workers 2: an uncaught WriteError in the workers' message handler, its minified
      // source and stack on stderr, exit 1.
      expect(result.signal).toBeNull();
      expect(result.code).toBe(74);
      expect(result.stderr).toBe(`mailprobe: cannot write ${join(folder, blocked)} (EISDIR)\n`);
      // The documents written are whole, and each has its page; the blocked target has none (--resume redoes it).
      const done = inputs(result.stdout);
      expect(done).not.toContain('host3.invalid');
      for (const input of done)
        expect(readdirSync(folder).filter((name) => name.startsWith(`${input}-`))).toHaveLength(1);
    }
  });

  it('two lines whose safe names and 32-bit FNV-1a hashes are the same get two pages', async () => {
    // Found by brute force: both were named mailserverfleetexamplehostnameab.invalid-b049e55c.html.
    const pair = ['MAiLsERveRFlEETexamplehostnameab.invalid', 'MaIlservErFleeTExamplehostnameab.invalid'];
    const file = join(dir, 'pair.txt');
    writeFileSync(file, `${pair.join('\n')}\n`);
    const folder = join(dir, 'pair');
    mkdirSync(folder);
    const result = await run(['batch', file, '--html-dir', folder, '-q']);
    expect(result.code).toBe(1);
    const pages = readdirSync(folder).sort();
    expect(pages).toHaveLength(2);
    const shown = pages.map((page) => expectInertHtml(readFileSync(join(folder, page), 'utf8')).text);
    for (const input of pair) expect(shown.filter((text) => text.includes(`${input}:`))).toHaveLength(1);
    for (const page of pages)
      expect(page).toMatch(/^mailserverfleetexamplehostnameab\.invalid-[0-9a-f]{20}\.html$/);
  });

  it('one run never gives a name twice, however many pages (the table grows)', () => {
    const names = new PageNames();
    const given = new Set<string>();
    for (let i = 0; i < 5000; i++) given.add(names.take(`host${i}.invalid`));
    expect(given.size).toBe(5000);
    // The same 64 bits again (here, the same line): the later page gets -2, then -3.
    expect(names.take('host7.invalid')).toBe(`${pageName('host7.invalid').name}-2.html`);
    expect(names.take('host7.invalid')).toBe(`${pageName('host7.invalid').name}-3.html`);
    expect(given).toContain(`${pageName('host7.invalid').name}.html`);
  });
});
