/** The trust store finds the root that issued a certificate by its issuer Name's bytes, and only that root. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrustStore } from '../src/tls/chain.js';
import { DerError, issuerNameDer } from '../src/tls/der.js';
import { startTls } from '../src/tls/handshake.js';
import { type Trust, trustFrom } from '../src/tls/trust.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8');

describe('TrustStore.issuerOf', () => {
  it('finds the --ca root that issued a leaf, checked by signature', () => {
    const leaf = new X509Certificate(fixture('server.pem'));
    const root = new TrustStore(fixture('ca.pem')).issuerOf(leaf);
    expect(root?.subject).toBe(new X509Certificate(fixture('ca.pem')).subject);
    expect(leaf.verify(root?.publicKey ?? leaf.publicKey)).toBe(true);
  });

  it('finds nothing for a leaf whose issuer is not trusted', () => {
    expect(new TrustStore(undefined).issuerOf(new X509Certificate(fixture('server.pem')))).toBeUndefined();
    expect(
      new TrustStore(fixture('ca.pem')).issuerOf(new X509Certificate(fixture('selfsigned.pem'))),
    ).toBeUndefined();
  });

  it('finds a bundled root from its own issuer Name (a self-signed root issues itself)', () => {
    const bundled = tls.rootCertificates.slice(0, 20).map((pem) => new X509Certificate(pem));
    const store = new TrustStore(undefined);
    for (const root of bundled) expect(store.issuerOf(root)?.fingerprint256).toBe(root.fingerprint256);
  });

  it('issuerNameDer reads the Name from real certificates and throws only DerError on anything else', () => {
    const leaf = new X509Certificate(fixture('server.pem'));
    expect(Buffer.from(issuerNameDer(leaf.raw))[0]).toBe(0x30);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          issuerNameDer(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(DerError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('trustFrom: --ca resolved once into one trust value', () => {
  const ca = fixture('ca.pem');

  it('is one value per PEM text, holding one context per TLS version, a web context and one store', () => {
    const trust = trustFrom(ca);
    expect(trustFrom(ca)).toBe(trust);
    expect(trustFrom()).not.toBe(trust);
    expect(trust.ca).toBe(ca);
    expect(trust.client()).toBe(trust.client());
    expect(trust.client('TLSv1.2')).toBe(trust.client('TLSv1.2'));
    expect(trust.client('TLSv1.2')).not.toBe(trust.client());
    expect(trust.web()).toBe(trust.web());
    expect(trust.web()).not.toBe(trust.client());
    expect(trust.store).toBe(trust.store);
    expect(trust.store.issuerOf(new X509Certificate(fixture('server.pem')))?.subject).toBe(
      new X509Certificate(ca).subject,
    );
  });

  it("adds --ca's root to Node's: a handshake is authorized with it and not without", async () => {
    const server = tls.createServer({ key: fixture('server.key'), cert: fixture('server.pem') }, (s) =>
      s.end(),
    );
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    try {
      const authorized = async (trust: Trust) => {
        const socket = await startTls(
          { address: '127.0.0.1', port },
          { servername: 'localhost', trust },
          () => {},
        );
        socket.destroy();
        return socket.authorized;
      };
      expect(await authorized(trustFrom(ca))).toBe(true);
      expect(await authorized(trustFrom())).toBe(false);
    } finally {
      server.close();
    }
  });
});
