/**
 * DANE-TA Full records naming a trust anchor the server does not send (RFC 7671 §5.2.2-5.2.3): a real TLS server
 * sending its leaf alone, a DNS server on loopback answering TLSA with the AD bit, probeHost with `dane`, and
 * OpenSSL's own DANE verifier (s_client -dane_tlsa_rrdata) asked the same question as a second opinion.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import * as packet from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeHost } from '../src/probe/host.js';
import { evaluate } from '../src/rules/evaluate.js';
import { opensslMissing } from './helpers/mail-servers.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));
const caDer = new X509Certificate(fixture('ca.pem')).raw;
const caSpki = new X509Certificate(fixture('ca.pem')).publicKey.export({ type: 'spki', format: 'der' });
const otherDer = new X509Certificate(fixture('other.pem')).raw;

const missing = opensslMissing();
if (missing && process.env.CI) {
  it('OpenSSL for the DANE cross-check', () => {
    throw new Error(`CI=true and the DANE anchor tests cannot run: ${missing}`);
  });
} else if (missing) console.warn(`skipping the DANE anchor tests: ${missing}`);

let server: tls.Server;
let dns: dgram.Socket;
let port = 0;
let dnsPort = 0;
/** The TLSA record the DNS server gives for the current test. */
let served = { usage: 2, selector: 0, matchingType: 0, certificate: caDer };

beforeAll(async () => {
  // The leaf alone, signed by the fixtures' CA: the CA, the trust anchor, is not sent.
  server = tls.createServer({ key: fixture('server.key'), cert: fixture('server.pem') }, (socket) => {
    socket.on('error', () => {});
    socket.write('220 localhost ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      const line = chunk.toString('latin1');
      if (/^EHLO/i.test(line)) socket.write('250-localhost\r\n250 AUTH PLAIN\r\n');
      else if (/^QUIT/i.test(line)) socket.end('221 bye\r\n');
      else socket.write('502 no\r\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  dns = dgram.createSocket('udp4');
  dns.on('message', (raw, from) => {
    const query = packet.decode(raw);
    const question = query.questions?.[0];
    const tlsa = question?.type === 'TLSA' && question.name === `_${port}._tcp.localhost`;
    const reply = packet.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: packet.AUTHENTIC_DATA,
      questions: query.questions ?? [],
      answers: tlsa
        ? [{ type: 'TLSA', name: question.name, ttl: 60, data: served } as unknown as packet.Answer]
        : [],
    });
    dns.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve));
  dnsPort = dns.address().port;
});

afterAll(() => {
  server?.close();
  dns?.close();
});

async function daneOf(record: typeof served) {
  served = record;
  const host = await probeHost('localhost', {
    addresses: [{ address: '127.0.0.1', family: 4 }],
    ports: [{ port, service: 'submissions' }],
    dane: true,
    dnsServer: `127.0.0.1:${dnsPort}`,
    limits: { connectMs: 3000 },
  });
  const judged = evaluate(host);
  const finding = judged.findings.find((f) => f.id.startsWith('dane-'));
  return { port: host.ports[0], finding };
}

/** OpenSSL's DANE verdict on the same server and record: true when it verifies. */
function openssl(record: typeof served): Promise<boolean> {
  const rrdata = `${record.usage} ${record.selector} ${record.matchingType} ${record.certificate.toString('hex')}`;
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${port}`,
        '-servername',
        'localhost',
        '-dane_tlsa_domain',
        'localhost',
        '-dane_tlsa_rrdata',
        rrdata,
        '-verify_return_error',
        '-brief',
      ],
      { timeout: 10_000 },
      (_error, stdout, stderr) => resolve(/Verification: OK/.test(`${stdout}${stderr}`)),
    );
    child.stdin?.end('QUIT\r\n');
  });
}

describe.skipIf(missing !== undefined)(
  'DANE-TA Full records and a trust anchor not sent (RFC 7671 §5.2)',
  () => {
    it('2 0 0 naming the CA that signed the leaf: valid, the anchor taken from the record, as OpenSSL does', async () => {
      const record = { usage: 2, selector: 0, matchingType: 0, certificate: caDer };
      const { port: result, finding } = await daneOf(record);
      expect(result?.tls?.chain).toHaveLength(1);
      expect(result?.tls?.tlsaIssuer).toBe(0);
      expect(finding?.id).toBe('dane-valid');
      expect(finding?.detail).toContain("TLSA 2 0 0 (the record's own, issuer of chain 0, not sent)");
      expect(await openssl(record)).toBe(true);
    }, 30_000);

    it('2 1 0 naming the CA key: valid, as OpenSSL does', async () => {
      const record = { usage: 2, selector: 1, matchingType: 0, certificate: caSpki };
      const { port: result, finding } = await daneOf(record);
      expect(result?.tls?.tlsaIssuer).toBe(0);
      expect(finding?.id).toBe('dane-valid');
      expect(await openssl(record)).toBe(true);
    }, 30_000);

    it('2 0 0 naming a certificate that did not sign the chain: a mismatch, as OpenSSL finds', async () => {
      const record = { usage: 2, selector: 0, matchingType: 0, certificate: otherDer };
      const { port: result, finding } = await daneOf(record);
      expect(result?.tls?.tlsaIssuer).toBeUndefined();
      expect(finding?.id).toBe('dane-mismatch');
      expect(await openssl(record)).toBe(false);
    }, 30_000);

    it('3 0 0 naming the CA: DANE-EE matches the leaf only, never an anchor, as OpenSSL finds', async () => {
      const record = { usage: 3, selector: 0, matchingType: 0, certificate: caDer };
      const { port: result, finding } = await daneOf(record);
      expect(result?.tls?.tlsaIssuer).toBeUndefined();
      expect(finding?.id).toBe('dane-mismatch');
      expect(await openssl(record)).toBe(false);
    }, 30_000);
  },
);
