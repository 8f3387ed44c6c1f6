/**
 * The login check's wire exchanges and judgements against scripted servers (what is sent, what the transcript
 * shows instead of the secret, how each reply is read), its options as a user types them, and the bytes a run
 * sends on the wire with and without the new options. The real-server cases are in test/login-real.test.ts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { secretFileBytes } from '../src/cli/login-options.js';
import { tlsFile } from '../src/demo/servers.js';
import { parseExpectDocument, parseExpectFlag } from '../src/expect/parse.js';
import { defaultLimits } from '../src/limits.js';
import { runRoundTrip } from '../src/modes/roundtrip.js';
import { runLogins, tryLogin } from '../src/probe/login.js';
import { logIn, loginWays } from '../src/protocols/login.js';
import { queueIdOf } from '../src/protocols/mailbox.js';
import { type Credential, scrubber, secretForms } from '../src/protocols/secret.js';
import { trustFrom } from '../src/tls/trust.js';
import type { Capabilities, HostResult, PortResult } from '../src/types/index.js';
import { cli, mainScript, root } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';
import { validReport } from './helpers/schema.js';
import { lockstepSession } from './helpers/scripted.js';

const password: Credential = { user: 'alice@example.test', secret: 'S3cret"pass\\word', kind: 'password' };
const token: Credential = { user: 'alice@example.test', secret: 'ya29.bearer-token-xyz', kind: 'token' };
const b64 = (text: string) => Buffer.from(text).toString('base64');
const { fixture } = fixtureServers();

const caps = (over: Partial<Capabilities>): Capabilities => ({
  command: 'EHLO',
  ok: true,
  list: [],
  starttls: false,
  authMechanisms: [],
  plaintextLogin: false,
  ...over,
});

/** Runs the built CLI under a 2 GB address-space limit, killed after 10 s. */
function limited(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'sh',
      ['-c', 'ulimit -v 2000000; exec "$@"', 'sh', process.execPath, mainScript, ...args],
      { timeout: 10_000, killSignal: 'SIGKILL' },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

/** Nothing written or recorded holds any form of the secret, but the wire does where it must. */
function secretFree(texts: string[], c: Credential) {
  for (const form of secretForms(c)) for (const text of texts) expect(text).not.toContain(form);
}

describe('the login exchanges', () => {
  it('SMTP AUTH PLAIN sends the RFC 4616 message as an initial response; the transcript hides it', async () => {
    const { session, written } = lockstepSession('', ['235 2.7.0 Authentication successful\r\n']);
    const answer = await logIn('smtp', session, 'PLAIN', password, caps({ authMechanisms: ['PLAIN'] }));
    expect(answer).toMatchObject({ outcome: 'works', mechanism: 'AUTH PLAIN' });
    expect(written).toEqual([`AUTH PLAIN ${b64(`\0${password.user}\0${password.secret}`)}\r\n`]);
    expect(session.transcript[0]?.text).toBe('AUTH PLAIN <credentials, base64: 48 bytes, not shown>');
    secretFree(
      session.transcript.map((e) => e.text),
      password,
    );
  });

  it('SMTP AUTH LOGIN: the user and the password each after a 334; 535 is a rejection', async () => {
    const { session, written } = lockstepSession('', [
      '334 VXNlcm5hbWU6\r\n',
      '334 UGFzc3dvcmQ6\r\n',
      '535 5.7.8 Error: authentication failed\r\n',
    ]);
    const answer = await logIn('smtp', session, 'LOGIN', password, caps({ authMechanisms: ['LOGIN'] }));
    expect(answer).toMatchObject({ outcome: 'rejected', reply: '535 5.7.8 Error: authentication failed' });
    expect(written).toEqual(['AUTH LOGIN\r\n', `${b64(password.user)}\r\n`, `${b64(password.secret)}\r\n`]);
    secretFree(
      session.transcript.map((e) => e.text),
      password,
    );
  });

  it.each([
    ['534-5.7.9 Application-specific password required.\r\n534 5.7.9 Learn more\r\n', 'app-password'],
    [
      '534-5.7.14 <https://accounts.example> Please log in via your web browser\r\n534 5.7.14 then try again\r\n',
      'app-password',
    ],
    ['454 4.7.0 Temporary authentication failure\r\n', 'locked'],
    ['450 4.7.1 Error: too many AUTH commands from 127.0.0.2\r\n', 'locked'],
    ['421 4.7.0 mail.test Error: too many errors\r\n', 'locked'],
    ['504 5.5.4 Unrecognized authentication type\r\n', 'not-offered'],
    ['535 5.7.8 Error: authentication failed\r\n', 'rejected'],
  ])('SMTP reply %j reads as %s', async (reply, outcome) => {
    const { session } = lockstepSession('', [reply]);
    const answer = await logIn('smtp', session, 'PLAIN', password, caps({ authMechanisms: ['PLAIN'] }));
    expect(answer.outcome).toBe(outcome);
  });

  it('SMTP XOAUTH2: the error challenge is answered with an empty line, then the refusal is read', async () => {
    const { session, written } = lockstepSession('', [
      `334 ${b64('{"status":"401"}')}\r\n`,
      '535 5.7.8 Username and Password not accepted\r\n',
    ]);
    const answer = await logIn('smtp', session, 'XOAUTH2', token, caps({ authMechanisms: ['XOAUTH2'] }));
    expect(answer.outcome).toBe('rejected');
    expect(written[0]).toBe(
      `AUTH XOAUTH2 ${b64(`user=${token.user}\u0001auth=Bearer ${token.secret}\u0001\u0001`)}\r\n`,
    );
    expect(written[1]).toBe('\r\n');
    secretFree(
      session.transcript.map((e) => e.text),
      token,
    );
  });

  it('IMAP LOGIN sends the password as a literal after the continuation; [AUTHENTICATIONFAILED] is a rejection', async () => {
    const { session, written } = lockstepSession('', [
      '+ OK\r\n',
      'mpl1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n',
    ]);
    const answer = await logIn('imap', session, 'LOGIN command', password, caps({ plaintextLogin: true }));
    expect(answer).toMatchObject({ outcome: 'rejected', mechanism: 'LOGIN' });
    expect(written).toEqual([
      `mpl1 LOGIN "alice@example.test" {${password.secret.length}}\r\n`,
      `${password.secret}\r\n`,
    ]);
    expect(session.transcript.map((e) => e.text)).toContain(
      `<password, IMAP literal: ${password.secret.length} bytes, not shown>`,
    );
    secretFree(
      session.transcript.map((e) => e.text),
      password,
    );
  });

  it('IMAP AUTHENTICATE PLAIN with SASL-IR; [UNAVAILABLE] is a lock, OK works', async () => {
    const offered = caps({ list: ['IMAP4rev1', 'SASL-IR', 'AUTH=PLAIN'], authMechanisms: ['PLAIN'] });
    const locked = lockstepSession('', ['mpl1 NO [UNAVAILABLE] Temporary authentication failure.\r\n']);
    expect((await logIn('imap', locked.session, 'PLAIN', password, offered)).outcome).toBe('locked');
    expect(locked.written[0]).toMatch(/^mpl1 AUTHENTICATE PLAIN [A-Za-z0-9+/=]+\r\n$/);
    const works = lockstepSession('', ['mpl1 OK Logged in\r\n']);
    expect((await logIn('imap', works.session, 'PLAIN', password, offered)).outcome).toBe('works');
    const web = lockstepSession('', ['mpl1 NO [WEBALERT https://x.example/] Web login required\r\n']);
    expect((await logIn('imap', web.session, 'PLAIN', password, offered)).outcome).toBe('app-password');
  });

  it('POP3 USER/PASS and AUTH PLAIN; -ERR [AUTH] is a rejection, [IN-USE] a lock', async () => {
    const user = lockstepSession('', ['+OK\r\n', '-ERR [AUTH] Authentication failed.\r\n']);
    expect(
      (await logIn('pop3', user.session, 'USER', password, caps({ plaintextLogin: true }))).outcome,
    ).toBe('rejected');
    expect(user.written).toEqual([`USER ${password.user}\r\n`, `PASS ${password.secret}\r\n`]);
    expect(user.session.transcript.map((e) => e.text)).toContain(
      `PASS <password: ${Buffer.byteLength(password.secret)} bytes, not shown>`,
    );
    secretFree(
      user.session.transcript.map((e) => e.text),
      password,
    );
    const plain = lockstepSession('', ['+ \r\n', '-ERR [IN-USE] Mailbox locked\r\n']);
    expect(
      (await logIn('pop3', plain.session, 'PLAIN', password, caps({ authMechanisms: ['PLAIN'] }))).outcome,
    ).toBe('locked');
    expect(plain.written).toEqual(['AUTH PLAIN\r\n', `${b64(`\0${password.user}\0${password.secret}`)}\r\n`]);
  });

  it('IMAP AUTHENTICATE without SASL-IR sends the response after the continuation', async () => {
    const { session, written } = lockstepSession('', ['+ \r\n', 'mpl1 OK Logged in\r\n']);
    const offered = caps({ list: ['IMAP4rev1', 'AUTH=PLAIN'], authMechanisms: ['PLAIN'] });
    expect((await logIn('imap', session, 'PLAIN', password, offered)).outcome).toBe('works');
    expect(written).toEqual([
      'mpl1 AUTHENTICATE PLAIN\r\n',
      `${b64(`\0${password.user}\0${password.secret}`)}\r\n`,
    ]);
    secretFree(
      session.transcript.map((e) => e.text),
      password,
    );
  });

  it('a challenge after the whole PLAIN credential is cancelled with *, never answered with more', async () => {
    const { session, written } = lockstepSession('', ['334 \r\n', '501 5.7.0 Authentication aborted\r\n']);
    const answer = await logIn('smtp', session, 'PLAIN', password, caps({ authMechanisms: ['PLAIN'] }));
    expect(written[1]).toBe('*\r\n');
    expect(answer.outcome).toBe('rejected');
  });

  it.each([
    ['smtp', 'PLAIN', '334 \r\n', ['AUTH PLAIN', '*']],
    ['smtp', 'LOGIN', '334 \r\n', ['AUTH LOGIN', 'user', 'password', '*']],
    ['smtp', 'XOAUTH2', '334 \r\n', ['AUTH XOAUTH2', '']],
    ['imap', 'PLAIN', '+ \r\n', ['mpl1 AUTHENTICATE PLAIN', '*']],
    ['imap', 'LOGIN command', '+ \r\n', ['mpl1 LOGIN', 'password']],
    ['pop3', 'PLAIN', '+ \r\n', ['AUTH PLAIN', 'credentials', '*']],
  ] as const)(
    '%s %s: a server that asks for more forever gave no final answer, an error, not a refusal',
    async (protocol, way, ask, steps) => {
      const { session, written } = lockstepSession('', Array(8).fill(ask));
      const c = way === 'XOAUTH2' ? token : password;
      const offered = caps({ list: ['SASL-IR'], authMechanisms: [way], plaintextLogin: true });
      await expect(logIn(protocol, session, way, c, offered)).rejects.toThrow(
        /^no final answer to the credential: the server still asked for more \(\+?(334)? ?\)$/,
      );
      // The credential once, then the answer that ends the exchange; nothing more.
      expect(written).toHaveLength(steps.length);
    },
  );

  it('picks the mechanism as a mail client does', () => {
    expect(loginWays('smtp', caps({ authMechanisms: ['LOGIN', 'PLAIN', 'XOAUTH2'] }), 'password')).toEqual([
      'PLAIN',
      'LOGIN',
    ]);
    expect(loginWays('smtp', caps({ authMechanisms: ['LOGIN', 'PLAIN', 'XOAUTH2'] }), 'token')).toEqual([
      'XOAUTH2',
    ]);
    expect(loginWays('imap', caps({ authMechanisms: ['LOGIN'], plaintextLogin: true }), 'password')).toEqual([
      'LOGIN command',
    ]);
    expect(loginWays('pop3', caps({ authMechanisms: [], plaintextLogin: true }), 'password')).toEqual([
      'USER',
    ]);
    expect(loginWays('imap', caps({ authMechanisms: ['PLAIN'] }), 'token')).toEqual([]);
  });

  it('scrubs every form of the secret from a server text that echoes it', () => {
    const scrub = scrubber(password);
    const echoed = `NO bad: ${password.secret} / ${b64(password.secret)} / ${b64(`\0${password.user}\0${password.secret}`)}`;
    expect(scrub(echoed)).toBe('NO bad: <secret> / <secret> / <secret>');
  });

  it('reads a queue id from the final reply to DATA', () => {
    expect(queueIdOf('250 2.0.0 Ok: queued as 97051212CB7')).toBe('97051212CB7');
    expect(queueIdOf('250 OK id=1qXyZ-0001Ab-Cd')).toBe('1qXyZ-0001Ab-Cd');
    expect(queueIdOf('250 ok')).toBeUndefined();
  });
});

describe('the lockout rules without a connection', () => {
  const port = (over: Partial<PortResult>): PortResult => ({
    port: 993,
    service: 'imaps',
    protocol: 'imap',
    expectedTls: 'implicit',
    address: '127.0.0.1',
    family: 4,
    status: 'open',
    statusDetail: '',
    startedAt: new Date().toISOString(),
    timings: { total: 1 },
    transcript: [],
    ...over,
  });

  it('sends nothing where the probe saw no TLS, an untrusted chain or a wrong name, and never on 25', async () => {
    const ports = [
      port({ port: 25, service: 'smtp', protocol: 'smtp', expectedTls: 'starttls' }),
      port({ port: 143, service: 'imap', expectedTls: 'starttls' }),
      port({
        tls: {
          protocol: 'TLSv1.3',
          cipher: 'x',
          trusted: false,
          trustError: 'self-signed',
          checkedName: 'h',
          nameMatches: true,
        },
      }),
      port({
        port: 995,
        service: 'pop3s',
        protocol: 'pop3',
        tls: { protocol: 'TLSv1.3', cipher: 'x', trusted: true, checkedName: 'h', nameMatches: false },
      }),
      port({ port: 465, service: 'submissions', protocol: 'smtp', status: 'refused' }),
    ];
    // An unroutable target: a connection attempt would fail the test by its 'error' outcome.
    await runLogins(
      ports,
      { credential: password },
      { servername: 'h', trust: trustFrom(), limits: { ...defaultLimits, connectMs: 50 } },
    );
    expect(ports.map((p) => [p.port, p.login?.outcome, p.login?.why])).toEqual([
      [25, 'not-tried', 'port 25 is for relay: mail clients log in on 465 or 587'],
      [143, 'not-tried', 'no verified TLS: the probe reached no TLS on this port'],
      [993, 'not-tried', 'no verified TLS: the chain did not verify (self-signed)'],
      [995, 'not-tried', 'no verified TLS: the certificate does not name h'],
      [465, 'not-tried', 'the port is refused'],
    ]);
    for (const p of ports) expect(p.transcript).toEqual([]);
  });
});

describe('the expectations', () => {
  it('reads login and delivery<=S in the flag and the file', () => {
    expect(parseExpectFlag('587=login,delivery<=30')).toEqual({ port: 587, login: true, maxDeliveryS: 30 });
    expect(parseExpectFlag('993=login')).toEqual({ port: 993, login: true });
    expect(parseExpectDocument({ ports: { '465': { login: true, maxDeliveryS: 45 } } }, 'f.json')).toEqual([
      { port: 465, login: true, maxDeliveryS: 45 },
    ]);
    expect(() => parseExpectDocument({ ports: { '465': { maxDeliveryS: 'soon' } } }, 'f.json')).toThrow(
      /expected a whole number of seconds/,
    );
  });

  it('refuses login and delivery expectations without --login and --round-trip', async () => {
    const login = await cli(['127.0.0.1', '--expect', '587=login']);
    expect(login.code).toBe(2);
    expect(login.stderr).toMatch(/the expectation 'login' needs --login USER/);
    const trip = await cli([
      '127.0.0.1',
      '--expect',
      '587=delivery<=30',
      '--login',
      'a',
      '--password-env',
      'PATH',
    ]);
    expect(trip.code).toBe(2);
    expect(trip.stderr).toMatch(/'delivery<=S' needs --login USER and --round-trip/);
  });

  it('--expect P=login takes the service --port P=submission gives, and the run exits by the login', async () => {
    const args = (port: number, ...more: string[]) => [
      '127.0.0.1',
      ...more,
      '--expect',
      `${port}=login`,
      '--login',
      'alice@example.test',
      '--password-env',
      'MP_EXPECT_SECRET',
      '--ca',
      `${root}fixtures/tls/ca.pem`,
      '--servername',
      'localhost',
      '--no-color',
    ];
    const env = { MP_EXPECT_SECRET: 'expect-secret-3' };
    const accepts = await tlsSubmission({ starttls: true });
    const met = await cli(args(accepts.port, '--port', `${accepts.port}=submission`), env);
    expect(met.code, met.stderr).toBe(0);
    expect(met.stdout).toMatch(/expectations: 1 of 1 met/);
    expect(met.stdout).toMatch(new RegExp(`^ ${accepts.port} +submission +STARTTLS required`, 'm'));
    expect(accepts.auth()).toEqual(['\u0000alice@example.test\u0000expect-secret-3']);
    // Unmet: exit 1 (not a usage error).
    const refuses = await tlsSubmission({
      starttls: true,
      answer: '535 5.7.8 Error: authentication failed\r\n',
    });
    const unmet = await cli(args(refuses.port, '--port', `${refuses.port}=submission`), env);
    expect(unmet.code, unmet.stderr).toBe(1);
    expect(unmet.stdout).toMatch(/expectations: 0 of 1 met/);
    // Nothing names the service: one line, exit 2, before any connection.
    const unknown = await cli(args(accepts.port), env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      `mailprobe: --expect ${accepts.port}: port ${accepts.port} is not in the reference table; add service=NAME (or --port ${accepts.port}=SERVICE) (see mailprobe --help)\n`,
    );
    // A service= other than the one --port probes the port as: one line, exit 2.
    const both = await cli(
      args(accepts.port, '--port', `${accepts.port}=submission`, '--expect', `${accepts.port}=service=imap`),
      env,
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^mailprobe: --expect \d+: service=imap contradicts the port's submission/);
    expect(accepts.auth()).toHaveLength(1);
  });
});

describe('the options', () => {
  it('serve --login-module takes the credential from its own environment only', async () => {
    const none = await cli(['serve', '--login-module'], {
      MAILPROBE_LOGIN_USER: '',
      MAILPROBE_LOGIN_PASSWORD: '',
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--login-module needs MAILPROBE_LOGIN_USER in the environment/);
    const both = await cli(['serve', '--login-module'], {
      MAILPROBE_LOGIN_USER: 'a',
      MAILPROBE_LOGIN_PASSWORD: 'p',
      MAILPROBE_LOGIN_TOKEN: 't',
    });
    expect(both.stderr).toMatch(/exactly one of MAILPROBE_LOGIN_PASSWORD and MAILPROBE_LOGIN_TOKEN/);
  });

  it.each([['--password'], ['--pass'], ['--token'], ['--secret']])(
    '%s is refused with one line and exit 2, before any connection',
    async (option) => {
      const run = await cli(['127.0.0.1', '--login', 'alice', option, 'hunter2']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /is refused: a secret on the command line shows in ps and the shell history/,
      );
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).not.toContain('hunter2');
    },
  );

  it('needs a source of the secret; an unset variable or an unreadable file is one line and exit 2', async () => {
    const unset = await cli([
      '127.0.0.1',
      '--login',
      'alice',
      '--password-env',
      'MAILPROBE_NOT_SET_ANYWHERE',
    ]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/MAILPROBE_NOT_SET_ANYWHERE is not set or empty/);
    const file = await cli(['127.0.0.1', '--login', 'alice', '--password-file', '/nonexistent/pw']);
    expect(file.code).toBe(2);
    expect(file.stderr).toMatch(/--password-file: cannot read \/nonexistent\/pw \(ENOENT\)/);
    const both = await cli(['127.0.0.1', '--login', 'a', '--password-env', 'A', '--token-env', 'B']);
    expect(both.stderr).toMatch(/give one source of the secret/);
    const orphan = await cli(['127.0.0.1', '--password-env', 'A']);
    expect(orphan.stderr).toMatch(/--password-env needs --login USER/);
    const batch = await cli(['batch', '--login', 'alice', '--password-env', 'PATH']);
    expect(batch.code).toBe(2);
    expect(batch.stderr).toMatch(/--login is an option of mailprobe <host>, not of batch/);
    const discovery = await cli(['alice@example.test', '--login', 'alice', '--password-env', 'PATH']);
    expect(discovery.code).toBe(2);
    expect(discovery.stderr).toMatch(/--login applies to one host, not to discovery/);
    const trip = await cli(['127.0.0.1', '--login', 'a', '--password-env', 'PATH', '--keep']);
    expect(trip.stderr).toMatch(/apply to --round-trip/);
  });
  it('reads a secret file only if it is a regular file of at most 64 KiB: anything else is one line and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailprobe-secret-'));
    try {
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const empty = join(dir, 'empty');
      writeFileSync(empty, '');
      // A first line that is a password, then more than the limit: the size is checked, not only the line.
      const big = join(dir, 'big');
      const bigText = `S3cret\n${'x'.repeat(secretFileBytes)}\n`;
      writeFileSync(big, bigText);
      const cases: [string, string, RegExp][] = [
        ['--password-file', '/dev/zero', /--password-file: \/dev\/zero is not a regular file/],
        ['--token-file', fifo, /--token-file: .*fifo is not a regular file/],
        ['--password-file', dir, /--password-file: .* is not a regular file/],
        ['--password-file', empty, /--password-file: .*empty is empty/],
        [
          '--token-file',
          big,
          new RegExp(
            `--token-file: .*big is ${Buffer.byteLength(bigText)} bytes, more than the ${secretFileBytes} allowed`,
          ),
        ],
      ];
      for (const [option, file, message] of cases) {
        // Bounded in time and memory: the old code read /dev/zero until memory ran out, and waited on a FIFO.
        const result = await limited(['127.0.0.1', '--ports', '25', '--login', 'u', option, file]);
        expect(result.code, `${option} ${file}: ${result.stderr}`).toBe(2);
        expect(result.stdout).toBe('');
        const lines = result.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(message);
        expect(result.stderr).not.toContain('S3cret');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Plaintext servers that record every byte they receive: SMTP (no STARTTLS), IMAP, POP3. */
const servers: net.Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

function recorder(kind: 'smtp' | 'imap' | 'pop3'): Promise<{ port: number; bytes: () => string }> {
  let received = '';
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const say = (text: string) => socket.write(text);
    say(kind === 'smtp' ? '220 rec ESMTP\r\n' : kind === 'imap' ? '* OK rec ready\r\n' : '+OK rec ready\r\n');
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const tag = line.split(' ')[0] ?? '';
        if (kind === 'smtp') {
          if (/^EHLO/i.test(line)) say('250-rec\r\n250 AUTH PLAIN LOGIN\r\n');
          else if (/^QUIT/i.test(line)) {
            say('221 bye\r\n');
            socket.end();
          } else say('502 no\r\n');
        } else if (kind === 'imap') {
          if (/ CAPABILITY$/i.test(line)) say(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
          else if (/ LOGOUT$/i.test(line)) {
            say(`* BYE\r\n${tag} OK bye\r\n`);
            socket.end();
          } else say(`${tag} BAD no\r\n`);
        } else if (/^CAPA/i.test(line)) say('+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n');
        else if (/^QUIT/i.test(line)) {
          say('+OK bye\r\n');
          socket.end();
        } else say('-ERR no\r\n');
      }
    });
  });
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      resolve({ port: address.port, bytes: () => received });
    }),
  );
}

describe('the bytes on the wire', () => {
  it('a run without the new options sends what it sent before them; --login adds nothing without verified TLS', async () => {
    // What the release before the login check sent to these servers (recorded from d302418's build).
    const before = {
      smtp: 'EHLO [127.0.0.1]\r\nQUIT\r\n',
      imap: 'mp1 CAPABILITY\r\nmp2 LOGOUT\r\n',
      pop3: 'CAPA\r\nQUIT\r\n',
    };
    for (const extra of [[], ['--login', 'alice', '--password-env', 'MAILPROBE_TEST_SECRET']]) {
      const smtp = await recorder('smtp');
      const imap = await recorder('imap');
      const pop3 = await recorder('pop3');
      const run = await cli(
        [
          '127.0.0.1',
          '--port',
          `${smtp.port}=submission`,
          '--port',
          `${imap.port}=imap`,
          '--port',
          `${pop3.port}=pop3`,
          '--json',
          '--no-fast-filtered',
          ...extra,
        ],
        { MAILPROBE_TEST_SECRET: 'never-sent-anywhere' },
      );
      expect(run.stdout, run.stderr).toContain('"hosts"');
      expect({ smtp: smtp.bytes(), imap: imap.bytes(), pop3: pop3.bytes() }).toEqual(before);
      if (extra.length > 0) {
        const report = JSON.parse(run.stdout) as {
          hosts: { ports: { login?: { outcome: string; why: string } }[] }[];
        };
        for (const p of report.hosts[0]?.ports ?? [])
          expect(p.login).toMatchObject({
            outcome: 'not-tried',
            why: expect.stringMatching(/^no verified TLS/),
          });
        expect(run.stdout).not.toContain('never-sent-anywhere');
      }
    }
  });
});

/**
 * An SMTP submission server with the test CA's localhost certificate, over implicit TLS or (`starttls`) after
 * STARTTLS, that answers AUTH PLAIN with `answer` (default: accepted) and records the credentials.
 */
function tlsSubmission(
  options: { starttls?: boolean; answer?: string } = {},
): Promise<{ port: number; auth: () => string[] }> {
  const auth: string[] = [];
  const cert = { key: tlsFile('server.key'), cert: tlsFile('server.pem') };
  const context = tls.createSecureContext(cert);
  const session = (socket: net.Socket, secure: boolean) => {
    socket.on('error', () => {});
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^EHLO/i.test(line))
          socket.write(`250-rec\r\n250 ${secure ? 'AUTH PLAIN LOGIN' : 'STARTTLS'}\r\n`);
        else if (/^STARTTLS/i.test(line) && !secure) {
          socket.off('data', onData);
          socket.write('220 2.0.0 go ahead\r\n', () =>
            session(new tls.TLSSocket(socket, { isServer: true, secureContext: context }), true),
          );
          return;
        } else if (/^AUTH PLAIN /i.test(line) && secure) {
          auth.push(Buffer.from(line.slice(11), 'base64').toString('utf8'));
          socket.write(options.answer ?? '235 2.7.0 Authentication successful\r\n');
        } else if (/^QUIT/i.test(line)) {
          socket.write('221 bye\r\n');
          socket.end();
        } else socket.write('502 no\r\n');
      }
    };
    socket.on('data', onData);
  };
  const server = options.starttls
    ? net.createServer((socket) => {
        socket.write('220 rec ESMTP\r\n');
        session(socket, false);
      })
    : tls.createServer(cert, (socket) => {
        socket.write('220 rec ESMTP\r\n');
        session(socket, true);
      });
  servers.push(server as unknown as net.Server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as net.AddressInfo).port, auth: () => auth }),
    ),
  );
}

const python = (() => {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!python && process.env.CI)
  it('the prompt test prerequisites', () => {
    throw new Error('CI=true and the prompt test cannot run: needs python3');
  });

describe.skipIf(!python)('the prompt on a terminal', () => {
  it('asks for the password without echoing it, and logs in with what was typed, inside verified TLS', async () => {
    const server = await tlsSubmission();
    const typed = 'typed-on-the-terminal-42';
    const spec = {
      columns: 100,
      type: { after: 'password for alice@example.test (not echoed): ', text: `${typed}\r` },
      command: [
        process.execPath,
        mainScript,
        '127.0.0.1',
        '--port',
        `${server.port}=submissions`,
        '--ca',
        `${root}fixtures/tls/ca.pem`,
        '--servername',
        'localhost',
        '--login',
        'alice@example.test',
        '--json',
      ],
      unsetEnv: ['CI'],
    };
    // Asynchronously: the server above answers in this process while the CLI runs.
    const { stdout } = await promisify(execFile)(
      'python3',
      [`${root}test/helpers/terminal.py`, JSON.stringify(spec)],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    const run = JSON.parse(stdout) as { code: number; stdout: string; terminal: string };
    expect(run.terminal).toContain('password for alice@example.test (not echoed): ');
    expect(run.terminal).not.toContain(typed);
    expect(server.auth()).toEqual([`\u0000alice@example.test\u0000${typed}`]);
    const report = JSON.parse(run.stdout) as { hosts: { ports: { login?: { outcome: string } }[] }[] };
    expect(report.hosts[0]?.ports[0]?.login?.outcome).toBe('works');
    secretFree([run.stdout, run.terminal], { user: 'alice@example.test', secret: typed, kind: 'password' });
  });
});

describe("the package's bin", () => {
  it('logs in from the bundle loaded only with --login (dist/cli/login.cjs), with the engine and its own caches', async () => {
    const server = await tlsSubmission();
    const cache = mkdtempSync(join(tmpdir(), 'mailprobe-login-bin-'));
    try {
      const args = [
        `${root}bin/mailprobe.cjs`,
        '127.0.0.1',
        '--port',
        `${server.port}=submissions`,
        '--ca',
        `${root}fixtures/tls/ca.pem`,
        '--servername',
        'localhost',
        '--login',
        'alice@example.test',
        '--password-env',
        'MP_BIN_SECRET',
        '--json',
      ];
      const env = { ...process.env, MP_BIN_SECRET: 'bin-secret-7', XDG_CACHE_HOME: cache };
      // Twice: the first run writes the code caches, the second runs from them.
      for (const run of [1, 2]) {
        const { stdout } = await promisify(execFile)(process.execPath, args, { env, encoding: 'utf8' });
        const report = JSON.parse(stdout) as { hosts: { ports: { login?: { outcome: string } }[] }[] };
        expect(report.hosts[0]?.ports[0]?.login?.outcome, `run ${run}`).toBe('works');
      }
      expect(server.auth()).toEqual([
        '\u0000alice@example.test\u0000bin-secret-7',
        '\u0000alice@example.test\u0000bin-secret-7',
      ]);
      const caches = readdirSync(join(cache, 'mailprobe', readdirSync(join(cache, 'mailprobe'))[0] ?? ''));
      expect(caches.filter((name) => /^(cli|engine|login)-.*-probe\.bin$/.test(name))).toHaveLength(3);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe('a login finding in the report at 80 columns', () => {
  const login = ['--login', 'alice@example.test', '--password-env', 'MP_FOLD_SECRET'];
  const common = ['--ca', `${root}fixtures/tls/ca.pem`, '--servername', 'localhost', '--no-color'];
  const env = { MP_FOLD_SECRET: 'fold-secret-9', COLUMNS: '80' };

  it("folds a server's reply holding a 200-character word, its control characters still shown inert", async () => {
    const word = `${'w'.repeat(100)}\u001b[31m${'v'.repeat(100)}`;
    const server = await tlsSubmission({ answer: `535 5.7.8 refused: ${word} (see the help)\r\n` });
    for (const verbose of [[], ['--verbose']]) {
      const run = await cli(
        ['127.0.0.1', '--port', `${server.port}=submissions`, ...login, ...common, ...verbose],
        env,
      );
      expect(run.code, run.stderr).toBe(1);
      const wide = run.stdout.split('\n').filter((line) => [...line].length > 80);
      expect(wide, run.stdout).toEqual([]);
      // Every character of the reply is there, in order, the escape as its stand-in (␛), never the byte.
      expect(run.stdout).not.toContain('\u001b');
      expect(run.stdout.replace(/\s+/g, '')).toContain(
        `server:5355.7.8refused:${'w'.repeat(100)}␛[31m${'v'.repeat(100)}(seethehelp)`,
      );
    }
  });

  it('--verbose prints what the answer means once, then the rest of the evidence and the RFC', async () => {
    const server = await tlsSubmission({ answer: '535 5.7.8 Error: authentication failed\r\n' });
    const run = await cli(
      ['127.0.0.1', '--port', `${server.port}=submissions`, ...login, ...common, '--verbose'],
      env,
    );
    expect(run.code, run.stderr).toBe(1);
    const text = run.stdout.replace(/\n +/g, ' ');
    const count = (needle: string) => text.split(needle).length - 1;
    expect(count('the server refused the password with AUTH PLAIN'), run.stdout).toBe(1);
    expect(count('server: 535 5.7.8 Error: authentication failed')).toBe(1);
    // The evidence that was not shown above, and the RFC, still are.
    expect(text).toContain('mechanism: AUTH PLAIN');
    expect(text).toContain('ref: RFC 4954 §4, §6');
  });
});

describe('the login connection checks TLS itself', () => {
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
  const limits = { ...defaultLimits, connectMs: 2000, tlsMs: 2000, greetingMs: 2000, replyMs: 2000 };

  it('sends nothing over TLS whose chain or name does not verify, whatever the probe saw', async () => {
    const server = await tlsSubmission();
    const untrusted = await tryLogin(
      port(server.port),
      { credential: password },
      { servername: 'localhost', trust: trustFrom(), limits },
    );
    expect(untrusted).toMatchObject({
      outcome: 'not-tried',
      why: expect.stringMatching(/^no verified TLS: the chain did not verify/),
    });
    const ca = tlsFile('ca.pem');
    const misnamed = await tryLogin(
      port(server.port),
      { credential: password },
      { servername: 'mail.other.test', trust: trustFrom(ca), limits },
    );
    expect(misnamed).toMatchObject({
      outcome: 'not-tried',
      why: 'no verified TLS: the certificate does not name mail.other.test',
    });
    expect(server.auth()).toEqual([]);
    const verified = await tryLogin(
      port(server.port),
      { credential: password },
      { servername: 'localhost', trust: trustFrom(ca), limits },
    );
    expect(verified).toMatchObject({ outcome: 'works', mechanism: 'AUTH PLAIN' });
    expect(server.auth()).toEqual([`\u0000${password.user}\u0000${password.secret}`]);
  });

  it('a login that broke off before the credential was sent is no attempt: the port sharing the account is tried', async () => {
    // Two submission ports, one account: the first connection to either drops right after the TLS handshake.
    let connections = 0;
    const auth: string[] = [];
    const listen = () => {
      const server = tls.createServer(
        { key: tlsFile('server.key'), cert: tlsFile('server.pem') },
        (socket) => {
          socket.on('error', () => {});
          if (++connections === 1) return void socket.destroy();
          socket.write('220 rec ESMTP\r\n');
          let buffer = '';
          socket.on('data', (chunk: Buffer) => {
            buffer += chunk.toString('latin1');
            for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
              const line = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              if (/^EHLO/i.test(line)) socket.write('250-rec\r\n250 AUTH PLAIN\r\n');
              else if (/^AUTH PLAIN /i.test(line)) {
                auth.push(line);
                socket.write('235 2.7.0 Authentication successful\r\n');
              } else if (/^QUIT/i.test(line)) {
                socket.write('221 bye\r\n');
                socket.end();
              } else socket.write('502 no\r\n');
            }
          });
        },
      );
      servers.push(server as unknown as net.Server);
      return new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
      );
    };
    const verifiedTls = {
      protocol: 'TLSv1.3',
      cipher: 'x',
      trusted: true,
      checkedName: 'localhost',
      nameMatches: true,
    };
    const ports = [
      { ...port(await listen()), tls: verifiedTls },
      { ...port(await listen()), tls: verifiedTls },
    ].sort((a, b) => a.port - b.port);
    await runLogins(
      ports,
      { credential: password, maxAttempts: 1 },
      { servername: 'localhost', trust: trustFrom(tlsFile('ca.pem')), limits },
    );
    expect(ports[0]?.login).toMatchObject({
      outcome: 'error',
      why: expect.stringMatching(/^before the credential was sent \(no attempt counted\): /),
    });
    // The broken connection is closed and its transcript kept, as after any other login.
    expect(ports[0]?.transcript.map((entry) => entry.text)).toContain('login check: a connection of its own');
    expect(ports[1]?.login).toMatchObject({ outcome: 'works', mechanism: 'AUTH PLAIN' });
    expect(auth).toHaveLength(1);
  });

  it('bytes after the STARTTLS OK on its own connection are dropped, noted and counted, as the probe counts its own', async () => {
    const injected = '250 injected\r\n';
    const accept = (command: string, state: { tls: boolean }) =>
      state.tls && /^AUTH PLAIN /i.test(command) ? '235 2.7.0 Authentication successful\r\n' : undefined;
    const submission = (tcp: number): PortResult => ({
      ...port(tcp),
      service: 'submission',
      expectedTls: 'starttls',
    });
    const target = { servername: 'localhost', trust: trustFrom(tlsFile('ca.pem')), limits };
    const injecting = submission(
      await fixture({ protocol: 'smtp', tls: 'starttls', starttls: 'ok-extra-bytes', on: accept }),
    );
    const facts = await tryLogin(injecting, { credential: password }, target);
    expect(facts).toMatchObject({ outcome: 'works', bytesAfterOk: injected.length });
    expect(injecting.transcript.map((entry) => entry.text)).toContain(
      `discarded ${injected.length} bytes received after the STARTTLS OK`,
    );
    // The injected reply is never read as the answer to EHLO or to the credential.
    expect(injecting.transcript.map((entry) => entry.text)).not.toContain('250 injected');
    const clean = submission(await fixture({ protocol: 'smtp', tls: 'starttls', on: accept }));
    const none = await tryLogin(clean, { credential: password }, target);
    expect(none.outcome).toBe('works');
    expect(none).not.toHaveProperty('bytesAfterOk');
  });

  it('bytes after the STARTTLS OK on the login connection are in its JSON and in starttls-bytes-after-ok', async () => {
    const injected = '250 injected\r\n';
    const tcp = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      starttls: 'ok-extra-bytes',
      on: (command, state) =>
        state.tls && /^AUTH PLAIN /i.test(command) ? '235 2.7.0 Authentication successful\r\n' : undefined,
    });
    const run = await cli(
      [
        '127.0.0.1',
        '--port',
        `${tcp}=submission`,
        '--ca',
        `${root}fixtures/tls/ca.pem`,
        '--servername',
        'localhost',
        '--login',
        'alice@example.test',
        '--password-env',
        'MP_INJECTED_SECRET',
        '--json',
      ],
      { MP_INJECTED_SECRET: 'injected-secret-7' },
    );
    const report = validReport<{
      hosts: {
        ports: { starttls?: { bytesAfterOk: number }; login?: { outcome: string; bytesAfterOk?: number } }[];
        findings: { id: string; evidence: string[] }[];
      }[];
    }>(run.stdout);
    const [host] = report.hosts;
    expect(host?.ports[0]?.starttls?.bytesAfterOk).toBe(injected.length);
    expect(host?.ports[0]?.login).toMatchObject({ outcome: 'works', bytesAfterOk: injected.length });
    expect(host?.findings.filter((finding) => finding.id === 'starttls-bytes-after-ok')).toEqual([
      expect.objectContaining({
        evidence: [
          `${injected.length} bytes discarded before the TLS handshake`,
          `${injected.length} bytes discarded before the TLS handshake on the login check’s own connection`,
        ],
      }),
    ]);
  });

  it('a POP3 server that refuses CAPA before TLS is sent STLS all the same, as the probe sends it', async () => {
    const tcp = await fixture({
      protocol: 'pop3',
      tls: 'starttls',
      on: (command, state) =>
        command === 'CAPA' && !state.tls
          ? '-ERR no CAPA\r\n'
          : state.tls && command === b64(`\0${password.user}\0${password.secret}`)
            ? '+OK Logged in.\r\n'
            : undefined,
    });
    const pop3: PortResult = { ...port(tcp), service: 'pop3', protocol: 'pop3', expectedTls: 'starttls' };
    const target = { servername: 'localhost', trust: trustFrom(tlsFile('ca.pem')), limits };
    const facts = await tryLogin(pop3, { credential: password }, target);
    expect(facts).toMatchObject({ outcome: 'works', mechanism: 'AUTH PLAIN' });
    expect(pop3.transcript.map((entry) => entry.text)).toContain('STLS');
  });

  it("the login's transcript is held to the port's caps, adding to what they left out before", async () => {
    const server = await tlsSubmission();
    const capped = { ...port(server.port), transcriptOmitted: { entries: 3, chars: 40 } };
    const small = { ...limits, transcriptEntries: 4 };
    const facts = await tryLogin(
      capped,
      { credential: password },
      { servername: 'localhost', trust: trustFrom(tlsFile('ca.pem')), limits: small },
    );
    expect(facts.outcome).toBe('works');
    expect(capped.transcript).toHaveLength(4);
    expect(capped.transcriptOmitted.entries).toBeGreaterThan(3);
  });
});

/**
 * A mail system over implicit TLS (the test CA's localhost certificate) sharing one maildrop: submission (AUTH
 * PLAIN, MAIL, RCPT, DATA, queue id `queueId`) and POP3 (AUTH PLAIN, LIST, TOP, DELE) that counts its logins. A
 * POP3 session shows the maildrop as it was at its login (RFC 1939 §8), as Dovecot's does, unless `live`.
 */
async function mailSystem(options: { queueId: string; deliverAfterMs?: number; live?: boolean }) {
  const maildrop: string[] = [];
  let logins = 0;
  const pop3Commands: string[] = [];
  const listen = (server: tls.Server) => {
    servers.push(server as unknown as net.Server);
    return new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
    );
  };
  const lines = (socket: tls.TLSSocket, each: (line: string) => void) => {
    socket.on('error', () => {});
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        each(line);
      }
    });
  };
  const cert = { key: tlsFile('server.key'), cert: tlsFile('server.pem') };
  const submission = tls.createServer(cert, (socket) => {
    socket.write('220 sub ESMTP\r\n');
    let data: string[] | undefined;
    lines(socket, (line) => {
      if (data) {
        if (line !== '.') return void data.push(line);
        const subject = data.find((l) => l.startsWith('Subject: ')) ?? '';
        data = undefined;
        setTimeout(() => maildrop.push(subject), options.deliverAfterMs ?? 0);
        socket.write(`250 2.0.0 Ok: queued as ${options.queueId}\r\n`);
      } else if (/^EHLO/i.test(line)) socket.write('250-sub\r\n250 AUTH PLAIN\r\n');
      else if (/^AUTH PLAIN /i.test(line)) socket.write('235 2.7.0 Authentication successful\r\n');
      else if (/^(MAIL|RCPT)/i.test(line)) socket.write('250 2.1.0 Ok\r\n');
      else if (/^DATA/i.test(line)) {
        data = [];
        socket.write('354 go ahead\r\n');
      } else if (/^QUIT/i.test(line)) {
        socket.write('221 bye\r\n');
        socket.end();
      } else socket.write('502 no\r\n');
    });
  });
  const pop3 = tls.createServer(cert, (socket) => {
    socket.write('+OK pop ready\r\n');
    let authenticating = false;
    let view: string[] = [];
    const shown = () => (options.live ? maildrop : view);
    lines(socket, (line) => {
      pop3Commands.push(authenticating ? '<credential>' : line);
      if (authenticating) {
        authenticating = false;
        logins++;
        view = [...maildrop];
        socket.write('+OK logged in\r\n');
      } else if (/^CAPA/i.test(line)) socket.write('+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n');
      else if (/^AUTH PLAIN$/i.test(line)) {
        authenticating = true;
        socket.write('+ \r\n');
      } else if (/^STAT/i.test(line)) socket.write(`+OK ${shown().length} 100\r\n`);
      else if (/^LIST/i.test(line))
        socket.write(
          `+OK\r\n${shown()
            .map((_, i) => `${i + 1} 100\r\n`)
            .join('')}.\r\n`,
        );
      else if (/^TOP \d+ 0$/i.test(line)) {
        const subject = shown()[Number(line.split(' ')[1]) - 1];
        socket.write(subject === undefined ? '-ERR no such message\r\n' : `+OK\r\n${subject}\r\n\r\n.\r\n`);
      } else if (/^(DELE|NOOP|UIDL)/i.test(line)) socket.write('+OK\r\n');
      else if (/^QUIT/i.test(line)) {
        socket.write('+OK bye\r\n');
        socket.end();
      } else socket.write('-ERR no\r\n');
    });
  });
  const submissionPort = await listen(submission);
  const pop3Port = await listen(pop3);
  const port = (tcp: number, service: 'submissions' | 'pop3s'): PortResult => ({
    port: tcp,
    service,
    protocol: service === 'pop3s' ? 'pop3' : 'smtp',
    expectedTls: 'implicit',
    address: '127.0.0.1',
    family: 4,
    status: 'open',
    statusDetail: '',
    startedAt: new Date().toISOString(),
    timings: { total: 1 },
    transcript: [],
    login: { outcome: 'works', secret: 'password' },
  });
  const host: HostResult = {
    host: 'localhost',
    servername: 'localhost',
    addresses: [{ address: '127.0.0.1', family: 4 }],
    resolveMs: 0,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    ports: [port(submissionPort, 'submissions'), port(pop3Port, 'pop3s')],
  };
  return { host, logins: () => logins, pop3Commands };
}

const tripLimits = { ...defaultLimits, connectMs: 2000, tlsMs: 2000, greetingMs: 2000, replyMs: 2000 };

describe('the round trip', () => {
  const trip = (system: Awaited<ReturnType<typeof mailSystem>>, waitS: number) =>
    runRoundTrip(system.host, {
      credential: password,
      trust: trustFrom(tlsFile('ca.pem')),
      limits: tripLimits,
      waitS,
      pollMs: 40,
    });

  it('watches a POP3 maildrop on one login, then one last look: never a login per look', async () => {
    // Never delivered: the whole wait is watched (LIST every 200 ms), then one more login looks a last time.
    const never = await mailSystem({ queueId: 'Q1', deliverAfterMs: 60_000 });
    const missed = await trip(never, 1.2);
    expect(missed).toMatchObject({ accepted: true, deleted: false });
    expect(missed.arrivedAfterS).toBeUndefined();
    expect(missed.failedStep).toBeUndefined();
    expect(missed.waitedS).toBeGreaterThanOrEqual(1.2);
    expect(never.logins()).toBe(2);
    expect(never.pop3Commands.filter((c) => c === 'LIST').length).toBeGreaterThan(3);
  });

  it('over POP3, finds a message that came after the login on the last look, or on the one session that shows it', async () => {
    // A session that shows the maildrop as at its login: the last look finds it, and deletes it.
    const snapshot = await mailSystem({ queueId: 'Q2', deliverAfterMs: 300 });
    const late = await trip(snapshot, 1);
    expect(late).toMatchObject({ accepted: true, deleted: true });
    expect(late.arrivedAfterS).toBeGreaterThanOrEqual(1);
    expect(snapshot.logins()).toBe(2);
    // A session that shows new mail: found on it, one login.
    const live = await mailSystem({ queueId: 'Q3', deliverAfterMs: 300, live: true });
    const seen = await trip(live, 5);
    expect(seen).toMatchObject({ accepted: true, deleted: true });
    expect(seen.arrivedAfterS).toBeLessThan(2);
    expect(live.logins()).toBe(1);
  });

  it('scrubs the queue id of the reply to the message as it scrubs the reply', async () => {
    const alnum: Credential = { user: 'alice@example.test', secret: 'Tr1pSecret2024x', kind: 'password' };
    const system = await mailSystem({ queueId: alnum.secret });
    const trip = await runRoundTrip(system.host, {
      credential: alnum,
      trust: trustFrom(tlsFile('ca.pem')),
      limits: tripLimits,
      waitS: 2,
      pollMs: 20,
    });
    expect(trip).toMatchObject({
      accepted: true,
      queueId: '<secret>',
      acceptReply: '250 2.0.0 Ok: queued as <secret>',
    });
    secretFree([JSON.stringify(trip)], alnum);
  });
});
