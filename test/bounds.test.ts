/** Bounds: aborts that act at once (DNS included), and transcripts capped per port. */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover } from '../src/discovery/hosts.js';
import { AbortedError } from '../src/errors.js';
import { defaultLimits } from '../src/limits.js';
import { Dns } from '../src/net/dns.js';
import { probeHost } from '../src/probe/host.js';
import { capTranscript, probePort } from '../src/probe/port.js';
import type { PortResult } from '../src/types/index.js';
import { fixtureServers } from './helpers/fixtures.js';
import { testLimits } from './helpers/probe.js';

const { raw } = fixtureServers();

/** A DNS server that reads every query and never answers. */
let blackHole: dgram.Socket;
let dnsServer = '';
beforeAll(async () => {
  blackHole = dgram.createSocket('udp4');
  blackHole.on('message', () => {});
  await new Promise<void>((resolve) => blackHole.bind(0, '127.0.0.1', resolve));
  dnsServer = `127.0.0.1:${blackHole.address().port}`;
});
afterAll(() => blackHole.close());

describe('an abort acts at once', () => {
  it('probeHost: during DNS, it rejects with AbortedError within a few ms, not at the resolver timeout', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    await expect(
      probeHost('mail.never-answers.test', { dnsServer, signal: controller.signal }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('discover() takes a signal too', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    await expect(
      discover('example.test', new Dns({ server: dnsServer, timeoutMs: 5000 }), {
        signal: controller.signal,
      }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('an abort while a silent server is asked what it is (the goodbye step) is aborted, not silent', async () => {
    const port = await raw(() => {}); // accepts, never speaks
    // Abort 100 ms into the goodbye step (after the 200 ms greeting deadline).
    const second = new AbortController();
    setTimeout(() => second.abort(), 300);
    const aborted = await probePort({
      address: '127.0.0.1',
      family: 4,
      port,
      service: 'submission',
      servername: 'localhost',
      limits: { ...testLimits, greetingMs: 200, replyMs: 2000 },
      signal: second.signal,
    });
    expect(aborted.status).toBe('aborted');
    expect(aborted.statusDetail).toMatch(/aborted while asking a silent server what it is/);
    expect(aborted.transcript.some((entry) => entry.dir === 'C' && entry.text === 'QUIT')).toBe(true);
  });
});

describe('transcripts are capped per port', () => {
  const port = (entries: number, size: number): PortResult => ({
    port: 25,
    service: 'smtp',
    protocol: 'smtp',
    expectedTls: 'starttls',
    address: '192.0.2.1',
    family: 4,
    status: 'open',
    statusDetail: '',
    startedAt: new Date().toISOString(),
    timings: { total: 1 },
    transcript: Array.from({ length: entries }, (_, i) => ({
      at: i,
      dir: 'S' as const,
      text: `${String(i).padStart(4, '0')}${'x'.repeat(size)}`,
      tls: false,
    })),
  });

  it('keeps the first three quarters and the last quarter of the entries, and counts the rest', () => {
    const result = port(1000, 10);
    capTranscript(result, defaultLimits);
    expect(result.transcript).toHaveLength(defaultLimits.transcriptEntries);
    expect(result.transcript[0]?.text.startsWith('0000')).toBe(true);
    expect(result.transcript.at(-1)?.text.startsWith('0999')).toBe(true);
    expect(result.transcriptOmitted).toEqual({ entries: 700, chars: 700 * 14 });
  });

  it('bounds the characters kept, marking the cut entry truncated', () => {
    const result = port(100, 4000);
    capTranscript(result, defaultLimits);
    const chars = result.transcript.reduce((sum, entry) => sum + entry.text.length, 0);
    expect(chars).toBe(defaultLimits.transcriptChars);
    expect(result.transcriptOmitted?.chars).toBe(100 * 4004 - defaultLimits.transcriptChars);
    expect(result.transcript.some((entry) => entry.truncated)).toBe(true);
  });

  it('leaves a small transcript alone', () => {
    const result = port(10, 10);
    capTranscript(result, defaultLimits);
    expect(result.transcript).toHaveLength(10);
    expect(result.transcriptOmitted).toBeUndefined();
  });
});
