/**
 * Just enough DER (ITU-T X.690 §8, §10) to read what Node 20's X509Certificate does not expose: a
 * certificate's signature algorithm, and a stapled OCSP response (RFC 6960 §4.2.1). Every read is
 * bounds-checked: a malformed structure ends in DerError, never in a read past the buffer.
 */
import type { OcspStatus } from '../types/index.js';

export type { OcspStatus } from '../types/index.js';

export class DerError extends Error {
  override name = 'DerError';
}

/** One TLV: its tag byte and where its contents lie in the buffer. */
export interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the last content byte. */
  end: number;
}

/** Reads the TLV at `offset`, which must end by `limit`. Only definite lengths (DER) are accepted. */
export function readTlv(buffer: Uint8Array, offset: number, limit = buffer.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated header');
  const tag = buffer[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used here');
  let length = buffer[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buffer[start + i] as number);
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new DerError('contents run past their container');
  return { tag, start, end };
}

/** The TLVs directly inside a constructed TLV. */
export function children(buffer: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = readTlv(buffer, offset, parent.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/**
 * The whole DER encoding (tag and length included) of a certificate's issuer Name (RFC 5280 §4.1.2.4): the
 * bytes a root's subject must equal, found in the root's own DER without parsing it.
 */
export function issuerNameDer(certificate: Uint8Array): Uint8Array {
  const { offset, tlv: issuer } = tbsField(certificate, 2);
  if (issuer.tag !== 0x30) throw new DerError('the issuer is not a SEQUENCE');
  return certificate.subarray(offset, issuer.end);
}

/**
 * The Nth field of a certificate's TBSCertificate after the optional [0] EXPLICIT version (RFC 5280 §4.1:
 * 0 serialNumber, 1 signature, 2 issuer, 3 validity, …), and the offset where its encoding begins.
 */
function tbsField(certificate: Uint8Array, index: number): { offset: number; tlv: Tlv } {
  const cert = readTlv(certificate, 0);
  const tbs = readTlv(certificate, cert.start, cert.end);
  let offset = tbs.start;
  const first = readTlv(certificate, offset, tbs.end);
  if (first.tag === 0xa0) offset = first.end;
  for (let field = 0; field < index; field++) offset = readTlv(certificate, offset, tbs.end).end;
  return { offset, tlv: readTlv(certificate, offset, tbs.end) };
}

/**
 * The two times of a certificate's validity (RFC 5280 §4.1.2.5) exactly as encoded, e.g. "UTCTime 991301000000Z":
 * the evidence when a date cannot be read. Validity follows version, serialNumber, signature, issuer.
 */
export function validityTexts(certificate: Uint8Array): { notBefore: string; notAfter: string } {
  const validity = tbsField(certificate, 3).tlv;
  if (validity.tag !== 0x30) throw new DerError('the validity is not a SEQUENCE');
  const [notBefore, notAfter] = children(certificate, validity);
  if (!notBefore || !notAfter) throw new DerError('the validity lacks a time');
  const text = (time: Tlv) =>
    `${time.tag === 0x17 ? 'UTCTime' : time.tag === 0x18 ? 'GeneralizedTime' : `tag 0x${time.tag.toString(16)}`} ${JSON.stringify(Buffer.from(certificate.subarray(time.start, Math.min(time.end, time.start + 40))).toString('latin1'))}`;
  return { notBefore: text(notBefore), notAfter: text(notAfter) };
}

/** Dotted text of an OBJECT IDENTIFIER's contents (X.690 §8.19). */
export function oid(buffer: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== 0x06 || tlv.end <= tlv.start) throw new DerError('not an OBJECT IDENTIFIER');
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    const byte = buffer[i] as number;
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (parts.length === 0)
        parts.push(Math.min(2, Math.floor(value / 40)), value - Math.min(2, Math.floor(value / 40)) * 40);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** An ISO 8601 time from a GeneralizedTime (YYYYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.2). */
export function generalizedTime(buffer: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== 0x18) throw new DerError('not a GeneralizedTime');
  const text = Buffer.from(buffer.subarray(tlv.start, tlv.end)).toString('latin1');
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
  if (!match) throw new DerError(`unexpected time ${JSON.stringify(text)}`);
  const [, year, month, day, hour, minute, second] = match;
  return `${year}-${month}-${day}T${hour}:${minute}:${second}.000Z`;
}

/** Upper-case hex of an INTEGER's contents without leading zeros. */
export function integerHex(buffer: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== 0x02) throw new DerError('not an INTEGER');
  const hex = Buffer.from(buffer.subarray(tlv.start, tlv.end)).toString('hex').toUpperCase();
  return hex.replace(/^0+(?=.)/, '');
}

/** Names of the signature algorithms a mail server's chain may carry (RFC 3279, 4055, 5758, 8410). */
const signatureNames: Record<string, string> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.3': 'md4WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '2.16.840.1.101.3.4.3.1': 'dsa-with-SHA224',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-SHA256',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

const hashNames: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '1.2.840.113549.2.5': 'md5',
};

/**
 * The signature algorithm of a DER certificate: Certificate ::= SEQUENCE { tbsCertificate,
 * signatureAlgorithm, signatureValue } (RFC 5280 §4.1.1.2). For RSASSA-PSS the hash is read from the
 * parameters, whose default is SHA-1 (RFC 4055 §3.1).
 */
export function signatureAlgorithm(der: Uint8Array): string {
  const certificate = readTlv(der, 0);
  const [, algorithm] = children(der, certificate);
  if (algorithm?.tag !== 0x30) throw new DerError('no signatureAlgorithm');
  const [identifier, parameters] = children(der, algorithm);
  if (!identifier) throw new DerError('empty signatureAlgorithm');
  const dotted = oid(der, identifier);
  const name = signatureNames[dotted] ?? dotted;
  if (name !== 'rsassaPss') return name;
  let hash = 'sha1';
  if (parameters?.tag === 0x30) {
    const first = children(der, parameters)[0];
    // hashAlgorithm [0] EXPLICIT AlgorithmIdentifier
    if (first?.tag === 0xa0) {
      const inner = children(der, first)[0];
      const hashOid = inner && children(der, inner)[0];
      if (hashOid) hash = hashNames[oid(der, hashOid)] ?? oid(der, hashOid);
    }
  }
  return `rsassaPss-${hash}`;
}

const responseStatuses = [
  'successful',
  'malformedRequest',
  'internalError',
  'tryLater',
  'unused',
  'sigRequired',
  'unauthorized',
];

/**
 * Reads an OCSPResponse: the status of the single response for `serialNumber` (or the first one). The
 * responder's signature is not verified: the status is shown as the server stapled it.
 */
export function parseOcspResponse(der: Uint8Array, serialNumber?: string): OcspStatus {
  const response = readTlv(der, 0);
  const [status, bytes] = children(der, response);
  if (status?.tag !== 0x0a || status.end !== status.start + 1) throw new DerError('no responseStatus');
  const code = der[status.start] as number;
  const result: OcspStatus = { responseStatus: responseStatuses[code] ?? `status ${code}` };
  if (code !== 0 || !bytes || bytes.tag !== 0xa0) return result;
  const [responseBytes] = children(der, bytes);
  if (!responseBytes) throw new DerError('empty responseBytes');
  const [, octets] = children(der, responseBytes);
  if (octets?.tag !== 0x04) throw new DerError('no response OCTET STRING');
  const basic = readTlv(der, octets.start, octets.end);
  const [tbs] = children(der, basic);
  if (!tbs) throw new DerError('no tbsResponseData');
  const fields = children(der, tbs);
  const responses = fields.find(
    (field, index) => field.tag === 0x30 && index > 0 && fields[index - 1]?.tag === 0x18,
  );
  if (!responses) throw new DerError('no responses');
  const singles = children(der, responses);
  let chosen: { serial: string; parts: Tlv[] } | undefined;
  for (const single of singles) {
    const parts = children(der, single);
    const certId = parts[0];
    const serialTlv = certId ? children(der, certId)[3] : undefined;
    const serial = serialTlv ? integerHex(der, serialTlv) : '';
    if (!chosen || serial === serialNumber) chosen = { serial, parts };
    if (serial === serialNumber) break;
  }
  if (!chosen) throw new DerError('no single response');
  const [, certStatus, thisUpdate, nextUpdate] = chosen.parts;
  result.serialNumber = chosen.serial;
  if (certStatus?.tag === 0x80) result.certStatus = 'good';
  else if (certStatus?.tag === 0xa1) {
    result.certStatus = 'revoked';
    const revocationTime = children(der, certStatus)[0];
    if (revocationTime) result.revokedAt = generalizedTime(der, revocationTime);
  } else if (certStatus?.tag === 0x82) result.certStatus = 'unknown';
  else throw new DerError('unexpected certStatus');
  if (thisUpdate) result.thisUpdate = generalizedTime(der, thisUpdate);
  if (nextUpdate?.tag === 0xa0) {
    const inner = children(der, nextUpdate)[0];
    if (inner) result.nextUpdate = generalizedTime(der, inner);
  }
  return result;
}
