/**
 * The round trip's own connections (--round-trip) against fixture servers over STARTTLS: each is closed and its
 * transcript kept however the round trip ends, and bytes a server sends after its STARTTLS OK are dropped, noted
 * and kept as the login check keeps its own (starttls-bytes-after-ok). The wire steps are in test/login.test.ts.
 */
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { tlsFile } from '../src/demo/servers.js';
import { defaultLimits } from '../src/limits.js';
import { runRoundTrip } from '../src/modes/roundtrip.js';
import type { Credential } from '../src/protocols/secret.js';
import { evaluate } from '../src/rules/evaluate.js';
import { trustFrom } from '../src/tls/trust.js';
import type { HostResult, PortResult, Service } from '../src/types/index.js';
import { cli, root } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';
import { validReport } from './helpers/schema.js';

const { fixture, raw } = fixtureServers();
const credential: Credential = { user: 'alice@example.test', secret: 'Tr1p"Secret\\2024', kind: 'password' };
const limits = { ...defaultLimits, connectMs: 2000, tlsMs: 2000, greetingMs: 2000, replyMs: 2000 };
const texts = (port: PortResult | undefined) => port?.transcript.map((entry) => entry.text) ?? [];

/** A probed port where the login check worked, as the round trip finds it. */
const probed = (tcp: number, service: Service): PortResult => ({
  port: tcp,
  service,
  protocol: service.startsWith('pop3') ? 'pop3' : service.startsWith('imap') ? 'imap' : 'smtp',
  expectedTls: service === 'submission' || service === 'pop3' || service === 'imap' ? 'starttls' : 'implicit',
  address: '127.0.0.1',
  family: 4,
  status: 'open',
  statusDetail: '',
  startedAt: new Date().toISOString(),
  timings: { total: 1 },
  transcript: [],
  login: { outcome: 'works', secret: 'password' },
});

const hostOf = (ports: PortResult[]): HostResult => ({
  host: 'localhost',
  servername: 'localhost',
  addresses: [{ address: '127.0.0.1', family: 4 }],
  resolveMs: 0,
  startedAt: new Date().toISOString(),
  durationMs: 0,
  ports,
});

const trip = (host: HostResult) =>
  runRoundTrip(host, { credential, trust: trustFrom(tlsFile('ca.pem')), limits, waitS: 1, pollMs: 20 });

/**
 * Submission on 587 and POP3 on 110, both over STARTTLS/STLS, sharing one maildrop: the fixture servers with
 * the login, the message and the maildrop scripted; `inject` sends a line after each STARTTLS/STLS OK.
 */
async function startTlsMailSystem(inject: boolean) {
  const maildrop: string[] = [];
  let data: string[] | undefined;
  const submission = await fixture({
    protocol: 'smtp',
    tls: 'starttls',
    ...(inject ? { starttls: 'ok-extra-bytes' as const } : {}),
    on: (line, state) => {
      if (!state.tls) return undefined;
      if (data) {
        if (line !== '.') {
          data.push(line);
          return '';
        }
        maildrop.push(data.find((l) => l.startsWith('Subject: ')) ?? '');
        data = undefined;
        return '250 2.0.0 Ok: queued as 4XyZ1\r\n';
      }
      if (/^AUTH PLAIN /i.test(line)) return '235 2.7.0 Authentication successful\r\n';
      if (/^(MAIL|RCPT)/i.test(line)) return '250 2.1.0 Ok\r\n';
      if (/^DATA$/i.test(line)) {
        data = [];
        return '354 go ahead\r\n';
      }
      return undefined;
    },
  });
  let authenticating = false;
  const pop3 = await fixture({
    protocol: 'pop3',
    tls: 'starttls',
    ...(inject ? { starttls: 'ok-extra-bytes' as const } : {}),
    on: (line, state) => {
      if (!state.tls) return undefined;
      if (authenticating) {
        authenticating = false;
        return '+OK logged in\r\n';
      }
      if (/^AUTH PLAIN$/i.test(line)) {
        authenticating = true;
        return '+ \r\n';
      }
      if (/^LIST$/i.test(line)) return `+OK\r\n${maildrop.map((_, i) => `${i + 1} 100\r\n`).join('')}.\r\n`;
      const top = /^TOP (\d+) 0$/i.exec(line);
      if (top) return `+OK\r\n${maildrop[Number(top[1]) - 1] ?? ''}\r\n\r\n.\r\n`;
      if (/^DELE /i.test(line)) return '+OK\r\n';
      return undefined;
    },
  });
  return hostOf([probed(submission, 'submission'), probed(pop3, 'pop3')]);
}

describe("the round trip's own connections", () => {
  it('bytes after the STARTTLS OK on them are dropped, noted in the transcript and kept, as the login check keeps its own', async () => {
    const host = await startTlsMailSystem(true);
    const [submission, pop3] = host.ports;
    const facts = await trip(host);
    expect(facts).toMatchObject({ accepted: true, deleted: true, queueId: '4XyZ1' });
    expect(facts.failedStep).toBeUndefined();
    // The fixtures send "250 injected" and "+OK injected" after the OK: 14 bytes each.
    expect(facts.bytesAfterOk).toEqual([
      { port: submission?.port, address: '127.0.0.1', bytes: 14 },
      { port: pop3?.port, address: '127.0.0.1', bytes: 14 },
    ]);
    for (const [port, command] of [
      [submission, 'STARTTLS'],
      [pop3, 'STLS'],
    ] as const) {
      const kept = texts(port);
      expect(kept[0]).toBe('round trip: a connection of its own');
      expect(kept).toContain(`discarded 14 bytes received after the ${command} OK`);
      // The injected line is never read as a reply.
      expect(kept.filter((text) => /injected/.test(text))).toEqual([]);
    }
    // The same finding as on the probe's and the login check's connections, on the port it was seen on.
    const verdict = evaluate({ ...host, roundTrip: facts });
    expect(verdict.findings.filter((f) => f.id === 'starttls-bytes-after-ok')).toEqual([
      expect.objectContaining({
        port: submission?.port,
        evidence: ['14 bytes discarded before the TLS handshake on the round trip’s own connection'],
      }),
      expect.objectContaining({
        port: pop3?.port,
        evidence: ['14 bytes discarded before the TLS handshake on the round trip’s own connection'],
      }),
    ]);
    expect(verdict.ports.map((port) => port.safe)).toEqual([false, false]);
    // A clean server: nothing kept, no finding.
    const clean = await startTlsMailSystem(false);
    const none = await trip(clean);
    expect(none).toMatchObject({ accepted: true, deleted: true });
    expect(none).not.toHaveProperty('bytesAfterOk');
    expect(texts(clean.ports[0]).filter((text) => /^discarded/.test(text))).toEqual([]);
  });

  it('in the JSON: roundTrip.bytesAfterOk, and each connection named in the evidence of starttls-bytes-after-ok', async () => {
    const system = await startTlsMailSystem(true);
    const [submission, pop3] = system.ports.map((port) => port.port);
    const run = await cli(
      [
        '127.0.0.1',
        '--port',
        `${submission}=submission`,
        '--port',
        `${pop3}=pop3`,
        '--ca',
        `${root}fixtures/tls/ca.pem`,
        '--servername',
        'localhost',
        '--login',
        credential.user,
        '--password-env',
        'MP_TRIP_SECRET',
        '--round-trip',
        '--round-trip-wait',
        '1',
        '--json',
      ],
      { MP_TRIP_SECRET: credential.secret },
    );
    const report = validReport<{
      hosts: {
        roundTrip?: { accepted: boolean; bytesAfterOk?: { port: number; address: string; bytes: number }[] };
        ports: { port: number; transcript: { text: string }[] }[];
        findings: { id: string; port: number; evidence: string[] }[];
      }[];
    }>(run.stdout);
    const [host] = report.hosts;
    expect(host?.roundTrip).toMatchObject({
      accepted: true,
      bytesAfterOk: [
        { port: submission, address: '127.0.0.1', bytes: 14 },
        { port: pop3, address: '127.0.0.1', bytes: 14 },
      ],
    });
    const evidence = [
      '14 bytes discarded before the TLS handshake',
      '14 bytes discarded before the TLS handshake on the login check’s own connection',
      '14 bytes discarded before the TLS handshake on the round trip’s own connection',
    ];
    expect(host?.findings.filter((f) => f.id === 'starttls-bytes-after-ok')).toEqual([
      expect.objectContaining({ port: submission, evidence }),
      expect.objectContaining({ port: pop3, evidence }),
    ]);
    // The probe's, the login check's and the round trip's connections, in that order, in each port's transcript.
    for (const port of host?.ports ?? [])
      expect(
        port.transcript
          .filter((entry) => / connection of its own$|^discarded /.test(entry.text))
          .map((e) => e.text),
      ).toEqual([
        expect.stringMatching(/^discarded 14 bytes/),
        'login check: a connection of its own',
        expect.stringMatching(/^discarded 14 bytes/),
        'round trip: a connection of its own',
        expect.stringMatching(/^discarded 14 bytes/),
      ]);
    expect(run.stdout).not.toContain(credential.secret);
  });

  it('a connection that breaks before TLS is verified is closed, and its transcript kept', async () => {
    // 587 over STARTTLS whose EHLO inside TLS is no SMTP reply: the verified-TLS step throws.
    const context = tls.createSecureContext({ key: tlsFile('server.key'), cert: tlsFile('server.pem') });
    let closed!: () => void;
    const closedByClient = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const broken = await raw((socket) => {
      socket.on('close', () => closed());
      socket.write('220 broken ESMTP\r\n');
      let buffer = '';
      const plain = (chunk: Buffer) => {
        buffer += chunk.toString('latin1');
        for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (/^EHLO/i.test(line)) socket.write('250-broken\r\n250 STARTTLS\r\n');
          else if (/^STARTTLS/i.test(line)) {
            socket.off('data', plain);
            socket.write('220 2.0.0 Ready to start TLS\r\n');
            const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
            secure.on('error', () => secure.destroy());
            // Inside TLS, the EHLO's reply goes on with a line that is no SMTP reply line.
            secure.on('data', () => secure.write('250-broken\r\nnot an SMTP reply\r\n'));
            return;
          } else socket.write('502 no\r\n');
        }
      };
      socket.on('data', plain);
    });
    // The mailbox is never reached: the round trip stops at the submit step.
    const host = hostOf([probed(broken, 'submission'), probed(9, 'pop3s')]);
    const facts = await trip(host);
    expect(facts).toMatchObject({
      accepted: false,
      failedStep: 'submit',
      why: expect.stringMatching(/malformed SMTP reply line: "not an SMTP reply"/),
    });
    await expect(
      Promise.race([
        closedByClient.then(() => 'closed'),
        new Promise((resolve) => setTimeout(() => resolve('still open'), 2000)),
      ]),
    ).resolves.toBe('closed');
    const kept = texts(host.ports[0]);
    expect(kept[0]).toBe('round trip: a connection of its own');
    expect(kept).toContain('not an SMTP reply');
    expect(texts(host.ports[1])).toEqual([]);
  });
});
