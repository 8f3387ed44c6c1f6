/**
 * The README's Kubernetes indexed Job, as separate processes (issue 28 item 4): each shard a `mailprobe batch
 * --shard I/N --resume part-I >> part-I` process of its own; one is killed mid-run (a pod restarted) and run again
 * with the same command; the parts merged by concatenation are every target exactly once.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../src/demo/servers.js';
import { shardOf } from '../src/modes/batch.js';
import { mainScript } from './helpers/cli.js';
import { validReport } from './helpers/schema.js';

let good: Fixture;
let dir: string;
beforeAll(async () => {
  good = await startFixture({ protocol: 'smtp', tls: 'starttls' });
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-shards-'));
});
afterAll(async () => {
  await good.close();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '');

/** One pod: the Job's command, its stdout appended to its part file (`>>`). */
function pod(targets: string, index: number, count: number, part: string) {
  const fd = openSync(part, 'a');
  const child = spawn(
    process.execPath,
    [
      mainScript,
      'batch',
      targets,
      '--shard',
      `${index}/${count}`,
      '--port',
      `${good.port}=submission`,
      // All the targets share one address: paced, each shard takes a few seconds.
      '--per-address',
      '1',
      '--address-interval',
      '120',
      '--resume',
      part,
      '--quiet',
    ],
    { stdio: ['ignore', fd, 'pipe'] },
  );
  closeSync(fd);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, done };
}

describe('shards as separate processes (the indexed Job)', () => {
  it('a shard killed mid-run resumes from its own part; the parts concatenated are every target once', async () => {
    // ZGrab2 lines (ip, domain, tag): 36 distinct targets, each probing --port on 127.0.0.1.
    const inputs = Array.from({ length: 36 }, (_, i) => `127.0.0.1,,t${i}`);
    const targets = join(dir, 'hosts.txt');
    writeFileSync(targets, `${inputs.join('\n')}\n`);
    const count = 3;
    const parts = [1, 2, 3].map((index) => join(dir, `part-${index - 1}.ndjson`));
    const pods = [1, 2, 3].map((index) => pod(targets, index, count, parts[index - 1] as string));
    // Pod 2 is killed (SIGKILL: no clean-up, as when a node dies) once it has written two documents.
    const killed = pods[1];
    for (let waited = 0; waited < 20_000; waited += 20) {
      if (lines(parts[1] as string).length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    killed?.child.kill('SIGKILL');
    const ends = await Promise.all(pods.map((one) => one.done));
    expect(ends[1]?.signal).toBe('SIGKILL');
    // 1: the fixture's certificate is not for 127.0.0.1, a high finding; what matters is a whole run (not 2 or 70).
    expect(ends[0]?.code).toBe(1);
    expect(ends[2]?.code).toBe(1);
    const before = lines(parts[1] as string).length;
    const mine = inputs.filter((input) => shardOf(input, count) === 2);
    expect(before).toBeLessThan(mine.length);
    // The pod restarts with the same command: --resume skips what its part holds, drops a line cut mid-write.
    const again = await pod(targets, 2, count, parts[1] as string).done;
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('');
    // Merging: the parts concatenated (cat part-*.ndjson), every target exactly once, every line a document.
    const merged = parts.flatMap((part) => lines(part));
    const seen = merged.map((line) => validReport<{ input: string }>(line).input);
    expect(seen.sort()).toEqual([...inputs].sort());
    expect(new Set(seen).size).toBe(inputs.length);
    // Each part holds only its own shard's targets.
    for (const [index, part] of parts.entries())
      for (const line of lines(part))
        expect(shardOf(validReport<{ input: string }>(line).input, count)).toBe(index + 1);
  }, 60_000);
});
