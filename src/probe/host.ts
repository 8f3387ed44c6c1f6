import { defaultPorts, type PortSpec } from '../reference/table.js';

export { defaultPorts, type PortSpec } from '../reference/table.js';

import pLimit from 'p-limit';
import { type Phase, ResolveError, UsageError } from '../errors.js';
import { checkedLimits, defaultLimits, invalidLimit, type Limits } from '../limits.js';
import { abortable } from '../net/abort.js';
import { isoTime, monotonicMs } from '../net/clock.js';
import { Dns } from '../net/dns.js';
import { isEhloArgument, isHostName, isIP, normalizeHostName } from '../net/names.js';
import { omittedAnchor } from '../tls/facts.js';
import { type Trust, trustFrom } from '../tls/trust.js';
import type { HostResult, PortResult } from '../types/index.js';
import type { CheckName } from './checks.js';
import { FastFiltered } from './fast-filtered.js';
import type { LoginOptions } from './login.js';
import { type PortTarget, probePort } from './port.js';

/** Progress events, for spinners and logs. */
export interface ProgressEvents {
  onResolved?: (addresses: HostResult['addresses']) => void;
  onPortStart?: (port: PortSpec & { address: string }) => void;
  onPhase?: (port: PortSpec & { address: string }, phase: Phase) => void;
  onPortDone?: (result: PortResult) => void;
}

export interface ProbeOptions extends ProgressEvents {
  /** Ports and services to probe; defaults to the seven of the reference table. */
  ports?: PortSpec[];
  /** Address family: 4, 6, or both (the default probes one address of each family found). */
  family?: 4 | 6 | 'both';
  /** SNI and certificate name; defaults to the host. */
  servername?: string;
  /** Extra trusted root certificates (PEM text). */
  ca?: string;
  /** The roots, already resolved (trustFrom): used instead of `ca` (probeDomain, serve and batch build it once). */
  trust?: Trust;
  /** EHLO argument; defaults to our own address as an address literal. */
  ehloName?: string;
  /** Deadlines and caps; defaults to `defaultLimits`. */
  limits?: Partial<Limits>;
  /** Most ports probed at once. */
  concurrency?: number;
  /** Stops every socket at once; the result then holds what was seen, with status `aborted`. */
  signal?: AbortSignal;
  /** Opt-in checks (injection, auth-required, tls-versions), run on the ports they apply to. */
  checks?: readonly CheckName[];
  /** Probe every address the host has, not one per family. */
  allAddresses?: boolean;
  /** Keep each certificate of every chain as PEM in the facts (ChainCertificate.pem; the CLI's --show-certs). */
  keepCertificates?: boolean;
  /** The one DNS server to ask (ADDR:PORT), instead of the system resolver. */
  dnsServer?: string;
  /**
   * Look up the TLSA records of each STARTTLS or TLS port probed (`_PORT._tcp.HOST`, RFC 7672 / 7673) and keep the
   * digests of each chain they are matched against (PortResult.dane). Off by default: one more DNS query a port.
   */
  dane?: boolean;
  /**
   * The host's addresses, already resolved (and checked, by `serve`): these are probed and the name is not
   * looked up again, so what was checked is what is probed.
   */
  addresses?: HostResult['addresses'];
  /** Called with each TCP connection once it is up, before any byte is sent; throws to refuse it (PortTarget). */
  afterConnect?: PortTarget['afterConnect'];
  /**
   * Call a port filtered before its connect deadline when the rest of the host shows a reliable network
   * (fast-filtered.ts); default true. false waits the whole connect deadline, as before.
   */
  fastFiltered?: boolean;
  /**
   * Wraps each port's probe (batch mode puts its per-address limits and back-off here); default probes at once.
   * Must call `probe(target)` or return a result of its own for the same target.
   */
  probePort?: (target: PortTarget, probe: typeof probePort) => Promise<PortResult>;
  /** The opt-in login check (probe/login.ts): run after the ports, lockout-safe, only inside verified TLS. */
  login?: LoginOptions;
}

/** Resolves a host to its addresses (A and AAAA), or takes an IP literal as is; keeps the asked family. */
export async function resolveHost(
  host: string,
  family: 4 | 6 | 'both',
  dns: Dns = new Dns(),
): Promise<HostResult['addresses']> {
  const found = await dns.addresses(host, family);
  const unique = [...new Map(found.map((entry) => [entry.address, entry])).values()];
  const wanted = family === 'both' ? unique : unique.filter((entry) => entry.family === family);
  if (wanted.length === 0) {
    const literal = isIP(host.replace(/^\[(.*)\]$/, '$1'));
    throw new ResolveError(
      host,
      literal
        ? `it is an IPv${literal} address and -${family} was asked for`
        : `no IPv${family === 'both' ? '4 or IPv6' : family} address`,
      false,
      true,
    );
  }
  return wanted;
}

/** One address per family: the first the resolver gave of each. */
export function pickAddresses(addresses: HostResult['addresses']): HostResult['addresses'] {
  const picked: HostResult['addresses'] = [];
  for (const family of [4, 6] as const) {
    const first = addresses.find((entry) => entry.family === family);
    if (first) picked.push(first);
  }
  return picked;
}

/**
 * Probes a host's mail ports: resolve, then every (address, port) pair concurrently under p-limit.
 * Throws ResolveError when the host has no address, AbortedError when aborted while resolving, UsageError
 * for bad options; never throws for anything a server does.
 */
export async function probeHost(host: string, options: ProbeOptions = {}): Promise<HostResult> {
  const started = monotonicMs();
  const startedAt = isoTime();
  // The defaults are valid: only what the caller gave is checked, and the whole is marked checked for probePort.
  const badLimit = options.limits === undefined ? undefined : invalidLimit(options.limits);
  if (badLimit) throw new UsageError(`limits: ${badLimit}`);
  const limits: Limits = checkedLimits(Object.assign({}, defaultLimits, options.limits));
  // The name for SNI and certificate checks, and for DNS: A-label form, no trailing dot (RFC 9525 §6.3).
  const named = normalizeHostName(options.servername ?? host);
  if (!named || (!isIP(named.name) && !isHostName(named.name)))
    throw new UsageError(
      `${JSON.stringify((options.servername ?? host).slice(0, 80))} is not a host name or IP address`,
    );
  if (options.ehloName !== undefined && !isEhloArgument(options.ehloName))
    throw new UsageError(
      `ehloName ${JSON.stringify(options.ehloName.slice(0, 80))} is not a domain or an address literal`,
    );
  const lookup = options.servername === undefined ? named.name : (normalizeHostName(host)?.name ?? host);
  // getaddrinfo cannot be cancelled; an abort still returns at once (AbortedError, phase 'dns').
  const resolving = options.addresses
    ? Promise.resolve(options.addresses)
    : resolveHost(lookup, options.family ?? 'both', new Dns({ server: options.dnsServer }));
  // Every mail service reaches TLS (implicit or STARTTLS), and the first TLS client context makes Node parse its
  // bundled roots (30-45 ms of CPU): while a name is being resolved off the main thread, that time is free.
  const literal = isIP(lookup) !== 0 || options.addresses !== undefined;
  const trust = options.trust ?? trustFrom(options.ca);
  if (!literal) trust.warm();
  // An address resolves at once: nothing to abort (the first abort listener costs before the first socket).
  const resolved = literal ? await resolving : await abortable(resolving, options.signal, 'dns');
  const addresses = options.allAddresses ? resolved : pickAddresses(resolved);
  const resolveMs = Math.round((monotonicMs() - started) * 10) / 10;
  options.onResolved?.(addresses);
  const servername = named.name;
  const ports = options.ports ?? defaultPorts;
  const concurrency = Math.max(1, options.concurrency ?? 16);
  // Every port at once when the limit allows them all (batch mode: a limiter a target cost 6 µs to build).
  const limit: <T>(job: () => Promise<T>) => Promise<T> =
    ports.length * addresses.length <= concurrency ? (job) => job() : pLimit(concurrency);
  const jobs: Promise<PortResult>[] = [];
  const fast =
    options.fastFiltered === false
      ? undefined
      : new FastFiltered(
          ports.flatMap((spec) => addresses.map(({ address }) => ({ address, port: spec.port }))),
        );
  for (const spec of ports) {
    for (const { address, family } of addresses) {
      const where = { port: spec.port, service: spec.service, address };
      const target: PortTarget = {
        address,
        family,
        port: spec.port,
        service: spec.service,
        servername,
        trust,
        ehloName: options.ehloName,
        limits,
        signal: options.signal,
        checks: options.checks,
        onPhase: options.onPhase ? (phase) => options.onPhase?.(where, phase) : undefined,
        connectWatch: fast?.watch(address, spec.port),
        afterConnect: options.afterConnect,
      };
      if (options.keepCertificates) target.keepCertificates = true;
      if (options.dane) target.daneDigests = true;
      jobs.push(
        limit(async () => {
          options.onPortStart?.(where);
          const result = options.probePort
            ? await options.probePort(target, probePort)
            : await probePort(target);
          fast?.finished(address, spec.port);
          options.onPortDone?.(result);
          return result;
        }),
      );
    }
  }
  // The TLSA lookups run beside the probes (one a port number, shared by its addresses); the DNS wire-format code
  // is loaded only here, so a probe without --dane never reads it.
  const tlsa =
    options.dane && !isIP(servername)
      ? import('../discovery/tlsa.js').then(({ lookupTlsa }) =>
          Promise.all(
            [...new Set(ports.map((spec) => spec.port))].map(
              async (port) =>
                [
                  port,
                  await lookupTlsa(servername, port, {
                    server: options.dnsServer,
                    timeoutMs: limits.connectMs,
                    signal: options.signal,
                  }),
                ] as const,
            ),
          ),
        )
      : undefined;
  const results = fast ? await Promise.all(jobs).finally(() => fast.close()) : await Promise.all(jobs);
  if (options.login) {
    // Loaded only with --login: a probe without it never evaluates the login check (start-up, CONTRIBUTING).
    const { runLogins } = await import('./login.js');
    await runLogins(results, options.login, {
      servername,
      trust,
      limits,
      ehloName: options.ehloName,
      signal: options.signal,
    });
  }
  const found = tlsa === undefined ? undefined : new Map(await tlsa);
  for (const result of found ? results : []) {
    const lookup = found?.get(result.port);
    if (!lookup) continue;
    result.dane = lookup;
    const issuer = result.tls && omittedAnchor(result.tls, lookup.records);
    if (result.tls && issuer !== undefined) result.tls.tlsaIssuer = issuer;
  }
  const notes = [...named.notes];
  for (const family of results.some((r) => r.noRouteFromHere) ? ([4, 6] as const) : []) {
    const unrouted = [
      ...new Set(results.filter((r) => r.noRouteFromHere && r.family === family).map((r) => r.address)),
    ];
    if (unrouted.length > 0)
      notes.push(
        `IPv${family} not tested from here: this machine has no IPv${family} route (${unrouted.join(', ')}); mail clients here fall back to the other family`,
      );
  }
  // Filled in, not spread: a property after a spread costs about 1 µs on Node 20 (CONTRIBUTING, "Hot paths").
  const hostResult = { host, servername } as HostResult;
  if (notes.length > 0) hostResult.notes = notes;
  hostResult.addresses = addresses;
  hostResult.resolveMs = resolveMs;
  hostResult.startedAt = startedAt;
  hostResult.durationMs = Math.round((monotonicMs() - started) * 10) / 10;
  hostResult.ports = results;
  return hostResult;
}
