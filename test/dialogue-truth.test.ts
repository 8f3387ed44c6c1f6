/**
 * The dialogue never reads the wrong reply: a refusal at any step is a refusal, bytes no command asked for
 * are set aside and reported, and no user value can add a command to the dialogue.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { probeHost } from '../src/probe/host.js';
import type { PortResult } from '../src/types/index.js';
import { cli } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';
import { findingIds, judge, probe } from './helpers/probe.js';

const { fixture, raw, track } = fixtureServers();

describe('a refusal after the greeting', () => {
  it('SMTP: EHLO answered 421 and a hang-up is rejected, not open', async () => {
    const port = await raw((socket) => {
      socket.write('220 mail.example ESMTP\r\n');
      socket.once('data', () => socket.end('421 4.7.0 mail.example closing connection\r\n'));
    });
    const result = await probe(port, 'submission');
    expect(result.status).toBe('rejected');
    expect(result.failedPhase).toBe('capabilities');
    expect(findingIds(result)).toEqual(['greeting-rejected']);
    expect(judge(result).ports[0]).toMatchObject({ works: false, safe: null });
    expect(judge(result).findings[0]?.evidence.join('\n')).toContain(
      '421 4.7.0 mail.example closing connection',
    );
    expect(judge(result).findings[0]?.detail).toBe(
      'the server refused service at the capabilities step, saying it is closing the connection: mail clients cannot use this port now',
    );
  });

  it('SMTP: a 521 greeting (a host that accepts no mail, RFC 7504 §3) is a refusal, not a protocol violation', async () => {
    const port = await raw((socket) => socket.end('521 5.3.2 mx.example.org does not accept mail\r\n'));
    const result = await probe(port, 'smtp');
    expect(result.status).toBe('rejected');
    expect(findingIds(result)).toEqual(['greeting-rejected']);
    const finding = judge(result).findings[0];
    expect(finding?.evidence.join('\n')).toContain('521 5.3.2 mx.example.org does not accept mail');
    expect(finding?.reference).toContain('RFC 7504 §3');
  });

  it('the evidence of a refusal is the last server lines, the refusal among them, however long the reply before it', async () => {
    const port = await raw((socket) => {
      socket.write('220 mail.example ESMTP\r\n');
      socket.once('data', () =>
        socket.end(
          '250-mail.example\r\n250-PIPELINING\r\n250-SIZE 10\r\n250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n421 4.3.2 shutting down\r\n',
        ),
      );
    });
    const result = await probe(port, 'submission');
    const finding = judge(result).findings.find((f) => f.id === 'greeting-rejected');
    expect(finding?.evidence).toContain('S: 421 4.3.2 shutting down');
  });

  it('SMTP: a 421 to STARTTLS without a hang-up is rejected too', async () => {
    const port = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (command) => (command === 'STARTTLS' ? '421 4.3.2 Service shutting down\r\n' : undefined),
    });
    const result = await probe(port, 'submission');
    expect(result.status).toBe('rejected');
    expect(findingIds(result)).toEqual(['greeting-rejected']);
  });

  it('SMTP: 421 "too many connections" at EHLO is rate-limited', async () => {
    const port = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (command) =>
        command.startsWith('EHLO') ? '421 4.7.0 Too many connections, try again later\r\n' : undefined,
    });
    expect((await probe(port, 'submission')).status).toBe('rate-limited');
  });

  it('IMAP: * BYE in answer to CAPABILITY, then a close, is rejected', async () => {
    const port = await raw((socket) => {
      socket.write('* OK ready\r\n');
      socket.once('data', () => socket.end('* BYE Server shutting down\r\n'));
    });
    const result = await probe(port, 'imap');
    expect(result.status).toBe('rejected');
    expect(findingIds(result)).toEqual(['greeting-rejected']);
  });

  it('POP3: -ERR to CAPA, then a close, is rejected', async () => {
    const port = await raw((socket) => {
      socket.write('+OK ready\r\n');
      socket.once('data', () => socket.end('-ERR [SYS/TEMP] service unavailable\r\n'));
    });
    const result = await probe(port, 'pop3');
    expect(result.status).toBe('rejected');
    // The STLS sent after the refused CAPA (a probe for the capabilities) found the close: that step's.
    expect(result.failedPhase).toBe('capabilities');
    expect(findingIds(result)).toEqual(['greeting-rejected']);
    expect(judge(result).findings[0]?.detail).toContain('at the capabilities step and closed');
  });

  // A line-at-a-time raw server: `answer` gives each command's reply, or [reply, 'close'] to hang up after it.
  const scripted = (greeting: string, answer: (command: string) => string | [string, 'close']) =>
    raw((socket) => {
      socket.write(greeting);
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        for (let lf = buffer.indexOf('\n'); lf >= 0; lf = buffer.indexOf('\n')) {
          const reply = answer(buffer.slice(0, lf).replace(/\r$/, ''));
          buffer = buffer.slice(lf + 1);
          if (typeof reply === 'string') socket.write(reply);
          else return void socket.end(reply[0]);
        }
      });
    });

  it('IMAP: * BYE in answer to our LOGOUT, then a close with no tagged OK, is a goodbye, not a refusal', async () => {
    const port = await scripted('* OK ready\r\n', (command) => {
      const [tag, verb] = command.split(' ');
      if (verb === 'CAPABILITY') return `* CAPABILITY IMAP4rev1 LOGINDISABLED\r\n${tag} OK done\r\n`;
      if (verb === 'LOGOUT') return ['* BYE IMAP4rev1 Server logging out\r\n', 'close'];
      return `${tag} BAD unknown\r\n`;
    });
    const result = await probe(port, 'imap');
    expect(result.status).toBe('open');
    expect(findingIds(result)).not.toContain('greeting-rejected');
    expect(judge(result).ports[0]).toMatchObject({ works: true });
  });

  it('POP3: -ERR to a command, then a close in answer to QUIT (no +OK), leaves the verdict as it was', async () => {
    const port = await scripted('+OK ready\r\n', (command) =>
      command === 'QUIT' ? ['', 'close'] : '-ERR unknown command\r\n',
    );
    const result = await probe(port, 'pop3');
    expect(result.status).toBe('open');
    expect(findingIds(result)).not.toContain('greeting-rejected');
  });

  it('POP3: -ERR to CAPA on a server that carries on is still open (RFC 2449 is optional)', async () => {
    const port = await fixture({
      protocol: 'pop3',
      tls: 'starttls',
      on: (command, state) => (command === 'CAPA' && !state.tls ? '-ERR unknown command\r\n' : undefined),
    });
    const result = await probe(port, 'pop3');
    expect(result.status).toBe('open');
  });
});

describe('a refused EHLO: then HELO, as a client does (RFC 5321 §3.2, §4.1.4)', () => {
  const sent = (result: PortResult) => result.transcript.filter((e) => e.dir === 'C').map((e) => e.text);

  for (const refusal of ['550 5.7.1 go away', '501 5.5.4 Invalid domain name']) {
    it(`EHLO answered ${refusal.slice(0, 3)}: HELO is accepted, the port is open and judged on what HELO gives`, async () => {
      const port = await fixture({
        protocol: 'smtp',
        tls: 'starttls',
        on: (command) => (command.startsWith('EHLO') ? `${refusal}\r\n` : undefined),
      });
      const result = await probe(port, 'submission');
      expect(result.status).toBe('open');
      expect(sent(result)).toEqual(['EHLO [127.0.0.1]', 'HELO [127.0.0.1]', 'QUIT']);
      expect(result.capabilities).toMatchObject({ command: 'HELO', ok: true, refusal, list: [] });
      const finding = judge(result).findings.find((f) => f.id === 'starttls-not-offered');
      expect(finding?.detail).toContain('accept EHLO and offer STARTTLS');
      expect(finding?.evidence).toEqual([
        `EHLO was refused: ${refusal}`,
        'HELO was accepted, and a HELO reply lists no extensions: STARTTLS is offered only in the EHLO reply (RFC 3207 §4)',
      ]);
    });
  }

  it('EHLO and HELO both refused: rejected, with both refusals, and not "closed" (the server stayed)', async () => {
    const port = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (command) => (/^(EHLO|HELO) /.test(command) ? '501 5.5.4 Invalid domain name\r\n' : undefined),
    });
    const result = await probe(port, 'submission');
    expect(result.status).toBe('rejected');
    expect(result.statusDetail).toBe(
      'capabilities: EHLO [127.0.0.1]: 501 5.5.4 Invalid domain name; HELO [127.0.0.1]: 501 5.5.4 Invalid domain name',
    );
    const finding = judge(result).findings.find((f) => f.id === 'greeting-rejected');
    expect(finding?.detail).toBe(
      'the server refused service at the capabilities step: mail clients cannot use this port now',
    );
  });

  it('a 554 to EHLO still ends the session: no HELO', async () => {
    const port = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (command) => (command.startsWith('EHLO') ? '554 5.7.1 refused\r\n' : undefined),
    });
    const result = await probe(port, 'submission');
    expect(result.status).toBe('rejected');
    expect(sent(result)).toEqual(['EHLO [127.0.0.1]']);
  });
});

describe('capabilities that could not be read: the upgrade is tried, and its answer judged (RFC 2449 §5)', () => {
  const sent = (result: PortResult) => result.transcript.filter((e) => e.dir === 'C').map((e) => e.text);
  const noCapa = (command: string, state: { tls: boolean }) =>
    command === 'CAPA' && !state.tls ? '-ERR no CAPA\r\n' : undefined;

  it('POP3: CAPA refused, STLS works: the port is judged on its TLS session, not "STLS not offered"', async () => {
    const port = await fixture({ protocol: 'pop3', tls: 'starttls', on: noCapa });
    const result = await probe(port, 'pop3');
    expect(result.status).toBe('open');
    expect(result.capabilities).toMatchObject({ ok: false, refusal: '-ERR no CAPA' });
    expect(result.starttls).toMatchObject({
      advertised: false,
      attempted: true,
      accepted: true,
      upgraded: true,
    });
    expect(result.tls).toBeDefined();
    expect(findingIds(result)).toEqual([]);
    expect(judge(result).ports[0]).toMatchObject({ works: true, safe: true });
  });

  it('POP3: CAPA refused and STLS refused: not offered, the two refusals the evidence', async () => {
    const port = await fixture({ protocol: 'pop3', tls: 'starttls', starttls: 'refuse', on: noCapa });
    const result = await probe(port, 'pop3');
    expect(result.status).toBe('open');
    expect(findingIds(result)).toEqual(['starttls-not-offered']);
    expect(judge(result).findings[0]?.evidence).toEqual([
      'CAPA was refused: -ERR no CAPA',
      'STLS, sent though not listed (the capabilities unknown), was refused: -ERR STLS not available',
    ]);
  });

  it('IMAP: CAPABILITY refused and the greeting lists nothing: STARTTLS is tried, and works', async () => {
    const port = await fixture({
      protocol: 'imap',
      tls: 'starttls',
      greeting: '* OK ready\r\n',
      on: (command, state) =>
        command.endsWith(' CAPABILITY') && !state.tls ? `${command.split(' ')[0]} NO not now\r\n` : undefined,
    });
    const result = await probe(port, 'imap');
    expect(result.status).toBe('open');
    expect(result.capabilities).toMatchObject({ ok: false, refusal: 'mp1 NO not now' });
    expect(result.starttls).toMatchObject({ advertised: false, attempted: true, upgraded: true });
    expect(findingIds(result)).toEqual([]);
  });

  it('IMAP: CAPABILITY and STARTTLS refused: not offered, with both replies', async () => {
    const port = await fixture({
      protocol: 'imap',
      tls: 'starttls',
      starttls: 'refuse',
      greeting: '* OK ready\r\n',
      on: (command) => (command.endsWith(' CAPABILITY') ? `${command.split(' ')[0]} BAD no\r\n` : undefined),
    });
    const result = await probe(port, 'imap');
    expect(findingIds(result)).toEqual(['starttls-not-offered']);
    expect(judge(result).findings[0]?.evidence).toEqual([
      'CAPABILITY was refused: mp1 BAD no',
      'STARTTLS, sent though not listed (the capabilities unknown), was refused: mp2 BAD STARTTLS not available',
    ]);
  });

  it('a server that lists its capabilities without the upgrade is never sent it', async () => {
    for (const protocol of ['pop3', 'imap'] as const) {
      const result = await probe(await fixture({ protocol, tls: 'none' }), protocol);
      expect(result.starttls).toMatchObject({ advertised: false, attempted: false });
      expect(sent(result).some((text) => /STARTTLS|STLS/.test(text))).toBe(false);
      expect(judge(result).findings[0]?.evidence[0]).toMatch(/^CAPA(BILITY)? lists: /);
    }
  });

  it('SMTP: no STARTTLS after HELO (an EHLO extension, RFC 3207 §4), even when the EHLO was refused', async () => {
    const port = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (command) => (command.startsWith('EHLO') ? '502 5.5.2 unknown\r\n' : undefined),
    });
    const result = await probe(port, 'submission');
    expect(sent(result)).toEqual(['EHLO [127.0.0.1]', 'HELO [127.0.0.1]', 'QUIT']);
    expect(findingIds(result)).toEqual(['starttls-not-offered']);
  });
});

describe('bytes no command asked for', () => {
  it('an extra reply after EHLO (same write) is never taken as the answer to STARTTLS', async () => {
    const port = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (command, state) =>
        command.startsWith('EHLO') && !state.tls
          ? '250-localhost greets you\r\n250 STARTTLS\r\n454 4.7.0 TLS not available\r\n'
          : undefined,
    });
    const result = await probe(port, 'submission');
    expect(result.status).toBe('open');
    expect(result.starttls).toMatchObject({ attempted: true, accepted: true, upgraded: true });
    expect(result.starttls?.reply).toEqual(['220 2.0.0 Ready to start TLS']);
    expect(result.unsolicited).toEqual(['454 4.7.0 TLS not available']);
    const verdict = judge(result);
    expect(verdict.findings.map((f) => f.id)).toEqual(['unsolicited-reply']);
    expect(verdict.findings[0]?.evidence).toEqual(['S (unsolicited): 454 4.7.0 TLS not available']);
    const entry = result.transcript.find((e) => e.text === '454 4.7.0 TLS not available');
    expect(entry).toMatchObject({ dir: 'S', unsolicited: true });
  });

  it('a second reply to one POP3 command is set aside, not paired with STLS', async () => {
    const port = await fixture({
      protocol: 'pop3',
      tls: 'starttls',
      on: (command, state) =>
        command === 'CAPA' && !state.tls ? '+OK\r\nSTLS\r\n.\r\n-ERR surprise\r\n' : undefined,
    });
    const result = await probe(port, 'pop3');
    expect(result.starttls).toMatchObject({ accepted: true, upgraded: true });
    expect(findingIds(result)).toContain('unsolicited-reply');
    expect(findingIds(result)).not.toContain('starttls-refused');
  });

  it('IMAP untagged responses between commands are allowed (RFC 9051 §7), and not a finding', async () => {
    const port = await fixture({
      protocol: 'imap',
      tls: 'starttls',
      on: (command, state) => {
        const tag = command.split(' ')[0];
        return command.endsWith('CAPABILITY') && !state.tls
          ? `* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n${tag} OK done\r\n* 3 EXISTS\r\n`
          : undefined;
      },
    });
    const result = await probe(port, 'imap');
    expect(result.status).toBe('open');
    expect(result.unsolicited).toBeUndefined();
  });
});

describe('user values that reach the wire', () => {
  const bad = ['mx.example.com\r\nMAIL FROM:<a@b>', 'two words', 'a..b', '[300.1.1.1]', '[IPv6:nope]', ''];
  for (const value of bad) {
    it(`--ehlo-name ${JSON.stringify(value)} exits 2 before any connection`, async () => {
      const server = track(
        await (await import('../src/demo/servers.js')).startFixture({ protocol: 'smtp', tls: 'starttls' }),
      );
      const run = await cli(['127.0.0.1', '--port', `${server.port}=submission`, '--ehlo-name', value]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^mailprobe: --ehlo-name: .* is not a domain or an address literal/);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(server.connections()).toBe(0);
    });
  }

  it('good EHLO arguments are sent as given', async () => {
    for (const value of ['mx.example.com', '[192.0.2.7]', '[IPv6:2001:db8::7]']) {
      const port = await fixture({ protocol: 'smtp', tls: 'starttls' });
      const result = await (await import('../src/probe/port.js')).probePort({
        address: '127.0.0.1',
        family: 4,
        port,
        service: 'submission',
        servername: 'localhost',
        ehloName: value,
        limits: (await import('./helpers/probe.js')).testLimits,
      });
      expect(result.transcript.find((e) => e.dir === 'C')?.text).toBe(`EHLO ${value}`);
    }
  });

  it('the library refuses a bad ehloName or servername before connecting', async () => {
    const server = track(
      await (await import('../src/demo/servers.js')).startFixture({ protocol: 'smtp', tls: 'starttls' }),
    );
    const ports = [{ port: server.port, service: 'submission' as const }];
    await expect(probeHost('127.0.0.1', { ports, ehloName: 'x\r\nRCPT TO:<a@b>' })).rejects.toBeInstanceOf(
      UsageError,
    );
    await expect(probeHost('127.0.0.1', { ports, servername: 'bad\r\nname' })).rejects.toBeInstanceOf(
      UsageError,
    );
    expect(server.connections()).toBe(0);
  });

  it('--servername with a control character exits 2', async () => {
    const run = await cli(['127.0.0.1', '--ports', '587', '--servername', 'mail\u0007.example']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^mailprobe: --servername: 'mail\\u0007\.example' is not a host name/);
  });
});
