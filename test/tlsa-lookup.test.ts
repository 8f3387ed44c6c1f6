/**
 * The TLSA lookup (src/discovery/tlsa.ts) against hostile loopback DNS servers: answers to another id or
 * question, garbage, silence, a truncated UDP answer then TCP, a TCP server that hangs up. Nothing a server sends
 * may crash, hang or mislead: every case ends in an outcome, within the deadline.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as packet from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { lookupTlsa } from '../src/discovery/tlsa.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

const record = { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, 0xab) };

function answer(
  query: packet.DecodedPacket,
  options: { tc?: boolean; ad?: boolean; id?: number; name?: string } = {},
) {
  const name = options.name ?? query.questions?.[0]?.name ?? '';
  return packet.encode({
    type: 'response',
    id: options.id ?? query.id ?? 0,
    flags: (options.tc ? packet.TRUNCATED_RESPONSE : 0) | (options.ad ? packet.AUTHENTIC_DATA : 0),
    questions: [{ type: 'TLSA', name, class: 'IN' }],
    answers: options.tc ? [] : [{ type: 'TLSA', name, ttl: 60, data: record } as unknown as packet.Answer],
  });
}

/** An answer with no records (NOERROR, NODATA) to the question asked. */
const nodata = (query: packet.DecodedPacket) =>
  packet.encode({ type: 'response', id: query.id ?? 0, flags: 0, questions: query.questions ?? [] });

/**
 * A UDP server on 127.0.0.1 answering each TLSA query with the messages `reply` gives; returns its port. The
 * lookup also asks for the host's addresses (is it an alias?): those get NODATA, unless `all` hands them to
 * `reply` too.
 */
async function udp(
  reply: (query: packet.DecodedPacket, raw: Buffer) => Buffer[],
  all = false,
): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (raw, from) => {
    const query = packet.decode(raw);
    const messages = all || query.questions?.[0]?.type === 'TLSA' ? reply(query, raw) : [nodata(query)];
    for (const message of messages) socket.send(message, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  closers.push(() => socket.close());
  return socket.address().port;
}

/** A TCP server on the same port number (the TC fallback asks it). */
async function tcp(
  port: number,
  onQuery: (socket: net.Socket, query: packet.DecodedPacket) => void,
): Promise<void> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2)
        onQuery(socket, packet.decode(buffered.subarray(2, buffered.readUInt16BE(0) + 2)));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  closers.push(() => server.close());
}

const framed = (message: Buffer) => {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
};

describe('lookupTlsa against hostile servers', () => {
  it('asks with DO set and reads the AD bit and the records', async () => {
    let seen: packet.DecodedPacket | undefined;
    const port = await udp((query) => {
      seen = query;
      return [answer(query, { ad: true })];
    });
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    const opt = seen?.additionals?.find((a) => a.type === 'OPT') as { flag_do?: boolean } | undefined;
    expect(opt?.flag_do).toBe(true);
    expect(seen?.questions?.[0]).toMatchObject({ name: '_25._tcp.mx.example', type: 'TLSA' });
    expect(lookup).toMatchObject({
      outcome: 'found',
      authenticData: true,
      resolverTrusted: true,
      transport: 'udp',
      records: [{ usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(32) }],
    });
  });

  it('ignores garbage, another id and another question, and takes the real answer after them', async () => {
    const port = await udp((query) => [
      Buffer.from('not dns at all'),
      answer(query, { id: ((query.id ?? 0) + 1) % 65536, ad: true }),
      answer(query, { name: '_25._tcp.evil.example', ad: true }),
      answer(query),
    ]);
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    expect(lookup).toMatchObject({ outcome: 'found', authenticData: false });
  });

  it('a silent server: failed, within the deadline, never "none"', async () => {
    const port = await udp(() => []);
    const started = Date.now();
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(lookup).toMatchObject({ outcome: 'failed', error: 'the DNS server did not answer in time' });
  });

  it('a truncated UDP answer is asked again over TCP', async () => {
    const port = await udp((query) => [answer(query, { tc: true })]);
    await tcp(port, (socket, query) => socket.end(framed(answer(query, { ad: true }))));
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    expect(lookup).toMatchObject({ outcome: 'found', transport: 'tcp', authenticData: true });
  });

  it('a TCP server that hangs up: failed with why', async () => {
    const port = await udp((query) => [answer(query, { tc: true })]);
    await tcp(port, (socket) => socket.end());
    const hungUp = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    expect(hungUp).toMatchObject({ outcome: 'failed' });
    expect(hungUp.error).toContain('closed the TCP connection');
  });

  it('SERVFAIL is failed (DANE status unknown), NXDOMAIN is none', async () => {
    const code = (rcode: number) =>
      udp((query) => [
        packet.encode({
          type: 'response',
          id: query.id ?? 0,
          flags: rcode, // RFC 1035 §4.1.1: RCODE, the low four bits
          questions: [{ type: 'TLSA', name: query.questions?.[0]?.name ?? '', class: 'IN' }],
        }),
      ]);
    const servfail = await lookupTlsa('mx.example', 25, {
      server: `127.0.0.1:${await code(2)}`,
      timeoutMs: 1000,
    });
    const nxdomain = await lookupTlsa('mx.example', 25, {
      server: `127.0.0.1:${await code(3)}`,
      timeoutMs: 1000,
    });
    expect(servfail).toMatchObject({ outcome: 'failed', rcode: 'SERVFAIL' });
    expect(nxdomain).toMatchObject({ outcome: 'none', rcode: 'NXDOMAIN' });
  });
});

describe('lookupTlsa never trusts more of an answer than it must', () => {
  const withAnswers = (query: packet.DecodedPacket, answers: unknown[], rcode = 0) =>
    packet.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: packet.AUTHENTIC_DATA | rcode,
      questions: query.questions ?? [],
      answers: answers as packet.Answer[],
    });
  const tlsa = (name: string, data = record) => ({ type: 'TLSA', name, ttl: 60, data });

  it('an answer forged from another address (same port, id and question, AD set) is never read', async () => {
    // The real resolver is silent; a forger on 127.0.0.54 sends the perfect answer from port 53's twin.
    const resolver = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => resolver.bind(0, '127.0.0.1', resolve));
    const port = resolver.address().port;
    const forger = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => forger.bind(port, '127.0.0.54', resolve));
    closers.push(
      () => resolver.close(),
      () => forger.close(),
    );
    resolver.on('message', (raw, from) => {
      const query = packet.decode(raw);
      if (query.questions?.[0]?.type === 'TLSA')
        forger.send(answer(query, { ad: true }), from.port, from.address);
      else resolver.send(nodata(query), from.port, from.address);
    });
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 400 });
    expect(lookup).toMatchObject({ outcome: 'failed', records: [] });
  });

  it('records owned by another name are not counted; a CNAME chain in the answer is followed', async () => {
    const port = await udp((query) => {
      const name = query.questions?.[0]?.name ?? '';
      return name.startsWith('_25._tcp.other')
        ? [withAnswers(query, [tlsa('_25._tcp.elsewhere.example')])]
        : [
            withAnswers(query, [
              { type: 'CNAME', name, ttl: 60, data: '_tlsa.provider.example' },
              tlsa('_tlsa.provider.example'),
            ]),
          ];
    });
    const other = await lookupTlsa('other.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    expect(other).toMatchObject({ outcome: 'none', records: [] });
    const chained = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    expect(chained).toMatchObject({ outcome: 'found', records: [{ usage: 3 }] });
  });

  it('NXDOMAIN is none, whatever records it carries', async () => {
    const port = await udp((query) => [withAnswers(query, [tlsa(query.questions?.[0]?.name ?? '')], 3)]);
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    expect(lookup).toMatchObject({ outcome: 'none', rcode: 'NXDOMAIN', records: [] });
  });

  it('a Full (matching type 0) record carries the SHA-256 of its data, for the rules to compare', async () => {
    const full = { usage: 3, selector: 1, matchingType: 0, certificate: Buffer.from('a key, in DER') };
    const port = await udp((query) => [withAnswers(query, [tlsa(query.questions?.[0]?.name ?? '', full)])]);
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    const { createHash } = await import('node:crypto');
    expect(lookup.records).toEqual([
      {
        usage: 3,
        selector: 1,
        matchingType: 0,
        data: full.certificate.toString('hex'),
        dataSha256: createHash('sha256').update(full.certificate).digest('hex'),
      },
    ]);
  });
});

describe('lookupTlsa for a host name that is an alias (RFC 7672 §2.2.3)', () => {
  const tlsaRecord = (name: string) =>
    ({ type: 'TLSA', name, ttl: 60, data: record }) as unknown as packet.Answer;
  /** A resolver for mx.example CNAME mail.provider.example (AD as `secure`), with TLSA where `tlsaAt` says. */
  function resolver(secure: boolean, tlsaAt: string[], asked: string[]) {
    return udp((query) => {
      const question = query.questions?.[0];
      const name = question?.name ?? '';
      asked.push(`${question?.type} ${name}`);
      const flags = secure ? packet.AUTHENTIC_DATA : 0;
      const reply = (answers: packet.Answer[], rcode = 0) =>
        packet.encode({
          type: 'response',
          id: query.id ?? 0,
          flags: flags | rcode,
          questions: query.questions ?? [],
          answers,
        });
      if (question?.type === 'A')
        return [
          reply(
            name === 'mx.example'
              ? [
                  { type: 'CNAME', name: 'mx.example', ttl: 60, data: 'mail.provider.example' },
                  { type: 'A', name: 'mail.provider.example', ttl: 60, data: '127.0.0.1' },
                ]
              : [{ type: 'A', name, ttl: 60, data: '127.0.0.1' }],
          ),
        ];
      if (question?.type !== 'TLSA') return [reply([])];
      return [tlsaAt.includes(name) ? reply([tlsaRecord(name)]) : reply([], 3)];
    }, true);
  }

  it('a validated alias: the expanded name is asked first, and its records are used', async () => {
    const asked: string[] = [];
    const port = await resolver(true, ['_25._tcp.mail.provider.example'], asked);
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    expect(lookup).toMatchObject({
      name: '_25._tcp.mail.provider.example',
      outcome: 'found',
      authenticData: true,
      alias: { host: 'mx.example', target: 'mail.provider.example', secure: true },
    });
  });

  it('a validated alias with no records at the expanded name: the host name itself, as before', async () => {
    const asked: string[] = [];
    const port = await resolver(true, ['_25._tcp.mx.example'], asked);
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    expect(asked).toContain('TLSA _25._tcp.mail.provider.example');
    expect(lookup).toMatchObject({
      name: '_25._tcp.mx.example',
      outcome: 'found',
      alias: { target: 'mail.provider.example', secure: true },
    });
  });

  it('an alias that did not validate: only the host name is asked, and the alias is noted', async () => {
    const asked: string[] = [];
    const port = await resolver(false, ['_25._tcp.mail.provider.example'], asked);
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    expect(asked).not.toContain('TLSA _25._tcp.mail.provider.example');
    expect(lookup).toMatchObject({
      name: '_25._tcp.mx.example',
      outcome: 'none',
      alias: { target: 'mail.provider.example', secure: false },
    });
  });

  it('a CNAME loop in the answer ends, and no alias is taken from it', async () => {
    const port = await udp((query) => {
      const question = query.questions?.[0];
      const answers =
        question?.type === 'A'
          ? [
              { type: 'CNAME', name: 'mx.example', ttl: 60, data: 'a.example' },
              { type: 'CNAME', name: 'a.example', ttl: 60, data: 'mx.example' },
            ]
          : [];
      return [
        packet.encode({
          type: 'response',
          id: query.id ?? 0,
          flags: packet.AUTHENTIC_DATA | (question?.type === 'TLSA' ? 3 : 0),
          questions: query.questions ?? [],
          answers: answers as packet.Answer[],
        }),
      ];
    }, true);
    const started = Date.now();
    const lookup = await lookupTlsa('mx.example', 25, { server: `127.0.0.1:${port}`, timeoutMs: 1000 });
    expect(Date.now() - started).toBeLessThan(900);
    expect(lookup.outcome).toBe('none');
    expect(lookup.name).toBe('_25._tcp.mx.example');
    expect(lookup.alias).toBeUndefined();
  });
});
