/** Expectations: parsing (with one-line errors naming the source and key) and the pure check. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import {
  expectedService,
  parseDomainExpectFlag,
  parseExpectDocument,
  parseExpectFlag,
} from '../src/expect/parse.js';
import {
  boundedMatch,
  checkDomainExpectations,
  checkExpectations,
  patternBudgetMs,
} from '../src/rules/expectations.js';
import type { Discovery, PortResult } from '../src/types/index.js';
import { judge } from './helpers/probe.js';

describe('--expect flags', () => {
  const table: [string, object][] = [
    ['587=starttls', { port: 587, tls: 'starttls' }],
    ['465=tls', { port: 465, tls: 'implicit' }],
    ['25=closed', { port: 25, state: 'closed' }],
    [
      '993=works,safe,cert-days>=30,latency<=2000',
      { port: 993, works: true, safe: true, certDaysAtLeast: 30, maxLatencyMs: 2000 },
    ],
    ['2525=starttls,service=submission', { port: 2525, tls: 'starttls', service: 'submission' }],
    ['110=refused', { port: 110, state: 'refused' }],
  ];
  for (const [flag, parsed] of table)
    it(`parses ${flag}`, () => expect(parseExpectFlag(flag)).toEqual(parsed));

  for (const [flag, message] of [
    ['587', /expected PORT=WORD/],
    ['70000=tls', /out of range/],
    ['587=encrypted', /unknown word 'encrypted'/],
  ] as const) {
    it(`refuses ${flag}`, () => {
      expect(() => parseExpectFlag(flag)).toThrow(UsageError);
      expect(() => parseExpectFlag(flag)).toThrow(message);
    });
  }
});

describe('expectation files', () => {
  it('reads a whole document', () => {
    expect(
      parseExpectDocument(
        {
          ports: {
            '587': {
              tls: 'starttls',
              safe: true,
              authBeforeTls: { notOffer: ['plain'] },
              authAfterTls: { offer: ['PLAIN'] },
              greeting: 'ESMTP',
            },
            '25': { state: 'filtered' },
            '2525': { service: 'submission', works: true, certDaysAtLeast: 14, maxLatencyMs: 500 },
          },
        },
        'f.json',
      ),
    ).toEqual([
      { port: 25, state: 'filtered' },
      {
        port: 587,
        tls: 'starttls',
        safe: true,
        authBeforeTls: { notOffer: ['PLAIN'] },
        authAfterTls: { offer: ['PLAIN'] },
        greeting: 'ESMTP',
      },
      { port: 2525, service: 'submission', works: true, certDaysAtLeast: 14, maxLatencyMs: 500 },
    ]);
  });

  const mistakes: [string, unknown, RegExp][] = [
    ['no ports object', { port: {} }, /^f\.json: expected an object with a "ports" object/],
    ['a bad port key', { ports: { abc: {} } }, /^f\.json: ports\.abc: 'abc' is not a port number/],
    [
      'an unknown key',
      { ports: { '587': { tls: 'starttls', encryption: true } } },
      /^f\.json: ports\.587\.encryption: unknown key \(expected one of service, works/,
    ],
    [
      'a bad TLS mode',
      { ports: { '587': { tls: 'ssl' } } },
      /^f\.json: ports\.587\.tls: expected one of implicit, starttls, none$/,
    ],
    [
      'a bad boolean',
      { ports: { '587': { safe: 'yes' } } },
      /^f\.json: ports\.587\.safe: expected true or false$/,
    ],
    [
      'a bad number',
      { ports: { '993': { certDaysAtLeast: -3 } } },
      /^f\.json: ports\.993\.certDaysAtLeast: expected a whole number of days$/,
    ],
    [
      'a bad mechanism list',
      { ports: { '587': { authBeforeTls: { offer: 'PLAIN' } } } },
      /ports\.587\.authBeforeTls\.offer: expected a list of mechanism names/,
    ],
    [
      'a bad regular expression',
      { ports: { '587': { greeting: '(' } } },
      /ports\.587\.greeting: '\(' is not a valid regular expression/,
    ],
    [
      'a custom port without service',
      { ports: { '2525': { works: true } } },
      /ports\.2525: port 2525 is not in the reference table; add "service"/,
    ],
  ];
  for (const [name, document, message] of mistakes) {
    it(`refuses ${name} with a one-line error naming the file and key`, () => {
      expect(() => parseExpectDocument(document, 'f.json')).toThrow(message);
    });
  }

  it('a custom port takes its service from --port; a service= that contradicts it is refused', () => {
    const given = [{ port: 2525, service: 'submission' as const }];
    const [file] = parseExpectDocument({ ports: { '2525': { works: true } } }, 'f.json', given);
    expect(file).toEqual({ port: 2525, works: true });
    expect(file && expectedService(file, given)).toBe('submission');
    expect(expectedService(parseExpectFlag('2525=login'), given)).toBe('submission');
    expect(expectedService(parseExpectFlag('587=works'), [])).toBe('submission');
    expect(() => expectedService(parseExpectFlag('2525=works'))).toThrow(
      /^--expect 2525: port 2525 is not in the reference table; add service=NAME \(or --port 2525=SERVICE\)$/,
    );
    expect(() => expectedService(parseExpectFlag('2525=service=imap'), given)).toThrow(
      /^--expect 2525: service=imap contradicts the port's submission/,
    );
  });
});

describe('input echoed in an error is capped at 1 KiB, with its length', () => {
  const huge = 'k'.repeat(256 * 1024);
  const cases: [string, () => unknown][] = [
    ['a key', () => parseExpectDocument({ ports: { '587': { [huge]: 1 } } }, 'f.json')],
    ['a port', () => parseExpectDocument({ ports: { [huge]: {} } }, 'f.json')],
    ['a top-level key', () => parseExpectDocument({ ports: {}, [huge]: 1 }, 'f.json')],
    [
      'an auth key',
      () => parseExpectDocument({ ports: { '587': { authAfterTls: { [huge]: [] } } } }, 'f.json'),
    ],
    [
      'a regular expression',
      () => parseExpectDocument({ ports: { '587': { greeting: `(${huge}` } } }, 'f.json'),
    ],
    ['a --expect word', () => parseExpectFlag(`587=${huge}`)],
    ['a --expect port', () => parseExpectFlag(`${'9'.repeat(300_000)}=works`)],
  ];
  for (const [name, parse] of cases)
    it(`${name}`, () => {
      let message = '';
      try {
        parse();
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/bytes in all, cut at 1024/);
      expect(message.length).toBeLessThan(2 * 1024 + 400);
    });
});

describe('checking a verdict against expectations', () => {
  const base = {
    family: 4 as const,
    address: '192.0.2.1',
    statusDetail: '',
    startedAt: '2026-06-01T00:00:00.000Z',
    transcript: [],
    timings: { total: 120 },
  };
  const submission: PortResult = {
    ...base,
    port: 587,
    service: 'submission',
    protocol: 'smtp',
    expectedTls: 'starttls',
    status: 'open',
    greeting: { kind: 'ok', lines: ['mail.example ESMTP Postfix'], code: 220 },
    capabilities: {
      command: 'EHLO',
      ok: true,
      list: ['STARTTLS'],
      starttls: true,
      authMechanisms: [],
      plaintextLogin: false,
    },
    capabilitiesAfterTls: {
      command: 'EHLO',
      ok: true,
      list: ['AUTH PLAIN LOGIN'],
      starttls: false,
      authMechanisms: ['LOGIN', 'PLAIN'],
      plaintextLogin: false,
    },
    starttls: { advertised: true, attempted: true, accepted: true, upgraded: true, bytesAfterOk: 0 },
    tls: {
      protocol: 'TLSv1.3',
      cipher: 'x',
      trusted: true,
      checkedName: 'mail.example',
      nameMatches: true,
      certificate: {
        subject: '',
        issuer: '',
        subjectAltNames: [],
        validFrom: '2026-01-01T00:00:00.000Z',
        validTo: '2026-06-21T00:00:00.000Z',
        sha256: '',
        chainLength: 2,
      },
    },
  };
  const relay: PortResult = {
    ...base,
    port: 25,
    service: 'smtp',
    protocol: 'smtp',
    expectedTls: 'starttls',
    status: 'filtered',
  };

  it('passes what holds and fails what does not, with what was observed', () => {
    const verdict = judge(submission, relay);
    const results = checkExpectations(verdict, [
      {
        port: 587,
        tls: 'starttls',
        safe: true,
        works: true,
        greeting: 'Postfix',
        maxLatencyMs: 200,
        certDaysAtLeast: 14,
      },
      { port: 587, authBeforeTls: { notOffer: ['PLAIN'] }, authAfterTls: { offer: ['PLAIN', 'CRAM-MD5'] } },
      { port: 25, state: 'closed' },
      { port: 465, tls: 'implicit' },
      { port: 993, certDaysAtLeast: 60 },
    ]);
    expect(results.map((r) => [r.port, r.expectation, r.passed, r.observed])).toEqual([
      [587, 'works', true, 'works'],
      [587, 'tls=starttls', true, 'starttls'],
      [587, 'safe', true, 'safe'],
      [587, 'cert-days>=14', true, '20 days left'],
      [587, 'greeting~/Postfix/', true, 'mail.example ESMTP Postfix'],
      [587, 'latency<=200', true, '120 ms'],
      [587, 'authBeforeTls.notOffer PLAIN', true, 'before TLS: (none)'],
      [587, 'authAfterTls.offer PLAIN', true, 'after TLS: LOGIN PLAIN'],
      [587, 'authAfterTls.offer CRAM-MD5', false, 'after TLS: LOGIN PLAIN'],
      [25, 'state=closed', true, 'filtered'],
      [465, 'probed', false, 'not probed'],
      [993, 'probed', false, 'not probed'],
    ]);
  });

  it('a greeting pattern that backtracks on the server text ends within its budget, not matched', () => {
    const hostile = {
      ...submission,
      greeting: { kind: 'ok' as const, lines: [`${'a'.repeat(40)}!`], code: 220 },
    };
    const started = Date.now();
    const [result] = checkExpectations(judge(hostile), [{ port: 587, greeting: '^(\\w+\\s?)+ ESMTP$' }]);
    expect(Date.now() - started).toBeLessThan(patternBudgetMs + 2000);
    expect(result).toMatchObject({ passed: false, observed: expect.stringContaining('did not finish') });
    // An ordinary pattern still matches.
    expect(boundedMatch('ESMTP Postfix$', 'mail.example ESMTP Postfix')).toBe(true);
    expect(boundedMatch('^Exim', 'mail.example ESMTP Postfix')).toBe(false);
  });

  it('APOP counts as offered before TLS when the POP3 greeting carries a timestamp', () => {
    const pop3: PortResult = {
      ...submission,
      port: 110,
      service: 'pop3',
      protocol: 'pop3',
      greeting: { kind: 'ok', lines: ['ready <1.2@mail.example>'], apopTimestamp: '<1.2@mail.example>' },
      capabilities: {
        command: 'CAPA',
        ok: true,
        list: ['STLS'],
        starttls: true,
        authMechanisms: [],
        plaintextLogin: false,
      },
      capabilitiesAfterTls: {
        command: 'CAPA',
        ok: true,
        list: ['USER'],
        starttls: false,
        authMechanisms: [],
        plaintextLogin: true,
      },
    };
    const results = checkExpectations(judge(pop3), [
      { port: 110, authBeforeTls: { notOffer: ['APOP'] }, authAfterTls: { notOffer: ['APOP'] } },
    ]);
    expect(results.map((r) => [r.expectation, r.passed, r.observed])).toEqual([
      ['authBeforeTls.notOffer APOP', false, 'before TLS: APOP'],
      ['authAfterTls.notOffer APOP', true, 'after TLS: USER'],
    ]);
  });
});

describe('--expect mta-sts=MODE: the mode senders apply (RFC 8461 §5)', () => {
  const record = (outcome: 'found' | 'none' | 'failed', records: string[] = []) => ({
    name: '_mta-sts.example.org',
    outcome,
    records,
    ...(outcome === 'failed' ? { detail: 'SERVFAIL' } : {}),
  });
  const discovery = (transport: Record<string, unknown>) =>
    ({
      domain: 'example.org',
      records: [],
      transport: {
        tlsRptRecord: { name: '_smtp._tls.example.org', outcome: 'none', records: [] },
        ...transport,
      },
    }) as unknown as Discovery;
  const policy = { version: 'STSv1', mode: 'enforce', mx: ['mx.example.org'], maxAge: 86400, problems: [] };
  const seen = (transport: Record<string, unknown>, mode: 'enforce' | 'testing' | 'none') =>
    checkDomainExpectations(discovery(transport), { mtaSts: mode })[0];

  it('parses the modes, and refuses another word', () => {
    expect(parseDomainExpectFlag('mta-sts=Enforce')).toEqual({ mtaSts: 'enforce' });
    expect(() => parseDomainExpectFlag('mta-sts=strict')).toThrow(/unknown MTA-STS mode 'strict'/);
  });

  it('a usable policy in enforce meets enforce, not testing', () => {
    const usable = { stsRecord: record('found', ['v=STSv1; id=1']), stsId: '1', policy };
    expect(seen(usable, 'enforce')).toMatchObject({
      passed: true,
      observed: 'enforce (id 1, max_age 86400 s)',
    });
    expect(seen(usable, 'testing')?.passed).toBe(false);
  });

  it('a policy with a syntax problem is one senders discard: none, and why', () => {
    const broken = {
      stsRecord: record('found', ['v=STSv1; id=1']),
      stsId: '1',
      policy: { ...policy, problems: ['mode is "enforced"'] },
    };
    expect(seen(broken, 'enforce')?.passed).toBe(false);
    expect(seen(broken, 'none')).toMatchObject({
      passed: true,
      observed: 'none: published but senders cannot use it (the policy is invalid: mode is "enforced")',
    });
  });

  it('a failed TXT lookup is unknown: no mode expectation is met', () => {
    for (const mode of ['enforce', 'testing', 'none'] as const)
      expect(seen({ stsRecord: record('failed') }, mode)).toMatchObject({
        passed: false,
        observed: 'unknown: the _mta-sts TXT lookup failed',
      });
  });
});
