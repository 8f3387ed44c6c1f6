/** The certificates block of the human report: one line per distinct leaf; with --verbose, each chain as sent. */

import type { PortVerdict } from '../rules/evaluate.js';
import type { CheckedHost } from '../rules/outcome.js';
import type { ChainCertificate } from '../tls/chain.js';
import { sanitize } from './sanitize.js';
import type { Style } from './style.js';

function keyLabel(cert: ChainCertificate): string {
  return `${cert.keyType.toUpperCase()} ${cert.keyBits}${cert.curve ? ` ${cert.curve}` : ''}`;
}

/** One line per distinct leaf certificate (with the ports that sent it); with verbose, each chain as sent. */
export function certificateLines(verdict: CheckedHost, verbose: boolean, s: Style): string[] {
  const seen = new Map<string, { port: PortVerdict; ports: string[] }>();
  for (const port of verdict.ports) {
    const sha = port.tls?.certificate?.sha256;
    if (!sha) continue;
    const entry = seen.get(sha) ?? { port, ports: [] };
    if (!entry.ports.includes(String(port.port))) entry.ports.push(String(port.port));
    seen.set(sha, entry);
  }
  const out: string[] = [];
  for (const { port, ports } of seen.values()) {
    const tls = port.tls;
    const cert = tls?.certificate;
    if (!tls || !cert) continue;
    const dns = cert.subjectAltNames.filter((name) => name.startsWith('DNS:')).map((name) => name.slice(4));
    const names =
      dns.length > 0
        ? `${dns.slice(0, 2).join(', ')}${dns.length > 2 ? ` (+${dns.length - 2})` : ''}`
        : cert.subject;
    const leaf = tls.chain?.[0];
    const left = port.certificateDaysLeft ?? 0;
    const verdictWord = tls.trusted ? s.green('trusted') : s.red('not trusted');
    const days = cert.unreadableDates
      ? s.red(`${cert.unreadableDates.map((date) => date.field).join(' and ')} unreadable`)
      : left < 0
        ? s.red(`expired ${-left} days ago`)
        : `${left} days left`;
    out.push(
      ` ${sanitize(names)} · issued by ${sanitize(cert.issuer)} · ${days}${leaf ? ` · ${keyLabel(leaf)}` : ''} · ${verdictWord}${tls.ocsp?.certStatus ? ` · OCSP ${tls.ocsp.certStatus} (stapled)` : ''} · port${ports.length > 1 ? 's' : ''} ${ports.join(', ')}`,
    );
    if (!verbose) continue;
    for (const entry of tls.chain ?? []) {
      const role = `#${entry.index} ${entry.role}`.padEnd(16);
      const problems = entry.problems.length > 0 ? s.red(` · ${entry.problems.join(', ')}`) : '';
      out.push(
        s.dim(`   ${role}`) +
          `${sanitize(entry.subject)} ← ${sanitize(entry.issuer)} · ${entry.validFrom?.slice(0, 10) ?? '?'}..${entry.validTo?.slice(0, 10) ?? '?'} · ${keyLabel(entry)} · ${entry.signatureAlgorithm}${entry.ca ? ' · CA' : ''}${problems}`,
      );
    }
  }
  return out;
}
