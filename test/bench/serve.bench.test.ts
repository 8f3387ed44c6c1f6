/**
 * `mailprobe serve`'s memory under a flood of distinct targets: the shipped command (the package's bin), asked
 * for a million distinct targets (IP literals outside `--allow`, so each is remembered for the minimum interval
 * and then answered 403, and nothing is probed), with the longest minimum interval, so that no entry expires and
 * only the bound (100,000 remembered targets) keeps memory in check. Prints the resident memory (VmRSS, and the
 * peak VmHWM) at the start, after 100,000 requests and after a million, with the remembered targets
 * (mailprobe_serve_recent_targets). Before the bound, each distinct target kept about 210 bytes for ever.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { expect, it } from 'vitest';
import { maxPipelined } from '../../src/modes/serve.js';
import { bin, root } from './common.js';

/** VmRSS and VmHWM of a process, in MiB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/**
 * Sends `count` GET /probe requests for distinct targets from `first` on, pipelined over a few connections: half
 * as many waiting on each as serve allows (more, and it closes the connection; an answer read here may not yet
 * count as sent there).
 */
async function flood(port: number, first: number, count: number): Promise<void> {
  const connections = 4;
  const window = maxPipelined / 2;
  let next = first;
  const end = first + count;
  const target = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = net.connect({ host: '127.0.0.1', port });
          let outstanding = 0;
          let carry = '';
          const send = () => {
            let batch = '';
            while (outstanding < window && next < end) {
              batch += `GET /probe?target=${target(next++)}&module=all HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
              outstanding++;
            }
            if (batch) socket.write(batch);
            if (outstanding === 0) {
              socket.end();
              resolve();
            }
          };
          socket.on('connect', send);
          socket.on('error', reject);
          socket.on('data', (chunk: Buffer) => {
            const text = carry + chunk.toString('latin1');
            const answers = text.split('HTTP/1.1 ').length - 1;
            carry = text.slice(-8);
            // "HTTP/1.1 " overlaps itself nowhere: one cut by a chunk's end is counted once, with the next chunk.
            outstanding -= answers;
            send();
          });
        }),
    ),
  );
}

/** The remembered targets and the answers by status code, from /metrics. */
async function health(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const codes = [...text.matchAll(/^mailprobe_serve_requests_total\{code="(\d+)"\} (\d+)$/gm)]
    .map(([, code, count]) => `${code}: ${count}`)
    .join(', ');
  return `remembered ${/^mailprobe_serve_recent_targets (\d+)$/m.exec(text)?.[1] ?? '?'}   answers ${codes || 'none'}`;
}

/** One serve process flooded with a million distinct targets; its figures as lines. */
async function measure(title: string, nodeOptions: string): Promise<string[]> {
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const { port } = free.address() as net.AddressInfo;
  await new Promise<void>((resolve) => free.close(() => resolve()));
  const child = spawn(
    process.execPath,
    [
      bin,
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--allow',
      '192.0.2.0/24',
      '--min-interval',
      '86400000',
      '--max-concurrent',
      '1000',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: nodeOptions } },
  );
  const lines = [title];
  try {
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    for (let i = 0; i < 100 && !stderr.includes('listening'); i++)
      await new Promise((r) => setTimeout(r, 50));
    const pid = child.pid ?? 0;
    const show = async (label: string) => {
      const { rss, peak } = memory(pid);
      lines.push(
        `  ${label.padEnd(36)} RSS ${rss.toFixed(1).padStart(6)} MiB   peak ${peak.toFixed(1).padStart(6)} MiB   ${await health(port)}`,
      );
    };
    await show('started');
    const begin = performance.now();
    await flood(port, 0, 100_000);
    await show('after 100,000 requests');
    await flood(port, 100_000, 900_000);
    const seconds = (performance.now() - begin) / 1000;
    await show('after 1,000,000 distinct targets');
    lines.push(`  (${Math.round(1_000_000 / seconds)} requests a second over 4 pipelined connections)`);
    expect(child.exitCode).toBe(null);
  } catch (error) {
    lines.push(
      `  FAILED: ${error instanceof Error ? error.message : String(error)} (exit ${child.exitCode})`,
    );
  } finally {
    child.kill('SIGKILL');
  }
  return lines;
}

it('serve: memory after 100,000 requests and after a million distinct targets', async () => {
  const lines = [
    ...(await measure('serve memory, distinct targets outside --allow (each remembered, answered 403):', '')),
    // V8 grows its heap lazily: RSS above says little of what is live. With the old generation held to 96 MiB, a
    // serve that kept every target (108 MiB of Map for the million, below) would run out of memory.
    ...(await measure('the same with NODE_OPTIONS=--max-old-space-size=96:', '--max-old-space-size=96')),
  ];
  // The structure alone, after garbage collection (test/bench/recent-heap.mjs).
  const heap = JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', `${root}test/bench/recent-heap.mjs`], {
      encoding: 'utf8',
    }),
  ) as { bounded: number; remembered: number; ms: number; plain: number };
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
  lines.push(
    `the remembered targets alone, after GC, a million taken: ${mib(heap.bounded)} for ${heap.remembered} kept (${Math.round(heap.bounded / heap.remembered)} bytes each, ${(heap.ms / 1000).toFixed(1)} us a take); an unbounded Map of the million: ${mib(heap.plain)}`,
  );
  console.log(lines.join('\n'));
  expect(heap.remembered).toBeGreaterThan(0);
});
