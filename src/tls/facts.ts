import type { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { isIP } from '../net/names.js';
import type { CertificateFacts, TlsaRecord, TlsFacts } from '../types/index.js';
import { type ChainCertificate, remember, sentCertificates, verifyChain } from './chain.js';
import { parseOcspResponse } from './der.js';
import { type Trust, trustFrom } from './trust.js';

export type { CertificateFacts, OcspFacts, TlsFacts } from '../types/index.js';

/** Extra inputs: the trusted roots added with --ca, the stapled OCSP response, the probe's start. */
export interface TlsFactsContext {
  /** The roots trusted (with --ca's), resolved once; Node's own when absent. */
  trust?: Trust | undefined;
  /** The DER OCSP response the server stapled, if any. */
  ocsp?: Buffer | undefined;
  /** ms since the epoch at which the probe began: certificate dates are judged at this moment. */
  at?: number;
  /** Keep each certificate of the chain as PEM (`ChainCertificate.pem`). */
  keepCertificates?: boolean | undefined;
  /** Keep the digests a TLSA record may name (ChainCertificate.dane): DANE was asked for. */
  daneDigests?: boolean | undefined;
}

/**
 * Reads the session's facts. The certificate is read once as an X509Certificate (Node 20.20 hands it out
 * once per socket; getPeerCertificate(true) cost about 1 ms a connection). Names follow RFC 9525: DNS-IDs
 * only (the subject CN is never used, §6.3), a wildcard only as the whole left-most label, IP literals
 * against iPAddress SANs only (§6.2.1).
 */
export function readTlsFacts(
  socket: tls.TLSSocket,
  checkedName: string,
  context: TlsFactsContext = {},
): TlsFacts {
  const cipher = socket.getCipher();
  const facts: TlsFacts = {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: cipher.standardName ?? cipher.name,
    trusted: false,
    checkedName,
    nameMatches: false,
  };
  const opensslError = socket.authorizationError ? String(socket.authorizationError) : undefined;
  if (!socket.authorized && opensslError) facts.trustError = opensslError;
  const x509 = socket.getPeerX509Certificate();
  if (!x509) {
    facts.nameError = 'the server sent no certificate';
    facts.trustProblems = [
      { kind: 'verification-failed', certificate: 'leaf', detail: 'the server sent no certificate' },
    ];
    return facts;
  }
  try {
    readCertificate(facts, x509, checkedName, context, opensslError, socket.authorized);
  } catch (error) {
    // Whatever else in the certificate this Node cannot read: a fact about the certificate, never a failed
    // handshake (the handshake is over, and reported as it happened).
    delete facts.certificate;
    facts.trusted = false;
    facts.nameMatches = false;
    let fingerprint = '';
    try {
      fingerprint = `; SHA-256 ${x509.fingerprint256}`;
    } catch {
      // nothing more to say
    }
    const detail = `the certificate could not be read (${error instanceof Error ? error.message : String(error)})${fingerprint}`;
    facts.nameError = detail;
    facts.trustProblems = [{ kind: 'verification-failed', certificate: 'leaf', detail }];
  }
  return facts;
}

/**
 * The leaf carries `name` (RFC 6125: subjectAltName only, wildcards in the leftmost label), remembered by the
 * leaf's SHA-256 and the name: a fleet run asks it of the same certificate thousands of times, and OpenSSL's
 * check costs about 8 µs. Bounded, as servers choose their certificates.
 */
const nameChecks = new Map<string, boolean>();
function nameMatches(x509: X509Certificate, sha256: string, name: string): boolean {
  const key = `${sha256} ${name}`;
  const known = nameChecks.get(key);
  if (known !== undefined) return known;
  const matches: boolean = isIP(name)
    ? x509.checkIP(name) !== undefined
    : x509.checkHost(name, {
        subject: 'never',
        wildcards: true,
        partialWildcards: false,
        multiLabelWildcards: false,
        singleLabelSubdomains: false,
      }) !== undefined;
  return remember(nameChecks, key, matches);
}

function readCertificate(
  facts: TlsFacts,
  x509: X509Certificate,
  checkedName: string,
  context: TlsFactsContext,
  opensslError: string | undefined,
  authorized: boolean,
): void {
  const sent = sentCertificates(x509);
  const verdict = verifyChain(
    sent,
    (context.trust ?? trustFrom()).store,
    context.at ?? Date.now(),
    authorized,
    opensslError,
  );
  facts.trusted = verdict.trusted;
  facts.trustProblems = verdict.problems;
  facts.chain = verdict.chain;
  if (context.keepCertificates)
    verdict.chain.forEach((entry, index) => {
      const cert = sent[index];
      if (cert) entry.pem = cert.toString();
    });
  if (context.daneDigests) {
    // The last certificate sent: a DANE-TA Full record may name the trust anchor that issued it (omittedAnchor).
    chainTops.set(facts, (sent[sent.length - 1] as X509Certificate).raw);
    verdict.chain.forEach((entry, index) => {
      const cert = sent[index];
      if (cert) {
        const digests = daneDigests(cert);
        if (digests) entry.dane = digests;
      }
    });
  }
  // The leaf as the chain describes it (read once per certificate, see chain.ts).
  const leaf = verdict.chain[0] as ChainCertificate;
  const names = leaf.subjectAltNames ?? [];
  // Filled in, not spread: a property after a spread costs about 1 µs on Node 20 (CONTRIBUTING, "Hot paths").
  const certificate: CertificateFacts = {
    subject: leaf.subject,
    issuer: leaf.issuer,
    subjectAltNames: [...names],
  } as CertificateFacts;
  if (leaf.validFrom !== undefined) certificate.validFrom = leaf.validFrom;
  if (leaf.validTo !== undefined) certificate.validTo = leaf.validTo;
  if (leaf.unreadableDates) certificate.unreadableDates = [...leaf.unreadableDates];
  certificate.sha256 = leaf.sha256;
  certificate.chainLength = sent.length;
  facts.certificate = certificate;
  const name = checkedName.replace(/^\[(.*)\]$/, '$1');
  facts.nameMatches = nameMatches(x509, leaf.sha256, name);
  if (!facts.nameMatches) {
    const kind = isIP(name) ? 'IP Address:' : 'DNS:';
    const relevant = names.filter((entry) => entry.startsWith(kind));
    facts.nameError =
      relevant.length > 0
        ? `${name} is not among the certificate's ${kind === 'DNS:' ? 'DNS names' : 'IP addresses'} (${relevant.join(', ')})`
        : `the certificate has no ${kind === 'DNS:' ? 'DNS name' : 'IP address'} in subjectAltName (subject ${certificate.subject})`;
  }
  if (context.ocsp && context.ocsp.length > 0) {
    try {
      facts.ocsp = parseOcspResponse(context.ocsp, x509.serialNumber.toUpperCase().replace(/^0+(?=.)/, ''));
    } catch (error) {
      facts.ocsp = {
        responseStatus: 'unreadable',
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }
}

/** With --dane: the DER of the last certificate each session's server sent (not in the report). */
const chainTops = new WeakMap<TlsFacts, Buffer>();

/**
 * The first DANE-TA Full record (2 0 0: a certificate, 2 1 0: a public key) whose certificate or key signed the
 * last certificate the server sent, when no certificate sent is that record's: the server left the trust anchor
 * out of its chain, as RFC 7671 §5.2.2-5.2.3 allow for Full records (the client takes it from the record, as
 * OpenSSL's DANE verifier does). Its index in `records`, or undefined. Needs the facts of a --dane session.
 */
export function omittedAnchor(facts: TlsFacts, records: readonly TlsaRecord[]): number | undefined {
  const top = chainTops.get(facts);
  if (!top) return undefined;
  const sent = new Set(
    (facts.chain ?? []).flatMap((cert) => [
      cert.sha256.replaceAll(':', '').toLowerCase(),
      cert.dane?.spkiSha256,
    ]),
  );
  const crypto = process.getBuiltinModule('node:crypto');
  let issued: X509Certificate;
  try {
    issued = new crypto.X509Certificate(top);
  } catch {
    return undefined;
  }
  const index = records.findIndex((record) => {
    if (record.usage !== 2 || record.matchingType !== 0 || !/^(?:[0-9a-f]{2})+$/.test(record.data))
      return false;
    if (record.dataSha256 !== undefined && sent.has(record.dataSha256)) return false; // sent after all
    const der = Buffer.from(record.data, 'hex');
    try {
      if (record.selector === 0) {
        const anchor = new crypto.X509Certificate(der);
        return issued.checkIssued(anchor) && issued.verify(anchor.publicKey);
      }
      if (record.selector === 1)
        return issued.verify(crypto.createPublicKey({ key: der, format: 'der', type: 'spki' }));
    } catch {
      // data that is no certificate or key: it names nothing
    }
    return false;
  });
  return index < 0 ? undefined : index;
}

/** SHA-256/512 of the SubjectPublicKeyInfo and SHA-512 of the certificate (RFC 6698 §2.1.2-2.1.3), or none. */
function daneDigests(cert: X509Certificate): ChainCertificate['dane'] | undefined {
  const { createHash } = process.getBuiltinModule('node:crypto');
  try {
    const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
    return {
      spkiSha256: createHash('sha256').update(spki).digest('hex'),
      spkiSha512: createHash('sha512').update(spki).digest('hex'),
      certSha512: createHash('sha512').update(cert.raw).digest('hex'),
    };
  } catch {
    return undefined; // a key this Node cannot export: no TLSA record can be matched against it
  }
}
