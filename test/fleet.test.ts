/**
 * Batch mode at fleet scale (issue 28): the target list read lazily (TargetList), a long run's heap that does not
 * grow, the worker default from the cores, and the per-probe costs taken out of the way (non-public addresses
 * without a BlockList call).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultWorkers, localShareMaxWorkers, maxDefaultWorkers } from '../src/cli/batch-command.js';
import { parseTargets, TargetList } from '../src/modes/batch.js';
import { nonPublicAddress } from '../src/net/names.js';
import { cli, mainScript, root } from './helpers/cli.js';

describe('TargetList: the distinct lines of a list, read lazily', () => {
  it('skips blanks and comments, trims, keeps the first of repeated lines, in order', () => {
    const list = new TargetList(' b \n\n# c\na\r\nb\n\ta\t\nc');
    expect([...list]).toEqual(['b', 'a', 'c']);
    expect(list.size).toBe(3);
    expect(list.has('a')).toBe(true);
    expect(list.has('# c')).toBe(false);
  });

  it('lines that are not plain ASCII: trimmed as String#trim does, repeated ones once, long ones by their key', () => {
    const long = `x${'é'.repeat(700)}`;
    const list = new TargetList(
      Buffer.concat([
        Buffer.from(`\u00a0host\u3000\nhost\nhéllo\n  héllo \n${long}\n${long}\n`),
        Buffer.from([0xff, 0x0a, 0xfe, 0x0a]),
      ]),
    );
    expect([...list]).toEqual(['host', 'héllo', long, '\ufffd']);
    expect(list.has('host')).toBe(true);
    expect(list.has('héllo')).toBe(true);
  });

  it('--resume marks: the lines done are left out, counted once', () => {
    const list = new TargetList('a\nb\nc\n');
    list.markDone('b');
    list.markDone('b');
    list.markDone('not a line');
    expect([...list]).toEqual(['a', 'c']);
    expect(list.doneCount).toBe(1);
  });

  it('parseTargets over it gives what it gave before: targets and errors, each line once', () => {
    const { targets, errors } = parseTargets(
      'mx.example\nmx.example\n192.0.2.7,2525,submission\nnot a host!\n',
    );
    expect(targets.map((t) => t.input)).toEqual(['mx.example', '192.0.2.7,2525,submission']);
    expect(errors.map((e) => e.input)).toEqual(['not a host!']);
  });

  it('many lines: every distinct one, through the index growing many times', () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => `h${i % 20_000}.example`);
    expect([...new TargetList(lines.join('\n'))]).toEqual(lines.slice(0, 20_000));
  });
});

describe('a long run in constant memory', () => {
  it('the heap after a full GC does not grow over 10,000 targets; a list file costs < 16 bytes a line', async () => {
    // A port nothing listens on: each target is refused at once.
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const free = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(free));
      });
    });
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--expose-gc', `${root}test/helpers/batch-heap.mjs`, String(port), '10000'],
        { timeout: 120_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    const seen = JSON.parse(out) as { documents: number; early: number; late: number; indexBytes: number };
    expect(seen.documents).toBe(10_000);
    // Between a tenth of the run and its end: no more than 2 MB (a Map of every target would be several).
    expect(seen.late - seen.early).toBeLessThan(2 * 1024 * 1024);
    // The table of a list read where it is: 12 bytes a line (the lines themselves, 28 bytes each, are not kept).
    expect(seen.indexBytes).toBeLessThan(16);
  }, 150_000);
});

describe('the batch process with workers: a young generation that does not grow', () => {
  // Above localShareMaxWorkers workers this process only hands out targets and writes documents.
  it("keeps V8's new space at most 4 MB over 20,000 targets (it would grow to 16-32 MB)", async () => {
    // A port nothing listens on, on 20,000 loopback addresses: each target is refused at once.
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const free = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(free));
      });
    });
    const dir = mkdtempSync(join(tmpdir(), 'mailprobe-new-space-'));
    try {
      const list = join(dir, 'list.txt');
      writeFileSync(
        list,
        Array.from({ length: 20_000 }, (_, i) => `127.3.${i >> 8}.${(i & 255) + 1},${port},smtp`).join('\n'),
      );
      const out = join(dir, 'new-space.json');
      const run = await new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(
          process.execPath,
          [mainScript, 'batch', list, '--workers', String(localShareMaxWorkers + 1), '--quiet'],
          {
            env: {
              ...process.env,
              NODE_OPTIONS: `--require ${root}test/helpers/new-space-hook.cjs`,
              MAILPROBE_NEW_SPACE_OUT: out,
            },
            maxBuffer: 1 << 30,
            timeout: 120_000,
          },
          (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout }),
        ),
      );
      expect(run.stdout.split('\n').filter(Boolean).length).toBe(20_000);
      const { newSpace } = JSON.parse(readFileSync(out, 'utf8')) as { newSpace: number };
      expect(newSpace).toBeGreaterThan(0);
      expect(newSpace).toBeLessThanOrEqual(4 * 1024 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});

describe('--workers by default', () => {
  it('one a core, at least 1, at most maxDefaultWorkers', () => {
    expect(defaultWorkers(1)).toBe(1);
    expect(defaultWorkers(2)).toBe(2);
    expect(defaultWorkers(12)).toBe(12);
    expect(defaultWorkers(128)).toBe(maxDefaultWorkers);
    expect(defaultWorkers(0)).toBe(1);
  });

  it('--help says so', async () => {
    const run = await cli(['batch', '--help'], { MAILPROBE_NO_CACHE: '1', COLUMNS: '200' });
    expect(run.stdout.replace(/\s+/g, ' ')).toMatch(/--workers .*default: the number of cores, at most 16/);
  });
});

describe('non-public addresses, IPv4 without a BlockList call', () => {
  it('agrees with the BlockList on the edges of every range and on random addresses', () => {
    const list = new net.BlockList();
    for (const [prefix, bits] of [
      ['0.0.0.0', 8],
      ['10.0.0.0', 8],
      ['100.64.0.0', 10],
      ['127.0.0.0', 8],
      ['169.254.0.0', 16],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
    ] as const)
      list.addSubnet(prefix, bits, 'ipv4');
    const edges = [
      '0.0.0.1',
      '1.0.0.0',
      '9.255.255.255',
      '10.0.0.0',
      '10.255.255.255',
      '11.0.0.0',
      '100.63.255.255',
      '100.64.0.0',
      '100.127.255.255',
      '100.128.0.0',
      '126.255.255.255',
      '127.0.0.1',
      '127.2.3.4',
      '128.0.0.0',
      '169.253.255.255',
      '169.254.0.1',
      '169.255.0.0',
      '172.15.255.255',
      '172.16.0.0',
      '172.31.255.255',
      '172.32.0.0',
      '192.167.255.255',
      '192.168.1.1',
      '192.169.0.0',
      '8.8.8.8',
      '255.255.255.255',
    ];
    const random = Array.from({ length: 5000 }, () =>
      Array.from({ length: 4 }, () => Math.floor(Math.random() * 256)).join('.'),
    );
    for (const address of [...edges, ...random])
      expect(nonPublicAddress(address) !== undefined, address).toBe(list.check(address, 'ipv4'));
    expect(nonPublicAddress('127.9.9.9')).toBe('loopback');
    expect(nonPublicAddress('169.254.1.1')).toBe('link-local');
    expect(nonPublicAddress('::ffff:10.1.2.3')).toBe('private');
    expect(nonPublicAddress('192.0.2.1')).toBeUndefined();
  });

  it('an IPv6 address that reaches an IPv4 host (NAT64, 6to4) is as public as that host', () => {
    expect(nonPublicAddress('64:ff9b::7f00:1')).toBe('loopback');
    expect(nonPublicAddress('64:ff9b::a9fe:a9fe')).toBe('link-local');
    expect(nonPublicAddress('2002:a00:1::1')).toBe('private');
    expect(nonPublicAddress('64:ff9b::808:808')).toBeUndefined();
    expect(nonPublicAddress('2001:db8::7f00:1')).not.toBe('loopback');
  });
});
