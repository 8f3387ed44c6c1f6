/** The opt-in checks against fixture servers with and without each flaw. */

import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type FixtureOptions, startFixture, startRawServer } from '../src/demo/servers.js';
import { probePort } from '../src/probe.js';
import type { Service } from '../src/types.js';
import { fixtureServers } from './helpers/fixtures.js';
import { findingIds, testCa, testLimits } from './helpers/probe.js';

const { track } = fixtureServers();

async function probeWith(
  options: FixtureOptions,
  service: Service,
  checks: ('injection' | 'auth-required' | 'tls-versions')[],
) {
  const fixture = await startFixture(options);
  track(fixture);
  const result = await probePort({
    address: '127.0.0.1',
    family: 4,
    port: fixture.port,
    service,
    servername: 'localhost',
    ca: testCa,
    limits: testLimits,
    checks,
  });
  return { result, connections: fixture.connections() };
}

const services = { smtp: 'submission', imap: 'imap', pop3: 'pop3' } as const;

describe('STARTTLS command injection (opt-in)', () => {
  for (const protocol of ['smtp', 'imap', 'pop3'] as const) {
    it(`${protocol.toUpperCase()}: a server that runs the pipelined command inside TLS is flagged`, async () => {
      const { result, connections } = await probeWith(
        { protocol, tls: 'starttls', injectionBug: true },
        services[protocol],
        ['injection'],
      );
      expect(result.checks?.injection?.verdict).toBe('vulnerable');
      expect(findingIds(result)).toEqual(['starttls-injection']);
      expect(connections).toBe(2); // the probe, then one connection for the check
      const pipelined = result.transcript
        .filter((entry) => entry.dir === 'C' && !entry.tls)
        .map((entry) => entry.text);
      expect(pipelined.slice(-2)).toEqual(
        { smtp: ['STARTTLS', 'NOOP'], imap: ['mpi1 STARTTLS', 'mpi2 NOOP'], pop3: ['STLS', 'CAPA'] }[
          protocol
        ],
      );
    });

    it(`${protocol.toUpperCase()}: a server that drops pipelined bytes is safe`, async () => {
      const { result } = await probeWith({ protocol, tls: 'starttls' }, services[protocol], ['injection']);
      expect(result.checks?.injection?.verdict).toBe('safe');
      expect(findingIds(result)).toEqual([]);
    });
  }

  it('a server that refuses the pipelined STARTTLS is safe', async () => {
    const { result } = await probeWith(
      {
        protocol: 'smtp',
        tls: 'starttls',
        on: (line) => (line === 'STARTTLS' ? '554 5.5.1 Error: command pipelining\r\n' : undefined),
      },
      'submission',
      ['injection'],
    );
    expect(result.checks?.injection).toMatchObject({
      verdict: 'safe',
      detail: expect.stringMatching(/refused: 554/),
    });
  });
});

describe('is TLS required before authentication? (opt-in)', () => {
  for (const protocol of ['smtp', 'imap', 'pop3'] as const) {
    it(`${protocol.toUpperCase()}: going ahead in cleartext is flagged, and no credential is sent`, async () => {
      const { result } = await probeWith(
        { protocol, tls: 'starttls', authBeforeTls: true },
        services[protocol],
        ['auth-required'],
      );
      expect(result.checks?.authRequired?.verdict).toBe('allowed');
      expect(findingIds(result)).toEqual(['auth-allowed-before-tls', 'cleartext-auth-before-tls']);
      const sent = result.transcript.filter((entry) => entry.dir === 'C').map((entry) => entry.text);
      const exchange = {
        smtp: ['AUTH LOGIN', '*'],
        imap: ['mpa1 AUTHENTICATE PLAIN', '*'],
        pop3: ['AUTH PLAIN', '*'],
      }[protocol];
      expect(sent.join('\n')).toContain(exchange.join('\n'));
    });

    it(`${protocol.toUpperCase()}: a refusal before TLS means TLS is enforced`, async () => {
      const { result } = await probeWith({ protocol, tls: 'starttls' }, services[protocol], [
        'auth-required',
      ]);
      expect(result.checks?.authRequired?.verdict).toBe('enforced');
      expect(findingIds(result)).toEqual([]);
    });
  }
});

describe('TLS versions (opt-in)', () => {
  it('lists the versions a legacy-friendly server accepts and flags 1.0/1.1', async () => {
    const { result } = await probeWith({ protocol: 'imap', tls: 'implicit' }, 'imaps', ['tls-versions']);
    expect(result.checks?.tlsVersions).toEqual({
      accepted: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
      refused: [],
    });
    expect(findingIds(result)).toEqual(['tls-legacy-accepted']);
  });

  it('a modern server accepts only 1.2 and 1.3, over STARTTLS too', async () => {
    const { result } = await probeWith({ protocol: 'pop3', tls: 'starttls', minVersion: 'TLSv1.2' }, 'pop3', [
      'tls-versions',
    ]);
    expect(result.checks?.tlsVersions).toEqual({
      accepted: ['TLSv1.2', 'TLSv1.3'],
      refused: ['TLSv1', 'TLSv1.1'],
    });
    expect(findingIds(result)).toEqual([]);
  });
});

describe('the checks never overstate', () => {
  it('injection: text inside TLS that does not prove the injected command ran is not "vulnerable"', async () => {
    // The server drops the pipelined NOOP but speaks first inside TLS, unprompted: proof of nothing.
    const talky = track(
      await startFixture({
        protocol: 'smtp',
        tls: 'starttls',
        tlsGreeting: '220 hello again inside TLS\r\n',
      }),
    );
    const result = await probePort({
      address: '127.0.0.1',
      family: 4,
      port: talky.port,
      service: 'submission',
      servername: 'localhost',
      ca: testCa,
      limits: testLimits,
      checks: ['injection'],
    });
    expect(result.checks?.injection?.verdict).toBe('not-tested');
    expect(result.checks?.injection?.detail).toMatch(/no reply that proves the injected command ran/);
    expect(findingIds(result)).not.toContain('starttls-injection');
  });

  it('auth-required: "504 mechanism unknown" proves nothing', async () => {
    const { result } = await probeWith(
      {
        protocol: 'smtp',
        tls: 'starttls',
        on: (line) => (line === 'AUTH LOGIN' ? '504 5.5.4 Unrecognized authentication type\r\n' : undefined),
      },
      'submission',
      ['auth-required'],
    );
    expect(result.checks?.authRequired).toEqual({
      verdict: 'not-tested',
      reply: '504 5.5.4 Unrecognized authentication type',
    });
    expect(findingIds(result)).toEqual(['check-not-completed']);
  });
});

describe('TLS versions and the port deadline', () => {
  it('a timeout is untested, not refused; the version the probe negotiated is accepted; checks end within the port deadline', async () => {
    const fixture = track(await startFixture({ protocol: 'imap', tls: 'implicit' }));
    let connections = 0;
    // The first connection reaches the real server; every later one is accepted and left silent.
    const front = track(
      await startRawServer((socket) => {
        connections++;
        if (connections > 1) return;
        const upstream = net.connect(fixture.port, '127.0.0.1');
        socket.pipe(upstream).pipe(socket);
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
      }),
    );
    const portMs = 2500;
    const started = performance.now();
    const result = await probePort({
      address: '127.0.0.1',
      family: 4,
      port: front.port,
      service: 'imaps',
      servername: 'localhost',
      ca: testCa,
      limits: { ...testLimits, portMs },
      checks: ['tls-versions'],
    });
    const elapsed = performance.now() - started;
    expect(result.status).toBe('open');
    expect(result.checks?.tlsVersions?.accepted).toEqual(['TLSv1.3']);
    expect(result.checks?.tlsVersions?.refused).toEqual([]);
    expect(result.checks?.tlsVersions?.untested?.map((entry) => entry.version)).toEqual([
      'TLSv1',
      'TLSv1.1',
      'TLSv1.2',
    ]);
    // Within the port's absolute deadline, and counted in the port's total time.
    expect(elapsed).toBeLessThan(portMs + 750);
    expect(result.timings.total).toBeGreaterThan(testLimits.tlsMs);
    expect(findingIds(result)).toEqual(['check-not-completed']);
  });
});
