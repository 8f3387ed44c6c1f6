/**
 * TLSA lookups (RFC 6698 §3, RFC 7672 §2.2): `_PORT._tcp.HOST` asked of one resolver with the DO bit (RFC 3225)
 * and the AD bit (RFC 6840 §5.7), over UDP, again over TCP when the answer is truncated (RFC 7766). Node 20 has
 * no TLSA lookup: the messages are written and read with dns-packet (the DNS wire format, RFC 1035 §4), loaded
 * only by this module, which the probe loads only for --dane.
 *
 * The trust rule: the AD bit is a claim of the resolver, worth only what the path to it is worth (RFC 6698
 * §4.1, RFC 4035 §4.9.3). It counts when the user named the resolver (--dns-server) or the resolver is on
 * loopback; otherwise the lookup says so (`resolverTrusted: false`) and the rules never call it validated.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as packet from 'dns-packet';
import type { TlsaLookup, TlsaRecord } from '../types/index.js';

export interface TlsaOptions {
  /** ADDR or ADDR:PORT ([ADDR]:PORT for IPv6), as parsed from --dns-server; the system's first resolver otherwise. */
  server?: string | undefined;
  /** Per-try deadline in ms (UDP, then TCP). */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Largest answer read over TCP (a TLSA RRset with its signatures is a few KB). */
const maxTcpAnswer = 65_535;

/** ADDR:PORT → [address, port]; a bare address gets port 53. */
export function splitServer(server: string): [string, number] {
  const bracketed = /^\[(.+)\]:(\d+)$/.exec(server);
  if (bracketed) return [bracketed[1] as string, Number(bracketed[2])];
  if (net.isIP(server) !== 0) return [server, 53];
  const colon = server.lastIndexOf(':');
  return [server.slice(0, colon), Number(server.slice(colon + 1))];
}

const isLoopback = (address: string) =>
  address === '::1' || /^127\./.test(address) || /^::ffff:127\./i.test(address);

/** The resolver to ask and whether its AD bit counts (the trust rule above). */
function chooseResolver(server: string | undefined): {
  address: string;
  port: number;
  trust: string;
  trusted: boolean;
} {
  if (server) {
    const [address, port] = splitServer(server);
    return { address, port, trust: 'named with --dns-server', trusted: true };
  }
  const first = process.getBuiltinModule('node:dns').getServers()[0];
  if (!first) return { address: '127.0.0.1', port: 53, trust: 'no resolver configured', trusted: false };
  const [address, port] = splitServer(first);
  return isLoopback(address)
    ? { address, port, trust: 'the system resolver, on loopback', trusted: true }
    : {
        address,
        port,
        trust: `the system resolver ${address} is not on loopback: its AD bit crosses the network unprotected (name a resolver you trust with --dns-server)`,
        trusted: false,
      };
}

/** What is asked: TLSA records, or a host's addresses (to see whether its name is an alias, and its chain). */
type QueryType = 'TLSA' | 'A' | 'AAAA';

function query(name: string, type: QueryType, id: number): Buffer {
  return packet.encode({
    type: 'query',
    id,
    flags: packet.RECURSION_DESIRED | packet.AUTHENTIC_DATA,
    questions: [{ type, name, class: 'IN' }],
    // EDNS(0) with DO (RFC 3225 §3); 1232 bytes, the DNS flag day 2020 size, so big RRsets come over TCP.
    additionals: [
      { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: packet.DNSSEC_OK } as unknown as packet.Answer,
    ],
  });
}

type Answer = { message: packet.DecodedPacket & { rcode?: string }; transport: 'udp' | 'tcp' };

/**
 * One exchange with the DNS server: `start` opens its socket and hands back a closer, and calls `done` once with
 * the answer or an error; the first of that, the deadline and an abort settles it, and the socket is closed.
 */
function exchange(
  timeoutMs: number,
  timeoutText: string,
  signal: AbortSignal | undefined,
  start: (done: (error: Error | undefined, answer?: Answer) => void) => () => void,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let close: (() => void) | undefined;
    let settled = false;
    const done = (error: Error | undefined, answer?: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      close?.();
      if (error) reject(error);
      else resolve(answer as Answer);
    };
    const onAbort = () => done(new Error('aborted'));
    const timer = setTimeout(() => done(new Error(timeoutText)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    close = start(done);
    if (settled) close();
  });
}

/** One answer over UDP whose id and question match ours; rejects on timeout or abort. */
function overUdp(
  address: string,
  port: number,
  name: string,
  type: QueryType,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Answer> {
  return exchange(timeoutMs, 'the DNS server did not answer in time', signal, (done) => {
    const id = Math.floor(Math.random() * 65_536);
    const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    socket.on('error', (error) => done(error));
    socket.on('message', (bytes, from) => {
      if (from.port !== port) return;
      const message = decode(bytes, id, name, type);
      if (message) done(undefined, { message, transport: 'udp' });
    });
    // Connected: the kernel hands over datagrams from the resolver's address and port only, so an answer forged
    // from elsewhere never counts, AD bit or not (and a closed port fails at once, by ICMP).
    socket.connect(port, address, () => socket.send(query(name, type, id)));
    return () => socket.close();
  });
}

/** The same question over TCP (RFC 7766): two-byte length, then the message. */
function overTcp(
  address: string,
  port: number,
  name: string,
  type: QueryType,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Answer> {
  return exchange(timeoutMs, 'the DNS server did not answer in time over TCP', signal, (done) => {
    const id = Math.floor(Math.random() * 65_536);
    const socket = net.connect({ host: address, port });
    let buffered = Buffer.alloc(0);
    socket.on('error', (error) => done(error));
    socket.on('connect', () => {
      const message = query(name, type, id);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length > maxTcpAnswer + 2) return done(new Error('the DNS answer over TCP is too long'));
      if (buffered.length < 2) return;
      const size = buffered.readUInt16BE(0);
      if (buffered.length < size + 2) return;
      const message = decode(buffered.subarray(2, size + 2), id, name, type);
      if (message) done(undefined, { message, transport: 'tcp' });
      else done(new Error('the DNS answer over TCP does not answer the question asked'));
    });
    socket.on('end', () => done(new Error('the DNS server closed the TCP connection before answering')));
    return () => socket.destroy();
  });
}

/** The message, when it is a response to our id and question; undefined for anything else (spoofs, garbage). */
function decode(bytes: Buffer, id: number, name: string, type: QueryType): Answer['message'] | undefined {
  try {
    const message = packet.decode(bytes);
    const question = message.questions?.[0];
    if (message.type !== 'response' || message.id !== id) return undefined;
    if (!question || question.name.toLowerCase() !== name.toLowerCase() || question.type !== type)
      return undefined;
    return message;
  } catch {
    return undefined;
  }
}

/** One question, over UDP, and again over TCP when the answer is truncated. */
async function ask(
  resolver: { address: string; port: number },
  name: string,
  type: QueryType,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Answer> {
  const answer = await overUdp(resolver.address, resolver.port, name, type, timeoutMs, signal);
  return answer.message.flag_tc
    ? overTcp(resolver.address, resolver.port, name, type, timeoutMs, signal)
    : answer;
}

const bare = (name: string) => name.replace(/\.$/, '').toLowerCase();

/** `name` and every name its CNAME chain in `answers` leads to (at most 16 links). */
function chainFrom(name: string, answers: packet.Answer[]): Set<string> {
  const owners = new Set([bare(name)]);
  let current = bare(name);
  for (let link = 0; link < 16; link++) {
    let to: string | undefined;
    for (const record of answers)
      if (record.type === 'CNAME' && bare(record.name) === current) to = bare(record.data);
    if (to === undefined || owners.has(to)) break;
    current = to;
    owners.add(current);
  }
  return owners;
}

/**
 * A TLSA record's facts. For matching type 0 (Full: the certificate or key itself, RFC 6698 §2.1.3) also the SHA-256
 * of the data, which the rules compare with the certificate's or key's SHA-256: equal digests, equal bytes.
 */
function tlsaRecord(data: packet.TlsaData): TlsaRecord {
  const record: TlsaRecord = {
    usage: data.usage,
    selector: data.selector,
    matchingType: data.matchingType,
    data: data.certificate.toString('hex'),
  };
  if (data.matchingType === 0)
    record.dataSha256 = process
      .getBuiltinModule('node:crypto')
      .createHash('sha256')
      .update(data.certificate)
      .digest('hex');
  return record;
}

/**
 * Where HOST leads when it is an alias: the CNAME chain in the answer to its addresses (A, then AAAA when A has
 * none), followed from HOST (at most 16 links; a loop ends it), and whether the answer validated (the AD bit of a
 * trusted resolver covers every link: RFC 4035 §3.2.3). Undefined when HOST is not an alias or nothing answered.
 */
async function aliasOf(
  host: string,
  resolver: ReturnType<typeof chooseResolver>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ target: string; secure: boolean } | undefined> {
  for (const type of ['A', 'AAAA'] as const) {
    let answer: Answer;
    try {
      answer = await ask(resolver, host, type, timeoutMs, signal);
    } catch {
      return undefined;
    }
    const records = answer.message.answers ?? [];
    const next = new Map<string, string>();
    for (const record of records)
      if (record.type === 'CNAME' && typeof record.data === 'string')
        next.set(bare(record.name), bare(record.data));
    let target = bare(host);
    const seen = new Set([target]);
    for (let link = 0; link < 16; link++) {
      const to = next.get(target);
      if (to === undefined) break;
      // A loop (or a chain longer than 16): the name leads nowhere a sender could connect to.
      if (seen.has(to) || link === 15) return undefined;
      seen.add(to);
      target = to;
    }
    if (target !== bare(host)) return { target, secure: resolver.trusted && answer.message.flag_ad === true };
    // Addresses and no alias; or no answer of this type, where the other one may show the chain.
    if (records.some((record) => record.type === type) || answer.message.rcode === 'NXDOMAIN')
      return undefined;
  }
  return undefined;
}

/**
 * Asks for `_PORT._tcp.HOST` TLSA. Never throws: a failure is an outcome (`failed`, with why).
 *
 * When HOST is an alias whose chain validated, the TLSA base domain is first the fully expanded name, then HOST
 * when no validated records are there (RFC 7672 §2.2.3, RFC 7671 §7), as a DANE sender looks them up; the
 * lookup says which (`name`) and where the alias led (`alias`). An alias that did not validate changes nothing:
 * HOST's own name is asked.
 */
export async function lookupTlsa(host: string, port: number, options: TlsaOptions = {}): Promise<TlsaLookup> {
  const resolver = chooseResolver(options.server);
  const timeoutMs = options.timeoutMs ?? 5000;
  // The alias question and HOST's own TLSA question at once: a silent resolver costs one deadline, not two.
  const [alias, lookup] = await Promise.all([
    aliasOf(host.replace(/\.$/, ''), resolver, timeoutMs, options.signal),
    lookupAt(host, port, resolver, timeoutMs, options.signal),
  ]);
  if (alias?.secure) {
    const expanded = await lookupAt(alias.target, port, resolver, timeoutMs, options.signal);
    expanded.alias = { host: bare(host), target: alias.target, secure: true };
    // Validated records there, or no answer at all (a sender defers: the status is unknown), end it.
    if (expanded.outcome === 'failed' || (expanded.outcome === 'found' && expanded.authenticData))
      return expanded;
  }
  if (alias) lookup.alias = { host: bare(host), target: alias.target, secure: alias.secure };
  return lookup;
}

/** The TLSA records at one base domain. */
async function lookupAt(
  host: string,
  port: number,
  resolver: ReturnType<typeof chooseResolver>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<TlsaLookup> {
  const name = `_${port}._tcp.${host.replace(/\.$/, '')}`;
  const lookup: TlsaLookup = {
    name,
    port,
    resolver: `${resolver.address.includes(':') ? `[${resolver.address}]` : resolver.address}:${resolver.port}`,
    resolverTrust: resolver.trust,
    resolverTrusted: resolver.trusted,
    outcome: 'failed',
    authenticData: false,
    records: [],
  };
  try {
    const answer = await ask(resolver, name, 'TLSA', timeoutMs, signal);
    const { message } = answer;
    lookup.transport = answer.transport;
    lookup.rcode = message.rcode ?? 'NOERROR';
    lookup.authenticData = message.flag_ad === true;
    if (lookup.rcode === 'NOERROR' || lookup.rcode === 'NXDOMAIN') {
      // Only records owned by the name asked, or by a name its CNAME chain in the same answer leads to; and none
      // under NXDOMAIN, which says the name (or the end of its chain) does not exist (RFC 1034 §4.3.2).
      const owners = chainFrom(name, message.answers ?? []);
      lookup.records =
        lookup.rcode === 'NXDOMAIN'
          ? []
          : (message.answers ?? [])
              .filter(
                (record): record is packet.TlsaAnswer =>
                  record.type === 'TLSA' && owners.has(bare(record.name)),
              )
              .map((record) => tlsaRecord(record.data));
      lookup.outcome = lookup.records.length > 0 ? 'found' : 'none';
    } else {
      lookup.error = `the resolver answered ${lookup.rcode}`;
    }
  } catch (error) {
    lookup.error = error instanceof Error ? error.message : String(error);
  }
  return lookup;
}
