/** STARTTLS and the TLS session: offered, accepted, upgraded cleanly, and the version negotiated. */
import { upgradeCommand } from './facts.js';
import { isRelay, type PortResult, plainStart, type Rule, serverLines, statusEvidence } from './rule.js';

/**
 * What shows the upgrade is not offered, in the order it was seen: the capability request and how it was answered
 * (refused, with the server's words; HELO after a refused EHLO, whose reply lists no extensions), and the answer to
 * the upgrade command when it was sent without being listed (the capabilities unknown, dialogue.ts).
 */
function notOfferedEvidence(port: PortResult): string[] {
  const caps = port.capabilities;
  const word = upgradeCommand(port.protocol);
  const asked = caps?.command.split(' ')[0] ?? 'capabilities';
  const evidence: string[] = [];
  if (caps?.command === 'HELO') {
    if (caps.refusal) evidence.push(`EHLO was refused: ${caps.refusal}`);
    evidence.push(
      'HELO was accepted, and a HELO reply lists no extensions: STARTTLS is offered only in the EHLO reply (RFC 3207 §4)',
    );
  } else if (caps?.ok) {
    if (caps.refusal) evidence.push(`${asked} was refused: ${caps.refusal}`);
    evidence.push(`${caps.command} lists: ${caps.list.join(', ') || '(nothing)'}`);
  } else {
    evidence.push(`${asked} was refused${caps?.refusal ? `: ${caps.refusal}` : ''}`);
  }
  const st = port.starttls;
  if (st?.attempted && !st.advertised && !st.accepted)
    evidence.push(
      `${word}, sent though not listed (the capabilities unknown), was refused: ${(st.reply ?? []).join(' ') || '(no reply)'}`,
    );
  return evidence;
}

export const startTlsRules: readonly Rule[] = [
  {
    id: 'starttls-not-offered',
    severity: 'high',
    title: 'STARTTLS is not offered on a plaintext port',
    reference: 'RFC 3207 §4; RFC 9051 §6.2.1; RFC 2595 §4; RFC 2449 §5; RFC 8314 §3',
    check: (port) => {
      if (!plainStart(port) || port.status !== 'open' || !port.starttls || port.starttls.advertised)
        return undefined;
      // Not listed but sent anyway (the capabilities unknown) and accepted: offered after all.
      if (port.greeting?.kind === 'preauth' || port.starttls.accepted) return undefined;
      // EHLO refused, HELO accepted: the fix is on the EHLO as much as on TLS.
      const ehlo =
        port.capabilities?.command === 'HELO' && port.capabilities.refusal ? 'accept EHLO and ' : '';
      return {
        // On the relay port STARTTLS is optional (RFC 3207) but expected of a modern MTA.
        severity: isRelay(port) ? 'medium' : 'high',
        detail: isRelay(port)
          ? `mail to this host travels in cleartext from other servers; ${ehlo}offer STARTTLS`
          : `passwords and mail cross the network in cleartext; ${ehlo}offer STARTTLS or use the implicit-TLS port`,
        evidence: notOfferedEvidence(port),
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
        greeting.length >= 8 &&
        greeting.includes('*') &&
        (greeting.match(/\*/g)?.length ?? 0) >= greeting.length / 2;
      const maskedLine = (port.capabilities?.list ?? []).some(
        (line) => line.startsWith('XXXX') && /^X{4,}[A-Z0-9]?$/.test(line),
      );
      if (!maskedGreeting && !maskedLine) return undefined;
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
      // A 421 to STARTTLS is the whole service closing (greeting-rejected), not a refusal of TLS. Sent though not
      // listed (the capabilities unknown) and refused: not offered (starttls-not-offered), with the reply.
      port.starttls?.attempted &&
      port.starttls.advertised &&
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
    check: (port, host) => {
      // The probe's connection, and the login check's own (--login) and the round trip's (--round-trip), which
      // drop them the same way. Nothing is built for the many ports where none were seen (a fleet's hot path).
      if (!port.starttls?.bytesAfterOk && !port.login?.bytesAfterOk && !host.roundTrip?.bytesAfterOk)
        return undefined;
      const trip = (host.roundTrip?.bytesAfterOk ?? []).filter(
        (seen) => seen.port === port.port && seen.address === port.address,
      );
      const tripBytes = trip.reduce((sum, seen) => sum + seen.bytes, 0);
      const seen = [
        { bytes: port.starttls?.bytesAfterOk ?? 0, on: '' },
        { bytes: port.login?.bytesAfterOk ?? 0, on: ' on the login check’s own connection' },
        { bytes: tripBytes, on: ` on the round trip’s own connection${trip.length > 1 ? 's' : ''}` },
      ].filter(({ bytes }) => bytes > 0);
      const [first, ...more] = seen;
      if (!first) return undefined;
      const others = more.map(({ bytes, on }) => `, and ${bytes}${on}`).join('');
      return {
        detail: `${first.bytes} bytes arrived after the OK line${first.on}${others}${more.length > 0 ? ',' : ''} and were discarded; a client that keeps them can be fed forged replies`,
        evidence: seen.map(({ bytes, on }) => `${bytes} bytes discarded before the TLS handshake${on}`),
      };
    },
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
];
