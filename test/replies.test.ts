import { describe, expect, it } from 'vitest';
import { CapError, ProtocolError } from '../src/errors.js';
import { NotThisProtocol } from '../src/protocols/dialogue.js';
import { imap } from '../src/protocols/imap.js';
import { pop3 } from '../src/protocols/pop3.js';
import { readSmtpReply, smtp, smtpCapabilities } from '../src/protocols/smtp.js';
import { chunkings, lockstepSession, scriptedSession } from './helpers/scripted.js';

const smtpReplies = [
  {
    name: 'multi-line',
    input: '250-mail.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n',
    code: 250,
    lines: ['mail.example', 'PIPELINING', 'STARTTLS'],
  },
  { name: 'bare LF line ends', input: '220-first\n220 second\n', code: 220, lines: ['first', 'second'] },
  { name: 'a bare code', input: '250\r\n', code: 250, lines: [''] },
  { name: 'mixed CRLF and LF', input: '250-a\r\n250-b\n250 c\r\n', code: 250, lines: ['a', 'b', 'c'] },
];

describe('SMTP reply reader', () => {
  for (const reply of smtpReplies) {
    it(`reads a ${reply.name} reply identically whatever the TCP chunking`, async () => {
      for (const way of chunkings(reply.input)) {
        const { session } = scriptedSession(way.chunks);
        await expect(readSmtpReply(session, 'greeting', 1000), way.name).resolves.toEqual({
          code: reply.code,
          lines: reply.lines,
        });
      }
    });
  }

  it('reads capabilities case-insensitively, including the old AUTH= form', () => {
    const caps = smtpCapabilities('EHLO', {
      code: 250,
      lines: ['host', 'starttls', 'Auth plain Login', 'AUTH=CRAM-MD5'],
    });
    expect(caps.starttls).toBe(true);
    expect(caps.authMechanisms).toEqual(['CRAM-MD5', 'LOGIN', 'PLAIN']);
  });

  it('rejects a reply whose code changes mid-reply', async () => {
    const { session } = scriptedSession(['250-a\r\n251 b\r\n']);
    await expect(readSmtpReply(session, 'capabilities', 1000)).rejects.toThrow(/code changed/);
  });

  it('rejects a malformed continuation line', async () => {
    const { session } = scriptedSession(['250-a\r\nhello\r\n']);
    await expect(readSmtpReply(session, 'capabilities', 1000)).rejects.toBeInstanceOf(ProtocolError);
  });

  it('names what answered when the first line is another protocol', async () => {
    const { session } = scriptedSession(['SSH-2.0-OpenSSH_9.2\r\n']);
    const error = await readSmtpReply(session, 'greeting', 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotThisProtocol);
    expect((error as NotThisProtocol).detected).toBe('ssh');
  });

  it('refuses an overlong line, keeps only the cap of it, and reads the next reply intact', async () => {
    const long = `250 ${'x'.repeat(10_000)}\r\n`;
    const { session } = scriptedSession([long, '250 next\r\n'], { lineBytes: 512 });
    await expect(readSmtpReply(session, 'capabilities', 1000)).rejects.toThrow(
      /a line longer than 512 bytes/,
    );
    expect(session.transcript.at(-1)).toMatchObject({ truncated: true });
    expect(session.transcript.at(-1)?.text).toHaveLength(512);
    await expect(readSmtpReply(session, 'capabilities', 1000)).resolves.toEqual({
      code: 250,
      lines: ['next'],
    });
  });

  it("blames its own cap, not the server, for a line the protocol allows: any IMAP line, SMTP's under 512", async () => {
    const imapLine = scriptedSession([`* OK ${'x'.repeat(5000)}\r\n`]).session;
    const error = await imap.greeting(imapLine).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CapError);
    expect(error).not.toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(
      /mailprobe's cap of 4096 bytes \(IMAP sets no line length limit/,
    );
    // Under a cap below SMTP's own 512 octets, a 300-byte reply line is within the protocol.
    const smtpLine = scriptedSession([`250 ${'x'.repeat(300)}\r\n`], { lineBytes: 100 }).session;
    const small = await readSmtpReply(smtpLine, 'capabilities', 1000).catch((e: unknown) => e);
    expect(small).toBeInstanceOf(CapError);
    expect((small as Error).message).toMatch(/mailprobe's cap of 100 bytes/);
  });

  it('blames the server only for a line longer than 512 octets with its CRLF, whatever the cap', async () => {
    const outcome = async (text: string, lineBytes: number) =>
      readSmtpReply(scriptedSession([`${text}\r\n`], { lineBytes }).session, 'capabilities', 1000).then(
        () => 'read',
        (error: unknown) =>
          error instanceof CapError ? 'cap' : error instanceof ProtocolError ? 'server' : 'other',
      );
    // 510 characters and CRLF are 512 octets: allowed, so a cap that cuts it is mailprobe's.
    const allowed = `250 ${'x'.repeat(506)}`;
    expect(await outcome(allowed, 509)).toBe('cap');
    expect(await outcome(allowed, 510)).toBe('cap');
    expect(await outcome(allowed, 511)).toBe('read');
    // 511 characters are one octet too many: a cap of 511 or more that cuts it shows the server's.
    const over = `250 ${'x'.repeat(507)}`;
    expect(await outcome(over, 510)).toBe('cap');
    expect(await outcome(over, 511)).toBe('server');
  });

  it('a cut first line that is not the protocol greeting is another protocol, not a line over a cap', async () => {
    for (const [name, greet, text, detected] of [
      ['IMAP', imap.greeting, `HTTP/1.1 400 Bad Request ${'x'.repeat(5000)}\r\n`, 'http'],
      ['POP3', pop3.greeting, `HTTP/1.1 400 Bad Request ${'x'.repeat(5000)}\r\n`, 'http'],
      ['SMTP', smtp.greeting, `SSH-2.0-${'x'.repeat(5000)}\r\n`, 'ssh'],
      ['IMAP, no line end', imap.greeting, `\u0016\u0003\u0001${'\u0000'.repeat(10_000)}`, 'tls'],
    ] as const) {
      const { session } = scriptedSession([text]);
      const error = await greet(session).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(NotThisProtocol);
      expect((error as NotThisProtocol).detected, name).toBe(detected);
    }
  });

  it("a POP3 message's line cut at the cap is mailprobe's cap: POP3 limits no line of a multi-line response", async () => {
    const { pop3Command } = await import('../src/protocols/mailbox.js');
    // A header line longer than RFC 5322's 998 characters is the message writer's doing, and read as it is.
    const header = `Subject: ${'x'.repeat(1500)}`;
    const read = scriptedSession(['+OK\r\n', `${header}\r\n.\r\n`]).session;
    await expect(pop3Command(read, 'TOP 1 0', true)).resolves.toMatchObject({ lines: [header] });
    for (const lineBytes of [600, 4096]) {
      const text = `Subject: ${'x'.repeat(lineBytes + 100)}`;
      const session = scriptedSession(['+OK\r\n', `${text}\r\n.\r\n`], { lineBytes }).session;
      const error = await pop3Command(session, 'TOP 1 0', true).catch((e: unknown) => e);
      expect(error, String(lineBytes)).toBeInstanceOf(CapError);
      expect((error as Error).message).toMatch(
        /POP3 sets no limit on the lines of a multi-line response, RFC 1939 §3/,
      );
    }
    // The status line is still held to POP3's 512 octets.
    const status = scriptedSession([`+OK ${'x'.repeat(5000)}\r\n`]).session;
    const bad = await pop3Command(status, 'TOP 1 0', true).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ProtocolError);
    expect(bad).not.toBeInstanceOf(CapError);
  });

  it("stops a reply past replyLines or replyBytes at its own cap: no mail protocol limits a reply's lines", async () => {
    for (const [name, limits, words] of [
      ['replyLines', { replyLines: 10 }, /a reply longer than mailprobe's cap of 10 lines/],
      ['replyBytes', { replyBytes: 60 }, /a reply larger than mailprobe's cap of 60 bytes/],
    ] as const) {
      const { session } = scriptedSession([`${'250-x\r\n'.repeat(20)}250 end\r\n`], limits);
      const error = await readSmtpReply(session, 'capabilities', 1000).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(CapError);
      expect(error).not.toBeInstanceOf(ProtocolError);
      expect((error as CapError).cap).toBe(name);
      expect((error as Error).message).toMatch(words);
      expect((error as Error).message).toMatch(/not the lines of a reply, RFC 5321 §4\.5\.3\.1\.5/);
      expect((error as Error).message).toContain(`--limit ${name}=N`);
    }
    // POP3 and IMAP alike: a CAPA list and untagged responses past the cap.
    const capa = scriptedSession([`+OK\r\n${'TOP\r\n'.repeat(20)}.\r\n`], { replyLines: 10 }).session;
    const pop = await pop3.capabilities(capa, { ehloName: '' }).catch((e: unknown) => e);
    expect((pop as Error).message).toMatch(/cap of 10 lines \(POP3 sets no limit .*RFC 1939 §3\)/);
    const untagged = scriptedSession([`${'* 1 EXISTS\r\n'.repeat(20)}mp1 OK\r\n`], {
      replyLines: 10,
    }).session;
    const many = await imap.capabilities(untagged, { ehloName: '' }).catch((e: unknown) => e);
    expect(many).toBeInstanceOf(CapError);
    expect((many as Error).message).toMatch(/cap of 10 lines \(IMAP sets no limit .*RFC 9051 §2\.2\.2\)/);
  });

  it('sends HELO only after EHLO is answered 500 or 502', async () => {
    const { session, written } = lockstepSession('', ['502 5.5.1 unknown\r\n', '250 ok\r\n']);
    const caps = await smtp.capabilities(session, { ehloName: '[127.0.0.1]' });
    expect(written).toEqual(['EHLO [127.0.0.1]\r\n', 'HELO [127.0.0.1]\r\n']);
    expect(caps.command).toBe('HELO');
  });

  it('never pairs a reply that was already waiting with the next command', async () => {
    // The second reply arrives with the first, before HELO is written: it answers nothing.
    const { session } = scriptedSession(['502 5.5.1 unknown\r\n250 early\r\n']);
    await expect(smtp.capabilities(session, { ehloName: '[127.0.0.1]' })).rejects.toThrow();
    expect(session.unsolicited).toEqual(['250 early']);
    expect(session.transcript.find((entry) => entry.text === '250 early')).toMatchObject({
      unsolicited: true,
    });
  });

  it('tells 421 and 554 greetings apart from 220', async () => {
    for (const [input, kind] of [
      ['220 ok\r\n', 'ok'],
      ['421 busy\r\n', 'refused'],
      ['554 no\r\n', 'refused'],
    ] as const) {
      const { session } = scriptedSession([input]);
      await expect(smtp.greeting(session)).resolves.toMatchObject({ kind });
    }
  });
});

describe('IMAP response reader', () => {
  const cases = [
    {
      name: 'untagged capability then tagged OK',
      input: '* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nmp1 OK done\r\n',
      expect: { starttls: true, plaintextLogin: false, authMechanisms: [] },
    },
    {
      name: 'mixed case',
      input: '* capability imap4rev1 StartTLS auth=plain\r\nmp1 ok done\r\n',
      expect: { starttls: true, plaintextLogin: true, authMechanisms: ['PLAIN'] },
    },
    {
      name: 'a literal inside an untagged response',
      input: '* ID ("name" {5}\r\nab\r\nc)\r\n* CAPABILITY IMAP4rev1\r\nmp1 OK\r\n',
      expect: { starttls: false, plaintextLogin: true, authMechanisms: [] },
    },
    { name: 'bare LF', input: '* CAPABILITY IMAP4rev1 STARTTLS\nmp1 OK\n', expect: { starttls: true } },
  ];
  for (const test of cases) {
    it(`reads ${test.name} identically whatever the chunking`, async () => {
      for (const way of chunkings(test.input)) {
        const { session, written } = scriptedSession(way.chunks);
        await expect(imap.capabilities(session, { ehloName: '' }), way.name).resolves.toMatchObject(
          test.expect,
        );
        expect(written).toEqual(['mp1 CAPABILITY\r\n']);
      }
    });
  }

  it('stops at a literal above its own cap without buffering it; past number64 it is a protocol error', async () => {
    const { session } = scriptedSession(['* X {4294967296}\r\n']);
    const error = await imap.capabilities(session, { ehloName: '' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CapError);
    expect((error as CapError).cap).toBe('literalBytes');
    expect((error as Error).message).toMatch(
      /an IMAP literal of 4294967296 bytes, larger than mailprobe's cap of 65536 bytes \(RFC 9051 allows .*2\^63-1/,
    );
    expect((error as Error).message).toContain('--limit literalBytes=N');
    // 2^63 octets: more than RFC 9051's number64 can say (RFC 9051 §9), the server's violation.
    const huge = scriptedSession(['* X {9223372036854775808}\r\n']).session;
    const over = await imap.capabilities(huge, { ehloName: '' }).catch((e: unknown) => e);
    expect(over).toBeInstanceOf(ProtocolError);
    expect((over as Error).message).toMatch(/larger than RFC 9051 allows/);
  });

  it('refuses a response with another tag', async () => {
    const { session } = scriptedSession(['zz9 OK done\r\n']);
    await expect(imap.capabilities(session, { ehloName: '' })).rejects.toThrow(/expected tag mp1/);
  });

  it('uses a new tag for each command', async () => {
    const { session, written } = lockstepSession('', ['mp1 OK\r\n', 'mp2 OK begin\r\n']);
    await imap.capabilities(session, { ehloName: '' });
    await imap.startTls(session);
    expect(written).toEqual(['mp1 CAPABILITY\r\n', 'mp2 STARTTLS\r\n']);
  });

  it('reads OK, PREAUTH and BYE greetings', async () => {
    for (const [input, kind] of [
      ['* OK ready\r\n', 'ok'],
      ['* PREAUTH hi\r\n', 'preauth'],
      ['* BYE full\r\n', 'refused'],
    ] as const) {
      const { session } = scriptedSession([input]);
      await expect(imap.greeting(session)).resolves.toMatchObject({ kind });
    }
  });
});

describe('POP3 response reader', () => {
  it('reads a CAPA list with dot-stuffing whatever the chunking', async () => {
    const input = '+OK list follows\r\nSTLS\r\nuser\r\nSASL PLAIN LOGIN\r\n..odd\r\n.\r\n';
    for (const way of chunkings(input)) {
      const { session } = scriptedSession(way.chunks);
      const caps = await pop3.capabilities(session, { ehloName: '' });
      expect(caps, way.name).toMatchObject({
        ok: true,
        starttls: true,
        plaintextLogin: true,
        authMechanisms: ['LOGIN', 'PLAIN'],
      });
      expect(caps.list.at(-1)).toBe('.odd');
    }
  });

  it('reads the APOP timestamp of a greeting (RFC 1939 §7), and only a msg-id as one', async () => {
    for (const [input, timestamp] of [
      [
        '+OK Dovecot (Debian) ready. <32ba.2.6b161b82.HvKyaWtbvIc+lkE0AhQ/wg==@vm>\r\n',
        '<32ba.2.6b161b82.HvKyaWtbvIc+lkE0AhQ/wg==@vm>',
      ],
      ['+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n', '<1896.697170952@dbc.mtview.ca.us>'],
      ['+OK ready\r\n', undefined],
      ['+OK write to <postmaster> please\r\n', undefined],
      ['-ERR busy <1.2@host>\r\n', undefined],
    ] as const) {
      const { session } = scriptedSession([input]);
      expect((await pop3.greeting(session)).apopTimestamp, input).toBe(timestamp);
    }
  });

  it('tolerates CAPA answered -ERR', async () => {
    const { session } = scriptedSession(['-ERR unknown command\r\n']);
    await expect(pop3.capabilities(session, { ehloName: '' })).resolves.toMatchObject({
      ok: false,
      starttls: false,
      list: [],
    });
  });

  it('stops a CAPA list that never ends', async () => {
    const { session } = scriptedSession([`+OK\r\n${'X\r\n'.repeat(400)}`]);
    await expect(pop3.capabilities(session, { ehloName: '' })).rejects.toThrow(/longer than/);
  });
});
