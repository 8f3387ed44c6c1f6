/** Connectivity: whether the port answers with its protocol, and how it fails when it does not. */
import { lostAckGreetingMs } from '../limits.js';
import type { HostResult, PortResult } from '../types/index.js';
import { greetingPaused, greetingRules, lateRefusal } from './greeting.js';
import { noPortWorks } from './no-port.js';
import { lastServerLines, type Rule, serverLines, statusEvidence } from './rule.js';

/** The evidence of an early "filtered": the SYNs that went unanswered and how fast the other ports answered. */
function earlyEvidence(port: PortResult): string[] {
  const early = port.filteredEarly;
  if (!early) return [];
  const answers = early.siblings
    .slice(0, 6)
    .map((other) => `${other.port} ${other.address} ${other.connectMs} ms`)
    .join(', ');
  return [
    `called filtered after ${early.decidedAfterMs} ms: SYNs at ${early.synsSentAtMs.join(', ')} ms and the kernel's retry went unanswered`,
    `the other ports answered their first SYN: ${answers}${early.siblings.length > 6 ? ', …' : ''} (slowest ${early.slowestSiblingMs} ms)`,
  ];
}

/** Other ports of the same protocol on the same address that are open: the "use this instead" hint. */
function alternatives(port: PortResult, host: HostResult): string {
  const open = host.ports.filter(
    (other) =>
      other !== port &&
      other.address === port.address &&
      other.protocol === port.protocol &&
      other.status === 'open',
  );
  return open.length === 0 ? '' : `; ${open.map((other) => other.port).join(' or ')} answered`;
}

/** True when port 25 is filtered on an address where a submission port answered: the path, not the host. */
function outboundBlock(port: PortResult, host: HostResult): PortResult[] {
  if (port.service !== 'smtp' || port.status !== 'filtered') return [];
  return host.ports.filter(
    (other) =>
      other.address === port.address &&
      (other.service === 'submission' || other.service === 'submissions') &&
      !['filtered', 'refused', 'unreachable', 'aborted', 'local-error'].includes(other.status),
  );
}

/**
 * What the silent port's cross-check (a TLS handshake on a new connection) showed: found nothing, or no evidence
 * either way (not tried, or cut short, for want of time in the port's deadline).
 */
function crossCheckWords(check: PortResult['crossCheck']): string {
  if (!check) return '';
  if (check.outcome === 'nothing')
    return `; a TLS handshake on a new connection found nothing (${check.detail})`;
  return `; the TLS handshake on a new connection that would show an implicit-TLS server here ${
    check.outcome === 'not-run' ? 'was not tried' : 'did not finish'
  } (${check.detail}): whether this port speaks implicit TLS is not known (raise --limit portMs)`;
}

/** How a refusal after the greeting ended: hung up, said "closing" (421, BYE), or neither (RFC 5321 §4.1.4). */
function refusalEnd(port: PortResult): string {
  const last = port.transcript.findLast((entry) => entry.dir === 'S')?.text ?? '';
  if (/closed after "/.test(port.statusDetail) || /^-ERR\b/i.test(last)) return ' and closed';
  return /^(421[ -]|\* BYE\b)/i.test(last) ? ', saying it is closing the connection' : '';
}

/** Why a first try that a fresh connection did not repeat failed, as far as the evidence goes. */
function firstTryCause(first: NonNullable<PortResult['firstTry']>): string {
  // A late greeting retried (probe/retry.ts): only a stalled greeting that came whole after the goodbye is. Within
  // lostAckGreetingMs of the goodbye a lost last ACK fits first; later, a server slow on a first connection does.
  if (first.status === 'stalled' && first.failedPhase === 'greeting') {
    const gap = first.afterGoodbyeMs;
    if (gap !== undefined && gap > lostAckGreetingMs)
      return `the first try's greeting came only ${Math.round(gap)} ms after mailprobe's goodbye: a server slow on a first connection only (a reverse DNS lookup of the client not yet cached) looks so, and so does a lossy path, where the last ACK of the TCP handshake was lost (the server accepts the connection only when a later segment of the client's completes it) and that segment or the greeting was lost again; mailprobe cannot tell them apart`;
    return "the first try's greeting came only after mailprobe's goodbye, as when the last ACK of the TCP handshake is lost and the server accepts the connection only when a later segment of the client's completes it (on a lossy path that segment or the greeting may be lost again, for seconds); a server slow on a first connection only (a reverse DNS lookup not yet cached) looks the same";
  }
  return "a timeout a fresh connection does not repeat points at the path (lost packets), not at the server's own words";
}

export const connectivityRules: readonly Rule[] = [
  {
    id: 'port-closed',
    severity: 'info',
    title: 'nothing listens on this port',
    reference: 'RFC 9293 §3.10.7.1 (RST in reply to SYN)',
    check: (port, host) =>
      port.status === 'refused'
        ? {
            detail: `the host refused the connection${alternatives(port, host)}`,
            evidence: statusEvidence(port),
          }
        : undefined,
  },
  {
    id: 'first-try-lost',
    severity: 'info',
    title: 'the first try timed out and a retry on a fresh connection got through',
    reference: 'RFC 9293 §3.8.1 (lost segments are retransmitted on a backed-off timer)',
    check: (port) =>
      port.firstTry
        ? {
            detail: `the first try ended ${port.firstTry.status}${port.firstTry.failedPhase ? ` in ${port.firstTry.failedPhase}` : ''} on a timeout; ${(port.firstTry.retries ?? 1) > 1 ? `after ${(port.firstTry.retries ?? 1) - 1} more that timed out too, try ${(port.firstTry.retries ?? 1) + 1}` : 'a second try'}, on a fresh connection within the port's deadline, ended ${port.status}: ${firstTryCause(port.firstTry)}`,
            evidence: [
              `first try: ${port.firstTry.status}: ${port.firstTry.detail}`,
              ...statusEvidence(port).map((line) => `retry: ${line}`),
            ],
          }
        : undefined,
  },
  {
    id: 'port-25-blocked',
    severity: 'high',
    title: 'port 25 is dropped on the way while the submission ports answer',
    reference: 'RFC 5068 §3.2 (ISPs block outbound 25 from residential connections)',
    check: (port, host) => {
      const answered = outboundBlock(port, host);
      if (answered.length === 0) return undefined;
      return {
        detail: `the connection to 25 timed out while ${answered.map((other) => other.port).join(' and ')} on the same address answered: something between you and the host drops port 25, most often an ISP blocking outbound SMTP (run "mailprobe egress" to check this network)`,
        evidence: [
          ...statusEvidence(port),
          ...earlyEvidence(port),
          ...answered.map((other) => `port ${other.port}: status ${other.status}`),
        ],
      };
    },
  },
  {
    id: 'port-filtered',
    severity: 'medium',
    title: 'the connection timed out: packets to this port are dropped',
    reference: 'RFC 9293 §3.8.2 (no answer to SYN)',
    check: (port, host) =>
      port.status === 'filtered' && outboundBlock(port, host).length === 0
        ? {
            detail: `no answer to the connection attempt: a firewall on the way or at the host drops it${alternatives(port, host)}${port.port === 25 ? ' (run "mailprobe egress" to check whether this network blocks outbound port 25)' : ''}`,
            evidence: [...statusEvidence(port), ...earlyEvidence(port)],
          }
        : undefined,
  },
  {
    id: 'port-unreachable',
    severity: 'medium',
    title: 'no route to the host on this port',
    reference: 'RFC 1122 §3.2.2.1 (ICMP destination unreachable)',
    check: (port) =>
      port.status === 'unreachable'
        ? { detail: 'the network reported the host unreachable', evidence: statusEvidence(port) }
        : undefined,
  },
  {
    id: 'connection-reset',
    severity: 'medium',
    title: 'the connection was reset',
    reference: 'RFC 9293 §3.10.7',
    check: (port) =>
      port.status === 'reset'
        ? {
            detail: `the peer reset the connection during ${port.failedPhase ?? 'the dialogue'}`,
            evidence: statusEvidence(port),
          }
        : undefined,
  },
  {
    id: 'connection-closed',
    severity: 'medium',
    title: 'the server closed the connection before the dialogue finished',
    reference: 'RFC 5321 §3.8; RFC 9051 §7.1.5; RFC 1939 §3',
    check: (port) =>
      port.status === 'closed'
        ? {
            detail: `closed during ${port.failedPhase ?? 'the dialogue'}`,
            evidence: [...statusEvidence(port), ...lastServerLines(port, 2)],
          }
        : undefined,
  },
  {
    id: 'server-silent',
    severity: 'medium',
    title: 'connected, but no greeting arrived',
    reference: 'RFC 5321 §4.5.3.2 (greeting timeout); RFC 9051 §7.1; RFC 1939 §4',
    check: (port) =>
      port.status === 'silent'
        ? {
            detail: `the connection opened but the server sent nothing before the deadline${crossCheckWords(port.crossCheck)}`,
            evidence: [
              ...statusEvidence(port),
              ...(port.crossCheck
                ? [`cross-check: ${port.crossCheck.outcome}: ${port.crossCheck.detail}`]
                : []),
            ],
          }
        : undefined,
  },
  ...greetingRules,
  {
    id: 'dialogue-stalled',
    severity: 'medium',
    title: 'a reply did not arrive before its deadline',
    reference: 'RFC 5321 §4.5.3.2',
    check: (port) =>
      port.status === 'stalled' && !greetingPaused(port)
        ? {
            detail: `no complete reply during ${port.failedPhase ?? 'the dialogue'} before its deadline`,
            evidence: [...statusEvidence(port), ...lastServerLines(port, 2)],
          }
        : undefined,
  },
  {
    id: 'greeting-rejected',
    severity: 'high',
    title: 'the server refused service',
    reference:
      'RFC 5321 §3.1, §3.8, §4.1.4, §4.2.3, §4.2.5 (421/554); RFC 7504 §3 (521); RFC 9051 §7.1.5 (BYE); RFC 1939 §3, §4 (-ERR)',
    check: (port) =>
      port.status === 'rejected'
        ? (lateRefusal(port) ?? {
            detail: port.failedPhase
              ? `the server refused service at the ${port.failedPhase} step${refusalEnd(port)}: mail clients cannot use this port now`
              : 'the greeting refuses service: mail clients cannot use this port from here',
            evidence: port.failedPhase
              ? [...statusEvidence(port), ...lastServerLines(port, 2)]
              : serverLines(port, () => true).slice(0, 3),
          })
        : undefined,
  },
  {
    id: 'rate-limited',
    severity: 'low',
    title: 'the server refused the connection for load or rate: not tested',
    reference: 'RFC 5321 §4.2.3 (421)',
    check: (port) =>
      port.status === 'rate-limited'
        ? {
            // Batch mode's back-off connected to no port of the address after one said so: nothing of this one.
            detail: port.backedOff
              ? 'not connected to: another port of this address refused for load or rate, so batch mode left it alone; try again later, with --concurrency 1'
              : 'too many connections or too high a rate: try again later, with --concurrency 1',
            evidence: [...statusEvidence(port), ...lastServerLines(port, 2)],
          }
        : undefined,
  },
  {
    id: 'wrong-protocol',
    severity: 'high',
    title: 'something other than the expected mail protocol answers',
    reference: 'IANA service name registry; RFC 8314 §7',
    check: (port) =>
      port.status === 'wrong-protocol'
        ? {
            detail: `expected ${port.protocol.toUpperCase()}, found ${port.detected === 'unknown' || !port.detected ? 'unrecognised text' : port.detected.toUpperCase()}`,
            evidence: [...statusEvidence(port), ...serverLines(port, () => true).slice(0, 2)],
          }
        : undefined,
  },
  {
    id: 'plaintext-on-tls-port',
    severity: 'high',
    title: 'a plaintext server answers on an implicit-TLS port',
    reference: 'RFC 8314 §3.2, §3.3',
    check: (port) =>
      port.status === 'wrong-tls-mode' && port.crossCheck?.tried === 'plaintext'
        ? {
            detail:
              'clients configured for implicit TLS fail here; the server speaks plaintext (use STARTTLS on its own port, or enable TLS here)',
            evidence: [...statusEvidence(port), `cross-check: ${port.crossCheck.detail}`],
          }
        : undefined,
  },
  {
    id: 'tls-on-plaintext-port',
    severity: 'medium',
    title: 'a TLS server answers on a plaintext port (what speaks inside the TLS is not read)',
    reference: 'RFC 8314 §3; RFC 3207',
    check: (port) =>
      port.status === 'wrong-tls-mode' && port.crossCheck?.tried === 'implicit-tls'
        ? {
            detail: 'clients that expect a plaintext greeting and STARTTLS time out here',
            evidence: [...statusEvidence(port), `cross-check: ${port.crossCheck.detail}`],
          }
        : undefined,
  },
  {
    id: 'tls-handshake-failed',
    severity: 'high',
    title: 'the TLS handshake failed on an implicit-TLS port',
    reference: 'RFC 8314 §3.2; RFC 8446',
    check: (port) =>
      port.status === 'tls-failed'
        ? { detail: `no TLS session could be set up: ${port.statusDetail}`, evidence: statusEvidence(port) }
        : undefined,
  },
  {
    id: 'protocol-violation',
    severity: 'medium',
    title: 'the server broke the protocol',
    reference: 'RFC 5321 §4.2; RFC 9051 §2.2; RFC 1939 §3',
    check: (port) =>
      port.status === 'protocol-error'
        ? {
            detail: port.statusDetail,
            evidence: [...statusEvidence(port), ...lastServerLines(port, 2)],
          }
        : undefined,
  },
  {
    id: 'unsolicited-reply',
    severity: 'medium',
    title: 'the server sent a reply no command asked for',
    reference: 'RFC 5321 §4.1.1, §4.2 (one reply per command); RFC 1939 §3; RFC 9051 §2.2.2',
    check: (port) =>
      port.unsolicited && port.unsolicited.length > 0
        ? {
            detail:
              'bytes arrived after a complete reply, before the next command: mailprobe set them aside, but a client that reads them as the next reply is desynchronised (and can be fed a forged answer)',
            evidence: port.unsolicited.slice(0, 5).map((line) => `S (unsolicited): ${line}`),
          }
        : undefined,
  },
  noPortWorks,
  {
    id: 'probe-incomplete',
    severity: 'info',
    title: 'the port could not be tested',
    reference: 'mailprobe (no protocol finding)',
    check: (port) =>
      // No route from here is said once, as a note about where the probe ran (HostResult.notes).
      (port.status === 'aborted' || port.status === 'local-error') && !port.noRouteFromHere
        ? { detail: port.statusDetail, evidence: statusEvidence(port) }
        : undefined,
  },
];
