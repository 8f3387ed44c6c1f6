/**
 * The secret in no output, whatever the server echoes: an echo cut short by an error's 80 characters, split over
 * reply lines, or a secret so short that it stands inside other words. Scripted servers on loopback only.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { tlsFile } from '../src/demo/servers.js';
import { defaultLimits } from '../src/limits.js';
import { tryLogin } from '../src/probe/login.js';
import { type Credential, scrubber, secretForms } from '../src/protocols/secret.js';
import { replyLineWords, replyText } from '../src/protocols/smtp.js';
import { trustFrom } from '../src/tls/trust.js';
import type { PortResult } from '../src/types/index.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const long: Credential = {
  user: 'alice.with-a-rather-long-name@example.test',
  secret: 'S3cret"pass\\word!',
  kind: 'password',
};
const plain = (c: Credential) => b64(`\0${c.user}\0${c.secret}`);

/** Every form of the secret the wire carries, each with and without its padding. */
const wireForms = (c: Credential) => [
  ...secretForms(c),
  plain(c),
  b64(c.secret),
  plain(c).replace(/=+$/, ''),
  b64(c.secret).replace(/=+$/, ''),
];

/** Whether `text` holds 8 characters of any form of the secret, or base64 that decodes to 6 of the secret's. */
function leaks(text: string, c: Credential): string | undefined {
  for (const form of wireForms(c))
    for (let at = 0; at + 8 <= form.length; at++)
      if (text.includes(form.slice(at, at + 8))) return `holds ${form.slice(at, at + 8)}`;
  const pieces = [...Array(Math.max(0, c.secret.length - 5)).keys()].map((at) => c.secret.slice(at, at + 6));
  for (const [run] of text.matchAll(/[A-Za-z0-9+/]{4,}/g))
    for (let offset = 0; offset < 4; offset++) {
      const decoded = Buffer.from(
        run.slice(offset, offset + Math.floor((run.length - offset) / 4) * 4),
        'base64',
      );
      const words = decoded.toString('latin1');
      const hit = pieces.find((piece) => words.includes(piece));
      if (hit) return `decodes to ${hit}`;
    }
  return undefined;
}

const servers: net.Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** An implicit-TLS SMTP server (the test CA's localhost certificate) that answers AUTH with `answer`. */
function submission(answer: (line: string) => string): Promise<number> {
  const server = tls.createServer({ key: tlsFile('server.key'), cert: tlsFile('server.pem') }, (socket) => {
    socket.on('error', () => {});
    socket.write('220 rec ESMTP\r\n');
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^EHLO/i.test(line)) socket.write('250-rec\r\n250 AUTH PLAIN LOGIN\r\n');
        else if (/^QUIT/i.test(line)) {
          socket.write('221 bye\r\n');
          socket.end();
        } else socket.write(answer(line));
      }
    });
  });
  servers.push(server as unknown as net.Server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

const port = (tcp: number): PortResult => ({
  port: tcp,
  service: 'submissions',
  protocol: 'smtp',
  expectedTls: 'implicit',
  address: '127.0.0.1',
  family: 4,
  status: 'open',
  statusDetail: '',
  startedAt: new Date().toISOString(),
  timings: { total: 1 },
  transcript: [],
});
const target = {
  servername: 'localhost',
  trust: trustFrom(tlsFile('ca.pem')),
  limits: { ...defaultLimits, connectMs: 2000, tlsMs: 2000, greetingMs: 2000, replyMs: 2000 },
};

/** Logs in on a server that answers AUTH with `answer`; every text kept (JSON's, and so every format's). */
async function kept(c: Credential, answer: (line: string) => string) {
  const p = port(await submission(answer));
  const facts = await tryLogin(p, { credential: c }, target);
  return { facts, texts: [JSON.stringify(facts), ...p.transcript.map((e) => e.text)] };
}

describe('an echo of the secret', () => {
  it('cut short by a malformed line kept to 80 characters is scrubbed: no piece of it, nothing that decodes to it', async () => {
    const { facts, texts } = await kept(long, (line) =>
      line.startsWith('AUTH PLAIN ') ? `535-5.7.8 no\r\nOOPS ${line.slice(11)}\r\n` : '502 no\r\n',
    );
    expect(facts).toMatchObject({
      outcome: 'error',
      why: expect.stringMatching(/^malformed SMTP reply line/),
    });
    // The error keeps the line cut short: the base64 without its end, which the whole forms did not match.
    expect(facts.why).toContain('OOPS <secret>');
    for (const text of texts) expect(leaks(text, long), text).toBeUndefined();
  });

  it('split over two reply lines is scrubbed in both halves', async () => {
    const { facts, texts } = await kept(long, (line) => {
      if (!line.startsWith('AUTH PLAIN ')) return '502 no\r\n';
      const echo = line.slice(11);
      const half = Math.floor(echo.length / 2) + 1;
      return `535-5.7.8 bad ${echo.slice(0, half)}\r\n535 5.7.8 ${echo.slice(half)}\r\n`;
    });
    expect(facts).toMatchObject({ outcome: 'rejected', reply: '535 5.7.8 bad <secret> 5.7.8 <secret>' });
    for (const text of texts) expect(leaks(text, long), text).toBeUndefined();
  });

  it('of the bare password, cut off at the end, is scrubbed however short; cut at its start, from 8 characters on', () => {
    const scrub = scrubber(long);
    for (let cut = 1; cut <= long.secret.length; cut++)
      expect(scrub(`-ERR no such password: ${long.secret.slice(0, cut)}`)).toBe(
        '-ERR no such password: <secret>',
      );
    for (let cut = 0; cut + 8 <= long.secret.length; cut++)
      expect(scrub(`NO ${long.secret.slice(cut)}`)).toBe('NO <secret>');
  });

  it('of an encoding, cut off at the end of a reply after 1 to 3 characters (up to 2 bytes of the secret), is scrubbed', () => {
    const scrub = scrubber(long);
    for (const form of [b64(long.secret), long.secret])
      for (let cut = 1; cut <= form.length; cut++) {
        const echo = form.slice(0, cut);
        expect(scrub(`535 5.7.8 bad ${echo}`), echo).toBe('535 5.7.8 bad <secret>');
        // An error keeps 80 characters of a line, quoted: the cut echo then stands before the closing quote
        // (which goes too when the secret's next character is a quote: it may be the secret's).
        expect(scrub(`malformed SMTP reply line: ${JSON.stringify(`OOPS ${echo}`)}`), echo).toMatch(
          /^malformed SMTP reply line: "OOPS <secret>"?$/,
        );
      }
  });

  it('its first or last 1 to 3 characters alone on a malformed line: the error quoting that line keeps none', async () => {
    const password = (line: string) =>
      b64(Buffer.from(line.slice(11), 'base64').toString('utf8').split('\0')[2] ?? '');
    for (const piece of [(echo: string) => echo.slice(0, 3), (echo: string) => echo.slice(-3)]) {
      const { facts, texts } = await kept(long, (line) =>
        line.startsWith('AUTH PLAIN ') ? `535-5.7.8 no\r\n${piece(password(line))}\r\n` : '502 no\r\n',
      );
      expect(facts).toMatchObject({ outcome: 'error', why: 'malformed SMTP reply line: "<secret>"' });
      expect(texts.filter((text) => text.includes('malformed'))).toEqual([
        expect.stringContaining('"why":"malformed SMTP reply line: \\"<secret>\\""'),
      ]);
    }
  });

  it('cut off after 1 to 3 characters at the end of a reply, through a login, leaves nothing of the secret', async () => {
    const password = (line: string) =>
      Buffer.from(line.slice(11), 'base64').toString('utf8').split('\0')[2] ?? '';
    for (const echo of [
      (line: string) => password(line).slice(0, 3),
      (line: string) => b64(password(line)).slice(0, 1),
      (line: string) => b64(password(line)).slice(0, 3),
    ]) {
      const { facts, texts } = await kept(long, (line) =>
        line.startsWith('AUTH PLAIN ') ? `535 5.7.8 no such password: ${echo(line)}\r\n` : '502 no\r\n',
      );
      expect(facts).toMatchObject({ outcome: 'rejected', reply: '535 5.7.8 no such password: <secret>' });
      expect(texts.filter((text) => text.includes('no such password'))).toEqual([
        expect.stringContaining('"reply":"535 5.7.8 no such password: <secret>"'),
        '535 5.7.8 no such password: <secret>',
      ]);
    }
  });

  it('keeps ordinary last words: a reply that ends in a short word is not taken for a cut-off echo', () => {
    const scrub = scrubber(long);
    const [raw, encoded] = [long.secret, b64(long.secret)];
    for (const words of [
      '+OK Logged in.',
      'mpl1 OK Logged in',
      '221 2.0.0 Bye',
      '454 4.7.0 Try again in 5',
      '535 5.7.8 Error: authentication failed: (reason unavailable)',
      '-ERR [AUTH] Authentication failed.',
      // The first characters of the PLAIN, XOAUTH2 and OAUTHBEARER base64 carry only the user name.
      '250 2.0.0 Ok: queued as A',
      `535 5.7.8 ${b64(`\0${long.user}`).slice(0, 3)}`,
      `-ERR ${b64(`user=${long.user}`).slice(0, 3)}`,
      `-ERR ${b64(`n,a=${long.user}`).slice(0, 3)}`,
      // The first characters of the secret, but not at the end, or not a word of their own.
      `NO ${raw.slice(0, 2)} is not it`,
      `535 5.7.8 ${encoded.slice(0, 3)} and more`,
      `-ERR X${raw.slice(0, 3)}`,
      `535 5.7.8 bad${encoded.slice(0, 2)}`,
    ])
      expect(scrub(words)).toBe(words);
  });

  it('keeps what is no echo: the server words, the user name on its own', () => {
    const scrub = scrubber(long);
    const words = `535 5.7.8 Error: authentication failed for ${long.user} (${b64(long.user)})`;
    expect(scrub(words)).toBe(words);
  });
});

describe('an echo split over reply lines', () => {
  const scrub = scrubber(long);
  /** The lines as one reply, as the login and the round trip keep it (`reply`, `acceptReply`), scrubbed. */
  const joined = (lines: string[]) => {
    const reply = replyText({ code: 535, lines });
    return scrub(reply.text, reply.lines);
  };
  /** Each line as the transcript keeps it, scrubbed. */
  const transcript = (lines: string[]) =>
    lines.map((line, index) => {
      const text = `535${index === lines.length - 1 ? ' ' : '-'}${line}`;
      return scrub(text, replyLineWords(text));
    });

  it('whose first part is 1 to 3 characters is scrubbed in the middle of the joined reply, as at the end of its line', () => {
    for (const form of [b64(long.secret), long.secret])
      for (let cut = 1; cut <= 3; cut++) {
        const lines = [`5.7.8 bad ${form.slice(0, cut)}`, `5.7.8 ${form.slice(cut)}`];
        expect(transcript(lines), form.slice(0, cut)).toEqual([
          '535-5.7.8 bad <secret>',
          '535 5.7.8 <secret>',
        ]);
        expect(joined(lines), form.slice(0, cut)).toBe('535 5.7.8 bad <secret> 5.7.8 <secret>');
      }
  });

  it('whose last part is 1 to 3 characters (7 of the bare password) is scrubbed at the start of its line and in the joined reply', () => {
    for (const [form, most] of [
      [b64(long.secret), 3],
      [plain(long), 3],
      [long.secret, 7],
    ] as const)
      for (let cut = 1; cut <= most; cut++) {
        const tail = form.slice(-cut);
        const lines = [`5.7.8 bad ${form.slice(0, -cut)}`, `${tail} try again`];
        // The base64 padding alone carries none of the secret: it stays.
        const shown = /^=+$/.test(tail) ? tail : '<secret>';
        expect(transcript(lines), tail).toEqual(['535-5.7.8 bad <secret>', `535 ${shown} try again`]);
        expect(joined(lines), tail).toBe(`535 5.7.8 bad <secret> ${shown} try again`);
      }
  });

  it('through a login, in two or in a closing reply, leaves none of it in the reply or the transcript', async () => {
    const password = (line: string) =>
      b64(Buffer.from(line.slice(11), 'base64').toString('utf8').split('\0')[2] ?? '');
    for (const [answer, reply, lines] of [
      [
        (echo: string) => `535-5.7.8 bad ${echo.slice(0, 2)}\r\n535 5.7.8 ${echo.slice(2)}\r\n`,
        '535 5.7.8 bad <secret> 5.7.8 <secret>',
        ['535-5.7.8 bad <secret>', '535 5.7.8 <secret>'],
      ],
      [
        (echo: string) => `535-5.7.8 bad ${echo.slice(0, -3)}\r\n535 ${echo.slice(-3)} 5.7.8 try again\r\n`,
        '535 5.7.8 bad <secret> <secret> 5.7.8 try again',
        ['535-5.7.8 bad <secret>', '535 <secret> 5.7.8 try again'],
      ],
      [
        (echo: string) => `421-4.7.0 bad ${echo.slice(0, 3)}\r\n421 4.7.0 ${echo.slice(3)}\r\n`,
        'the server is closing the service: 421 4.7.0 bad <secret> 421 4.7.0 <secret>',
        ['421-4.7.0 bad <secret>', '421 4.7.0 <secret>'],
      ],
    ] as const) {
      const { facts, texts } = await kept(long, (line) =>
        line.startsWith('AUTH PLAIN ') ? answer(password(line)) : '502 no\r\n',
      );
      expect(facts.reply).toBe(reply);
      expect(texts.filter((text) => /^4\d\d|^5\d\d/.test(text) && text.includes('bad'))).toEqual([lines[0]]);
      expect(texts).toContain(lines[1]);
    }
  });

  it('keeps ordinary short words at the ends of the lines: only the first or last characters of the secret go', () => {
    const lines = [
      '5.7.8 Authentication failed',
      'ok',
      'A',
      'Bye',
      'Try again in 5',
      'SIZE 10240000',
      '8BITMIME',
      'queued as A',
      '5.7.0 =',
      // The first characters of the PLAIN base64 carry only the user name; the padding, nothing.
      `${b64(`\0${long.user}`).slice(0, 3)}`,
      '== padding',
      // The first or last characters of the secret, but not a word of their own.
      `bad${b64(long.secret).slice(0, 2)}`,
      `${long.secret.slice(-2)}x and more`,
    ];
    expect(transcript(lines)).toEqual(
      lines.map((line, index) => `535${index === lines.length - 1 ? ' ' : '-'}${line}`),
    );
    expect(joined(lines)).toBe(`535 ${lines.join(' ')}`);
  });
});

describe('a secret shorter than 8 characters', () => {
  const one: Credential = { user: 'alice@example.test', secret: '5', kind: 'password' };
  const short: Credential = { user: 'alice@example.test', secret: 'ab1', kind: 'password' };

  it('is scrubbed only where it stands as a word of its own, so other words stay whole', () => {
    expect(scrubber(one)('535 5.7.8 Error: authentication failed')).toBe(
      '535 5.7.8 Error: authentication failed',
    );
    expect(scrubber(one)('-ERR bad password "5"')).toBe('-ERR bad password "<secret>"');
    expect(scrubber(short)('-ERR tab1 is not ab1')).toBe('-ERR tab1 is not <secret>');
    // Cut off at the end: its first characters as a word of their own there.
    expect(scrubber(short)('-ERR no such password: ab')).toBe('-ERR no such password: <secret>');
    expect(scrubber(short)('-ERR tab')).toBe('-ERR tab');
  });

  it('its encodings are scrubbed all the same', () => {
    const text = `535 5.7.8 bad ${b64(short.secret)} ${plain(short)}`;
    expect(scrubber(short)(text)).toBe('535 5.7.8 bad <secret> <secret>');
  });

  it('a login whose server echoes it keeps its words whole', async () => {
    const { facts } = await kept(one, () => '535 5.7.8 Error: authentication failed\r\n');
    expect(facts).toMatchObject({ outcome: 'rejected', reply: '535 5.7.8 Error: authentication failed' });
  });
});
