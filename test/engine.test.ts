import type net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { type FixtureOptions, startRawServer, tlsFile } from '../src/demo/servers.js';
import type { Service } from '../src/types/index.js';
import { fixtureServers } from './helpers/fixtures.js';
import { findingIds, judge, probe } from './helpers/probe.js';

const { fixture, raw } = fixtureServers();

/** A port where nothing listens: a server's port, freed. */
async function freedPort(): Promise<number> {
  const server = await startRawServer(() => {});
  await server.close();
  return server.port;
}

describe('well-configured servers, each protocol in each TLS mode', () => {
  const cases: { protocol: FixtureOptions['protocol']; tls: 'implicit' | 'starttls'; service: Service }[] = [
    { protocol: 'smtp', tls: 'starttls', service: 'submission' },
    { protocol: 'smtp', tls: 'implicit', service: 'submissions' },
    { protocol: 'imap', tls: 'starttls', service: 'imap' },
    { protocol: 'imap', tls: 'implicit', service: 'imaps' },
    { protocol: 'pop3', tls: 'starttls', service: 'pop3' },
    { protocol: 'pop3', tls: 'implicit', service: 'pop3s' },
  ];
  for (const c of cases) {
    it(`${c.service}: ${c.protocol.toUpperCase()} with ${c.tls} TLS is open, works and is safe`, async () => {
      const port = await fixture({ protocol: c.protocol, tls: c.tls });
      const result = await probe(port, c.service);
      expect(result.status).toBe('open');
      expect(result.tls).toMatchObject({ protocol: 'TLSv1.3', trusted: true, nameMatches: true });
      expect(result.tls?.certificate?.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(result.tls?.certificate?.subjectAltNames).toContain('DNS:localhost');
      if (c.tls === 'starttls') {
        expect(result.starttls).toMatchObject({
          advertised: true,
          attempted: true,
          accepted: true,
          upgraded: true,
          bytesAfterOk: 0,
        });
        expect(result.capabilitiesAfterTls?.ok).toBe(true);
        expect(result.capabilitiesAfterTls?.starttls).toBe(false);
      }
      // Over TLS, implicit or after STARTTLS, a well-configured server offers a way to log in.
      const overTls = c.tls === 'implicit' ? result.capabilities : result.capabilitiesAfterTls;
      expect(overTls?.authMechanisms.length || overTls?.plaintextLogin).toBeTruthy();
      for (const phase of ['connect', 'greeting', 'capabilities', 'tls'] as const)
        expect(result.timings[phase]).toBeGreaterThanOrEqual(0);
      expect(result.transcript.some((entry) => entry.dir === 'C' && /QUIT|LOGOUT/.test(entry.text))).toBe(
        true,
      );
      const verdict = judge(result);
      expect(verdict.findings).toEqual([]);
      expect(verdict.ports[0]).toMatchObject({ works: true, safe: true });
    });
  }

  it('probes over IPv6 loopback too', async () => {
    const port = await fixture({ protocol: 'smtp', tls: 'starttls', host: '::1' });
    const result = await probe(port, 'submission', { address: '::1' });
    expect(result).toMatchObject({ status: 'open', family: 6 });
    expect(result.transcript.find((entry) => entry.dir === 'C')?.text).toBe('EHLO [IPv6:::1]');
  });
});

describe('statuses', () => {
  it('refused: nothing listens', async () => {
    const result = await probe(await freedPort(), 'submission');
    expect(result.status).toBe('refused');
    expect(findingIds(result)).toEqual(['port-closed']);
  });

  it('reset: the peer sends RST after accepting', async () => {
    const result = await probe(await raw((socket) => socket.resetAndDestroy()), 'submission');
    expect(result.status).toBe('reset');
    expect(findingIds(result)).toEqual(['connection-reset']);
  });

  it('closed: the server hangs up before greeting', async () => {
    const result = await probe(await raw((socket) => socket.end()), 'submission');
    expect(result.status).toBe('closed');
    expect(findingIds(result)).toEqual(['connection-closed']);
  });

  it('silent: accepts and never sends a byte (and no TLS either)', async () => {
    const started = performance.now();
    const result = await probe(await raw(() => {}), 'smtp');
    expect(result.status).toBe('silent');
    expect(result.crossCheck).toMatchObject({ tried: 'implicit-tls', outcome: 'nothing' });
    expect(performance.now() - started).toBeLessThan(5000 + 500);
    expect(findingIds(result)).toEqual(['server-silent']);
  });

  it('stalled: greets, then never answers EHLO', async () => {
    const result = await probe(await raw((socket) => socket.write('220 hi\r\n')), 'submission');
    expect(result).toMatchObject({ status: 'stalled', failedPhase: 'capabilities' });
    expect(findingIds(result)).toEqual(['dialogue-stalled']);
  });

  it('stalled within the absolute port deadline even when the greeting dribbles one byte at a time', async () => {
    const port = await raw((socket) => {
      const timer = setInterval(() => socket.write('2'), 50);
      socket.on('close', () => clearInterval(timer));
    });
    const started = performance.now();
    const result = await probe(port, 'submission', { limits: { greetingMs: 60_000, portMs: 800 } });
    // A greeting that began (however little of it) is not silence.
    expect(result.status).toBe('stalled');
    expect(result.failedPhase).toBe('greeting');
    expect(result.statusDetail).toMatch(/the port deadline ran out/);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  for (const [name, greeting, service] of [
    ['SMTP 554', '554 5.7.1 no service for you\r\n', 'submission'],
    ['IMAP BYE', '* BYE server shutting down\r\n', 'imap'],
    ['POP3 -ERR', '-ERR maintenance\r\n', 'pop3'],
  ] as const) {
    it(`rejected: ${name} greeting`, async () => {
      const result = await probe(await raw((socket) => socket.end(greeting)), service);
      expect(result.status).toBe('rejected');
      expect(findingIds(result)).toEqual(['greeting-rejected']);
    });
  }

  it('rate-limited: 421 too many connections is not read as a missing STARTTLS', async () => {
    const result = await probe(
      await raw((socket) => socket.end('421 4.7.0 Too many connections from your IP\r\n')),
      'submission',
    );
    expect(result.status).toBe('rate-limited');
    expect(findingIds(result)).toEqual(['rate-limited']);
  });

  for (const [name, banner, detected] of [
    ['SSH banner', 'SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n', 'ssh'],
    ['HTTP response', 'HTTP/1.1 400 Bad Request\r\n\r\n', 'http'],
    ['IMAP greeting on an SMTP port', '* OK IMAP ready\r\n', 'imap'],
  ] as const) {
    it(`wrong-protocol: ${name}`, async () => {
      const result = await probe(await raw((socket) => socket.write(banner)), 'submission');
      expect(result).toMatchObject({ status: 'wrong-protocol', detected });
      expect(findingIds(result)).toEqual(['wrong-protocol']);
    });
  }

  it('wrong-tls-mode: plaintext SMTP on an implicit-TLS port', async () => {
    const result = await probe(await fixture({ protocol: 'smtp', tls: 'starttls' }), 'submissions');
    expect(result.status).toBe('wrong-tls-mode');
    expect(result.crossCheck).toMatchObject({ tried: 'plaintext', outcome: 'mail-greeting' });
    expect(findingIds(result)).toEqual(['plaintext-on-tls-port']);
  });

  it('wrong-tls-mode: implicit TLS on a plaintext port', async () => {
    const result = await probe(await fixture({ protocol: 'imap', tls: 'implicit' }), 'imap');
    expect(result.status).toBe('wrong-tls-mode');
    expect(result.crossCheck).toMatchObject({ tried: 'implicit-tls', outcome: 'tls-handshake' });
    expect(findingIds(result)).toEqual(['tls-on-plaintext-port']);
    // Only a handshake was seen: the detail does not claim the protocol inside it.
    expect(result.statusDetail).toMatch(/the protocol inside it not read/);
  });

  it('tls-failed with an alert from the server: no second connection (an alert proves the server speaks TLS)', async () => {
    let connections = 0;
    // The server asks for a client certificate and refuses the handshake without one: an alert, every time.
    const server = tls.createServer(
      {
        key: tlsFile('server.key'),
        cert: tlsFile('server.pem'),
        maxVersion: 'TLSv1.2',
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => socket.end(),
    );
    server.on('connection', () => connections++);
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const started = performance.now();
      const result = await probe((server.address() as net.AddressInfo).port, 'imaps', {
        limits: { replyMs: 3000 },
      });
      expect(result.status).toBe('tls-failed');
      expect(result.statusDetail).toMatch(/alert handshake failure/);
      expect(result.crossCheck).toBeUndefined();
      expect(connections).toBe(1);
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('tls-failed: the server hangs up on the ClientHello', async () => {
    const result = await probe(await raw((socket) => socket.once('data', () => socket.end())), 'imaps');
    expect(result).toMatchObject({ status: 'tls-failed', failedPhase: 'tls' });
    expect(result.crossCheck?.outcome).toBe('nothing');
    expect(findingIds(result)).toEqual(['tls-handshake-failed']);
  });

  it('tls-failed: a handshake that stalls forever ends at the TLS deadline', async () => {
    const result = await probe(await raw(() => {}), 'pop3s', { limits: { tlsMs: 300 } });
    expect(result.status).toBe('tls-failed');
    expect(result.statusDetail).toMatch(/'tls' for 300 ms/);
  });

  it('starttls-failed: STARTTLS accepted, then plaintext instead of a handshake', async () => {
    const port = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (line) => (line === 'STARTTLS' ? '220 go ahead\r\nthis is not TLS\r\n' : undefined),
    });
    const result = await probe(port, 'submission');
    expect(result.status).toBe('starttls-failed');
    expect(result.starttls).toMatchObject({ accepted: true, upgraded: false });
    expect(findingIds(result)).toContain('starttls-failed');
  });

  it('protocol-error: a malformed reply to EHLO', async () => {
    const port = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (line) => (line.startsWith('EHLO') ? '250-ok\r\nnonsense\r\n' : undefined),
    });
    const result = await probe(port, 'submission');
    expect(result.status).toBe('protocol-error');
    expect(findingIds(result)).toEqual(['protocol-violation']);
  });

  it('local-error: a failure on this machine is not blamed on the server', async () => {
    // Node refuses a port out of range before any packet is sent (the CLI never passes one).
    const result = await probe(70_000, 'submission');
    expect(result).toMatchObject({ status: 'local-error', failedPhase: 'connect' });
    expect(findingIds(result)).toEqual(['probe-incomplete']);
  });

  it("aborted: the caller's AbortSignal stops the probe at once", async () => {
    const controller = new AbortController();
    const port = await raw(() => {});
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    const result = await probe(port, 'submission', {
      signal: controller.signal,
      limits: { greetingMs: 10_000 },
    });
    expect(result.status).toBe('aborted');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(findingIds(result)).toEqual(['probe-incomplete']);
  });
});

describe('findings from fixture servers', () => {
  it('cert-untrusted: a self-signed certificate, without --ca', async () => {
    const result = await probe(
      await fixture({ protocol: 'imap', tls: 'implicit', cert: 'selfsigned' }),
      'imaps',
      { ca: null },
    );
    expect(result.status).toBe('open');
    expect(result.tls?.trustError).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(findingIds(result)).toEqual(['cert-untrusted']);
  });

  it('cert-name-mismatch: a certificate for another name', async () => {
    const result = await probe(await fixture({ protocol: 'pop3', tls: 'implicit', cert: 'other' }), 'pop3s');
    expect(result.tls).toMatchObject({ trusted: true, nameMatches: false });
    expect(findingIds(result)).toEqual(['cert-name-mismatch']);
  });

  it('cert-expired: reported with its date', async () => {
    const result = await probe(
      await fixture({ protocol: 'smtp', tls: 'starttls', cert: 'expired' }),
      'submission',
    );
    const verdict = judge(result);
    expect(verdict.findings.map((f) => f.id)).toEqual(['cert-expired']);
    expect(verdict.findings[0]?.detail).toMatch(/expired on 2026-01-02/);
    expect(verdict.findings[0]?.severity).toBe('critical');
  });

  it('tls-legacy-version: a server that speaks only TLS 1.1', async () => {
    const result = await probe(
      await fixture({ protocol: 'imap', tls: 'implicit', maxVersion: 'TLSv1.1' }),
      'imaps',
    );
    expect(result.tls?.protocol).toBe('TLSv1.1');
    expect(findingIds(result)).toEqual(['tls-legacy-version']);
  });

  for (const protocol of ['smtp', 'imap', 'pop3'] as const) {
    const service = ({ smtp: 'submission', imap: 'imap', pop3: 'pop3' } as const)[protocol];
    it(`cleartext-auth-before-tls: ${protocol.toUpperCase()} offers passwords before TLS`, async () => {
      const result = await probe(await fixture({ protocol, tls: 'starttls', authBeforeTls: true }), service);
      expect(findingIds(result)).toEqual(['cleartext-auth-before-tls']);
      expect(judge(result).ports[0]).toMatchObject({ works: true, safe: false });
    });

    it(`starttls-not-offered: ${protocol.toUpperCase()} without STARTTLS`, async () => {
      const result = await probe(await fixture({ protocol, tls: 'none' }), service);
      expect(result.starttls).toMatchObject({ advertised: false, attempted: false });
      const verdict = judge(result);
      expect(verdict.findings.map((f) => [f.id, f.severity])).toEqual([['starttls-not-offered', 'high']]);
      expect(verdict.ports[0]?.safe).toBe(false);
    });

    it(`starttls-refused: ${protocol.toUpperCase()} advertises STARTTLS then refuses it`, async () => {
      const result = await probe(await fixture({ protocol, tls: 'starttls', starttls: 'refuse' }), service);
      expect(result.starttls).toMatchObject({ advertised: true, attempted: true, accepted: false });
      expect(findingIds(result)).toEqual(['starttls-refused']);
    });

    it(`starttls-bytes-after-ok: ${protocol.toUpperCase()} sends bytes after the OK, which are discarded`, async () => {
      const result = await probe(
        await fixture({ protocol, tls: 'starttls', starttls: 'ok-extra-bytes' }),
        service,
      );
      expect(result.status).toBe('open');
      expect(result.starttls?.bytesAfterOk).toBeGreaterThan(0);
      // The injected line never reaches the transcript as a server line: it was dropped before TLS.
      expect(result.transcript.some((entry) => entry.dir === 'S' && /injected/.test(entry.text))).toBe(false);
      expect(findingIds(result)).toEqual(['starttls-bytes-after-ok']);
    });
  }

  it('starttls-not-offered on port 25 is medium, not high', async () => {
    const result = await probe(await fixture({ protocol: 'smtp', tls: 'none' }), 'smtp');
    expect(judge(result).findings.map((f) => [f.id, f.severity])).toEqual([
      ['starttls-not-offered', 'medium'],
    ]);
  });

  it('imap-preauth-plaintext: PREAUTH on 143', async () => {
    const result = await probe(await fixture({ protocol: 'imap', tls: 'starttls', preauth: true }), 'imap');
    expect(result.greeting?.kind).toBe('preauth');
    expect(result.starttls?.attempted).toBe(false);
    expect(findingIds(result)).toEqual(['imap-preauth-plaintext']);
  });

  it('starttls-advertised-after-tls: EHLO over TLS still lists STARTTLS', async () => {
    const port = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (line, state) =>
        state.tls && line.startsWith('EHLO')
          ? '250-localhost\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n'
          : undefined,
    });
    expect(findingIds(await probe(port, 'submission'))).toEqual(['starttls-advertised-after-tls']);
  });

  it('the servername given is the one sent as SNI and checked', async () => {
    let sni: string | undefined;
    const server = tls.createServer({ key: tlsFile('other.key'), cert: tlsFile('other.pem') }, (socket) => {
      sni = (socket as tls.TLSSocket & { servername?: string }).servername;
      socket.end('* OK ready\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const result = await probe(port, 'imaps', { servername: 'other.example' });
      expect(sni).toBe('other.example');
      expect(result.tls).toMatchObject({ checkedName: 'other.example', nameMatches: true });
    } finally {
      server.close();
    }
  });
});
