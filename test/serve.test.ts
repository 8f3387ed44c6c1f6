/**
 * `mailprobe serve` facing hostile clients, hostile DNS and a shutdown: every request gets an HTTP answer and the
 * process lives on (random request lines, paths, queries and headers on raw sockets); a name resolved with TTL 0 to
 * an allowed address and then to another is never probed at the other (system resolver and --dns-server); loopback,
 * link-local, unspecified, multicast and this machine's own addresses are probed only when --allow names them, a
 * reachable --listen needs --allow or --allow-any, a foreign Host header gets 421; SIGTERM ends it within the grace
 * with exit 0; the per-target memory is bounded. The login module and --min-interval take an address however it is
 * written as one target, and a name as its addresses too: after a refusal no login reaches the server again (in a
 * namespace, an IMAPS server that refuses every login). A client that pipelines without reading is cut off at the
 * cap, connections are capped, a silent client (or one whose request never comes whole) gets 408 within about
 * 10 s, an idle one is closed after 5 s, a request that carries content is answered at once and its connection
 * closed (400 for a GET), CONNECT gets 405. A request another web page makes (Sec-Fetch-Site, Origin) gets 403.
 * The transport module fails (probe_success 0, with the reason) for a domain that does not exist, whose DNS fails,
 * that publishes only null MX records, that has neither an MX record nor an address, or none of whose MX hosts has an
 * address; a domain with no MX record is probed as its own mail host (the implicit MX), an MX without an address is
 * named (mailprobe_mx_address_lookup) while the others are probed, and so are the others beside a null MX.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  addressPolicy,
  canonicalAddress,
  canonicalTarget,
  createProbeServer,
  crossSiteRefusal,
  idleTimeoutMs,
  LoginGate,
  maxConnections,
  maxPipelined,
  PeerRefusedError,
  RecentProbes,
  requestBudgetMs,
} from '../src/modes/serve.js';
import { PolicyMemory } from '../src/modes/serve-transport.js';
import { Dns } from '../src/net/dns.js';
import { probeHost } from '../src/probe/host.js';
import { cli, mainScript, root } from './helpers/cli.js';
import { loopbackDns } from './helpers/loopback-dns.js';
import { Netns, netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';

/** A TCP port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The built CLI's `serve` on 127.0.0.1, once it listens. */
async function startServe(
  args: string[],
): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [mainScript, 'serve', '--listen', `127.0.0.1:${port}`, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let i = 0; i < 100 && !stderr.includes('listening'); i++) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!stderr.includes('listening')) throw new Error(`serve did not start: ${stderr}`);
  return { child, port, stderr: () => stderr };
}

/** Sends raw bytes on a fresh connection, half-closes it, and returns what came back until the close (or 3 s). */
function rawRequest(port: number, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.end(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}

/**
 * Sends `bytes` on a fresh connection, then, with `everyMs`, one byte more every `everyMs` (content that never
 * ends), and returns what came back and when the server closed it; the client gives up after `limitMs`.
 */
function tricklingRequest(
  port: number,
  bytes: string,
  everyMs: number | undefined,
  limitMs: number,
): Promise<{ answer: string; ms: number }> {
  return new Promise((resolve) => {
    const begin = performance.now();
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    const drip = everyMs === undefined ? undefined : setInterval(() => socket.write('x'), everyMs);
    const limit = setTimeout(() => socket.destroy(), limitMs);
    socket.on('error', () => {});
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(limit);
      resolve({ answer, ms: performance.now() - begin });
    });
    if (bytes) socket.write(bytes, 'latin1');
  });
}

async function metricsAnswer(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  await response.text();
  return response.status;
}

describe('hostile requests', () => {
  let serve: Awaited<ReturnType<typeof startServe>>;
  let deadDns: dgram.Socket;
  beforeAll(async () => {
    // Names go to a DNS server on loopback that never answers; the only address --allow names is 127.0.0.2,
    // where nothing listens: whatever the random requests say, nothing leaves this machine.
    deadDns = dgram.createSocket('udp4');
    deadDns.on('message', () => {});
    await new Promise<void>((resolve) => deadDns.bind(0, '127.0.0.1', resolve));
    serve = await startServe([
      '--allow',
      '127.0.0.2/32',
      '--dns-server',
      `127.0.0.1:${deadDns.address().port}`,
      '--deadline',
      '500',
      '--min-interval',
      '1',
    ]);
  });
  afterAll(() => {
    serve.child.kill('SIGKILL');
    deadDns.close();
  });

  it('answers the request targets that ended the process (//%5B, //[::1, //%zz) with an HTTP status', async () => {
    for (const path of ['//%5B', '//[::1', '//%zz', '/probe/%zz?target=x', '/%5B?target=%zz&module=%5B']) {
      const answer = await rawRequest(serve.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect(answer, path).toMatch(/^HTTP\/1\.1 (400|404) /);
    }
    expect(serve.child.exitCode).toBe(null);
    expect(await metricsAnswer(serve.port)).toBe(200);
  });

  it('answers module=__proto__, constructor, toString 400 with the list of modules', async () => {
    for (const module of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const response = await fetch(`http://127.0.0.1:${serve.port}/probe?target=127.0.0.2&module=${module}`);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('is not one of all, smtp, submissions, submission, imap');
    }
  });

  it('still answers /metrics after random request lines, paths, queries and headers (property)', async () => {
    const weird = fc.constantFrom(
      '%',
      '%zz',
      '%5B',
      '%00',
      '[',
      ']',
      '[::1',
      '//',
      '?',
      '&',
      '=',
      '#',
      '..',
      '\u00ff',
      '\u0000',
      ' ',
      '\t',
      '\r',
      '\n',
      '__proto__',
      'constructor',
      '127.0.0.2',
      'mail.test',
      'target',
      'module',
      'all',
    );
    const text = fc
      .array(fc.oneof(weird, fc.string({ maxLength: 12 })), { maxLength: 8 })
      .map((p) => p.join(''));
    const path = fc.oneof(
      fc.constantFrom('/probe', '/metrics', '//%5B', '//[::1', '//%zz', '*', 'http://a/probe', '/'),
      text.map((t) => `/${t}`),
      text.map((t) => `//${t}`),
      text,
    );
    const query = fc
      .array(fc.tuple(fc.oneof(fc.constantFrom('target', 'module'), text), text), { maxLength: 4 })
      .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));
    const headerName = fc.constantFrom(
      'Host',
      'X-Prometheus-Scrape-Timeout-Seconds',
      'Accept',
      'Connection',
      'Content-Length',
      'Transfer-Encoding',
      'X-Forwarded-For',
    );
    // Most requests are well formed up to the part under test, so that they reach the handler; some are not.
    const wellFormed = fc.record({
      method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'HEAD'),
      path,
      query,
      version: fc.constant('HTTP/1.1'),
      host: fc.constantFrom('127.0.0.1', `127.0.0.1:${serve.port}`, 'localhost', undefined, 'evil.example'),
      headers: fc.array(
        fc.tuple(
          headerName,
          text.map((t) => t.replace(/[\r\n\0]/g, '')),
        ),
        { maxLength: 3 },
      ),
      end: fc.constant('\r\n\r\n'),
    });
    const anything = fc.record({
      method: fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'CONNECT'), text),
      path,
      query,
      version: fc.oneof(fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2', ''), text),
      host: fc.oneof(fc.constantFrom('127.0.0.1', `127.0.0.1:${serve.port}`, 'localhost', undefined), text),
      headers: fc.array(fc.tuple(fc.oneof(headerName, text), text), { maxLength: 5 }),
      end: fc.constantFrom('\r\n\r\n', '\r\n', '\n\n', ''),
    });
    const request = fc.oneof({ arbitrary: wellFormed, weight: 3 }, { arbitrary: anything, weight: 1 });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const lines = [
          `${r.method} ${r.path}${r.query} ${r.version}`.trimEnd(),
          ...(r.host === undefined ? [] : [`Host: ${r.host}`]),
          ...r.headers.map(([name, value]) => `${name}: ${value}`),
        ];
        await rawRequest(serve.port, Buffer.from(`${lines.join('\r\n')}${r.end}`, 'utf8'));
        expect(serve.child.exitCode).toBe(null);
        expect(await metricsAnswer(serve.port)).toBe(200);
      }),
      { numRuns: 300 },
    );
    expect(serve.stderr()).not.toMatch(/at .*\.js:\d+/); // no stack trace
  }, 120_000);
});

describe('the safe defaults', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });
  async function start(options: Parameters<typeof createProbeServer>[0]) {
    const server = createProbeServer({ limits: { connectMs: 500 }, minIntervalMs: 1, ...options });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    return (path: string, host = `127.0.0.1:${port}`) =>
      new Promise<{ code: number; body: string }>((resolve, reject) => {
        const request = http.get({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ code: response.statusCode ?? 0, body }));
        });
        request.on('error', reject);
      });
  }
  const own = Object.values(os.networkInterfaces())
    .flat()
    .map((entry) => entry?.address ?? '')
    .find(
      (address) =>
        address !== '' && !address.startsWith('127.') && address !== '::1' && !address.startsWith('fe80'),
    );

  it("the transport module's policy memory is bounded: the least recently seen domain is forgotten first", () => {
    const memory = new PolicyMemory(2);
    const facts = (id: string) => ({
      stsRecord: { name: '', outcome: 'found' as const, records: [] },
      tlsRptRecord: { name: '', outcome: 'none' as const, records: [] },
      stsId: id,
      policy: { version: 'STSv1', mode: 'enforce', mx: ['mx.a'], maxAge: 86400, problems: [] },
    });
    expect(memory.exchange('a.example', facts('1'))).toBeUndefined();
    memory.exchange('b.example', facts('1'));
    expect(memory.exchange('a.example', facts('2'))).toMatchObject({ id: '1' });
    memory.exchange('c.example', facts('1'));
    expect(memory.size).toBe(2);
    // b was the least recently seen: forgotten; a is still remembered (with its latest id).
    expect(memory.exchange('b.example', facts('1'))).toBeUndefined();
    expect(memory.exchange('c.example', facts('1'))).toMatchObject({ id: '1' });
  });

  it('module=transport takes a mail domain: an IP address is a 400, and the module is listed', async () => {
    const get = await start({});
    const ip = await get('/probe?target=192.0.2.1&module=transport');
    expect(ip).toMatchObject({ code: 400, body: expect.stringContaining('takes a mail domain') });
    const unknown = await get('/probe?target=example.org&module=nope');
    expect(unknown.body).toMatch(/is not one of .*transport/);
  });

  it('probes no loopback, link-local, unspecified, multicast or own address unless --allow names it', async () => {
    const get = await start({});
    const refused = [
      '127.0.0.1',
      '127.1.2.3',
      '[::1]',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '169.254.169.254',
      'fe80::1%25lo',
      '[fe80::2%25lo]',
      '0.0.0.0',
      '[::]',
      '224.0.0.1',
      'ff02::1',
      ...(own ? [own] : []),
    ];
    for (const target of refused) {
      // Spellings of one address are one target for --min-interval (1 ms here).
      await new Promise((resolve) => setTimeout(resolve, 2));
      const answer = await get(`/probe?target=${target}&module=submission`);
      expect(answer.code, target).toBe(403);
      expect(answer.body).toMatch(/probed only when --allow names it/);
    }
    // A wide network does not name them; one no wider than their range does.
    const wide = await start({ allow: ['0.0.0.0/0', '::/0'] });
    expect((await wide('/probe?target=127.0.0.1&module=submission')).code).toBe(403);
    expect((await wide('/probe?target=169.254.169.254&module=submission')).code).toBe(403);
    const named = await start({ allow: ['127.0.0.0/8'] });
    expect((await named('/probe?target=127.0.0.1&module=submission')).code).toBe(200);
    expect((await named('/probe?target=::ffff:127.0.0.1&module=pop3')).code).toBe(200);
    expect((await named('/probe?target=169.254.169.254&module=submission')).code).toBe(403);
  });

  it('the policy reads IPv4-mapped IPv6 and zone ids as the addresses they are', () => {
    const policy = addressPolicy(['192.0.2.0/24'], () => new Set(['203.0.113.7']));
    expect(policy('192.0.2.9')).toBe(undefined);
    expect(policy('::ffff:192.0.2.9')).toBe(undefined);
    expect(policy('0:0:0:0:0:ffff:c000:209')).toBe(undefined);
    expect(policy('::ffff:127.0.0.1')).toMatch(/outside/);
    expect(policy('fe80::1%eth0')).toMatch(/outside/);
    expect(addressPolicy(['fe80::/10'])('fe80::1%eth0')).toBe(undefined);
    expect(addressPolicy(['::/0'])('fe80::1%eth0')).toMatch(/link-local/);
    expect(addressPolicy([], () => new Set(['203.0.113.7']))('203.0.113.7')).toMatch(/own address/);
    expect(addressPolicy(['203.0.113.0/24'], () => new Set(['203.0.113.7']))('203.0.113.7')).toMatch(/own/);
    expect(addressPolicy(['203.0.113.7/32'], () => new Set(['203.0.113.7']))('203.0.113.7')).toBe(undefined);
    expect(canonicalAddress('[::FFFF:7F00:1]')).toEqual({ address: '127.0.0.1', family: 4 });
  });

  it('judges an IPv6 address that embeds an IPv4 one (NAT64, IPv4-compatible, -translated, 6to4, Teredo) as both', async () => {
    const embedded = [
      '64:ff9b::7f00:1',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b:1::7f00:1',
      '::127.0.0.1',
      '::ffff:0:127.0.0.1',
      '2002:7f00:1::1',
      '2001:0:7f00:1::1',
    ];
    const policy = addressPolicy([], () => new Set());
    for (const address of embedded)
      expect(policy(address), address).toMatch(/, which is a (loopback|link-local) address/);
    expect(policy('64:ff9b::7f00:1')).toMatch(
      /NAT64 address .* of 127\.0\.0\.1, which is a loopback address/,
    );
    expect(policy('64:ff9b::a9fe:a9fe')).toMatch(/169\.254\.169\.254, which is a link-local address/);
    // Both must pass: the IPv4 network named, and the IPv6 one too when --allow is given.
    const both = addressPolicy(['::/0', '127.0.0.0/8', '169.254.169.254/32'], () => new Set());
    for (const address of embedded) expect(both(address), address).toBe(undefined);
    expect(addressPolicy(['64:ff9b::/96', '0.0.0.0/0'])('64:ff9b::7f00:1')).toMatch(
      /which is a loopback address/,
    );
    expect(addressPolicy(['64:ff9b::/96'])('64:ff9b::c000:209')).toMatch(/which is outside the allowed/);
    expect(addressPolicy(['64:ff9b::/96', '192.0.2.0/24'])('64:ff9b::c000:209')).toBe(undefined);
    expect(addressPolicy(['::/0', '0.0.0.0/0'], () => new Set(['192.0.2.9']))('2002:c000:209::1')).toMatch(
      /own address/,
    );
    // IPv6's own ::1 and public addresses are not read as IPv4.
    expect(addressPolicy(['::1/128'])('::1')).toBe(undefined);
    expect(policy('2001:db8::7f00:1')).toBe(undefined);
    const get = await start({});
    for (const target of embedded) {
      const answer = await get(`/probe?target=${target}&module=submission`);
      expect(answer.code, target).toBe(403);
      expect(answer.body).toMatch(/probed only when --allow names it/);
    }
  });

  it('answers 421 to a Host that is not this server, unless it is named with --host-name', async () => {
    const get = await start({ allow: ['127.0.0.0/8'], hostNames: ['prober.example.net'] });
    expect((await get('/metrics', 'rebound.example.com:9925')).code).toBe(421);
    expect((await get('/probe?target=127.0.0.1&module=submission', 'attacker.example')).code).toBe(421);
    expect((await get('/metrics', '127.0.0.2')).code).toBe(421);
    expect((await get('/metrics', 'localhost:9925')).code).toBe(200);
    expect((await get('/metrics', 'Prober.Example.Net:9925')).code).toBe(200);
    expect((await get('/metrics')).code).toBe(200);
  });

  it('answers 400 to a request with more than one Host header (RFC 9112 §3.2)', async () => {
    const server = createProbeServer({ minIntervalMs: 1 });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    for (const second of [`127.0.0.1:${port}`, 'attacker.example']) {
      const answer = await rawRequest(
        port,
        `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nhost: ${second}\r\nConnection: close\r\n\r\n`,
      );
      expect(answer, second).toMatch(/^HTTP\/1\.1 400 .*more than one Host header/s);
    }
    const one = await rawRequest(
      port,
      `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    );
    expect(one).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('a reachable --listen without --allow refuses to start; --allow-any or --allow lets it', async () => {
    // 192.0.2.1 is on no interface here: a start that gets past the check fails to listen (exit 2 too).
    const refused = await cli(['serve', '--listen', '192.0.2.1:9925']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/can be reached from other machines: .*--allow CIDR, or pass --allow-any/);
    for (const extra of [['--allow-any'], ['--allow', '192.0.2.0/24']]) {
      const run = await cli(['serve', '--listen', '192.0.2.1:9925', ...extra]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/cannot listen on 192\.0\.2\.1:9925/);
    }
    expect((await cli(['serve', '--host-name', 'bad name'])).stderr).toMatch(/--host-name: 'bad name'/);
  });

  it('a long bad --allow, --listen or --host-name is echoed cut, with its length, in one line (exit 2)', async () => {
    const long = 'x'.repeat(5000);
    for (const args of [
      ['--allow', long],
      ['--listen', long],
      ['--host-name', `${long} y`],
    ]) {
      const run = await cli(['serve', ...args]);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr.length).toBeLessThan(400);
      expect(run.stderr).toMatch(/bytes in all, cut at 80/);
    }
  });

  it('a connection refused by the remote-address check gets no byte: the port ends local-error', async () => {
    let received = 0;
    let accepted = 0;
    const server = net.createServer((socket) => {
      accepted++;
      socket.on('data', (chunk) => (received += chunk.length));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const result = await probeHost('127.0.0.1', {
        ports: [{ port, service: 'imaps' }],
        limits: { connectMs: 1000, tlsMs: 1000, portMs: 3000 },
        addresses: [{ address: '127.0.0.1', family: 4 }],
        afterConnect: (socket) => {
          throw new PeerRefusedError(`connected to ${socket.remoteAddress}: refused`);
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(accepted).toBe(1);
      expect(received).toBe(0);
      expect(result.ports[0]?.status).toBe('local-error');
      expect(result.ports[0]?.statusDetail).toMatch(/connected to 127\.0\.0\.1: refused/);
    } finally {
      server.close();
    }
  });
});

describe('bounds', () => {
  it('the per-target memory is bounded: expired entries go, and at most the cap stays', () => {
    const recent = new RecentProbes(1000, 5000);
    let taken = 0;
    // 200,000 distinct targets, one a millisecond (the benchmark measures a million through HTTP).
    for (let i = 0; i < 200_000; i++)
      if (recent.take(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255} all`, i)) taken++;
    expect(taken).toBe(200_000);
    expect(recent.size).toBeLessThanOrEqual(1001); // one second's worth at 1000 a second
    const capped = new RecentProbes(86_400_000, 5000);
    for (let i = 0; i < 200_000; i++) capped.take(`t${i}`, i);
    expect(capped.size).toBe(5000);
    expect(capped.take('t199999', 200_001)).toBe(false); // a recent one is still refused
    // A target taken again after the interval: its first record, expired, does not forget the second.
    const again = new RecentProbes(1000);
    expect(again.take('a', 0)).toBe(true);
    expect(again.take('a', 1000)).toBe(true);
    expect(again.take('b', 1500)).toBe(true);
    expect(again.take('a', 1600)).toBe(false);
    expect(again.size).toBe(2);
  });

  it('a Prometheus scrape timeout shortens the request to that timeout minus 0.5 s', () => {
    expect(requestBudgetMs('10', 30_000)).toBe(9500);
    expect(requestBudgetMs('60', 30_000)).toBe(30_000);
    expect(requestBudgetMs('0.8', 30_000)).toBe(400);
    expect(requestBudgetMs('-1', 30_000)).toBe(undefined);
    expect(requestBudgetMs('ten', 30_000)).toBe(undefined);
    // Decimal only, as Prometheus writes it: Number() would read these as 16, 10, 10 and 20 s.
    for (const header of ['0x10', '1e1', '0b1010', ' 0x14', 'Infinity', '', '.5', '5.'])
      expect(requestBudgetMs(header, 30_000), header).toBe(undefined);
    expect(requestBudgetMs('9.5', 30_000)).toBe(9000);
  });

  it('the login gate: a start holds a minute, a refusal an hour, on every key; both expire; bounded', () => {
    const gate = new LoginGate(4, 60_000, 3_600_000);
    expect(gate.check(['mail.test', '::1'], 0)).toBe(undefined);
    gate.start(['mail.test', '::1'], 0);
    // Another name for the address is held back by the address.
    expect(gate.check(['other.test', '::1'], 1000)).toMatchObject({
      code: 429,
      why: expect.stringMatching(/one login run a minute at most \(::1\)/),
    });
    expect(gate.check(['::1'], 59_999)?.code).toBe(429);
    expect(gate.check(['::1'], 60_000)).toBe(undefined);
    expect(gate.size).toBe(0); // the starts expired
    gate.start(['::1'], 60_000);
    gate.refused(['::1', 'mail.test'], 61_000);
    expect(gate.check(['mail.test'], 200_000)?.why).toMatch(
      /^a login was refused there; no login for 58 more minutes/,
    );
    expect(gate.check(['x.test', '::1'], 3_660_999)?.why).toMatch(/a login was refused there \(::1\)/);
    expect(gate.check(['::1'], 3_661_000)).toBe(undefined);
    expect(gate.size).toBe(0);
    // Full: no new run starts (503), and nothing held back is forgotten to make room.
    gate.start(['a', 'b', 'c'], 4_000_000);
    expect(gate.check(['d', 'e'], 4_000_001)).toMatchObject({ code: 503 });
    expect(gate.check(['d'], 4_000_001)).toBe(undefined);
    expect(gate.check(['a'], 4_000_001)?.code).toBe(429);
    expect(gate.check(['d', 'e'], 4_060_000)).toBe(undefined);
  });

  it('an IP address target has one canonical form, its zone id kept', () => {
    for (const spelling of ['::1', '0::1', '0:0::1', '::0:1', '0000::0001', '0:0:0:0:0:0:0:1', '[::1]'])
      expect(canonicalTarget(spelling.replace(/^\[|\]$/g, '')), spelling).toBe('::1');
    expect(canonicalTarget('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalTarget('::FFFF:7F00:1')).toBe('127.0.0.1');
    expect(canonicalTarget('FE80::0:1%eth0')).toBe('fe80::1%eth0');
    expect(canonicalTarget('mail.example.org')).toBe('mail.example.org');
  });
});

describe('SIGTERM', () => {
  it('stops accepting at once, ends the running probe within the grace, ignores a half-sent request, exits 0', async () => {
    // A DNS server that never answers keeps a probe running about 5 s (the resolver's timeout, 5 s and one try,
    // not the 30 s deadline: then "the DNS server did not answer in time"); SIGTERM comes 300 ms in.
    const blackHole = dgram.createSocket('udp4');
    blackHole.on('message', () => {});
    await new Promise<void>((resolve) => blackHole.bind(0, '127.0.0.1', resolve));
    const serve = await startServe([
      '--dns-server',
      `127.0.0.1:${blackHole.address().port}`,
      '--grace',
      '1000',
    ]);
    try {
      const half = net.connect({ host: '127.0.0.1', port: serve.port });
      half.on('error', () => {});
      half.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const probe = fetch(
        `http://127.0.0.1:${serve.port}/probe?target=mail.never-answers.test&module=smtp`,
      ).then(async (response) => ({ code: response.status, body: await response.text() }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
        serve.child.once('exit', (code) => resolve({ code, at: performance.now() })),
      );
      const sent = performance.now();
      serve.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const late = await new Promise<string>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: serve.port });
        socket.on('connect', () => {
          socket.destroy();
          resolve('accepted');
        });
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      expect(late).toBe('ECONNREFUSED');
      const answered = await probe;
      expect(answered.code).toBe(200);
      expect(answered.body).toMatch(/^probe_success 0$/m);
      const { code, at } = await exited;
      expect(code).toBe(0);
      expect(at - sent).toBeLessThan(4000); // --grace 1000, and the aborted probe answered: well within
      half.destroy();
    } finally {
      serve.child.kill('SIGKILL');
      blackHole.close();
    }
  }, 20_000);
});

describe('hostile clients and browsers', () => {
  const servers: ReturnType<typeof createProbeServer>[] = [];
  const closers: (() => void)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await Promise.all(servers.splice(0).map((server) => server.shutdown(100)));
  });
  async function listen(options: Parameters<typeof createProbeServer>[0]) {
    const server = createProbeServer({ limits: { connectMs: 500 }, minIntervalMs: 1, ...options });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ code: number; body: string }>((resolve, reject) => {
        const request = http.get(
          { host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers }, agent: false },
          (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
            response.on('end', () => resolve({ code: response.statusCode ?? 0, body }));
          },
        );
        request.on('error', reject);
      });
    return { server, port, get };
  }

  it('login module: another spelling of an address, or a name that resolves to it, is the same target', async () => {
    const dns = await loopbackDns((name, type) =>
      name === 'mail.login.test'
        ? { answers: type === 'AAAA' ? [{ type: 'AAAA', name, ttl: 0, data: '::1' }] : [] }
        : { rcode: 3 },
    );
    closers.push(dns.close);
    // Nothing listens on these loopback ports: each run ends at once, and no credential goes anywhere.
    const { get } = await listen({
      login: { credential: { user: 'alice@login.test', secret: 'not-a-secret', kind: 'password' } },
      allow: ['127.0.0.0/8', '::1/128'],
      dnsServer: dns.server,
    });
    // A request refused before the run (a bad scrape-timeout header) does not use the target's login slot.
    const bad = await get('/probe?target=::1&module=login', { 'x-prometheus-scrape-timeout-seconds': 'ten' });
    expect(bad.code).toBe(400);
    const first = await get('/probe?target=::1&module=login');
    expect(first.code).toBe(200);
    // The metrics name the target in its canonical form.
    expect(first.body).toMatch(/^mailprobe_port_up\{target="::1",port="993",/m);
    for (const spelling of ['0::1', '0:0::1', '::0:1', '0000::0001', '[::1]', '0:0:0:0:0:0:0:1', '[0::1]']) {
      const again = await get(`/probe?target=${encodeURIComponent(spelling)}&module=login`);
      expect(again.code, spelling).toBe(429);
      expect(again.body).toMatch(/^::1: one login run a minute at most \(lockout safety\)$/m);
    }
    // A name that resolves to the address: held back by the address.
    const named = await get('/probe?target=mail.login.test&module=login');
    expect(named).toMatchObject({
      code: 429,
      body: expect.stringContaining('one login run a minute at most (::1)'),
    });
    // An IPv4 address and its IPv4-mapped spellings are one target too.
    expect((await get('/probe?target=127.0.0.1&module=login')).code).toBe(200);
    for (const spelling of ['::ffff:127.0.0.1', '::ffff:7f00:1', '[::FFFF:127.0.0.1]'])
      expect((await get(`/probe?target=${encodeURIComponent(spelling)}&module=login`)).code, spelling).toBe(
        429,
      );
    // Any module: the answer's label is the canonical address, however the request spelled it.
    const labelled = await get('/probe?target=0000::0001&module=submission');
    expect(labelled.body).toMatch(
      /^mailprobe_port_up\{target="::1",port="587",service="submission",address="::1"\}/m,
    );
  }, 30_000);

  it('--min-interval holds for every spelling of an address', async () => {
    const { get } = await listen({ allow: ['::1/128'], minIntervalMs: 60_000 });
    expect((await get('/probe?target=::1&module=submission')).code).toBe(200);
    for (const spelling of ['0::1', '0000::0001', '[0:0::1]']) {
      const again = await get(`/probe?target=${encodeURIComponent(spelling)}&module=submission`);
      expect(again, spelling).toMatchObject({ code: 429, body: '::1 was probed less than 60000 ms ago\n' });
    }
  });

  it('refuses what a browser sends for another page (Sec-Fetch-Site, Origin) with 403, before any probe', async () => {
    const { port, get } = await listen({ allow: ['127.0.0.0/8'] });
    const own = `http://127.0.0.1:${port}`;
    const refused: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: `http://localhost:${port}` },
      { origin: `http://127.0.0.1:${port + 1}` },
      { origin: `${own}.evil.example` },
      { origin: `${own}/` },
      { origin: `http://user@127.0.0.1:${port}` },
    ];
    for (const headers of refused)
      for (const path of [
        '/probe?target=127.0.0.1&module=submission',
        '/report?target=127.0.0.1&module=all',
        '/',
      ]) {
        const answer = await get(path, headers);
        expect(answer.code, JSON.stringify(headers)).toBe(403);
        expect(answer.body).toMatch(
          /^(Sec-Fetch-Site:|Origin) .*a request another web page made is refused .*\n$/,
        );
        expect(answer.body.trim().split('\n')).toHaveLength(1);
      }
    const health = await get('/metrics');
    expect(health.body).toMatch(/^mailprobe_serve_probe_seconds_count 0$/m);
    expect(health.body).toMatch(/^mailprobe_serve_requests_total\{code="403"\} 30$/m);
    // Prometheus and curl send neither; serve's own page sends same-origin (none: typed in the address bar).
    expect((await get('/probe?target=127.0.0.1&module=submission')).code).toBe(200);
    for (const headers of [
      { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate' },
      { 'sec-fetch-site': 'none' },
      { 'sec-fetch-site': 'same-origin', origin: own },
    ]) {
      expect((await get('/', headers)).code, JSON.stringify(headers)).toBe(200);
      expect((await get('/report?target=127.0.0.2&module=pop3', headers)).code, JSON.stringify(headers)).toBe(
        200,
      );
    }
    expect(crossSiteRefusal({ host: 'prober.example.net', origin: 'https://prober.example.net' })).toBe(
      undefined,
    );
    expect(crossSiteRefusal({ host: 'prober.example.net:443', origin: 'https://prober.example.net' })).toBe(
      undefined,
    );
    expect(crossSiteRefusal({ origin: 'http://127.0.0.1:9925' })).toMatch(/^Origin/); // no Host: not a browser's own
  });

  it('answers CONNECT, as every method but GET, 405 with Allow: GET', async () => {
    const { port, get } = await listen({});
    for (const request of [
      `CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: 127.0.0.1:25\r\n\r\n`,
      `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
      `POST /metrics HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    ]) {
      const answer = await rawRequest(port, request);
      expect(answer, request).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
      expect(answer).toMatch(/\r\nallow: GET\r\n/i);
      expect(answer).toContain('only GET\n');
    }
    expect((await get('/metrics')).body).toMatch(/^mailprobe_serve_requests_total\{code="405"\} 3$/m);
  });

  it('a client that sends nothing, half its headers, or half a request queued behind a probe gets 408 within about 10 s; an idle one is closed after 5 s', async () => {
    // A resolver that never answers: a probe runs until its deadline, 20 s, and a request sent behind it waits.
    const resolving = vi.spyOn(Dns.prototype, 'addresses').mockImplementation(() => new Promise(() => {}));
    try {
      const { port } = await listen({ deadlineMs: 20_000 });
      const waitFor = (bytes: string, trickle = false) =>
        tricklingRequest(port, bytes, trickle ? 200 : undefined, 25_000);
      const [silent, half, queued, idle] = await Promise.all([
        waitFor(''),
        waitFor('GET /metrics HTTP/1.1\r\nHost: 127.0'),
        // Its content sent a byte every 200 ms: the connection moves, and the request is never whole.
        waitFor(
          'GET /probe?target=never.test&module=smtp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' +
            'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nx',
          true,
        ),
        waitFor('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      ]);
      for (const [label, { answer, ms }] of Object.entries({ silent, half, queued })) {
        expect(answer, label).toMatch(/^HTTP\/1\.1 408 /);
        expect(ms, label).toBeGreaterThan(9_000);
        expect(ms, label).toBeLessThan(12_500);
      }
      // Answered, then nothing: closed after idleTimeoutMs (node:http waits a second more), by the server.
      expect(idle.answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(idle.answer.match(/HTTP\/1\.1 /g)).toHaveLength(1);
      expect(idle.ms).toBeGreaterThan(idleTimeoutMs - 500);
      expect(idle.ms).toBeLessThan(idleTimeoutMs + 2_000);
    } finally {
      resolving.mockRestore();
    }
  }, 40_000);

  it('a request that carries content is answered at once and its connection closed, however slowly it comes', async () => {
    const { port, get } = await listen({ allow: ['127.0.0.0/8'] });
    const head = (method: string, path: string, header: string) =>
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${header}\r\n\r\n`;
    // Each sends the rest of its content a byte every 200 ms; it gives up after 5 s.
    const [plain, chunked, probe, post] = await Promise.all([
      tricklingRequest(port, `${head('GET', '/metrics', 'Content-Length: 1000')}x`, 200, 5000),
      tricklingRequest(port, `${head('GET', '/', 'Transfer-Encoding: chunked')}3e8\r\nx`, 200, 5000),
      tricklingRequest(
        port,
        `${head('GET', '/probe?target=127.0.0.1&module=submission', 'Content-Length: 1000')}x`,
        200,
        5000,
      ),
      tricklingRequest(port, `${head('POST', '/metrics', 'Content-Length: 1000')}x`, 200, 5000),
    ]);
    for (const [label, { answer, ms }] of Object.entries({ plain, chunked, probe })) {
      expect(answer, label).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer, label).toMatch(/\r\nconnection: close\r\n/i);
      expect(answer, label).toContain('a GET takes no content\n');
      expect(ms, label).toBeLessThan(2000);
    }
    expect(post.answer).toMatch(/^HTTP\/1\.1 405 /);
    expect(post.answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(post.ms).toBeLessThan(2000);
    // Nothing was probed; a Content-Length of 0 is no content, and keeps the connection as before.
    expect((await get('/metrics')).body).toMatch(/^mailprobe_serve_probe_seconds_count 0$/m);
    const kept = await rawRequest(
      port,
      head('GET', '/metrics', 'Content-Length: 0') + head('GET', '/metrics', 'Connection: close'),
    );
    expect(kept.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
  });

  it(`a client that pipelines requests without reading the answers is cut off at ${maxPipelined}: memory stays bounded`, async () => {
    const { server, port, get } = await listen({});
    // Up to the cap, pipelining works: every answer comes, in order.
    const some = await rawRequest(
      port,
      `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`.repeat(maxPipelined - 1) +
        `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );
    expect(some.match(/HTTP\/1\.1 200 /g)).toHaveLength(maxPipelined);
    // 2000 requests at once, on a connection that is not read: the server closes it at the cap and answers
    // no more than the cap (it used to answer all of them, holding every answer in memory).
    for (const path of ['/', '/metrics']) {
      const before = Number(
        /^mailprobe_serve_requests_total\{code="200"\} (\d+)$/m.exec((await get('/metrics')).body)?.[1],
      );
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.pause();
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`.repeat(2000));
      let open = 1;
      for (let i = 0; i < 100 && open > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        open = await new Promise<number>((resolve) => server.getConnections((_, count) => resolve(count)));
      }
      expect(open, path).toBe(0);
      // What it gets once it reads: at most the cap's answers, then the end.
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.resume();
      });
      expect((received.match(/HTTP\/1\.1 200 /g) ?? []).length, path).toBeLessThanOrEqual(maxPipelined);
      const after = Number(
        /^mailprobe_serve_requests_total\{code="200"\} (\d+)$/m.exec((await get('/metrics')).body)?.[1],
      );
      expect(after - before - 1, path).toBeLessThanOrEqual(maxPipelined);
    }
  }, 20_000);

  it(`at most ${maxConnections} connections at once: one more is closed as it is accepted`, async () => {
    const { server, port, get } = await listen({});
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < maxConnections; i++) {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.on('error', () => {});
        sockets.push(socket);
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      }
      let open = 0;
      for (let i = 0; i < 100 && open < maxConnections; i++) {
        open = await new Promise<number>((resolve) => server.getConnections((_, count) => resolve(count)));
        if (open < maxConnections) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(open).toBe(maxConnections);
      const extra = await rawRequest(port, `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect(extra).toBe('');
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    // Once they are gone, it answers again.
    let code = 0;
    for (let i = 0; i < 100 && code !== 200; i++) {
      code = await get('/metrics').then(
        (answer) => answer.code,
        () => 0,
      );
      if (code !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(code).toBe(200);
  }, 20_000);

  it('transport module: a domain that does not exist, or whose DNS fails, is probe_success 0 with the reason', async () => {
    const dns = await loopbackDns((name) => ({ rcode: name.startsWith('servfail.') ? 2 : 3 }));
    closers.push(dns.close);
    const { get } = await listen({ dnsServer: dns.server, limits: { connectMs: 2000 } });
    const nx = await get('/probe?target=nx.transport.test&module=transport');
    expect(nx.code).toBe(200);
    expect(nx.body).toMatch(/^probe_success 0$/m);
    expect(nx.body).toMatch(
      /^# HELP probe_success The probe failed: cannot resolve nx\.transport\.test: no such domain \(NXDOMAIN\)/m,
    );
    expect(nx.body).not.toMatch(/mailprobe_mta_sts_mode/);
    const failed = await get('/probe?target=servfail.transport.test&module=transport');
    expect(failed.body).toMatch(/^probe_success 0$/m);
    expect(failed.body).toMatch(
      /^# HELP probe_success The probe failed: .*DNS failed: the DNS server failed \(SERVFAIL\)/m,
    );
    const page = await get('/report?target=nx.transport.test&module=transport');
    expect(page.code).toBe(200);
    expect(page.body).toContain(
      'the probe failed: cannot resolve nx.transport.test: no such domain (NXDOMAIN)',
    );
  });

  it('transport module: a null MX, or no MX and no address, is probe_success 0; no MX is the domain itself (RFC 5321 §5.1)', async () => {
    // null.transport.test: a null MX. bare.transport.test: exists, no record at all. own.transport.test: no MX, an
    // address (loopback, where nothing listens on 25). failing.transport.test: no MX, and its A and AAAA fail.
    const dns = await loopbackDns((name, type) => {
      if (name === 'null.transport.test' && type === 'MX')
        return { answers: [{ type: 'MX', name, ttl: 0, data: { preference: 0, exchange: '.' } }] };
      if (name === 'own.transport.test' && type === 'A')
        return { answers: [{ type: 'A', name, ttl: 0, data: '127.77.25.1' }] };
      if (name === 'failing.transport.test' && type !== 'MX') return { rcode: 2 };
      return name.startsWith('mta-sts.') ? { rcode: 3 } : {};
    });
    closers.push(dns.close);
    const { get } = await listen({
      dnsServer: dns.server,
      allow: ['127.0.0.0/8'],
      limits: { connectMs: 2000 },
    });
    const nullMx = await get('/probe?target=null.transport.test&module=transport');
    expect(nullMx.code).toBe(200);
    expect(nullMx.body).toMatch(/^probe_success 0$/m);
    expect(nullMx.body).toMatch(
      /^# HELP probe_success The probe failed: cannot resolve null\.transport\.test: it publishes a null MX \(accepts no mail, RFC 7505\)/m,
    );
    expect(nullMx.body).not.toMatch(/mailprobe_mta_sts_mode/);
    const bare = await get('/probe?target=bare.transport.test&module=transport');
    expect(bare.body).toMatch(/^probe_success 0$/m);
    expect(bare.body).toMatch(
      /^# HELP probe_success The probe failed: cannot resolve bare\.transport\.test: no MX record and no address \(RFC 5321 §5\.1\)/m,
    );
    const failing = await get('/probe?target=failing.transport.test&module=transport');
    expect(failing.body).toMatch(/^probe_success 0$/m);
    expect(failing.body).toMatch(/^# HELP probe_success The probe failed: .*DNS failed: .*\(its addresses/m);
    // No MX, an address: senders deliver to the domain itself, and its port 25 is what is probed.
    const own = await get('/probe?target=own.transport.test&module=transport');
    expect(own.body).toMatch(
      /^mailprobe_port_up\{target="own\.transport\.test",port="25",service="smtp",address="127\.77\.25\.1"\} 0$/m,
    );
    expect(own.body).toMatch(/^mailprobe_mta_sts_mode\{domain="own\.transport\.test",mode="absent"\} 1$/m);
  });

  it('transport module: several null MX records are probe_success 0; a null MX beside other MX is a finding', async () => {
    // nulls.transport.test: two "." and no other MX. mixed.transport.test: "." beside a.mixed.transport.test
    // (loopback, nothing on 25), which RFC 7505 §3 forbids.
    const dns = await loopbackDns((name, type) => {
      const mx = (preference: number, exchange: string) => ({
        type: 'MX' as const,
        name,
        ttl: 0,
        data: { preference, exchange },
      });
      if (name === 'nulls.transport.test' && type === 'MX') return { answers: [mx(0, '.'), mx(10, '.')] };
      if (name === 'mixed.transport.test' && type === 'MX')
        return { answers: [mx(0, '.'), mx(10, 'a.mixed.transport.test')] };
      if (name === 'a.mixed.transport.test' && type === 'A')
        return { answers: [{ type: 'A', name, ttl: 0, data: '127.77.25.3' }] };
      return name.startsWith('mta-sts.') ? { rcode: 3 } : {};
    });
    closers.push(dns.close);
    const { get } = await listen({
      dnsServer: dns.server,
      allow: ['127.0.0.0/8'],
      limits: { connectMs: 2000 },
    });
    // As the command line exits 3 with the same words: no MX names a host, the domain accepts no mail.
    const nulls = await get('/probe?target=nulls.transport.test&module=transport');
    expect(nulls.body).toMatch(/^probe_success 0$/m);
    expect(nulls.body).toMatch(
      /^# HELP probe_success The probe failed: cannot resolve nulls\.transport\.test: it publishes only null MX records, 0 \. and 10 \. \(accepts no mail/m,
    );
    expect(nulls.body).not.toMatch(/mailprobe_mta_sts_mode/);
    // The other MX is probed, and the answer names what was seen (the finding null-mx-mixed, as on the command line).
    const mixed = await get('/probe?target=mixed.transport.test&module=transport');
    expect(mixed.body).toMatch(
      /^mailprobe_port_up\{target="a\.mixed\.transport\.test",port="25",service="smtp",address="127\.77\.25\.3"\} 0$/m,
    );
    expect(mixed.body).toMatch(/^mailprobe_mx_null_mixed\{domain="mixed\.transport\.test"\} 1$/m);
  });

  it('transport module: no MX host with an address is probe_success 0; the MX hosts without one are named', async () => {
    // Each domain's MX hosts: a.DOMAIN has an address (loopback, nothing on 25), b.DOMAIN is NXDOMAIN, c.DOMAIN has
    // no A or AAAA (NODATA), d.DOMAIN's lookup fails (SERVFAIL).
    const hosts: Record<string, string[]> = {
      'none.transport.test': ['b', 'c'],
      'failing.transport.test': ['b', 'd'],
      'mixed.transport.test': ['a', 'b', 'd'],
    };
    const dns = await loopbackDns((name, type) => {
      const mx = hosts[name];
      if (mx && type === 'MX')
        return {
          answers: mx.map((label, i) => ({
            type: 'MX',
            name,
            ttl: 0,
            data: { preference: 10 * (i + 1), exchange: `${label}.${name}` },
          })),
        };
      if (mx) return {};
      if (name.startsWith('a.') && type === 'A')
        return { answers: [{ type: 'A', name, ttl: 0, data: '127.77.25.2' }] };
      if (name.startsWith('d.')) return { rcode: 2 };
      return name.startsWith('c.') ? {} : { rcode: 3 };
    });
    closers.push(dns.close);
    const { get } = await listen({
      dnsServer: dns.server,
      allow: ['127.0.0.0/8'],
      limits: { connectMs: 2000 },
    });
    // As the command line exits 3: "none of its mail hosts has an address (…)".
    const none = await get('/probe?target=none.transport.test&module=transport');
    expect(none.body).toMatch(/^probe_success 0$/m);
    expect(none.body).toMatch(
      /^# HELP probe_success The probe failed: cannot resolve none\.transport\.test: none of its mail hosts has an address \(b\.none\.transport\.test, c\.none\.transport\.test\)/m,
    );
    expect(none.body).not.toMatch(/mailprobe_mta_sts_mode/);
    // One MX without an address, the other's lookup failed: that is a DNS failure, not "no address".
    const failing = await get('/probe?target=failing.transport.test&module=transport');
    expect(failing.body).toMatch(/^probe_success 0$/m);
    expect(failing.body).toMatch(
      /^# HELP probe_success The probe failed: cannot resolve failing\.transport\.test: DNS failed: the DNS server failed \(SERVFAIL\) \(the addresses of its MX d\.failing\.transport\.test/m,
    );
    // One MX with an address: it is probed, and each MX's lookup is a sample.
    const mixed = await get('/probe?target=mixed.transport.test&module=transport');
    expect(mixed.body).toMatch(
      /^mailprobe_port_up\{target="a\.mixed\.transport\.test",port="25",service="smtp",address="127\.77\.25\.2"\} 0$/m,
    );
    for (const [label, outcome] of [
      ['a', 'found'],
      ['b', 'none'],
      ['d', 'failed'],
    ])
      expect(mixed.body).toMatch(
        new RegExp(
          `^mailprobe_mx_address_lookup\\{domain="mixed\\.transport\\.test",mx="${label}\\.mixed\\.transport\\.test",outcome="${outcome}"\\} 1$`,
          'm',
        ),
      );
  });
  it('transport module: MX hosts past the first 10 were not looked up, and the answer says so, not "no usable MX"', async () => {
    // 11 MX hosts: m1 to m10 NXDOMAIN (m1's lookup fails, SERVFAIL, for failing.cut.test), m11 an A record (never
    // looked up: the module looks up the first 10).
    const dns = await loopbackDns((name, type) => {
      if ((name === 'cut.test' || name === 'failing.cut.test') && type === 'MX')
        return {
          answers: Array.from({ length: 11 }, (_, i) => ({
            type: 'MX' as const,
            name,
            ttl: 0,
            data: { preference: 10 * (i + 1), exchange: `m${i + 1}.${name}` },
          })),
        };
      if (name.startsWith('m11.') && type === 'A')
        return { answers: [{ type: 'A', name, ttl: 0, data: '127.77.25.5' }] };
      if (name === 'm1.failing.cut.test') return { rcode: 2 };
      return name.startsWith('m') ? { rcode: 3 } : {};
    });
    closers.push(dns.close);
    const { get } = await listen({
      dnsServer: dns.server,
      allow: ['127.0.0.0/8'],
      limits: { connectMs: 2000 },
    });
    const more = String.raw`1 more MX host was not looked up \(this module looks up the first 10; the command line's discovery, with --max-hosts, looks up more\); the first 10: `;
    const cut = await get('/probe?target=cut.test&module=transport');
    expect(cut.body).toMatch(/^probe_success 0$/m);
    expect(cut.body).toMatch(
      new RegExp(
        String.raw`^# HELP probe_success The probe failed: cannot resolve cut\.test: ${more}none has an address \(m1\.cut\.test, `,
        'm',
      ),
    );
    expect(cut.body).not.toMatch(/no usable MX|none of its/);
    const failing = await get('/probe?target=failing.cut.test&module=transport');
    expect(failing.body).toMatch(/^probe_success 0$/m);
    expect(failing.body).toMatch(
      new RegExp(
        String.raw`^# HELP probe_success The probe failed: cannot resolve failing\.cut\.test: ${more}DNS failed: the DNS server failed \(SERVFAIL\) \(the addresses of its MX m1\.failing\.cut\.test; no address: `,
        'm',
      ),
    );
  });
});

const missing = netnsMissing();
if (missing && process.env.CI) {
  it('DNS rebinding test prerequisites', () => {
    throw new Error(`CI=true and the DNS rebinding test cannot run: ${missing}`);
  });
} else if (missing) console.warn(`skipping the DNS rebinding test: ${missing}`);

describe.skipIf(missing !== undefined)('DNS rebinding (TTL 0, an allowed address then 127.0.0.1)', () => {
  for (const [label, args] of [
    ['the system resolver', []],
    ['--dns-server', ['--dns-server', '127.0.0.1:53']],
  ] as const) {
    it(`with ${label}: the probe connects only to the address that was checked`, async () => {
      sweepStaleNamespaces();
      const ns = new Netns();
      try {
        const run = await ns.run(process.execPath, [
          `${root}test/helpers/rebind-scenario.mjs`,
          JSON.stringify({ args: ['--allow', '192.0.2.0/24', '--timeout', '500', ...args], probes: 6 }),
        ]);
        const result = JSON.parse(run.stdout) as {
          connections: number;
          bytes: number;
          aQueries: number;
          results: { code: number; body: string }[];
          stderr: string;
        };
        expect(result.aQueries).toBeGreaterThanOrEqual(6);
        // Every answer names the one address its probe went to, and the server behind 127.0.0.1 saw nothing.
        expect(result.connections).toBe(0);
        expect(result.bytes).toBe(0);
        const codes = result.results.map((r) => r.code).sort();
        expect(codes).toEqual([200, 200, 200, 403, 403, 403]);
        for (const r of result.results.filter((r) => r.code === 200))
          expect(r.body).toMatch(/^mailprobe_port_up\{[^}]*address="192\.0\.2\.1"\} 0$/m);
      } finally {
        ns.destroy();
      }
    }, 60_000);
  }
});

describe.skipIf(missing !== undefined)(
  'the login module after a refusal (an IMAPS server that refuses every login)',
  () => {
    it('no second login reaches the server for another spelling of its address, or a name for it', async () => {
      sweepStaleNamespaces();
      const ns = new Netns();
      const dir = mkdtempSync(join(os.tmpdir(), 'mailprobe-serve-login-'));
      try {
        // Inside the namespace: an IMAPS server on 993 of 127.0.0.1 and ::1 (the test CA's certificate names both)
        // that refuses every login and counts them, and serve with the login module; mail.test is 127.0.0.1 and
        // ::1 in the namespace's hosts file.
        const script = join(dir, 'scenario.mjs');
        writeFileSync(
          script,
          `import tls from 'node:tls';
import { readFileSync } from 'node:fs';
const { createProbeServer } = await import(${JSON.stringify(`${root}dist/src/modes/serve.js`)});
const file = (name) => readFileSync(${JSON.stringify(`${root}fixtures/tls/`)} + name);
const logins = [];
const refuseEveryLogin = (socket) => {
  socket.on('error', () => {});
  socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\\r\\n');
  let buffer = '';
  let continuation;
  socket.on('data', (chunk) => {
    buffer += chunk.toString('latin1');
    let end;
    while ((end = buffer.indexOf('\\r\\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (continuation) { socket.write(continuation + ' NO [AUTHENTICATIONFAILED] Authentication failed.\\r\\n'); continuation = undefined; continue; }
      const [tag, command = ''] = line.split(' ');
      const verb = command.toUpperCase();
      if (verb === 'CAPABILITY') socket.write('* CAPABILITY IMAP4rev1 AUTH=PLAIN\\r\\n' + tag + ' OK done\\r\\n');
      else if (verb === 'AUTHENTICATE' || verb === 'LOGIN') {
        logins.push(socket.localAddress);
        if (verb === 'AUTHENTICATE' && !line.slice(tag.length + command.length + 2).includes(' ')) { continuation = tag; socket.write('+ \\r\\n'); }
        else socket.write(tag + ' NO [AUTHENTICATIONFAILED] Authentication failed.\\r\\n');
      } else if (verb === 'LOGOUT') { socket.end('* BYE\\r\\n' + tag + ' OK bye\\r\\n'); }
      else socket.write(tag + ' BAD unknown\\r\\n');
    }
  });
};
const listen = (address) => new Promise((resolve) => {
  const imaps = tls.createServer({ key: file('server.key'), cert: file('server.pem') }, refuseEveryLogin);
  imaps.listen(993, address, () => resolve(imaps));
});
const imaps = [await listen('::1'), await listen('127.0.0.1')];
const server = createProbeServer({
  login: { credential: { user: 'alice@mail.test', secret: 'not-the-password', kind: 'password' } },
  ca: file('ca.pem').toString(),
  allow: ['127.0.0.0/8', '::1/128'],
  minIntervalMs: 1,
  limits: { connectMs: 2000 },
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const results = [];
for (const target of ${JSON.stringify(['::1', '0::1', '0:0::1', '::0:1', '0000::0001', '[::1]', 'mail.test', '127.0.0.1', '::ffff:127.0.0.1', 'localhost'])}) {
  const before = logins.length;
  const answer = await fetch('http://127.0.0.1:' + server.address().port + '/probe?module=login&target=' + encodeURIComponent(target));
  results.push({ target, code: answer.status, body: await answer.text(), logins: logins.length - before });
}
await server.shutdown(100);
for (const listener of imaps) listener.close();
console.log(JSON.stringify(results));
`,
        );
        const run = await ns.run(process.execPath, [script], 60_000);
        const results = JSON.parse(run.stdout || '[]') as {
          target: string;
          code: number;
          body: string;
          logins: number;
        }[];
        expect(
          results.map((r) => r.target),
          run.stderr,
        ).toHaveLength(10);
        const [first, ...rest] = results;
        // The first run logs in once and is refused: the server's refusal pauses logins there for an hour.
        expect(first).toMatchObject({ target: '::1', code: 200 });
        expect(first?.logins).toBeGreaterThan(0);
        expect(first?.body).toMatch(
          /^mailprobe_port_login\{target="::1",port="993",[^}]*outcome="rejected"\} 1$/m,
        );
        const byTarget = Object.fromEntries(rest.map((r) => [r.target, r]));
        for (const target of ['0::1', '0:0::1', '::0:1', '0000::0001', '[::1]', 'mail.test']) {
          expect(byTarget[target], target).toMatchObject({ code: 429, logins: 0 });
          expect(byTarget[target]?.body).toMatch(
            /a login was refused there.*; no login for 60 more minutes \(lockout safety\)/,
          );
        }
        // 127.0.0.1 is another address: its own run, refused, then held back however it is named.
        expect(byTarget['127.0.0.1']).toMatchObject({ code: 200 });
        expect(byTarget['127.0.0.1']?.logins).toBeGreaterThan(0);
        for (const target of ['::ffff:127.0.0.1', 'localhost'])
          expect(byTarget[target], target).toMatchObject({ code: 429, logins: 0 });
      } finally {
        ns.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);
  },
);
