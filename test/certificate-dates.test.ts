/**
 * A certificate whose validity dates cannot be read (Node 20's X509Certificate gives "Bad time value", and
 * `new Date(…).toISOString()` throws a RangeError): a finding about the certificate, naming the field and the
 * SHA-256 of its bytes. The handshake is reported as it happened, on an implicit-TLS port and after STARTTLS.
 *
 * The certificate is made at test time from the committed fixtures/tls/server.pem: one validity time's bytes
 * are replaced by a time of the same length that no calendar has (month 13, a letter among the digits), and the
 * to-be-signed part is signed again with the committed test CA's key, so that only the date is wrong.
 */
import { createHash, sign, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tlsFile } from '../src/demo/servers.js';
import { checkExpectations } from '../src/rules/expectations.js';
import { readTlv } from '../src/tls/der.js';
import { cli } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';
import { findingIds, judge, probe } from './helpers/probe.js';
import { validReport } from './helpers/schema.js';

const servers = fixtureServers();

/** server.pem with the time `from` (as encoded) replaced by `to` (same length), signed again by the test CA. */
function badDateCertificate(from: string, to: string): { pem: string; der: Buffer } {
  const der = Buffer.from(tlsFile('server.pem').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const at = der.indexOf(Buffer.from(from, 'latin1'));
  if (at < 0 || from.length !== to.length) throw new Error(`${from} is not in server.pem`);
  Buffer.from(to, 'latin1').copy(der, at);
  const certificate = readTlv(der, 0);
  const tbs = readTlv(der, certificate.start, certificate.end);
  const signature = sign('sha256', der.subarray(certificate.start, tbs.end), tlsFile('ca.key'));
  const algorithm = readTlv(der, tbs.end, certificate.end);
  const bits = readTlv(der, algorithm.end, certificate.end);
  // BIT STRING: one byte of unused bits, then the signature (same key, same length).
  if (bits.end - bits.start - 1 !== signature.length) throw new Error('signature length changed');
  signature.copy(der, bits.start + 1);
  const base64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return { pem: `-----BEGIN CERTIFICATE-----\n${base64.trim()}\n-----END CERTIFICATE-----\n`, der };
}

const sha256 = (der: Buffer) =>
  createHash('sha256')
    .update(der)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');

// The committed leaf: notBefore UTCTime 260101000000Z, notAfter GeneralizedTime 21251231000000Z.
const badNotAfter = badDateCertificate('21251231000000Z', '21251331000000Z');
const badNotBefore = badDateCertificate('260101000000Z', '26010100000XZ');

describe('a certificate whose dates cannot be read', () => {
  it('is one Node 20 cannot read (the premise of these tests)', () => {
    const cert = new X509Certificate(badNotAfter.der);
    expect(Number.isNaN(Date.parse(cert.validTo))).toBe(true);
    expect(() => new Date(cert.validTo).toISOString()).toThrow(RangeError);
    expect(Number.isNaN(Date.parse(new X509Certificate(badNotBefore.der).validFrom))).toBe(true);
  });

  it('on an implicit-TLS port: the port works, the certificate is the finding', async () => {
    const port = await servers.fixture({
      protocol: 'imap',
      tls: 'implicit',
      tlsMaterial: { key: tlsFile('server.key'), cert: badNotAfter.pem },
    });
    const result = await probe(port, 'imaps');
    expect(result.status).toBe('open');
    expect(result.capabilities).toBeDefined();
    expect(result.tls?.certificate?.validTo).toBeUndefined();
    expect(result.tls?.certificate?.validFrom).toBe('2026-01-01T00:00:00.000Z');
    expect(result.tls?.certificate?.unreadableDates).toEqual([
      { field: 'notAfter', encoded: 'GeneralizedTime "21251331000000Z"' },
    ]);
    expect(result.tls?.trusted).toBe(false);
    const ids = findingIds(result);
    expect(ids).toContain('cert-date-unreadable');
    expect(ids).not.toContain('tls-handshake-failed');
    // An expectation on the days left fails, and says why.
    const [days] = checkExpectations(judge(result), [{ port, certDaysAtLeast: 30 }]);
    expect(days).toMatchObject({
      passed: false,
      observed: "the certificate's notAfter cannot be read",
      evidence: ['notAfter: GeneralizedTime "21251331000000Z"'],
    });
  });

  it('after STARTTLS on 587: the upgrade is reported as it happened, the certificate is the finding', async () => {
    const port = await servers.fixture({
      protocol: 'smtp',
      tls: 'starttls',
      tlsMaterial: { key: tlsFile('server.key'), cert: badNotBefore.pem },
    });
    const result = await probe(port, 'submission');
    expect(result.status).toBe('open');
    expect(result.starttls?.upgraded).toBe(true);
    expect(result.capabilitiesAfterTls).toBeDefined();
    expect(result.tls?.certificate?.unreadableDates).toEqual([
      { field: 'notBefore', encoded: 'UTCTime "26010100000XZ"' },
    ]);
    const ids = findingIds(result);
    expect(ids).toContain('cert-date-unreadable');
    expect(ids).not.toContain('tls-handshake-failed');
    expect(ids).not.toContain('starttls-failed');
  });

  it('the CLI report: valid JSON, the field and the SHA-256 of the bytes as evidence, not safe', async () => {
    const port = await servers.fixture({
      protocol: 'smtp',
      tls: 'starttls',
      tlsMaterial: { key: tlsFile('server.key'), cert: badNotAfter.pem },
    });
    const run = await cli([
      '127.0.0.1',
      '--json',
      '--port',
      `${port}=submission`,
      '--servername',
      'localhost',
      '--ca',
      'fixtures/tls/ca.pem',
      '--timeout',
      '2000',
    ]);
    expect(run.stderr).not.toMatch(/RangeError|Invalid time value|at .*\.js:\d+/);
    const report = validReport<{
      hosts: {
        ports: { status: string; works: boolean; safe: boolean | null; findings: string[] }[];
        findings: { id: string; severity: string; detail: string; evidence: string[] }[];
      }[];
    }>(run.stdout);
    const host = report.hosts[0];
    expect(host?.ports[0]).toMatchObject({ status: 'open', works: true, safe: false });
    const finding = host?.findings.find((entry) => entry.id === 'cert-date-unreadable');
    expect(finding?.severity).toBe('high');
    expect(finding?.detail).toMatch(/notAfter cannot be read/);
    expect(finding?.evidence.join('\n')).toContain('notAfter: GeneralizedTime "21251331000000Z"');
    expect(finding?.evidence.join('\n')).toContain(sha256(badNotAfter.der));
    expect(host?.findings.map((entry) => entry.id)).not.toContain('tls-handshake-failed');
    expect(run.code).toBe(1);
    // The human report says so where it gives the days left.
    const human = await cli([
      '127.0.0.1',
      '--port',
      `${port}=submission`,
      '--servername',
      'localhost',
      '--ca',
      'fixtures/tls/ca.pem',
      '--no-color',
      '--verbose', // the certificates block
    ]);
    expect(human.stderr).toBe('');
    expect(human.stdout).toMatch(/STARTTLS → TLS 1\.\d · cert dates unreadable/);
    expect(human.stdout).toMatch(/localhost · issued by CN=mailprobe test CA · notAfter unreadable ·/);
    expect(human.stdout).not.toMatch(/days left|Invalid time value/);
  });
});
