/**
 * One call for a Node monitor (a health check, an Uptime Kuma-style push, a cron job): probe, judge, and answer
 * up or down, why, and when the first certificate expires. Built on probeHost and judge; it judges nothing of
 * its own beyond "up = every port asked for works and no finding at or above failOn".
 */
import { ResolveError } from '../errors.js';
import { monotonicMs } from '../net/clock.js';
import { type ProbeOptions, probeHost } from '../probe/host.js';
import { type Severity, severityRank } from '../rules/finding.js';
import { judge } from '../rules/judge.js';
import { statusGloss } from '../types/index.js';

export interface MonitorOptions extends ProbeOptions {
  /** Findings at or above this severity make the host down (default high). */
  failOn?: Severity;
}

export interface MonitorResult {
  /** Every port asked for works, and no finding at or above failOn. */
  up: boolean;
  /** One line: "ok", or the first reason the host is down (a port that does not work, else the worst finding). */
  reason: string;
  /** The earliest notAfter (ISO 8601) of the leaf certificates seen, when any was seen. */
  certificateExpiresAt?: string;
  /** Whole days until then (negative once expired). */
  certificateDaysLeft?: number;
  /** Each port and address: its status, whether it works, whether it is safe (null when it does not work). */
  ports: {
    port: number;
    service: string;
    address: string;
    status: string;
    works: boolean;
    safe: boolean | null;
  }[];
  /** Ids of the findings at or above failOn. */
  failing: string[];
  durationMs: number;
}

/**
 * Probes `host` and answers up or down with the reason. A host that does not resolve is down (the reason says
 * so); bad options (an invalid host name, a limit out of range) throw UsageError, as probeHost does.
 */
export async function monitor(host: string, options: MonitorOptions = {}): Promise<MonitorResult> {
  const started = monotonicMs();
  const failOn = options.failOn ?? 'high';
  let result: Awaited<ReturnType<typeof probeHost>>;
  try {
    result = await probeHost(host, options);
  } catch (error) {
    if (!(error instanceof ResolveError)) throw error;
    return {
      up: false,
      reason: error.message,
      ports: [],
      failing: [],
      durationMs: Math.round(monotonicMs() - started),
    };
  }
  const [verdict] = judge([result], { failOn }).hosts;
  const ports = verdict?.ports ?? [];
  const failing = (verdict?.findings ?? []).filter(
    (finding) => severityRank(finding.severity) >= severityRank(failOn),
  );
  const broken = ports.find((port) => !port.works);
  const reason = broken
    ? `${broken.port}/${broken.service} at ${broken.address}: ${broken.status} (${statusGloss[broken.status]}${broken.statusDetail ? `: ${broken.statusDetail}` : ''})`
    : failing[0]
      ? `${failing[0].port}/${failing[0].service} at ${failing[0].address}: ${failing[0].severity} ${failing[0].id}: ${failing[0].title}`
      : 'ok';
  const expiries = ports
    .map((port) => port.tls?.certificate?.validTo)
    .filter((date): date is string => date !== undefined && !Number.isNaN(Date.parse(date)))
    .sort((a, b) => Date.parse(a) - Date.parse(b));
  const earliest = expiries[0];
  return {
    up: ports.length > 0 && !broken && failing.length === 0,
    reason,
    ...(earliest
      ? {
          certificateExpiresAt: new Date(Date.parse(earliest)).toISOString(),
          certificateDaysLeft: Math.floor((Date.parse(earliest) - Date.now()) / 86_400_000),
        }
      : {}),
    ports: ports.map((port) => ({
      port: port.port,
      service: port.service,
      address: port.address,
      status: port.status,
      works: port.works,
      safe: port.safe,
    })),
    failing: failing.map((finding) => finding.id),
    durationMs: Math.round(monotonicMs() - started),
  };
}
