import { describe, expect, it } from 'vitest';
import {
  concludeEgress,
  concludeFamily,
  type EgressFamily,
  type EgressHost,
  hostEvidence,
  type Port25Dialogue,
} from '../src/egress.js';
import { referenceFor } from '../src/reference/table.js';
import { evaluate } from '../src/rules/evaluate.js';
import { rules } from '../src/rules/rules.js';
import type { PortResult, Service } from '../src/types.js';
import { judge } from './helpers/probe.js';

const startedAt = '2026-06-01T00:00:00.000Z';

/** A hand-built result: an open, well-behaved port unless told otherwise. */
function result(service: Service, overrides: Partial<PortResult> = {}): PortResult {
  const row = referenceFor(service);
  const tls = {
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    trusted: true,
    checkedName: 'mail.example',
    nameMatches: true,
    certificate: {
      subject: 'CN=mail.example',
      issuer: 'CN=Test CA',
      subjectAltNames: ['DNS:mail.example'],
      validFrom: '2026-01-01T00:00:00.000Z',
      validTo: '2026-12-31T00:00:00.000Z',
      sha256: 'AA',
      chainLength: 2,
    },
  };
  return {
    port: row.port,
    service,
    protocol: row.protocol,
    expectedTls: row.tls,
    address: '192.0.2.10',
    family: 4,
    status: 'open',
    statusDetail: '',
    greeting: { kind: 'ok', lines: ['mail.example ready'] },
    capabilities: {
      command: 'EHLO',
      ok: true,
      list: ['STARTTLS'],
      starttls: true,
      authMechanisms: [],
      plaintextLogin: false,
    },
    ...(row.tls === 'starttls'
      ? { starttls: { advertised: true, attempted: true, accepted: true, upgraded: true, bytesAfterOk: 0 } }
      : {}),
    tls,
    startedAt,
    timings: { total: 10 },
    transcript: [],
    ...overrides,
  };
}

/** A leaf with these dates; the trust problems are what observation (src/net/chain.ts) records for them. */
const withCert = (validTo: string, validFrom = '2026-01-01T00:00:00.000Z') => {
  const base = result('imaps');
  if (!base.tls?.certificate) throw new Error('fixture has a certificate');
  const trustProblems = [
    ...(Date.parse(validTo) < Date.parse(startedAt)
      ? [
          {
            kind: 'expired' as const,
            certificate: 'leaf',
            index: 0,
            detail: `CN=mail.example expired on ${validTo.slice(0, 10)}`,
          },
        ]
      : []),
    ...(Date.parse(validFrom) > Date.parse(startedAt)
      ? [
          {
            kind: 'not-yet-valid' as const,
            certificate: 'leaf',
            index: 0,
            detail: `CN=mail.example is valid only from ${validFrom.slice(0, 10)}`,
          },
        ]
      : []),
  ];
  return result('imaps', {
    tls: {
      ...base.tls,
      trusted: trustProblems.length === 0,
      trustProblems,
      certificate: { ...base.tls.certificate, validTo, validFrom },
    },
  });
};

/** An untrusted chain for which observation could name no reason: cert-untrusted must still fire. */
const untrustedWithoutReason = () => {
  const base = result('imaps');
  return result('imaps', {
    tls: { ...(base.tls as NonNullable<PortResult['tls']>), trusted: false, trustError: 'SOME_NEW_ERROR' },
  });
};

describe('rules over hand-built results', () => {
  const table: { name: string; ports: PortResult[]; ids: string[] }[] = [
    { name: 'a clean port', ports: [result('submission')], ids: [] },
    {
      name: 'expiring in 10 days',
      ports: [withCert('2026-06-11T00:00:00.000Z')],
      ids: ['cert-expiring-soon'],
    },
    { name: 'expiring in 20 days', ports: [withCert('2026-06-21T00:00:00.000Z')], ids: [] },
    { name: 'expired yesterday', ports: [withCert('2026-05-31T00:00:00.000Z')], ids: ['cert-expired'] },
    {
      name: 'not valid yet',
      ports: [withCert('2027-06-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z')],
      ids: ['cert-not-yet-valid'],
    },
    { name: 'untrusted with no reason recorded', ports: [untrustedWithoutReason()], ids: ['cert-untrusted'] },
    {
      name: 'TLS 1.0',
      ports: [
        result('pop3s', {
          tls: { ...(result('pop3s').tls as NonNullable<PortResult['tls']>), protocol: 'TLSv1' },
        }),
      ],
      ids: ['tls-legacy-version'],
    },
    {
      name: 'filtered 25 alone',
      ports: [result('smtp', { status: 'filtered' })],
      ids: ['no-port-works', 'port-filtered'],
    },
    {
      name: 'nothing works on the host: one no-port-works, on its first port',
      ports: [result('submission', { status: 'refused' }), result('imaps', { status: 'filtered' })],
      ids: ['no-port-works', 'port-filtered', 'port-closed'],
    },
    {
      name: 'ports not tested from here do not make no-port-works',
      ports: [
        result('submission', {
          status: 'local-error',
          noRouteFromHere: true,
          family: 6,
          address: '2001:db8::1',
        }),
      ],
      ids: [],
    },
    {
      name: 'filtered 25 while 587 answers',
      ports: [result('smtp', { status: 'filtered' }), result('submission')],
      ids: ['port-25-blocked'],
    },
    {
      name: 'filtered 25 while 587 answers on another address only',
      ports: [result('smtp', { status: 'filtered' }), result('submission', { address: '192.0.2.99' })],
      ids: ['port-filtered'],
    },
    {
      name: 'filtered 587',
      ports: [result('submission', { status: 'filtered' }), result('submissions')],
      ids: ['port-filtered'],
    },
    {
      name: 'capabilities identical before and after STARTTLS',
      ports: [
        result('imap', {
          capabilities: {
            command: 'CAPABILITY',
            ok: true,
            list: ['IMAP4rev1', 'X'],
            starttls: false,
            authMechanisms: [],
            plaintextLogin: false,
          },
          capabilitiesAfterTls: {
            command: 'CAPABILITY',
            ok: true,
            list: ['IMAP4rev1', 'X'],
            starttls: false,
            authMechanisms: [],
            plaintextLogin: false,
          },
        }),
      ],
      ids: ['capabilities-unchanged-after-tls'],
    },
    {
      name: 'unreachable',
      ports: [result('imap', { status: 'unreachable' })],
      ids: ['no-port-works', 'port-unreachable'],
    },
    {
      name: 'local error',
      ports: [result('imap', { status: 'local-error', statusDetail: 'EMFILE' })],
      ids: ['no-port-works', 'probe-incomplete'],
    },
    {
      name: 'POP3 CAPA refused: STLS cannot be advertised',
      ports: [
        result('pop3', {
          capabilities: {
            command: 'CAPA',
            ok: false,
            list: [],
            starttls: false,
            authMechanisms: [],
            plaintextLogin: false,
          },
          starttls: {
            advertised: false,
            attempted: false,
            accepted: false,
            upgraded: false,
            bytesAfterOk: 0,
          },
        }),
      ],
      ids: ['starttls-not-offered'],
    },
  ];
  for (const row of table) {
    it(`${row.name} → ${row.ids.join(', ') || 'no finding'}`, () => {
      expect(judge(...row.ports).findings.map((finding) => finding.id)).toEqual(row.ids);
    });
  }

  it('port-25-blocked is high and names the ports that answered', () => {
    const verdict = judge(
      result('smtp', { status: 'filtered' }),
      result('submission'),
      result('submissions'),
    );
    expect(verdict.findings[0]).toMatchObject({ id: 'port-25-blocked', severity: 'high', port: 25 });
    expect(verdict.findings[0]?.detail).toMatch(/587 and 465 on the same address answered/);
    expect(verdict.findings[0]?.detail).toMatch(/ISP/);
    expect(verdict.findings[0]?.detail).toMatch(/run "mailprobe egress"/);
  });

  it('every finding carries evidence and a reference', () => {
    const verdict = judge(
      result('smtp', { status: 'filtered' }),
      result('submission', {
        capabilities: {
          command: 'EHLO',
          ok: true,
          list: ['AUTH PLAIN'],
          starttls: false,
          authMechanisms: ['PLAIN'],
          plaintextLogin: false,
        },
        starttls: { advertised: false, attempted: false, accepted: false, upgraded: false, bytesAfterOk: 0 },
      }),
      withCert('2026-05-01T00:00:00.000Z'),
    );
    expect(verdict.findings.length).toBeGreaterThan(2);
    for (const finding of verdict.findings) {
      expect(finding.evidence.length, finding.id).toBeGreaterThan(0);
      expect(finding.reference, finding.id).not.toBe('');
    }
  });

  it('a different certificate on another address of the same port is reported on each', () => {
    const other = withCert('2026-12-31T00:00:00.000Z');
    const base = other.tls as NonNullable<PortResult['tls']>;
    const certificate = base.certificate as NonNullable<typeof base.certificate>;
    const second = {
      ...other,
      address: '2001:db8::10',
      family: 6 as const,
      tls: { ...base, certificate: { ...certificate, sha256: 'BB', subject: 'CN=old.example' } },
    };
    const verdict = judge(other, second);
    expect(verdict.findings.map((f) => [f.id, f.address])).toEqual([
      ['certificate-differs-by-address', '192.0.2.10'],
      ['certificate-differs-by-address', '2001:db8::10'],
    ]);
  });

  it('no-port-works is not said for a name discovery only guessed, and is for one the domain published', () => {
    const ports = [result('submission', { status: 'refused' }), result('imaps', { status: 'refused' })];
    const base = judge(...ports);
    const as = (publishedBy: string[]) =>
      evaluate({ ...base, ports, publishedBy }).findings.filter((f) => f.id === 'no-port-works').length;
    expect(as(['guess'])).toBe(0);
    expect(as(['MX 10'])).toBe(1);
    expect(as(['SRV _imaps._tcp', 'guess'])).toBe(1);
    expect(as(['autoconfig'])).toBe(1);
  });

  it('rule ids are unique kebab-case', () => {
    const ids = rules.map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('a port is not safe without TLS, and has no safety verdict when it does not work', () => {
    const noTls = result('smtp', {
      starttls: { advertised: false, attempted: false, accepted: false, upgraded: false, bytesAfterOk: 0 },
      capabilities: {
        command: 'EHLO',
        ok: true,
        list: [],
        starttls: false,
        authMechanisms: [],
        plaintextLogin: false,
      },
    });
    delete noTls.tls;
    const verdict = judge(noTls, result('imap', { status: 'refused' }));
    expect(verdict.ports.map((port) => [port.works, port.safe])).toEqual([
      [true, false],
      [false, null],
    ]);
  });

  it('recommends only ports that work and are safe on every address', () => {
    const verdict = judge(
      result('submission'),
      result('submission', { address: '2001:db8::1', family: 6, status: 'filtered' }),
      result('submissions'),
      result('imaps'),
      result('pop3', { status: 'refused' }),
    );
    expect(verdict.recommendation.sending.map((entry) => entry.port)).toEqual([465]);
    expect(verdict.recommendation.reading.map((entry) => entry.port)).toEqual([993]);
    expect(verdict.recommendation.text).toBe('sending 465 (TLS) · reading 993 (IMAP, TLS)');
  });
});

describe('the egress conclusion', () => {
  type Observed = Omit<EgressHost, 'evidence' | 'why'>;
  const judged = (observed: Observed): EgressHost => ({ ...observed, ...hostEvidence(observed) });
  const smtp = (greeting: string, certificate: string, extra: Partial<Port25Dialogue> = {}) => ({
    status: 'open',
    greeting,
    starttls: true,
    certificate,
    certificateSubject: 'CN=x',
    nameMatches: true,
    ...extra,
  });
  const table: [string, Observed[], string][] = [
    [
      'two hosts time out on 25 while their control port answers',
      [
        { host: 'a', address: '192.0.2.1', port25: 'filtered', control: 'connected' },
        { host: 'b', address: '192.0.2.2', port25: 'filtered', control: 'refused' },
      ],
      'blocked',
    ],
    [
      'live hosts refuse 25 while their control port connects',
      [
        { host: 'a', address: '192.0.2.1', port25: 'refused', control: 'connected' },
        { host: 'b', address: '192.0.2.2', port25: 'refused', control: 'connected' },
      ],
      'blocked',
    ],
    [
      'hosts that refuse every port prove nothing',
      [
        { host: 'a', address: '192.0.2.1', port25: 'refused', control: 'refused' },
        { host: 'b', address: '192.0.2.2', port25: 'refused', control: 'refused' },
      ],
      'inconclusive',
    ],
    [
      'each host answers 25 as itself',
      [
        {
          host: 'a',
          address: '192.0.2.1',
          port25: 'connected',
          control: 'connected',
          smtp: smtp('a ESMTP', 'AA'),
        },
        {
          host: 'b',
          address: '192.0.2.2',
          port25: 'connected',
          control: 'connected',
          smtp: smtp('b ESMTP', 'BB'),
        },
      ],
      'not-blocked',
    ],
    [
      'independent hosts answer with the same banner',
      [
        {
          host: 'a',
          address: '192.0.2.1',
          port25: 'connected',
          control: 'connected',
          smtp: smtp('isp relay', 'AA'),
        },
        {
          host: 'b',
          address: '192.0.2.2',
          port25: 'connected',
          control: 'connected',
          smtp: smtp('isp relay', 'BB'),
        },
      ],
      'intercepted',
    ],
    [
      'independent hosts present the same certificate',
      [
        { host: 'a', address: '192.0.2.1', port25: 'connected', control: 'connected', smtp: smtp('a', 'CC') },
        { host: 'b', address: '192.0.2.2', port25: 'connected', control: 'connected', smtp: smtp('b', 'CC') },
      ],
      'intercepted',
    ],
    [
      'certificates not valid for their hosts, on independent hosts',
      [
        {
          host: 'a',
          address: '192.0.2.1',
          port25: 'connected',
          control: 'connected',
          smtp: smtp('a', 'AA', { nameMatches: false }),
        },
        {
          host: 'b',
          address: '192.0.2.2',
          port25: 'connected',
          control: 'connected',
          smtp: smtp('b', 'BB', { nameMatches: false }),
        },
      ],
      'intercepted',
    ],
    [
      'one MX certificate that names another host proves nothing',
      [
        {
          host: 'a',
          address: '192.0.2.1',
          port25: 'connected',
          control: 'connected',
          smtp: smtp('a', 'AA', { nameMatches: false }),
        },
      ],
      'not-blocked',
    ],
    [
      'STARTTLS missing from here, on independent hosts',
      [
        {
          host: 'a',
          address: '192.0.2.1',
          port25: 'connected',
          control: 'connected',
          smtp: smtp('a', 'AA', { starttls: false }),
        },
        {
          host: 'b',
          address: '192.0.2.2',
          port25: 'connected',
          control: 'connected',
          smtp: smtp('b', 'BB', { starttls: false }),
        },
      ],
      'intercepted',
    ],
    [
      'a single block is not enough',
      [
        { host: 'a', address: '192.0.2.1', port25: 'filtered', control: 'connected' },
        { host: 'b', address: '192.0.2.2', port25: 'filtered', control: 'filtered' },
      ],
      'inconclusive',
    ],
  ];
  for (const [name, observed, conclusion] of table) {
    it(`${name} → ${conclusion}`, () =>
      expect(concludeFamily(observed.map(judged)).conclusion).toBe(conclusion));
  }

  it('the overall conclusion: interception or a block in any family first, then not blocked', () => {
    const family = (f: 4 | 6, conclusion: EgressFamily['conclusion']): EgressFamily => ({
      family: f,
      conclusion,
      summary: conclusion,
    });
    expect(concludeEgress([family(4, 'not-blocked'), family(6, 'inconclusive')]).conclusion).toBe(
      'not-blocked',
    );
    expect(concludeEgress([family(4, 'not-blocked'), family(6, 'blocked')]).conclusion).toBe('blocked');
    expect(concludeEgress([family(4, 'intercepted'), family(6, 'blocked')]).conclusion).toBe('intercepted');
    expect(concludeEgress([]).conclusion).toBe('inconclusive');
  });
});
