/**
 * Servers nobody vouches for. Each misbehaves in one way; for each, the probe must end within its port
 * deadline (plus a margin), reach the right status and findings, keep its memory bounded, raise no
 * unhandled error, and leave no socket or timer behind.
 */
import { execFile } from 'node:child_process';
import type net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  type Fixture,
  type FixtureOptions,
  startFixture,
  startRawServer,
  tlsFile,
} from '../src/demo/servers.js';
import type { Limits } from '../src/limits.js';
import { renderHtml } from '../src/render/html.js';
import { renderHuman } from '../src/render/human.js';
import { outcome } from '../src/rules/outcome.js';
import type { PortResult, Service, Status } from '../src/types/index.js';
import { fixtureServers } from './helpers/fixtures.js';
import { expectInertHtml } from './helpers/html.js';
import { findingIds, judge, probe, testCa, testLimits } from './helpers/probe.js';

const { track } = fixtureServers();

/** Writes `data` forever in `size`-byte pieces, as fast as the socket drains, until it closes. */
function flood(socket: net.Socket, piece: string | Buffer) {
  const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
  const pump = () => {
    while (!socket.destroyed && socket.write(chunk)) {
      // keep writing until the kernel buffer is full
    }
  };
  socket.on('drain', pump);
  pump();
}

/** Writes one byte every `ms` until the socket closes. */
function dribble(socket: net.Socket, text: string, ms: number) {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(text[i % text.length] ?? '');
    i++;
  }, ms);
  socket.on('close', () => clearInterval(timer));
}

/**
 * A tiny SMTP server that answers each command line from a table (default: 250 ok); null resets the
 * connection. After answering STARTTLS it goes quiet, so a handshake never completes.
 */
function smtpLike(greeting: string | Buffer, answers: Record<string, string | null> = {}) {
  return (socket: net.Socket) => {
    socket.write(greeting);
    let buffer = '';
    let quiet = false;
    socket.on('data', (chunk: Buffer) => {
      if (quiet) return;
      buffer += chunk.toString('latin1');
      for (let lf = buffer.indexOf('\n'); lf >= 0; lf = buffer.indexOf('\n')) {
        const line = buffer.slice(0, lf).replace(/\r$/, '');
        buffer = buffer.slice(lf + 1);
        const verb = line.split(' ')[0]?.toUpperCase() ?? '';
        const answer = verb in answers ? answers[verb] : '250 ok\r\n';
        if (answer === null) socket.resetAndDestroy();
        else if (answer !== undefined) socket.write(answer);
        if (verb === 'STARTTLS') quiet = true;
      }
    });
  };
}

const portMs = 4000;

/** Probes in a process of its own (test/helpers/probe-child.mjs), which reports on itself. */
function probeInChild(port: number, service: Service, limits: Partial<Limits> = {}) {
  const target = {
    address: '127.0.0.1',
    family: 4,
    port,
    service,
    servername: 'localhost',
    ca: testCa,
    limits: { ...testLimits, portMs, ...limits },
  };
  return new Promise<{
    result: PortResult;
    ms: number;
    peakGrowth: number;
    errors: string[];
    handlesLeft: string[];
  }>((resolve, reject) => {
    execFile(
      process.execPath,
      [childScript, JSON.stringify(target)],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`probe child failed: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}
const childScript = new URL('./helpers/probe-child.mjs', import.meta.url).pathname;

interface Case {
  name: string;
  service: Service;
  server: () => Promise<Fixture>;
  status: Status;
  findings: string[];
  /** Extra assertions on the result. */
  check?: (result: PortResult) => void;
  /** Limits other than the suite's (testLimits, portMs). */
  limits?: Partial<Limits>;
}

const raw = (handler: (socket: net.Socket) => void) => () => startRawServer(handler);

/**
 * The probe stopped at mailprobe's own cap, on something the protocol allows: local-error and probe-incomplete,
 * whose words name the cap, its value and how to raise it, and never call it the server's violation.
 */
const stoppedAtCap = (cap: string, words: RegExp) => (result: PortResult) => {
  expect(result.statusDetail).toMatch(words);
  expect(result.statusDetail).toContain(
    `mailprobe stopped the dialogue there; raise the cap with --limit ${cap}=N`,
  );
  const finding = judge(result).findings.find((f) => f.id === 'probe-incomplete');
  expect(finding?.detail).toBe(result.statusDetail);
  expect(finding?.detail).not.toMatch(/protocol|violat|broke/i);
  // The cap is a fact on the port; the port was not shown unusable, so no-port-works does not say it is.
  expect(result.capReached).toBe(cap);
  const none = judge(result).findings.find((f) => f.id === 'no-port-works');
  expect(none?.detail).toContain(`${result.port} (127.0.0.1) at ${cap} stopped at mailprobe's own cap`);
  expect(none?.detail).toMatch(/that a mail client cannot use this host from here is not proven$/);
};
const fixture = (options: FixtureOptions) => () => startFixture(options);

const cases: Case[] = [
  // Silence and slowness.
  {
    name: 'accepts and never sends a byte',
    service: 'submission',
    server: raw(() => {}),
    status: 'silent',
    findings: ['server-silent'],
  },
  {
    name: 'waits for a TLS ClientHello on a plaintext port',
    service: 'smtp',
    server: fixture({ protocol: 'smtp', tls: 'implicit' }),
    status: 'wrong-tls-mode',
    findings: ['tls-on-plaintext-port'],
  },
  {
    // The early TLS attempt after complete silence (silenceMs below the greeting deadline).
    name: 'waits silently for a ClientHello on the IMAP port (143 set up as IMAPS)',
    service: 'imap',
    server: fixture({ protocol: 'imap', tls: 'implicit' }),
    limits: { silenceMs: 200, greetingMs: 3000 },
    status: 'wrong-tls-mode',
    findings: ['tls-on-plaintext-port'],
    check: (result) => expect(result.timings.total).toBeLessThan(1500),
  },
  {
    // The TLS attempt after silence is dropped, and leaves nothing behind, when the first connection greets.
    name: 'greets only after a silence longer than silenceMs',
    service: 'pop3',
    server: raw((socket) => {
      const timer = setTimeout(() => socket.destroyed || socket.write('+OK late\r\n'), 600);
      socket.on('close', () => clearTimeout(timer));
      socket.on('data', (chunk: Buffer) => {
        // CAPA refused, so STLS is tried anyway (dialogue.ts upgradeWorthTrying): refused too.
        if (/^(CAPA|STLS)/.test(chunk.toString())) socket.write('-ERR no\r\n');
        if (/^QUIT/.test(chunk.toString())) socket.end('+OK bye\r\n');
      });
    }),
    limits: { silenceMs: 200, greetingMs: 3000 },
    status: 'open',
    findings: ['starttls-not-offered'],
  },
  {
    name: 'dribbles its greeting one byte at a time, forever',
    service: 'submission',
    server: raw((socket) => dribble(socket, '220 slowly', 100)),
    // It began: a greeting that does not end is stalled, not silent, and nothing is sent into it.
    status: 'stalled',
    findings: ['greeting-delayed'],
    check: (result) => expect(result.transcript.filter((entry) => entry.dir === 'C')).toEqual([]),
  },
  // Endless or huge replies.
  {
    // SMTP limits a reply line, not the lines of a reply (RFC 5321 §4.5.3.1.5): the cap is mailprobe's.
    name: 'sends 220- continuation lines forever',
    service: 'submission',
    server: raw((socket) => flood(socket, '220-still greeting\r\n'.repeat(64))),
    status: 'local-error',
    findings: ['probe-incomplete'],
    check: stoppedAtCap('replyLines', /^a reply longer than mailprobe's cap of 256 lines \(SMTP limits/),
  },
  {
    // Not an SMTP greeting, whatever its length: what answers is something else (as a short line of it is).
    name: 'sends one line with no CRLF, forever',
    service: 'submission',
    server: raw((socket) => flood(socket, Buffer.alloc(65536, 'x'))),
    status: 'wrong-protocol',
    findings: ['wrong-protocol'],
  },
  {
    name: 'answers EHLO with a 10 MB reply',
    service: 'submission',
    server: raw(
      smtpLike('220 hi\r\n', {
        EHLO: `${'250-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n'.repeat(150_000)}250 end\r\n`,
      }),
    ),
    status: 'local-error',
    findings: ['probe-incomplete'],
    check: stoppedAtCap('replyLines', /^a reply longer than mailprobe's cap of 256 lines/),
  },
  {
    name: 'writes every reply one byte at a time',
    service: 'smtp',
    server: raw((socket) => {
      const slowly = (text: string) => {
        for (const [i, char] of [...text].entries())
          setTimeout(() => socket.destroyed || socket.write(char), i);
      };
      slowly('220-first\r\n220 mail ready\r\n');
      socket.on('data', (chunk: Buffer) => {
        const line = chunk.toString();
        if (line.startsWith('EHLO')) slowly('250-mail\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
        if (line.startsWith('QUIT')) slowly('221 bye\r\n');
      });
    }),
    status: 'open',
    findings: ['starttls-not-offered'],
    check: (result) => expect(result.capabilities?.list).toEqual(['PIPELINING', '8BITMIME']),
  },
  // Odd bytes.
  {
    name: 'ends lines with a bare LF',
    service: 'smtp',
    server: raw(smtpLike('220 mail ready\n', { EHLO: '250-mail\n250 STARTTLS-NOT\n', QUIT: '221 bye\n' })),
    status: 'open',
    findings: ['starttls-not-offered'],
    check: (result) =>
      expect(result.transcript.filter((entry) => entry.bareLf).length).toBeGreaterThanOrEqual(3),
  },
  {
    name: 'puts NUL bytes and invalid UTF-8 in its banner',
    service: 'smtp',
    server: raw(
      smtpLike(Buffer.from('220 nul\u0000here \xff\xfe bad\r\n', 'latin1'), { QUIT: '221 bye\r\n' }),
    ),
    status: 'open',
    findings: ['starttls-not-offered'],
    check: (result) => expect(result.greeting?.lines[0]).toBe('nul\u0000here \ufffd\ufffd bad'),
  },
  {
    name: 'puts terminal escape sequences in its banner (CSI, OSC 0/8/52, C1 0x9B, bare CR, bidi)',
    service: 'smtp',
    server: raw(
      smtpLike(
        '220 \u001b[2J\u001b]0;title\u0007\u001b]8;;http://x\u0007y\u001b]52;c;ZXZpbA==\u0007\u009b31m\rover \u202eevil\r\n',
        { QUIT: '221 bye\r\n' },
      ),
    ),
    status: 'open',
    findings: ['starttls-not-offered'],
    check: (result) => {
      const human = renderHuman(judge(result), { color: false, verbose: true });
      expect(human).not.toMatch(/[\u001b\u0007\u009b\u202e\r]/);
      expect(result.transcript[0]?.text).toContain('\u001b]52;c;ZXZpbA==\u0007');
    },
  },
  // Refusals and drops.
  {
    name: 'greets 554, then answers 503 to everything',
    service: 'submission',
    server: raw(
      smtpLike('554 5.7.1 go away\r\n', { EHLO: '503 bad sequence\r\n', QUIT: '503 bad sequence\r\n' }),
    ),
    status: 'rejected',
    findings: ['greeting-rejected'],
  },
  {
    name: 'greets 421 too many connections',
    service: 'smtp',
    server: raw((socket) =>
      socket.end('421 4.7.0 mail.example Error: too many connections from 192.0.2.1\r\n'),
    ),
    status: 'rate-limited',
    findings: ['rate-limited'],
    check: (result) => expect(findingIds(result)).not.toContain('starttls-not-offered'),
  },
  {
    name: 'refuses EHLO with 554 (a policy refusal): rejected, never "no STARTTLS"',
    service: 'smtp',
    server: raw(smtpLike('220 mail.test ESMTP\r\n', { EHLO: '554 5.7.1 refused\r\n', QUIT: '221 bye\r\n' })),
    status: 'rejected',
    findings: ['greeting-rejected'],
    check: (result) => {
      expect(findingIds(result)).not.toContain('starttls-not-offered');
      expect(result.statusDetail).toContain('EHLO [127.0.0.1]: 554 5.7.1 refused');
    },
  },
  {
    name: 'does not know EHLO (502) and refuses HELO with 550: rejected',
    service: 'submission',
    server: raw(smtpLike('220 mail.test\r\n', { EHLO: '502 5.5.1 unknown\r\n', HELO: '550 not you\r\n' })),
    status: 'rejected',
    findings: ['greeting-rejected'],
    check: (result) => expect(result.statusDetail).toContain('HELO [127.0.0.1]: 550 not you'),
  },
  {
    name: 'closes right after EHLO',
    service: 'submission',
    server: raw((socket) => {
      socket.write('220 hi\r\n');
      socket.once('data', () => socket.end());
    }),
    status: 'closed',
    findings: ['connection-closed'],
  },
  {
    name: 'sends RST in the middle of a reply',
    service: 'submission',
    server: raw((socket) => {
      socket.write('220 hi\r\n');
      socket.once('data', () => {
        socket.write('250-mail\r\n250-PIPE');
        setTimeout(() => socket.resetAndDestroy(), 20);
      });
    }),
    status: 'reset',
    findings: ['connection-reset'],
  },
  // STARTTLS.
  {
    name: 'advertises STARTTLS, then refuses it with 454',
    service: 'submission',
    server: fixture({ protocol: 'smtp', tls: 'starttls', starttls: 'refuse' }),
    status: 'open',
    findings: ['starttls-refused'],
    check: (result) =>
      expect(result.starttls?.reply).toEqual(['454 4.7.0 TLS not available due to local problem']),
  },
  {
    name: 'sends extra plaintext after its STARTTLS OK',
    service: 'submission',
    server: fixture({ protocol: 'smtp', tls: 'starttls', starttls: 'ok-extra-bytes' }),
    status: 'open',
    findings: ['starttls-bytes-after-ok'],
  },
  {
    name: 'answers STARTTLS OK, then plaintext instead of a handshake',
    service: 'imap',
    server: fixture({
      protocol: 'imap',
      tls: 'starttls',
      on: (line) =>
        line.endsWith('STARTTLS') ? `${line.split(' ')[0]} OK go\r\n* OK not tls at all\r\n` : undefined,
    }),
    status: 'starttls-failed',
    findings: ['starttls-failed'],
  },
  {
    name: 'answers STARTTLS OK, then stalls the handshake forever',
    service: 'submission',
    server: raw(smtpLike('220 hi\r\n', { EHLO: '250-hi\r\n250 STARTTLS\r\n', STARTTLS: '220 go ahead\r\n' })),
    status: 'starttls-failed',
    findings: ['starttls-failed'],
    check: (result) => expect(result.starttls?.error).toMatch(/'tls'/),
  },
  {
    name: 'still advertises STARTTLS after TLS',
    service: 'submission',
    server: fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (line, state) =>
        state.tls && line.startsWith('EHLO')
          ? '250-localhost\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n'
          : undefined,
    }),
    status: 'open',
    findings: ['starttls-advertised-after-tls'],
  },
  // Wrong protocol or TLS mode.
  {
    name: 'speaks plaintext SMTP on an implicit-TLS port',
    service: 'submissions',
    server: fixture({ protocol: 'smtp', tls: 'starttls' }),
    status: 'wrong-tls-mode',
    findings: ['plaintext-on-tls-port'],
  },
  {
    name: 'is an HTTP server (silent until spoken to)',
    service: 'submission',
    server: raw((socket) =>
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')),
    ),
    status: 'wrong-protocol',
    findings: ['wrong-protocol'],
    check: (result) => expect(result.detected).toBe('http'),
  },
  {
    name: 'is an SSH server',
    service: 'pop3',
    server: raw((socket) => socket.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n')),
    status: 'wrong-protocol',
    findings: ['wrong-protocol'],
    check: (result) => expect(result.detected).toBe('ssh'),
  },
  // IMAP.
  {
    name: 'IMAP: PREAUTH on 143',
    service: 'imap',
    server: fixture({ protocol: 'imap', tls: 'starttls', preauth: true }),
    status: 'open',
    findings: ['imap-preauth-plaintext'],
  },
  {
    name: 'IMAP: a flood of untagged responses',
    service: 'imap',
    server: raw((socket) => {
      socket.write('* OK ready\r\n');
      socket.once('data', () => flood(socket, '* 1 EXISTS\r\n'.repeat(100)));
    }),
    status: 'local-error',
    findings: ['probe-incomplete'],
    check: stoppedAtCap(
      'replyLines',
      /^a reply longer than mailprobe's cap of 256 lines \(IMAP sets no limit/,
    ),
  },
  {
    name: 'IMAP: answers with the wrong tag',
    service: 'imap',
    server: raw((socket) => {
      socket.write('* OK ready\r\n');
      socket.once('data', () => socket.write('* CAPABILITY IMAP4rev1\r\nA001 OK done\r\n'));
    }),
    status: 'protocol-error',
    findings: ['protocol-violation'],
  },
  {
    name: 'IMAP: refuses CAPABILITY, but its greeting listed STARTTLS: STARTTLS is tried, not "not offered"',
    service: 'imap',
    server: raw((socket) => {
      socket.write('* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n');
      let buffer = '';
      socket.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('latin1');
        for (let lf = buffer.indexOf('\n'); lf >= 0; lf = buffer.indexOf('\n')) {
          const [tag = '', verb = ''] = buffer.slice(0, lf).trim().split(' ');
          buffer = buffer.slice(lf + 1);
          if (verb.toUpperCase() === 'LOGOUT') socket.end(`* BYE bye\r\n${tag} OK done\r\n`);
          else socket.write(`${tag} NO not now\r\n`);
        }
      });
    }),
    status: 'open',
    findings: ['starttls-refused'],
    check: (result) => {
      expect(result.capabilities).toMatchObject({ ok: true, starttls: true });
      expect(result.starttls).toMatchObject({ advertised: true, attempted: true, accepted: false });
    },
  },
  {
    name: 'IMAP: never sends the tagged response',
    service: 'imap',
    server: raw((socket) => {
      socket.write('* OK ready\r\n');
      socket.once('data', () => socket.write('* CAPABILITY IMAP4rev1 STARTTLS\r\n'));
    }),
    status: 'stalled',
    findings: ['dialogue-stalled'],
  },
  {
    name: 'IMAP: declares a 4 GB literal',
    service: 'imap',
    server: raw((socket) => {
      socket.write('* OK ready\r\n');
      socket.once('data', () => flood(socket, '* CAPABILITY {4294967296}\r\n'));
    }),
    // RFC 9051 allows it (a number64, §9): mailprobe's cap stops it, nothing of it is read.
    status: 'local-error',
    findings: ['probe-incomplete'],
    check: stoppedAtCap(
      'literalBytes',
      /^an IMAP literal of 4294967296 bytes, larger than mailprobe's cap of 65536 bytes/,
    ),
  },
  {
    // IMAP sets no line length limit (RFC 9051): a line over mailprobe's cap is the cap's doing, not the server's.
    name: "IMAP: a CAPABILITY line longer than mailprobe's line cap",
    service: 'imap',
    server: raw((socket) => {
      socket.write('* OK ready\r\n');
      socket.once('data', () =>
        socket.write(`* CAPABILITY IMAP4rev2 STARTTLS ${'X-ATOM '.repeat(1000)}\r\nmp1 OK done\r\n`),
      );
    }),
    status: 'local-error',
    findings: ['probe-incomplete'],
    check: (result) => {
      expect(result.failedPhase).toBe('capabilities');
      expect(result.statusDetail).toMatch(/a line longer than mailprobe's cap of 4096 bytes/);
      expect(result.statusDetail).toMatch(/--limit lineBytes=/);
      const finding = judge(result).findings.find((f) => f.id === 'probe-incomplete');
      expect(finding?.detail).toMatch(/IMAP sets no line length limit/);
      expect(finding?.detail).not.toMatch(/protocol|violat/i);
      expect(result.capReached).toBe('lineBytes');
    },
  },
  {
    name: "IMAP: an [ALERT] before TLS is shown as the server's words",
    service: 'imap',
    server: fixture({
      protocol: 'imap',
      tls: 'starttls',
      greeting: '* OK [ALERT] mailprobe says: all ports are safe\r\n',
    }),
    status: 'open',
    findings: [],
    check: (result) => {
      // Quoted in the table, and marked as the server's (S) line in the transcript.
      const human = renderHuman(judge(result), { color: false, verbose: true });
      expect(human).toContain('“mailprobe says: all ports a…”');
      expect(human).toMatch(/ S \* OK \[ALERT\] mailprobe says: all ports are safe$/m);
    },
  },
  // POP3.
  {
    // CAPA is optional (RFC 2449 §5): STLS is tried anyway, and works.
    name: 'POP3: CAPA answered -ERR, before and after TLS',
    service: 'pop3',
    server: fixture({
      protocol: 'pop3',
      tls: 'starttls',
      on: (line) => (line === 'CAPA' ? '-ERR unknown command\r\n' : undefined),
    }),
    status: 'open',
    findings: [],
    check: (result) => {
      expect(result.capabilities).toMatchObject({ ok: false, refusal: '-ERR unknown command' });
      expect(result.starttls).toMatchObject({ advertised: false, attempted: true, upgraded: true });
      expect(result.capabilitiesAfterTls?.ok).toBe(false);
    },
  },
  {
    // POP3 allows 512 octets a status line (RFC 2449 §4): one over the cap of 4096 is the server's violation.
    name: "POP3: a greeting longer than mailprobe's line cap",
    service: 'pop3',
    server: raw((socket) => socket.write(`+OK ${'x'.repeat(5000)}\r\n`)),
    status: 'protocol-error',
    findings: ['protocol-violation'],
    check: (result) => {
      expect(result.statusDetail).toMatch(/longer than 4096 bytes .*RFC 2449 §4/);
      // The server's violation, not mailprobe's cap.
      expect(result.capReached).toBeUndefined();
    },
  },
  {
    name: 'POP3: a CAPA list that never ends with "."',
    service: 'pop3',
    server: raw((socket) => {
      socket.write('+OK ready\r\n');
      socket.once('data', () => {
        socket.write('+OK\r\n');
        flood(socket, 'TOP\r\n'.repeat(100));
      });
    }),
    status: 'local-error',
    findings: ['probe-incomplete'],
    check: stoppedAtCap(
      'replyLines',
      /^a reply longer than mailprobe's cap of 256 lines \(POP3 sets no limit/,
    ),
  },
  // A middlebox.
  {
    name: 'a Cisco-style SMTP inspection middlebox (masked banner, XXXX lines, STARTTLS stripped)',
    service: 'submission',
    server: raw(
      smtpLike('220 ****************************************2*0*0*****0***0\r\n', {
        EHLO: '250-XXXXXXXA\r\n250-XXXXXXXB\r\n250 XXXXXXXC\r\n',
        QUIT: '221 bye\r\n',
      }),
    ),
    status: 'open',
    findings: ['smtp-inspection-middlebox', 'starttls-not-offered'],
  },
  // Goodbyes.
  {
    name: 'never closes after QUIT',
    service: 'smtp',
    server: raw(smtpLike('220 hi\r\n', { EHLO: '250 hi\r\n', QUIT: '221 bye (but I stay)\r\n' })),
    status: 'open',
    findings: ['starttls-not-offered'],
  },
  {
    name: 'never answers LOGOUT',
    service: 'imaps',
    server: fixture({
      protocol: 'imap',
      tls: 'implicit',
      on: (line) => (line.endsWith('LOGOUT') ? '' : undefined),
    }),
    status: 'open',
    findings: [],
    check: (result) =>
      expect(result.transcript.at(-1)?.text).toMatch(/^QUIT\/LOGOUT: Timeout awaiting 'quit'/),
  },
];

describe('hostile and broken servers', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.status}${c.findings.length ? `, ${c.findings.join(', ')}` : ''}`, async () => {
      const server = await c.server();
      track(server);
      const run = await probeInChild(server.port, c.service, c.limits);
      const result = run.result;
      expect(result.status, result.statusDetail).toBe(c.status);
      expect(findingIds(result)).toEqual([...c.findings].sort());
      c.check?.(result);
      // The HTML report of what it sent, parsed by parse5: no element or attribute of the server's.
      const verdict = judge(result);
      expectInertHtml(renderHtml([verdict], outcome([verdict], 'high')));
      expect(run.ms, 'ends within the port deadline').toBeLessThan(portMs + 750);
      // Capped reading grows about 1 MB at most; unbounded buffering of a flood passes 8 MB within 0.3 s.
      expect(run.peakGrowth, 'memory stays bounded').toBeLessThan(8 * 1024 * 1024);
      expect(run.errors, 'no unhandled rejection or exception').toEqual([]);
      expect(run.handlesLeft, 'no socket or timer left').toEqual([]);
    });
  }

  it('a TLS handshake that fails on protocol version is reported as such, not as "no TLS"', async () => {
    // A server that insists on TLS 1.3 while the probe offers it: fine. One that offers only SSLv3-era
    // versions cannot be reached by OpenSSL 3 at all; the failure then names the version problem.
    const server = tls.createServer({
      key: tlsFile('server.key'),
      cert: tlsFile('server.pem'),
      maxVersion: 'TLSv1',
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const result = await probe(port, 'imaps', { limits: { portMs: 4000 } });
      expect(result.tls?.protocol).toBe('TLSv1');
      expect(findingIds(result)).toContain('tls-legacy-version');
    } finally {
      server.close();
    }
  });
});
