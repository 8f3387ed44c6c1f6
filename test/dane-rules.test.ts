/**
 * The DANE rules on hand-built facts (src/rules/dane.ts): the cases the real rig (test/dane.test.ts) does not set
 * up — unusable records, DANE-TA with a wrong name or an out-of-date leaf, no TLS, SHA-512 — each against the
 * RFC 7672 sentence it follows.
 */
import { describe, expect, it } from 'vitest';
import { daneRules, daneStatus, describeTlsa, leafCarries } from '../src/rules/dane.js';
import type { ChainCertificate, PortResult, TlsaLookup, TlsaRecord } from '../src/types/index.js';

const leafSpki = 'aa'.repeat(32);
const caSpki = 'bb'.repeat(32);

function cert(index: number, spki: string, problems: ChainCertificate['problems'] = []): ChainCertificate {
  return {
    index,
    role: index === 0 ? 'leaf' : 'root',
    subject: `CN=${index}`,
    issuer: 'CN=1',
    keyType: 'ec',
    keyBits: 256,
    signatureAlgorithm: 'ecdsa-with-SHA256',
    ca: index > 0,
    selfSigned: index > 0,
    sha256: `${'CC:'.repeat(31)}CC`,
    serialNumber: '01',
    problems,
    dane: { spkiSha256: spki, spkiSha512: spki.repeat(2), certSha512: 'dd'.repeat(64) },
  };
}

function port(
  records: TlsaRecord[],
  options: {
    ad?: boolean;
    trusted?: boolean;
    nameMatches?: boolean;
    tls?: boolean;
    leaf?: ChainCertificate;
    chain?: ChainCertificate[];
  } = {},
): PortResult {
  const dane: TlsaLookup = {
    name: '_25._tcp.mx.example',
    port: 25,
    resolver: '127.0.0.1:53',
    resolverTrust: 'named with --dns-server',
    resolverTrusted: options.trusted ?? true,
    outcome: records.length > 0 ? 'found' : 'none',
    rcode: 'NOERROR',
    authenticData: options.ad ?? true,
    records,
  };
  return {
    port: 25,
    service: 'smtp',
    protocol: 'smtp',
    expectedTls: 'starttls',
    address: '192.0.2.1',
    family: 4,
    status: 'open',
    statusDetail: '',
    dane,
    ...(options.tls === false
      ? {}
      : {
          tls: {
            protocol: 'TLSv1.3',
            cipher: 'TLS_AES_128_GCM_SHA256',
            trusted: false,
            checkedName: 'mx.example',
            nameMatches: options.nameMatches ?? true,
            chain: options.chain ?? [options.leaf ?? cert(0, leafSpki), cert(1, caSpki)],
          },
        }),
  } as unknown as PortResult;
}

const record = (usage: number, selector: number, matchingType: number, data: string): TlsaRecord => ({
  usage,
  selector,
  matchingType,
  data,
});
const hits = (result: PortResult) =>
  daneRules.flatMap((rule) => {
    const hit = rule.check(result, {} as never);
    return hit ? [[rule.id, hit.severity ?? rule.severity]] : [];
  });

describe('DANE rules', () => {
  it('3 1 2 (SHA-512 of the SPKI) matches the leaf', () => {
    expect(daneStatus(port([record(3, 1, 2, leafSpki.repeat(2))]))).toBe('valid');
  });
  it('PKIX-EE (1) and PKIX-TA (0) records are unusable for SMTP (RFC 7672 §3.1.3)', () => {
    const result = port([record(1, 1, 1, leafSpki), record(0, 1, 1, caSpki)]);
    expect(hits(result)).toEqual([['dane-unusable', 'low']]);
  });
  it('DANE-TA needs the host name on the leaf (RFC 7672 §3.2.2); DANE-EE does not', () => {
    expect(daneStatus(port([record(2, 1, 1, caSpki)], { nameMatches: false }))).toBe('mismatch');
    const detail = daneRules
      .find((rule) => rule.id === 'dane-mismatch')
      ?.check(port([record(2, 1, 1, caSpki)], { nameMatches: false }), {} as never)
      ?.evidence.join('\n');
    expect(detail).toContain('names count under DANE-TA');
    expect(daneStatus(port([record(3, 1, 1, leafSpki)], { nameMatches: false }))).toBe('valid');
  });
  it('DANE-TA needs the leaf in date; DANE-EE ignores dates (RFC 7672 §3.1.1)', () => {
    const expired = cert(0, leafSpki, ['expired']);
    expect(daneStatus(port([record(2, 1, 1, caSpki)], { leaf: expired }))).toBe('mismatch');
    expect(daneStatus(port([record(3, 1, 1, leafSpki)], { leaf: expired }))).toBe('valid');
  });
  it('DANE-TA: every certificate between the leaf and the trust anchor must be in date (RFC 7671 §5.2.2)', () => {
    const result = port([record(2, 1, 1, 'ee'.repeat(32))], {
      chain: [cert(0, leafSpki), cert(1, caSpki, ['expired']), cert(2, 'ee'.repeat(32))],
    });
    expect(daneStatus(result)).toBe('mismatch');
    const evidence = daneRules
      .find((rule) => rule.id === 'dane-mismatch')
      ?.check(result, {} as never)
      ?.evidence.join('\n');
    expect(evidence).toContain('certificate 1, between the leaf and the trust anchor, is out of date');
    // The same chain in date is accepted.
    const inDate = port([record(2, 1, 1, 'ee'.repeat(32))], {
      chain: [cert(0, leafSpki), cert(1, caSpki), cert(2, 'ee'.repeat(32))],
    });
    expect(daneStatus(inDate)).toBe('valid');
  });
  it('DANE-TA anchor not sent (tls.tlsaIssuer): every certificate sent is below it and must be in date', () => {
    const anchored = (chain: ChainCertificate[], issuer: number | undefined) => {
      const result = port([record(2, 0, 0, '3082'), record(2, 1, 1, caSpki)], { chain });
      if (result.tls && issuer !== undefined) result.tls.tlsaIssuer = issuer;
      return result;
    };
    const [leaf, intermediate] = [cert(0, leafSpki), { ...cert(1, 'ee'.repeat(32)), selfSigned: false }];
    expect(daneStatus(anchored([leaf, intermediate], 0))).toBe('valid');
    // Without the fact, nothing sent is the record's certificate: a mismatch.
    expect(daneStatus(anchored([leaf, intermediate], undefined))).toBe('mismatch');
    // The fact names the other record (2 1 1): it is no Full record's own, so nothing matches.
    expect(daneStatus(anchored([leaf, intermediate], 1))).toBe('mismatch');
    const stale = anchored([leaf, { ...intermediate, problems: ['expired'] }], 0);
    expect(daneStatus(stale)).toBe('mismatch');
    const evidence = daneRules
      .find((rule) => rule.id === 'dane-mismatch')
      ?.check(stale, {} as never)
      ?.evidence.join('\n');
    expect(evidence).toContain(
      "names the record's own, issuer of chain 1, not sent but certificate 1, between the leaf and the trust anchor, is out of date",
    );
  });
  it('matching type 0 (Full) is compared by the SHA-256 of its data (RFC 6698 §2.1.3)', () => {
    const full = (usage: number, selector: number, sha256: string): TlsaRecord => ({
      ...record(usage, selector, 0, '3082'),
      dataSha256: sha256,
    });
    expect(daneStatus(port([full(3, 1, leafSpki)]))).toBe('valid');
    expect(daneStatus(port([full(3, 0, 'cc'.repeat(32))]))).toBe('valid');
    expect(daneStatus(port([full(2, 1, caSpki)]))).toBe('valid');
    // A Full record that matches beside a stale digest: valid, not a mismatch.
    expect(daneStatus(port([full(3, 1, leafSpki), record(3, 1, 1, 'ff'.repeat(32))]))).toBe('valid');
    expect(daneStatus(port([full(3, 1, 'ff'.repeat(32))]))).toBe('mismatch');
    // Without its digest (hand-built facts), a Full record matches nothing.
    expect(daneStatus(port([record(3, 1, 0, leafSpki)]))).toBe('mismatch');
  });
  it('DANE-TA never matches the leaf itself, DANE-EE never a CA', () => {
    expect(daneStatus(port([record(2, 1, 1, leafSpki)]))).toBe('mismatch');
    expect(daneStatus(port([record(3, 1, 1, caSpki)]))).toBe('mismatch');
  });
  it('validated records and no TLS: critical on 25 (RFC 7672 §2.2)', () => {
    expect(hits(port([record(3, 1, 1, leafSpki)], { tls: false }))).toEqual([['dane-no-tls', 'critical']]);
  });
  it('the AD bit from a resolver not trusted is not validation', () => {
    expect(hits(port([record(3, 1, 1, leafSpki)], { trusted: false }))).toEqual([
      ['dane-unvalidated', 'low'],
    ]);
  });
  it('DANE-TA with records from an alias expanded name: the leaf may carry that name (RFC 7672 §3.2.3)', () => {
    const named = (names: string[]) => ({
      ...cert(0, leafSpki),
      subjectAltNames: names.map((n) => `DNS:${n}`),
    });
    const viaAlias = (leaf: ChainCertificate, name = '_25._tcp.mail.provider.example', secure = true) => {
      const result = port([record(2, 1, 1, caSpki)], { nameMatches: false, leaf });
      Object.assign(result.dane as TlsaLookup, {
        name,
        alias: { host: 'mx.example', target: 'mail.provider.example', secure },
      });
      return result;
    };
    expect(daneStatus(viaAlias(named(['mail.provider.example'])))).toBe('valid');
    expect(daneStatus(viaAlias(named(['*.provider.example'])))).toBe('valid');
    // Records from the host's own name: the expanded name is not a reference identifier then.
    expect(daneStatus(viaAlias(named(['mail.provider.example']), '_25._tcp.mx.example'))).toBe('mismatch');
    expect(daneStatus(viaAlias(named(['other.example'])))).toBe('mismatch');
    const evidence = daneRules
      .find((rule) => rule.id === 'dane-mismatch')
      ?.check(viaAlias(named(['other.example'])), {} as never)
      ?.evidence.join('\n');
    expect(evidence).toContain('mx.example is an alias of mail.provider.example, validated');
    expect(evidence).toContain('does not carry the name mx.example or mail.provider.example');
  });
  it('leaf names: exact or a leftmost wildcard label, the CN only without DNS names (RFC 6125 §6.4.3)', () => {
    const leaf = (subjectAltNames: string[], subject = 'CN=cn.example') => ({
      ...cert(0, leafSpki),
      subject,
      subjectAltNames,
    });
    expect(leafCarries(leaf(['DNS:Mail.Example.']), 'mail.example')).toBe(true);
    expect(leafCarries(leaf(['DNS:*.example']), 'mail.example')).toBe(true);
    expect(leafCarries(leaf(['DNS:*.example']), 'a.mail.example')).toBe(false);
    expect(leafCarries(leaf(['DNS:*.example']), 'example')).toBe(false);
    expect(leafCarries(leaf(['IP Address:127.0.0.1']), 'cn.example')).toBe(true);
    expect(leafCarries(leaf(['DNS:other.example']), 'cn.example')).toBe(false);
  });
  it('names records as RFC 7218 does', () => {
    expect(describeTlsa(record(3, 1, 1, 'ab'))).toBe('3 1 1 (DANE-EE SPKI SHA2-256) ab');
  });
});
