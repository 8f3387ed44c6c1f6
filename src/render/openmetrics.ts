/**
 * The judged result as OpenMetrics text (Prometheus' exposition format, https://openmetrics.io): per port and
 * address, whether it works and is safe, its status, phase durations, TLS version, certificate dates and findings
 * by severity; per target, the probe's duration and success. The same text `mailprobe serve` returns on /probe and
 * `--format openmetrics` prints for node_exporter's textfile collector. Written by hand: the format is small, and a
 * metrics library would cost start-up time.
 */
import { daneStatus } from '../rules/dane.js';
import { severities } from '../rules/finding.js';
import type { CheckedHost, Outcome } from '../rules/outcome.js';
import type { PublishedJudgement } from '../rules/published/judge.js';
import { mxHosts, usablePolicy } from '../rules/published/transport.js';
import type { Discovery } from '../types/index.js';

/** A label value, escaped as OpenMetrics requires (backslash, double quote, line feed). */
function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string | number>): string {
  return `{${Object.entries(pairs)
    .map(([key, value]) => `${key}="${labelValue(String(value))}"`)
    .join(',')}}`;
}

interface Family {
  name: string;
  help: string;
  samples: string[];
}

export function renderOpenMetrics(
  hosts: CheckedHost[],
  outcome: Outcome,
  discovery?: Discovery & { publishedCheck?: PublishedJudgement | undefined },
): string {
  const families: Family[] = [];
  const family = (name: string, help: string) => {
    const found = families.find((f) => f.name === name);
    if (found) return found;
    const created: Family = { name, help, samples: [] };
    families.push(created);
    return created;
  };
  const up = family(
    'mailprobe_port_up',
    'The port answered with its mail protocol and the dialogue completed.',
  );
  const safe = family(
    'mailprobe_port_safe',
    'The port works, TLS was set up, and no finding of medium or above concerns it (absent when it does not work).',
  );
  const status = family(
    'mailprobe_port_status',
    'How the probe of the port ended: 1 for its status (a closed set).',
  );
  const phases = family('mailprobe_port_phase_seconds', 'Time spent in each phase of the probe of the port.');
  const tls = family('mailprobe_port_tls_version_info', 'The TLS version negotiated on the port.');
  const notBefore = family(
    'mailprobe_certificate_not_before_seconds',
    "The leaf certificate's notBefore (Unix time).",
  );
  const notAfter = family(
    'mailprobe_certificate_not_after_seconds',
    "The leaf certificate's notAfter (Unix time).",
  );
  const dane = family(
    'mailprobe_port_dane_status',
    'What DANE says of the port (--dane): 1 for its status (valid, mismatch, no-tls, unusable, unvalidated, unknown, none).',
  );
  const findings = family('mailprobe_port_findings', 'Findings on the port, by severity.');
  const login = family(
    'mailprobe_port_login',
    'The login module: 1 for what the login attempt on the port showed (works, rejected, locked, not-tried, ...).',
  );
  const duration = family('mailprobe_probe_duration_seconds', 'How long probing the target took.');
  const success = family(
    'probe_success',
    'The run passed: no finding at or above the failing severity, every expectation met (as blackbox_exporter).',
  );
  for (const host of hosts) {
    for (const port of host.ports) {
      const base = { target: host.host, port: port.port, service: port.service, address: port.address };
      up.samples.push(`mailprobe_port_up${labels(base)} ${port.works ? 1 : 0}`);
      if (port.safe !== null) safe.samples.push(`mailprobe_port_safe${labels(base)} ${port.safe ? 1 : 0}`);
      status.samples.push(`mailprobe_port_status${labels({ ...base, status: port.status })} 1`);
      for (const [phase, ms] of Object.entries(port.timings))
        if (phase !== 'total' && typeof ms === 'number')
          phases.samples.push(`mailprobe_port_phase_seconds${labels({ ...base, phase })} ${ms / 1000}`);
      phases.samples.push(
        `mailprobe_port_phase_seconds${labels({ ...base, phase: 'total' })} ${port.timings.total / 1000}`,
      );
      if (port.tls)
        tls.samples.push(
          `mailprobe_port_tls_version_info${labels({ ...base, version: port.tls.protocol })} 1`,
        );
      const certificate = port.tls?.certificate;
      // A date that cannot be read has no sample (a NaN would read as a value).
      if (certificate?.validFrom)
        notBefore.samples.push(
          `mailprobe_certificate_not_before_seconds${labels(base)} ${Date.parse(certificate.validFrom) / 1000}`,
        );
      if (certificate?.validTo)
        notAfter.samples.push(
          `mailprobe_certificate_not_after_seconds${labels(base)} ${Date.parse(certificate.validTo) / 1000}`,
        );
      if (port.login)
        login.samples.push(`mailprobe_port_login${labels({ ...base, outcome: port.login.outcome })} 1`);
      const daneWord = daneStatus(port);
      if (daneWord) dane.samples.push(`mailprobe_port_dane_status${labels({ ...base, status: daneWord })} 1`);
      for (const severity of severities) {
        const count = host.findings.filter(
          (f) => f.port === port.port && f.address === port.address && f.severity === severity,
        ).length;
        findings.samples.push(`mailprobe_port_findings${labels({ ...base, severity })} ${count}`);
      }
    }
    duration.samples.push(
      `mailprobe_probe_duration_seconds${labels({ target: host.host })} ${host.durationMs / 1000}`,
    );
  }
  if (discovery?.transport) transportMetrics(discovery, family);
  success.samples.push(`probe_success ${outcome.passed ? 1 : 0}`);
  const text = families
    .filter((f) => f.samples.length > 0)
    .map((f) => `# TYPE ${f.name} gauge\n# HELP ${f.name} ${f.help}\n${f.samples.join('\n')}`)
    .join('\n');
  return `${text}\n# EOF\n`;
}

/** With discovery and --mta-sts: the MTA-STS mode senders apply, its max_age, and each MX refused or not. */
function transportMetrics(
  discovery: Discovery & { publishedCheck?: PublishedJudgement | undefined },
  family: (name: string, help: string) => Family,
): void {
  const transport = discovery.transport;
  if (!transport) return;
  const domain = { domain: discovery.domain };
  const policy = usablePolicy(transport);
  const mode =
    policy?.mode ?? (transport.stsRecord.outcome === 'none' && !transport.policy ? 'absent' : 'unusable');
  family(
    'mailprobe_mta_sts_mode',
    'The MTA-STS mode sending servers apply (enforce, testing, none), or absent, or unusable (published but not applied).',
  ).samples.push(`mailprobe_mta_sts_mode${labels({ ...domain, mode })} 1`);
  if (policy?.maxAge !== undefined)
    family(
      'mailprobe_mta_sts_max_age_seconds',
      "The MTA-STS policy's max_age: how long senders cache it.",
    ).samples.push(`mailprobe_mta_sts_max_age_seconds${labels(domain)} ${policy.maxAge}`);
  if (policy?.maxAge !== undefined)
    family(
      'mailprobe_mta_sts_policy_expiry_days',
      'Days until the policy as fetched by this probe expires from a sender cache (max_age from the fetch, RFC 8461 §3.2).',
    ).samples.push(
      `mailprobe_mta_sts_policy_expiry_days${labels(domain)} ${Math.round((policy.maxAge / 86400) * 1000) / 1000}`,
    );
  // serve's transport module, from the second probe of a domain on: its policy changed under the same id.
  if (transport.earlier && transport.policyDigest)
    family(
      'mailprobe_mta_sts_policy_changed_same_id',
      'The policy differs from the one an earlier probe saw, under the same TXT id (senders keep the cached one): 1, else 0.',
    ).samples.push(
      `mailprobe_mta_sts_policy_changed_same_id${labels(domain)} ${(discovery.publishedCheck?.findings ?? []).some((f) => f.id === 'mta-sts-policy-changed-same-id') ? 1 : 0}`,
    );
  // A null MX beside other MX records (null-mx-mixed): senders differ, the other MX hosts are probed.
  if ((discovery.publishedCheck?.findings ?? []).some((f) => f.id === 'null-mx-mixed'))
    family(
      'mailprobe_mx_null_mixed',
      'The MX answer holds a null MX (".") beside other MX records, which RFC 7505 §3 forbids (null-mx-mixed): 1.',
    ).samples.push(`mailprobe_mx_null_mixed${labels(domain)} 1`);
  // Each MX host's address lookup (serve's transport module, discovery): one without an address is not probed.
  for (const { host, outcome } of discovery.mxAddresses ?? [])
    family(
      'mailprobe_mx_address_lookup',
      'What the address lookup (A, AAAA) of each MX host gave: 1 for found, none (senders skip it, RFC 5321 §5.1) or failed; only a host whose addresses were found is probed (with -4 or -6, the lookup of that family: found with only the other family is not probed).',
    ).samples.push(`mailprobe_mx_address_lookup${labels({ ...domain, mx: host, outcome })} 1`);
  if (policy?.mode !== 'enforce' && policy?.mode !== 'testing') return;
  const failing = new Set(
    (discovery.publishedCheck?.findings ?? [])
      .filter((f) => f.id === 'mta-sts-mx-refused' || f.id === 'mta-sts-mx-would-fail')
      .map((f) => f.host),
  );
  // An MX not checked from here (its port 25 unreachable from this machine) has no sample: unknown, not 0.
  const unchecked = new Set(
    (discovery.publishedCheck?.findings ?? [])
      .filter((f) => f.id === 'mta-sts-mx-unchecked')
      .map((f) => f.host),
  );
  const mx = family(
    'mailprobe_mta_sts_mx_refused',
    'Sending servers applying the MTA-STS policy refuse (enforce) or report (testing) this MX: 1, else 0; no sample for an MX not checked from here.',
  );
  for (const host of mxHosts(discovery).filter((name) => !unchecked.has(name)))
    mx.samples.push(
      `mailprobe_mta_sts_mx_refused${labels({ ...domain, mx: host })} ${failing.has(host) ? 1 : 0}`,
    );
}
