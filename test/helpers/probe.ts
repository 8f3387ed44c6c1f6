import { tlsFile } from '../../src/demo/servers.js';
import { defaultLimits, type Limits } from '../../src/limits.js';
import { probePort } from '../../src/probe/port.js';
import { evaluate } from '../../src/rules/evaluate.js';
import type { HostResult, PortResult, Service } from '../../src/types/index.js';

/** Small budgets: fixture servers answer in microseconds, so only deliberate silence reaches them. */
export const testLimits: Limits = {
  ...defaultLimits,
  connectMs: 1000,
  tlsMs: 1000,
  greetingMs: 600,
  replyMs: 600,
  portMs: 5000,
};

export const testCa = tlsFile('ca.pem');

export function probe(
  port: number,
  service: Service,
  options: {
    ca?: string | null;
    limits?: Partial<Limits>;
    servername?: string;
    signal?: AbortSignal;
    address?: string;
  } = {},
): Promise<PortResult> {
  const address = options.address ?? '127.0.0.1';
  return probePort({
    address,
    family: address.includes(':') ? 6 : 4,
    port,
    service,
    servername: options.servername ?? 'localhost',
    ca: options.ca === null ? undefined : (options.ca ?? testCa),
    limits: { ...testLimits, ...options.limits },
    signal: options.signal,
  });
}

/** Judges results as one host. */
export function judge(...ports: PortResult[]) {
  const host: HostResult = {
    host: 'localhost',
    servername: 'localhost',
    addresses: [...new Map(ports.map((p) => [p.address, { address: p.address, family: p.family }])).values()],
    resolveMs: 0,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    ports,
  };
  return evaluate(host);
}

/**
 * The per-port finding ids of results judged as one host. `no-port-works`, which a host whose every port
 * fails also gets, is left out here: its own tests assert it (test/rules.test.ts, test/ci.test.ts).
 */
export function findingIds(...ports: PortResult[]): string[] {
  return judge(...ports)
    .findings.map((finding) => finding.id)
    .filter((id) => id !== 'no-port-works')
    .sort();
}
