/** probeHost: many ports at once, resolution, abort, and no socket or timer left behind. */
import dns from 'node:dns/promises';
import { describe, expect, it, vi } from 'vitest';
import { referenceFixtures, startFixture, startRawServer } from '../src/demo/servers.js';
import { ResolveError } from '../src/errors.js';
import { probeHost, resolveHost } from '../src/probe/host.js';
import { sanitize } from '../src/render/sanitize.js';
import { fixtureServers } from './helpers/fixtures.js';
import { testCa, testLimits } from './helpers/probe.js';
import { activeHandles, handlesLeft } from './helpers/watch.js';

const { track } = fixtureServers();

async function sevenPorts() {
  return Promise.all(
    referenceFixtures.map(async ([service, options]) => {
      const fixture = await startFixture(options);
      track(fixture);
      return { port: fixture.port, service };
    }),
  );
}

describe('probeHost', () => {
  it('probes every port concurrently and reports progress for each', async () => {
    const ports = await sevenPorts();
    const started: number[] = [];
    const done: number[] = [];
    const phases = new Set<string>();
    const result = await probeHost('127.0.0.1', {
      ports,
      servername: 'localhost',
      ca: testCa,
      limits: testLimits,
      onPortStart: (port) => started.push(port.port),
      onPhase: (_port, phase) => phases.add(phase),
      onPortDone: (port) => done.push(port.port),
    });
    expect(result.addresses).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(result.ports.map((port) => port.status)).toEqual(Array(7).fill('open'));
    expect(started.sort()).toEqual(ports.map((p) => p.port).sort());
    expect(done.sort()).toEqual(ports.map((p) => p.port).sort());
    expect([...phases].sort()).toEqual(['capabilities', 'connect', 'greeting', 'quit', 'starttls', 'tls']);
  });

  it('leaves no socket or timer behind, on success and on failure', async () => {
    const ports = await sevenPorts();
    const silent = await startRawServer(() => {});
    track(silent);
    const before = activeHandles();
    await probeHost('127.0.0.1', {
      ports: [...ports, { port: silent.port, service: 'submission' }],
      servername: 'localhost',
      ca: testCa,
      limits: { ...testLimits, greetingMs: 200 },
    });
    expect(await handlesLeft(before)).toEqual([]);
  });

  it('an AbortSignal stops every port at once', async () => {
    const silent = await Promise.all([1, 2, 3].map(() => startRawServer(() => {})));
    for (const server of silent) track(server);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = performance.now();
    const result = await probeHost('127.0.0.1', {
      ports: silent.map((server) => ({ port: server.port, service: 'submission' as const })),
      limits: { ...testLimits, greetingMs: 30_000, portMs: 60_000 },
      signal: controller.signal,
    });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(result.ports.map((port) => port.status)).toEqual(['aborted', 'aborted', 'aborted']);
  });

  it('resolves IP literals without DNS, bracketed or not, and refuses a family mismatch', async () => {
    await expect(resolveHost('[::1]', 'both')).resolves.toEqual([{ address: '::1', family: 6 }]);
    await expect(resolveHost('127.0.0.1', 4)).resolves.toEqual([{ address: '127.0.0.1', family: 4 }]);
    await expect(resolveHost('127.0.0.1', 6)).rejects.toBeInstanceOf(ResolveError);
  });

  it('with -4 or -6, a failed lookup of that family is a DNS failure, not "no address of the family"', async () => {
    // The system resolver: its IPv4 lookup fails (EAI_AGAIN), its IPv6 lookup gives ::1. getaddrinfo for both
    // families may give ::1 alone, hiding the failure.
    const failing = Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
    const lookup = vi.spyOn(dns, 'lookup').mockImplementation((async (
      _: string,
      options: { family?: number },
    ) => {
      if (options.family === 6) return [{ address: '::1', family: 6 }];
      if (options.family === 4) throw failing;
      return [{ address: '::1', family: 6 }];
    }) as unknown as typeof dns.lookup);
    try {
      const error = await resolveHost('v4fail.test', 4).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResolveError);
      expect(error).toMatchObject({ notFound: false, otherFamily: false });
      expect((error as ResolveError).reason).toBe('the resolver did not answer (EAI_AGAIN)');
      // Its IPv4 lookup says there is none: the host has addresses of the other family only.
      lookup.mockImplementation((async (_: string, options: { family?: number }) => {
        if (options.family === 4)
          throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
        return [{ address: '::1', family: 6 }];
      }) as unknown as typeof dns.lookup);
      await expect(resolveHost('v6only.test', 4)).rejects.toMatchObject({
        notFound: false,
        otherFamily: true,
      });
      await expect(resolveHost('v6only.test', 6)).resolves.toEqual([{ address: '::1', family: 6 }]);
    } finally {
      lookup.mockRestore();
    }
  });
});

describe('sanitize', () => {
  const table: [string, string, string][] = [
    ['CSI colour', 'a\u001b[31mred', 'a␛[31mred'],
    ['OSC 52 clipboard', '\u001b]52;c;ZXZpbA==\u0007', '␛]52;c;ZXZpbA==␇'],
    ['C1 CSI', 'x\u009b2J', 'x\\x9b2J'],
    ['bare CR', 'ok\rEVIL', 'ok␍EVIL'],
    ['bidi override', 'abc\u202edcba', 'abc<U+202E>dcba'],
    ['NUL and DEL', 'a\u0000b\u007f', 'a␀b␡'],
    ['plain text and non-Latin letters', 'Grüße, 邮件', 'Grüße, 邮件'],
  ];
  for (const [name, input, output] of table) {
    it(`neutralises ${name}`, () => expect(sanitize(input)).toBe(output));
  }
});
