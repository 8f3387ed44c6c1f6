import type crypto from 'node:crypto';
import net from 'node:net';
import type tls from 'node:tls';

/** What a TLS session and its certificate showed. Facts only; the rules judge them. */
export interface TlsFacts {
  /** Negotiated protocol, e.g. "TLSv1.3". */
  protocol: string;
  /** Negotiated cipher suite (standard name). */
  cipher: string;
  certificate?: CertificateFacts;
  /** The chain verified against the trusted roots (Node's bundled Mozilla store plus --ca). */
  trusted: boolean;
  /** The OpenSSL verification code when not trusted, e.g. "SELF_SIGNED_CERT_IN_CHAIN". */
  trustError?: string;
  /** The name the certificate was checked against (the host typed, or --servername). */
  checkedName: string;
  /** The certificate is valid for `checkedName` (RFC 6125 rules, as Node's checkServerIdentity applies them). */
  nameMatches: boolean;
  /** Why the name does not match, when it does not. */
  nameError?: string;
}

/** The leaf certificate, as observed. */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  /** Subject alternative names, e.g. ["DNS:mail.example.com", "IP Address:192.0.2.1"]. */
  subjectAltNames: string[];
  /** ISO 8601. */
  validFrom: string;
  /** ISO 8601. */
  validTo: string;
  /** SHA-256 of the DER certificate, colon-separated hex. */
  sha256: string;
  /** Certificates in the chain the server sent, leaf included. */
  chainLength: number;
}

/** Certificates in the chain: the leaf, then each issuer the session knows (at most 20). */
function chainLength(leaf: crypto.X509Certificate): number {
  let length = 1;
  let current = leaf.issuerCertificate;
  while (current && length < 20 && current.fingerprint256 !== leaf.fingerprint256) {
    length++;
    if (current.issuerCertificate?.fingerprint256 === current.fingerprint256) break;
    current = current.issuerCertificate;
  }
  return length;
}

/**
 * Reads the session's facts. The certificate is read once as an X509Certificate (getPeerCertificate(true)
 * cost about 1 ms a connection here, most of a local probe's CPU). The name check is OpenSSL's
 * X509_check_host / X509_check_ip, as mail clients built on OpenSSL apply it: SAN entries first, the
 * subject CN only when the certificate has no DNS names, a wildcard only as the whole leftmost label.
 */
export function readTlsFacts(socket: tls.TLSSocket, checkedName: string): TlsFacts {
  const cipher = socket.getCipher();
  const facts: TlsFacts = {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: cipher.standardName ?? cipher.name,
    trusted: socket.authorized,
    checkedName,
    nameMatches: false,
  };
  if (!socket.authorized && socket.authorizationError) facts.trustError = String(socket.authorizationError);
  const x509 = socket.getPeerX509Certificate();
  if (!x509) {
    facts.nameError = 'the server sent no certificate';
    return facts;
  }
  const names = (x509.subjectAltName ?? '').split(/,\s*/).filter((name) => name.length > 0);
  facts.certificate = {
    subject: x509.subject.replace(/\n/g, ', '),
    issuer: x509.issuer.replace(/\n/g, ', '),
    subjectAltNames: names,
    validFrom: new Date(x509.validFrom).toISOString(),
    validTo: new Date(x509.validTo).toISOString(),
    sha256: x509.fingerprint256,
    chainLength: chainLength(x509),
  };
  const name = checkedName.replace(/^\[(.*)\]$/, '$1');
  facts.nameMatches = (net.isIP(name) ? x509.checkIP(name) : x509.checkHost(name)) !== undefined;
  if (!facts.nameMatches) {
    facts.nameError = `${name} is not among the certificate's names (${names.join(', ') || x509.subject.replace(/\n/g, ', ')})`;
  }
  return facts;
}
