/**
 * A mail domain (or an address) end to end, as observations: discover its hosts (MX, SRV, guessed names),
 * probe at most `maxHosts` of them, four at a time and `perHost` connections per host (so rate-limiting
 * servers are not tripped), all within one deadline. Judging (client settings included) is rules/judge.ts.
 */
import pLimit from 'p-limit';
import {
  addCandidate,
  defaultMaxHosts,
  discover,
  mxAddressLookup,
  nullMxReason,
  parseTarget,
} from '../discovery/hosts.js';
import { AbortedError, ResolveError } from '../errors.js';
import { abortable } from '../net/abort.js';
import { Dns } from '../net/dns.js';
import { isIP, nonPublicAddress } from '../net/names.js';
import { referenceTable } from '../reference/table.js';
import { trustFrom } from '../tls/trust.js';
import type { Discovery, HostResult, PublishedSetting, Service } from '../types/index.js';
import { type ProbeOptions, probeHost } from './host.js';

export interface DomainProbeOptions extends ProbeOptions {
  /** Look up the published client settings (autoconfig, ISPDB, Autodiscover) over HTTP(S) (default true). */
  published?: boolean;
  /** The ISPDB base URL (the domain is appended), or false to leave the ISPDB out (default Thunderbird's). */
  ispdb?: string | false | undefined;
  /** Most connections at once to one host (default 2). */
  perHost?: number;
  /** Most hosts probed (default 20); the others are listed in `discovery.leftOut`. */
  maxHosts?: number;
  /** ms for the whole run, discovery and probes (default 120000): probes still running then are aborted. */
  deadlineMs?: number;
  /** Called once discovery has found the hosts, before any is probed (for progress). */
  onDiscovered?: (discovery: Discovery) => void;
  /** Look up MTA-STS (the TXT record and the policy over HTTPS) and TLS-RPT for the domain (--mta-sts). */
  mtaSts?: boolean;
}

/** What DNS said and what each host that could be probed showed. */
export interface DomainResult {
  discovery: Discovery;
  hosts: HostResult[];
}

/**
 * Throws ResolveError when the domain has no mail host, publishes only null MX, its DNS fails or outlasts
 * the deadline, or no host could be probed at all (a run that tested nothing); never for what a server does.
 */
export async function probeDomain(target: string, options: DomainProbeOptions = {}): Promise<DomainResult> {
  const deadlineMs = options.deadlineMs ?? 120_000;
  const timeout = AbortSignal.timeout(deadlineMs);
  const stop = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const dns = new Dns({ server: options.dnsServer, timeoutMs: options.limits?.connectMs ?? 5000 });
  // The roots, resolved once for the published fetches and every host.
  const trust = options.trust ?? trustFrom(options.ca);
  let discovery: Discovery;
  // The published sources that need only the domain are fetched alongside DNS discovery; a discovery that fails
  // stops them (webStop), so an error never waits for a web server's deadline.
  const webStop = new AbortController();
  const discovering = discover(target, dns, { signal: stop, maxHosts: options.maxHosts ?? defaultMaxHosts });
  const publishing =
    options.published === false
      ? undefined
      : import('../discovery/published/sources.js').then(({ startPublished }) =>
          startPublished(parseTarget(target), {
            dns,
            trust,
            timeoutMs: options.limits?.connectMs ?? 5000,
            ispdb: options.ispdb ?? undefined,
            signal: AbortSignal.any([stop, webStop.signal]),
            family: options.family,
          }),
        );
  // MTA-STS and TLS-RPT need only the domain: looked up alongside DNS discovery, in the published bundle.
  const transport = options.mtaSts
    ? import('../discovery/published/sources.js').then(({ lookupTransportPolicy }) =>
        lookupTransportPolicy(parseTarget(target).domain, {
          dns,
          trust,
          timeoutMs: options.limits?.connectMs ?? 5000,
          signal: AbortSignal.any([stop, webStop.signal]),
          family: options.family,
        }),
      )
    : undefined;
  try {
    discovery = await discovering;
  } catch (error) {
    webStop.abort();
    void publishing?.catch(() => {}); // its fetches end at once, and nothing waits for it
    void transport?.catch(() => {});
    if (error instanceof AbortedError && !options.signal?.aborted)
      throw new ResolveError(
        parseTarget(target).domain,
        `DNS did not finish within the deadline of ${deadlineMs} ms`,
      );
    throw error;
  }
  if (publishing !== undefined) {
    const finish = await publishing;
    discovery.published = await abortable(finish(discovery), stop, 'dns').catch((error: unknown) => {
      if (error instanceof AbortedError && !options.signal?.aborted) return [];
      throw error;
    });
    addPublishedHosts(discovery, options.maxHosts ?? defaultMaxHosts);
  }
  if (discovery.candidates.length === 0) {
    const nullMx = nullMxReason(discovery.records);
    const failed = discovery.records.find((r) => r.note === 'failed');
    const invalid = discovery.records.filter((r) => r.note === 'invalid-name');
    const portZero = discovery.records.filter((r) => r.note === 'port-zero');
    const quoted = (list: typeof invalid) =>
      list.map((r) => `${r.kind} ${JSON.stringify(r.answer.slice(0, 80))}`).join(', ');
    const unusable = [
      ...(invalid.length > 0
        ? [
            `its ${quoted(invalid)} ${invalid.length === 1 ? 'names a host' : 'name hosts'} that cannot exist (${invalid[0]?.detail?.replace(/^.*?: /, '') ?? ''})`,
          ]
        : []),
      ...(portZero.length > 0
        ? [
            `its ${quoted(portZero)} ${portZero.length === 1 ? 'names' : 'name'} port 0, which takes no connection`,
          ]
        : []),
    ];
    throw new ResolveError(
      discovery.domain,
      nullMx
        ? `${nullMx} and no other mail host`
        : failed
          ? `DNS failed: ${failed.detail ?? ''}`
          : unusable.length > 0
            ? `no mail host found: ${unusable.join('; ')}, and nothing else was found`
            : 'no mail host found: no MX, no SRV, no published client settings, and none of mail., smtp., imap., pop., pop3. or the domain itself resolves',
    );
  }
  if (transport !== undefined) discovery.transport = await transport;
  const published = new Set(
    (discovery.published ?? []).flatMap((source) => source.settings.map((s) => s.host)),
  );
  options.onDiscovered?.(discovery);
  const hostLimit = pLimit(4);
  const notProbed: string[] = [];
  const unresolved = new Map<string, ResolveError>();
  const settled = await Promise.all(
    discovery.candidates.map((candidate) =>
      hostLimit(() =>
        probeHost(candidate.host, {
          ...options,
          trust,
          // A host a client is told to use is checked on every address it has, as clients may reach any of them.
          ...(published.has(candidate.host) ? { allAddresses: true } : {}),
          ports: candidate.ports,
          concurrency: options.perHost ?? 2,
          signal: stop,
        }).then(
          (result): HostResult => ({ ...result, publishedBy: candidate.sources }),
          (error: unknown) => {
            // No address, or its lookup failed. The discovery's records hold only a guessed name's address lookup,
            // so it is kept: discovery.mxAddresses says it of an MX (a published host's check says it did not
            // resolve), and the error below, when no host could be probed, whether DNS failed.
            if (error instanceof ResolveError) {
              unresolved.set(candidate.host, error);
              return undefined;
            }
            if (error instanceof AbortedError) {
              notProbed.push(candidate.host);
              return undefined;
            }
            throw error;
          },
        ),
      ),
    ),
  );
  const hosts = settled.filter((r): r is HostResult => r !== undefined);
  // What each MX host's address lookup gave, as serve's transport module says it (one aborted by the deadline is in
  // deadline.notProbed): senders skip an MX without an address (RFC 5321 §5.1), and the report names it.
  const mxAddresses = discovery.candidates.flatMap((candidate, i) =>
    !candidate.sources.some((source) => source.startsWith('MX ')) ||
    !(settled[i] || unresolved.has(candidate.host))
      ? []
      : [mxAddressLookup(candidate.host, unresolved.get(candidate.host))],
  );
  if (mxAddresses.length > 0) discovery.mxAddresses = mxAddresses;
  if (timeout.aborted) discovery.deadline = { ms: deadlineMs, notProbed };
  if (hosts.length === 0) {
    // No host has an address, or looking one up failed: then DNS failed, as serve's transport module says it.
    const failed = discovery.candidates.filter(({ host }) => {
      const error = unresolved.get(host);
      return error !== undefined && !error.notFound && !error.otherFamily;
    });
    const none = discovery.candidates.filter((c) => !failed.includes(c)).map((c) => c.host);
    const family = options.family === 4 || options.family === 6 ? `IPv${options.family} address` : 'address';
    // Hosts over --max-hosts were never looked up: nothing is said of them but that.
    const left = discovery.leftOut?.length ?? 0;
    const notLookedUp =
      left > 0
        ? `; ${left} more mail host${left === 1 ? ' was' : 's were'} not looked up (over --max-hosts ${options.maxHosts ?? defaultMaxHosts}: a larger --max-hosts includes ${left === 1 ? 'it' : 'them'})`
        : '';
    throw new ResolveError(
      discovery.domain,
      timeout.aborted
        ? `the deadline of ${deadlineMs} ms ran out before any host was probed`
        : failed.length > 0
          ? `DNS failed: ${unresolved.get(failed[0]?.host ?? '')?.reason ?? ''} (the addresses of ${failed.every((c) => c.sources.some((s) => s.startsWith('MX '))) ? 'its MX' : 'its mail hosts'} ${failed.map((c) => c.host).join(', ')}${none.length > 0 ? `; no ${family}: ${none.join(', ')}` : ''})${notLookedUp}`
          : `none of ${left > 0 ? `the ${none.length} mail hosts looked up` : 'its mail hosts'} has an ${family} (${none.join(', ')})${notLookedUp}`,
    );
  }
  return { discovery, hosts };
}

/**
 * The service a published port is probed as: the reference table's for its number when that speaks the published
 * protocol (so a wrong encryption shows as a wrong TLS mode), else the published protocol with its encryption.
 */
export function publishedService(setting: PublishedSetting): Service {
  const known = referenceTable.find((row) => row.port === setting.port);
  if (known && known.protocol === setting.protocol.toLowerCase()) return known.service;
  const tls = setting.security === 'TLS';
  if (setting.protocol === 'IMAP') return tls ? 'imaps' : 'imap';
  if (setting.protocol === 'POP3') return tls ? 'pop3s' : 'pop3';
  return tls ? 'submissions' : 'submission';
}

/** Most ports probed on one host, counting those the published sources add. */
const maxPublishedPorts = 16;

const sourceLabel = {
  autoconfig: 'autoconfig',
  ispdb: 'ISPDB',
  autodiscover: 'Autodiscover',
  srv: 'SRV',
} as const;

/** Every host and port a published source names joins the hosts to probe (within --max-hosts). */
export function addPublishedHosts(discovery: Discovery, maxHosts: number): void {
  const candidates = new Map(discovery.candidates.map((c) => [c.host, c]));
  for (const source of discovery.published ?? []) {
    if (source.kind === 'srv') continue; // already among the candidates
    // Served from a public address, a document may not name a server inside this network (as a redirect may not
    // lead there, fetch.ts): an address literal of loopback, private or link-local is not probed.
    const fromPublic = source.fetch?.address !== undefined && !nonPublicAddress(source.fetch.address);
    for (const setting of source.settings) {
      if (fromPublic && isIP(setting.host) && nonPublicAddress(setting.host)) {
        const refused = discovery.privateRefused ?? [];
        if (!refused.includes(setting.host)) discovery.privateRefused = [...refused, setting.host];
        continue;
      }
      if (!candidates.has(setting.host) && candidates.size >= maxHosts) {
        const leftOut = discovery.leftOut ?? [];
        if (!leftOut.includes(setting.host)) discovery.leftOut = [...leftOut, setting.host];
        continue;
      }
      // At most maxPublishedPorts ports a host from what the web sources say (a hostile file lists thousands).
      const known = candidates.get(setting.host);
      if (
        known &&
        !known.ports.some((p) => p.port === setting.port) &&
        known.ports.length >= maxPublishedPorts
      )
        continue;
      addCandidate(
        candidates,
        setting.host,
        [{ port: setting.port, service: publishedService(setting) }],
        sourceLabel[source.kind],
      );
    }
  }
  discovery.candidates = [...candidates.values()];
}
