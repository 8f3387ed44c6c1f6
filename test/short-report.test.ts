/**
 * The host report at 80 columns, rendered by the built CLI for fixture servers: a healthy host and one with a
 * common mistake on each port. Line counts, widths, the recap line, --verbose, the fix lines and the
 * --servername hint.
 */
import { describe, expect, it } from 'vitest';
import type { FixtureOptions } from '../src/demo/servers.js';
import { referenceFixtures } from '../src/demo/servers.js';
import type { Finding } from '../src/rules/finding.js';
import { greetingFamily } from '../src/rules/fixes.js';
import { cli } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';
import { validReport } from './helpers/schema.js';

const { fixture } = fixtureServers();

/** One common mistake per port, in the reference table's order. */
const mistakes: readonly [string, FixtureOptions][] = [
  ['smtp', { protocol: 'smtp', tls: 'starttls', cert: 'expired' }], // cert-expired (critical)
  ['submissions', { protocol: 'smtp', tls: 'implicit', cert: 'other' }], // cert-name-mismatch
  ['submission', { protocol: 'smtp', tls: 'starttls', authBeforeTls: true }], // cleartext-auth-before-tls
  ['imap', { protocol: 'imap', tls: 'none' }], // starttls-not-offered
  ['imaps', { protocol: 'imap', tls: 'implicit', cert: 'selfsigned' }], // cert-untrusted
  ['pop3', { protocol: 'pop3', tls: 'starttls', authBeforeTls: true }], // cleartext-auth-before-tls
  ['pop3s', { protocol: 'pop3', tls: 'implicit', maxVersion: 'TLSv1' }], // tls-legacy-version
];

/** Starts one server per entry and returns the CLI's --port arguments and the port of each service. */
async function host(entries: readonly (readonly [string, FixtureOptions])[]) {
  const ports = await Promise.all(
    entries.map(async ([service, options]) => [service, await fixture(options)] as const),
  );
  return {
    args: ports.flatMap(([service, port]) => ['--port', `${port}=${service}`]),
    port: Object.fromEntries(ports) as Record<string, number>,
  };
}

const common = ['--ca', 'fixtures/tls/ca.pem', '--timeout', '3000', '--no-color'];
const at80 = { COLUMNS: '80' };

function lines(stdout: string): string[] {
  return stdout.replace(/\n$/, '').split('\n');
}

describe('the host report at 80 columns', () => {
  it('a healthy host: at most 25 lines, none wider than 80, the recap last', async () => {
    const { args } = await host(referenceFixtures);
    const run = await cli(['127.0.0.1', '--servername', 'localhost', ...args, ...common], at80);
    expect(run.code, run.stderr).toBe(0);
    const all = lines(run.stdout);
    expect(all.length, run.stdout).toBeLessThanOrEqual(25);
    expect(all.filter((line) => [...line].length > 80)).toEqual([]);
    expect(all.at(-1)).toBe('PASSED · no findings');
    expect(run.stdout).toContain('no findings');
  });

  it('client settings: a role with no port probed says so, never "none works safely"', async () => {
    const { args } = await host([['submissions', { protocol: 'smtp', tls: 'implicit' }]]);
    const run = await cli(['127.0.0.1', '--servername', 'localhost', ...args, ...common], at80);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /settings for a mail client: incoming no port probed · outgoing localhost, port\s+\d+, SMTP, SSL\/TLS/,
    );
    // A reading port probed that is not safe: none works safely.
    const both = await host([
      ['submissions', { protocol: 'smtp', tls: 'implicit' }],
      ['imap', { protocol: 'imap', tls: 'none' }],
    ]);
    const second = await cli(['127.0.0.1', '--servername', 'localhost', ...both.args, ...common], at80);
    expect(second.stdout).toMatch(
      /settings for a mail client: incoming none works safely · outgoing localhost/,
    );
  });

  it('client settings: a submission port that offers no login says so, as the use: line does', async () => {
    // 587 over STARTTLS whose EHLO over TLS lists no AUTH (submission-auth-not-offered), and 993.
    const noAuth = (command: string, state: { tls: boolean }) =>
      state.tls && /^EHLO/i.test(command) ? '250-localhost greets you\r\n250 8BITMIME\r\n' : undefined;
    const { args, port } = await host([
      ['submission', { protocol: 'smtp', tls: 'starttls', on: noAuth }],
      ['imaps', { protocol: 'imap', tls: 'implicit' }],
    ]);
    const run = await cli(['127.0.0.1', '--servername', 'localhost', ...args, ...common], at80);
    expect(run.code, run.stderr).toBe(0);
    const all = lines(run.stdout);
    expect(all.filter((line) => [...line].length > 80)).toEqual([]);
    // Wrapped at 80 columns: read as one text.
    const text = run.stdout.replace(/\n +/g, ' ');
    const noLogin = `no port offers a login (${port.submission}: no AUTH over TLS)`;
    expect(text).toContain(`use: sending: ${noLogin} · reading ${port.imaps} (IMAP, TLS)`);
    expect(text).toContain(
      `settings for a mail client: incoming localhost, port ${port.imaps}, IMAP, SSL/TLS · outgoing ${noLogin}`,
    );
    expect(text).not.toContain('none works safely');
    // The same in the JSON: the recommendation names the port left out.
    const json = await cli(['127.0.0.1', '--servername', 'localhost', ...args, ...common, '--json']);
    const report = validReport<{ hosts: { recommendation: { sending: unknown[]; noLogin?: number[] } }[] }>(
      json.stdout,
    );
    expect(report.hosts[0]?.recommendation).toMatchObject({ sending: [], noLogin: [port.submission] });
  });

  it('one mistake per port: at most 40 lines, none wider than 80, one count, the recap last and right', async () => {
    const { args, port } = await host(mistakes);
    const run = await cli(['127.0.0.1', '--servername', 'localhost', ...args, ...common], at80);
    expect(run.code, run.stderr).toBe(1);
    const all = lines(run.stdout);
    expect(all.length, run.stdout).toBeLessThanOrEqual(40);
    expect(all.filter((line) => [...line].length > 80)).toEqual([]);
    // The most severe finding first; ties would go by the table's order.
    expect(all.at(-1)).toBe(`FAILED · 1 critical, 6 high · fix first: cert-expired on ${port.smtp}`);
    // One unit: the verdict line's count of findings is the findings section's.
    expect(run.stdout).toMatch(/FAILED: 7 findings at or above\s+high/);
    expect(run.stdout).toContain('7 findings on 7 ports');
    // Each finding: severity, id, where, meaning; then its fix. No evidence, no RFC without --verbose.
    expect(run.stdout).toMatch(
      new RegExp(`high {5}cleartext-auth-before-tls on ${port.submission}, ${port.pop3} · password`),
    );
    expect(run.stdout).toContain('fix: offer logging in only after TLS');
    expect(run.stdout).not.toMatch(/ref: RFC|lists: /);
  });

  it("fix first: the most severe finding; between equals, the first in the table's order", async () => {
    const imap = await fixture({ protocol: 'imap', tls: 'none' }); // starttls-not-offered, high
    const submission = await fixture({ protocol: 'smtp', tls: 'starttls', authBeforeTls: true }); // cleartext, high
    const last = async (ports: string[]) =>
      lines((await cli(['127.0.0.1', '--servername', 'localhost', ...ports, ...common], at80)).stdout).at(-1);
    const imapFirst = ['--port', `${imap}=imap`, '--port', `${submission}=submission`];
    const submissionFirst = ['--port', `${submission}=submission`, '--port', `${imap}=imap`];
    expect(await last(imapFirst)).toBe(`FAILED · 2 high · fix first: starttls-not-offered on ${imap}`);
    expect(await last(submissionFirst)).toBe(
      `FAILED · 2 high · fix first: cleartext-auth-before-tls on ${submission}`,
    );
  });

  it("--verbose brings back the detail, each server's setting, the evidence whole, and the RFC", async () => {
    const { args, port } = await host(mistakes);
    const run = await cli(['127.0.0.1', '--servername', 'localhost', ...args, ...common, '--verbose'], at80);
    const all = lines(run.stdout);
    expect(all.filter((line) => [...line].length > 80)).toEqual([]);
    expect(all.at(-1)).toBe(`FAILED · 1 critical, 6 high · fix first: cert-expired on ${port.smtp}`);
    expect(run.stdout).toContain('ref: RFC 8314 §3.3 and §4.1; RFC 4954 §4');
    expect(run.stdout).toMatch(/CAPA before TLS lists: [\s\S]*SASL PLAIN/);
    expect(all.filter((line) => line.endsWith('…'))).toEqual([]);
    // A setting is never broken inside: each stands whole on a line.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Exim's expansion syntax, not a template
    expect(run.stdout).toContain('auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}');
    expect(run.stdout).toContain('Postfix main.cf: smtpd_tls_auth_only = yes');
    expect(run.stdout).toContain('Dovecot conf.d/10-auth.conf: disable_plaintext_auth = yes');
    expect(run.stdout).toContain('Dovecot conf.d/10-ssl.conf: ssl_min_protocol = TLSv1.2');
    // Node's "TLSv1" is TLS 1.0, and is written so.
    expect(run.stdout).toMatch(/TLS 1\.0 ·/);
    expect(run.stdout).not.toMatch(/TLS 1 /);
  });
});

describe('fixes people can paste', () => {
  it("JSON and Markdown carry each server's setting for the port's protocol", async () => {
    const { args, port } = await host(mistakes);
    // Valid against schema/report-1.schema.json, which lists fixes (additive, no new version).
    const json = validReport<{ hosts: { findings: Finding[] }[] }>(
      (await cli(['127.0.0.1', '--servername', 'localhost', ...args, ...common, '--json'])).stdout,
    );
    const finding = (id: string, p: number | undefined) =>
      json.hosts[0]?.findings.find((f) => f.id === id && f.port === p);
    expect(finding('cleartext-auth-before-tls', port.submission)?.fixes).toEqual([
      { server: 'postfix', file: 'main.cf', setting: 'smtpd_tls_auth_only = yes' },
      {
        server: 'exim',
        file: 'configure (main)',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Exim's expansion syntax, not a template
        setting: 'auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}',
      },
    ]);
    expect(finding('cleartext-auth-before-tls', port.pop3)?.fixes).toEqual([
      {
        server: 'dovecot',
        file: 'conf.d/10-auth.conf',
        setting: 'disable_plaintext_auth = yes',
        note: 'Dovecot 2.4: auth_allow_cleartext = no',
      },
    ]);
    expect(finding('tls-legacy-version', port.pop3s)?.fixes?.map((f) => f.setting)).toEqual([
      'ssl_min_protocol = TLSv1.2',
    ]);
    const markdown = (
      await cli(['127.0.0.1', '--servername', 'localhost', ...args, ...common, '--format', 'markdown'])
    ).stdout;
    expect(markdown).toContain('fix (Postfix, `main.cf`): `smtpd_tls_auth_only = yes`');
    // Evidence and the RFC stay in the Markdown (and the JSON) while the human report moves them to --verbose.
    expect(markdown).toContain('  - evidence: CAPA before TLS lists:');
    expect(markdown).toContain('  - ref: RFC 8314 §3.3 and §4.1; RFC 4954 §4');
    expect(finding('cert-expired', port.smtp)?.evidence.length).toBeGreaterThan(0);
    expect(markdown).toContain('fix (Dovecot, `conf.d/10-ssl.conf`): `ssl_min_protocol = TLSv1.2`');
  });

  it("a greeting that names the server gives that server's setting on the finding's line", async () => {
    const postfix = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      authBeforeTls: true,
      greeting: '220 mail.test ESMTP Postfix (Debian/GNU)\r\n',
    });
    const run = await cli(
      ['127.0.0.1', '--servername', 'localhost', '--port', `${postfix}=submission`, ...common],
      at80,
    );
    expect(run.stdout).toMatch(
      /cleartext-auth-before-tls on \d+ · password[\s\S]*?\n\s+fix: Postfix main\.cf: smtpd_tls_auth_only = yes\n/,
    );
  });

  it('the server is read from its greeting only when it names itself there', () => {
    const port = (line: string, protocol: 'smtp' | 'imap' | 'pop3' = 'smtp') => ({
      protocol,
      greeting: { lines: [line] } as never,
    });
    expect(greetingFamily(port('mail.test ESMTP Postfix (Debian/GNU)'))).toBe('postfix');
    expect(greetingFamily(port('mx.example ESMTP Exim 4.96 Mon, 07 Dec 2026'))).toBe('exim');
    expect(greetingFamily(port('Dovecot (Debian) ready.', 'imap'))).toBe('dovecot');
    expect(greetingFamily(port('mail.postfix.org ESMTP'))).toBeUndefined();
    expect(greetingFamily(port('Dovecot ready.', 'smtp'))).toBeUndefined();
    expect(greetingFamily(port('mail.test ESMTP'))).toBeUndefined();
  });

  it('an IP address whose every TLS port fails the name check: the report says to pass --servername', async () => {
    // Certificates for other.example only: checked against 127.0.0.1, every TLS port fails the name.
    const { args } = await host(
      referenceFixtures.map(
        ([service, options]) => [service, { ...options, cert: 'other' as const }] as const,
      ),
    );
    const run = await cli(['127.0.0.1', ...args, ...common], at80);
    expect(run.stdout).toMatch(/hint: no certificate names 127\.0\.0\.1: pass --servername NAME/);
    expect(lines(run.stdout).filter((line) => [...line].length > 80)).toEqual([]);
    const markdown = await cli(['127.0.0.1', ...args, ...common, '--format', 'markdown']);
    expect(markdown.stdout).toContain('pass `--servername NAME`');
    const named = await cli(['127.0.0.1', '--servername', 'other.example', ...args, ...common], at80);
    expect(named.stdout).not.toContain('--servername');
    // A name that fails is not helped by --servername: no hint.
    const wrongName = await cli(['127.0.0.1', '--servername', 'localhost', ...args, ...common], at80);
    expect(wrongName.stdout).toContain('cert-name-mismatch');
    expect(wrongName.stdout).not.toContain('--servername');
  });
});
