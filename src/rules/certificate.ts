import { isIP } from '../net/names.js';
import type { TrustProblem } from '../tls/chain.js';
import { dayMs, daysLeft } from './facts.js';
import type { Hit, PortResult, Rule } from './rule.js';

/** Days before expiry from which a certificate is reported as expiring soon. */
export const expiringSoonDays = 14;

/** Trust problems that have no finding of their own, so cert-untrusted names them. */
const untrustedKinds = new Set<TrustProblem['kind']>([
  'untrusted-root',
  'issuer-not-ca',
  'verification-failed',
]);

/** The chain as sent, one line per certificate, for evidence. */
function chainEvidence(port: PortResult): string[] {
  return (port.tls?.chain ?? [])
    .slice(0, 6)
    .map(
      (cert) =>
        `#${cert.index} ${cert.subject} ← ${cert.issuer} · ${cert.validFrom?.slice(0, 10) ?? 'unreadable'}..${cert.validTo?.slice(0, 10) ?? 'unreadable'} · ${cert.keyType.toUpperCase()} ${cert.keyBits} · ${cert.signatureAlgorithm}${cert.problems.length > 0 ? ` · ${cert.problems.join(', ')}` : ''}`,
    );
}

/** A finding for every trust problem of one kind, naming each certificate. */
function problemHit(port: PortResult, kind: TrustProblem['kind']): Hit | undefined {
  const found = (port.tls?.trustProblems ?? []).filter((problem) => problem.kind === kind);
  if (!port.tls?.certificate || found.length === 0) return undefined;
  return {
    // An expired intermediate or root is as fatal as an expired leaf: the path does not validate.
    detail: found.map((problem) => `${problem.certificate}: ${problem.detail}`).join('; '),
    evidence:
      chainEvidence(port).length > 0 ? chainEvidence(port) : [`subject: ${port.tls.certificate.subject}`],
  };
}

/** No DNS-ID at all, while the host is a name: under RFC 9525 nothing can match. */
function cnOnly(port: PortResult): boolean {
  const tls = port.tls;
  if (!tls?.certificate || tls.nameMatches || isIP(tls.checkedName.replace(/^\[(.*)\]$/, '$1'))) return false;
  return !tls.certificate.subjectAltNames.some((name) => name.startsWith('DNS:'));
}

function stapleIsForLeaf(port: PortResult): boolean {
  const serial = port.tls?.chain?.[0]?.serialNumber;
  return serial === undefined || port.tls?.ocsp?.serialNumber === serial;
}

/** The certificates whose dates matter (the leaf and the path above it), with days left at the probe. */
function datedCertificates(port: PortResult): { label: string; validTo: string; left: number | undefined }[] {
  const chain = port.tls?.chain;
  if (!chain) {
    const validTo = port.tls?.certificate?.validTo;
    return validTo ? [{ label: 'leaf', validTo, left: daysLeft(port) }] : [];
  }
  // A loop, not a spread of each certificate: on Node 20 a property after a spread costs about 1 µs, and every
  // TLS port of a fleet run comes here (CONTRIBUTING, "Hot paths").
  const started = Date.parse(port.startedAt);
  const dated: { label: string; validTo: string; left: number | undefined }[] = [];
  for (const cert of chain) {
    if (cert.problems.includes('unrelated') || cert.validTo === undefined) continue;
    dated.push({
      label:
        cert.index === 0 ? 'leaf' : cert.selfSigned ? 'root' : `certificate ${cert.index} (${cert.subject})`,
      validTo: cert.validTo,
      left: (Date.parse(cert.validTo) - started) / dayMs,
    });
  }
  return dated;
}
export const certificateRules: readonly Rule[] = [
  {
    id: 'cert-untrusted',
    severity: 'high',
    title: 'a default client would not trust the certificate chain',
    reference: 'RFC 8314 §4.3; RFC 5280 §6.1',
    check: (port) => {
      const tls = port.tls;
      if (!tls || tls.trusted) return undefined;
      // Reasons with a finding of their own (dates, weak algorithms, a missing intermediate) are not repeated;
      // anything else, or no reason at all, is reported here: untrusted never passes without a high finding.
      const own = (tls.trustProblems ?? []).filter((problem) => untrustedKinds.has(problem.kind));
      if (own.length === 0 && (tls.trustProblems ?? []).length > 0) return undefined;
      return {
        detail: `${own.length > 0 ? own.map((problem) => problem.detail).join('; ') : `verification failed: ${tls.trustError ?? 'unknown reason'}`}`,
        evidence: [
          ...(tls.trustError ? [`OpenSSL: ${tls.trustError}`] : []),
          ...(tls.certificate ? chainEvidence(port) : ['the server sent no certificate']),
        ],
      };
    },
  },
  {
    id: 'cert-chain-incomplete',
    severity: 'high',
    title: 'the chain as sent does not reach a trusted root',
    reference:
      'RFC 8446 §4.4.2; RFC 5246 §7.4.2 (the server sends the chain); RFC 5280 §4.2.2.1 (AIA is optional)',
    check: (port) => problemHit(port, 'incomplete-chain'),
  },
  {
    id: 'cert-weak-signature',
    severity: 'high',
    title: 'a certificate of the chain is signed with SHA-1 or MD5',
    reference: 'RFC 9155 §2; CA/Browser Forum Baseline Requirements §7.1.3.2',
    check: (port) => problemHit(port, 'weak-signature'),
  },
  {
    id: 'cert-weak-key',
    severity: 'high',
    title: 'a certificate of the chain has a key too small to trust',
    reference: 'NIST SP 800-131A Rev. 2 §3 (RSA/DSA ≥ 2048, EC ≥ 224; 256 here); OpenSSL security level 2',
    check: (port) => problemHit(port, 'weak-key'),
  },
  {
    id: 'cert-chain-order',
    severity: 'low',
    title: 'the chain is sent out of order or with unrelated certificates',
    reference: 'RFC 5246 §7.4.2; RFC 8446 §4.4.2',
    check: (port) => {
      const odd = (port.tls?.chain ?? []).filter(
        (cert) => cert.problems.includes('out-of-order') || cert.problems.includes('unrelated'),
      );
      if (odd.length === 0) return undefined;
      return {
        detail: `${odd.map((cert) => `certificate ${cert.index} (${cert.subject}) is ${cert.problems.includes('unrelated') ? 'not part of the path' : 'out of order'}`).join('; ')}: strict clients may fail to build the path`,
        evidence: chainEvidence(port),
      };
    },
  },
  {
    id: 'cert-cn-only',
    severity: 'high',
    title: 'the certificate names its host only in the subject CN',
    reference: 'RFC 9525 §6.3 (the CN is not used); RFC 6125 §6.4.4 (obsoleted)',
    check: (port) => {
      const tls = port.tls;
      if (!tls?.certificate || !cnOnly(port)) return undefined;
      const cn = /(?:^|, )CN=([^,]*)/.exec(tls.certificate.subject)?.[1];
      return {
        detail: `the certificate has no DNS name in subjectAltName${cn ? ` (its CN is ${cn})` : ''}: clients that follow RFC 9525 refuse it for ${tls.checkedName}`,
        evidence: [
          `subject: ${tls.certificate.subject}`,
          `subjectAltName: ${tls.certificate.subjectAltNames.join(', ') || '(none)'}`,
        ],
      };
    },
  },
  {
    id: 'cert-name-mismatch',
    severity: 'high',
    title: 'the certificate is not valid for the host name',
    reference: 'RFC 9525 §6; RFC 8314 §4.3',
    check: (port) =>
      port.tls?.certificate && !port.tls.nameMatches && !cnOnly(port)
        ? {
            detail: `checked against ${port.tls.checkedName}: ${port.tls.nameError ?? 'no match'}`,
            evidence: [
              `subject: ${port.tls.certificate.subject}`,
              `names: ${port.tls.certificate.subjectAltNames.join(', ') || '(none)'}`,
            ],
          }
        : undefined,
  },
  {
    id: 'cert-expired',
    severity: 'critical',
    title: 'a certificate of the chain has expired',
    reference: 'RFC 5280 §4.1.2.5, §6.1.3',
    check: (port) => problemHit(port, 'expired'),
  },
  {
    id: 'cert-date-unreadable',
    severity: 'high',
    title: 'a certificate of the chain has a validity date that cannot be read',
    reference: 'RFC 5280 §4.1.2.5 (UTCTime §4.1.2.5.1, GeneralizedTime §4.1.2.5.2)',
    check: (port) => {
      const hit = problemHit(port, 'unreadable-date');
      if (!hit) return undefined;
      const dated = (port.tls?.chain ?? []).filter((cert) => cert.problems.includes('unreadable-date'));
      return {
        detail: `${hit.detail}: clients refuse a certificate whose validity they cannot read (OpenSSL: error in the certificate's notBefore/notAfter field)`,
        evidence: dated.flatMap((cert) =>
          (cert.unreadableDates ?? []).map(
            (date) =>
              `#${cert.index} ${cert.subject} · ${date.field}: ${date.encoded} · SHA-256 ${cert.sha256}`,
          ),
        ),
      };
    },
  },
  {
    id: 'cert-not-yet-valid',
    severity: 'high',
    title: 'a certificate of the chain is not valid yet',
    reference: 'RFC 5280 §4.1.2.5, §6.1.3',
    check: (port) => problemHit(port, 'not-yet-valid'),
  },
  {
    id: 'cert-expiring-soon',
    severity: 'medium',
    title: `a certificate of the chain expires within ${expiringSoonDays} days`,
    reference: 'RFC 5280 §4.1.2.5',
    check: (port) => {
      const soon = datedCertificates(port).filter(
        (cert) => cert.left !== undefined && cert.left >= 0 && cert.left < expiringSoonDays,
      );
      if (soon.length === 0) return undefined;
      return {
        detail: soon
          .map(
            (cert) =>
              `the ${cert.label} expires on ${cert.validTo.slice(0, 10)}, in ${Math.floor(cert.left ?? 0)} days`,
          )
          .join('; '),
        evidence: soon.map((cert) => `${cert.label} not after: ${cert.validTo}`),
      };
    },
  },
  {
    id: 'cert-revoked',
    severity: 'critical',
    title: 'the stapled OCSP response says the certificate is revoked',
    reference: 'RFC 6960 §2.2; RFC 6066 §8',
    check: (port) => {
      const ocsp = port.tls?.ocsp;
      if (ocsp?.certStatus !== 'revoked' || !stapleIsForLeaf(port)) return undefined;
      return {
        detail: `the server itself stapled a response saying its certificate was revoked${ocsp.revokedAt ? ` on ${ocsp.revokedAt.slice(0, 10)}` : ''}`,
        evidence: [
          `OCSP: ${ocsp.certStatus}, serial ${ocsp.serialNumber ?? '?'}, this update ${ocsp.thisUpdate ?? '?'}`,
        ],
      };
    },
  },
  {
    id: 'ocsp-staple-unusable',
    severity: 'low',
    title: 'the stapled OCSP response cannot be used',
    reference: 'RFC 6960 §4.2.2.1 (thisUpdate/nextUpdate); RFC 6066 §8',
    check: (port) => {
      const ocsp = port.tls?.ocsp;
      if (!ocsp) return undefined;
      const why =
        ocsp.error !== undefined
          ? `it could not be read (${ocsp.error})`
          : ocsp.responseStatus !== 'successful'
            ? `the responder answered ${ocsp.responseStatus}`
            : !stapleIsForLeaf(port)
              ? `it is about serial ${ocsp.serialNumber ?? '?'}, not the leaf certificate`
              : ocsp.nextUpdate && Date.parse(ocsp.nextUpdate) < Date.parse(port.startedAt)
                ? `it is stale: next update was due ${ocsp.nextUpdate}`
                : undefined;
      if (!why) return undefined;
      return {
        detail: `${why}; clients that require a fresh staple (must-staple) fail`,
        evidence: [`OCSP: ${ocsp.responseStatus}${ocsp.certStatus ? ` ${ocsp.certStatus}` : ''}`],
      };
    },
  },
];
