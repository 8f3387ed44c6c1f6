/** What a TLS session and its certificates showed: facts only; the rules judge them. */

/** What a stapled OCSP response says about one certificate (RFC 6960 §4.2.1). */
export interface OcspStatus {
  /** successful (0) or the responder's error status, by name. */
  responseStatus: string;
  /** The certificate's status, when the response was successful. */
  certStatus?: 'good' | 'revoked' | 'unknown';
  /** Serial number of the certificate the single response is about (hex, upper case). */
  serialNumber?: string;
  thisUpdate?: string;
  nextUpdate?: string;
  revokedAt?: string;
}
/** What is wrong with one certificate of the chain as sent. */
export type CertificateProblem =
  | 'expired'
  | 'not-yet-valid'
  | 'weak-signature'
  | 'weak-key'
  | 'not-a-ca'
  | 'untrusted-root'
  | 'out-of-order'
  | 'unrelated'
  | 'unreadable-date';

/** One certificate as the server sent it. */
export interface ChainCertificate {
  /** Position in the chain as sent: 0 is the leaf. */
  index: number;
  /** leaf (index 0), a self-signed root, or an intermediate. */
  role: 'leaf' | 'intermediate' | 'root';
  /** The subject, as "CN=…, O=…". */
  subject: string;
  /** The issuer, as "CN=…, O=…". */
  issuer: string;
  /** The leaf's subject alternative names (only on the leaf). */
  subjectAltNames?: string[];
  /** ISO 8601; absent when the date cannot be read (see `unreadableDates`). */
  validFrom?: string;
  /** ISO 8601; absent when the date cannot be read (see `unreadableDates`). */
  validTo?: string;
  /** Whole days from the probe's start to validTo (negative once expired); absent when validTo is. */
  daysLeft?: number;
  /** Validity times that cannot be read (RFC 5280 §4.1.2.5), each as encoded; absent when both can. */
  unreadableDates?: UnreadableDate[];
  /** rsa, ec, ed25519, ed448, dsa, rsa-pss. */
  keyType: string;
  /** RSA/DSA modulus bits, EC curve bits (P-256: 256), Ed25519: 256. */
  keyBits: number;
  /** EC curve name, when the key is EC. */
  curve?: string;
  /** e.g. sha256WithRSAEncryption, ecdsa-with-SHA384, rsassaPss-sha256. */
  signatureAlgorithm: string;
  /** basicConstraints CA:TRUE. */
  ca: boolean;
  /** Issued by itself (a root), its signature verified with its own key. */
  selfSigned: boolean;
  /** SHA-256 of the DER certificate, colon-separated hex. */
  sha256: string;
  /** Serial number, hex. */
  serialNumber: string;
  /**
   * The digests a TLSA record names (RFC 6698 §2.1.2-2.1.3), kept only when DANE was asked for (`--dane`): SHA-256
   * and SHA-512 of the DER SubjectPublicKeyInfo, and SHA-512 of the DER certificate (its SHA-256 is `sha256`).
   * Lower-case hex, no separators.
   */
  dane?: { spkiSha256: string; spkiSha512: string; certSha512: string };
  /** What is wrong with this certificate; empty when nothing is. */
  problems: CertificateProblem[];
  /**
   * The certificate as sent, PEM (base64 of the DER, 64 columns): kept only when asked (`keepCertificates`,
   * the CLI's --show-certs), since a chain's PEM is several KB a port.
   */
  pem?: string;
}

/** A validity time of a certificate that cannot be read as a date. */
export interface UnreadableDate {
  /** notBefore or notAfter (RFC 5280 §4.1.2.5). */
  field: 'notBefore' | 'notAfter';
  /** The time as encoded, e.g. 'UTCTime "991301000000Z"', or what the certificate parser said of it. */
  encoded: string;
}

/** One reason a default client would refuse the chain. */
export interface TrustProblem {
  /** What kind of problem; each kind has a finding of severity high or above. */
  kind:
    | 'expired'
    | 'not-yet-valid'
    | 'weak-signature'
    | 'weak-key'
    | 'issuer-not-ca'
    | 'untrusted-root'
    | 'incomplete-chain'
    | 'unreadable-date'
    | 'verification-failed';
  /** Which certificate: "leaf", "intermediate 1", "root", or "root (trust store)". */
  certificate: string;
  /** Its index in the chain as sent (absent for a root from the trust store). */
  index?: number;
  /** What is wrong, naming the certificate and the date, algorithm or key. */
  detail: string;
}
/** What a TLS session and its certificate showed. Facts only; the rules judge them. */
export interface TlsFacts {
  /** Negotiated protocol, e.g. "TLSv1.3". */
  protocol: string;
  /** Negotiated cipher suite (standard name). */
  cipher: string;
  /** The leaf certificate, when the server sent one. */
  certificate?: CertificateFacts;
  /**
   * A default client would accept the chain: OpenSSL verified it against the trusted roots (Node's bundled
   * Mozilla store, NODE_EXTRA_CA_CERTS, --ca) and no certificate of the path is out of date, signed with
   * SHA-1/MD5 or carries a weak key. `trustProblems` says why not.
   */
  trusted: boolean;
  /** OpenSSL's own verification code when it refused the chain, e.g. "SELF_SIGNED_CERT_IN_CHAIN". */
  trustError?: string;
  /** Every reason the chain is not trusted, each naming its certificate; empty when trusted. */
  trustProblems?: TrustProblem[];
  /** The certificates exactly as the server sent them, leaf first. */
  chain?: ChainCertificate[];
  /** The stapled OCSP response, when the server sent one (it is never fetched). */
  ocsp?: OcspFacts;
  /** The name the certificate was checked against (A-label form, no trailing dot). */
  checkedName: string;
  /** The certificate is valid for `checkedName` under RFC 9525: DNS-IDs or iPAddress SANs only, never the CN. */
  nameMatches: boolean;
  /** Why the name does not match, when it does not. */
  nameError?: string;
  /**
   * With --dane: the index in `dane.records` of a DANE-TA Full record (2 0 0, a certificate; 2 1 0, a public key)
   * whose certificate or key signed the last certificate of `chain`, none sent being that record's: the server
   * left the trust anchor out, as RFC 7671 §5.2.2-5.2.3 allow; a DANE client takes it from the record.
   */
  tlsaIssuer?: number;
}

/** A stapled OCSP response: its status as sent. The responder's signature is not verified. */
export interface OcspFacts extends OcspStatus {
  /** The response could not be read; the reason. */
  error?: string;
}

/** The leaf certificate, as observed (the whole chain is in `TlsFacts.chain`). */
export interface CertificateFacts {
  /** The subject, as "CN=…, O=…". */
  subject: string;
  /** The issuer, as "CN=…, O=…". */
  issuer: string;
  /** Subject alternative names, e.g. ["DNS:mail.example.com", "IP Address:192.0.2.1"]. */
  subjectAltNames: string[];
  /** ISO 8601; absent when it cannot be read (`unreadableDates` says how it is encoded). */
  validFrom?: string;
  /** ISO 8601; absent when it cannot be read (`unreadableDates` says how it is encoded). */
  validTo?: string;
  /** The leaf's validity times that cannot be read as dates; absent when both can. */
  unreadableDates?: UnreadableDate[];
  /** SHA-256 of the DER certificate, colon-separated hex. */
  sha256: string;
  /** Certificates in the chain the server sent, leaf included. */
  chainLength: number;
}

/** One TLSA record as the DNS gave it (RFC 6698 §2.1). */
export interface TlsaRecord {
  /** Certificate usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE (RFC 7218). */
  usage: number;
  /** 0 the whole certificate, 1 its SubjectPublicKeyInfo. */
  selector: number;
  /** 0 exact bytes, 1 SHA-256, 2 SHA-512. */
  matchingType: number;
  /** The certificate association data, lower-case hex. */
  data: string;
  /**
   * Matching type 0 (Full) only: SHA-256 of the data, lower-case hex, compared with the certificate's SHA-256
   * (selector 0) or its key's (selector 1).
   */
  dataSha256?: string;
}

/**
 * The TLSA lookup for one service (`_PORT._tcp.HOST`, RFC 6698 §3), asked with the DO bit over UDP (TCP when the
 * answer is truncated). Facts only: whether the answer is validated is the resolver's AD bit, and whether that
 * bit counts is whether the resolver is one the user trusts (named with --dns-server, or on loopback).
 */
export interface TlsaLookup {
  /** The name asked, e.g. _25._tcp.mx.example.org. */
  name: string;
  port: number;
  /** The resolver asked, ADDR:PORT. */
  resolver: string;
  /** Why its AD bit counts, or why not: "named with --dns-server", "on loopback", "not on loopback: ...". */
  resolverTrust: string;
  /** The AD bit may be believed: the resolver was named with --dns-server or is on loopback. */
  resolverTrusted: boolean;
  /** found: TLSA records; none: NOERROR without any or NXDOMAIN; failed: SERVFAIL, REFUSED, timeout, garbage. */
  outcome: 'found' | 'none' | 'failed';
  /** The response code (NOERROR, NXDOMAIN, SERVFAIL, ...), when an answer came. */
  rcode?: string;
  /** The AD (authentic data) bit of the answer (RFC 4035 §3.2.3). */
  authenticData: boolean;
  /** The transport the answer came by. */
  transport?: 'udp' | 'tcp';
  /** The records found (answer section, TLSA type only). */
  records: TlsaRecord[];
  /** What failed, when the outcome is failed. */
  error?: string;
  /**
   * The host name is an alias (a CNAME chain in the answer to its addresses): where it led, and whether the chain
   * validated. Validated, the expanded name was asked first (RFC 7672 §2.2.3); `name` says which was used.
   */
  alias?: { host: string; target: string; secure: boolean };
}

/** What DANE says of one port (rules/dane.ts decides it), the words `--expect PORT=dane=WORD` takes. */
export type DaneStatus = 'valid' | 'mismatch' | 'no-tls' | 'unusable' | 'unvalidated' | 'unknown' | 'none';
