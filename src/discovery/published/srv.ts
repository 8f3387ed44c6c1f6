/**
 * The RFC 6186/8314 SRV records discovery read, as one published source: what an SRV-reading client is told. No
 * fetch: it needs only the discovery's DNS records (so `--no-web` runs have it too).
 */
import type { Discovery, PublishedSetting, PublishedSource } from '../../types/index.js';

/** SRV names and what a client reads from them (RFC 6186 §3, RFC 8314 §5.1). */
const srvSettings: Record<string, Pick<PublishedSetting, 'direction' | 'protocol' | 'security'>> = {
  '_submissions._tcp': { direction: 'outgoing', protocol: 'SMTP', security: 'TLS' },
  '_submission._tcp': { direction: 'outgoing', protocol: 'SMTP', security: 'STARTTLS' },
  '_imaps._tcp': { direction: 'incoming', protocol: 'IMAP', security: 'TLS' },
  '_imap._tcp': { direction: 'incoming', protocol: 'IMAP', security: 'STARTTLS' },
  '_pop3s._tcp': { direction: 'incoming', protocol: 'POP3', security: 'TLS' },
  '_pop3._tcp': { direction: 'incoming', protocol: 'POP3', security: 'STARTTLS' },
};

/** The SRV records discovery read, as one source (RFC 6186), in record order; none when there is no such record. */
export function srvSource(discovery: Discovery): PublishedSource | undefined {
  const settings: PublishedSetting[] = [];
  for (const record of discovery.records) {
    if (record.kind !== 'SRV' || record.note || record.answer === '') continue;
    const prefix = record.query.slice(0, record.query.length - discovery.domain.length - 1);
    const meaning = srvSettings[prefix];
    const [, , port, target] = record.answer.split(' ');
    if (!meaning || !port || !target) continue;
    settings.push({
      ...meaning,
      host: target.replace(/\.$/, '').toLowerCase(),
      port: Number(port),
      as: `SRV ${prefix}`,
    });
  }
  return settings.length > 0
    ? {
        kind: 'srv',
        location: `SRV _submissions/_submission/_imaps/_imap/_pop3s/_pop3._tcp.${discovery.domain}`,
        domain: discovery.domain,
        settings,
      }
    : undefined;
}
