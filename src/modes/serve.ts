/**
 * `mailprobe serve`: the engine behind an HTTP endpoint in blackbox_exporter's multi-target pattern.
 * GET /probe?target=HOST&module=MODULE probes HOST's ports of MODULE and answers OpenMetrics text; GET /metrics
 * answers the server's own health. Safe to expose: every request gets an HTTP answer (400 for what cannot be
 * parsed, for more than one Host, and for a GET that carries content; 405 for CONNECT too; 408 for a request not
 * whole within 10 s), a request whose Host is not this server is refused (421: a web page cannot reach it through
 * DNS rebinding), and so is one a browser made for another page (403: Sec-Fetch-Site, Origin), loopback,
 * link-local, unspecified and multicast targets (an IPv6 address embedding one included) and this machine's own
 * addresses are probed only when `allow` names them, a name is resolved once and exactly the addresses checked
 * are probed (the remote address of each connection is checked again before a byte is sent), the probe ends
 * before Prometheus' scrape timeout, and memory and time stay bounded whatever the clients send (at most
 * maxConnections connections, each closed when it has more than maxPipelined requests waiting, when a request
 * that carries content has its answer, or when idle for idleTimeoutMs).
 */
import type http from 'node:http';
import type net from 'node:net';
import { AbortedError, ResolveError, UsageError } from '../errors.js';
import { defaultLimits, echo, type Limits } from '../limits.js';
import { abortable } from '../net/abort.js';
import { monotonicMs } from '../net/clock.js';
import { Dns } from '../net/dns.js';
import {
  addressBits,
  canonicalAddress,
  embeddedIpv4,
  isHostName,
  isIP,
  normalizeHostName,
} from '../net/names.js';
import { defaultPorts, type PortSpec, probeHost } from '../probe/host.js';
import type { LoginOptions } from '../probe/login.js';
import { referenceTable } from '../reference/table.js';
import { renderOpenMetrics } from '../render/openmetrics.js';
import type { Severity } from '../rules/finding.js';
import { judge } from '../rules/judge.js';
import { trustFrom } from '../tls/trust.js';
import { LoginGate } from './serve-login.js';
import { PolicyMemory, probeTransport } from './serve-transport.js';

export { canonicalAddress } from '../net/names.js';
export { LoginGate, loginIntervalMs, loginPauseMs } from './serve-login.js';

export interface ServeOptions {
  /** Deadlines and caps of each probe. */
  limits?: Partial<Limits>;
  /** Extra trusted roots (PEM). */
  ca?: string;
  /** Most probes at once; more are answered 503 (default 4). */
  maxConcurrent?: number;
  /** Least ms between two probes of the same target and module; sooner is answered 429 (default 1000). */
  minIntervalMs?: number;
  /**
   * ms a request may take (default 30000); a Prometheus scrape's `X-Prometheus-Scrape-Timeout-Seconds` shortens
   * it to that timeout minus 0.5 s. The ports still running then end at the port deadline, as they stand.
   */
  deadlineMs?: number;
  /**
   * When set, targets are probed only if every address they resolve to is inside one of these CIDRs. Loopback,
   * link-local, unspecified and multicast addresses, and this machine's own, need a network named here that is
   * no wider than their range (127.0.0.0/8, 169.254.169.254/32, fe80::/10; this machine's addresses one by one),
   * whether or not the list is set: 0.0.0.0/0 does not name them.
   */
  allow?: string[];
  /** Host names (besides the address a request arrived at) that a request's Host header may name. */
  hostNames?: string[];
  /** Findings at or above this severity make probe_success 0 (default high). */
  failOn?: Severity;
  /** The one DNS server to ask, instead of the system resolver. */
  dnsServer?: string;
  /**
   * The `login` module (probe/login.ts), only when given: the credential from serve's own environment. Lockout-
   * safe across scrapes: at most one login run per target a minute, and none for an hour after a refusal.
   */
  login?: LoginOptions;
  /** Look up each port's TLSA records and match them (DANE, mailprobe_port_dane_status). */
  dane?: boolean;
}

/** Most connections open at once; a connection beyond them is closed as soon as it is accepted. */
export const maxConnections = 256;
/**
 * Most requests one connection may have waiting for their answer to be sent (HTTP/1.1 pipelining): a client that
 * sends more before reading the answers has its connection closed, so what one connection holds is bounded.
 */
export const maxPipelined = 16;
/**
 * A client has this long to send a request's headers, and the whole request (Node's defaults are 60 s and 300 s);
 * checked every second.
 */
export const headersTimeoutMs = 10_000;
/**
 * A kept-alive connection with no request under way after its answer is closed after this long (5 s); one on which
 * no request has begun falls under headersTimeoutMs (408).
 */
export const idleTimeoutMs = 5000;

/** What createProbeServer returns: the HTTP server, and the way to stop it within a bounded time. */
export interface ProbeServer extends http.Server {
  /**
   * Stops at once accepting connections and requests, closes every connection with no probe running, lets the
   * probes running finish for up to `graceMs` (default 5000), then aborts them (they answer as they stand) and
   * closes every connection. Resolves when the last connection is closed (at most about `graceMs` + 1 s).
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Modules: `all` (the seven ports of the reference table) and one per service, on its reference port. */
export const modules: Readonly<Record<string, PortSpec[]>> = Object.freeze({
  all: defaultPorts,
  ...Object.fromEntries(
    referenceTable.map((row) => [row.service, [{ port: row.port, service: row.service }]]),
  ),
});

/** Parses "192.0.2.0/24" or "2001:db8::/32"; throws UsageError otherwise. */
export function parseCidr(text: string): { address: string; prefix: number; family: 4 | 6 } {
  const match = /^([^/%]+)\/(\d{1,3})$/.exec(text.trim());
  const family = match ? isIP(match[1] ?? '') : 0;
  const prefix = Number(match?.[2]);
  if (!match || family === 0 || prefix > (family === 4 ? 32 : 128))
    throw new UsageError(`--allow: '${echo(text, 80)}' is not a network (ADDRESS/PREFIX, e.g. 192.0.2.0/24)`);
  return { address: match[1] ?? '', prefix, family };
}

interface Network {
  text: string;
  family: 4 | 6;
  prefix: number;
  bits: bigint;
}

function network(text: string): Network {
  const { address, prefix } = parseCidr(text);
  const canonical = canonicalAddress(address);
  if (!canonical) throw new UsageError(`--allow: '${echo(text, 80)}' is not a network`);
  // An IPv4-mapped IPv6 network (::ffff:192.0.2.0/120) is the IPv4 network it maps.
  const mapped = canonical.family === 4 && isIP(address) === 6;
  return {
    text,
    family: canonical.family,
    prefix: mapped ? Math.max(0, prefix - 96) : prefix,
    bits: addressBits(canonical.address, canonical.family),
  };
}

function contains(net: Network, address: { family: 4 | 6; bits: bigint }): boolean {
  if (net.family !== address.family) return false;
  const shift = BigInt((net.family === 4 ? 32 : 128) - net.prefix);
  return net.bits >> shift === address.bits >> shift;
}

/** Ranges never probed unless an allowed network no wider than the range names them. */
const specialRangeTexts = [
  ['127.0.0.0/8', 'a loopback address'],
  ['::1/128', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local address (where cloud metadata services answer)'],
  ['fe80::/10', 'a link-local address'],
  ['0.0.0.0/8', 'an unspecified address'],
  ['::/128', 'an unspecified address'],
  ['224.0.0.0/4', 'a multicast address'],
  ['255.255.255.255/32', 'the broadcast address'],
  ['ff00::/8', 'a multicast address'],
];

/** This machine's addresses, canonical (each interface's, loopback included). */
function ownAddresses(): Set<string> {
  const found = new Set<string>();
  for (const list of Object.values(process.getBuiltinModule('node:os').networkInterfaces()))
    for (const entry of list ?? []) {
      const canonical = canonicalAddress(entry.address);
      if (canonical) found.add(canonical.address);
    }
  return found;
}

/**
 * The address policy of `serve`: why an address is not probed, or undefined when it may be. With `allow`, only
 * addresses inside one of its networks; whatever `allow` says, a loopback, link-local, unspecified or multicast
 * address needs an allowed network no wider than its range, and one of this machine's own addresses (other than
 * loopback) needs an allowed network of that one address (/32, /128). An IPv6 address that embeds an IPv4 one
 * (NAT64, 6to4, ...: embeddedIpv4) is probed only when the IPv4 address may be too.
 */
export function addressPolicy(
  allow: readonly string[],
  own: () => Set<string> = ownAddresses,
): (address: string) => string | undefined {
  const networks = allow.map(network);
  // Made here, not when the module loads: the probe commands share this bundle.
  const specialRanges = specialRangeTexts.map(([text = '', kind = '']) => ({ range: network(text), kind }));
  const judge = (canonical: { address: string; family: 4 | 6 }, bits: bigint): string | undefined => {
    const address = { family: canonical.family, bits };
    const allowedBy = networks.filter((net) => contains(net, address));
    if (networks.length > 0 && allowedBy.length === 0) return 'outside the allowed networks';
    for (const { range, kind } of specialRanges)
      if (contains(range, address) && !allowedBy.some((net) => net.prefix >= range.prefix))
        return `${kind}, probed only when --allow names it (e.g. --allow ${range.text})`;
    const width = canonical.family === 4 ? 32 : 128;
    const loopback = specialRanges.slice(0, 2).some(({ range }) => contains(range, address));
    if (!loopback && own().has(canonical.address) && !allowedBy.some((net) => net.prefix === width))
      return `this machine's own address, probed only when --allow names it (--allow ${canonical.address}/${width})`;
    return undefined;
  };
  return (text) => {
    const canonical = canonicalAddress(text);
    if (!canonical) return `'${text.slice(0, 60)}' is not an IP address`;
    const bits = addressBits(canonical.address, canonical.family);
    const why = judge(canonical, bits);
    const embedded = why || canonical.family === 4 ? undefined : embeddedIpv4(bits);
    if (!embedded) return why;
    const inner = judge({ address: embedded.address, family: 4 }, addressBits(embedded.address, 4));
    return inner && `${embedded.form} ${embedded.address}, which is ${inner}`;
  };
}

/** A connection whose remote address the policy refuses: nothing is sent on it. */
export class PeerRefusedError extends Error {
  readonly code = 'EPEERREFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'PeerRefusedError';
  }
}

/**
 * Whether a request's Host header names this server: the address the connection arrived at (an IP literal),
 * `localhost` when that address is a loopback one, or one of `names`. A missing Host (HTTP/1.0) is accepted:
 * every browser sends one, and what is refused is a page that reached this server through a name of its own.
 */
export function hostNamesServer(host: string | undefined, localAddress: string, names: Set<string>): boolean {
  if (host === undefined) return true;
  const match = /^(?:\[([^\]]*)\]|([^:]*))(?::\d*)?$/.exec(host.trim());
  const name = (match?.[1] ?? match?.[2] ?? '').toLowerCase().replace(/\.$/, '');
  if (!match || name === '') return false;
  if (names.has(name)) return true;
  const local = canonicalAddress(localAddress);
  const given = canonicalAddress(name);
  if (local && given) return local.address === given.address;
  return (
    name === 'localhost' &&
    local !== undefined &&
    (local.family === 4 ? local.address.startsWith('127.') : local.address === '::1')
  );
}

/**
 * Why a request that a browser sent for another site is refused, or undefined: `Sec-Fetch-Site: cross-site` or
 * `same-site` (Fetch Metadata: a page of another site, or of another port of this host, asked for it), or an
 * `Origin` that is not this server's own (`http://` or `https://` and the `Host` the request names). A web page
 * could otherwise make serve probe where the page says (and, with the login module, send the credential there):
 * the Host check stops only a page that reaches serve through a name of its own. Prometheus and curl send
 * neither header; serve's own page sends `same-origin`, and `none` is a URL typed or opened from a bookmark.
 */
export function crossSiteRefusal(headers: http.IncomingHttpHeaders): string | undefined {
  const site = String(headers['sec-fetch-site'] ?? '')
    .trim()
    .toLowerCase();
  if (site === 'cross-site' || site === 'same-site')
    return `Sec-Fetch-Site: ${site}: a request another web page made is refused (open this server's own page)`;
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  const refusal = `Origin '${origin.slice(0, 100)}' is not this server: a request another web page made is refused (open this server's own page)`;
  const parts = /^(https?:)\/\/([^/?#@\s]+)$/i.exec(origin.trim());
  const host = headers.host;
  if (!parts?.[1] || !parts[2] || host === undefined) return refusal;
  try {
    const given = new URL(`${parts[1]}//${parts[2]}`);
    const own = new URL(`${parts[1]}//${host.trim()}`);
    return given.host === own.host ? undefined : refusal;
  } catch {
    return refusal;
  }
}

/**
 * The time a probe request may take: the server's deadline, or the Prometheus scrape timeout minus 0.5 s (half
 * of it under 1 s) when shorter, as blackbox_exporter does, so a stalled port is reported before Prometheus gives
 * up. undefined when the header is not a positive decimal number of seconds (digits, and a fraction after a point,
 * as Prometheus writes it: not `0x10`, `1e1` or `Infinity`, which Number() would read).
 */
export function requestBudgetMs(
  header: string | string[] | undefined,
  deadlineMs: number,
): number | undefined {
  if (header === undefined) return deadlineMs;
  const text = (Array.isArray(header) ? header[0] : header) ?? '';
  const seconds = Number(text);
  if (!/^\s*\d+(?:\.\d+)?\s*$/.test(text) || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  const ms = seconds * 1000;
  return Math.max(1, Math.floor(Math.min(deadlineMs, ms >= 1000 ? ms - 500 : ms / 2)));
}

/**
 * When each target and module was last probed, for the minimum interval: entries older than the interval are
 * dropped, the oldest first, and at most `cap` entries are kept (beyond it the oldest is forgotten, and that
 * target may be probed again sooner), so memory stays bounded however many distinct targets clients name.
 */
export class RecentProbes {
  private readonly at = new Map<string, number>();
  /**
   * Every take, oldest first, from `head` on (a queue): expiring walks it from the front, never the Map, whose
   * deleted entries stay as holes until it is rehashed (walking them made each take cost thousands of steps).
   * An entry whose key was taken again since is stale and skipped.
   */
  private keys: string[] = [];
  private times: number[] = [];
  private head = 0;

  constructor(
    readonly intervalMs: number,
    readonly cap = 100_000,
  ) {}

  get size(): number {
    return this.at.size;
  }

  /** true (and recorded) when `key` may be probed now; false when it was probed less than the interval ago. */
  take(key: string, now = monotonicMs()): boolean {
    const last = this.at.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.at.set(key, now);
    this.keys.push(key);
    this.times.push(now);
    while (this.head < this.keys.length) {
      const oldKey = this.keys[this.head] ?? '';
      const oldAt = this.times[this.head] ?? 0;
      if (now - oldAt < this.intervalMs && this.at.size <= this.cap) break;
      if (this.at.get(oldKey) === oldAt) this.at.delete(oldKey);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return true;
  }
}

const openMetricsType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Whether a request carries content (RFC 9112 §6.3: a Transfer-Encoding, or a Content-Length other than 0). */
const carriesContent = (request: http.IncomingMessage) =>
  request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] ?? '0') !== '0';

/**
 * An IP address in one canonical form, its zone id kept (`0::1` and `0000::0001` are `::1`, `::ffff:127.0.0.1` is
 * 127.0.0.1, `FE80::1%eth0` is `fe80::1%eth0`); a name as it is.
 */
export function canonicalTarget(name: string): string {
  const canonical = isIP(name) ? canonicalAddress(name) : undefined;
  if (!canonical) return name;
  return canonical.family === 6 ? `${canonical.address}${/%.*$/.exec(name)?.[0] ?? ''}` : canonical.address;
}

/** A HELP text as OpenMetrics writes it: backslash, double quote and line feed escaped, other controls blanked. */
const helpText = (text: string) =>
  text
    .slice(0, 300)
    .replace(/[\\"]/g, '\\$&')
    .replace(/\n/g, '\\n')
    .replace(/[\u0000-\u001f\u007f]/g, ' ');

export function createProbeServer(options: ServeOptions = {}): ProbeServer {
  const policy = addressPolicy(options.allow ?? []);
  const hostNames = new Set((options.hostNames ?? []).map((name) => name.toLowerCase().replace(/\.$/, '')));
  const maxConcurrent = options.maxConcurrent ?? 4;
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const deadlineMs = options.deadlineMs ?? 30_000;
  const dns = new Dns({ server: options.dnsServer });
  // The roots every probe of the server trusts, resolved once.
  const trust = trustFrom(options.ca || undefined);
  const recent = new RecentProbes(minIntervalMs);
  const stats = { inFlight: 0, requests: new Map<number, number>(), probeSeconds: 0, probes: 0 };
  const started = Date.now() / 1000;
  /** Each open connection, with the number of its requests not yet answered. */
  const connections = new Map<net.Socket, number>();
  /** The abort controllers of the probes running. */
  const running = new Set<AbortController>();
  let closing = false;

  const answer = (
    response: http.ServerResponse,
    code: number,
    body: string,
    type = 'text/plain; charset=utf-8',
    headers: Record<string, string> = {},
  ) => {
    if (response.headersSent || response.writableEnded) return;
    stats.requests.set(code, (stats.requests.get(code) ?? 0) + 1);
    // A request that carries content ends its connection once answered: content sent a byte at a time holds none.
    response.writeHead(code, {
      'content-type': type,
      ...headers,
      ...(closing || carriesContent(response.req) ? { connection: 'close' } : {}),
    });
    response.end(body);
  };

  const failedProbe = (response: http.ServerResponse, reason: string) =>
    // A target that does not resolve is an answer, as blackbox_exporter gives it: the probe failed. OpenMetrics
    // has no comments: the reason is the family's HELP text (escaped as the format requires).
    answer(
      response,
      200,
      `# TYPE probe_success gauge\n# HELP probe_success The probe failed: ${helpText(reason)}\nprobe_success 0\n# EOF\n`,
      openMetricsType,
    );

  const refuseConnection = (socket: net.Socket) => {
    const why = policy(socket.remoteAddress ?? '');
    if (why)
      throw new PeerRefusedError(`connected to ${socket.remoteAddress}, which is ${why}: nothing was sent`);
  };

  let htmlModule: typeof import('../render/html.js') | undefined;
  /**
   * The HTML page at `/` (the form) and `/report` (the form and the report): the same page `--html` writes, with
   * a policy that allows nothing but its inline style and a form to this origin, sent as headers too.
   */
  const page = async (
    response: http.ServerResponse,
    code: number,
    form: { target?: string; module?: string; message?: string },
    report?: { hosts: ReturnType<typeof judge>['hosts']; outcome: ReturnType<typeof judge>['outcome'] },
  ) => {
    // Loaded once, on first use: from then on a page is rendered and written as its request arrives.
    htmlModule ??= await import('../render/html.js');
    const html = htmlModule;
    if (response.headersSent || response.writableEnded) return;
    stats.requests.set(code, (stats.requests.get(code) ?? 0) + 1);
    const query = `target=${encodeURIComponent(form.target ?? '')}&module=${encodeURIComponent(form.module ?? 'all')}`;
    const body = html.renderHtml(report?.hosts ?? [], report?.outcome ?? html.noOutcome, undefined, {
      form: { modules: Object.keys(modules), ...form },
      title: report ? `mailprobe: ${form.target}` : 'mailprobe',
      ...(report ? { command: `mailprobe serve: GET /report?${query}` } : {}),
    });
    response.writeHead(code, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `${html.contentSecurityPolicy(true)}; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      ...(closing || carriesContent(response.req) ? { connection: 'close' } : {}),
    });
    response.end(body);
  };

  // The transport module's memory: each domain's last MTA-STS policy (id and digest), bounded.
  const policyMemory = new PolicyMemory();
  // The login module's memory, per target (its canonical address, or its name and each address it resolved to):
  // when a run last started there, and until when a refusal holds logins back. Bounded.
  const loginGate = new LoginGate();
  const probe = async (
    query: URLSearchParams,
    request: http.IncomingMessage,
    response: http.ServerResponse,
    kind: 'metrics' | 'html' = 'metrics',
  ) => {
    const target = query.get('target') ?? '';
    const module = query.get('module') ?? 'all';
    const form = { target: target.slice(0, 253), module: module.slice(0, 50) };
    // The same checks and limits for both: a refusal is the form again with the reason, and the same code.
    const refuse = (code: number, message: string) =>
      kind === 'html'
        ? page(response, code, { ...form, message: message.trim() })
        : answer(response, code, message);
    const named = normalizeHostName(target);
    if (!named || (!isIP(named.name) && !isHostName(named.name)))
      return refuse(400, `target: '${target.slice(0, 100)}' is not a host name or IP address\n`);
    // An IP address in its one canonical form: the key of the rate and login limits, and the target probed and
    // labelled, however the request spelled it.
    const host = canonicalTarget(named.name);
    const loginModule = module === 'login' && options.login !== undefined;
    // `transport`: the target is a mail domain; its MTA-STS, TLS-RPT and each MX's port 25 with DANE.
    const transportModule = module === 'transport';
    const ports =
      loginModule || transportModule
        ? defaultPorts
        : Object.hasOwn(modules, module)
          ? modules[module]
          : undefined;
    if (!ports)
      return refuse(
        400,
        `module: '${module.slice(0, 50)}' is not one of ${[...Object.keys(modules), 'transport', ...(options.login ? ['login'] : [])].join(', ')}\n`,
      );
    if (transportModule && isIP(named.name))
      return refuse(400, `target: module transport takes a mail domain, not an IP address\n`);
    // Asked again, with the addresses, when the run starts; a refused request leaves no trace in the gate.
    const held = loginModule ? loginGate.check([host]) : undefined;
    if (held) return refuse(held.code, `${host}: ${held.why}\n`);
    const budgetMs = requestBudgetMs(request.headers['x-prometheus-scrape-timeout-seconds'], deadlineMs);
    if (budgetMs === undefined)
      return refuse(400, 'X-Prometheus-Scrape-Timeout-Seconds: not a positive decimal number of seconds\n');
    if (stats.inFlight >= maxConcurrent) return refuse(503, `${maxConcurrent} probes are running already\n`);
    if (!recent.take(`${host} ${module}`))
      return refuse(429, `${host} was probed less than ${minIntervalMs} ms ago\n`);
    stats.inFlight++;
    const begin = monotonicMs();
    const controller = new AbortController();
    running.add(controller);
    const timer = setTimeout(() => controller.abort(), budgetMs);
    try {
      if (transportModule) {
        const seen = await probeTransport(
          named.name,
          {
            dns,
            policy,
            trust,
            limits: options.limits ?? {},
            signal: controller.signal,
            afterConnect: refuseConnection,
            dnsServer: options.dnsServer,
            memory: policyMemory,
          },
          begin + budgetMs - 100,
        );
        if ('refused' in seen)
          return refuse(
            403,
            `${named.name} is not probed: ${seen.refused.slice(0, 8).join('; ')}${seen.refused.length > 8 ? `; and ${seen.refused.length - 8} more` : ''}\n`,
          );
        const judged = judge(seen.hosts, { failOn: options.failOn ?? 'high', discovery: seen.discovery });
        const extra = {
          ...seen.discovery,
          ...(judged.published ? { publishedCheck: judged.published } : {}),
        };
        if (kind === 'html') await page(response, 200, form, judged);
        else answer(response, 200, renderOpenMetrics(judged.hosts, judged.outcome, extra), openMetricsType);
        return;
      }
      // Resolved once: the addresses checked are the addresses probed (a name served with TTL 0 cannot answer
      // the check with one address and the probe with another).
      const found = await abortable(dns.addresses(host), controller.signal, 'dns');
      const addresses = [...new Map(found.map((entry) => [entry.address, entry])).values()];
      const refused = addresses.flatMap(({ address }) => {
        const why = policy(address);
        return why ? [`${address} is ${why}`] : [];
      });
      if (refused.length > 0)
        return refuse(
          403,
          `${host} is not probed: ${refused.slice(0, 8).join('; ')}${refused.length > 8 ? `; and ${refused.length - 8} more` : ''}\n`,
        );
      // Every port ends at the request's budget less 100 ms, as it stands then (a port that never greeted is
      // `silent`), so that the answer is judged, rendered and sent before the scraper gives up.
      const limits = { ...defaultLimits, ...options.limits };
      const left = Math.floor(budgetMs - (monotonicMs() - begin) - 100);
      // Resolving took the whole budget: no port had a chance, and none is reported as if it had.
      const tooLate = 'resolving the target took the whole time allowed: no port was probed';
      if (left < 50) return kind === 'html' ? refuse(200, tooLate) : failedProbe(response, tooLate);
      // The login run starts here, on the target and on every address it resolved to, or not at all: checked and
      // recorded at once, so two requests naming one target (or a name and its address) cannot both start.
      const loginKeys = [host, ...addresses.map(({ address }) => canonicalTarget(address))].filter(
        (key, i, all) => all.indexOf(key) === i,
      );
      if (loginModule) {
        const waits = loginGate.check(loginKeys);
        if (waits) return refuse(waits.code, `${host}: ${waits.why}\n`);
        loginGate.start(loginKeys);
      }
      const result = await probeHost(host, {
        ports,
        limits: { ...options.limits, portMs: Math.max(1, Math.min(limits.portMs, left)) },
        trust,
        addresses,
        afterConnect: refuseConnection,
        signal: controller.signal,
        ...(loginModule && options.login ? { login: options.login } : {}),
        ...(options.dane
          ? { dane: true, ...(options.dnsServer ? { dnsServer: options.dnsServer } : {}) }
          : {}),
      });
      if (
        loginModule &&
        result.ports.some((p) => ['rejected', 'locked', 'app-password'].includes(p.login?.outcome ?? ''))
      )
        loginGate.refused(loginKeys);
      const judged = judge([result], { failOn: options.failOn ?? 'high' });
      if (kind === 'html') await page(response, 200, form, judged);
      else answer(response, 200, renderOpenMetrics(judged.hosts, judged.outcome), openMetricsType);
    } catch (error) {
      if (kind === 'html' && (error instanceof ResolveError || error instanceof AbortedError))
        await refuse(200, `the probe failed: ${error.message}`);
      else if (error instanceof ResolveError || error instanceof AbortedError)
        failedProbe(response, error.message);
      else if (error instanceof UsageError) await refuse(400, `${error.message}\n`);
      else throw error;
    } finally {
      clearTimeout(timer);
      running.delete(controller);
      stats.inFlight--;
      stats.probes++;
      stats.probeSeconds += (monotonicMs() - begin) / 1000;
    }
  };

  const health = (response: http.ServerResponse) => {
    const lines = [
      '# TYPE mailprobe_serve_probes_in_flight gauge',
      '# HELP mailprobe_serve_probes_in_flight Probes running now.',
      `mailprobe_serve_probes_in_flight ${stats.inFlight}`,
      '# TYPE mailprobe_serve_probe_seconds summary',
      '# HELP mailprobe_serve_probe_seconds Time spent answering /probe.',
      `mailprobe_serve_probe_seconds_sum ${stats.probeSeconds}`,
      `mailprobe_serve_probe_seconds_count ${stats.probes}`,
      '# TYPE mailprobe_serve_requests counter',
      '# HELP mailprobe_serve_requests Requests answered, by HTTP status code.',
      ...[...stats.requests].map(
        ([code, count]) => `mailprobe_serve_requests_total{code="${code}"} ${count}`,
      ),
      '# TYPE mailprobe_serve_recent_targets gauge',
      '# HELP mailprobe_serve_recent_targets Targets remembered for the minimum interval (bounded).',
      `mailprobe_serve_recent_targets ${recent.size}`,
      '# TYPE process_resident_memory_bytes gauge',
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
      '# TYPE mailprobe_serve_start_time_seconds gauge',
      '# HELP mailprobe_serve_start_time_seconds When the server started (Unix time).',
      `mailprobe_serve_start_time_seconds ${started}`,
      '# EOF',
    ];
    answer(response, 200, `${lines.join('\n')}\n`, openMetricsType);
  };

  const handle = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const socket = request.socket;
    // The rest of what a connection closed below had sent: nothing to answer it on.
    if (socket.destroyed) return;
    const waiting = (connections.get(socket) ?? 0) + 1;
    connections.set(socket, waiting);
    response.once('close', () => {
      const count = (connections.get(socket) ?? 1) - 1;
      if (connections.has(socket)) connections.set(socket, count);
      if (closing && count === 0) socket.destroy();
    });
    // A request is waiting until its answer is handed to the network, so a client that sends requests without
    // reading the answers reaches the cap: what one connection holds stays bounded.
    if (waiting > maxPipelined) return void socket.destroy();
    if (closing) return answer(response, 503, 'shutting down\n');
    // The request target is parsed by hand, never by `new URL`: it throws on `//%5B`, `//[::1`, `//%zz`.
    const raw = request.url ?? '';
    if (!raw.startsWith('/')) return answer(response, 400, 'the request target must be a path\n');
    if (/%(?![0-9a-f]{2})/i.test(raw))
      return answer(response, 400, 'a bad percent-escape in the request target\n');
    const mark = raw.indexOf('?');
    const path = mark < 0 ? raw : raw.slice(0, mark);
    // RFC 9112 §3.2: more than one Host is a 400 (node:http keeps the first and drops the others).
    if (request.rawHeaders.filter((name, i) => i % 2 === 0 && name.toLowerCase() === 'host').length > 1)
      return answer(response, 400, 'more than one Host header\n');
    if (!hostNamesServer(request.headers.host, socket.localAddress ?? '', hostNames))
      return answer(
        response,
        421,
        `Host '${String(request.headers.host).slice(0, 100)}' is not this server: use its address, or name the host with --host-name\n`,
      );
    const crossSite = crossSiteRefusal(request.headers);
    if (crossSite) return answer(response, 403, `${crossSite}\n`);
    if (request.method !== 'GET') return answer(response, 405, 'only GET\n', undefined, { allow: 'GET' });
    // RFC 9110 §9.3.1: a GET's content has no meaning; one that carries some is refused before anything runs.
    if (carriesContent(request)) return answer(response, 400, 'a GET takes no content\n');
    if (path === '/probe')
      return void probe(new URLSearchParams(mark < 0 ? '' : raw.slice(mark + 1)), request, response).catch(
        (error: unknown) =>
          answer(
            response,
            500,
            `internal error: ${error instanceof Error ? error.message : String(error)}\n`,
          ),
      );
    if (path === '/metrics') return health(response);
    const html = (work: Promise<void>) =>
      void work.catch((error: unknown) =>
        answer(response, 500, `internal error: ${error instanceof Error ? error.message : String(error)}\n`),
      );
    // The page: the form, and the report of the target it names (the same checks and limits as /probe).
    if (path === '/') return html(page(response, 200, {}));
    if (path === '/report')
      return html(probe(new URLSearchParams(mark < 0 ? '' : raw.slice(mark + 1)), request, response, 'html'));
    answer(
      response,
      404,
      'GET /probe?target=HOST&module=MODULE, GET /metrics, or GET / (the page) and /report?target=HOST&module=MODULE\n',
    );
  };

  // node:http on first use: the probe commands that share this bundle never load it. A client has 10 s to send
  // a request's headers and the whole request (a body sent a byte at a time included), checked every second
  // (Node checks every 30 s by default: 40 s, not 10); then 408, or a close once an answer has begun.
  const server = process.getBuiltinModule('node:http').createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: headersTimeoutMs,
      keepAliveTimeout: idleTimeoutMs,
      connectionsCheckingInterval: 1000,
    },
    (request, response) => {
      try {
        handle(request, response);
      } catch (error) {
        answer(response, 500, `internal error: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    },
  ) as ProbeServer;
  server.maxConnections = maxConnections;
  // A connection on which nothing moves (no byte read or written) for longer than a probe may take is closed: a
  // client that stops reading its answers does not hold one of the connections for ever. One with no request under
  // way is closed sooner, after idleTimeoutMs (keepAliveTimeout above; node:http adds a second to it).
  server.timeout = deadlineMs + 10_000;
  // CONNECT is not a request node:http answers (it hands the socket over): 405, as every method but GET.
  server.on('connect', (_request: http.IncomingMessage, socket: net.Socket) => {
    stats.requests.set(405, (stats.requests.get(405) ?? 0) + 1);
    socket.on('error', () => {});
    socket.end(
      'HTTP/1.1 405 Method Not Allowed\r\nallow: GET\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 9\r\nconnection: close\r\n\r\nonly GET\n',
    );
  });
  server.on('connection', (socket: net.Socket) => {
    connections.set(socket, 0);
    socket.once('close', () => connections.delete(socket));
  });
  server.shutdown = (graceMs = 5000) => {
    closing = true;
    server.close();
    // Connections with no request being answered (idle, or half a request sent) are closed at once.
    for (const [socket, count] of connections) if (count === 0) socket.destroy();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(abortAt);
        clearTimeout(giveUpAt);
        clearInterval(watch);
        for (const socket of connections.keys()) socket.destroy();
        resolve();
      };
      const abortAt = setTimeout(() => {
        for (const controller of running) controller.abort();
      }, graceMs);
      // An aborted probe answers within milliseconds; a client that does not read its answer is not waited for.
      const giveUpAt = setTimeout(done, graceMs + 1000);
      const watch = setInterval(() => {
        if (connections.size === 0) done();
      }, 20);
      if (connections.size === 0) done();
    });
  };
  return server;
}
