/**
 * `serve`'s `transport` module: a domain's transport policy as sending servers see it. The MX records, the MTA-STS
 * and TLS-RPT TXT records and the policy fetched as RFC 8461 §3.3 requires, and port 25 of each MX with DANE
 * (RFC 7672). Every MX address and every address of mta-sts.DOMAIN is resolved once and checked against serve's
 * address policy before any connection; one refused address refuses the whole probe, and nothing is sent. What
 * is checked is what is connected to: the policy fetch is given the addresses checked (it follows no redirect),
 * each MX probe its own, and each connection's remote address is checked again before a byte is sent.
 */
import { mxAddressLookup, nullMxDetail, nullMxReason } from '../discovery/hosts.js';
import { errorCode, ResolveError } from '../errors.js';
import { defaultLimits, type Limits } from '../limits.js';
import { abortable } from '../net/abort.js';
import { monotonicMs } from '../net/clock.js';
import { type Address, absent, Dns, dnsReason } from '../net/dns.js';
import { type ProbeOptions, probeHost } from '../probe/host.js';
import type { PortTarget } from '../probe/port.js';
import type { Trust } from '../tls/trust.js';
import type { Discovery, DnsRecordFact, HostResult, TransportPolicyFacts } from '../types/index.js';

/** Most MX hosts of one domain checked and probed (the ones of highest preference). */
export const maxTransportMx = 10;

/**
 * The last usable MTA-STS policy each domain showed (its TXT id and a digest of the policy as senders read it),
 * for `mta-sts-policy-changed-same-id`. At most `cap` domains (the least recently seen is forgotten first).
 */
export class PolicyMemory {
  private readonly seen = new Map<string, { id: string; policyDigest: string; at: string }>();

  constructor(readonly cap = 10_000) {}

  get size(): number {
    return this.seen.size;
  }

  /** Records what the domain shows now (a usable policy with an id), and returns what it showed before. */
  exchange(domain: string, transport: TransportPolicyFacts): TransportPolicyFacts['earlier'] {
    const earlier = this.seen.get(domain);
    const policy = transport.policy;
    if (transport.stsId && policy && policy.problems.length === 0) {
      transport.policyDigest = process
        .getBuiltinModule('node:crypto')
        .createHash('sha256')
        .update(JSON.stringify([policy.mode, policy.mx, policy.maxAge]))
        .digest('hex');
      this.seen.delete(domain);
      this.seen.set(domain, {
        id: transport.stsId,
        policyDigest: transport.policyDigest,
        at: new Date().toISOString(),
      });
      while (this.seen.size > this.cap) this.seen.delete(this.seen.keys().next().value ?? '');
    }
    return earlier;
  }
}

export interface TransportProbe {
  /** The policies earlier probes saw, when the server keeps them. */
  memory?: PolicyMemory | undefined;
  dns: Dns;
  /** Why an address may not be probed (serve's --allow and special ranges), or undefined. */
  policy: (address: string) => string | undefined;
  trust: Trust;
  limits: Partial<Limits>;
  signal: AbortSignal;
  afterConnect: PortTarget['afterConnect'];
  dnsServer?: string | undefined;
}

type Settled = { addresses: Address[] } | { error: unknown };

/** A resolver whose addresses are only the ones resolved and checked before: a second lookup cannot differ. */
class PinnedDns extends Dns {
  constructor(
    private readonly real: Dns,
    private readonly pinned: Map<string, Settled>,
  ) {
    super(real.options);
  }

  override async addresses(host: string): Promise<Address[]> {
    const found = this.pinned.get(host.toLowerCase());
    if (!found) throw new ResolveError(host, 'not resolved before the address check: not connected to');
    if ('error' in found) throw found.error;
    return found.addresses;
  }

  override txt(name: string) {
    return this.real.txt(name);
  }
}

async function settle(dns: Dns, host: string, signal: AbortSignal): Promise<Settled> {
  try {
    return { addresses: await abortable(dns.addresses(host), signal, 'dns') };
  } catch (error) {
    if (signal.aborted) throw error;
    return { error };
  }
}

/**
 * Resolves and checks, then looks up and probes. Returns the refusals (nothing was connected to) when any address
 * is outside the policy; otherwise the observations, as a discovery with `transport` and one host per MX (the
 * domain itself when it has no MX record: the implicit MX, RFC 5321 §5.1), and each MX's address lookup. Throws
 * ResolveError when the domain does not exist (NXDOMAIN), publishes only null MX, has neither an MX record nor an
 * address, none of its MX hosts has an address, or its lookups failed: nothing is looked up further.
 */
export async function probeTransport(
  domain: string,
  options: TransportProbe,
  /** When (monotonicMs) every port must have ended, as it stands then: the request's budget less 100 ms. */
  endsAt: number,
): Promise<{ refused: string[] } | { discovery: Discovery; hosts: HostResult[] }> {
  const { dns, signal } = options;
  const records: DnsRecordFact[] = [];
  let exchanges: string[] = [];
  let mxFound = 0;
  /** MX hosts past the first maxTransportMx: never looked up. */
  let skipped = 0;
  try {
    const mx = await abortable(dns.mx(domain), signal, 'dns');
    const sorted = [...mx].sort((a, b) => a.priority - b.priority);
    mxFound = sorted.length;
    // A null MX ("."): alone or with only others of its kind, the domain accepts no mail; beside other MX records,
    // which RFC 7505 §3 forbids, those are probed (as the CLI's discovery does), and the record says so.
    for (const record of sorted)
      records.push({
        kind: 'MX',
        query: domain,
        answer: `${record.priority} ${record.exchange || '.'}`,
        ...(record.exchange === '' ? { note: 'null-mx' as const, detail: nullMxDetail(sorted) } : {}),
      });
    exchanges = [
      ...new Set(
        sorted.map((r) => r.exchange.toLowerCase().replace(/\.$/, '')).filter((name) => name !== ''),
      ),
    ];
    skipped = Math.max(0, exchanges.length - maxTransportMx);
    exchanges = exchanges.slice(0, maxTransportMx);
  } catch (error) {
    if (signal.aborted) throw error;
    const code = errorCode(error) ?? '';
    // A domain that does not exist, or whose DNS failed, has no transport to report: the probe fails (as the CLI
    // exits 3 when a domain has no mail host or its DNS failed). A domain with no MX record (NODATA) goes on.
    if (code !== 'ENODATA')
      throw absent.has(code)
        ? new ResolveError(domain, 'no such domain (NXDOMAIN): no MX record, nothing to check', true)
        : new ResolveError(domain, `DNS failed: ${dnsReason(error)} (its MX records)`);
  }
  // Only null MX records (one, or several): the domain accepts no mail (RFC 7505), no transport to report, the probe
  // fails (the CLI exits 3).
  const noMail = nullMxReason(records);
  if (noMail) throw new ResolveError(domain, `${noMail}: nothing to check`, true);
  // No MX record: senders deliver to the domain itself, its A and AAAA records (the implicit MX, RFC 5321 §5.1),
  // and its port 25 is probed, as the CLI's discovery probes the domain itself.
  const implicit = mxFound === 0;
  if (implicit) {
    records.push({
      kind: 'MX',
      query: domain,
      answer: '',
      note: 'no-record',
      detail: 'no MX record: the domain itself is its mail host (implicit MX, RFC 5321 §5.1)',
    });
    exchanges = [domain];
  }
  const web = `mta-sts.${domain}`;
  const names = [...new Set([...exchanges, web])];
  const resolved = new Map(
    await Promise.all(names.map(async (name) => [name, await settle(dns, name, signal)] as const)),
  );
  // The implicit MX without an address: the domain has no mail host (the CLI exits 3 too), or its DNS failed.
  const own = implicit ? resolved.get(domain) : undefined;
  if (own && 'error' in own)
    throw own.error instanceof ResolveError && own.error.notFound
      ? new ResolveError(
          domain,
          'no MX record and no address (RFC 5321 §5.1): no mail host, nothing to check',
          true,
        )
      : new ResolveError(
          domain,
          `DNS failed: ${own.error instanceof ResolveError ? own.error.reason : dnsReason(own.error)} (its addresses: no MX record, so the implicit MX)`,
        );
  // What each MX host's address lookup gave: senders skip one without an address (RFC 5321 §5.1), and so does this.
  const mxAddresses: NonNullable<Discovery['mxAddresses']> = exchanges.map((host) => {
    const found = resolved.get(host) ?? { addresses: [] };
    if ('error' in found) return mxAddressLookup(host, found.error);
    return found.addresses.length > 0
      ? mxAddressLookup(host)
      : { host, outcome: 'none', detail: 'no address records' };
  });
  // No MX host has an address: none is usable, the domain has no mail host (RFC 5321 §5.1: an error; the CLI exits
  // 3, "none of its mail hosts has an address"), or, when a lookup failed, its DNS failed.
  if (!implicit && exchanges.length > 0 && mxAddresses.every(({ outcome }) => outcome !== 'found')) {
    const failed = mxAddresses.filter(({ outcome }) => outcome === 'failed');
    const none = mxAddresses.filter(({ outcome }) => outcome === 'none');
    const list = (lookups: typeof mxAddresses) => lookups.map(({ host }) => host).join(', ');
    // The MX hosts past the first maxTransportMx were never looked up (one may be usable): said first, as the help
    // text that carries this is clipped.
    const notLookedUp =
      skipped > 0
        ? `${skipped} more MX host${skipped === 1 ? ' was' : 's were'} not looked up (this module looks up the first ${maxTransportMx}; the command line's discovery, with --max-hosts, looks up more); the first ${maxTransportMx}: `
        : '';
    throw failed.length === 0
      ? new ResolveError(
          domain,
          skipped > 0
            ? `${notLookedUp}none has an address (${list(none)})`
            : `none of its mail hosts has an address (${list(none)}): no usable MX (RFC 5321 §5.1), nothing to check`,
          skipped === 0,
        )
      : new ResolveError(
          domain,
          `${notLookedUp}DNS failed: ${failed[0]?.detail ?? ''} (the addresses of its MX ${list(failed)}${none.length > 0 ? `; no address: ${list(none)}` : ''})`,
        );
  }
  const refused = names.flatMap((name) => {
    const found = resolved.get(name);
    return found && 'addresses' in found
      ? found.addresses.flatMap(({ address }) => {
          const why = options.policy(address);
          return why ? [`${name} ${address} is ${why}`] : [];
        })
      : [];
  });
  if (refused.length > 0) return { refused };
  const { lookupTransportPolicy } = await import('../discovery/published/sources.js');
  // What is left once the names are resolved: the ports and the policy fetch end within it.
  const portMs = Math.max(
    1,
    Math.floor(Math.min(options.limits.portMs ?? defaultLimits.portMs, endsAt - monotonicMs())),
  );
  const timeoutMs = Math.max(1, Math.min(options.limits.connectMs ?? defaultLimits.connectMs, portMs));
  const probeOptions: ProbeOptions = {
    ports: [{ port: 25, service: 'smtp' }],
    limits: { ...options.limits, portMs },
    trust: options.trust,
    afterConnect: options.afterConnect,
    signal,
    dane: true,
    ...(options.dnsServer ? { dnsServer: options.dnsServer } : {}),
  };
  const [transport, ...probed] = await Promise.all([
    lookupTransportPolicy(domain, {
      dns: new PinnedDns(dns, new Map([[web, resolved.get(web) ?? { addresses: [] }]])),
      trust: options.trust,
      timeoutMs,
      signal,
    }),
    ...exchanges.map((host) => {
      const found = resolved.get(host);
      // An MX without an address is not probed: mxAddresses says why, the policy rules "its port 25 was not probed".
      if (!found || !('addresses' in found) || found.addresses.length === 0)
        return Promise.resolve(undefined);
      return probeHost(host, { ...probeOptions, addresses: found.addresses }).catch((error: unknown) => {
        if (error instanceof ResolveError) return undefined;
        throw error;
      });
    }),
  ]);
  const hosts = probed.filter((host): host is HostResult => host !== undefined);
  const earlier = options.memory?.exchange(domain, transport);
  if (earlier) transport.earlier = earlier;
  return {
    discovery: {
      domain,
      records,
      candidates: exchanges.map((host) => ({
        host,
        sources: [implicit ? 'implicit MX' : 'MX'],
        ports: [{ port: 25, service: 'smtp' as const }],
      })),
      transport,
      mxAddresses,
    },
    hosts,
  };
}
