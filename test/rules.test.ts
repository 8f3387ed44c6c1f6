import { describe, expect, it } from 'vitest';
import {
  concludeEgress,
  concludeFamily,
  type EgressFamily,
  type EgressHost,
  hostEvidence,
  type Port25Dialogue,
} from '../src/modes/egress.js';
import { imapCapabilities } from '../src/protocols/imap.js';
import { pop3Capabilities } from '../src/protocols/pop3.js';
import { smtpCapabilities } from '../src/protocols/smtp.js';
import { referenceFor } from '../src/reference/table.js';
import { observed } from '../src/render/human.js';
import { evaluate, type PortVerdict } from '../src/rules/evaluate.js';
import { observedOffers } from '../src/rules/publication.js';
import { rules } from '../src/rules/rules.js';
import type { AuthRequiredFacts, PortResult, Service } from '../src/types/index.js';
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
    // Over TLS on 465, the list a client logs in with: AUTH, as a submission port lists it.
    capabilities:
      service === 'submissions'
        ? {
            command: 'EHLO',
            ok: true,
            list: ['AUTH PLAIN LOGIN'],
            starttls: false,
            authMechanisms: ['LOGIN', 'PLAIN'],
            plaintextLogin: false,
          }
        : {
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

/** A plaintext-start port whose capability list before TLS is `list` (parsed as the protocol parses it). */
function offering(
  service: 'submission' | 'smtp' | 'imap' | 'pop3',
  list: string[],
  overrides: Partial<PortResult> = {},
) {
  const protocol = referenceFor(service).protocol;
  const capabilities =
    protocol === 'imap'
      ? imapCapabilities('CAPABILITY', true, list)
      : protocol === 'pop3'
        ? pop3Capabilities(true, list)
        : smtpCapabilities('EHLO', { code: 250, lines: ['mail.example', ...list] });
  return result(service, { capabilities, ...overrides });
}

const apopGreeting = {
  kind: 'ok' as const,
  lines: ['ready <1896.697170952@mail.example>'],
  apopTimestamp: '<1896.697170952@mail.example>',
};

/** Every way to log in before TLS counts (issue 21, item 1): which finding each list of ways makes. */
const loginTable: { name: string; ports: PortResult[]; ids: string[] }[] = [
  {
    name: 'IMAP LOGINDISABLED with AUTH=CRAM-MD5 before STARTTLS',
    ports: [offering('imap', ['IMAP4rev1', 'STARTTLS', 'LOGINDISABLED', 'AUTH=CRAM-MD5'])],
    ids: ['challenge-auth-before-tls'],
  },
  {
    name: 'IMAP LOGINDISABLED and no AUTH= before STARTTLS',
    ports: [offering('imap', ['IMAP4rev1', 'STARTTLS', 'LOGINDISABLED'])],
    ids: [],
  },
  {
    name: 'IMAP without LOGINDISABLED (the LOGIN command takes a password)',
    ports: [offering('imap', ['IMAP4rev1', 'STARTTLS'])],
    ids: ['cleartext-auth-before-tls'],
  },
  {
    name: 'POP3 SASL CRAM-MD5 in CAPA and an APOP timestamp in the greeting',
    ports: [offering('pop3', ['STLS', 'SASL CRAM-MD5'], { greeting: apopGreeting })],
    ids: ['challenge-auth-before-tls'],
  },
  {
    name: 'POP3 with only an APOP timestamp in the greeting',
    ports: [offering('pop3', ['STLS'], { greeting: apopGreeting })],
    ids: ['challenge-auth-before-tls'],
  },
  {
    name: 'POP3 USER and SASL SCRAM-SHA-256',
    ports: [offering('pop3', ['STLS', 'USER', 'SASL SCRAM-SHA-256'])],
    ids: ['cleartext-auth-before-tls', 'challenge-auth-before-tls'],
  },
  {
    name: 'SMTP submission AUTH XOAUTH2 OAUTHBEARER (bearer tokens)',
    ports: [offering('submission', ['STARTTLS', 'AUTH XOAUTH2 OAUTHBEARER'])],
    ids: ['cleartext-auth-before-tls'],
  },
  {
    name: 'SMTP submission AUTH DIGEST-MD5 NTLM',
    ports: [offering('submission', ['STARTTLS', 'AUTH DIGEST-MD5 NTLM'])],
    ids: ['challenge-auth-before-tls'],
  },
  {
    name: 'SMTP submission AUTH with a mechanism mailprobe does not know',
    ports: [offering('submission', ['STARTTLS', 'AUTH X-MYSTERY'])],
    ids: ['challenge-auth-before-tls'],
  },
  {
    name: 'SMTP submission AUTH ANONYMOUS EXTERNAL only (no credential)',
    ports: [offering('submission', ['STARTTLS', 'AUTH ANONYMOUS EXTERNAL'])],
    ids: [],
  },
  {
    name: 'an implicit-TLS port listing CRAM-MD5 (inside TLS)',
    ports: [
      result('imaps', { capabilities: imapCapabilities('CAPABILITY', true, ['IMAP4rev1', 'AUTH=CRAM-MD5']) }),
    ],
    ids: [],
  },
];

/** An EHLO reply read over TLS, listing `list`. */
const ehloOverTls = (list: string[]) =>
  smtpCapabilities('EHLO', { code: 250, lines: ['mail.example', ...list] });

/** A submission port that offers no AUTH over TLS: judged on the list over TLS only (issue: RFC 6409 §7, §4.3). */
const submissionTable: { name: string; ports: PortResult[]; ids: string[] }[] = [
  {
    name: '587 with AUTH only after STARTTLS (the usual set-up)',
    ports: [
      offering('submission', ['STARTTLS', 'PIPELINING'], {
        capabilitiesAfterTls: ehloOverTls(['PIPELINING', 'AUTH PLAIN LOGIN']),
      }),
    ],
    ids: [],
  },
  {
    name: '587 with no AUTH before or over TLS',
    ports: [
      offering('submission', ['STARTTLS', 'PIPELINING'], {
        capabilitiesAfterTls: ehloOverTls(['PIPELINING']),
      }),
    ],
    ids: ['submission-auth-not-offered'],
  },
  {
    name: '587 with AUTH before STARTTLS only, none over TLS',
    ports: [
      offering('submission', ['STARTTLS', 'AUTH CRAM-MD5'], {
        capabilitiesAfterTls: ehloOverTls(['PIPELINING']),
      }),
    ],
    ids: ['challenge-auth-before-tls', 'submission-auth-not-offered'],
  },
  {
    name: '465 with no AUTH over TLS',
    ports: [result('submissions', { capabilities: ehloOverTls(['PIPELINING', '8BITMIME']) })],
    ids: ['submission-auth-not-offered'],
  },
  {
    name: '587 with only AUTH EXTERNAL over TLS (a client certificate logs in)',
    ports: [offering('submission', ['STARTTLS'], { capabilitiesAfterTls: ehloOverTls(['AUTH EXTERNAL']) })],
    ids: [],
  },
  {
    name: '587 where TLS was not reached (no STARTTLS): not judged on the list before TLS',
    ports: [
      offering('submission', ['PIPELINING'], {
        starttls: { advertised: false, attempted: false, accepted: false, upgraded: false, bytesAfterOk: 0 },
      }),
    ],
    ids: ['starttls-not-offered'],
  },
  {
    name: '25 with no AUTH over TLS (relay: no login expected)',
    ports: [offering('smtp', ['STARTTLS'], { capabilitiesAfterTls: ehloOverTls(['PIPELINING']) })],
    ids: [],
  },
];

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
  for (const row of loginTable) table.push(row);
  for (const row of submissionTable) table.push(row);
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

  it('submission-auth-not-offered never says the port is not unsafe beside a login offered before TLS', () => {
    const verdict = judge(
      offering('submission', ['STARTTLS', 'AUTH PLAIN LOGIN'], {
        capabilitiesAfterTls: ehloOverTls(['PIPELINING']),
      }),
    );
    expect(verdict.findings.map((f) => f.id)).toEqual([
      'cleartext-auth-before-tls',
      'submission-auth-not-offered',
    ]);
    expect(verdict.ports[0]?.safe).toBe(false);
    const detail = verdict.findings.find((f) => f.id === 'submission-auth-not-offered')?.detail ?? '';
    expect(detail).not.toMatch(/nothing crosses in cleartext|port is not unsafe/i);
    expect(detail).toMatch(/this alone .* does not make the port unsafe/i);
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

  it('no-port-works names each silent port whose TLS cross-check did not run or finish, and claims no more', () => {
    const nothing = result('pop3', {
      status: 'silent',
      crossCheck: { tried: 'implicit-tls', outcome: 'nothing', detail: 'ECONNRESET' },
    });
    const cut = result('imap', {
      status: 'silent',
      crossCheck: {
        tried: 'implicit-tls',
        outcome: 'out-of-time',
        detail: "Port deadline ran out awaiting 'tls'",
      },
    });
    const notRun = result('submission', {
      status: 'silent',
      crossCheck: { tried: 'implicit-tls', outcome: 'not-run', detail: 'less than 50 ms was left' },
    });
    const finding = judge(nothing, cut, notRun).findings.find((f) => f.id === 'no-port-works');
    expect(finding?.detail).toMatch(
      /whether 143 \(192\.0\.2\.10\), 587 \(192\.0\.2\.10\) speak implicit TLS is not known/,
    );
    expect(finding?.detail).toMatch(/that a mail client cannot use this host from here is not proven/);
    expect(finding?.detail).not.toMatch(/: a mail client cannot use this host/);
    expect(finding?.evidence).toContain(
      "port 143 192.0.2.10: silent, TLS cross-check out-of-time: Port deadline ran out awaiting 'tls'",
    );
    expect(finding?.evidence).toContain(
      'port 587 192.0.2.10: silent, TLS cross-check not-run: less than 50 ms was left',
    );
    // A cross-check that ran and found nothing is evidence: the plain claim stands.
    const known = judge(nothing).findings.find((f) => f.id === 'no-port-works');
    expect(known?.detail).toMatch(/\(none is open\): a mail client cannot use this host from here$/);
  });

  it("no-port-works names each port stopped at one of mailprobe's own caps: not shown unusable", () => {
    const refused = result('pop3', { status: 'refused', statusDetail: 'ECONNREFUSED' });
    const capped = result('imap', {
      status: 'local-error',
      statusDetail: "a reply longer than mailprobe's cap of 256 lines (…)",
      failedPhase: 'capabilities',
      capReached: 'replyLines',
    });
    const finding = judge(refused, capped).findings.find((f) => f.id === 'no-port-works');
    expect(finding?.detail).toMatch(
      /, but 143 \(192\.0\.2\.10\) at replyLines stopped at mailprobe's own cap on what the protocol allows, not at a fault of the server \(raise it with --limit replyLines=N\)/,
    );
    expect(finding?.detail).toMatch(/that a mail client cannot use this host from here is not proven$/);
    expect(finding?.detail).not.toMatch(/: a mail client cannot use this host/);
    expect(finding?.evidence).toContain(
      "port 143 192.0.2.10: local-error, stopped at mailprobe's own cap replyLines",
    );
    expect(finding?.evidence).toContain('port 110 192.0.2.10: refused');
    // With a silent port whose TLS mode is not known: both named.
    const notRun = result('submission', {
      status: 'silent',
      crossCheck: { tried: 'implicit-tls', outcome: 'not-run', detail: 'less than 50 ms was left' },
    });
    const both = judge(refused, capped, notRun).findings.find((f) => f.id === 'no-port-works');
    expect(both?.detail).toMatch(
      /but whether 587 \(192\.0\.2\.10\) speaks implicit TLS is not known .*; and 143 \(192\.0\.2\.10\) at replyLines stopped/,
    );
    // Without the capped port, the plain claim stands.
    const plain = judge(refused).findings.find((f) => f.id === 'no-port-works');
    expect(plain?.detail).toMatch(/\(none is open\): a mail client cannot use this host from here$/);
  });

  it('no-port-works names a port mailprobe could not probe for its own error: not shown unusable', () => {
    const refused = result('pop3', { status: 'refused', statusDetail: 'ECONNREFUSED' });
    const own = result('imap', { status: 'local-error', statusDetail: 'EMFILE: too many open files' });
    const finding = judge(refused, own).findings.find((f) => f.id === 'no-port-works');
    expect(finding?.detail).toMatch(
      /, but 143 \(192\.0\.2\.10\) could not be probed to its end for an error of mailprobe's own on this machine, not of the server/,
    );
    expect(finding?.detail).toMatch(/that a mail client cannot use this host from here is not proven$/);
    expect(finding?.evidence).toContain(
      "port 143 192.0.2.10: local-error, mailprobe's own error: EMFILE: too many open files",
    );
    // A port stopped at a cap is named as such, not as an error of mailprobe's.
    const capped = result('imap', { status: 'local-error', statusDetail: 'cap', capReached: 'lineBytes' });
    expect(judge(refused, capped).findings.find((f) => f.id === 'no-port-works')?.detail).not.toMatch(
      /error of mailprobe's own/,
    );
  });

  it("no-port-works names a port that refused only after mailprobe's goodbye, and leaves backed-off ports out", () => {
    const refused = result('pop3', { status: 'refused', statusDetail: 'ECONNREFUSED' });
    const late = result('smtp', {
      status: 'rejected',
      statusDetail: 'refused service',
      failedPhase: 'greeting',
      lateGreeting: {
        line: '554 5.5.0 Improper use of SMTP command pipelining',
        at: 6200,
        afterGoodbyeMs: 0.4,
      },
    });
    const finding = judge(refused, late).findings.find((f) => f.id === 'no-port-works');
    expect(finding?.detail).toMatch(
      /, but 25 \(192\.0\.2\.10\) refused only after mailprobe's goodbye, which it may have answered/,
    );
    expect(finding?.detail).toMatch(/is not proven$/);
    // A port batch mode left alone (its address asked to slow down) was not probed: it does not count.
    const backedOff = result('imap', {
      status: 'rate-limited',
      statusDetail: 'not tested: the address asked to slow down',
      backedOff: true,
    });
    expect(judge(backedOff).findings.map((f) => f.id)).not.toContain('no-port-works');
    // Its own finding says it was not connected to, not that the server refused it.
    expect(judge(backedOff).findings.find((f) => f.id === 'rate-limited')?.detail).toMatch(
      /^not connected to: another port of this address refused/,
    );
    expect(judge(refused, backedOff).findings.find((f) => f.id === 'no-port-works')?.detail).toMatch(
      /none of the 1 port probed/,
    );
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

  it('bytes after the STARTTLS OK on the login check’s own connection make the same finding as the probe’s', () => {
    const login = { outcome: 'works' as const, secret: 'password' as const, bytesAfterOk: 14 };
    const onLoginOnly = judge(result('submission', { login }));
    expect(onLoginOnly.findings.map((f) => [f.id, f.severity])).toEqual([
      ['starttls-bytes-after-ok', 'medium'],
      ['login-works', 'info'],
    ]);
    expect(onLoginOnly.findings[0]?.evidence).toEqual([
      '14 bytes discarded before the TLS handshake on the login check’s own connection',
    ]);
    // Not a finding about the account: the port is no longer safe, as with the probe's own connection.
    expect(onLoginOnly.ports[0]?.safe).toBe(false);
    const starttls = { advertised: true, attempted: true, accepted: true, upgraded: true, bytesAfterOk: 9 };
    const onBoth = judge(result('submission', { starttls, login }));
    expect(onBoth.findings.filter((f) => f.id === 'starttls-bytes-after-ok')).toEqual([
      expect.objectContaining({
        detail: expect.stringMatching(
          /^9 bytes arrived after the OK line, and 14 on the login check’s own connection, and were discarded/,
        ),
        evidence: [
          '9 bytes discarded before the TLS handshake',
          '14 bytes discarded before the TLS handshake on the login check’s own connection',
        ],
      }),
    ]);
  });

  it('bytes after the STARTTLS OK on the round trip’s own connections make it too, on the port and address they were seen on', () => {
    const starttls = { advertised: true, attempted: true, accepted: true, upgraded: true, bytesAfterOk: 9 };
    const login = { outcome: 'works' as const, secret: 'password' as const, bytesAfterOk: 14 };
    const submission = result('submission', { starttls, login });
    const other = { ...result('submission'), address: '192.0.2.11' };
    const host = {
      host: 'mail.example',
      servername: 'mail.example',
      addresses: [
        { address: '192.0.2.10', family: 4 as const },
        { address: '192.0.2.11', family: 4 as const },
      ],
      resolveMs: 0,
      startedAt,
      durationMs: 0,
    };
    const roundTrip = {
      token: 'mailprobe-0',
      recipient: 'alice@mail.example',
      accepted: true,
      waitedS: 1,
      deleted: true,
      submittedOn: 587,
      searchedOn: 993,
      // Two connections to 587 on the first address (none on the second), none to 993.
      bytesAfterOk: [
        { port: 587, address: '192.0.2.10', bytes: 5 },
        { port: 587, address: '192.0.2.10', bytes: 6 },
      ],
    };
    const verdict = evaluate({ ...host, ports: [submission, other, result('imaps')], roundTrip });
    expect(verdict.findings.filter((f) => f.id === 'starttls-bytes-after-ok')).toEqual([
      expect.objectContaining({
        port: 587,
        address: '192.0.2.10',
        detail: expect.stringMatching(
          /^9 bytes arrived after the OK line, and 14 on the login check’s own connection, and 11 on the round trip’s own connections, and were discarded/,
        ),
        evidence: [
          '9 bytes discarded before the TLS handshake',
          '14 bytes discarded before the TLS handshake on the login check’s own connection',
          '11 bytes discarded before the TLS handshake on the round trip’s own connections',
        ],
      }),
    ]);
    // On the round trip's connection alone: the port is no longer safe, as with the probe's own connection.
    const alone = evaluate({
      ...host,
      ports: [result('submission'), result('imaps')],
      roundTrip: { ...roundTrip, bytesAfterOk: [{ port: 993, address: '192.0.2.10', bytes: 14 }] },
    });
    expect(alone.findings.filter((f) => f.id === 'starttls-bytes-after-ok')).toEqual([
      expect.objectContaining({
        port: 993,
        detail: expect.stringMatching(
          /^14 bytes arrived after the OK line on the round trip’s own connection and were discarded/,
        ),
        evidence: ['14 bytes discarded before the TLS handshake on the round trip’s own connection'],
      }),
    ]);
    expect(alone.ports.map((port) => [port.port, port.safe])).toEqual([
      [587, true],
      [993, false],
    ]);
  });

  it('a submission port with no AUTH over TLS is safe but not recommended for sending, and the line says why', () => {
    const noAuth = (overrides: Partial<PortResult> = {}) =>
      offering('submission', ['STARTTLS', 'PIPELINING'], {
        capabilitiesAfterTls: ehloOverTls(['PIPELINING', 'SIZE 10240000']),
        ...overrides,
      });
    const alone = judge(noAuth(), result('imaps'));
    expect(alone.findings).toEqual([
      expect.objectContaining({
        id: 'submission-auth-not-offered',
        severity: 'low',
        port: 587,
        evidence: ['EHLO over TLS lists: PIPELINING, SIZE 10240000'],
      }),
    ]);
    expect(alone.ports[0]).toMatchObject({ works: true, safe: true });
    expect(observed(alone.ports[0] as PortVerdict)).toMatch(/ · no AUTH over TLS$/);
    expect(alone.recommendation.sending).toEqual([]);
    // The ports left out for it, for a renderer to say why (the human report's client settings line).
    expect(alone.recommendation.noLogin).toEqual([587]);
    expect(alone.recommendation.text).toBe(
      'sending: no port offers a login (587: no AUTH over TLS) · reading 993 (IMAP, TLS)',
    );
    // Another submission port where a client can log in is the one named, and the one to publish.
    const beside = judge(noAuth(), result('submissions'), result('imaps'));
    expect(beside.recommendation.text).toBe('sending 465 (TLS) · reading 993 (IMAP, TLS)');
    expect(beside.recommendation.noLogin).toEqual([587]);
    const offers = observedOffers({ domain: 'example.test', records: [], candidates: [] }, [beside]);
    expect(offers.map((offer) => `${offer.protocol} ${offer.security} ${offer.port}`)).toEqual([
      'IMAP TLS 993',
      'SMTP TLS 465',
    ]);
    // No AUTH on one address is enough: the port is not named for sending on any.
    const oneAddress = judge(
      offering('submission', ['STARTTLS'], { capabilitiesAfterTls: ehloOverTls(['AUTH PLAIN']) }),
      noAuth({ address: '2001:db8::10', family: 6 }),
    );
    expect(oneAddress.findings.map((f) => [f.id, f.address])).toEqual([
      ['submission-auth-not-offered', '2001:db8::10'],
    ]);
    expect(oneAddress.recommendation.text).toBe(
      'sending: no port offers a login (587: no AUTH over TLS) · reading: no port probed',
    );
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
    expect(verdict.recommendation).not.toHaveProperty('noLogin');
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
      'an ICMP unreachable on 25 while the control port connects (a firewall REJECT)',
      [
        { host: 'a', address: '192.0.2.1', port25: 'unreachable', control: 'connected' },
        { host: 'b', address: '192.0.2.2', port25: 'unreachable', control: 'connected' },
      ],
      'blocked',
    ],
    [
      'hosts unreachable on every port prove nothing',
      [
        { host: 'a', address: '192.0.2.1', port25: 'unreachable', control: 'unreachable' },
        { host: 'b', address: '192.0.2.2', port25: 'unreachable', control: 'unreachable' },
      ],
      'inconclusive',
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
      'independent hosts present the same certificate, not valid for one of them',
      [
        { host: 'a', address: '192.0.2.1', port25: 'connected', control: 'connected', smtp: smtp('a', 'CC') },
        {
          host: 'b',
          address: '192.0.2.2',
          port25: 'connected',
          control: 'connected',
          smtp: smtp('b', 'CC', { nameMatches: false }),
        },
      ],
      'intercepted',
    ],
    [
      "one provider's hosts share a certificate valid for each, with their own greetings",
      [
        { host: 'a', address: '192.0.2.1', port25: 'connected', control: 'connected', smtp: smtp('a', 'CC') },
        { host: 'b', address: '192.0.2.2', port25: 'connected', control: 'connected', smtp: smtp('b', 'CC') },
        { host: 'c', address: '192.0.2.3', port25: 'connected', control: 'connected', smtp: smtp('c', 'CC') },
      ],
      'not-blocked',
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

describe("every way to log in before TLS, judged with and without the check's proof", () => {
  const cramMd5 = () => offering('imap', ['IMAP4rev1', 'STARTTLS', 'LOGINDISABLED', 'AUTH=CRAM-MD5']);
  const userOnly = (authRequired?: AuthRequiredFacts) =>
    offering('pop3', ['STLS', 'USER'], authRequired ? { checks: { authRequired } } : {});

  it('a challenge-response before TLS is medium, makes the port unsafe, and is never "auth only after TLS"', () => {
    const verdict = judge(cramMd5());
    expect(verdict.findings.map((f) => [f.id, f.severity])).toEqual([
      ['challenge-auth-before-tls', 'medium'],
    ]);
    expect(verdict.findings[0]?.detail).toMatch(/offers AUTH=CRAM-MD5: .*Only advertised/);
    expect(verdict.findings[0]?.detail).toMatch(/offline with a dictionary/);
    expect(verdict.findings[0]?.reference).toMatch(/RFC 8314/);
    const port = verdict.ports[0];
    expect(port).toMatchObject({ safe: false, passwordBeforeTls: false, loginBeforeTls: true });
    expect(observed(port as NonNullable<typeof port>)).toMatch(/login before TLS/);
    expect(observed(port as NonNullable<typeof port>)).not.toMatch(/auth only after TLS/);
  });

  it('"auth only after TLS" when nothing to log in with is listed before TLS and something is after', () => {
    const port = judge(
      offering('imap', ['IMAP4rev1', 'STARTTLS', 'LOGINDISABLED'], {
        capabilitiesAfterTls: imapCapabilities('CAPABILITY', true, ['IMAP4rev1', 'AUTH=PLAIN']),
      }),
    ).ports[0];
    expect(observed(port as NonNullable<typeof port>)).toMatch(/auth only after TLS/);
  });

  it('an unknown mechanism is said to be unknown, and judged as a challenge-response', () => {
    const verdict = judge(offering('submission', ['STARTTLS', 'AUTH X-MYSTERY']));
    expect(verdict.findings[0]?.detail).toMatch(/X-MYSTERY unknown to mailprobe/);
  });

  it('on port 25 a password before TLS stays medium, a challenge-response medium', () => {
    const verdict = judge(offering('smtp', ['STARTTLS', 'AUTH PLAIN CRAM-MD5']));
    expect(verdict.findings.map((f) => [f.id, f.severity])).toEqual([
      ['cleartext-auth-before-tls', 'medium'],
      ['challenge-auth-before-tls', 'medium'],
    ]);
  });

  const table: {
    name: string;
    check?: AuthRequiredFacts;
    severity: string;
    safe: boolean;
    detail: RegExp;
  }[] = [
    {
      name: 'only advertised: high, names the check that would prove it',
      severity: 'high',
      safe: false,
      detail: /offers USER\/PASS: .*Only advertised: "--check auth-required" would prove/,
    },
    {
      name: 'proved refused (enforced): low, the port is safe, the advertisement misleads',
      check: {
        verdict: 'enforced',
        reply: '-ERR TLS required to log in.',
        ways: [{ way: 'USER', sasl: false, outcome: 'refused', reply: '-ERR TLS required to log in.' }],
      },
      severity: 'low',
      safe: true,
      detail: /refused each when "--check auth-required" tried it.*misleads clients/,
    },
    {
      name: 'refused for the whole server: low, safe',
      check: { verdict: 'enforced', reply: '-ERR [SYS/PERM] TLS required', serverWide: true, ways: [] },
      severity: 'low',
      safe: true,
      detail: /misleads clients/,
    },
    {
      name: 'proved allowed: high',
      check: {
        verdict: 'allowed',
        reply: '+OK',
        ways: [{ way: 'USER', sasl: false, outcome: 'allowed', reply: '+OK' }],
      },
      severity: 'high',
      safe: false,
      detail: /USER\/PASS \(the server went ahead when tried\)/,
    },
    {
      name: 'a refusal that proves nothing: high',
      check: {
        verdict: 'not-tested',
        reply: '-ERR unknown command',
        ways: [{ way: 'USER', sasl: false, outcome: 'unclear', reply: '-ERR unknown command' }],
      },
      severity: 'high',
      safe: false,
      detail: /does not say TLS is needed/,
    },
  ];
  for (const row of table) {
    it(`POP3 USER before STLS, ${row.name}`, () => {
      const verdict = judge(userOnly(row.check));
      const finding = verdict.findings.find((f) => f.id === 'cleartext-auth-before-tls');
      expect(finding?.severity).toBe(row.severity);
      expect(finding?.detail).toMatch(row.detail);
      expect(verdict.ports[0]?.safe).toBe(row.safe);
      expect(verdict.ports[0]?.passwordBeforeTls).toBe(!row.safe);
    });
  }

  it('a proof for one way leaves the others standing: PLAIN refused, CRAM-MD5 not tried', () => {
    const port = offering('imap', ['IMAP4rev1', 'STARTTLS', 'LOGINDISABLED', 'AUTH=PLAIN', 'AUTH=CRAM-MD5'], {
      checks: {
        authRequired: {
          verdict: 'partial',
          reply: 'mpa1 NO encryption needed to use mechanism',
          detail: 'PLAIN refused before TLS; CRAM-MD5 not tried',
          ways: [
            {
              way: 'PLAIN',
              sasl: true,
              outcome: 'refused',
              reply: 'mpa1 NO encryption needed to use mechanism',
            },
            {
              way: 'CRAM-MD5',
              sasl: true,
              outcome: 'not-tried',
              why: 'at most 8 ways are tried on one connection',
            },
          ],
        },
      },
    });
    const verdict = judge(port);
    expect(verdict.findings.map((f) => [f.id, f.severity])).toEqual([
      ['challenge-auth-before-tls', 'medium'],
      ['cleartext-auth-before-tls', 'low'],
      ['check-not-completed', 'info'],
    ]);
    expect(verdict.findings[2]?.evidence).toEqual([
      'auth-required: PLAIN refused before TLS; CRAM-MD5 not tried',
    ]);
    expect(verdict.ports[0]?.safe).toBe(false);
  });
});

describe('JSON outputs with outside text: exact when parsed, inert when printed', () => {
  const hostile = 'x\u009b31m \u202eevil\u200b\u007f\u2066\u061c\ufeff end';
  it('inertJson escapes DEL, C1, bidi and zero-width characters, and leaves other text as it is', async () => {
    const { inertJson } = await import('../src/render/json.js');
    const text = inertJson(JSON.stringify({ text: hostile, plain: 'ünïcødé ✓ 中文' }));
    expect(text).not.toMatch(/[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/);
    expect(JSON.parse(text)).toEqual({ text: hostile, plain: 'ünïcødé ✓ 中文' });
    const clean = JSON.stringify({ plain: 'ünïcødé ✓' });
    expect(inertJson(clean)).toBe(clean);
  });

  it('the rest of the invisible (default-ignorable) characters: escaped in JSON, shown as <U+…> on a terminal', async () => {
    const { inertJson } = await import('../src/render/json.js');
    const { sanitize } = await import('../src/render/sanitize.js');
    // A soft hyphen hides in "ok.example\u00ad.com"; tags (U+E0041, beyond U+FFFF) and fillers show nothing.
    const hidden = ['\u00ad', '\u034f', '\u115f', '\u180e', '\u206a', '\u3164', '\ufff9', '\u{e0041}'];
    const text = `220 ok.example${hidden.join('x')}.com`;
    const json = inertJson(JSON.stringify({ text, emoji: 'ok ❤️ é' }));
    for (const char of hidden) expect(json).not.toContain(char);
    expect(json).toContain('\\udb40\\udc41'); // a code point beyond U+FFFF as its surrogate pair's escapes
    expect(JSON.parse(json)).toEqual({ text, emoji: 'ok ❤️ é' });
    const shown = sanitize(text);
    for (const char of hidden) expect(shown).not.toContain(char);
    expect(shown).toBe(
      '220 ok.example<U+00AD>x<U+034F>x<U+115F>x<U+180E>x<U+206A>x<U+3164>x<U+FFF9>x<U+E0041>.com',
    );
    // An emoji's variation selector is not hidden text: left alone.
    expect(sanitize('ok ❤️')).toBe('ok ❤️');
  });

  it('egress --json: a greeting with those characters', async () => {
    const { renderEgressJson } = await import('../src/render/egress.js');
    const result = { conclusion: 'not-blocked', summary: hostile, families: [] } as unknown as Parameters<
      typeof renderEgressJson
    >[0];
    const text = renderEgressJson(result);
    expect(text).not.toMatch(/[\u007f-\u009f\u202e\u200b]/);
    expect((JSON.parse(text) as { egress: { summary: string } }).egress.summary).toBe(hostile);
  });
});
