/**
 * RFC 6761 §6.4: names under "invalid" never resolve, and resolvers should say so at once without asking a DNS
 * server. getaddrinfo and c-ares ask anyway; mailprobe's resolver does not, for addresses, MX, SRV, TXT and CNAME.
 */
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ResolveError } from '../src/errors.js';
import { Dns, neverResolves } from '../src/net/dns.js';
import { cli } from './helpers/cli.js';

let server: dgram.Socket;
let asked = 0;

beforeAll(async () => {
  // A DNS server that counts what it is asked and answers nothing.
  server = dgram.createSocket('udp4');
  server.on('message', () => asked++);
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
});
afterAll(() => server.close());

describe('names under .invalid (RFC 6761 §6.4)', () => {
  it('are told apart from names that only look alike', () => {
    for (const name of ['invalid', 'x.invalid', 'mail.Example.INVALID', 'x.invalid.'])
      expect(neverResolves(name)).toBe(true);
    for (const name of ['invalid.example', 'xinvalid', 'x.invalidate', 'mail.example.org'])
      expect(neverResolves(name)).toBe(false);
  });

  it('never reach a named DNS server: no such name, for every record type', async () => {
    const resolver = new Dns({ server: `127.0.0.1:${server.address().port}`, timeoutMs: 2000 });
    const error = await resolver.addresses('mail.example.invalid').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolveError);
    expect(error).toMatchObject({ notFound: true });
    expect((error as Error).message).toMatch(/cannot resolve mail\.example\.invalid: .*RFC 6761 §6\.4/);
    for (const ask of [
      () => resolver.mx('example.invalid'),
      () => resolver.srv('_submissions._tcp.example.invalid'),
      () => resolver.txt('_mta-sts.example.invalid'),
      () => resolver.cname('mail.example.invalid'),
    ])
      await expect(ask()).rejects.toMatchObject({ code: 'ENOTFOUND' });
    // A name that may exist is asked (and, unanswered, times out): the server counts it.
    await resolver.mx('example.test').catch(() => undefined);
    expect(asked).toBeGreaterThan(0);
    const before = asked;
    await resolver.mx('other.invalid').catch(() => undefined);
    expect(asked).toBe(before);
  }, 15_000);

  it('never reach the system resolver (getaddrinfo)', async () => {
    const lookup = vi.spyOn(dns, 'lookup');
    try {
      await expect(new Dns().addresses('nothing-here.invalid')).rejects.toBeInstanceOf(ResolveError);
      expect(lookup).not.toHaveBeenCalled();
    } finally {
      lookup.mockRestore();
    }
  });

  it('the CLI: exit 3, saying why, at once', async () => {
    const run = await cli(['nothing-here.invalid']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/cannot resolve nothing-here\.invalid: a name under \.invalid never resolves/);
  });
});
