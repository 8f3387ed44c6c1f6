/**
 * The rules about one published setting, checked against the probe of its host and port on every address:
 * published without encryption, submission on 25, another protocol or another encryption on the port, a server
 * that does not work, TLS too old, a certificate not valid for the published name.
 */
import type { PublishedSetting, PublishedSource } from '../../types/index.js';
import type { PortVerdict } from '../evaluate.js';
import { otherSays } from './clients.js';
import { fits, heardAsPublished, type Mode, modeWords, oldTls, type SettingCheck } from './observed.js';
import { label, type PublishedHit, type PublishedRule, refs, securityWords, settingText } from './rule.js';

/** One published setting, with its live check and the port verdicts (one per address) it was checked on. */
export interface SettingSubject {
  source: PublishedSource;
  setting: PublishedSetting;
  check: SettingCheck;
  ports: PortVerdict[];
  /** Each address's mode, in the order of `ports`. */
  modes: Mode[];
}

/** A hit about the setting's host and port, with the setting and what was observed as its evidence. */
function hit(
  s: SettingSubject,
  key: string,
  words: { title: string; detail: string; evidence?: string[]; reference?: string },
): PublishedHit {
  return {
    key,
    source: s.source.location,
    title: words.title,
    detail: words.detail,
    evidence: words.evidence ?? evidenceOf(s),
    reference: words.reference ?? refs[s.source.kind],
    at: { host: s.setting.host, port: s.setting.port },
  };
}

const evidenceOf = (s: SettingSubject) => [
  `${label(s.source)}: ${settingText(s.setting)}`,
  `observed: ${s.check.observed}`,
];

/** Findings about one setting as published (its protocol, host, port and encryption). */
const settingKey = ({ setting }: SettingSubject) =>
  `${setting.protocol} ${setting.host} ${setting.port} ${setting.security}`;
/** Findings about the server itself, whoever publishes it and however. */
const serverKey = ({ setting }: SettingSubject) => `${setting.host} ${setting.port}`;

/** Another mail protocol answers: seen open as it (probed so for another source), or detected in its place. */
const spoken = (p: PortVerdict) =>
  p.status === 'open'
    ? p.protocol
    : p.status === 'wrong-protocol' &&
        (p.detected === 'smtp' || p.detected === 'imap' || p.detected === 'pop3')
      ? p.detected
      : undefined;

/** The first address where another mail protocol than the published one answers. */
function otherProtocol({ setting, ports }: SettingSubject): PortVerdict | undefined {
  return ports.find((p) => {
    const heard = spoken(p);
    return heard !== undefined && heard.toUpperCase() !== setting.protocol;
  });
}

/** The reference of the rules whose finding cites the source's own specification (refs, by kind). */
const bySource =
  'the specification of the source (autoconfig, ISPDB, Autodiscover POX, RFC 6186); RFC 8314 §3';

const alive = (modes: Mode[]) => modes.filter((m) => m !== 'down');

const plaintext: PublishedRule<SettingSubject> = {
  id: 'published-plaintext',
  severity: 'high',
  title: 'a setting is published without encryption',
  reference: 'RFC 8314 §5',
  check: (s) =>
    s.setting.security === 'plain'
      ? hit(s, settingKey(s), {
          title: `${s.setting.protocol} ${s.setting.host}:${s.setting.port} is published without encryption`,
          detail:
            'A client following it sends the password and all mail in cleartext. Publish implicit TLS (or STARTTLS) instead.',
          reference: `${refs[s.source.kind]}; RFC 8314 §5`,
        })
      : undefined,
};

const port25: PublishedRule<SettingSubject> = {
  id: 'published-smtp-port-25',
  severity: 'medium',
  title: 'mail submission is published on port 25',
  reference: 'RFC 8314 §3.3; RFC 6409 §3.1',
  check: (s) =>
    s.setting.protocol === 'SMTP' && s.setting.port === 25
      ? hit(s, settingKey(s), {
          title: `mail submission is published on port 25 (${s.setting.host})`,
          detail:
            'Port 25 is for relay between servers; many residential and mobile networks block it outbound. Publish submission on 465 (implicit TLS) or 587 (STARTTLS).',
          reference: port25.reference,
        })
      : undefined,
};

const protocolMismatch: PublishedRule<SettingSubject> = {
  id: 'published-protocol-mismatch',
  severity: 'high',
  title: 'the published port speaks another mail protocol',
  reference: bySource,
  check: (s) => {
    const wrong = otherProtocol(s);
    if (!wrong) return undefined;
    return hit(s, settingKey(s), {
      title: `${s.setting.host}:${s.setting.port} is published as ${s.setting.protocol} but speaks ${spoken(wrong)?.toUpperCase()}`,
      detail: 'A client following it speaks the wrong protocol and fails.',
    });
  },
};

const encryptionMismatch: PublishedRule<SettingSubject> = {
  id: 'published-encryption-mismatch',
  severity: 'high',
  title: 'the published encryption is not what the port does',
  reference: bySource,
  check: (s) => {
    const working = alive(s.modes);
    if (
      otherProtocol(s) ||
      working.length === 0 ||
      !working.some((m) => fits(s.setting.security, m) === false) ||
      s.setting.security === 'plain'
    )
      return undefined;
    return hit(s, settingKey(s), {
      title: `${s.setting.protocol} ${s.setting.host}:${s.setting.port} is published with ${securityWords[s.setting.security]} but the port does ${[...new Set(working.map((m) => modeWords[m]))].join(' / ')}`,
      detail: `A client following it fails: ${otherSays(s.check, s.ports) ?? 'the modes differ'}. Publish what the port does.`,
    });
  },
};

const notWorking: PublishedRule<SettingSubject> = {
  id: 'published-not-working',
  severity: 'high',
  title: 'the published server does not work',
  reference: bySource,
  check: (s) => {
    const working = alive(s.modes);
    const unverified = s.ports.some((p) => heardAsPublished(p, s.setting));
    if (
      s.check.works ||
      unverified ||
      otherProtocol(s) ||
      !(working.length === 0 || s.modes.includes('down'))
    )
      return undefined;
    return hit(s, serverKey(s), {
      title: `the published ${s.setting.protocol} server ${s.setting.host}:${s.setting.port} does not work${working.length > 0 ? ` on ${s.modes.length - working.length} of its ${s.modes.length} addresses` : ''}`,
      detail:
        working.length > 0
          ? 'Clients that reach the addresses that do not work fail, the others do not: a failure that comes and goes. Fix or withdraw those addresses.'
          : 'Every client that follows this source fails to connect. Fix the server or publish one that works.',
    });
  },
};

const tlsTooOld: PublishedRule<SettingSubject> = {
  id: 'published-tls-too-old',
  severity: 'high',
  title: 'the published server offers only TLS older than 1.2',
  reference: 'RFC 8996 §2-3; RFC 8314 §4.1',
  check: (s) =>
    s.check.works && oldTls(s.check.tlsVersion)
      ? hit(s, serverKey(s), {
          title: `the published ${s.setting.protocol} server ${s.setting.host}:${s.setting.port} offers only ${s.check.tlsVersion}`,
          detail:
            'Thunderbird 78 and later require TLS 1.2 or later and fail with "Peer using unsupported version of security protocol"; users then often switch encryption off. Enable TLS 1.2 and 1.3 on the server.',
          reference: tlsTooOld.reference,
        })
      : undefined,
};

const certName: PublishedRule<SettingSubject> = {
  id: 'published-cert-name',
  severity: 'high',
  title: 'the certificate is not valid for the published name',
  reference: 'RFC 9525 §6; RFC 8314 §4.1',
  check: (s) => {
    const misnamed = s.ports.filter((p) => p.findings.includes('cert-name-mismatch'));
    if (misnamed.length === 0) return undefined;
    return hit(s, serverKey(s), {
      title: `the certificate at ${s.setting.host}:${s.setting.port} is not valid for the published name ${s.setting.host}`,
      detail:
        'A client verifying the name (as it must) refuses the connection or asks the user to accept the certificate. Publish a name the certificate covers, or add it to the certificate.',
      evidence: [
        ...evidenceOf(s),
        ...misnamed.map(
          (p) =>
            `${p.address}: certificate names ${(p.tls?.certificate?.subjectAltNames ?? []).join(', ') || '(none)'}`,
        ),
      ],
      reference: certName.reference,
    });
  },
};

/** In the order their findings are listed (within one severity). */
export const settingRules = [
  plaintext,
  port25,
  protocolMismatch,
  encryptionMismatch,
  notWorking,
  tlsTooOld,
  certName,
];
