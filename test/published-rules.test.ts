/** The published-settings rules: one shape, one list, and the judge's loop (de-duplication, order, severity). */
import { describe, expect, it } from 'vitest';
import { addCandidate, discover, mxAddressLookup, nullMxReason } from '../src/discovery/hosts.js';
import { readPolicy, readStsRecord, readTlsRptRecord } from '../src/discovery/published/mta-sts.js';
import { startPublished } from '../src/discovery/published/sources.js';
import { srvSource } from '../src/discovery/published/srv.js';
import { ResolveError } from '../src/errors.js';
import type { Dns } from '../src/net/dns.js';
import type { HostVerdict } from '../src/rules/evaluate.js';
import { checkDomainExpectations } from '../src/rules/expectations.js';
import { severityRank } from '../src/rules/finding.js';
import { judgePublished, judgeRecords, publishedRules } from '../src/rules/published/judge.js';
import { mxRules, mxSubjects } from '../src/rules/published/mx.js';
import { checkSetting, observe } from '../src/rules/published/observed.js';
import type { TransportSubject } from '../src/rules/published/transport.js';
import { chooseSettings } from '../src/rules/settings.js';
import type { Discovery, PublishedSource } from '../src/types/index.js';

const autoconfig: PublishedSource = {
  kind: 'autoconfig',
  location: 'https://autoconfig.x.test/mail/config-v1.1.xml',
  domain: 'x.test',
  fetch: {
    url: 'https://autoconfig.x.test/mail/config-v1.1.xml',
    method: 'GET',
    outcome: 'ok',
    detail: 'HTTP 200',
    ms: 1,
    redirects: [
      {
        status: 301,
        from: 'https://autoconfig.x.test/a',
        to: 'http://evil.example/b',
        crossDomain: true,
        downgrade: true,
      },
      {
        status: 302,
        from: 'http://evil.example/b',
        to: 'http://10.0.0.1/c',
        privateAddress: '10.0.0.1 (private)',
      },
    ],
  },
  problems: ['the <SSL> value "maybe" is not on or off', 'an incomingServer has no hostname'],
  settings: [
    {
      direction: 'incoming',
      protocol: 'IMAP',
      host: 'mail.x.test',
      port: 143,
      security: 'plain',
      as: 'plain',
    },
    {
      direction: 'outgoing',
      protocol: 'SMTP',
      host: 'mail.x.test',
      port: 25,
      security: 'STARTTLS',
      as: 'STARTTLS',
    },
  ],
};
const autodiscover: PublishedSource = {
  kind: 'autodiscover',
  location: 'https://autodiscover.x.test/autodiscover/autodiscover.xml',
  domain: 'x.test',
  settings: [
    { direction: 'incoming', protocol: 'IMAP', host: 'imap.x.test', port: 993, security: 'TLS', as: 'SSL' },
    {
      direction: 'outgoing',
      protocol: 'SMTP',
      host: 'mail.x.test',
      port: 25,
      security: 'STARTTLS',
      as: 'TLS',
    },
  ],
};
const discovery = {
  domain: 'x.test',
  records: [
    {
      kind: 'MX',
      query: 'x.test',
      answer: '10 bad_name.x.test',
      note: 'invalid-name',
      detail: 'an underscore',
    },
  ],
  published: [autoconfig, autodiscover],
} as unknown as Discovery;

describe('the published-settings rules', () => {
  it('each has its own id, a severity, a title and a reference', () => {
    const ids = publishedRules.map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of publishedRules) {
      expect(rule.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(rule.title).not.toBe('');
      expect(rule.reference).not.toBe('');
    }
  });

  const { findings } = judgePublished(discovery, []);

  it('every finding is made by a listed rule and carries that rule severity', () => {
    expect(findings.length).toBeGreaterThan(5);
    for (const finding of findings) {
      const rule = publishedRules.find((r) => r.id === finding.id);
      expect(rule, finding.id).toBeDefined();
      expect(finding.severity).toBe(rule?.severity);
      expect(finding.evidence.length, finding.id).toBeGreaterThan(0);
      expect(finding.reference, finding.id).not.toBe('');
    }
  });

  it('lists the findings worst first', () => {
    const ranks = findings.map((f) => severityRank(f.severity));
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
  });

  it('makes one finding of one server published by two sources, naming both', () => {
    const port25 = findings.filter((f) => f.id === 'published-smtp-port-25');
    expect(port25).toHaveLength(1);
    expect(port25[0]?.sources).toEqual([autoconfig.location, autodiscover.location]);
    const down = findings.filter((f) => f.id === 'published-not-working' && f.port === 25);
    expect(down).toHaveLength(1);
    expect(down[0]?.sources).toEqual([autoconfig.location, autodiscover.location]);
  });

  it('judges each problem, redirect and record once, with the source in the title', () => {
    const ids = findings.map((f) => f.id);
    for (const id of [
      'published-encryption-ambiguous',
      'published-malformed',
      'published-redirect-cross-domain',
      'published-redirect-downgrade',
      'published-redirect-private-address',
      'published-invalid-name',
      'published-plaintext',
      'published-sources-disagree',
    ])
      expect(
        ids.filter((x) => x === id),
        id,
      ).toHaveLength(1);
    expect(findings.find((f) => f.id === 'published-redirect-downgrade')?.title).toBe(
      `autoconfig ${autoconfig.location} redirects from https to http`,
    );
  });
});

describe('MTA-STS, MX by MX: what this machine could not reach is never a reason (RFC 8461 §4, §5)', () => {
  const subjectWith = (ports: { address: string; status: string; starttls?: { advertised: boolean } }[]) =>
    ({
      discovery: { domain: 'x.test', records: [{ kind: 'MX', answer: '10 mx.x.test.' }] },
      transport: { stsId: '1', policy: { mode: 'enforce', mx: ['mx.x.test'], problems: [] } },
      hosts: [{ host: 'mx.x.test', ports: ports.map((port) => ({ port: 25, ...port })) }],
    }) as unknown as TransportSubject;
  const fired = (subject: TransportSubject) =>
    mxSubjects(subject).flatMap((mx) => mxRules.filter((rule) => rule.check(mx)).map((rule) => rule.id));

  it('port 25 filtered from here: unchecked (info), never refused', () => {
    const subject = subjectWith([{ address: '192.0.2.1', status: 'filtered' }]);
    expect(fired(subject)).toEqual(['mta-sts-mx-unchecked']);
    const [mx] = mxSubjects(subject);
    expect(mx?.reasons).toEqual([]);
    expect(mx?.unchecked).toEqual(['port 25 on 192.0.2.1: filtered, no dialogue to check']);
  });

  it('a dialogue without STARTTLS is a reason; another address filtered does not hide it', () => {
    const subject = subjectWith([
      { address: '192.0.2.1', status: 'open', starttls: { advertised: false } },
      { address: '192.0.2.2', status: 'filtered' },
    ]);
    expect(fired(subject)).toEqual(['mta-sts-mx-refused']);
    expect(mxSubjects(subject)[0]?.reasons).toEqual(['port 25 on 192.0.2.1: STARTTLS is not offered']);
  });
});

describe('MTA-STS and TLS-RPT syntax, as the RFCs write it', () => {
  const policy = (extra: string) =>
    readPolicy(`version: STSv1\r\nmode: enforce\r\nmx: mx.x.test\r\nmax_age: 86400\r\n${extra}`);

  it('policy extension keys may hold - and . (RFC 8461 §3.2 sts-policy-ext-name); they are ignored', () => {
    expect(policy('x-report-uri: https://example.test/r\r\next.v2: yes\r\n').problems).toEqual([]);
    expect(policy('-bad: 1\r\n').problems).toEqual(['line 5 is not key: value: "-bad: 1"']);
    expect(policy(`${'k'.repeat(33)}: 1\r\n`).problems).toHaveLength(1);
  });

  it('TLS-RPT: blanks around the commas, = in a URI, several rua fields (RFC 8460 §3)', () => {
    expect(readTlsRptRecord(['v=TLSRPTv1; rua=mailto:a@x.test, mailto:b@x.test'])).toEqual({
      rua: ['mailto:a@x.test', 'mailto:b@x.test'],
    });
    expect(readTlsRptRecord(['v=TLSRPTv1; rua=https://r.x.test/tlsrpt?d=x.test'])).toEqual({
      rua: ['https://r.x.test/tlsrpt?d=x.test'],
    });
    expect(readTlsRptRecord(['v=TLSRPTv1; rua=mailto:a@x.test; rua=https://r.x.test/'])).toEqual({
      rua: ['mailto:a@x.test', 'https://r.x.test/'],
    });
  });

  it('TLS-RPT still refuses what is not a record: no rua, another scheme, a blank inside a URI', () => {
    expect(readTlsRptRecord(['v=TLSRPTv1; x=1']).problem).toMatch(/not v=TLSRPTv1; rua=/);
    expect(readTlsRptRecord(['v=TLSRPTv1; rua=ftp://r.x.test/']).problem).toMatch(
      /neither mailto: nor https:/,
    );
    expect(readTlsRptRecord(['v=TLSRPTv1; rua=mailto:a @x.test']).problem).toBeDefined();
    expect(readStsRecord(['v=STSv1; id=2026; x-ext.1=yes'])).toEqual({ id: '2026' });
  });
});

describe('one port named as two services by two records (RFC 6186 §3): each is probed and judged as its own', () => {
  it('the candidate list keeps both services of the port; the same service once', () => {
    const candidates = new Map();
    addCandidate(candidates, 'mail.x.test', [{ port: 143, service: 'imaps' }], 'SRV _imaps._tcp');
    addCandidate(candidates, 'mail.x.test', [{ port: 143, service: 'imap' }], 'SRV _imap._tcp');
    addCandidate(candidates, 'mail.x.test', [{ port: 143, service: 'imap' }], 'guess');
    expect(candidates.get('mail.x.test')?.ports).toEqual([
      { port: 143, service: 'imaps' },
      { port: 143, service: 'imap' },
    ]);
  });

  it('a STARTTLS setting is judged on the STARTTLS probe, not on the implicit-TLS one that failed', () => {
    const port = (service: string, fields: object) => ({
      port: 143,
      service,
      protocol: 'imap',
      address: '192.0.2.1',
      findings: [],
      ...fields,
    });
    const host = {
      host: 'mail.x.test',
      ports: [
        port('imaps', {
          expectedTls: 'implicit',
          status: 'wrong-tls-mode',
          works: false,
          safe: false,
          crossCheck: { tried: 'plaintext', outcome: 'mail-greeting', detail: 'ready' },
        }),
        port('imap', {
          expectedTls: 'starttls',
          status: 'open',
          works: true,
          safe: true,
          starttls: { upgraded: true },
          tls: { protocol: 'TLSv1.3' },
        }),
      ],
    } as unknown as HostVerdict;
    const discovery = { domain: 'x.test' } as unknown as Discovery;
    const setting = (security: 'STARTTLS' | 'TLS') =>
      ({
        direction: 'incoming',
        protocol: 'IMAP',
        host: 'mail.x.test',
        port: 143,
        security,
        as: 'SRV',
      }) as const;
    expect(
      checkSetting(observe(discovery, [host], setting('STARTTLS')), setting('STARTTLS'), 'SRV'),
    ).toMatchObject({
      works: true,
      safe: true,
    });
    expect(checkSetting(observe(discovery, [host], setting('TLS')), setting('TLS'), 'SRV')).toMatchObject({
      works: false,
    });
  });

  it('an outgoing setting on a submission port with no AUTH over TLS says a client cannot log in there', () => {
    const submission = (authMechanisms: string[]) =>
      ({
        host: 'mail.x.test',
        ports: [
          {
            port: 465,
            service: 'submissions',
            protocol: 'smtp',
            address: '192.0.2.1',
            expectedTls: 'implicit',
            status: 'open',
            works: true,
            safe: true,
            findings: [],
            tls: { protocol: 'TLSv1.3' },
            capabilities: { command: 'EHLO', ok: true, list: ['PIPELINING'], authMechanisms },
          },
        ],
      }) as unknown as HostVerdict;
    const discovery = { domain: 'x.test' } as unknown as Discovery;
    const setting = {
      direction: 'outgoing',
      protocol: 'SMTP',
      host: 'mail.x.test',
      port: 465,
      security: 'TLS',
      as: 'SRV',
    } as const;
    const check = (authMechanisms: string[]) =>
      checkSetting(observe(discovery, [submission(authMechanisms)], setting), setting, 'SRV').observed;
    expect(check([])).toContain('no AUTH over TLS (submission-auth-not-offered)');
    expect(check(['PLAIN'])).not.toContain('AUTH');
  });
});

describe('a null MX beside other MX records (RFC 7505 §3)', () => {
  /** A resolver with these MX records and nothing else: nothing leaves the process. */
  const mxOnly = (mx: { priority: number; exchange: string }[]) =>
    ({
      mx: async () => mx,
      srv: async () => {
        throw Object.assign(new Error('none'), { code: 'ENODATA' });
      },
      cname: async () => [],
      addresses: async () => {
        throw Object.assign(new Error('none'), { code: 'ENOTFOUND' });
      },
    }) as unknown as Dns;

  it('is kept as a record with a note, not dropped; the other MX hosts are still probed', async () => {
    const dns = mxOnly([
      { priority: 0, exchange: '' },
      { priority: 10, exchange: 'mx.mixed.test' },
    ]);
    const discovery = await discover('mixed.test', dns);
    expect(discovery.records.filter((r) => r.kind === 'MX')).toEqual([
      expect.objectContaining({
        answer: '0 .',
        note: 'null-mx',
        detail: expect.stringMatching(/RFC 7505 §3 forbids/),
      }),
      expect.objectContaining({ answer: '10 mx.mixed.test' }),
    ]);
    expect(discovery.candidates.map((c) => c.host)).toContain('mx.mixed.test');
    expect(nullMxReason(discovery.records)).toBeUndefined();
    // RFC 7505 §3 forbids it, and says nothing of what a sender does then: a finding, with every MX as evidence.
    const mixed = judgeRecords(discovery, [])?.findings.filter((f) => f.id === 'null-mx-mixed');
    expect(mixed).toEqual([
      expect.objectContaining({
        severity: 'medium',
        sources: ['MX mixed.test'],
        evidence: ['MX mixed.test: 0 .', 'MX mixed.test: 10 mx.mixed.test'],
        reference: expect.stringContaining('RFC 7505 §3'),
      }),
    ]);
  });

  it('several null MX records and no other MX: the domain accepts no mail, one note, no finding', async () => {
    const discovery = await discover(
      'nulls.test',
      mxOnly([
        { priority: 10, exchange: '' },
        { priority: 0, exchange: '' },
      ]),
    );
    const mx = discovery.records.filter((r) => r.kind === 'MX');
    expect(mx.map((r) => [r.answer, r.note])).toEqual([
      ['0 .', 'null-mx'],
      ['10 .', 'null-mx'],
    ]);
    // Not "beside other MX records": there is none.
    for (const record of mx)
      expect(record.detail).toMatch(/^one of 2 null MX records and no other MX: .*accepts no mail/);
    expect(discovery.candidates.filter((c) => c.sources.some((s) => s.startsWith('MX')))).toEqual([]);
    expect(nullMxReason(discovery.records)).toBe(
      'it publishes only null MX records, 0 . and 10 . (accepts no mail: no MX names a host; RFC 7505 §3 defines one null MX)',
    );
    expect(judgeRecords(discovery, [])?.findings.map((f) => f.id) ?? []).not.toContain('null-mx-mixed');
    expect(chooseSettings(discovery, []).notes.filter((n) => /null MX/.test(n))).toEqual([
      'nulls.test publishes only null MX records: it accepts no mail (RFC 7505)',
    ]);
  });

  it('accepts no mail as RFC 5321 §5.1 has it, and is not called the null MX RFC 7505 defines (0 .)', async () => {
    const discovery = await discover('ten.test', mxOnly([{ priority: 10, exchange: '' }]));
    const [record] = discovery.records.filter((r) => r.kind === 'MX');
    expect(record?.answer).toBe('10 .');
    expect(record?.detail).toMatch(
      /^an MX of "\." with preference 10: it names no host, so the domain accepts no mail/,
    );
    expect(record?.detail).toMatch(/RFC 7505 §3 defines the null MX as 0 \./);
    expect(nullMxReason(discovery.records)).toMatch(/^it publishes one MX, 10 \., which names no host/);
    // The null MX itself keeps its words.
    const zero = await discover('zero.test', mxOnly([{ priority: 0, exchange: '' }]));
    expect(nullMxReason(zero.records)).toBe('it publishes a null MX (accepts no mail, RFC 7505)');
  });
});

describe('an MX host without an address (RFC 5321 §5.1: it MUST have one)', () => {
  it('is a finding when DNS says it has none; not when its lookup failed, nor for a family not asked (-4, -6)', () => {
    const mx = (answer: string) => ({ kind: 'MX' as const, query: 'lookups.test', answer });
    const discovery = {
      domain: 'lookups.test',
      records: [
        mx('10 a.lookups.test'),
        mx('20 B.lookups.test'),
        mx('30 c.lookups.test'),
        mx('40 d.lookups.test'),
      ],
      candidates: [],
      mxAddresses: [
        mxAddressLookup('a.lookups.test'),
        mxAddressLookup('b.lookups.test', new ResolveError('b.lookups.test', 'no such host', true)),
        mxAddressLookup(
          'c.lookups.test',
          new ResolveError('c.lookups.test', 'the DNS server failed (SERVFAIL)'),
        ),
        mxAddressLookup('d.lookups.test', new ResolveError('d.lookups.test', 'no IPv4 address', false, true)),
      ],
    } as Discovery;
    expect(discovery.mxAddresses?.map((l) => l.outcome)).toEqual(['found', 'none', 'failed', 'found']);
    expect(discovery.mxAddresses?.[3]?.detail).toBe('no IPv4 address: not probed');
    const found = judgeRecords(discovery, [])?.findings.filter((f) => f.id === 'mx-no-address');
    expect(found?.map((f) => [f.severity, f.reference, f.evidence])).toEqual([
      ['low', 'RFC 5321 §5.1', ['MX lookups.test: 20 B.lookups.test', 'b.lookups.test: no such host']],
    ]);
  });
});

/** A resolver that answers only the SRV questions given (no MX, no address anywhere): nothing leaves the process. */
function srvOnly(
  answers: Record<string, { name: string; port: number; priority: number; weight: number }[]>,
) {
  const none = (code: string) => async () => {
    throw Object.assign(new Error('none'), { code });
  };
  return {
    mx: none('ENODATA'),
    srv: async (name: string) => {
      const answer = answers[name];
      if (!answer) throw Object.assign(new Error('none'), { code: 'ENODATA' });
      return answer;
    },
    cname: async () => [],
    addresses: none('ENOTFOUND'),
  } as unknown as Dns;
}

describe('an SRV record of port 0 (RFC 2782): unusable, never probed', () => {
  const dns = srvOnly({
    '_imaps._tcp.zero.test': [{ name: 'mail.zero.test', port: 0, priority: 0, weight: 1 }],
    '_submissions._tcp.zero.test': [{ name: 'mail.zero.test', port: 465, priority: 0, weight: 1 }],
    '_autodiscover._tcp.zero.test': [{ name: 'ad.zero.test', port: 0, priority: 0, weight: 1 }],
  });

  it('is kept as a record with a note; its port is no candidate, the other records are probed as before', async () => {
    const discovery = await discover('zero.test', dns);
    expect(discovery.records.filter((r) => r.kind === 'SRV' && r.answer !== '')).toEqual([
      {
        kind: 'SRV',
        query: '_submissions._tcp.zero.test',
        answer: '0 1 465 mail.zero.test',
      },
      {
        kind: 'SRV',
        query: '_imaps._tcp.zero.test',
        answer: '0 1 0 mail.zero.test',
        note: 'port-zero',
        detail: 'the SRV record names port 0, which takes no connection',
      },
    ]);
    const ports = discovery.candidates.flatMap((c) => c.ports.map((p) => p.port));
    expect(ports).not.toContain(0);
    expect(discovery.candidates.find((c) => c.host === 'mail.zero.test')?.ports).toEqual([
      { port: 465, service: 'submissions' },
    ]);
  });

  it('is a finding on the record (its evidence the record), not a port that does not work', async () => {
    const discovery = await discover('zero.test', dns);
    for (const judgement of [judgeRecords(discovery, []), judgePublished(discovery, [])]) {
      const findings = judgement?.findings ?? [];
      expect(findings.filter((f) => f.id === 'srv-port-zero')).toEqual([
        expect.objectContaining({
          severity: 'medium',
          sources: ['SRV _imaps._tcp.zero.test'],
          evidence: ['SRV _imaps._tcp.zero.test: 0 1 0 mail.zero.test'],
          reference: expect.stringMatching(/RFC 2782.*RFC 6186/),
        }),
      ]);
      expect(findings.find((f) => f.id === 'srv-port-zero')?.title).toMatch(/unusable/);
      expect(findings.filter((f) => f.id === 'published-not-working')).toEqual([]);
    }
    // What an SRV client is told leaves the record out: there is no setting of port 0 to check.
    expect(srvSource(discovery)?.settings.map((s) => s.port)).toEqual([465]);
  });

  it('an _autodiscover._tcp record of port 0 is not fetched', async () => {
    const finish = startPublished({ domain: 'zero.test' }, { dns, ispdb: false, timeoutMs: 500 });
    const sources = await finish(await discover('zero.test', dns));
    expect(sources.map((s) => s.location).filter((l) => l.includes('ad.zero.test'))).toEqual([]);
  });
});

describe('an SRV answer that mixes "." with records naming servers (RFC 2782, RFC 6186 §3.4)', () => {
  const dns = srvOnly({
    '_imaps._tcp.mixed.test': [
      { name: '', port: 0, priority: 0, weight: 0 },
      { name: 'mail.mixed.test', port: 1993, priority: 0, weight: 1 },
    ],
  });
  const works = {
    host: 'mail.mixed.test',
    addresses: [{ address: '192.0.2.1' }],
    ports: [{ port: 1993, service: 'imaps', address: '192.0.2.1', works: true, safe: true, findings: [] }],
  } as unknown as HostVerdict;

  // On a port of its own, where a "." alone would have its service's standard port (993) tried too.
  it('the servers named are probed as before; the "." adds no check of its own', async () => {
    const discovery = await discover('mixed.test', dns);
    expect(discovery.records.filter((r) => r.query === '_imaps._tcp.mixed.test')).toEqual([
      { kind: 'SRV', query: '_imaps._tcp.mixed.test', answer: '0 1 1993 mail.mixed.test' },
      expect.objectContaining({ answer: '0 0 0 .', note: 'not-offered' }),
    ]);
    expect(discovery.candidates.find((c) => c.host === 'mail.mixed.test')).toEqual({
      host: 'mail.mixed.test',
      ports: [{ port: 1993, service: 'imaps' }],
      sources: ['SRV _imaps._tcp'],
    });
  });

  it('is one finding with every record of the name as evidence, and not "not offered, but it runs"', async () => {
    const discovery = await discover('mixed.test', dns);
    for (const judgement of [judgeRecords(discovery, [works]), judgePublished(discovery, [works])]) {
      const findings = judgement?.findings ?? [];
      expect(findings.filter((f) => f.id === 'srv-not-offered-mixed')).toEqual([
        expect.objectContaining({
          severity: 'low',
          sources: ['SRV _imaps._tcp.mixed.test'],
          evidence: [
            'SRV _imaps._tcp.mixed.test: 0 1 1993 mail.mixed.test',
            'SRV _imaps._tcp.mixed.test: 0 0 0 .',
          ],
          reference: expect.stringMatching(/RFC 2782.*RFC 6186 §3/),
          detail: expect.stringMatching(/Clients differ/),
        }),
      ]);
      expect(findings.filter((f) => f.id === 'srv-not-offered-but-runs')).toEqual([]);
    }
  });

  it('a "." alone is no mix: a service that runs is still srv-not-offered-but-runs', async () => {
    const alone = await discover(
      'mixed.test',
      srvOnly({ '_imaps._tcp.mixed.test': [{ name: '', port: 0, priority: 0, weight: 0 }] }),
    );
    const ids = judgeRecords(alone, [works])?.findings.map((f) => f.id);
    expect(ids).toEqual(['srv-not-offered-but-runs']);
  });
});

describe('MTA-STS max_age above 31557600 (RFC 8461 §3.2): grammatical, over the maximum, and senders differ', () => {
  const text = (maxAge: string) =>
    `version: STSv1\r\nmode: enforce\r\nmx: mx.x.test\r\nmax_age: ${maxAge}\r\n`;
  const judged = (maxAge: string) => {
    const discovery = {
      domain: 'x.test',
      records: [{ kind: 'MX', query: 'x.test', answer: '10 mx.x.test' }],
      candidates: [],
      transport: {
        stsRecord: { name: '_mta-sts.x.test', outcome: 'found', records: ['v=STSv1; id=1'] },
        stsId: '1',
        policy: readPolicy(text(maxAge)),
        tlsRptRecord: { name: '_smtp._tls.x.test', outcome: 'found', records: [] },
        tlsRptRua: ['mailto:r@x.test'],
      },
    } as unknown as Discovery;
    return { discovery, findings: judgeRecords(discovery, [])?.findings ?? [] };
  };

  it('is read as published (1 to 10 digits), not as a syntax problem', () => {
    expect(readPolicy(text('31557601'))).toMatchObject({ maxAge: 31_557_601, problems: [] });
    expect(readPolicy(text('9999999999'))).toMatchObject({ maxAge: 9_999_999_999, problems: [] });
    expect(readPolicy(text('99999999999')).problems).toEqual(['max_age "99999999999" is not 1 to 10 digits']);
    expect(readPolicy(text('1e9')).problems).toEqual(['max_age "1e9" is not 1 to 10 digits']);
  });

  it('is its own finding (medium), not mta-sts-policy-invalid: the policy is still judged as usable', () => {
    const { findings } = judged('40000000');
    const ids = findings.map((f) => f.id);
    expect(ids).not.toContain('mta-sts-policy-invalid');
    expect(ids).toContain('mta-sts-mode');
    expect(findings.filter((f) => f.id === 'mta-sts-max-age-too-long')).toEqual([
      expect.objectContaining({
        severity: 'medium',
        reference: 'RFC 8461 §3.2',
        evidence: ['max_age: 40000000'],
        detail: expect.stringMatching(/senders differ.*some discard the whole policy.*others apply it/),
      }),
    ]);
    // The maximum itself is no finding.
    expect(judged('31557600').findings.map((f) => f.id)).not.toContain('mta-sts-max-age-too-long');
  });

  it('--expect mta-sts=enforce: the mode, and that some senders discard the policy', () => {
    const [result] = checkDomainExpectations(judged('40000000').discovery, { mtaSts: 'enforce' });
    expect(result).toMatchObject({
      passed: true,
      observed:
        'enforce (id 1, max_age 40000000 s, above the maximum of 31557600: some senders discard the policy)',
    });
  });
});

describe('the domain report: outgoing when the only submission ports offer no login', () => {
  it('says no server offers a login, as each host use: line does, not "no server works safely"', async () => {
    const { renderDiscoveryHead } = await import('../src/render/discovery.js');
    const discovery = {
      domain: 'x.test',
      records: [],
      candidates: [],
      settings: { notes: [] },
    } as unknown as Parameters<typeof renderDiscoveryHead>[0];
    const host = (noLogin?: number[]) =>
      ({
        host: 'mail.x.test',
        servername: 'mail.x.test',
        addresses: [],
        ports: [],
        findings: [],
        recommendation: { sending: [], reading: [], text: '', ...(noLogin ? { noLogin } : {}) },
      }) as unknown as Parameters<typeof renderDiscoveryHead>[1][number];
    const outcome = { failOn: 'high', passed: true, failingFindings: 0, failedExpectations: 0 } as const;
    const head = (hosts: Parameters<typeof renderDiscoveryHead>[1]) =>
      renderDiscoveryHead(discovery, hosts, outcome, { color: false, quiet: true, width: 160 });
    expect(head([host([465, 587])])).toContain(
      'outgoing: no server offers a login (mail.x.test:465, mail.x.test:587: no AUTH over TLS)',
    );
    expect(head([host()])).toContain('outgoing: no server works safely');
  });
});
