/**
 * What a domain should publish, judged from what its servers were observed to do (`mailprobe publish`): the
 * ports that worked and were safe on every address (the offers), and each source's difference with them, with
 * why a published setting should go. Pure: the discovery and the host verdicts in, data out; the documents
 * themselves are written by render/publication.ts.
 */
import type { Discovery, PublishedSecurity, PublishedSetting } from '../types/index.js';
import { type HostVerdict, portKey } from './evaluate.js';
import { submissionWithoutLogin } from './facts.js';
import { otherSays } from './published/clients.js';
import { checkSetting, modeOf, modeWords, observe } from './published/observed.js';
import { ranked } from './settings.js';

/** A port that worked and was safe on every address: something worth publishing. */
export interface Offer {
  direction: 'incoming' | 'outgoing';
  protocol: 'IMAP' | 'POP3' | 'SMTP';
  host: string;
  port: number;
  security: Exclude<PublishedSecurity, 'plain'>;
}

/** One source's difference with what should be published. */
export interface SourceDifference {
  /** Where it is published (a URL, or the SRV names). */
  source: string;
  /** Published there, but not a port that works safely as published (with what was seen). */
  remove: { setting: PublishedSetting; why: string }[];
  /** Works safely, but not published there. */
  add: Offer[];
  /**
   * An SRV record of target "." (the service is decidedly not offered, RFC 6186 §3.4) for a service that works
   * safely: the record as published, the offer, and the zone line to publish instead.
   */
  replace?: { record: string; offer: Offer; line: string }[];
}

/** What to publish and how each source differs from it. */
export interface PublicationJudgement {
  domain: string;
  /** What worked safely, best first (implicit TLS before STARTTLS, IMAP before POP3). */
  offers: Offer[];
  /** Per published source: what to take out and what could be added. */
  differences: SourceDifference[];
  /** Something is published, and every published setting is among the offers (nothing published is broken or unsafe). */
  matches: boolean;
}

const order = ['IMAP TLS', 'IMAP STARTTLS', 'POP3 TLS', 'POP3 STARTTLS', 'SMTP TLS', 'SMTP STARTTLS'];
const key = (o: { protocol: string; security: string }) => `${o.protocol} ${o.security}`;

/** The first host (in client order: SRV-published, then the order found) where each protocol and mode is safe. */
export function observedOffers(discovery: Discovery, hosts: HostVerdict[]): Offer[] {
  const found = new Map<string, Offer>();
  for (const host of ranked(discovery, hosts)) {
    for (const probed of [...new Set(host.ports.map(portKey))]) {
      const all = host.ports.filter((p) => portKey(p) === probed);
      const first = all[0];
      if (!first || first.service === 'smtp') continue; // port 25 is relay, not submission
      if (!all.every((p) => p.works && p.safe === true)) continue;
      // A submission port no client can log in on is no setting to publish (submission-auth-not-offered).
      if (all.some(submissionWithoutLogin)) continue;
      const protocol = first.protocol === 'imap' ? 'IMAP' : first.protocol === 'pop3' ? 'POP3' : 'SMTP';
      const offer: Offer = {
        direction: protocol === 'SMTP' ? 'outgoing' : 'incoming',
        protocol,
        host: host.host,
        port: first.port,
        security: first.expectedTls === 'implicit' ? 'TLS' : 'STARTTLS',
      };
      if (!found.has(key(offer))) found.set(key(offer), offer);
    }
  }
  return [...found.values()].sort((a, b) => order.indexOf(key(a)) - order.indexOf(key(b)));
}

/** The SRV service names of RFC 6186 and RFC 8314 §5.1, each with the protocol and mode it stands for. */
export const srvNames: [string, Offer['protocol'], Offer['security']][] = [
  ['_submissions._tcp', 'SMTP', 'TLS'],
  ['_submission._tcp', 'SMTP', 'STARTTLS'],
  ['_imaps._tcp', 'IMAP', 'TLS'],
  ['_imap._tcp', 'IMAP', 'STARTTLS'],
  ['_pop3s._tcp', 'POP3', 'TLS'],
  ['_pop3._tcp', 'POP3', 'STARTTLS'],
];

/** The SRV record to publish for a service: its offer, or "." when it is not offered. */
export function srvLine(
  domain: string,
  name: string,
  security: Offer['security'],
  offer: Offer | undefined,
): string {
  // Implicit TLS gets the better priority (RFC 8314 §5.1); "." says the service is not offered (RFC 6186 §3.4).
  return offer
    ? `${name}.${domain}. 3600 IN SRV ${security === 'TLS' ? 0 : 10} 1 ${offer.port} ${offer.host}.`
    : `${name}.${domain}. 3600 IN SRV 0 0 0 .`;
}

/** SRV records of target "." for a service that works safely: each becomes a difference to replace. */
function notOfferedButWorks(discovery: Discovery, offers: Offer[]): SourceDifference[] {
  const out: SourceDifference[] = [];
  for (const record of discovery.records) {
    if (record.kind !== 'SRV' || record.note !== 'not-offered') continue;
    const name = record.query.slice(0, record.query.length - discovery.domain.length - 1);
    const meaning = srvNames.find(([srv]) => srv === name);
    if (!meaning) continue;
    const [, protocol, security] = meaning;
    const offer = offers.find((o) => o.protocol === protocol && o.security === security);
    if (!offer) continue;
    out.push({
      source: `SRV ${record.query}`,
      remove: [],
      add: [],
      replace: [
        {
          record: `${record.query}. SRV ${record.answer}`,
          offer,
          line: srvLine(discovery.domain, name, security, offer),
        },
      ],
    });
  }
  return out;
}

/**
 * Why a published setting should go, judged as a client uses it (the published protocol, host, port and
 * encryption): it fails (STARTTLS published for an implicit-TLS port fails, whatever the port's own findings),
 * works but is not safe, or works safely but is not the server chosen to publish.
 */
function whyNot(
  discovery: Discovery,
  hosts: HostVerdict[],
  setting: PublishedSetting,
  offers: Offer[],
): string {
  const seen = observe(discovery, hosts, setting);
  if (seen.missing) return seen.missing;
  const check = checkSetting(seen, setting, '');
  const modes = [...new Set(seen.ports.map(modeOf))];
  const does = modes.map((mode) => modeWords[mode]).join(' or ');
  if (!check.works) {
    const mismatch =
      setting.security !== 'plain' && modes.every((mode) => mode === 'TLS' || mode === 'STARTTLS')
        ? `the port does ${does}, not ${setting.security === 'TLS' ? 'implicit TLS' : 'STARTTLS'}: `
        : '';
    return `fails as published: ${mismatch}${otherSays(check, seen.ports) ?? check.observed}`;
  }
  if (setting.security === 'plain')
    return 'works, but without encryption: passwords cross the network readable';
  if (!check.safe) {
    const findings = [...new Set(seen.ports.flatMap((p) => p.findings))];
    return `works, not safe${findings.length > 0 ? ` (${findings.join(', ')})` : ''}`;
  }
  const chosen = offers.find((o) => o.protocol === setting.protocol && o.security === setting.security);
  return chosen
    ? `works safely, but ${chosen.host}:${chosen.port} is the server to publish for ${setting.protocol} with ${setting.security === 'TLS' ? 'implicit TLS' : 'STARTTLS'}`
    : 'works safely';
}

export function judgePublication(discovery: Discovery, hosts: HostVerdict[]): PublicationJudgement {
  const offers = observedOffers(discovery, hosts);
  const same = (s: PublishedSetting, o: Offer) =>
    s.protocol === o.protocol && s.host === o.host && s.port === o.port && s.security === o.security;
  const differences: SourceDifference[] = [];
  for (const source of discovery.published ?? []) {
    if (source.settings.length === 0) continue;
    const remove = source.settings
      .filter((s) => !offers.some((o) => same(s, o)))
      .map((setting) => ({ setting, why: whyNot(discovery, hosts, setting, offers) }));
    const add = offers.filter(
      (o) =>
        !source.settings.some((s) => same(s, o)) &&
        (source.kind !== 'autodiscover' || o === offers.find((x) => x.protocol === o.protocol)),
    );
    differences.push({ source: source.location, remove, add });
  }
  differences.push(...notOfferedButWorks(discovery, offers));
  return {
    domain: discovery.domain,
    offers,
    differences,
    // Nothing published at all differs too: clients are left to guess.
    // An SRV "." for a service that works safely tells SRV-reading clients it is not there: not a match.
    matches:
      differences.length > 0 &&
      differences.every((d) => d.remove.length === 0 && (d.replace?.length ?? 0) === 0),
  };
}
