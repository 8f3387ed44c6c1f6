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

/** A UDP server on 127.0.0.1 answering each query with the messages `reply` gives; returns its port. */
async function udp(reply: (query: packet.DecodedPacket, raw: Buffer) => Buffer[]): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (raw, from) => {
    for (const message of reply(packet.decode(raw), raw)) socket.send(message, from.port, from.address);
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
