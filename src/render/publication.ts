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
  /** --no-web: the web sources (autoconfig, ISPDB, Autodiscover) were not fetched; only the SRV records were compared. */
  onlySrv?: true;
}

/** The names `publish --write-dir` gives the three documents. */
export const publicationFiles = {
  autoconfig: 'config-v1.1.xml',
  autodiscover: 'autodiscover.xml',
  srv: 'srv.zone',
} as const;

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

/** The SRV zone file: the records, with a comment saying where they go. */
export function srvZone(publication: Publication): string {
  return `; SRV records (RFC 6186, RFC 8314 §5.1) for the zone of ${publication.domain}\n${publication.srv.join('\n')}\n`;
}

/**
 * The publication as text: the three documents (or, with `written`, where each was written), then the differences.
 * When no port is fit to publish, it says to fix the servers first, above the zone lines.
 */
export function renderPublication(
  publication: Publication,
  written?: Partial<Record<keyof typeof publicationFiles, string>>,
): string {
  const d = publication.domain;
  const out: string[] = [];
  const where = {
    autoconfig: `serve at https://autoconfig.${d}/mail/config-v1.1.xml and https://${d}/.well-known/autoconfig/mail/config-v1.1.xml`,
    autodiscover: `answer POST https://autodiscover.${d}/autodiscover/autodiscover.xml`,
    srv: `in the zone of ${d}`,
  };
  if (!publication.autoconfig || !publication.autodiscover) {
    out.push(
      `# ${d}: fix the servers first. No port worked safely on every address, so nothing is fit to publish:`,
      '# the SRV lines below would tell clients that no service is offered. Run `mailprobe HOST` on each mail',
      '# host to see what to fix, then run publish again.',
    );
  } else if (written?.autoconfig && written.autodiscover) {
    out.push(
      `# config-v1.1.xml written to ${written.autoconfig} — ${where.autoconfig}`,
      `# Autodiscover POX response written to ${written.autodiscover} — ${where.autodiscover}`,
    );
  } else {
    out.push(
      `# config-v1.1.xml — ${where.autoconfig}`,
      publication.autoconfig,
      `# Autodiscover POX response — ${where.autodiscover}`,
      publication.autodiscover,
    );
  }
  if (written?.srv) out.push(`# SRV records written to ${written.srv} — ${where.srv}`, '');
  else out.push(`# SRV records (RFC 6186, RFC 8314 §5.1) — ${where.srv}`, ...publication.srv, '');
  out.push(
    publication.onlySrv
      ? '# differences with what is published now (--no-web: the SRV records only; autoconfig, ISPDB and Autodiscover not fetched)'
      : '# differences with what is published now',
  );
  if (publication.differences.length === 0)
    out.push(
      publication.onlySrv
        ? 'no SRV record is published'
        : 'nothing is published (no autoconfig, ISPDB entry, Autodiscover or SRV record)',
    );
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
