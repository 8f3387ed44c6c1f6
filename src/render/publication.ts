/**
 * The documents of `mailprobe publish`: a config-v1.1.xml, an Autodiscover POX response with an explicit
 * <Encryption>, and SRV zone lines, each naming only the offers (ports that worked and were safe on every
 * address); the publication as data (the --json document) and as text. Only renders what
 * rules/publication.ts judged.
 */
import type { Offer, PublicationJudgement, SourceDifference } from '../rules/publication.js';
import { srvLine, srvNames } from '../rules/publication.js';
import { sanitize } from './sanitize.js';
import { escapeXml } from './xml.js';

/** The publication: what to publish, the documents, and the differences (the --json document of publish). */
export interface Publication {
  domain: string;
  /** What worked safely, best first (implicit TLS before STARTTLS, IMAP before POP3). */
  offers: Offer[];
  /** config-v1.1.xml, or undefined when no port is fit to publish. */
  autoconfig?: string;
  /** The Autodiscover POX response, or undefined when no port is fit to publish. */
  autodiscover?: string;
  /** SRV zone lines (RFC 6186, RFC 8314 §5.1): every service, "." for those not offered. */
  srv: string[];
  /** Per published source: what to take out and what could be added. */
  differences: SourceDifference[];
  /** Something is published, and every published setting is among the offers (nothing published is broken or unsafe). */
  matches: boolean;
}

function autoconfigXml(domain: string, offers: Offer[]): string {
  const server = (offer: Offer) => {
    const tag = offer.direction === 'incoming' ? 'incomingServer' : 'outgoingServer';
    return `    <${tag} type="${offer.protocol.toLowerCase()}">
      <hostname>${escapeXml(offer.host)}</hostname>
      <port>${offer.port}</port>
      <socketType>${offer.security === 'TLS' ? 'SSL' : 'STARTTLS'}</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </${tag}>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${escapeXml(domain)}">
    <domain>${escapeXml(domain)}</domain>
    <displayName>${escapeXml(domain)}</displayName>
${offers.map(server).join('\n')}
  </emailProvider>
</clientConfig>
`;
}

function autodiscoverXml(offers: Offer[]): string {
  // Outlook reads the first <Protocol> of each type; <Encryption> says the mode outright (TLS = STARTTLS).
  const firstOf = (protocol: Offer['protocol']) => offers.find((o) => o.protocol === protocol);
  const chosen = [firstOf('IMAP') ?? firstOf('POP3'), firstOf('SMTP')].filter(
    (o): o is Offer => o !== undefined,
  );
  const protocol = (offer: Offer) => `      <Protocol>
        <Type>${offer.protocol}</Type>
        <Server>${escapeXml(offer.host)}</Server>
        <Port>${offer.port}</Port>
        <DomainRequired>off</DomainRequired>
        <SPA>off</SPA>
        <SSL>on</SSL>
        <Encryption>${offer.security === 'TLS' ? 'SSL' : 'TLS'}</Encryption>
        <AuthRequired>on</AuthRequired>
      </Protocol>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
${chosen.map(protocol).join('\n')}
    </Account>
  </Response>
</Autodiscover>
`;
}

function srvLines(domain: string, offers: Offer[]): string[] {
  return srvNames.map(([name, protocol, security]) =>
    srvLine(
      domain,
      name,
      security,
      offers.find((o) => o.protocol === protocol && o.security === security),
    ),
  );
}

/** The judgement with its documents, in the order the --json document has always had. */
export function publicationDocument(judgement: PublicationJudgement): Publication {
  const { domain, offers } = judgement;
  return {
    domain,
    offers,
    ...(offers.length > 0
      ? { autoconfig: autoconfigXml(domain, offers), autodiscover: autodiscoverXml(offers) }
      : {}),
    srv: srvLines(domain, offers),
    differences: judgement.differences,
    matches: judgement.matches,
  };
}

/** The publication as text: the three documents, then the differences. */
export function renderPublication(publication: Publication): string {
  const d = publication.domain;
  const out: string[] = [];
  if (!publication.autoconfig || !publication.autodiscover) {
    out.push(`# ${d}: no port worked safely on every address, so there is nothing fit to publish.`, '');
  } else {
    out.push(
      `# config-v1.1.xml — serve at https://autoconfig.${d}/mail/config-v1.1.xml and https://${d}/.well-known/autoconfig/mail/config-v1.1.xml`,
      publication.autoconfig,
      `# Autodiscover POX response — answer POST https://autodiscover.${d}/autodiscover/autodiscover.xml`,
      publication.autodiscover,
    );
  }
  out.push(`# SRV records (RFC 6186, RFC 8314 §5.1) — in the zone of ${d}`, ...publication.srv, '');
  out.push('# differences with what is published now');
  if (publication.differences.length === 0)
    out.push('nothing is published (no autoconfig, ISPDB entry, Autodiscover or SRV record)');
  for (const difference of publication.differences) {
    out.push(sanitize(difference.source));
    if (difference.remove.length === 0 && difference.add.length === 0 && !difference.replace?.length)
      out.push('  matches');
    for (const { setting, why } of difference.remove)
      out.push(
        `  - ${setting.protocol} ${setting.host}:${setting.port} ${setting.security} (${sanitize(setting.as)}): ${sanitize(why)}`,
      );
    for (const { record, offer, line } of difference.replace ?? [])
      out.push(
        `  ~ ${sanitize(record)} says ${offer.protocol} ${offer.security === 'TLS' ? 'with implicit TLS' : 'with STARTTLS'} is not offered, but ${offer.host}:${offer.port} works safely: publish instead`,
        `    ${sanitize(line)}`,
      );
    for (const offer of difference.add)
      out.push(
        `  + ${offer.protocol} ${offer.host}:${offer.port} ${offer.security}: works safely, not published here`,
      );
  }
  return `${out.join('\n')}\n`;
}
