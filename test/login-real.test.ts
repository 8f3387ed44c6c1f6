/**
 * The login check and the round trip against real Postfix (submission on 587 and 465, SASL through Dovecot) and
 * Dovecot (a passwd-file user, IMAP and POP3, local delivery through LMTP), in a network namespace of the test's
 * own: the right and the wrong password, a mechanism not offered, no verified TLS, the lockout rules, a rate
 * limit after a failure, a message that arrives and one that never does, and the leak scan of every output.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credential, secretForms } from '../src/protocols/secret.js';
import {
  lmtpMissing,
  loginPassword,
  loginUser,
  maildirCount,
  startLoginServers,
} from './helpers/login-servers.js';
import { MailHost, mailServersMissing, makeTls } from './helpers/mail-servers.js';
import { netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';
import { blankTimes, readmeBlock } from './helpers/readme-samples.js';
import { validReport } from './helpers/schema.js';

const missing = netnsMissing() ?? mailServersMissing() ?? lmtpMissing();
if (missing && process.env.CI) {
  it('login real-server prerequisites', () => {
    throw new Error(`CI=true and the login real-server tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping the login real-server tests: ${missing}`);
}

interface LoginPort {
  port: number;
  address: string;
  login?: { outcome: string; mechanism?: string; reply?: string; why?: string; offered?: string[] };
  transcript: { dir: string; text: string }[];
}
interface Report {
  hosts: {
    ports: LoginPort[];
    findings: { id: string; port: number; detail: string; evidence: string[] }[];
    roundTrip?: {
      accepted: boolean;
      queueId?: string;
      arrivedAfterS?: number;
      waitedS: number;
      deleted: boolean;
      failedStep?: string;
      submittedOn?: number;
      searchedOn?: number;
    };
  }[];
}

const wrongPassword = 'Wr0ng-battery-staple';
const bearer = 'ya29.a0-bearer-token-for-the-leak-scan';
const credentials: Credential[] = [
  { user: loginUser, secret: loginPassword, kind: 'password' },
  { user: loginUser, secret: wrongPassword, kind: 'password' },
  { user: loginUser, secret: bearer, kind: 'token' },
];
// COLUMNS: the human reports at the width of the README's samples.
const env = { MP_RIGHT: loginPassword, MP_WRONG: wrongPassword, MP_TOKEN: bearer, COLUMNS: '120' };

// Dovecot's auth penalty slows every later login from an address after a failed one (up to 15 s): on each host
// the runs that must log in come before the runs with the wrong password.
describe.skipIf(missing !== undefined)('login check and round trip on real Postfix and Dovecot', () => {
  let root = '';
  let tls = '';
  let normal: MailHost | undefined;
  let limited: MailHost | undefined;
  /** Every byte of output of every run, for the leak scan. */
  const outputs: { what: string; text: string }[] = [];

  beforeAll(() => {
    sweepStaleNamespaces();
    Object.assign(process.env, env);
    root = mkdtempSync(join(tmpdir(), 'mailprobe-login-'));
    chmodSync(root, 0o755);
    tls = join(root, 'tls');
    makeTls(tls, 'mail.test');
    const make = (name: string) => {
      const dir = join(root, name);
      mkdirSync(dir);
      chmodSync(dir, 0o755);
      return new MailHost(dir, tls);
    };
    normal = make('normal');
    startLoginServers(normal);
    limited = make('limited');
    startLoginServers(limited, { deferDelivery: true, authRateLimitOn587: 1 });
  });
  afterAll(() => {
    const left = [...(normal?.stop() ?? []), ...(limited?.stop() ?? [])];
    for (const key of Object.keys(env)) delete process.env[key];
    rmSync(root, { recursive: true, force: true });
    expect(left, 'processes left in the namespaces').toEqual([]);
  });

  /** Runs mailprobe against mail.test in `host`'s namespace; every output (stdout, stderr, files) is kept. */
  async function run(host: MailHost | undefined, name: string, args: string[], ca = true) {
    if (!host) throw new Error('no host');
    const files = join(host.root, `${name}-out`);
    mkdirSync(files, { recursive: true });
    const result = await host.mailprobe([
      'mail.test',
      '-4',
      ...(ca ? ['--ca', join(tls, 'ca.pem')] : []),
      '--timeout',
      '3000',
      '--login',
      loginUser,
      '--json-file',
      join(files, 'report.json'),
      '--junit',
      join(files, 'report.xml'),
      '--markdown',
      join(files, 'report.md'),
      ...args,
    ]);
    outputs.push(
      { what: `${name} stdout`, text: result.stdout },
      { what: `${name} stderr`, text: result.stderr },
    );
    for (const file of ['report.json', 'report.xml', 'report.md'])
      outputs.push({ what: `${name} ${file}`, text: readFileSync(join(files, file), 'utf8') });
    const report = validReport<Report>(readFileSync(join(files, 'report.json'), 'utf8')).hosts[0];
    if (!report) throw new Error(`${name}: no host in the report: ${result.stderr}`);
    const login = (port: number) => report.ports.find((p) => p.port === port)?.login;
    return { result, report, login };
  }

  const log = (host: MailHost | undefined, file: string) =>
    readFileSync(join(host?.root ?? '', file), 'utf8');
  const count = (text: string, pattern: RegExp) =>
    text.split('\n').filter((line) => pattern.test(line)).length;

  it('the right password: one attempt per backend, each over verified TLS; the message arrives and is deleted', async () => {
    const { result, report, login } = await run(normal, 'right', [
      '--password-env',
      'MP_RIGHT',
      '--round-trip',
      '--round-trip-wait',
      '20',
      '--verbose',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(login(465)).toMatchObject({
      outcome: 'works',
      mechanism: 'AUTH PLAIN',
      reply: '235 2.7.0 Authentication successful',
    });
    expect(login(993)).toMatchObject({ outcome: 'works', mechanism: 'AUTHENTICATE PLAIN' });
    expect(login(995)).toMatchObject({ outcome: 'works', mechanism: 'AUTH PLAIN' });
    for (const [port, first] of [
      [587, 465],
      [143, 993],
      [110, 995],
    ] as const)
      expect(login(port)?.why, `${port}`).toBe(
        `the same account was tried on port ${first} (one attempt per backend; --login-each-port tries each)`,
      );
    expect(login(25)?.outcome).toBe('not-tried');
    const trip = report.roundTrip;
    expect(trip).toMatchObject({ accepted: true, deleted: true, submittedOn: 465, searchedOn: 993 });
    expect(trip?.queueId).toMatch(/^[0-9A-F]{6,}$/);
    expect(trip?.arrivedAfterS).toBeLessThan(20);
    expect(report.findings.map((f) => f.id)).toContain('round-trip-arrived');
    // Postfix logged the queue id the report gives, and the message left the mailbox.
    expect(log(normal, 'postfix.log')).toContain(`${trip?.queueId}: to=<${loginUser}>`);
    expect(log(normal, 'postfix.log')).toMatch(/status=sent \(250 2\.0\.0 <alice@mail\.test> .* Saved\)/);
    if (normal) expect(maildirCount(normal)).toBe(0);
    // Three logins by the check, two by the round trip: no more.
    expect(count(log(normal, 'dovecot.log'), /-login: Info: Login: user=<alice@mail\.test>/)).toBe(3);
    expect(count(log(normal, 'postfix.log'), /sasl_username=alice@mail\.test/)).toBe(1);
  });

  it('--login-each-port tries every port, within --login-max', async () => {
    const { login } = await run(normal, 'each', [
      '--password-env',
      'MP_RIGHT',
      '--login-each-port',
      '--login-max',
      '5',
    ]);
    // Implicit TLS first, then the lower port: 587 is the sixth.
    const tried = [465, 993, 995, 110, 143, 587].filter((port) => login(port)?.outcome === 'works');
    expect(tried).toEqual([465, 993, 995, 110, 143]);
    expect(login(587)?.why).toBe("the run's cap of 5 login attempts was reached (--login-max)");
  });

  it('CI expectations: login on 587 and 993, delivery within 30 s; a JUnit case and a Markdown row each', async () => {
    const { result, report } = await run(normal, 'expect', [
      '--password-env',
      'MP_RIGHT',
      '--round-trip',
      '--expect',
      '587=login,delivery<=30',
      '--expect',
      '993=login',
    ]);
    expect(result.code, result.stderr).toBe(0);
    // Only the expected ports are probed: 587 carries the submission and 993 the search.
    expect(report.roundTrip).toMatchObject({ submittedOn: 587, searchedOn: 993, deleted: true });
    const junit = readFileSync(join(normal?.root ?? '', 'expect-out', 'report.xml'), 'utf8');
    for (const name of [
      '587 submission [127.0.0.1] expect login',
      '587 submission [127.0.0.1] expect delivery&lt;=30s',
      '993 imaps [127.0.0.1] expect login',
    ])
      expect(junit).toMatch(new RegExp(`<testcase [^>]*name="${name.replace(/[[\]]/g, '\\$&')}"[^>]*/>`));
    const markdown = readFileSync(join(normal?.root ?? '', 'expect-out', 'report.md'), 'utf8');
    expect(markdown).toContain('**Expectations**: 3 of 3 met');
    // The README's round-trip journey shows this run's table (the README's command asks for the same), time aside.
    const sample = readmeBlock('Its summary, from a real run against Postfix and Dovecot');
    expect(sample.split('\n').length).toBeGreaterThan(4);
    expect(blankTimes(markdown)).toContain(blankTimes(sample));
  });

  it('serve: the login module only with --login-module, the credential from its environment, once a minute', async () => {
    if (!normal) throw new Error('no host');
    const main = new URL('../dist/src/cli/main.js', import.meta.url).pathname;
    const start = (port: number, extra: string[], environment: Record<string, string>) => {
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          normal?.netns.name ?? '',
          process.execPath,
          main,
          'serve',
          '--listen',
          `127.0.0.1:${port}`,
          '--allow',
          '127.0.0.0/8',
          '--allow',
          '::1/128',
          '--ca',
          join(tls, 'ca.pem'),
          '--timeout',
          '3000',
          ...extra,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...environment } },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      return { child, stderr: () => stderr };
    };
    // Fetches inside the namespace, once the server listens.
    const get = async (port: number, path: string) => {
      const script = `const go=async()=>{for(let i=0;i<100;i++){try{const r=await fetch('http://127.0.0.1:${port}${path}');process.stdout.write(r.status+'\\n'+await r.text());return}catch{await new Promise(r=>setTimeout(r,50))}}};go()`;
      const out = await normal?.netns.run(process.execPath, ['-e', script]);
      const [status = '', ...body] = (out?.stdout ?? '').split('\n');
      return { status: Number(status), body: body.join('\n') };
    };
    const without = start(9925, [], {
      MAILPROBE_LOGIN_USER: loginUser,
      MAILPROBE_LOGIN_PASSWORD: loginPassword,
    });
    const withModule = start(9926, ['--login-module'], {
      MAILPROBE_LOGIN_USER: loginUser,
      MAILPROBE_LOGIN_PASSWORD: loginPassword,
    });
    try {
      const refused = await get(9925, '/probe?target=mail.test&module=login');
      expect(refused.status).toBe(400);
      expect(refused.body).toMatch(/module: 'login' is not one of all, /);
      const first = await get(9926, '/probe?target=mail.test&module=login');
      expect(first.status, first.body).toBe(200);
      expect(first.body).toMatch(
        /mailprobe_port_login\{target="mail.test",port="993",service="imaps",address="127.0.0.1",outcome="works"\} 1/,
      );
      expect(first.body).toContain('probe_success 1');
      const again = await get(9926, '/probe?target=mail.test&module=login');
      expect(again.status).toBe(429);
      expect(again.body).toMatch(/one login run a minute at most/);
      const metrics = await get(9926, '/metrics');
      for (const text of [
        refused.body,
        first.body,
        again.body,
        metrics.body,
        without.stderr(),
        withModule.stderr(),
      ])
        outputs.push({ what: 'serve', text });
    } finally {
      without.child.kill('SIGTERM');
      withModule.child.kill('SIGTERM');
    }
  });

  it('the round trip over POP3 when no IMAP port is asked for; a missing submission port names the step', async () => {
    const pop3 = await run(normal, 'pop3-trip', [
      '--ports',
      '465,995',
      '--password-env',
      'MP_RIGHT',
      '--round-trip',
      '--round-trip-wait',
      '20',
    ]);
    expect(pop3.result.code, pop3.result.stderr).toBe(0);
    expect(pop3.report.roundTrip).toMatchObject({
      accepted: true,
      deleted: true,
      submittedOn: 465,
      searchedOn: 995,
    });
    expect(pop3.report.roundTrip?.arrivedAfterS).toBeLessThan(20);
    if (normal) expect(maildirCount(normal)).toBe(0);
    const none = await run(normal, 'no-submission', [
      '--ports',
      '993',
      '--password-env',
      'MP_RIGHT',
      '--round-trip',
    ]);
    expect(none.result.code).toBe(1);
    expect(none.report.roundTrip).toMatchObject({ accepted: false, failedStep: 'submit' });
    expect(none.report.findings.find((f) => f.id === 'round-trip-failed')?.detail).toBe(
      'the submit step failed: no submission port (587, 465) where the login works',
    );
  });

  it('the wrong password: rejected with the server’s words, then no further attempt anywhere', async () => {
    const before = log(normal, 'dovecot.log');
    const { result, login, report } = await run(normal, 'wrong', ['--password-env', 'MP_WRONG']);
    expect(result.code).toBe(1);
    // The README's journey shows this run: the same lines at 120 columns, the run's duration aside.
    const sample = readmeBlock(
      '`mailprobe mail.test --login alice@mail.test --password-env MAIL_PASSWORD --ca ca.pem`',
    );
    expect(blankTimes(sample).split('\n')).toEqual(blankTimes(result.stdout).split('\n'));
    expect(login(465)).toMatchObject({ outcome: 'rejected', reply: expect.stringMatching(/^535 5\.7\.8 /) });
    for (const port of [993, 995, 587, 143, 110])
      expect(login(port)?.why, `${port}`).toBe(
        'the login was refused on port 465: no further attempt for this account (lockout safety)',
      );
    expect(report.findings.find((f) => f.id === 'login-rejected')?.evidence).toContain(
      'server: 535 5.7.8 Error: authentication failed: (reason unavailable)',
    );
    expect(
      report.findings
        .filter((f) => f.id === 'login-not-tried')
        .map((f) => f.port)
        .sort(),
    ).toEqual([110, 143, 587, 993, 995]);
    expect(count(log(normal, 'postfix.log'), /SASL PLAIN authentication failed/)).toBe(1);
    // Dovecot's own logins saw no attempt at all.
    const after = log(normal, 'dovecot.log').slice(before.length);
    expect(after).not.toMatch(/auth failed|Authentication failed/i);
  });

  it('a bearer token where only PLAIN and LOGIN are offered: not offered, nothing sent', async () => {
    const { login, report } = await run(normal, 'token', ['--token-env', 'MP_TOKEN', '--verbose']);
    for (const port of [465, 587, 993, 143, 995, 110])
      expect(login(port), `${port}`).toMatchObject({
        outcome: 'not-offered',
        offered: expect.arrayContaining(['PLAIN']),
      });
    expect(report.findings.filter((f) => f.id === 'login-not-offered')).toHaveLength(6);
    for (const port of report.ports)
      expect(port.transcript.some((e) => e.dir === 'C' && /^(?:mpl1 |AUTH |USER |PASS )/.test(e.text))).toBe(
        false,
      );
  });

  it('without the private CA: not tried, "no verified TLS", and no credential reaches a server', async () => {
    const sasl = count(log(normal, 'postfix.log'), /sasl_method|authentication failed/);
    const logins = count(log(normal, 'dovecot.log'), /Login: user=|auth failed/);
    const { login, report } = await run(normal, 'no-ca', ['--password-env', 'MP_RIGHT'], false);
    for (const port of [465, 587, 993, 143, 995, 110])
      expect(login(port)?.why, `${port}`).toMatch(/^no verified TLS: the chain did not verify/);
    expect(report.findings.filter((f) => f.id === 'login-no-verified-tls')).toHaveLength(6);
    expect(count(log(normal, 'postfix.log'), /sasl_method|authentication failed/)).toBe(sasl);
    expect(count(log(normal, 'dovecot.log'), /Login: user=|auth failed/)).toBe(logins);
  });

  it('delivery turned off: accepted with its queue id, "not arrived" after the wait', async () => {
    const { result, report } = await run(limited, 'deferred', [
      '--password-env',
      'MP_RIGHT',
      '--round-trip',
      '--round-trip-wait',
      '3',
      // The wait outlasts a port's deadline: the mailbox is still watched for the whole wait.
      '--limit',
      'portMs=2000',
      '--expect',
      '465=login,delivery<=3',
      '--expect',
      '993=login',
    ]);
    const junit = readFileSync(join(limited?.root ?? '', 'deferred-out', 'report.xml'), 'utf8');
    expect(junit).toMatch(
      /<failure message="expected delivery&lt;=3s, observed accepted but not arrived in \d+(?:\.\d)? s"/,
    );
    expect(result.code).toBe(1);
    const trip = report.roundTrip;
    expect(trip).toMatchObject({ accepted: true, deleted: false, submittedOn: 465 });
    expect(trip?.arrivedAfterS).toBeUndefined();
    expect(trip?.waitedS).toBeGreaterThanOrEqual(3);
    const finding = report.findings.find((f) => f.id === 'round-trip-not-arrived');
    expect(finding?.detail).toMatch(
      new RegExp(`queue id ${trip?.queueId}\\) but not in the mailbox after \\d`),
    );
    expect(log(limited, 'postfix.log')).toMatch(
      new RegExp(`${trip?.queueId}: .*status=deferred \\(deferred transport\\)`),
    );
  });

  it('a rate limit after a failure reads as locked (Postfix anvil, 450 4.7.1)', async () => {
    const wrong = await run(limited, 'limit-wrong', ['--ports', '587', '--password-env', 'MP_WRONG']);
    expect(wrong.login(587)?.outcome).toBe('rejected');
    const right = await run(limited, 'limit-right', ['--ports', '587', '--password-env', 'MP_RIGHT']);
    expect(right.login(587)).toMatchObject({
      outcome: 'locked',
      reply: expect.stringMatching(/^450 4\.7\.1 Error: too many AUTH commands/),
    });
    expect(right.report.findings.map((f) => f.id)).toContain('login-locked');
  });

  it('leaks no secret: no output of any run holds the password, the token or any encoding of them', async () => {
    // One more run of each format on stdout (with the token: after the failures above, Dovecot's penalty would
    // slow a password run; the reports the runs above wrote to files hold the exchanges).
    for (const format of ['json', 'junit', 'markdown', 'openmetrics', 'plugin'])
      await run(normal, `format-${format}`, ['--token-env', 'MP_TOKEN', '--format', format, '--verbose']);
    expect(outputs.length).toBeGreaterThan(40);
    const forms = credentials.flatMap((c) => secretForms(c));
    expect(forms.length).toBeGreaterThan(12);
    for (const { what, text } of outputs)
      for (const form of forms) expect(text.includes(form), `${what} holds ${form.slice(0, 4)}…`).toBe(false);
    // The scan can fail: the transcripts do show where each secret went, as placeholders.
    expect(outputs.some((o) => o.text.includes('<credentials, base64: '))).toBe(true);
  });
});
