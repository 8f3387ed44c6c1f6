/** The opt-in checks against fixture servers with and without each flaw. */

import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type FixtureOptions, startFixture, startRawServer } from '../src/demo/servers.js';
import { probePort } from '../src/probe/port.js';
import type { PortResult, Service } from '../src/types/index.js';
import { fixtureServers } from './helpers/fixtures.js';
import { findingIds, judge, testCa, testLimits } from './helpers/probe.js';

const { track } = fixtureServers();

async function probeWith(
  options: FixtureOptions,
  service: Service,
  checks: ('injection' | 'auth-required' | 'tls-versions')[],
) {
  const fixture = await startFixture(options);
  track(fixture);
  const result = await probePort({
    address: '127.0.0.1',
    family: 4,
    port: fixture.port,
    service,
    servername: 'localhost',
    ca: testCa,
    limits: testLimits,
    checks,
  });
  return { result, connections: fixture.connections() };
}

const services = { smtp: 'submission', imap: 'imap', pop3: 'pop3' } as const;

describe('STARTTLS command injection (opt-in)', () => {
  for (const protocol of ['smtp', 'imap', 'pop3'] as const) {
    it(`${protocol.toUpperCase()}: a server that runs the pipelined command inside TLS is flagged`, async () => {
      const { result, connections } = await probeWith(
        { protocol, tls: 'starttls', injectionBug: true },
        services[protocol],
        ['injection'],
      );
      expect(result.checks?.injection?.verdict).toBe('vulnerable');
      expect(findingIds(result)).toEqual(['starttls-injection']);
      expect(connections).toBe(2); // the probe, then one connection for the check
      const pipelined = result.transcript
        .filter((entry) => entry.dir === 'C' && !entry.tls)
        .map((entry) => entry.text);
      expect(pipelined.slice(-2)).toEqual(
        { smtp: ['STARTTLS', 'NOOP'], imap: ['mpi1 STARTTLS', 'mpi2 NOOP'], pop3: ['STLS', 'CAPA'] }[
          protocol
        ],
      );
    });

    it(`${protocol.toUpperCase()}: a server that drops pipelined bytes is safe`, async () => {
      const { result } = await probeWith({ protocol, tls: 'starttls' }, services[protocol], ['injection']);
      expect(result.checks?.injection?.verdict).toBe('safe');
      expect(findingIds(result)).toEqual([]);
    });
  }

  // The capability request refused, the upgrade is sent all the same (upgradeWorthTrying) and works: that upgrade
  // is checked too, though nothing advertised it.
  for (const [protocol, refused] of [
    ['pop3', (line: string) => (line === 'CAPA' ? '-ERR unknown command\r\n' : undefined)],
    [
      'imap',
      (line: string) => (/^\S+ CAPABILITY$/.test(line) ? `${line.split(' ')[0]} NO not now\r\n` : undefined),
    ],
  ] as const) {
    it(`${protocol.toUpperCase()}: capabilities refused, the upgrade tried anyway and working is checked too`, async () => {
      const { result } = await probeWith(
        {
          protocol,
          tls: 'starttls',
          injectionBug: true,
          // No [CAPABILITY] in the IMAP greeting: the list is unknown, not "no STARTTLS".
          ...(protocol === 'imap' ? { greeting: '* OK ready\r\n' } : {}),
          on: (line, { tls }) => (tls ? undefined : refused(line)),
        },
        services[protocol],
        ['injection'],
      );
      expect(result.starttls).toMatchObject({ advertised: false, attempted: true, upgraded: true });
      expect(result.checks?.injection?.verdict).toBe('vulnerable');
      expect(findingIds(result)).toEqual(['starttls-injection']);
    });
  }

  it('a server that refuses the pipelined STARTTLS is safe', async () => {
    // The probe's own STARTTLS (sent alone) works, so the check runs; the check's, pipelined, is refused.
    let upgrades = 0;
    const { result } = await probeWith(
      {
        protocol: 'smtp',
        tls: 'starttls',
        on: (line) =>
          line === 'STARTTLS' && ++upgrades > 1 ? '554 5.5.1 Error: command pipelining\r\n' : undefined,
      },
      'submission',
      ['injection'],
    );
    expect(result.checks?.injection).toMatchObject({
      verdict: 'safe',
      detail: expect.stringMatching(/refused: 554/),
    });
  });
});

describe('the injection check follows the upgrade, not the advertisement', () => {
  it('is not run where the upgrade was refused: there is no TLS session to inject into', async () => {
    const { result, connections } = await probeWith(
      { protocol: 'smtp', tls: 'starttls', starttls: 'refuse' },
      'submission',
      ['injection'],
    );
    expect(result.starttls).toMatchObject({ advertised: true, attempted: true, upgraded: false });
    expect(result.checks?.injection).toBeUndefined();
    expect(connections).toBe(1);
  });
});

describe('is TLS required before authentication? (opt-in)', () => {
  for (const protocol of ['smtp', 'imap', 'pop3'] as const) {
    it(`${protocol.toUpperCase()}: going ahead in cleartext is flagged, and no credential is sent`, async () => {
      const { result } = await probeWith(
        { protocol, tls: 'starttls', authBeforeTls: true },
        services[protocol],
        ['auth-required'],
      );
      expect(result.checks?.authRequired?.verdict).toBe('allowed');
      expect(findingIds(result)).toEqual(['auth-allowed-before-tls', 'cleartext-auth-before-tls']);
      const sent = result.transcript.filter((entry) => entry.dir === 'C').map((entry) => entry.text);
      const exchange = {
        smtp: ['AUTH LOGIN', '*'],
        imap: ['mpa1 AUTHENTICATE PLAIN', '*'],
        pop3: ['AUTH PLAIN', '*'],
      }[protocol];
      expect(sent.join('\n')).toContain(exchange.join('\n'));
    });

    it(`${protocol.toUpperCase()}: a refusal before TLS means TLS is enforced`, async () => {
      const { result } = await probeWith({ protocol, tls: 'starttls' }, services[protocol], [
        'auth-required',
      ]);
      expect(result.checks?.authRequired?.verdict).toBe('enforced');
      expect(findingIds(result)).toEqual([]);
    });
  }
});

describe('TLS versions (opt-in)', () => {
  it('lists the versions a legacy-friendly server accepts and flags 1.0/1.1', async () => {
    const { result } = await probeWith({ protocol: 'imap', tls: 'implicit' }, 'imaps', ['tls-versions']);
    expect(result.checks?.tlsVersions).toEqual({
      accepted: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
      refused: [],
    });
    expect(findingIds(result)).toEqual(['tls-legacy-accepted']);
  });

  it('a modern server accepts only 1.2 and 1.3, over STARTTLS too', async () => {
    const { result } = await probeWith({ protocol: 'pop3', tls: 'starttls', minVersion: 'TLSv1.2' }, 'pop3', [
      'tls-versions',
    ]);
    expect(result.checks?.tlsVersions).toEqual({
      accepted: ['TLSv1.2', 'TLSv1.3'],
      refused: ['TLSv1', 'TLSv1.1'],
    });
    expect(findingIds(result)).toEqual([]);
  });
});

describe('the checks never overstate', () => {
  it('injection: text inside TLS that does not prove the injected command ran is not "vulnerable"', async () => {
    // The server drops the pipelined NOOP but speaks first inside TLS, unprompted: proof of nothing.
    const talky = track(
      await startFixture({
        protocol: 'smtp',
        tls: 'starttls',
        tlsGreeting: '220 hello again inside TLS\r\n',
      }),
    );
    const result = await probePort({
      address: '127.0.0.1',
      family: 4,
      port: talky.port,
      service: 'submission',
      servername: 'localhost',
      ca: testCa,
      limits: testLimits,
      checks: ['injection'],
    });
    expect(result.checks?.injection?.verdict).toBe('not-tested');
    expect(result.checks?.injection?.detail).toMatch(/no reply that proves the injected command ran/);
    expect(findingIds(result)).not.toContain('starttls-injection');
  });

  it('auth-required: "504 mechanism unknown" proves nothing', async () => {
    const { result } = await probeWith(
      {
        protocol: 'smtp',
        tls: 'starttls',
        on: (line) => (line === 'AUTH LOGIN' ? '504 5.5.4 Unrecognized authentication type\r\n' : undefined),
      },
      'submission',
      ['auth-required'],
    );
    expect(result.checks?.authRequired).toMatchObject({
      verdict: 'not-tested',
      reply: '504 5.5.4 Unrecognized authentication type',
    });
    expect(findingIds(result)).toEqual(['check-not-completed']);
  });
});

describe('TLS versions and the port deadline', () => {
  it('a timeout is untested, not refused; the version the probe negotiated is accepted; checks end within the port deadline', async () => {
    const fixture = track(await startFixture({ protocol: 'imap', tls: 'implicit' }));
    let connections = 0;
    // The first connection reaches the real server; every later one is accepted and left silent.
    const front = track(
      await startRawServer((socket) => {
        connections++;
        if (connections > 1) return;
        const upstream = net.connect(fixture.port, '127.0.0.1');
        socket.pipe(upstream).pipe(socket);
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
      }),
    );
    const portMs = 2500;
    const started = performance.now();
    const result = await probePort({
      address: '127.0.0.1',
      family: 4,
      port: front.port,
      service: 'imaps',
      servername: 'localhost',
      ca: testCa,
      limits: { ...testLimits, portMs },
      checks: ['tls-versions'],
    });
    const elapsed = performance.now() - started;
    expect(result.status).toBe('open');
    expect(result.checks?.tlsVersions?.accepted).toEqual(['TLSv1.3']);
    expect(result.checks?.tlsVersions?.refused).toEqual([]);
    expect(result.checks?.tlsVersions?.untested?.map((entry) => entry.version)).toEqual([
      'TLSv1',
      'TLSv1.1',
      'TLSv1.2',
    ]);
    // Within the port's absolute deadline, and counted in the port's total time.
    expect(elapsed).toBeLessThan(portMs + 750);
    expect(result.timings.total).toBeGreaterThan(testLimits.tlsMs);
    expect(findingIds(result)).toEqual(['check-not-completed']);
  });
});

/**
 * Servers that list more than one way to log in before TLS, with the exact lines real servers send (issue 21):
 * each scenario is probed without the check (the default report) and with it, and the two must tell one truth.
 */
describe('every way to log in before TLS, and the refusals read per way (opt-in)', () => {
  type Scenario = {
    name: string;
    protocol: 'smtp' | 'imap' | 'pop3';
    greeting?: string;
    /** The capability reply before TLS, in the protocol's own lines (the tag is filled in for IMAP). */
    capabilities: string;
    /** Replies to the authentication commands before TLS, by the command without its tag. */
    auth: Record<string, string>;
    /** The default report: finding id -> severity, and safe. */
    plain: { findings: Record<string, string>; safe: boolean };
    /** With --check auth-required. */
    checked: {
      verdict: string;
      ways: Record<string, string>;
      detail?: RegExp;
      findings: Record<string, string>;
      safe: boolean;
    };
  };
  const scenarios: Scenario[] = [
    {
      name: 'IMAP: LOGINDISABLED but AUTH=CRAM-MD5 before STARTTLS (a login before TLS works)',
      protocol: 'imap',
      capabilities: '* CAPABILITY IMAP4rev1 SASL-IR STARTTLS LOGINDISABLED AUTH=CRAM-MD5',
      auth: { 'AUTHENTICATE CRAM-MD5': '+ PDMwNTgyNjg2NTc4Nzk4NTMuMTc5NjYxMDk0MEB2bT4=' },
      plain: { findings: { 'challenge-auth-before-tls': 'medium' }, safe: false },
      checked: {
        verdict: 'allowed',
        ways: { 'CRAM-MD5': 'allowed' },
        findings: { 'auth-allowed-before-tls': 'medium', 'challenge-auth-before-tls': 'medium' },
        safe: false,
      },
    },
    {
      name: 'IMAP: "mpa1 NO encryption needed to use mechanism" refuses PLAIN; CRAM-MD5 on the same port goes ahead',
      protocol: 'imap',
      capabilities: '* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED AUTH=PLAIN AUTH=CRAM-MD5',
      auth: {
        'AUTHENTICATE PLAIN': 'NO encryption needed to use mechanism',
        'AUTHENTICATE CRAM-MD5': '+ PDEyMzQ1QG1haWwudGVzdD4=',
      },
      plain: {
        findings: { 'cleartext-auth-before-tls': 'high', 'challenge-auth-before-tls': 'medium' },
        safe: false,
      },
      checked: {
        verdict: 'allowed',
        ways: { PLAIN: 'refused', 'CRAM-MD5': 'allowed' },
        detail: /^CRAM-MD5 went ahead before TLS .*; PLAIN refused before TLS$/,
        findings: {
          'auth-allowed-before-tls': 'medium',
          'challenge-auth-before-tls': 'medium',
          'cleartext-auth-before-tls': 'low',
        },
        safe: false,
      },
    },
    {
      name: 'IMAP: only the LOGIN command before TLS (Courier), an unlisted AUTHENTICATE PLAIN goes ahead: allowed',
      protocol: 'imap',
      capabilities: '* CAPABILITY IMAP4rev1 STARTTLS',
      auth: { 'AUTHENTICATE PLAIN': '+ ' },
      plain: { findings: { 'cleartext-auth-before-tls': 'high' }, safe: false },
      checked: {
        verdict: 'allowed',
        ways: { 'LOGIN command': 'not-tried', PLAIN: 'allowed' },
        findings: { 'auth-allowed-before-tls': 'high', 'cleartext-auth-before-tls': 'high' },
        safe: false,
      },
    },
    {
      name: 'IMAP: every listed way refused with [PRIVACYREQUIRED], AUTH=PLAIN still listed: enforced, the advertisement misleads',
      protocol: 'imap',
      capabilities: '* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED AUTH=PLAIN',
      auth: { 'AUTHENTICATE PLAIN': 'NO [PRIVACYREQUIRED] Plaintext authentication disabled.' },
      plain: { findings: { 'cleartext-auth-before-tls': 'high' }, safe: false },
      checked: {
        verdict: 'enforced',
        ways: { PLAIN: 'refused' },
        findings: { 'cleartext-auth-before-tls': 'low' },
        safe: true,
      },
    },
    {
      name: 'IMAP: PLAIN refused, SCRAM-SHA-256 refused for another reason: partial, never a pass',
      protocol: 'imap',
      capabilities: '* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED AUTH=PLAIN AUTH=SCRAM-SHA-256',
      auth: {
        'AUTHENTICATE PLAIN': 'NO [PRIVACYREQUIRED] Plaintext authentication disabled.',
        'AUTHENTICATE SCRAM-SHA-256': 'NO [UNAVAILABLE] Temporary authentication failure.',
      },
      plain: {
        findings: { 'cleartext-auth-before-tls': 'high', 'challenge-auth-before-tls': 'medium' },
        safe: false,
      },
      checked: {
        verdict: 'partial',
        ways: { PLAIN: 'refused', 'SCRAM-SHA-256': 'unclear' },
        detail: /^PLAIN refused before TLS; SCRAM-SHA-256 refused in words that do not say TLS is needed$/,
        findings: {
          'cleartext-auth-before-tls': 'low',
          'challenge-auth-before-tls': 'medium',
          'check-not-completed': 'info',
        },
        safe: false,
      },
    },
    {
      name: 'POP3: "-ERR [AUTH] authenticating: encryption needed to use mechanism" refuses PLAIN; APOP (greeting timestamp) is not tried',
      protocol: 'pop3',
      greeting: '+OK POP3 ready <1896.697170952@mail.test>',
      capabilities: '+OK\r\nSTLS\r\nSASL PLAIN\r\n.',
      auth: { 'AUTH PLAIN': '-ERR [AUTH] authenticating: encryption needed to use mechanism' },
      plain: {
        findings: { 'cleartext-auth-before-tls': 'high', 'challenge-auth-before-tls': 'medium' },
        safe: false,
      },
      checked: {
        verdict: 'partial',
        ways: { PLAIN: 'refused', APOP: 'not-tried' },
        detail: /^PLAIN refused before TLS; APOP not tried$/,
        findings: {
          'cleartext-auth-before-tls': 'low',
          'challenge-auth-before-tls': 'medium',
          'check-not-completed': 'info',
        },
        safe: false,
      },
    },
    {
      name: 'POP3: SASL CRAM-MD5 in CAPA and an APOP timestamp: a login before TLS works',
      protocol: 'pop3',
      greeting: '+OK Dovecot (Debian) ready. <32ba.2.6b161b82.HvKyaWtbvIc+lkE0AhQ/wg==@vm>',
      capabilities: '+OK\r\nCAPA\r\nSTLS\r\nSASL CRAM-MD5\r\n.',
      auth: { 'AUTH CRAM-MD5': '+ PDUyNjY1MzgxMTk2NDM4ODguMTc5NjYxMDk1MUB2bT4=' },
      plain: { findings: { 'challenge-auth-before-tls': 'medium' }, safe: false },
      checked: {
        verdict: 'allowed',
        ways: { 'CRAM-MD5': 'allowed', APOP: 'not-tried' },
        findings: { 'auth-allowed-before-tls': 'medium', 'challenge-auth-before-tls': 'medium' },
        safe: false,
      },
    },
    {
      name: 'POP3: USER listed before STLS but answered "-ERR TLS required to log in.": one truth, the proof wins',
      protocol: 'pop3',
      capabilities: '+OK\r\nSTLS\r\nUSER\r\n.',
      auth: { 'USER mailprobe': '-ERR TLS required to log in.' },
      plain: { findings: { 'cleartext-auth-before-tls': 'high' }, safe: false },
      checked: {
        verdict: 'enforced',
        ways: { USER: 'refused' },
        findings: { 'cleartext-auth-before-tls': 'low' },
        safe: true,
      },
    },
    {
      name: 'SMTP: "530 5.7.0 Must issue a STARTTLS command first" refuses for the whole server; CRAM-MD5 need not be tried',
      protocol: 'smtp',
      capabilities: '250-localhost\r\n250-STARTTLS\r\n250 AUTH PLAIN CRAM-MD5',
      auth: { 'AUTH PLAIN': '530 5.7.0 Must issue a STARTTLS command first' },
      plain: {
        findings: { 'cleartext-auth-before-tls': 'high', 'challenge-auth-before-tls': 'medium' },
        safe: false,
      },
      checked: {
        verdict: 'enforced',
        ways: { PLAIN: 'refused', 'CRAM-MD5': 'not-tried' },
        findings: { 'cleartext-auth-before-tls': 'low', 'challenge-auth-before-tls': 'low' },
        safe: true,
      },
    },
    {
      name: 'SMTP: 538 refuses PLAIN and LOGIN only; CRAM-MD5 goes ahead',
      protocol: 'smtp',
      capabilities: '250-localhost\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN CRAM-MD5',
      auth: {
        'AUTH PLAIN': '538 5.7.11 Encryption required for requested authentication mechanism',
        'AUTH LOGIN': '538 5.7.11 Encryption required for requested authentication mechanism',
        'AUTH CRAM-MD5': '334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=',
      },
      plain: {
        findings: { 'cleartext-auth-before-tls': 'high', 'challenge-auth-before-tls': 'medium' },
        safe: false,
      },
      checked: {
        verdict: 'allowed',
        ways: { LOGIN: 'refused', PLAIN: 'refused', 'CRAM-MD5': 'allowed' },
        findings: {
          'auth-allowed-before-tls': 'medium',
          'challenge-auth-before-tls': 'medium',
          'cleartext-auth-before-tls': 'low',
        },
        safe: false,
      },
    },
  ];

  /** A fixture that answers the capability request and the authentication commands as the scenario says. */
  function options(scenario: Scenario): FixtureOptions {
    let authTag = '';
    return {
      protocol: scenario.protocol,
      tls: 'starttls',
      ...(scenario.greeting ? { greeting: `${scenario.greeting}\r\n` } : {}),
      on: (line, { tls }) => {
        if (tls) return undefined;
        const [tag = '', ...rest] = line.split(' ');
        const command = scenario.protocol === 'imap' ? rest.join(' ') : line;
        if (scenario.protocol === 'imap' && command === 'CAPABILITY')
          return `${scenario.capabilities}\r\n${tag} OK done\r\n`;
        if (scenario.protocol === 'pop3' && command === 'CAPA') return `${scenario.capabilities}\r\n`;
        if (scenario.protocol === 'smtp' && /^EHLO /.test(command)) return `${scenario.capabilities}\r\n`;
        if (scenario.protocol === 'imap' && line === '*') return `${authTag} BAD Authentication aborted\r\n`;
        const reply = scenario.auth[command];
        if (reply === undefined) return undefined;
        authTag = tag;
        return scenario.protocol === 'imap' && !reply.startsWith('+')
          ? `${tag} ${reply}\r\n`
          : `${reply}\r\n`;
      },
    };
  }

  const service = { smtp: 'submission', imap: 'imap', pop3: 'pop3' } as const;
  const severities = (result: PortResult) =>
    Object.fromEntries(judge(result).findings.map((finding) => [finding.id, finding.severity]));

  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      const plain = await probeWith(options(scenario), service[scenario.protocol], []);
      expect(plain.result.status, plain.result.statusDetail).toBe('open');
      expect(severities(plain.result)).toEqual(scenario.plain.findings);
      expect(judge(plain.result).ports[0]?.safe).toBe(scenario.plain.safe);
      // Only advertised: the default report says so, and names the check that would prove it.
      for (const finding of judge(plain.result).findings)
        expect(finding.detail).toMatch(/Only advertised: "--check auth-required" would prove/);

      const { result } = await probeWith(options(scenario), service[scenario.protocol], ['auth-required']);
      const check = result.checks?.authRequired;
      expect(check?.verdict).toBe(scenario.checked.verdict);
      expect(Object.fromEntries((check?.ways ?? []).map((way) => [way.way, way.outcome]))).toEqual(
        scenario.checked.ways,
      );
      if (scenario.checked.detail) expect(check?.detail).toMatch(scenario.checked.detail);
      expect(severities(result)).toEqual(scenario.checked.findings);
      const verdict = judge(result).ports[0];
      expect(verdict?.safe).toBe(scenario.checked.safe);
      // One truth: proved refused means safe; anything short of that is never a pass.
      if (check?.verdict === 'enforced') expect(verdict?.loginBeforeTls).toBe(false);
      else expect(verdict?.safe).toBe(false);
      // No credential is ever sent: only mechanism names, a cancel, and USER with the tool's name.
      const sent = result.transcript
        .filter((entry) => entry.dir === 'C' && !entry.tls)
        .map((entry) => entry.text);
      for (const line of sent)
        expect(line).toMatch(
          /^(?:mp\w* )?(?:CAPABILITY|CAPA|EHLO .*|STARTTLS|STLS|QUIT|LOGOUT|AUTHENTICATE [A-Z0-9_-]+|AUTH [A-Z0-9_-]+|USER mailprobe|\*)$/,
        );
    });
  }
});

describe('auth-required never overstates, never runs away', () => {
  it('a continuation proves the way allowed even when the cancel is never answered (Courier: 5 s delay)', async () => {
    const started = Date.now();
    const { result } = await probeWith(
      {
        protocol: 'imap',
        tls: 'starttls',
        on: (line, { tls }) => {
          if (tls) return undefined;
          const [tag = '', ...rest] = line.split(' ');
          const command = rest.join(' ');
          if (command === 'CAPABILITY')
            return `* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED AUTH=CRAM-MD5 AUTH=PLAIN\r\n${tag} OK done\r\n`;
          if (command === 'AUTHENTICATE PLAIN') return '+ \r\n';
          if (line === '*') return ''; // the failed-login delay: the answer never comes within the deadline
          return undefined;
        },
      },
      'imap',
      ['auth-required'],
    );
    const check = result.checks?.authRequired;
    expect(check?.verdict).toBe('allowed');
    expect(check?.ways?.map((way) => [way.way, way.outcome])).toEqual([
      ['PLAIN', 'allowed'],
      ['CRAM-MD5', 'not-tried'],
    ]);
    expect(check?.ways?.[1]?.why).toBe('the server did not answer the cancelled exchange in time');
    expect(findingIds(result)).toContain('auth-allowed-before-tls');
    expect(Date.now() - started).toBeLessThan(testLimits.portMs + 2000);
  });

  it('a server that hangs up mid-check: the way proves nothing, the rest are not tried, never enforced', async () => {
    const { result } = await probeWith(
      {
        protocol: 'pop3',
        tls: 'starttls',
        on: (line, { tls }) => {
          if (tls) return undefined;
          if (line === 'CAPA') return '+OK\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n';
          return line === 'AUTH PLAIN' ? null : undefined;
        },
      },
      'pop3',
      ['auth-required'],
    );
    const check = result.checks?.authRequired;
    expect(check?.verdict).toBe('not-tested');
    expect(check?.ways?.map((way) => [way.way, way.outcome])).toEqual([
      ['PLAIN', 'unclear'],
      ['USER', 'not-tried'],
    ]);
    expect(check?.ways?.[1]?.why).toBe("the check's connection ended before it");
    expect(check?.detail).toBe('PLAIN proved nothing (no whole reply); USER not tried');
    expect(findingIds(result)).toEqual(['check-not-completed', 'cleartext-auth-before-tls']);
  });

  it('tries at most 8 ways, and never sends what is not a SASL mechanism name', async () => {
    const mechanisms = ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9', 'BAD/NAME'];
    const { result } = await probeWith(
      {
        protocol: 'smtp',
        tls: 'starttls',
        on: (line, { tls }) => {
          if (tls) return undefined;
          if (line.startsWith('EHLO '))
            return `250-localhost\r\n250-STARTTLS\r\n250 AUTH ${mechanisms.join(' ')}\r\n`;
          return line.startsWith('AUTH ') ? '535 5.7.8 Authentication failed\r\n' : undefined;
        },
      },
      'submission',
      ['auth-required'],
    );
    const sent = result.transcript.filter((entry) => entry.dir === 'C').map((entry) => entry.text);
    expect(sent.filter((line) => line.startsWith('AUTH '))).toEqual(
      mechanisms.slice(0, 8).map((name) => `AUTH ${name}`),
    );
    const ways = result.checks?.authRequired?.ways ?? [];
    expect(ways.find((way) => way.way === 'A9')).toMatchObject({ outcome: 'not-tried' });
    expect(ways.find((way) => way.way === 'BAD/NAME')).toMatchObject({
      outcome: 'not-tried',
      why: 'not a SASL mechanism name',
    });
    expect(result.checks?.authRequired?.verdict).toBe('not-tested');
  });
});
