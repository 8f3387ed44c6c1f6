/**
 * Does this network let outbound SMTP out, untouched? Port 25 is tried on several independent mail hosts
 * known to accept SMTP on it, with a control port on the same hosts that networks rarely block. Per address
 * family, the evidence concludes one of:
 * - blocked: on at least two hosts the control port answered while 25 timed out, or was refused or rejected
 *   as unreachable (ICMP) while the control port connected (a live mail host does not refuse 25, and an address
 *   reachable on one port is not unreachable on another: something on the path stops 25);
 * - intercepted: 25 connected, but what answered is not those hosts: the same banner from independent hosts, the
 *   same certificate not valid for the name of at least one host it was shown for (one valid for each is one
 *   provider's MX set), certificates not valid for the hosts' names, or STARTTLS missing from hosts that offer it;
 * - not blocked: 25 connected and the dialogue looked like each host's own;
 * - inconclusive: anything else (a host that refuses every port proves nothing).
 */
import pLimit from 'p-limit';
import { errorCode, PhaseTimeoutError, ResolveError } from '../errors.js';
import { defaultLimits } from '../limits.js';
import { Deadline } from '../net/deadline.js';
import { classifyConnectError, connectTcp } from '../net/dial.js';
import type { Address, Dns } from '../net/dns.js';
import { probePort } from '../probe/port.js';
import type { EgressFamily, EgressHost, EgressResult, Port25Dialogue, Reach } from '../types/index.js';

export type {
  EgressConclusion,
  EgressFamily,
  EgressHost,
  EgressResult,
  Port25Dialogue,
  Reach,
} from '../types/index.js';

/** Independent, long-lived mail exchangers of large providers (replace with --via). */
export const defaultEgressHosts = [
  'gmail-smtp-in.l.google.com',
  'outlook-com.olc.protection.outlook.com',
  'mta5.am0.yahoodns.net',
  'mx1.mail.icloud.com',
];
export const defaultControlPort = 443;

/** One TCP connect under a deadline; the socket is closed at once (nothing is sent). */
export async function reach(address: string, port: number, ms: number): Promise<Reach> {
  let socket: import('node:net').Socket | undefined;
  try {
    await new Deadline(ms).run('connect', ms, () =>
      connectTcp(address, port, (s) => {
        socket = s;
        s.on('error', () => {});
      }),
    );
    return 'connected';
  } catch (error) {
    if (error instanceof PhaseTimeoutError) return 'filtered';
    const kind = classifyConnectError(errorCode(error));
    return kind === 'local-error' ? 'error' : kind;
  } finally {
    socket?.destroy();
  }
}

/** What one host's connection attempts say on their own (interception across hosts is judged after). */
export function hostEvidence(
  host: Omit<EgressHost, 'evidence' | 'why'>,
): Pick<EgressHost, 'evidence' | 'why'> {
  const { port25, control, smtp } = host;
  if (port25 === 'connected') {
    if (smtp?.status !== 'open')
      return {
        evidence: 'unknown',
        why: [`25 connected but no SMTP dialogue completed (${smtp?.status ?? 'not read'})`],
      };
    // What would be odd for these hosts; one host alone proves nothing (an MX certificate may name another
    // host), so concludeFamily calls it interception only when independent hosts show the same oddity.
    const why = ['25 reached the host'];
    if (smtp.starttls === false) why.push('STARTTLS is not offered here (these hosts offer it)');
    if (smtp.nameMatches === false)
      why.push(`the certificate (${smtp.certificateSubject ?? '?'}) is not valid for ${host.host}`);
    return { evidence: 'open', why };
  }
  if (port25 === 'filtered' && (control === 'connected' || control === 'refused'))
    return {
      evidence: 'blocked',
      why: [
        `25 timed out while the control port ${control === 'connected' ? 'connected' : 'answered (refused)'}`,
      ],
    };
  if (port25 === 'refused' && control === 'connected')
    return { evidence: 'blocked', why: ['25 was refused by a live mail host whose control port connected'] };
  // An ICMP unreachable for 25 alone (admin- or host-prohibited, net unreachable) while the same address
  // connects on the control port: the address is reachable, so a firewall's REJECT stopped 25.
  if (port25 === 'unreachable' && control === 'connected')
    return {
      evidence: 'blocked',
      why: ['25 was rejected as unreachable (ICMP) while the control port of the same host connected'],
    };
  if (port25 === 'refused' && control === 'refused')
    return {
      evidence: 'unknown',
      why: ['the host refuses every port tried: that proves nothing about the path'],
    };
  return { evidence: 'unknown', why: [`25 ${port25 ?? 'not tried'}, control ${control ?? 'not tried'}`] };
}

/** A SHA-256 fingerprint (`AB:CD:…`, 95 characters) by its first 16 hex digits and an ellipsis. */
function shortFingerprint(fingerprint: string): string {
  let digits = 0;
  for (let i = 0; i < fingerprint.length; i++) {
    if (/[0-9a-f]/i.test(fingerprint[i] as string) && ++digits === 16)
      return i + 1 < fingerprint.length ? `${fingerprint.slice(0, i + 1)}…` : fingerprint;
  }
  return fingerprint;
}

/**
 * What the observations of one address family conclude, across hosts. Hosts that share a banner with another
 * independent host, or a certificate not valid for one of them, are marked intercepted (with why) on the way.
 */
export function concludeFamily(hosts: EgressHost[]): Pick<EgressFamily, 'conclusion' | 'summary'> {
  // Independent hosts answering with the same banner (or a certificate, as below) are one server on the path.
  const connected = hosts.filter((h) => h.smtp?.status === 'open');
  const shared = (
    key: (h: EgressHost) => string | undefined,
    what: string,
    telling: (group: EgressHost[]) => boolean = () => true,
    shown: (value: string) => string = (value) => value.slice(0, 100),
  ) => {
    const groups = new Map<string, EgressHost[]>();
    for (const h of connected) {
      const value = key(h);
      if (value) groups.set(value, [...(groups.get(value) ?? []), h]);
    }
    for (const [value, group] of groups) {
      if (group.length < 2 || !telling(group)) continue;
      for (const h of group) {
        h.evidence = 'intercepted';
        h.why.push(
          `the same ${what} as ${group
            .filter((o) => o !== h)
            .map((o) => o.host)
            .join(', ')}: ${shown(value)}`,
        );
      }
    }
  };
  shared((h) => h.smtp?.greeting, 'greeting');
  // One certificate whose names cover every host it was shown for is one provider's MX set, not a relay: it
  // tells only when it is not valid for at least one of those hosts (what answered there is someone else).
  // Its SHA-256 is named by its first 16 hex digits, to fit a line of 80 columns (`smtp.certificate` has it whole).
  shared(
    (h) => h.smtp?.certificate,
    'certificate',
    (group) => group.some((h) => h.smtp?.nameMatches !== true),
    shortFingerprint,
  );
  // Oddities that independent hosts share: STARTTLS missing, a certificate not valid for the host's name.
  for (const odd of ['STARTTLS is not offered here', 'is not valid for']) {
    const showing = connected.filter((h) => h.why.some((reason) => reason.includes(odd)));
    if (showing.length >= 2) for (const h of showing) h.evidence = 'intercepted';
  }
  const intercepted = hosts.filter((h) => h.evidence === 'intercepted');
  const open = hosts.filter((h) => h.evidence === 'open');
  const blocked = hosts.filter((h) => h.evidence === 'blocked');
  if (intercepted.length > 0) {
    return {
      conclusion: 'intercepted',
      summary: `outbound port 25 is intercepted on this network: ${intercepted.map((h) => `${h.host} (${h.why.join('; ')})`).join(', ')}`,
    };
  }
  if (open.length > 0) {
    return {
      conclusion: 'not-blocked',
      summary: `outbound port 25 is not blocked on this network: ${open.map((h) => h.host).join(', ')} answered on 25 as themselves`,
    };
  }
  if (blocked.length >= 2) {
    return {
      conclusion: 'blocked',
      summary: `outbound port 25 is blocked on this network: ${blocked.length} independent mail hosts answered on the control port but not on 25`,
    };
  }
  return {
    conclusion: 'inconclusive',
    summary: `inconclusive: ${blocked.length === 1 ? 'only one host' : 'no host'} showed a block while its control port answered; try more hosts with --via or check the network`,
  };
}

/** When outbound 25 is blocked: mail still goes out through a submission port, or through the ISP's relay. */
export const blockedNextStep =
  "next step: send mail through your mail provider's submission port, 587 with STARTTLS or 465 with implicit " +
  "TLS (RFC 8314), with your login; or relay it through your ISP's mail server (smarthost). Port 25 is for " +
  'server-to-server delivery, which this network does not allow from here';

/** Why no host could be tried: each host's name lookup, as checkEgress records it. */
export interface LookupFailure {
  host: string;
  /** Why it did not resolve. */
  reason: string;
  /** The lookup itself failed (no answer, refused, SERVFAIL), as opposed to "no such name" or a family missing. */
  dnsFailed: boolean;
}

/** The summary when no host could be tried: DNS failed (every lookup failed), or why each name gave nothing. */
function nothingTried(lookups: readonly LookupFailure[]): Pick<EgressResult, 'summary' | 'nextStep'> {
  if (lookups.length > 0 && lookups.every((l) => l.dnsFailed)) {
    const reasons = [...new Set(lookups.map((l) => l.reason))].join('; ');
    return {
      summary: `inconclusive: DNS failed: ${lookups.length === 1 ? 'the mail host' : `none of the ${lookups.length} mail hosts`} could be looked up (${reasons}), so nothing was tried on 25`,
      nextStep:
        'next step: fix name resolution on this machine (its resolver in /etc/resolv.conf), or name a DNS server that answers with --dns-server ADDR, then run again',
    };
  }
  if (lookups.length === 0) return { summary: 'inconclusive: no host could be tried' };
  return {
    summary: `inconclusive: no host could be tried: ${lookups.map((l) => `${l.host}: ${l.reason}`).join('; ')}`,
  };
}

/**
 * Pure: the overall conclusion from the families'; when no family was tried at all, why, from the hosts' name
 * lookups (`lookups`).
 */
export function concludeEgress(
  families: EgressFamily[],
  lookups: readonly LookupFailure[] = [],
): Pick<EgressResult, 'conclusion' | 'summary' | 'nextStep'> {
  for (const conclusion of ['intercepted', 'blocked', 'not-blocked'] as const) {
    const found = families.filter((f) => f.conclusion === conclusion);
    if (found.length > 0)
      return {
        conclusion,
        summary: found
          .map((f) => (families.length > 1 ? `IPv${f.family}: ${f.summary}` : f.summary))
          .join(' · '),
        ...(conclusion === 'blocked' ? { nextStep: blockedNextStep } : {}),
      };
  }
  if (families.length === 0) return { conclusion: 'inconclusive', ...nothingTried(lookups) };
  return {
    conclusion: 'inconclusive',
    summary: families
      .map((f) => (families.length > 1 ? `IPv${f.family}: ${f.summary}` : f.summary))
      .join(' · '),
  };
}

/** Reads the greeting, EHLO, STARTTLS and certificate on 25, as a mail client would (the probe engine). */
async function dialogueOn25(host: string, address: Address, timeoutMs: number): Promise<Port25Dialogue> {
  const limits = {
    ...defaultLimits,
    connectMs: timeoutMs,
    tlsMs: timeoutMs,
    greetingMs: timeoutMs,
    replyMs: timeoutMs,
    portMs: timeoutMs * 4,
  };
  const result = await probePort({
    address: address.address,
    family: address.family,
    port: 25,
    service: 'smtp',
    servername: host,
    limits,
  });
  const smtp: Port25Dialogue = { status: result.status };
  if (result.greeting) smtp.greeting = result.greeting.lines.join(' ');
  if (result.starttls) smtp.starttls = result.starttls.advertised;
  if (result.tls?.certificate) {
    smtp.certificate = result.tls.certificate.sha256;
    smtp.certificateSubject = result.tls.certificate.subject;
    smtp.nameMatches = result.tls.nameMatches;
  }
  return smtp;
}

export async function checkEgress(options: {
  hosts: string[];
  controlPort: number;
  timeoutMs: number;
  dns: Dns;
  family?: 4 | 6 | 'both';
  /** Once the names are looked up: how many addresses will be tried. */
  onPlanned?: (total: number) => void;
  /** An address is being tried: both ports at once (`connect`), then the SMTP dialogue on 25 (`smtp`). */
  onTrying?: (host: string, address: string, step: 'connect' | 'smtp') => void;
  /** An address is done. */
  onTried?: (host: string, address: string) => void;
}): Promise<EgressResult> {
  const names = [...new Set(options.hosts.map((h) => h.toLowerCase().replace(/\.$/, '')))];
  const resolved = await Promise.all(
    names.map(async (host) => {
      try {
        const found = await options.dns.addresses(host);
        const wanted = found.filter(
          (a) => options.family === undefined || options.family === 'both' || a.family === options.family,
        );
        // One address per family: the first the resolver gave, as a client would use.
        const picked = [4, 6]
          .map((family) => wanted.find((a) => a.family === family))
          .filter((a): a is Address => a !== undefined);
        return {
          host,
          addresses: picked,
          error:
            picked.length === 0
              ? `no IPv${options.family === 'both' || !options.family ? '4 or IPv6' : options.family} address`
              : undefined,
          dnsFailed: false,
          reason: undefined as string | undefined,
        };
      } catch (error) {
        return {
          host,
          addresses: [] as Address[],
          error: error instanceof Error ? error.message : String(error),
          // The lookup itself failed (no answer, refused), not "no such name".
          dnsFailed: error instanceof ResolveError && !error.notFound,
          reason: error instanceof ResolveError ? error.reason : undefined,
        };
      }
    }),
  );
  const hosts: EgressHost[] = [];
  const seen = new Set<string>();
  const limit = pLimit(4);
  const jobs: Promise<void>[] = [];
  options.onPlanned?.(new Set(resolved.flatMap((entry) => entry.addresses.map((a) => a.address))).size);
  for (const entry of resolved) {
    if (entry.error)
      hosts.push({ host: entry.host, error: entry.error, evidence: 'unknown', why: [entry.error] });
    for (const address of entry.addresses) {
      // The same address under two names is one host, not two independent ones.
      if (seen.has(address.address)) {
        hosts.push({
          host: entry.host,
          address: address.address,
          family: address.family,
          evidence: 'unknown',
          why: [`same address as another host tried: not independent`],
        });
        continue;
      }
      seen.add(address.address);
      const host: EgressHost = {
        host: entry.host,
        address: address.address,
        family: address.family,
        evidence: 'unknown',
        why: [],
      };
      hosts.push(host);
      jobs.push(
        limit(async () => {
          options.onTrying?.(entry.host, address.address, 'connect');
          const [port25, control] = await Promise.all([
            reach(address.address, 25, options.timeoutMs),
            reach(address.address, options.controlPort, options.timeoutMs),
          ]);
          host.port25 = port25;
          host.control = control;
          if (port25 === 'connected') {
            options.onTrying?.(entry.host, address.address, 'smtp');
            host.smtp = await dialogueOn25(entry.host, address, options.timeoutMs);
          }
          Object.assign(host, hostEvidence(host));
          options.onTried?.(entry.host, address.address);
        }),
      );
    }
  }
  await Promise.all(jobs);
  const families: EgressFamily[] = [];
  for (const family of [4, 6] as const) {
    const mine = hosts.filter((h) => h.family === family);
    if (mine.length > 0) families.push({ family, ...concludeFamily(mine) });
  }
  const lookups = resolved.flatMap((entry) =>
    entry.error
      ? [{ host: entry.host, reason: entry.reason ?? entry.error, dnsFailed: entry.dnsFailed }]
      : [],
  );
  return { ...concludeEgress(families, lookups), controlPort: options.controlPort, families, hosts };
}
