/**
 * A mail domain (or an address) end to end, as observations: discover its hosts (MX, SRV, guessed names),
 * probe at most `maxHosts` of them, four at a time and `perHost` connections per host (so rate-limiting
 * servers are not tripped), all within one deadline. Judging (client settings included) is rules/judge.ts.
 */
import pLimit from 'p-limit';
import { defaultMaxHosts, discover, parseTarget } from './discover.js';
import { Dns } from './dns.js';
import { AbortedError, ResolveError } from './errors.js';
import { type ProbeOptions, probeHost } from './scan.js';
import type { Discovery, HostResult } from './types.js';

export interface DomainProbeOptions extends ProbeOptions {
  /** Most connections at once to one host (default 2). */
  perHost?: number;
  /** Most hosts probed (default 20); the others are listed in `discovery.leftOut`. */
  maxHosts?: number;
  /** ms for the whole run, discovery and probes (default 120000): probes still running then are aborted. */
  deadlineMs?: number;
  /** Called once discovery has found the hosts, before any is probed (for progress). */
  onDiscovered?: (discovery: Discovery) => void;
}

/** What DNS said and what each host that could be probed showed. */
export interface DomainResult {
  discovery: Discovery;
  hosts: HostResult[];
}

/**
 * Throws ResolveError when the domain has no mail host, publishes only a null MX, its DNS fails or outlasts
 * the deadline, or no host could be probed at all (a run that tested nothing); never for what a server does.
 */
export async function probeDomain(target: string, options: DomainProbeOptions = {}): Promise<DomainResult> {
  const deadlineMs = options.deadlineMs ?? 120_000;
  const timeout = AbortSignal.timeout(deadlineMs);
  const stop = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const dns = new Dns({ server: options.dnsServer, timeoutMs: options.limits?.connectMs ?? 5000 });
  let discovery: Discovery;
  try {
    discovery = await discover(target, dns, { signal: stop, maxHosts: options.maxHosts ?? defaultMaxHosts });
  } catch (error) {
    if (error instanceof AbortedError && !options.signal?.aborted)
      throw new ResolveError(
        parseTarget(target).domain,
        `DNS did not finish within the deadline of ${deadlineMs} ms`,
      );
    throw error;
  }
  if (discovery.candidates.length === 0) {
    const nullMx = discovery.records.some((r) => r.note === 'null-mx');
    const failed = discovery.records.find((r) => r.note === 'failed');
    throw new ResolveError(
      discovery.domain,
      nullMx
        ? 'it publishes a null MX (accepts no mail, RFC 7505) and no other mail host'
        : failed
          ? `DNS failed: ${failed.detail ?? ''}`
          : 'no mail host found: no MX, no SRV, and none of mail., smtp., imap., pop., pop3. or the domain itself resolves',
    );
  }
  options.onDiscovered?.(discovery);
  const hostLimit = pLimit(4);
  const notProbed: string[] = [];
  const settled = await Promise.all(
    discovery.candidates.map((candidate) =>
      hostLimit(() =>
        probeHost(candidate.host, {
          ...options,
          ports: candidate.ports,
          concurrency: options.perHost ?? 2,
          signal: stop,
        }).then(
          (result): HostResult => ({ ...result, publishedBy: candidate.sources }),
          (error: unknown) => {
            if (error instanceof ResolveError) return undefined; // its DNS answer is in the discovery records
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
  if (timeout.aborted) discovery.deadline = { ms: deadlineMs, notProbed };
  if (hosts.length === 0) {
    throw new ResolveError(
      discovery.domain,
      timeout.aborted
        ? `the deadline of ${deadlineMs} ms ran out before any host was probed`
        : `none of its mail hosts has an address (${discovery.candidates.map((c) => c.host).join(', ')})`,
    );
  }
  return { discovery, hosts };
}
