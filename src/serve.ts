/**
 * `mailprobe serve`: the engine behind an HTTP endpoint in blackbox_exporter's multi-target pattern.
 * GET /probe?target=HOST&module=MODULE probes HOST's ports of MODULE and answers OpenMetrics text; GET /metrics
 * answers the server's own health. Bounded: probes at once, one probe of a target per interval, a deadline per
 * request, and, when told, only targets inside allowed networks (a server that probes what a URL names must not
 * become a way into internal networks).
 */
import type http from 'node:http';
import { Dns } from './dns.js';
import { AbortedError, ResolveError, UsageError } from './errors.js';
import type { Limits } from './limits.js';
import { monotonicMs } from './net/clock.js';
import { isHostName, isIP, normalizeHostName } from './net/names.js';
import { referenceTable } from './reference/table.js';
import { renderOpenMetrics } from './render/openmetrics.js';
import type { Severity } from './rules/finding.js';
import { judge } from './rules/judge.js';
import { defaultPorts, type PortSpec, probeHost } from './scan.js';

export interface ServeOptions {
  /** Deadlines and caps of each probe. */
  limits?: Partial<Limits>;
  /** Extra trusted roots (PEM). */
  ca?: string;
  /** Most probes at once; more are answered 503 (default 4). */
  maxConcurrent?: number;
  /** Least ms between two probes of the same target and module; sooner is answered 429 (default 1000). */
  minIntervalMs?: number;
  /** ms a request may take; the probe is then aborted and reported as it stands (default 30000). */
  deadlineMs?: number;
  /** When set, targets are probed only if every address they resolve to is inside one of these CIDRs. */
  allow?: string[];
  /** Findings at or above this severity make probe_success 0 (default high). */
  failOn?: Severity;
  /** The one DNS server to ask, instead of the system resolver. */
  dnsServer?: string;
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
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  const family = match ? isIP(match[1] ?? '') : 0;
  const prefix = Number(match?.[2]);
  if (!match || family === 0 || prefix > (family === 4 ? 32 : 128))
    throw new UsageError(`--allow: '${text}' is not a network (ADDRESS/PREFIX, e.g. 192.0.2.0/24)`);
  return { address: match[1] ?? '', prefix, family };
}

export function createProbeServer(options: ServeOptions = {}): http.Server {
  const net = process.getBuiltinModule('node:net');
  const allowed = options.allow?.length ? new net.BlockList() : undefined;
  for (const cidr of options.allow ?? []) {
    const { address, prefix, family } = parseCidr(cidr);
    allowed?.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  const maxConcurrent = options.maxConcurrent ?? 4;
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const deadlineMs = options.deadlineMs ?? 30_000;
  const dns = new Dns({ server: options.dnsServer });
  const last = new Map<string, number>();
  const stats = { inFlight: 0, requests: new Map<number, number>(), probeSeconds: 0, probes: 0 };
  const started = Date.now() / 1000;

  const answer = (
    response: http.ServerResponse,
    code: number,
    body: string,
    type = 'text/plain; charset=utf-8',
  ) => {
    stats.requests.set(code, (stats.requests.get(code) ?? 0) + 1);
    response.writeHead(code, { 'content-type': type });
    response.end(body);
  };

  const probe = async (url: URL, response: http.ServerResponse) => {
    const target = url.searchParams.get('target') ?? '';
    const module = url.searchParams.get('module') ?? 'all';
    const named = normalizeHostName(target);
    if (!named || (!isIP(named.name) && !isHostName(named.name)))
      return answer(response, 400, `target: '${target.slice(0, 100)}' is not a host name or IP address\n`);
    const ports = modules[module];
    if (!ports)
      return answer(
        response,
        400,
        `module: '${module.slice(0, 50)}' is not one of ${Object.keys(modules).join(', ')}\n`,
      );
    if (stats.inFlight >= maxConcurrent)
      return answer(response, 503, `${maxConcurrent} probes are running already\n`);
    const key = `${named.name} ${module}`;
    const now = Date.now();
    if (now - (last.get(key) ?? 0) < minIntervalMs)
      return answer(response, 429, `${named.name} was probed less than ${minIntervalMs} ms ago\n`);
    last.set(key, now);
    stats.inFlight++;
    const begin = monotonicMs();
    try {
      if (allowed) {
        const addresses = await dns.addresses(named.name);
        const outside = addresses.filter((a) => !allowed.check(a.address, a.family === 4 ? 'ipv4' : 'ipv6'));
        if (outside.length > 0)
          return answer(
            response,
            403,
            `${named.name} resolves to ${outside.map((a) => a.address).join(', ')}, outside the allowed networks\n`,
          );
      }
      const result = await probeHost(named.name, {
        ports,
        limits: options.limits ?? {},
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.dnsServer ? { dnsServer: options.dnsServer } : {}),
        signal: AbortSignal.timeout(deadlineMs),
      });
      const judged = judge([result], { failOn: options.failOn ?? 'high' });
      answer(
        response,
        200,
        renderOpenMetrics(judged.hosts, judged.outcome),
        'application/openmetrics-text; version=1.0.0; charset=utf-8',
      );
    } catch (error) {
      if (error instanceof ResolveError || error instanceof AbortedError) {
        // A target that does not resolve is an answer, as blackbox_exporter gives it: the probe failed.
        answer(
          response,
          200,
          `# TYPE probe_success gauge\n# HELP probe_success The probe succeeded.\nprobe_success 0\n# EOF\n`,
          'application/openmetrics-text; version=1.0.0; charset=utf-8',
        );
      } else if (error instanceof UsageError) answer(response, 400, `${error.message}\n`);
      else
        answer(response, 500, `internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    } finally {
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
      '# TYPE mailprobe_serve_start_time_seconds gauge',
      '# HELP mailprobe_serve_start_time_seconds When the server started (Unix time).',
      `mailprobe_serve_start_time_seconds ${started}`,
      '# EOF',
    ];
    answer(
      response,
      200,
      `${lines.join('\n')}\n`,
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
  };

  // node:http on first use: the probe commands that share this bundle never load it.
  return process.getBuiltinModule('node:http').createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method !== 'GET') return answer(response, 405, 'only GET\n');
    if (url.pathname === '/probe') return void probe(url, response);
    if (url.pathname === '/metrics') return health(response);
    answer(response, 404, 'GET /probe?target=HOST&module=MODULE or GET /metrics\n');
  });
}
