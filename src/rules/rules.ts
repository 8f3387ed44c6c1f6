import net from 'node:net';
import type { TrustProblem } from '../net/chain.js';
import { nonPublicAddress } from '../net/names.js';
import { referenceFor } from '../reference/table.js';
import type { HostResult, PortResult } from '../types.js';
import type { Severity } from './finding.js';

/** What a rule returns for one port: its own severity may depend on the port's role. */
export interface Hit {
  severity?: Severity;
  detail: string;
  evidence: string[];
}

/** A pure rule: facts in, hits out. Rules never look at anything but the results. */
export interface Rule {
  id: string;
  /** The usual severity; a hit may raise or lower it (the README lists both). */
  severity: Severity;
  title: string;
  reference: string;
  check: (port: PortResult, host: HostResult) => Hit | undefined;
}

const dayMs = 86_400_000;
export const expiringSoonDays = 14;

function serverLines(port: PortResult, match: (text: string) => boolean): string[] {
  return port.transcript
    .filter((entry) => entry.dir === 'S' && match(entry.text))
    .map((entry) => `S: ${entry.text}`)
    .slice(0, 5);
}

function statusEvidence(port: PortResult): string[] {
  return [`status ${port.status}${port.statusDetail ? `: ${port.statusDetail}` : ''}`];
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

function daysLeft(port: PortResult): number | undefined {
  const validTo = port.tls?.certificate?.validTo;
  if (!validTo) return undefined;
  return (Date.parse(validTo) - Date.parse(port.startedAt)) / dayMs;
}

const plainStart = (port: PortResult) => port.expectedTls === 'starttls';
const isRelay = (port: PortResult) => referenceFor(port.service).role === 'relay';

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

/** Trust problems that have no finding of their own, so cert-untrusted names them. */
const untrustedKinds = new Set<TrustProblem['kind']>([
  'untrusted-root',
  'issuer-not-ca',
  'verification-failed',
]);

/** The chain as sent, one line per certificate, for evidence. */
function chainEvidence(port: PortResult): string[] {
  return (port.tls?.chain ?? [])
    .slice(0, 6)
    .map(
      (cert) =>
        `#${cert.index} ${cert.subject} ← ${cert.issuer} · ${cert.validFrom.slice(0, 10)}..${cert.validTo.slice(0, 10)} · ${cert.keyType.toUpperCase()} ${cert.keyBits} · ${cert.signatureAlgorithm}${cert.problems.length > 0 ? ` · ${cert.problems.join(', ')}` : ''}`,
    );
}

/** A finding for every trust problem of one kind, naming each certificate. */
function problemHit(port: PortResult, kind: TrustProblem['kind']): Hit | undefined {
  const found = (port.tls?.trustProblems ?? []).filter((problem) => problem.kind === kind);
  if (!port.tls?.certificate || found.length === 0) return undefined;
  return {
    // An expired intermediate or root is as fatal as an expired leaf: the path does not validate.
    detail: found.map((problem) => `${problem.certificate}: ${problem.detail}`).join('; '),
    evidence:
      chainEvidence(port).length > 0 ? chainEvidence(port) : [`subject: ${port.tls.certificate.subject}`],
  };
}

/** No DNS-ID at all, while the host is a name: under RFC 9525 nothing can match. */
function cnOnly(port: PortResult): boolean {
  const tls = port.tls;
  if (!tls?.certificate || tls.nameMatches || net.isIP(tls.checkedName.replace(/^\[(.*)\]$/, '$1')))
    return false;
  return !tls.certificate.subjectAltNames.some((name) => name.startsWith('DNS:'));
}

function stapleIsForLeaf(port: PortResult): boolean {
  const serial = port.tls?.chain?.[0]?.serialNumber;
  return serial === undefined || port.tls?.ocsp?.serialNumber === serial;
}

/** The certificates whose dates matter (the leaf and the path above it), with days left at the probe. */
function datedCertificates(port: PortResult): { label: string; validTo: string; left: number | undefined }[] {
  const chain = port.tls?.chain;
  if (!chain) {
    const validTo = port.tls?.certificate?.validTo;
    return validTo ? [{ label: 'leaf', validTo, left: daysLeft(port) }] : [];
  }
  return chain
    .filter((cert) => !cert.problems.includes('unrelated'))
    .map((cert) => ({
      label:
        cert.index === 0 ? 'leaf' : cert.selfSigned ? 'root' : `certificate ${cert.index} (${cert.subject})`,
      validTo: cert.validTo,
      left: (Date.parse(cert.validTo) - Date.parse(port.startedAt)) / dayMs,
    }));
}

export const rules: readonly Rule[] = [
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
    id: 'port-25-blocked',
    severity: 'high',
    title: 'port 25 is dropped on the way while the submission ports answer',
    reference: 'RFC 5068 §3.2; seed port reference (ISPs block outbound 25)',
    check: (port, host) => {
      const answered = outboundBlock(port, host);
      if (answered.length === 0) return undefined;
      return {
        detail: `the connection to 25 timed out while ${answered.map((other) => other.port).join(' and ')} on the same address answered: something between you and the host drops port 25, most often an ISP blocking outbound SMTP (run "mailprobe egress" to check this network)`,
        evidence: [
          ...statusEvidence(port),
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
            evidence: statusEvidence(port),
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
            evidence: [...statusEvidence(port), ...serverLines(port, () => true).slice(-2)],
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
            detail: `the connection opened but the server sent nothing before the deadline${port.crossCheck ? `; a TLS handshake on a new connection found ${port.crossCheck.outcome}` : ''}`,
            evidence: statusEvidence(port),
          }
        : undefined,
  },
  {
    id: 'dialogue-stalled',
    severity: 'medium',
    title: 'a reply did not arrive before its deadline',
    reference: 'RFC 5321 §4.5.3.2',
    check: (port) =>
      port.status === 'stalled'
        ? {
            detail: `no reply during ${port.failedPhase ?? 'the dialogue'}`,
            evidence: [...statusEvidence(port), ...serverLines(port, () => true).slice(-2)],
          }
        : undefined,
  },
  {
    id: 'greeting-rejected',
    severity: 'high',
    title: 'the server refused service',
    reference: 'RFC 5321 §3.1, §3.8, §4.2.3, §4.2.5 (421/554); RFC 9051 §7.1.5 (BYE); RFC 1939 §3, §4 (-ERR)',
    check: (port) =>
      port.status === 'rejected'
        ? {
            detail: port.failedPhase
              ? `the server refused service at the ${port.failedPhase} step and closed: mail clients cannot use this port now`
              : 'the greeting refuses service: mail clients cannot use this port from here',
            evidence: port.failedPhase
              ? [...statusEvidence(port), ...serverLines(port, () => true).slice(-2)]
              : serverLines(port, () => true).slice(0, 3),
          }
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
            detail: 'too many connections or too high a rate: try again later, with --concurrency 1',
            evidence: [...statusEvidence(port), ...serverLines(port, () => true).slice(-2)],
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
    title: 'an implicit-TLS server answers on a plaintext port',
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
            evidence: [...statusEvidence(port), ...serverLines(port, () => true).slice(-2)],
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
  {
    id: 'starttls-not-offered',
    severity: 'high',
    title: 'STARTTLS is not offered on a plaintext port',
    reference: 'RFC 3207 §4; RFC 9051 §6.2.1; RFC 2595 §4; RFC 8314 §3',
    check: (port) => {
      if (!plainStart(port) || port.status !== 'open' || !port.starttls || port.starttls.advertised)
        return undefined;
      if (port.greeting?.kind === 'preauth') return undefined;
      const caps = port.capabilities;
      return {
        // On the relay port STARTTLS is optional (RFC 3207) but expected of a modern MTA.
        severity: isRelay(port) ? 'medium' : 'high',
        detail: isRelay(port)
          ? 'mail to this host travels in cleartext from other servers; offer STARTTLS'
          : 'passwords and mail cross the network in cleartext; offer STARTTLS or use the implicit-TLS port',
        evidence: [
          caps?.ok
            ? `${caps.command} lists: ${caps.list.join(', ') || '(nothing)'}`
            : `${caps?.command ?? 'capabilities'} was refused`,
        ],
      };
    },
  },
  {
    id: 'smtp-inspection-middlebox',
    severity: 'high',
    title: 'an SMTP inspection device on the path masks the dialogue',
    reference: 'RFC 3207 §4, §6 (STARTTLS stripped in the path); Cisco ASA/PIX ESMTP inspection',
    check: (port) => {
      if (port.protocol !== 'smtp') return undefined;
      const greeting = port.greeting?.lines.join('') ?? '';
      const maskedGreeting =
        greeting.length >= 8 && (greeting.match(/\*/g)?.length ?? 0) >= greeting.length / 2;
      const maskedLines = (port.capabilities?.list ?? []).filter((line) => /^X{4,}[A-Z0-9]?$/.test(line));
      if (!maskedGreeting && maskedLines.length === 0) return undefined;
      return {
        detail:
          'the greeting or EHLO lines are replaced by asterisks or XXXX: a firewall rewrites SMTP on the way and ' +
          'usually strips STARTTLS, so mail crosses in cleartext or fails; turn its ESMTP inspection off',
        evidence: serverLines(port, (text) => /\*{4,}|^250[- ]X{4,}/.test(text)),
      };
    },
  },
  {
    id: 'starttls-refused',
    severity: 'high',
    title: 'STARTTLS is advertised but refused',
    reference: 'RFC 3207 §4 (454); RFC 9051 §6.2.1; RFC 2595 §4',
    check: (port) =>
      // A 421 to STARTTLS is the whole service closing (greeting-rejected), not a refusal of TLS.
      port.starttls?.attempted &&
      !port.starttls.accepted &&
      port.status !== 'rejected' &&
      port.status !== 'rate-limited'
        ? {
            severity: isRelay(port) ? 'medium' : 'high',
            detail: 'the server advertises STARTTLS and then declines it, so the session stays in cleartext',
            evidence: (port.starttls.reply ?? []).map((line) => `S: ${line}`),
          }
        : undefined,
  },
  {
    id: 'starttls-failed',
    severity: 'high',
    title: 'STARTTLS was accepted but the TLS handshake failed',
    reference: 'RFC 3207 §4.1; RFC 8446',
    check: (port) =>
      port.status === 'starttls-failed'
        ? {
            detail: port.starttls?.error ?? port.statusDetail,
            evidence: [...statusEvidence(port), ...(port.starttls?.reply ?? []).map((line) => `S: ${line}`)],
          }
        : undefined,
  },
  {
    id: 'starttls-bytes-after-ok',
    severity: 'medium',
    title: 'the server sent bytes after its STARTTLS OK, before the handshake',
    reference: 'RFC 3207 §6; RFC 2595 §3.1; CVE-2011-0411 class (response injection)',
    check: (port) =>
      port.starttls && port.starttls.bytesAfterOk > 0
        ? {
            detail: `${port.starttls.bytesAfterOk} bytes arrived after the OK line and were discarded; a client that keeps them can be fed forged replies`,
            evidence: [`${port.starttls.bytesAfterOk} bytes discarded before the TLS handshake`],
          }
        : undefined,
  },
  {
    id: 'starttls-advertised-after-tls',
    severity: 'low',
    title: 'STARTTLS is still advertised after TLS is up',
    reference: 'RFC 3207 §4.2',
    check: (port) =>
      port.protocol === 'smtp' && port.capabilitiesAfterTls?.starttls
        ? {
            detail: 'the EHLO reply over TLS lists STARTTLS again',
            evidence: [`EHLO over TLS lists: ${port.capabilitiesAfterTls.list.join(', ')}`],
          }
        : undefined,
  },
  {
    id: 'capabilities-unchanged-after-tls',
    severity: 'info',
    title: 'the capabilities over TLS are exactly those before TLS',
    reference: 'RFC 3207 §4.2; RFC 9051 §6.2.1; RFC 2595 §4',
    check: (port) => {
      const before = port.capabilities?.list ?? [];
      const after =
        port.capabilities?.ok && port.capabilitiesAfterTls?.ok ? port.capabilitiesAfterTls.list : undefined;
      if (!after || before.length === 0 || before.join('\n') !== after.join('\n')) return undefined;
      return {
        detail:
          'a server normally drops STARTTLS and adds authentication once TLS is up; an identical list can mean a proxy answers for it',
        evidence: [`before and after TLS: ${before.join(', ')}`],
      };
    },
  },
  {
    id: 'cleartext-auth-before-tls',
    severity: 'high',
    title: 'password authentication is offered before TLS',
    reference: 'RFC 8314 §3.3 and §4.1; RFC 4954 §4; RFC 9051 §6.2.3; RFC 2595 §2.1',
    check: (port) => {
      const caps = port.capabilities;
      if (!plainStart(port) || !caps?.ok) return undefined;
      const mechanisms = caps.authMechanisms.filter((mechanism) => ['PLAIN', 'LOGIN'].includes(mechanism));
      const offered = [
        ...mechanisms.map((mechanism) =>
          port.protocol === 'imap'
            ? `AUTH=${mechanism}`
            : `${port.protocol === 'pop3' ? 'SASL' : 'AUTH'} ${mechanism}`,
        ),
        ...(caps.plaintextLogin
          ? [port.protocol === 'imap' ? 'the LOGIN command (no LOGINDISABLED)' : 'USER/PASS']
          : []),
      ];
      if (offered.length === 0) return undefined;
      return {
        severity: isRelay(port) ? 'medium' : 'high',
        detail: `before TLS the server offers ${offered.join(', ')}: a client may send its password in cleartext`,
        evidence: [`${caps.command} before TLS lists: ${caps.list.join(', ')}`],
      };
    },
  },
  {
    id: 'imap-preauth-plaintext',
    severity: 'high',
    title: 'IMAP PREAUTH on a plaintext connection',
    reference: 'RFC 9051 §7.1.4, §11.1; RFC 2595 §3.1',
    check: (port) =>
      port.protocol === 'imap' && port.greeting?.kind === 'preauth' && !port.tls
        ? {
            detail:
              'the session starts authenticated in cleartext, so STARTTLS is no longer possible and the mailbox is open to the path',
            evidence: serverLines(port, (text) => /^\* PREAUTH/i.test(text)),
          }
        : undefined,
  },
  {
    id: 'tls-legacy-version',
    severity: 'high',
    title: 'TLS older than 1.2 was negotiated',
    reference: 'RFC 8996 §2-§3; RFC 8314 §4.1',
    check: (port) =>
      port.tls && /^(SSLv|TLSv1(\.1)?$)/.test(port.tls.protocol)
        ? {
            detail: `the server chose ${port.tls.protocol}, deprecated since 2021`,
            evidence: [`negotiated ${port.tls.protocol} ${port.tls.cipher}`],
          }
        : undefined,
  },
  {
    id: 'cert-untrusted',
    severity: 'high',
    title: 'a default client would not trust the certificate chain',
    reference: 'RFC 8314 §4.3; RFC 5280 §6.1',
    check: (port) => {
      const tls = port.tls;
      if (!tls || tls.trusted) return undefined;
      // Reasons with a finding of their own (dates, weak algorithms, a missing intermediate) are not repeated;
      // anything else, or no reason at all, is reported here: untrusted never passes without a high finding.
      const own = (tls.trustProblems ?? []).filter((problem) => untrustedKinds.has(problem.kind));
      if (own.length === 0 && (tls.trustProblems ?? []).length > 0) return undefined;
      return {
        detail: `${own.length > 0 ? own.map((problem) => problem.detail).join('; ') : `verification failed: ${tls.trustError ?? 'unknown reason'}`}`,
        evidence: [
          ...(tls.trustError ? [`OpenSSL: ${tls.trustError}`] : []),
          ...(tls.certificate ? chainEvidence(port) : ['the server sent no certificate']),
        ],
      };
    },
  },
  {
    id: 'cert-chain-incomplete',
    severity: 'high',
    title: 'the chain as sent does not reach a trusted root',
    reference:
      'RFC 8446 §4.4.2; RFC 5246 §7.4.2 (the server sends the chain); RFC 5280 §4.2.2.1 (AIA is optional)',
    check: (port) => problemHit(port, 'incomplete-chain'),
  },
  {
    id: 'cert-weak-signature',
    severity: 'high',
    title: 'a certificate of the chain is signed with SHA-1 or MD5',
    reference: 'RFC 9155 §2; CA/Browser Forum Baseline Requirements §7.1.3.2',
    check: (port) => problemHit(port, 'weak-signature'),
  },
  {
    id: 'cert-weak-key',
    severity: 'high',
    title: 'a certificate of the chain has a key too small to trust',
    reference: 'NIST SP 800-131A Rev. 2 §3 (RSA/DSA ≥ 2048, EC ≥ 224; 256 here); OpenSSL security level 2',
    check: (port) => problemHit(port, 'weak-key'),
  },
  {
    id: 'cert-chain-order',
    severity: 'low',
    title: 'the chain is sent out of order or with unrelated certificates',
    reference: 'RFC 5246 §7.4.2; RFC 8446 §4.4.2',
    check: (port) => {
      const odd = (port.tls?.chain ?? []).filter(
        (cert) => cert.problems.includes('out-of-order') || cert.problems.includes('unrelated'),
      );
      if (odd.length === 0) return undefined;
      return {
        detail: `${odd.map((cert) => `certificate ${cert.index} (${cert.subject}) is ${cert.problems.includes('unrelated') ? 'not part of the path' : 'out of order'}`).join('; ')}: strict clients may fail to build the path`,
        evidence: chainEvidence(port),
      };
    },
  },
  {
    id: 'cert-cn-only',
    severity: 'high',
    title: 'the certificate names its host only in the subject CN',
    reference: 'RFC 9525 §6.3 (the CN is not used); RFC 6125 §6.4.4 (obsoleted)',
    check: (port) => {
      const tls = port.tls;
      if (!tls?.certificate || !cnOnly(port)) return undefined;
      const cn = /(?:^|, )CN=([^,]*)/.exec(tls.certificate.subject)?.[1];
      return {
        detail: `the certificate has no DNS name in subjectAltName${cn ? ` (its CN is ${cn})` : ''}: clients that follow RFC 9525 refuse it for ${tls.checkedName}`,
        evidence: [
          `subject: ${tls.certificate.subject}`,
          `subjectAltName: ${tls.certificate.subjectAltNames.join(', ') || '(none)'}`,
        ],
      };
    },
  },
  {
    id: 'cert-name-mismatch',
    severity: 'high',
    title: 'the certificate is not valid for the host name',
    reference: 'RFC 9525 §6; RFC 8314 §4.3',
    check: (port) =>
      port.tls?.certificate && !port.tls.nameMatches && !cnOnly(port)
        ? {
            detail: `checked against ${port.tls.checkedName}: ${port.tls.nameError ?? 'no match'}`,
            evidence: [
              `subject: ${port.tls.certificate.subject}`,
              `names: ${port.tls.certificate.subjectAltNames.join(', ') || '(none)'}`,
            ],
          }
        : undefined,
  },
  {
    id: 'cert-expired',
    severity: 'critical',
    title: 'a certificate of the chain has expired',
    reference: 'RFC 5280 §4.1.2.5, §6.1.3',
    check: (port) => problemHit(port, 'expired'),
  },
  {
    id: 'cert-not-yet-valid',
    severity: 'high',
    title: 'a certificate of the chain is not valid yet',
    reference: 'RFC 5280 §4.1.2.5, §6.1.3',
    check: (port) => problemHit(port, 'not-yet-valid'),
  },
  {
    id: 'cert-expiring-soon',
    severity: 'medium',
    title: `a certificate of the chain expires within ${expiringSoonDays} days`,
    reference: 'RFC 5280 §4.1.2.5',
    check: (port) => {
      const soon = datedCertificates(port).filter(
        (cert) => cert.left !== undefined && cert.left >= 0 && cert.left < expiringSoonDays,
      );
      if (soon.length === 0) return undefined;
      return {
        detail: soon
          .map(
            (cert) =>
              `the ${cert.label} expires on ${cert.validTo.slice(0, 10)}, in ${Math.floor(cert.left ?? 0)} days`,
          )
          .join('; '),
        evidence: soon.map((cert) => `${cert.label} not after: ${cert.validTo}`),
      };
    },
  },
  {
    id: 'cert-revoked',
    severity: 'critical',
    title: 'the stapled OCSP response says the certificate is revoked',
    reference: 'RFC 6960 §2.2; RFC 6066 §8',
    check: (port) => {
      const ocsp = port.tls?.ocsp;
      if (ocsp?.certStatus !== 'revoked' || !stapleIsForLeaf(port)) return undefined;
      return {
        detail: `the server itself stapled a response saying its certificate was revoked${ocsp.revokedAt ? ` on ${ocsp.revokedAt.slice(0, 10)}` : ''}`,
        evidence: [
          `OCSP: ${ocsp.certStatus}, serial ${ocsp.serialNumber ?? '?'}, this update ${ocsp.thisUpdate ?? '?'}`,
        ],
      };
    },
  },
  {
    id: 'ocsp-staple-unusable',
    severity: 'low',
    title: 'the stapled OCSP response cannot be used',
    reference: 'RFC 6960 §4.2.2.1 (thisUpdate/nextUpdate); RFC 6066 §8',
    check: (port) => {
      const ocsp = port.tls?.ocsp;
      if (!ocsp) return undefined;
      const why =
        ocsp.error !== undefined
          ? `it could not be read (${ocsp.error})`
          : ocsp.responseStatus !== 'successful'
            ? `the responder answered ${ocsp.responseStatus}`
            : !stapleIsForLeaf(port)
              ? `it is about serial ${ocsp.serialNumber ?? '?'}, not the leaf certificate`
              : ocsp.nextUpdate && Date.parse(ocsp.nextUpdate) < Date.parse(port.startedAt)
                ? `it is stale: next update was due ${ocsp.nextUpdate}`
                : undefined;
      if (!why) return undefined;
      return {
        detail: `${why}; clients that require a fresh staple (must-staple) fail`,
        evidence: [`OCSP: ${ocsp.responseStatus}${ocsp.certStatus ? ` ${ocsp.certStatus}` : ''}`],
      };
    },
  },
  {
    id: 'address-results-differ',
    severity: 'medium',
    title: 'the port works on another address of the host but not on this one',
    reference: 'RFC 6724 (address selection); RFC 8305 §5 (clients try every address)',
    check: (port, host) => {
      if (port.status === 'open' || port.status === 'aborted' || port.status === 'local-error')
        return undefined;
      const working = host.ports.filter(
        (other) => other.port === port.port && other.address !== port.address && other.status === 'open',
      );
      if (working.length === 0) return undefined;
      return {
        detail: `works on ${working.map((w) => w.address).join(', ')} but is ${port.status} on ${port.address}${port.family === 6 ? ': IPv6 may be black-holed on the way' : ''}; clients that pick this address fail or wait`,
        evidence: [...statusEvidence(port), ...working.map((w) => `${w.address}: status open`)],
      };
    },
  },
  {
    id: 'certificate-differs-by-address',
    severity: 'low',
    title: 'another address of the host presents a different certificate on this port',
    reference: 'RFC 6125 §6; operational consistency',
    check: (port, host) => {
      const mine = port.tls?.certificate?.sha256;
      if (!mine) return undefined;
      const others = host.ports.filter(
        (other) =>
          other.port === port.port &&
          other.address !== port.address &&
          other.tls?.certificate &&
          other.tls.certificate.sha256 !== mine,
      );
      if (others.length === 0) return undefined;
      return {
        detail: `${port.address} presents ${port.tls?.certificate?.subject}, ${others.map((o) => `${o.address} presents ${o.tls?.certificate?.subject}`).join('; ')}: a stale server or a forgotten renewal behind one address`,
        evidence: [
          `${port.address}: ${mine}`,
          ...others.map((o) => `${o.address}: ${o.tls?.certificate?.sha256}`),
        ],
      };
    },
  },
  {
    id: 'starttls-injection',
    severity: 'high',
    title: 'a command pipelined after STARTTLS is executed inside TLS (opt-in check)',
    reference:
      'CVE-2011-0411; RFC 3207 §6; Poddebniak et al., "Why TLS is better without STARTTLS", USENIX Security 2021',
    check: (port) =>
      port.checks?.injection?.verdict === 'vulnerable'
        ? {
            detail:
              'the server kept bytes sent before the handshake and answered them inside TLS: an attacker on the path can inject commands into the protected session',
            evidence: [`unprompted reply inside TLS: ${port.checks.injection.reply ?? ''}`],
          }
        : undefined,
  },
  {
    id: 'auth-allowed-before-tls',
    severity: 'high',
    title: 'the server starts password authentication before TLS (opt-in check)',
    reference: 'RFC 8314 §3.3, §4.1; RFC 4954 §4; RFC 9051 §11.1; RFC 2595 §2.1',
    check: (port) =>
      port.checks?.authRequired?.verdict === 'allowed'
        ? {
            severity: isRelay(port) ? 'medium' : 'high',
            detail:
              'an authentication exchange started in cleartext (mailprobe cancelled it at once, sending no credential): a client would send its password unprotected',
            evidence: [`reply to the authentication command before TLS: ${port.checks.authRequired.reply}`],
          }
        : undefined,
  },
  {
    id: 'tls-legacy-accepted',
    severity: 'medium',
    title: 'TLS 1.0 or 1.1 is accepted (opt-in check)',
    reference: 'RFC 8996 §2-§3',
    check: (port) => {
      const legacy =
        port.checks?.tlsVersions?.accepted.filter(
          (version) => version === 'TLSv1' || version === 'TLSv1.1',
        ) ?? [];
      if (legacy.length === 0) return undefined;
      return {
        detail: `the port completes handshakes offering only ${legacy.join(' or ')}: a client that still allows them can be held to a deprecated version`,
        evidence: [
          `accepted: ${port.checks?.tlsVersions?.accepted.join(', ')}`,
          `refused: ${port.checks?.tlsVersions?.refused.join(', ') || '(none)'}`,
        ],
      };
    },
  },
  {
    id: 'check-not-completed',
    severity: 'info',
    title: 'an opt-in check could not be completed',
    reference: 'mailprobe (no protocol finding)',
    check: (port) => {
      const failed = [
        port.checks?.injection?.verdict === 'not-tested' ? `injection: ${port.checks.injection.detail}` : '',
        port.checks?.authRequired?.verdict === 'not-tested'
          ? `auth-required: ${port.checks.authRequired.reply}`
          : '',
        ...(port.checks?.tlsVersions?.untested ?? []).map(
          (entry) => `tls-versions: ${entry.version} not tried to the end: ${entry.reason}`,
        ),
      ].filter(Boolean);
      return failed.length > 0 ? { detail: 'the check ended before a verdict', evidence: failed } : undefined;
    },
  },
  {
    id: 'no-port-works',
    severity: 'high',
    title: 'no port of the host works',
    reference: 'mailprobe: nothing a mail client could use (RFC 8314 §3; RFC 6409 §3)',
    check: (port, host) => {
      // Said once per host, on its first port; ports not tested from here (no route, aborted) do not count.
      const tested = host.ports.filter((p) => !p.noRouteFromHere && p.status !== 'aborted');
      if (port !== host.ports[0] || tested.length === 0 || host.ports.some((p) => p.status === 'open'))
        return undefined;
      return {
        detail: `none of the ${tested.length} port${tested.length === 1 ? '' : 's'} probed on ${host.host} answered with its mail protocol: a mail client cannot use this host from here`,
        evidence: tested.slice(0, 8).map((p) => `port ${p.port} ${p.address}: ${p.status}`),
      };
    },
  },
  {
    id: 'published-private-address',
    // Low: it says where the DNS points, not how the port behaves; works and safe stay about the port.
    severity: 'low',
    title: 'an MX or SRV record points at a loopback or private address',
    reference: 'RFC 5321 §5.1; RFC 6186 §3; RFC 1918; RFC 4193; RFC 6890',
    check: (port, host) => {
      const published = (host.publishedBy ?? []).filter((source) => /^(MX|SRV)\b/.test(source));
      const kind = nonPublicAddress(port.address);
      // Once per address: on the first port probed there.
      if (published.length === 0 || !kind || host.ports.find((p) => p.address === port.address) !== port)
        return undefined;
      return {
        detail: `${published.join(', ')} names ${host.host}, which resolves to ${port.address} (${kind}): mail clients and servers elsewhere cannot reach it, and a probe from inside a network reaches whatever that address is there`,
        evidence: [`${host.host} → ${port.address} (${kind})`, `published by ${published.join(', ')}`],
      };
    },
  },
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
