/**
 * Fixes people can paste: for each finding that a server's configuration causes, what to do (one line) and the
 * setting that removes it in the servers people run (Postfix for SMTP; Dovecot for IMAP and POP3; Exim for SMTP).
 * One table, next to the rules. The parameter names are those of each server's documentation, checked against
 * Postfix 3.7 (`postconf -d`), Dovecot 2.3 (`doveconf -d`, its conf.d files) and the Exim specification
 * (chapters "Main configuration", "Encrypted SMTP connections using TLS/SSL"):
 *   https://www.postfix.org/postconf.5.html · https://doc.dovecot.org/2.3/settings/core/ · https://www.exim.org/docs.html
 * Paths in a setting (`/path/…`) stand for the operator's own files.
 */
import { isIP } from '../net/names.js';
import type { Finding, ServerFamily, ServerFix } from './finding.js';
import type { PortResult } from './rule.js';

export type { ServerFamily, ServerFix } from './finding.js';

/** What removes one finding: a line for people, and each server's setting. */
interface FixEntry {
  /** What to do, in a few words. */
  action: string;
  fixes: readonly ServerFix[];
}

/** Which servers speak which protocol: Postfix and Exim the SMTP ports, Dovecot IMAP and POP3. */
const speaks: Record<ServerFamily, readonly string[]> = {
  postfix: ['smtp'],
  exim: ['smtp'],
  dovecot: ['imap', 'pop3'],
};

/** The label people know each server by. */
export const serverLabel: Record<ServerFamily, string> = {
  postfix: 'Postfix',
  dovecot: 'Dovecot',
  exim: 'Exim',
};

const authAfterTls: readonly ServerFix[] = [
  { server: 'postfix', file: 'main.cf', setting: 'smtpd_tls_auth_only = yes' },
  {
    server: 'exim',
    file: 'configure (main)',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Exim's expansion syntax, not a template
    setting: 'auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}',
  },
];

/** A certificate and its whole chain (leaf first), and its key, as each server is told them. */
const certificateFiles: readonly ServerFix[] = [
  {
    server: 'postfix',
    file: 'main.cf',
    setting: 'smtpd_tls_chain_files = /path/privkey.pem, /path/fullchain.pem',
    note: 'Postfix 3.4 and later; before: smtpd_tls_cert_file (the full chain) and smtpd_tls_key_file',
  },
  { server: 'dovecot', file: 'conf.d/10-ssl.conf', setting: 'ssl_cert = </path/fullchain.pem' },
  { server: 'dovecot', file: 'conf.d/10-ssl.conf', setting: 'ssl_key = </path/privkey.pem' },
  { server: 'exim', file: 'configure (main)', setting: 'tls_certificate = /path/fullchain.pem' },
  { server: 'exim', file: 'configure (main)', setting: 'tls_privatekey = /path/privkey.pem' },
];

const modernTls: readonly ServerFix[] = [
  { server: 'postfix', file: 'main.cf', setting: 'smtpd_tls_protocols = >=TLSv1.2' },
  {
    server: 'postfix',
    file: 'main.cf',
    setting: 'smtpd_tls_mandatory_protocols = >=TLSv1.2',
    note: 'the >= form since Postfix 3.6; before: !SSLv2, !SSLv3, !TLSv1, !TLSv1.1 in both',
  },
  { server: 'dovecot', file: 'conf.d/10-ssl.conf', setting: 'ssl_min_protocol = TLSv1.2' },
  {
    server: 'exim',
    file: 'configure (main)',
    setting: 'tls_require_ciphers = NORMAL:-VERS-TLS1.0:-VERS-TLS1.1',
    note: 'GnuTLS builds (Debian); OpenSSL builds: openssl_options = +no_tlsv1 +no_tlsv1_1',
  },
];

const certificate = (action: string): FixEntry => ({ action, fixes: certificateFiles });

/** Every finding a configuration causes, with its fix. Findings not listed have no setting that removes them. */
export const fixTable: Readonly<Record<string, FixEntry>> = {
  'cleartext-auth-before-tls': {
    action: 'offer logging in only after TLS',
    fixes: [
      ...authAfterTls,
      {
        server: 'dovecot',
        file: 'conf.d/10-auth.conf',
        setting: 'disable_plaintext_auth = yes',
        note: 'Dovecot 2.4: auth_allow_cleartext = no',
      },
    ],
  },
  'challenge-auth-before-tls': {
    action: 'offer logging in only after TLS',
    fixes: [...authAfterTls, { server: 'dovecot', file: 'conf.d/10-ssl.conf', setting: 'ssl = required' }],
  },
  'auth-allowed-before-tls': {
    action: 'refuse logging in before TLS',
    fixes: [...authAfterTls, { server: 'dovecot', file: 'conf.d/10-ssl.conf', setting: 'ssl = required' }],
  },
  'submission-auth-not-offered': {
    action: 'offer SMTP AUTH once TLS is up on the submission ports',
    fixes: [
      {
        server: 'postfix',
        file: 'master.cf (submission, submissions)',
        setting: '-o smtpd_sasl_auth_enable=yes',
        note: 'with smtpd_sasl_type and smtpd_sasl_path (Dovecot: smtpd_sasl_type = dovecot, smtpd_sasl_path = private/auth)',
      },
    ],
  },
  'starttls-not-offered': {
    action: 'offer STARTTLS (a certificate and key configured)',
    fixes: [
      {
        server: 'postfix',
        file: 'main.cf',
        setting: 'smtpd_tls_security_level = may',
        note: 'with smtpd_tls_chain_files; on 587 (master.cf submission): -o smtpd_tls_security_level=encrypt',
      },
      {
        server: 'dovecot',
        file: 'conf.d/10-ssl.conf',
        setting: 'ssl = yes',
        note: 'with ssl_cert and ssl_key',
      },
      {
        server: 'exim',
        file: 'configure (main)',
        setting: 'tls_advertise_hosts = *',
        note: 'with tls_certificate and tls_privatekey',
      },
    ],
  },
  'plaintext-on-tls-port': {
    action: 'speak TLS from the first byte on this port',
    fixes: [
      { server: 'postfix', file: 'master.cf (submissions)', setting: '-o smtpd_tls_wrappermode=yes' },
      { server: 'dovecot', file: 'conf.d/10-master.conf (inet_listener imaps, pop3s)', setting: 'ssl = yes' },
      { server: 'exim', file: 'configure (main)', setting: 'tls_on_connect_ports = 465' },
    ],
  },
  'tls-on-plaintext-port': {
    action: 'speak plaintext with STARTTLS on this port',
    fixes: [
      { server: 'postfix', file: 'master.cf (submission, smtp)', setting: '-o smtpd_tls_wrappermode=no' },
      {
        server: 'dovecot',
        file: 'conf.d/10-master.conf (inet_listener imap, pop3)',
        setting: 'ssl = no',
        note: 'STARTTLS stays offered when conf.d/10-ssl.conf says ssl = yes',
      },
      { server: 'exim', file: 'configure (main)', setting: 'tls_on_connect_ports = 465' },
    ],
  },
  'tls-legacy-version': { action: 'accept TLS 1.2 and later only', fixes: modernTls },
  'tls-legacy-accepted': { action: 'accept TLS 1.2 and later only', fixes: modernTls },
  'cert-expired': certificate('renew the certificate, then reload the server'),
  'cert-expiring-soon': certificate('renew the certificate (or its automatic renewal), then reload'),
  'cert-not-yet-valid': certificate('serve the certificate in force (or fix the clock)'),
  'cert-name-mismatch': certificate('serve a certificate whose subjectAltName has this name'),
  'cert-cn-only': certificate('serve a certificate with its name in subjectAltName'),
  'cert-untrusted': certificate('serve a certificate from a public CA, with its chain'),
  'cert-chain-incomplete': certificate('send the whole chain, leaf first (fullchain.pem)'),
  'cert-chain-order': certificate('send the chain in order, leaf first (fullchain.pem)'),
  'cert-weak-key': certificate('serve a new certificate: RSA 2048+ or ECDSA P-256'),
  'cert-weak-signature': certificate('serve a new certificate signed with SHA-256'),
  'cert-revoked': certificate('serve a new certificate'),
  'cert-date-unreadable': certificate('serve a new certificate'),
};

/** The action line of a finding, when its cause is a setting. */
export function fixAction(id: string): string | undefined {
  return fixTable[id]?.action;
}

/** The settings that remove finding `id` on a port speaking `protocol`, for each server that speaks it. */
export function fixesFor(id: string, protocol: string): ServerFix[] {
  return (fixTable[id]?.fixes ?? []).filter((fix) => speaks[fix.server].includes(protocol));
}

/** Each family's name as a word of its own: not part of a host name (mail.postfix.org) or another word. */
const familyWords = (['postfix', 'exim', 'dovecot'] as const).map(
  (family) => [family, new RegExp(`(?<![\\w.-])${family}(?![\\w.-])`, 'i')] as const,
);

/** The server family a port's greeting names (Postfix, Exim or Dovecot put their name there by default). */
export function greetingFamily(port: Pick<PortResult, 'greeting' | 'protocol'>): ServerFamily | undefined {
  const text = port.greeting?.lines.join(' ') ?? '';
  const named = familyWords.find(([, word]) => word.test(text))?.[0];
  return named && speaks[named].includes(port.protocol) ? named : undefined;
}

/**
 * The name was checked against an IP address and failed on every TLS port that sent a certificate: the report
 * says to pass `--servername NAME` rather than to replace the certificate.
 */
export function needsServername(
  host: { servername: string; ports: readonly Pick<PortResult, 'port' | 'address' | 'tls'>[] },
  findings: readonly Pick<Finding, 'id' | 'port' | 'address'>[],
): boolean {
  if (isIP(host.servername.replace(/^\[(.*)\]$/, '$1')) === 0) return false;
  const certified = host.ports.filter((port) => port.tls?.certificate);
  return (
    certified.length > 0 &&
    certified.every((port) =>
      findings.some(
        (f) =>
          (f.id === 'cert-name-mismatch' || f.id === 'cert-cn-only') &&
          f.port === port.port &&
          f.address === port.address,
      ),
    )
  );
}
