/**
 * The target list of a batch read where it is (issue 28: a million targets in constant memory): TargetList over a
 * file keeps 12 bytes of index a line and never the lines; repeated lines are one target, lines whose hashes
 * collide are two; a file that changes during a walk ends it; a stream is copied to a temporary file that has no
 * name from the start (nothing left behind), or kept in memory when none can be written.
 */
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo } from '../src/limits.js';
import { TargetList } from '../src/modes/batch.js';
import { fnv1aUnits } from '../src/modes/batch-list.js';
import { mainScript } from './helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-batch-list-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A TargetList over a file holding `text`, and the file's path. */
function fromFile(text: string | Buffer): { list: TargetList; path: string; close: () => void } {
  const path = join(dir, `list-${files++}.txt`);
  writeFileSync(path, text);
  const fd = openSync(path, 'r');
  return { list: new TargetList({ fd }), path, close: () => closeSync(fd) };
}

/** What the list's distinct lines are, the simple way: trimmed, no blanks or comments, the first of each key. */
function expected(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const key = echo(line);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(line);
  }
  return out;
}

/** Two distinct host names with the same FNV-1a hash (32 bits: a birthday search finds a pair). */
function collidingPair(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const name = `h${i}.example`;
    const hash = fnv1aUnits(name);
    const other = seen.get(hash);
    if (other !== undefined) return [other, name];
    seen.set(hash, name);
  }
}

/** Comment lines making up about `bytes` bytes: pushes what follows into a later chunk of the file (1 MiB). */
const filler = (bytes: number) => `${'# filler line, skipped\n'.repeat(Math.ceil(bytes / 23))}`;

describe('TargetList over a file', () => {
  it('gives what the list in memory gives: lines across chunks, repeats far apart, non-ASCII, a huge line', () => {
    const lines: string[] = [];
    for (let i = 0; i < 120_000; i++) {
      lines.push(`10.${(i >> 8) & 255}.${i & 255}.${i % 7},${25 + (i % 3)},smtp`);
      if (i % 1000 === 0) lines.push('', '# a comment', `  10.0.0.${i % 5},25,smtp\r`, `mx${i % 11}.exämple`);
      if (i === 60_000)
        lines.push(`x${'y'.repeat(1_500_000)}`, ` x${'y'.repeat(1_500_000)} `, '\u00a0host\u3000');
    }
    lines.push('host', 'last-line-without-newline');
    const text = lines.join('\n');
    const { list, close } = fromFile(text);
    try {
      const want = expected(text);
      const got = [...list];
      expect(got.length).toBe(want.length);
      expect(got).toEqual(want);
      expect(list.size).toBe(want.length);
      expect(list.has('10.0.0.0,25,smtp')).toBe(true);
      expect(list.has('mx7.exämple')).toBe(true);
      expect(list.has('host')).toBe(true);
      expect(list.has('10.0.0.0,25,smtp ')).toBe(false);
      expect(list.has('10.0.0.3,25,smtp')).toBe(false);
      // The same list from memory: the same lines.
      expect([...new TargetList(text)]).toEqual(want);
      // Walked again: the same again (each walk reads the file anew).
      expect([...list].length).toBe(want.length);
    } finally {
      close();
    }
  });

  it('two distinct lines with the same hash are both probed; each repeat of either is dropped', () => {
    const [a, b] = collidingPair();
    expect(a).not.toBe(b);
    expect(fnv1aUnits(a)).toBe(fnv1aUnits(b));
    // Next to each other (compared in the chunk read), and a chunk apart (the earlier line read back).
    for (const text of [
      `${a}\n${b}\n${b}\n${a}\n`,
      `${a}\n${filler(1_200_000)}${b}\n${filler(1_200_000)}  ${a}  \n${b}\n`,
    ]) {
      for (const list of [new TargetList(text), fromFile(text).list]) {
        expect([...list]).toEqual([a, b]);
        expect(list.size).toBe(2);
        expect(list.has(a) && list.has(b)).toBe(true);
        list.markDone(b);
        expect([...list]).toEqual([a]);
        expect(list.doneCount).toBe(1);
      }
    }
  });

  it('keeps 12 bytes of index a line, however long the lines: never the lines themselves', () => {
    const lines = Array.from(
      { length: 200_000 },
      (_, i) => `mail-${i}.customer-${i % 977}.example.net,587,submission`,
    );
    const { list, close } = fromFile(`${lines.join('\n')}\n`);
    try {
      expect(list.size).toBe(200_000);
      // The table: 1.5 slots a line of the file, 8 bytes a slot. The list is 11 MB (55 bytes a line).
      expect(list.indexBytes / list.size).toBeLessThanOrEqual(12.1);
      list.markDone(lines[5] as string);
      expect(list.indexBytes / list.size).toBeLessThanOrEqual(12.3);
      expect([...list].length).toBe(199_999);
    } finally {
      close();
    }
  });

  it('beyond a million lines the table grows with the distinct lines: at most 16 bytes each, and every line', () => {
    const count = 1_700_000;
    const text = Array.from({ length: count }, (_, i) => `h${i}`).join('\n');
    const list = new TargetList(text);
    expect(list.size).toBe(count);
    expect(list.indexBytes / list.size).toBeLessThanOrEqual(16);
    let i = 0;
    for (const line of list) if (line !== `h${i++}`) break;
    expect(i).toBe(count);
    expect(list.has('h1699999') && list.has('h0') && !list.has('h1700000')).toBe(true);
    // Two million blank lines and repeats: the table is no bigger than a million lines' (12 MiB).
    const blank = new TargetList(`${'\n'.repeat(1_000_000)}${'a\n'.repeat(1_000_000)}`);
    expect([...blank]).toEqual(['a']);
    expect(blank.indexBytes).toBeLessThanOrEqual(12 * 1024 * 1024 + 16);
  });

  it('a file that changes during a walk ends it, and says so', () => {
    const text = `first.example\n${filler(1_200_000)}second.example\n`;
    const { list, path, close } = fromFile(text);
    try {
      const walk = list[Symbol.iterator]();
      expect(walk.next().value).toBe('first.example');
      expect(list.changed).toBeUndefined();
      appendFileSync(path, 'third.example\n');
      // The next line is in the next chunk: the file is checked before it is read.
      expect(walk.next().done).toBe(true);
      expect(list.changed).toMatch(/changed while it was read/);
      // Unchanged, a walk goes to the end.
      const again = fromFile(text);
      expect([...again.list]).toEqual(['first.example', 'second.example']);
      expect(again.list.changed).toBeUndefined();
      again.close();
    } finally {
      close();
    }
  });
});

describe('mailprobe batch: the list read where it is', () => {
  let silent: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  let connections = 0;
  beforeAll(async () => {
    // Accepts and says nothing: each probe waits for its greeting until --timeout.
    silent = net.createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  /** Runs the CLI; `during` is called with its pid once the silent server has seen a connection. */
  function run(
    args: string[],
    options: { env?: Record<string, string>; stdin?: string; during?: (pid: number) => void },
  ): Promise<{ code: number | null; stdout: string; stderr: string; seen: unknown }> {
    return new Promise((resolve) => {
      const before = connections;
      const child = spawn(process.execPath, [mainScript, ...args], {
        env: { ...process.env, ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let seen: unknown;
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const watch = setInterval(() => {
        if (connections === before || !options.during || seen !== undefined) return;
        seen = options.during(child.pid as number) ?? null;
      }, 20);
      child.on('close', (code) => {
        clearInterval(watch);
        resolve({ code, stdout, stderr, seen });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(options.stdin ?? '');
    });
  }
  const inputs = (stdout: string) =>
    stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { input: string }).input);

  it('a stream is copied to a temporary file that has no name from the start, and nothing is left after', async () => {
    const spoolDir = mkdtempSync(join(dir, 'tmp-'));
    const lines = [
      `127.0.0.1,${port},submission`,
      `127.0.0.1,${port},smtp`,
      `127.0.0.1,${port},smtp`,
      '# c',
      'bad host!',
    ];
    let links: string[] = [];
    const result = await run(['batch', '-', '--workers', '1', '--timeout', '500', '--quiet'], {
      env: { TMPDIR: spoolDir },
      stdin: `${lines.join('\n')}\n`,
      during: (pid) => {
        links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`);
          } catch {
            return '';
          }
        });
        // While the run goes on: the folder is empty already.
        return readdirSync(spoolDir);
      },
    });
    expect(result.stderr).toBe('');
    expect(inputs(result.stdout).sort()).toEqual(
      [`127.0.0.1,${port},smtp`, `127.0.0.1,${port},submission`, 'bad host!'].sort(),
    );
    // The copy was open while the run went on, under TMPDIR, with no name left.
    expect(
      links.some((link) => link.startsWith(`${spoolDir}/mailprobe-targets-`) && link.endsWith('(deleted)')),
    ).toBe(true);
    expect(result.seen).toEqual([]);
    expect(readdirSync(spoolDir)).toEqual([]);
  }, 30_000);

  it('with no temporary file to be had, a stream is kept in memory: the same documents', async () => {
    const readOnly = join(dir, 'missing', 'tmp');
    const result = await run(['batch', '-', '--workers', '1', '--timeout', '500', '--quiet'], {
      env: { TMPDIR: readOnly },
      stdin: `127.0.0.1,${port},smtp\n127.0.0.1,${port},smtp\nbad host!\n`,
    });
    expect(result.stderr).toBe('');
    expect(inputs(result.stdout).sort()).toEqual([`127.0.0.1,${port},smtp`, 'bad host!']);
    mkdirSync(join(dir, 'missing'), { recursive: true });
  }, 30_000);

  it('a list file changed during the run: the run stops taking targets, says so, exit 2', async () => {
    const path = join(dir, 'changing.txt');
    writeFileSync(path, `127.0.0.1,${port},smtp\n${filler(1_200_000)}127.0.0.2,${port},smtp\n`);
    const result = await run(
      ['batch', path, '--workers', '1', '--concurrency', '1', '--timeout', '500', '--quiet'],
      { during: () => appendFileSync(path, '127.0.0.3,25,smtp\n') },
    );
    expect(inputs(result.stdout)).toEqual([`127.0.0.1,${port},smtp`]);
    expect(result.stderr).toMatch(/batch: .*changing\.txt changed while it was read .*1 of 2 targets done/);
    expect(result.code).toBe(2);
  }, 30_000);
});
