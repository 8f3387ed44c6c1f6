import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

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

function distinguishedName(name: tls.Certificate | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}

function chainLength(cert: tls.DetailedPeerCertificate): number {
  let length = 1;
  let current = cert;
  while (current.issuerCertificate && current.issuerCertificate !== current && length < 20) {
    current = current.issuerCertificate;
    length++;
  }
  return length;
}

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
  const cert = socket.getPeerCertificate(true);
  if (cert && Object.keys(cert).length > 0 && cert.raw) {
    const x509 = new crypto.X509Certificate(cert.raw);
    facts.certificate = {
      subject: distinguishedName(cert.subject),
      issuer: distinguishedName(cert.issuer),
      subjectAltNames: (cert.subjectaltname ?? '').split(/,\s*/).filter((name) => name.length > 0),
      validFrom: new Date(x509.validFrom).toISOString(),
      validTo: new Date(x509.validTo).toISOString(),
      sha256: x509.fingerprint256,
      chainLength: chainLength(cert),
    };
    // checkServerIdentity wants a bare address for IP literals ("::1", not "[::1]").
    const name = checkedName.replace(/^\[(.*)\]$/, '$1');
    const error = tls.checkServerIdentity(net.isIP(name) ? name : name.toLowerCase(), cert);
    facts.nameMatches = error === undefined;
    if (error) facts.nameError = error.message;
  } else {
    facts.nameError = 'the server sent no certificate';
  }
  return facts;
}
