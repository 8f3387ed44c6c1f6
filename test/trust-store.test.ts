/** The trust store finds the root that issued a certificate by its issuer Name's bytes, and only that root. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrustStore } from '../src/tls/chain.js';
import { DerError, issuerNameDer } from '../src/tls/der.js';

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
