/**
 * The greeting rules (docs/reference.md, "How a port is probed"): a greeting that has begun is waited for and
 * never talked over (Postfix postscreen's greet wait), and a plaintext-start port that stays completely silent is
 * offered a TLS handshake on a second connection after `silenceMs`, the first kept open for a slow greeting.
 */
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { contextOptions, type Fixture } from '../src/demo/servers.js';
import { maxRetries } from '../src/probe/retry.js';
import { renderHuman } from '../src/render/human.js';
import { renderJson } from '../src/render/json.js';
import { evaluate } from '../src/rules/evaluate.js';
import { judge as judgeHosts } from '../src/rules/judge.js';
import { fixtureServers } from './helpers/fixtures.js';
import { findingIds, judge, probe } from './helpers/probe.js';
import { validReport } from './helpers/schema.js';

const { track } = fixtureServers();

/** What one connection to a test server saw: when it opened, and every byte the client sent, with when. */
interface Seen {
  openedAt: number;
  closedAt?: number;
  received: { at: number; bytes: Buffer }[];
}

/** A plain TCP server running `handler` on each connection and recording what each client sent. */
async function recordingServer(handler: (socket: net.Socket, index: number) => void) {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  const started = performance.now();
  const server = net.createServer((socket) => {
    const entry: Seen = { openedAt: performance.now() - started, received: [] };
    seen.push(entry);
    sockets.add(socket);
    socket.on('data', (bytes: Buffer) => entry.received.push({ at: performance.now() - started, bytes }));
    socket.on('close', () => {
      entry.closedAt = performance.now() - started;
      sockets.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    handler(socket, seen.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fixture: Fixture = {
    port: (server.address() as net.AddressInfo).port,
    host: '127.0.0.1',
    connections: () => seen.length,
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
  track(fixture);
  return { port: fixture.port, seen, started };
}

/** Writes `text` after `ms`, unless the socket closed first. */
function later(socket: net.Socket, ms: number, text: string) {
  const timer = setTimeout(() => socket.destroyed || socket.write(text), ms);
  socket.on('close', () => clearTimeout(timer));
}

/**
 * Postfix postscreen as a client sees it: `220-` at once, the rest after the greet wait; then a small SMTP
 * server. A client that talks during the wait is a bot: the server notes it (as postscreen logs PREGREET).
 */
function postscreenLike(waitMs: number) {
  return (socket: net.Socket) => {
    socket.write('220-mail.example ESMTP\r\n');
    later(socket, waitMs, '220 mail.example ESMTP\r\n');
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let lf = buffer.indexOf('\n'); lf >= 0; lf = buffer.indexOf('\n')) {
        const verb = buffer.slice(0, lf).trim().split(' ')[0]?.toUpperCase();
        buffer = buffer.slice(lf + 1);
        if (verb === 'EHLO') socket.write('250-mail.example\r\n250 8BITMIME\r\n');
        else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('502 no\r\n');
      }
    });
  };
}

/** Waits `ms` (for connections or bytes that would come after the probe returned). */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a greeting that begins at once and ends later (postscreen)', () => {
  it('is stalled in the greeting, not silent: the 220- line is the evidence, nothing is sent, no second connection', async () => {
    const server = await recordingServer(postscreenLike(1500));
    const started = performance.now();
    // A greeting deadline under the greet wait, and a silence threshold that would fire during it.
    const result = await probe(server.port, 'smtp', {
      limits: { greetingMs: 500, silenceMs: 100, portMs: 5000 },
    });
    const elapsed = performance.now() - started;
    await pause(300);
    expect(result.status).toBe('stalled');
    expect(result.failedPhase).toBe('greeting');
    expect(result.statusDetail).toMatch(/the greeting began \(\d+ bytes, the first at \d+ ms\)/);
    // The first byte came at once, not at the deadline when the unfinished line was written down (500 ms).
    expect(Number(/the first at (\d+) ms/.exec(result.statusDetail)?.[1])).toBeLessThan(300);
    expect(result.statusDetail).toMatch(/nothing was sent/);
    expect(result.crossCheck).toBeUndefined();
    expect(result.transcript.filter((entry) => entry.dir === 'S').map((entry) => entry.text)).toEqual([
      '220-mail.example ESMTP',
    ]);
    // Nothing written: no QUIT, no TLS ClientHello; and one connection only.
    expect(result.transcript.filter((entry) => entry.dir === 'C')).toEqual([]);
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]?.received).toEqual([]);
    // Ended at the greeting deadline, not at the port deadline.
    expect(elapsed).toBeLessThan(500 + 400);

    const verdict = judge(result);
    const finding = verdict.findings.find((f) => f.id === 'greeting-delayed');
    expect(verdict.findings.map((f) => f.id)).toEqual(['greeting-delayed']);
    expect(finding?.severity).toBe('low'); // on 25: senders wait up to 5 minutes
    expect(finding?.detail).toMatch(/delays the rest of its greeting on purpose, as Postfix postscreen does/);
    expect(finding?.detail).toMatch(/--timeout 10000/);
    expect(finding?.evidence).toContain('S: 220-mail.example ESMTP');
    // After a long wait, the advice raises the port's own deadline too, or portMs would end the port first.
    const long = judge({ ...result, timings: { ...result.timings, greeting: 60_000 } });
    expect(long.findings.find((f) => f.id === 'greeting-delayed')?.detail).toContain(
      '--limit greetingMs=120000 --limit portMs=150000',
    );
    const text = renderHuman(verdict, { color: false });
    expect(text).toMatch(/greeting began, unfinished after (?:\d+ ms|\d+\.\d s): “220-mail\.example ESMTP”/);
    expect(text).not.toMatch(/server sent nothing|no greeting arrived/);
  });

  it('with a deadline above the greet wait the port is open, and nothing was sent before the greeting ended', async () => {
    const server = await recordingServer(postscreenLike(800));
    const result = await probe(server.port, 'submission', {
      limits: { greetingMs: 3000, silenceMs: 100, portMs: 8000 },
    });
    expect(result.status).toBe('open');
    expect(result.greeting?.lines).toEqual(['mail.example ESMTP', 'mail.example ESMTP']);
    expect(server.seen).toHaveLength(1);
    const first = server.seen[0]?.received[0];
    expect(first?.bytes.toString()).toMatch(/^EHLO /);
    expect(first?.at).toBeGreaterThanOrEqual(790);
  });

  it('a greeting line begun and never ended (IMAP, no line end) is stalled with its unfinished text as evidence', async () => {
    const server = await recordingServer((socket) => socket.write('* OK [CAPABILITY IMAP4rev1'));
    const result = await probe(server.port, 'imap', { limits: { greetingMs: 400, silenceMs: 100 } });
    await pause(200);
    expect(result).toMatchObject({ status: 'stalled', failedPhase: 'greeting' });
    expect(result.transcript.filter((entry) => entry.dir === 'S').map((entry) => entry.text)).toEqual([
      '* OK [CAPABILITY IMAP4rev1',
    ]);
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]?.received).toEqual([]);
    const finding = judge(result).findings.find((f) => f.id === 'greeting-delayed');
    expect(finding?.severity).toBe('medium');
    expect(finding?.detail).toMatch(/began its greeting and did not finish it/);
    expect(finding?.evidence).toContain('S: * OK [CAPABILITY IMAP4rev1');
  });

  it('a host whose only port holds its greeting back is not "no port works": it was not tested to the end', async () => {
    const server = await recordingServer(postscreenLike(2000));
    const result = await probe(server.port, 'smtp', { limits: { greetingMs: 300 } });
    const ids = evaluate({
      host: 'localhost',
      servername: 'localhost',
      addresses: [{ address: '127.0.0.1', family: 4 }],
      resolveMs: 0,
      startedAt: new Date().toISOString(),
      durationMs: 0,
      ports: [result],
    }).findings.map((f) => f.id);
    expect(ids).toEqual(['greeting-delayed']);
  });
});

/**
 * An implicit-TLS server (IMAPS) that records its connections and the first byte each client sent: a TCP server
 * that hands each connection to a TLS server once the client has spoken (a TLS server never speaks first),
 * `handshakeDelayMs` later (a slow handshake, as over a long path).
 */
async function tlsServer(handshakeDelayMs = 0) {
  const seen: { openedAt: number; firstByte?: number }[] = [];
  const started = performance.now();
  const sockets = new Set<net.Socket>();
  const inner = tls.createServer(contextOptions({ protocol: 'imap', tls: 'implicit' }), (socket) => {
    socket.on('error', () => {});
    socket.write('* OK IMAPS ready\r\n');
    socket.resume();
  });
  inner.on('tlsClientError', () => {});
  const server = net.createServer((socket) => {
    const entry: { openedAt: number; firstByte?: number } = { openedAt: performance.now() - started };
    seen.push(entry);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', (bytes: Buffer) => {
      if (bytes[0] !== undefined) entry.firstByte = bytes[0];
      socket.pause();
      socket.unshift(bytes);
      const handOver = () => socket.destroyed || inner.emit('connection', socket);
      if (handshakeDelayMs > 0) setTimeout(handOver, handshakeDelayMs);
      else handOver();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  track({
    port,
    host: '127.0.0.1',
    connections: () => seen.length,
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  });
  return { port, seen };
}

describe('a STARTTLS port that speaks implicit TLS (143 set up as IMAPS)', () => {
  it('is found within 3 s of complete silence with the default deadlines, not after the 30 s greeting deadline', async () => {
    const server = await tlsServer();
    const started = performance.now();
    // The default greeting deadline (30 s), port deadline and silence threshold (3 s).
    const result = await probe(server.port, 'imap', {
      limits: { greetingMs: 30_000, portMs: 60_000, silenceMs: 3000, tlsMs: 5000 },
    });
    const elapsed = performance.now() - started;
    expect(result.status).toBe('wrong-tls-mode');
    expect(result.crossCheck).toMatchObject({ tried: 'implicit-tls', outcome: 'tls-handshake' });
    expect(result.crossCheck?.detail).toMatch(/^TLSv1\.[23] /);
    expect(result.statusDetail).toMatch(/after 3000 ms of silence/);
    expect(elapsed).toBeGreaterThanOrEqual(2900);
    expect(elapsed).toBeLessThan(4500);
    // The first connection was sent nothing (no LOGOUT nudge); the second one's first byte was a TLS handshake.
    expect(server.seen).toHaveLength(2);
    expect(server.seen[0]?.firstByte).toBeUndefined();
    expect(server.seen[1]?.firstByte).toBe(0x16);
    expect(server.seen[1]?.openedAt).toBeGreaterThanOrEqual(2900);
    expect(findingIds(result)).toEqual(['tls-on-plaintext-port']);
  });

  it('with a small silence threshold, the same in a fraction of a second', async () => {
    const server = await tlsServer();
    const started = performance.now();
    const result = await probe(server.port, 'imap', { limits: { greetingMs: 10_000, silenceMs: 200 } });
    expect(result.status).toBe('wrong-tls-mode');
    expect(performance.now() - started).toBeLessThan(1200);
  });
});

describe('slow plaintext servers are not harmed by the TLS attempt', () => {
  it('silent for longer than the threshold, then a greeting on the first connection: open, the second connection dropped', async () => {
    const server = await recordingServer((socket, index) => {
      if (index === 0) later(socket, 700, '* OK slow but fine\r\n');
      socket.on('data', (chunk: Buffer) => {
        const text = chunk.toString('latin1');
        const tag = /^(\S+) (CAPABILITY|LOGOUT)/i.exec(text);
        if (tag?.[2]?.toUpperCase() === 'CAPABILITY')
          socket.write(`* CAPABILITY IMAP4rev1 LOGINDISABLED\r\n${tag[1]} OK done\r\n`);
        else if (tag?.[2]?.toUpperCase() === 'LOGOUT') socket.end(`* BYE\r\n${tag[1]} OK bye\r\n`);
      });
    });
    const result = await probe(server.port, 'imap', {
      limits: { greetingMs: 3000, silenceMs: 200, portMs: 8000 },
    });
    expect(result.status).toBe('open');
    expect(result.crossCheck).toBeUndefined();
    expect(
      result.transcript.some((entry) => /trying a TLS handshake on a second connection/.test(entry.text)),
    ).toBe(true);
    expect(server.seen).toHaveLength(2);
    const [first, second] = server.seen;
    // The first connection was sent nothing before its greeting; the second got only a ClientHello and was closed
    // as soon as the first greeted (at 700 ms), long before it could have greeted itself.
    expect(first?.received[0]?.at).toBeGreaterThanOrEqual(690);
    expect(second?.received[0]?.bytes[0]).toBe(0x16);
    expect(second?.closedAt).toBeLessThan(1200);
  });

  it('on the relay port (25) a silent greet pause is never answered with a ClientHello: one connection only', async () => {
    const server = await recordingServer((socket) => later(socket, 700, '220 mail.example ESMTP\r\n'));
    const result = await probe(server.port, 'smtp', {
      limits: { greetingMs: 1000, silenceMs: 200, portMs: 5000 },
    });
    expect(server.seen[0]?.received[0]?.bytes.toString()).toMatch(/^EHLO /);
    expect(server.seen[0]?.received[0]?.at).toBeGreaterThanOrEqual(690);
    // This server answers nothing after its greeting: the EHLO reply's timeout earns retries (issue 28, up to
    // maxRetries), each a plaintext connection like the first; never a ClientHello.
    expect(server.seen).toHaveLength(1 + maxRetries);
    for (const seen of server.seen.slice(1)) expect(seen.received[0]?.bytes.toString()).toMatch(/^EHLO /);
    expect(result.retry).toMatchObject({ status: 'stalled', failedPhase: 'capabilities' });
    // The greeting was read on the first connection (this server then answers nothing more).
    expect(result.greeting?.lines).toEqual(['mail.example ESMTP']);
  });

  it('silent to the end: silent, one TLS attempt (outcome nothing), one plaintext retry, no more', async () => {
    const server = await recordingServer(() => {});
    const result = await probe(server.port, 'submission', { limits: { greetingMs: 800, silenceMs: 200 } });
    await pause(200);
    expect(result.status).toBe('silent');
    expect(result.crossCheck).toMatchObject({ tried: 'implicit-tls', outcome: 'nothing' });
    // The first connection, its TLS attempt, and the retries after the greeting's timeout (no second TLS attempt).
    expect(server.seen).toHaveLength(2 + maxRetries);
    for (const seen of server.seen.slice(2)) expect(seen.received[0]?.bytes[0]).not.toBe(0x16);
    expect(result.retry?.status).toBe('silent');
    expect(findingIds(result)).toEqual(['server-silent']);
  });
});

describe("a silent port's TLS cross-check gets its time: it comes before the retries", () => {
  // The relay port (no early TLS try) with a greeting deadline the retries would repeat until the port deadline.
  const limits = { greetingMs: 1000, replyMs: 500, silenceMs: 3000, portMs: 2500 };

  it('an implicit-TLS server on 25 is found right after the first try, not after retries left it no time', async () => {
    const server = await tlsServer();
    const started = performance.now();
    const result = await probe(server.port, 'smtp', { limits });
    const elapsed = performance.now() - started;
    expect(result.status).toBe('wrong-tls-mode');
    expect(result.crossCheck).toMatchObject({ tried: 'implicit-tls', outcome: 'tls-handshake' });
    // No retry was spent first: the first connection (sent its goodbye), then the cross-check's ClientHello.
    expect(result.retry).toBeUndefined();
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]?.firstByte).toBe(0x16);
    expect(elapsed).toBeLessThan(limits.greetingMs + limits.replyMs + 400);
    expect(findingIds(result)).toEqual(['tls-on-plaintext-port']);
  });

  it('with no time left of the port deadline the cross-check is not run, and nothing says it found nothing', async () => {
    const server = await tlsServer();
    // The greeting's wait takes the whole port deadline.
    const result = await probe(server.port, 'smtp', { limits: { ...limits, portMs: 1000 } });
    await pause(100);
    expect(result.status).toBe('silent');
    expect(result.crossCheck).toMatchObject({ tried: 'implicit-tls', outcome: 'not-run' });
    expect(result.crossCheck?.detail).toMatch(/less than 50 ms was left of the port deadline of 1000 ms/);
    // No connection that could not finish: the first one only.
    expect(server.seen).toHaveLength(1);
    const finding = judge(result).findings.find((f) => f.id === 'server-silent');
    expect(finding?.detail).toMatch(/was not tried .*: whether this port speaks implicit TLS is not known/);
    expect(finding?.detail).not.toMatch(/found nothing/);
    expect(finding?.evidence).toContain(`cross-check: not-run: ${result.crossCheck?.detail}`);
    // Nor that no client can use the host: a client set up for implicit TLS there might.
    const none = judge(result).findings.find((f) => f.id === 'no-port-works');
    expect(none?.detail).toContain(`whether ${server.port} (127.0.0.1) speaks implicit TLS is not known`);
  });

  it('a cross-check the port deadline cuts short is out of time, not "found nothing"', async () => {
    // A handshake slower (600 ms) than what the port deadline leaves after the first try (about 250 ms).
    const server = await tlsServer(600);
    const result = await probe(server.port, 'smtp', { limits: { ...limits, replyMs: 50, portMs: 1300 } });
    await pause(100);
    expect(result.status).toBe('silent');
    expect(result.crossCheck).toMatchObject({ tried: 'implicit-tls', outcome: 'out-of-time' });
    expect(result.crossCheck?.detail).toMatch(/Port deadline ran out/);
    const finding = judge(result).findings.find((f) => f.id === 'server-silent');
    expect(finding?.detail).toMatch(/did not finish .*: whether this port speaks implicit TLS is not known/);
    expect(finding?.detail).not.toMatch(/found nothing/);
  });
});

describe('a greeting that comes only after its deadline (in answer to the goodbye)', () => {
  it('is stalled in the greeting with the late line as evidence, not silent; "silent for" is the greeting wait', async () => {
    const server = await recordingServer((socket) => {
      // On the server's own time, over a second after the goodbye, on every connection: retried once (a lost last
      // ACK of the handshake looks the same: test/retry.test.ts), and late again.
      later(socket, 2000, '220 mail.example ESMTP\r\n');
      socket.on(
        'data',
        (chunk: Buffer) => /QUIT/i.test(chunk.toString()) && later(socket, 1750, '221 bye\r\n'),
      );
    });
    const result = await probe(server.port, 'submission', {
      limits: { greetingMs: 400, replyMs: 2500, silenceMs: 3000, portMs: 5000 },
    });
    await pause(100);
    expect(result).toMatchObject({ status: 'stalled', failedPhase: 'greeting' });
    expect(result.lateGreeting?.line).toBe('220 mail.example ESMTP');
    expect(result.lateGreeting?.at).toBeGreaterThanOrEqual(1990);
    expect(result.lateGreeting?.afterGoodbyeMs).toBeGreaterThan(1000);
    expect(result.statusDetail).toMatch(
      /no greeting within its deadline of 400 ms; the greeting came at \d+ ms, \d+ ms after QUIT was sent/,
    );
    // The greeting's timing is the wait for the greeting, not the goodbye's wait after it.
    expect(result.timings.greeting).toBeLessThan(550);
    expect(result.timings.quit).toBeGreaterThan(200);
    // The server spoke (no TLS cross-check), but only after the goodbye: retried once on a fresh connection
    // (over a second after the goodbye), late again; the first try's result stands, the retry noted.
    expect(result.firstTry ?? result.crossCheck).toBeUndefined();
    expect(result.retry).toMatchObject({ status: 'stalled', failedPhase: 'greeting' });
    expect(server.seen).toHaveLength(2);

    const verdict = judge(result);
    expect(verdict.findings.map((f) => f.id)).toEqual(['greeting-late']);
    const finding = verdict.findings[0];
    expect(finding?.severity).toBe('medium');
    expect(finding?.detail).toMatch(/the port is not silent/);
    // Over a second after the goodbye: the server's own time first, a lossy path second, and the retries.
    expect(finding?.detail).toMatch(/\d+ ms after mailprobe had sent its goodbye/);
    expect(finding?.detail).toMatch(
      /Its greeting is slower than the deadline .*; on a lossy path it may also have waited for a segment of the client's/,
    );
    expect(finding?.detail).not.toMatch(/So soon after the goodbye/);
    expect(finding?.detail).toMatch(
      /on a fresh connection since did not settle it \(the last ended stalled\)/,
    );
    expect(finding?.detail).toMatch(/--timeout 10000/);
    expect(finding?.evidence.join('\n')).toMatch(/S \(at \d+ ms\): 220 mail\.example ESMTP/);
    const text = renderHuman(verdict, { color: false });
    expect(text).toMatch(/no greeting in \d+ ms, then at (?:\d+ ms|\d\.\d s): “220 mail\.example ESMTP”/);
    // The JSON report carries it, as the schema says (afterGoodbyeMs included).
    const whole = judgeHosts([{ ...verdict, ports: [result] }]);
    const json = validReport<{ hosts: { ports: { lateGreeting?: object }[] }[] }>(
      renderJson(whole.hosts, whole.outcome),
    );
    expect(json.hosts[0]?.ports[0]?.lateGreeting).toMatchObject({ afterGoodbyeMs: expect.any(Number) });
    expect(text).not.toMatch(/silent for|server sent nothing|no greeting arrived/);
  });

  it('a late greeting that refuses service (554, * BYE, -ERR, 421) is the refusal, with its lateness as evidence', async () => {
    for (const [service, greeting, status] of [
      ['submission', '554 5.7.1 mail.example: no service for you\r\n', 'rejected'],
      ['imap', '* BYE not taking connections\r\n', 'rejected'],
      ['pop3', '-ERR access denied\r\n', 'rejected'],
      ['submission', '421 4.7.0 too many connections, try again later\r\n', 'rate-limited'],
    ] as const) {
      const server = await recordingServer((socket) => later(socket, 500, greeting));
      const result = await probe(server.port, service, {
        limits: { greetingMs: 300, replyMs: 500, silenceMs: 3000 },
      });
      await pause(50);
      expect(result.status, service).toBe(status);
      expect(result.failedPhase).toBe('greeting');
      expect(result.statusDetail).toContain(greeting.trim());
      expect(result.statusDetail).toMatch(/none came within its deadline of 300 ms/);
      expect(result.lateGreeting?.line).toBe(greeting.trim());
      // The server spoke: no retry, no TLS cross-check.
      expect(result.retry ?? result.firstTry ?? result.crossCheck).toBeUndefined();
      expect(server.seen).toHaveLength(1);
      const verdict = judge(result);
      const id = status === 'rejected' ? 'greeting-rejected' : 'rate-limited';
      expect(findingIds(result)).toEqual([id]);
      const finding = verdict.findings.find((f) => f.id === id);
      // When it came: in the status detail, and as the line's own time on a refusal.
      expect(finding?.evidence.join('\n')).toMatch(/the greeting, at \d+ ms: none came/);
      if (status === 'rejected') {
        expect(finding?.evidence).toContain(
          `S (at ${Math.round(result.lateGreeting?.at ?? 0)} ms): ${greeting.trim()}`,
        );
        expect(finding?.detail).toMatch(/the greeting, when it came, refused service/);
        // Not said as a fact of every client: one that waits may be greeted.
        expect(finding?.detail).not.toMatch(/mail clients cannot use this port/);
        // Sent after mailprobe spoke: it may answer that (sendmail's greet_pause answers early talk with 554).
        expect(finding?.detail).toMatch(/came only at \d\.\d s, after .*goodbye/);
        expect(finding?.detail).toMatch(/--timeout 10000/);
      }
    }
  });

  it("IMAP: a * BYE followed by LOGOUT's tagged completion answered the goodbye; alone or then a close, it refuses", async () => {
    // RFC 9051 §6.1.3: LOGOUT is answered with an untagged BYE, then its tagged OK. Read together or apart.
    for (const [name, answer] of [
      ['at once', (socket: net.Socket) => socket.end('* BYE logging out\r\nmp0 OK LOGOUT completed\r\n')],
      [
        'the OK 150 ms after the BYE',
        (socket: net.Socket) => {
          socket.write('* BYE logging out\r\n');
          later(socket, 150, 'mp0 OK LOGOUT completed\r\n');
        },
      ],
    ] as const) {
      const server = await recordingServer((socket) =>
        socket.on('data', (chunk: Buffer) => /^mp0 LOGOUT\r\n$/.test(chunk.toString()) && answer(socket)),
      );
      const result = await probe(server.port, 'imap', {
        limits: { greetingMs: 300, replyMs: 500, silenceMs: 3000, portMs: 900 },
      });
      expect(result.status, name).toBe('silent');
      expect(result.lateGreeting).toBeUndefined();
      const lines = result.transcript.filter((entry) => entry.dir === 'S').map((entry) => entry.text);
      expect(lines.slice(0, 2)).toEqual(['* BYE logging out', 'mp0 OK LOGOUT completed']);
      expect(findingIds(result)).not.toContain('greeting-rejected');
    }
    // The BYE alone, then the close, or then nothing within the wait: the late greeting's refusal.
    for (const [name, answer] of [
      ['then the close', (socket: net.Socket) => socket.end('* BYE go away\r\n')],
      ['then nothing', (socket: net.Socket) => socket.write('* BYE go away\r\n')],
    ] as const) {
      const server = await recordingServer((socket) => socket.on('data', () => answer(socket)));
      const started = performance.now();
      const result = await probe(server.port, 'imap', {
        limits: { greetingMs: 300, replyMs: 500, silenceMs: 3000 },
      });
      expect(result.status, name).toBe('rejected');
      expect(result.lateGreeting?.line).toBe('* BYE go away');
      expect(findingIds(result)).toEqual(['greeting-rejected']);
      expect(server.seen).toHaveLength(1);
      // One more line was waited for within the goodbye's own wait, never longer.
      expect(performance.now() - started).toBeLessThan(300 + 500 + 400);
    }
  });

  it('IMAP and POP3 greetings too; an answer that is not a greeting (221) leaves the port silent', async () => {
    for (const [service, greeting] of [
      ['imap', '* OK IMAP4rev1 ready\r\n'],
      ['pop3', '+OK POP3 ready\r\n'],
    ] as const) {
      const server = await recordingServer((socket) => later(socket, 500, greeting));
      const result = await probe(server.port, service, {
        limits: { greetingMs: 300, replyMs: 500, silenceMs: 3000 },
      });
      expect(result.status, service).toBe('stalled');
      expect(result.lateGreeting?.line).toBe(greeting.trim());
      expect(findingIds(result)).toEqual(['greeting-late']);
    }
    const quitOnly = await recordingServer((socket) =>
      socket.on('data', () => socket.end('221 2.0.0 bye\r\n')),
    );
    const silent = await probe(quitOnly.port, 'submission', {
      limits: { greetingMs: 300, replyMs: 500, silenceMs: 3000, portMs: 900 },
    });
    expect(silent.status).toBe('silent');
    expect(silent.lateGreeting).toBeUndefined();
    // The silent figure is the greeting's wait alone.
    expect(silent.timings.greeting).toBeLessThan(450);
  });
});
