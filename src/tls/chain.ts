/**
 * The certificate chain as the server sent it, and whether a careful default client would accept it.
 *
 * The handshake itself is permissive (security level 0, no rejection) so that the report shows what the
 * server offers. This module decides trust as Node's or OpenSSL's default client does: every certificate
 * of the path in its validity period, every issuer a CA, the path ending at a trusted root, no SHA-1/MD5
 * signature (a root's self-signature excepted) and no key under 2048 bits RSA/DSA or 256 bits EC. Nothing
 * is fetched (no AIA, no OCSP, no CRL): mail clients do not fetch missing intermediates either.
 */
import type { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { nodeTls } from '../net/dial.js';
import type { CertificateProblem, ChainCertificate, TrustProblem, UnreadableDate } from '../types/index.js';
import { issuerNameDer, signatureAlgorithm, validityTexts } from './der.js';

export type { CertificateProblem, ChainCertificate, TrustProblem, UnreadableDate } from '../types/index.js';

const x509 = () => process.getBuiltinModule('node:crypto').X509Certificate;

const dayMs = 86_400_000;

/** The chain's verdict as a default client would reach it. */
export interface ChainVerdict {
  /** Every certificate as sent, leaf first, with what is wrong with each. */
  chain: ChainCertificate[];
  /** A default client would accept the chain. */
  trusted: boolean;
  /** Why not, when not; empty when trusted. */
  problems: TrustProblem[];
  /** Indexes, in the chain as sent, of the path from the leaf up (the order a client builds it). */
  path: number[];
}

const weakHashes = /^(md2|md4|md5|sha1)With|^ecdsa-with-SHA1$|^dsa-with-SHA1$|^rsassaPss-(sha1|md5)$/i;
const curveBits: Record<string, number> = {
  prime256v1: 256,
  secp384r1: 384,
  secp521r1: 521,
  secp224r1: 224,
  secp192r1: 192,
  prime192v1: 192,
  secp256k1: 256,
  brainpoolP256r1: 256,
  brainpoolP384r1: 384,
  brainpoolP512r1: 512,
};

function keyOf(cert: X509Certificate): { keyType: string; keyBits: number; curve?: string } {
  let key: X509Certificate['publicKey'];
  try {
    key = cert.publicKey;
  } catch {
    // A key algorithm this Node cannot load: reported as unknown, never an exception.
    return { keyType: 'unknown', keyBits: 0 };
  }
  const type = key.asymmetricKeyType ?? 'unknown';
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    const curve = details.namedCurve ?? 'unknown';
    return { keyType: type, keyBits: curveBits[curve] ?? 0, curve };
  }
  if (type === 'ed25519' || type === 'x25519') return { keyType: type, keyBits: 256 };
  if (type === 'ed448' || type === 'x448') return { keyType: type, keyBits: 448 };
  return { keyType: type, keyBits: details.modulusLength ?? 0 };
}

function isWeakKey(cert: ChainCertificate): boolean {
  if (cert.keyType === 'rsa' || cert.keyType === 'rsa-pss' || cert.keyType === 'dsa')
    return cert.keyBits < 2048;
  if (cert.keyType === 'ec') return cert.keyBits < 256;
  return false;
}

/**
 * What is read from one certificate's DER and from nothing else, remembered by its SHA-256: a batch meets the
 * same leaf, intermediates and roots thousands of times, and reading them (key details, signature algorithm, a
 * self-signature check, dates) cost about 0.1 ms of CPU a connection. Bounded, as servers choose what they send.
 */
interface CertificateRead {
  subject: string;
  issuer: string;
  subjectAltNames: string[];
  validFrom: string | undefined;
  validTo: string | undefined;
  validToMs: number;
  unreadableDates: UnreadableDate[];
  key: { keyType: string; keyBits: number; curve?: string };
  signatureAlgorithm: string;
  ca: boolean;
  selfSigned: boolean;
  serialNumber: string;
}
const reads = new Map<string, CertificateRead>();
const verdicts = new Map<string, boolean>();

/** Sets `key` in a memo bounded at 2000 entries (cleared when full), and gives `value` back. */
export function remember<V>(memo: Map<string, V>, key: string, value: V): V {
  if (memo.size >= 2000) memo.clear();
  memo.set(key, value);
  return value;
}

/** `issuer` signed `subject` (names chained and the signature verified); remembered per pair of SHA-256s. */
function issued(issuer: X509Certificate, subject: X509Certificate): boolean {
  const key = `${issuer.fingerprint256}>${subject.fingerprint256}`;
  const known = verdicts.get(key);
  if (known !== undefined) return known;
  let verdict: boolean;
  try {
    verdict = subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    verdict = false;
  }
  return remember(verdicts, key, verdict);
}

/**
 * One validity time as ISO 8601. A time OpenSSL cannot print (a month 13, a letter among the digits) comes from
 * Node as "Bad time value", and `new Date(…).toISOString()` would throw: such a date is a fact about the
 * certificate (unreadable, with its encoding as evidence), never an exception.
 */
function readDate(
  cert: X509Certificate,
  field: 'notBefore' | 'notAfter',
): { iso: string | undefined; ms: number; unreadable?: UnreadableDate } {
  let text: string;
  try {
    text = field === 'notBefore' ? cert.validFrom : cert.validTo;
  } catch (error) {
    text = error instanceof Error ? error.message : String(error);
  }
  const ms = Date.parse(text);
  if (Number.isFinite(ms)) return { iso: new Date(ms).toISOString(), ms };
  let encoded: string;
  try {
    encoded = validityTexts(cert.raw)[field];
  } catch {
    encoded = JSON.stringify(text.slice(0, 60));
  }
  return { iso: undefined, ms: Number.NaN, unreadable: { field, encoded } };
}

function read(cert: X509Certificate): CertificateRead {
  const fingerprint = cert.fingerprint256;
  const known = reads.get(fingerprint);
  if (known) return known;
  let algorithm: string;
  try {
    algorithm = signatureAlgorithm(cert.raw);
  } catch {
    algorithm = 'unknown';
  }
  const from = readDate(cert, 'notBefore');
  const to = readDate(cert, 'notAfter');
  return remember(reads, fingerprint, {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    subjectAltNames: (cert.subjectAltName ?? '').split(/,\s*/).filter((name) => name.length > 0),
    validFrom: from.iso,
    validTo: to.iso,
    validToMs: to.ms,
    unreadableDates: [from.unreadable, to.unreadable].filter((date) => date !== undefined),
    key: keyOf(cert),
    signatureAlgorithm: algorithm,
    ca: cert.ca,
    selfSigned: issued(cert, cert),
    serialNumber: cert.serialNumber.toUpperCase().replace(/^0+(?=.)/, ''),
  });
}

function pemOf(cert: X509Certificate): string {
  const base64 = cert.raw
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----`;
}

const pemBlock = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The roots a client trusts: Node's bundled Mozilla store, NODE_EXTRA_CA_CERTS and --ca. */
export class TrustStore {
  private pems: Set<string> | undefined;
  private rootDers: { pem: string; der: Buffer }[] | undefined;
  private byName = new Map<string, X509Certificate[]>();
  private extras: string[] | undefined;
  private extraFingerprints: Set<string> | undefined;
  constructor(private readonly extra: string | undefined) {}

  /** The extra roots' PEM blocks (--ca, NODE_EXTRA_CA_CERTS), read once. */
  private extraPems(): string[] {
    this.extras ??= this.readExtraPems();
    return this.extras;
  }

  private readExtraPems(): string[] {
    const texts = [this.extra ?? ''];
    const file = process.env.NODE_EXTRA_CA_CERTS;
    if (file) {
      try {
        // Node read this file at start-up already; bounded so a wrong path cannot stall the probe.
        if (statSync(file).isFile() && statSync(file).size < 4_000_000)
          texts.push(readFileSync(file, 'utf8'));
      } catch {
        // Node warns about an unreadable file itself.
      }
    }
    return texts.flatMap((text) =>
      (text.match(pemBlock) ?? []).map((block) => block.replace(/\r/g, '').trim()),
    );
  }

  /** Whether this exact certificate is one of the trusted roots (a string lookup: no parsing). */
  has(cert: X509Certificate): boolean {
    if (!this.pems)
      this.pems = new Set([...nodeTls().rootCertificates.map((pem) => pem.trim()), ...this.extraPems()]);
    const pem = pemOf(cert);
    if (this.pems.has(pem)) return true;
    // --ca files may wrap lines differently: compare by fingerprint, the extra roots parsed once.
    if (!this.extraFingerprints) {
      this.extraFingerprints = new Set();
      for (const extra of this.extraPems()) {
        try {
          this.extraFingerprints.add(new (x509())(extra).fingerprint256);
        } catch {
          // an unparseable extra root trusts nothing
        }
      }
    }
    return this.extraFingerprints.has(cert.fingerprint256);
  }

  /**
   * The trusted root that issued `cert`, if any. Parsing all ~140 bundled roots as X509Certificate costs about
   * 40 ms of CPU, which stalled every other socket of the run; instead the roots are only base64-decoded (once
   * per process, under 1 ms), and only those whose DER holds the exact bytes of `cert`'s issuer Name are parsed
   * and checked (the signature included).
   */
  issuerOf(cert: X509Certificate): X509Certificate | undefined {
    let name: Uint8Array;
    try {
      name = issuerNameDer(cert.raw);
    } catch {
      return undefined;
    }
    // Remembered per issuer Name: a batch probes thousands of chains from a handful of CAs.
    const key = Buffer.from(name).toString('base64');
    let candidates = this.byName.get(key);
    if (!candidates) {
      this.rootDers ??= [...nodeTls().rootCertificates, ...this.extraPems()].map((pem) => ({
        pem,
        der: Buffer.from(pem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64'),
      }));
      candidates = [];
      for (const { pem, der } of this.rootDers) {
        if (der.indexOf(name) === -1) continue;
        try {
          candidates.push(new (x509())(pem));
        } catch {
          // an unparseable extra root trusts nothing
        }
      }
      // Bounded: servers choose their issuer Names, and a batch meets many.
      if (this.byName.size >= 1000) this.byName.clear();
      this.byName.set(key, candidates);
    }
    return candidates.find((root) => root.subject === cert.issuer && issued(root, cert));
  }
}

function describe(cert: X509Certificate, index: number, at: number): ChainCertificate {
  const known = read(cert);
  return {
    index,
    role: index === 0 ? 'leaf' : known.selfSigned ? 'root' : 'intermediate',
    subject: known.subject,
    issuer: known.issuer,
    ...(index === 0 ? { subjectAltNames: [...known.subjectAltNames] } : {}),
    ...(known.validFrom !== undefined ? { validFrom: known.validFrom } : {}),
    ...(known.validTo !== undefined
      ? { validTo: known.validTo, daysLeft: Math.floor((known.validToMs - at) / dayMs) }
      : {}),
    ...(known.unreadableDates.length > 0 ? { unreadableDates: [...known.unreadableDates] } : {}),
    ...known.key,
    signatureAlgorithm: known.signatureAlgorithm,
    ca: known.ca,
    selfSigned: known.selfSigned,
    sha256: cert.fingerprint256,
    serialNumber: known.serialNumber,
    problems: [],
  };
}

/** The certificates as sent: Node links each to the next one the server sent, in the order sent. */
export function sentCertificates(leaf: X509Certificate): X509Certificate[] {
  const sent: X509Certificate[] = [leaf];
  let next = leaf.issuerCertificate;
  while (next && sent.length < 20) {
    sent.push(next);
    next = next.issuerCertificate;
  }
  return sent;
}

function label(cert: ChainCertificate, pathPosition: number): string {
  if (cert.index === 0) return 'leaf';
  if (cert.selfSigned) return 'root';
  return `intermediate ${pathPosition}`;
}

const dateErrors = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** ms since the epoch of an ISO 8601 date, NaN when there is none (every comparison with NaN is false). */
function msOf(date: string | undefined): number {
  return date === undefined ? Number.NaN : Date.parse(date);
}

/** Out of date, weakly signed or with a weak key: what a trusted-first path would rather not go through. */
function hasProblem(cert: ChainCertificate, at: number): boolean {
  return (
    cert.unreadableDates !== undefined ||
    msOf(cert.validTo) < at ||
    msOf(cert.validFrom) > at ||
    (!cert.selfSigned && weakHashes.test(cert.signatureAlgorithm)) ||
    isWeakKey(cert)
  );
}

/**
 * Judges the chain as sent. `opensslAuthorized`/`opensslError` are OpenSSL's own verification of the
 * handshake (at security level 0, against the same store): a path it could not build stays untrusted
 * whatever else is found, and an error nothing here explains is kept as `verification-failed`.
 */
export function verifyChain(
  sent: X509Certificate[],
  store: TrustStore,
  at: number,
  opensslAuthorized: boolean,
  opensslError: string | undefined,
): ChainVerdict {
  const chain = sent.map((cert, index) => describe(cert, index, at));
  const problems: TrustProblem[] = [];
  // Build the path from the leaf up through the certificates sent, as a client does.
  const path = [0];
  const used = new Set([0]);
  for (;;) {
    const current = path[path.length - 1] as number;
    if (chain[current]?.selfSigned) break;
    // Of several certificates that could be the issuer, one in its validity period first (as OpenSSL picks).
    const candidates = sent
      .map((candidate, index) => ({ candidate, index }))
      .filter(
        ({ candidate, index }) => !used.has(index) && issued(candidate, sent[current] as X509Certificate),
      )
      .map(({ index }) => index);
    const inDate = candidates.find((index) => {
      const cert = chain[index] as ChainCertificate;
      return msOf(cert.validTo) >= at && msOf(cert.validFrom) <= at;
    });
    const next = inDate ?? candidates[0] ?? -1;
    if (next < 0) break;
    // Trusted first, as OpenSSL (X509_V_FLAG_TRUSTED_FIRST) and Node do: when a trusted root issued the current
    // certificate, the path ends there, and an expired or weak cross-signed copy the server also sends (the
    // old Let's Encrypt chain) is not part of it. The store is consulted only when that copy has a problem.
    if (hasProblem(chain[next] as ChainCertificate, at) && store.issuerOf(sent[current] as X509Certificate))
      break;
    path.push(next);
    used.add(next);
  }
  const add = (
    cert: ChainCertificate,
    position: number,
    kind: TrustProblem['kind'],
    problem: CertificateProblem,
    detail: string,
  ) => {
    if (!cert.problems.includes(problem)) cert.problems.push(problem);
    problems.push({ kind, certificate: label(cert, position), index: cert.index, detail });
  };
  path.forEach((index, position) => {
    const cert = chain[index] as ChainCertificate;
    const x509 = sent[index] as X509Certificate;
    const name = cert.subject;
    if (msOf(cert.validTo) < at)
      add(cert, position, 'expired', 'expired', `${name} expired on ${cert.validTo?.slice(0, 10)}`);
    if (msOf(cert.validFrom) > at)
      add(
        cert,
        position,
        'not-yet-valid',
        'not-yet-valid',
        `${name} is valid only from ${cert.validFrom?.slice(0, 10)}`,
      );
    // OpenSSL refuses such a certificate (X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE/AFTER_FIELD), and so do clients.
    for (const date of cert.unreadableDates ?? [])
      add(
        cert,
        position,
        'unreadable-date',
        'unreadable-date',
        `${name}: its ${date.field} cannot be read as a date (${date.encoded}); SHA-256 ${cert.sha256}`,
      );
    // A root's signature on itself proves nothing and is not checked by clients (RFC 5280 §6.1).
    if (!cert.selfSigned && weakHashes.test(cert.signatureAlgorithm))
      add(
        cert,
        position,
        'weak-signature',
        'weak-signature',
        `${name} is signed with ${cert.signatureAlgorithm}`,
      );
    if (isWeakKey(cert))
      add(
        cert,
        position,
        'weak-key',
        'weak-key',
        `${name} has a ${cert.keyBits}-bit ${cert.keyType.toUpperCase()} key`,
      );
    // A self-signed root at the top is a trust anchor: old v1 roots carry no basicConstraints, and OpenSSL takes
    // them as CAs (X509_check_ca); the CA flag is required of the certificates between it and the leaf.
    if (position > 0 && !x509.ca && !cert.selfSigned)
      add(
        cert,
        position,
        'issuer-not-ca',
        'not-a-ca',
        `${name} signed the certificate below it but is not a CA (basicConstraints)`,
      );
  });
  const top = chain[path[path.length - 1] as number] as ChainCertificate;
  const topX509 = sent[top.index] as X509Certificate;
  if (!opensslAuthorized) {
    if (top.selfSigned) {
      if (!store.has(topX509))
        add(
          top,
          path.length - 1,
          'untrusted-root',
          'untrusted-root',
          `the chain ends in ${top.subject}, a root that is not trusted (pass it with --ca if it is your private CA)`,
        );
    } else {
      const anchor = store.issuerOf(topX509);
      if (!anchor) {
        problems.push({
          kind: 'incomplete-chain',
          certificate: label(top, path.length - 1),
          index: top.index,
          detail: `the issuer of ${top.subject} (${top.issuer}) was not sent and is not a trusted root: an intermediate is missing (mail clients do not fetch it) or the CA is private (pass it with --ca)`,
        });
      } else if (dateErrors.has(opensslError ?? '')) {
        const from = Date.parse(anchor.validFrom);
        const to = Date.parse(anchor.validTo);
        const subject = anchor.subject.replace(/\n/g, ', ');
        if (to < at)
          problems.push({
            kind: 'expired',
            certificate: 'root (trust store)',
            detail: `${subject} expired on ${new Date(to).toISOString().slice(0, 10)}`,
          });
        if (from > at)
          problems.push({
            kind: 'not-yet-valid',
            certificate: 'root (trust store)',
            detail: `${subject} is valid only from ${new Date(from).toISOString().slice(0, 10)}`,
          });
      }
    }
    if (problems.length === 0)
      problems.push({
        kind: 'verification-failed',
        certificate: 'chain',
        detail: `OpenSSL refused the chain: ${opensslError ?? 'unknown reason'}`,
      });
  }
  // Shape: certificates a client never uses, or sent out of path order (RFC 8446 §4.4.2 asks for order).
  chain.forEach((cert, index) => {
    if (!used.has(index)) cert.problems.push('unrelated');
  });
  path.forEach((index, position) => {
    if (index !== position && used.has(index))
      (chain[index] as ChainCertificate).problems.push('out-of-order');
  });
  return { chain, trusted: opensslAuthorized && problems.length === 0, problems, path };
}
