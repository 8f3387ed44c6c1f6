/**
 * Name resolution: the system resolver by default (getaddrinfo for addresses, resolv.conf servers for MX and
 * SRV), or one DNS server the user names (`--dns-server ADDR[:PORT]`) for everything. Every query has a
 * deadline (the resolver's timeout, one try).
 */
import type dnsTypes from 'node:dns/promises';
import { errorCode, ResolveError } from '../errors.js';
import { isIP } from './names.js';

/** node:dns/promises on first use: an IP literal (a probe's usual first target in scripts) needs no resolver. */
const dns = (): typeof dnsTypes => process.getBuiltinModule('node:dns/promises');

export interface DnsOptions {
  /** ADDR or ADDR:PORT ([ADDR]:PORT for IPv6) of the one DNS server to ask. */
  server?: string | undefined;
  /** Per-query deadline in ms. */
  timeoutMs?: number | undefined;
}

export type Address = { address: string; family: 4 | 6 };

export { parseDnsServer } from './names.js';

const codeOf = (error: unknown) => errorCode(error) ?? 'error';

/** Codes that mean "no such record", as opposed to a failed lookup. */
export const absent = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

const reasons: Record<string, string> = {
  ENOTFOUND: 'no such host (NXDOMAIN or no address records)',
  ENODATA: 'no address records',
  EAI_AGAIN: 'the resolver did not answer (EAI_AGAIN)',
  ETIMEOUT: 'the DNS server did not answer in time',
  ECONNREFUSED: 'the DNS server refused the connection',
  EREFUSED: 'the DNS server refused the query',
  ESERVFAIL: 'the DNS server failed (SERVFAIL)',
};

export function dnsReason(error: unknown): string {
  const code = codeOf(error);
  return reasons[code] ?? code;
}

/**
 * A name under the special-use domain "invalid" (RFC 6761 §6.4): it never resolves, and resolvers should answer
 * so at once without asking a DNS server. getaddrinfo and c-ares ask anyway; mailprobe does not.
 */
export const neverResolves = (name: string) => /(?:^|\.)invalid\.?$/i.test(name);

const invalidReason = 'a name under .invalid never resolves (RFC 6761 §6.4); no DNS query was sent';

/** What a query for a name under .invalid gives: no such name, as c-ares says it. */
function noSuchName(name: string): Promise<never> {
  return Promise.reject(
    Object.assign(new Error(`${name}: ${invalidReason}`), { code: 'ENOTFOUND', hostname: name }),
  );
}

export class Dns {
  private made: dnsTypes.Resolver | undefined;

  constructor(readonly options: DnsOptions = {}) {}

  /** The c-ares resolver, made on first use: an IP literal (every line of a batch of addresses) needs none. */
  private get resolver(): dnsTypes.Resolver {
    if (!this.made) {
      this.made = new (dns().Resolver)({ timeout: this.options.timeoutMs ?? 5000, tries: 1 });
      if (this.options.server) this.made.setServers([this.options.server]);
    }
    return this.made;
  }

  /**
   * A and AAAA of a name (IP literals pass through). Throws ResolveError when there is none, or when the lookup of
   * the family asked (-4, -6) failed, whatever the other family gave: its addresses are unknown, not absent.
   */
  async addresses(host: string, family: 4 | 6 | 'both' = 'both'): Promise<Address[]> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const literal = isIP(bare);
    if (literal !== 0) return [{ address: bare, family: literal as 4 | 6 }];
    if (neverResolves(bare)) throw new ResolveError(host, invalidReason, true);
    if (!this.options.server) {
      const lookup = async (asked: 0 | 4 | 6) =>
        (await dns().lookup(bare, { all: true, verbatim: true, family: asked }))
          .filter((e) => e.family === 4 || e.family === 6)
          .map((e) => ({ address: e.address, family: e.family as 4 | 6 }));
      try {
        // getaddrinfo for both families hides one family's failure when the other answers: ask the family wanted.
        return await lookup(family === 'both' ? 0 : family);
      } catch (error) {
        // None of the family asked: the host may have the other's (resolveHost says so), or none at all.
        if (family !== 'both' && absent.has(codeOf(error))) {
          const other = await lookup(0).catch((failure: unknown) => {
            if (absent.has(codeOf(failure))) return [];
            throw new ResolveError(host, dnsReason(failure));
          });
          if (other.length > 0) return other;
        }
        throw new ResolveError(host, dnsReason(error), absent.has(codeOf(error)));
      }
    }
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(bare), this.resolver.resolve6(bare)]);
    const out: Address[] = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
    const failed = (r: PromiseSettledResult<string[]>) =>
      r.status === 'rejected' && !absent.has(codeOf(r.reason));
    // Why a lookup failed, naming its record type when the other lookup did not fail.
    const failure = (r: PromiseSettledResult<string[]>, type: string) =>
      new ResolveError(
        host,
        `${dnsReason(r.status === 'rejected' ? r.reason : undefined)}${failed(v4) && failed(v6) ? '' : ` for its ${type} records`}`,
      );
    if (family === 4 && failed(v4)) throw failure(v4, 'A');
    if (family === 6 && failed(v6)) throw failure(v6, 'AAAA');
    if (out.length === 0) {
      if (failed(v4)) throw failure(v4, 'A');
      if (failed(v6)) throw failure(v6, 'AAAA');
      throw new ResolveError(host, reasons.ENOTFOUND ?? '', true);
    }
    return out;
  }

  mx(domain: string) {
    if (neverResolves(domain)) return noSuchName(domain);
    return this.resolver.resolveMx(domain);
  }

  srv(name: string) {
    if (neverResolves(name)) return noSuchName(name);
    return this.resolver.resolveSrv(name);
  }

  /** TXT records, each as its strings (RFC 1035 §3.3.14). */
  txt(name: string) {
    if (neverResolves(name)) return noSuchName(name);
    return this.resolver.resolveTxt(name);
  }

  cname(name: string) {
    if (neverResolves(name)) return noSuchName(name);
    return this.resolver.resolveCname(name);
  }
}
