/**
 * The HTML report without a browser: every string a server sent is planted with hostile text (markup, a
 * script, an attribute break-out, bidi and zero-width characters, controls, a very long line) and the page,
 * parsed by parse5, holds no element or attribute that came from it; the page says the answer, the ports, the
 * certificates, the findings with evidence and references, the dialogues and where it was run from; `--html`
 * writes it from the bundled CLI, a failure writes a page that says why, and the HTML renderer stays out of
 * the bundles every probe loads. serve's page: the form, and the report with the same refusals as /probe.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProbeServer } from '../src/modes/serve.js';
import { renderHtml, renderHtmlFailure, shellCommand, text } from '../src/render/html.js';
import { evaluate } from '../src/rules/evaluate.js';
import { outcome } from '../src/rules/outcome.js';
import type { HostResult, PortResult } from '../src/types/index.js';
import { cli, root } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';
import { expectInertHtml } from './helpers/html.js';
import { probe } from './helpers/probe.js';

const { fixture } = fixtureServers();

/** What a hostile server puts in every string it controls. */
const long = `L${'x'.repeat(4000)}`;
const payload = `<script>alert(1)</script>"><img src=x onerror=alert(2)>'><svg/onload=alert(3)>&amp;\u202eevil\u200bzw\u2066iso\u0000nul\u001b[2J\u009b31m ${long}`;
/** Markers that must never reach an attribute. */
const markers = ['alert(', 'onerror', 'evil', long.slice(0, 50)];

/** Keys whose values the engine chose (enumerations, times): left as they are, the rules read them. */
const engineKeys = new Set([
  'status',
  'service',
  'protocol',
  'expectedTls',
  'dir',
  'kind',
  'role',
  'failedPhase',
  'detected',
  'verdict',
  'outcome',
  'tried',
  'startedAt',
  'validFrom',
  'validTo',
  'certStatus',
  'responseStatus',
  'field',
  'address',
  'localAddress',
  'sha256',
  'keyType',
  'command',
  'problems',
  'way',
  'authMechanisms',
]);

/** Every other string of the result, with the payload appended: what a server could have put there. */
function poison<T>(value: T, key = ''): T {
  if (typeof value === 'string') return (engineKeys.has(key) ? value : `${value}${payload}`) as T;
  if (Array.isArray(value)) return value.map((item) => poison(item, key)) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, engineKeys.has(k) ? v : poison(v, k)]),
    ) as T;
  return value;
}

function host(ports: PortResult[]): HostResult {
  return {
    host: `mail.example${payload}`,
    servername: 'localhost',
    notes: [`a note${payload}`],
    addresses: [{ address: '127.0.0.1', family: 4 }],
    resolveMs: 0,
    startedAt: new Date().toISOString(),
    durationMs: 12,
    ports,
  };
}

describe('the HTML report', () => {
  it('renders every server string as text: no element or attribute comes from a server', async () => {
    const starttls = await fixture({ protocol: 'smtp', tls: 'starttls', authBeforeTls: true });
    const implicit = await fixture({ protocol: 'imap', tls: 'implicit' });
    const results = [
      await probe(starttls, 'submission', {}),
      await probe(implicit, 'imaps', { servername: 'mail.example.test' }),
    ];
    const poisoned = results.map((result) => poison(result));
    expect(JSON.stringify(poisoned)).toContain('onerror');
    const verdict = evaluate(host(poisoned));
    const html = renderHtml([verdict], outcome([verdict], 'high'), undefined, {
      command: shellCommand(['mailprobe', `x${payload}`]),
    });
    const { text: shown } = expectInertHtml(html, markers);
    // The hostile text is on the screen as text, its invisible characters made visible.
    expect(shown).toContain('<script>alert(1)</script>"><img src=x onerror=alert(2)>');
    expect(shown).toContain('<U+202E>evil<U+200B>zw<U+2066>iso␀nul␛[2J\\x9b31m');
    expect(shown).toContain(long);
    // A certificate field, a greeting, a capability and a transcript line each carried it.
    expect(poisoned[1]?.tls?.chain?.[0]?.subject).toContain('onerror');
    for (const where of ['Ports', 'Certificates', 'Findings', 'Dialogues', 'Where this was run from'])
      expect(shown).toContain(where);
  });

  it('without the escaping, the same page would carry the server’s elements (the check can fail)', () => {
    const unescaped = `<!DOCTYPE html><html lang="en"><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-x'; img-src 'none'; base-uri 'none'; form-action 'self'"><style></style></head><body><p>${payload}</p></body></html>`;
    expect(() => expectInertHtml(unescaped, markers)).toThrow();
    expect(text('<a href="x">')).toBe('&lt;a href=&quot;x&quot;&gt;');
  });

  it('says the answer first, the ports, the chain as sent with its trust path, findings with evidence and RFCs', async () => {
    const starttls = await fixture({ protocol: 'imap', tls: 'starttls', authBeforeTls: true });
    const implicit = await fixture({ protocol: 'imap', tls: 'implicit' });
    const verdict = evaluate(
      host([await probe(starttls, 'imap'), await probe(implicit, 'imaps', { servername: 'other.test' })]),
    );
    const html = renderHtml([verdict], outcome([verdict], 'high'), undefined, { command: 'mailprobe x' });
    const { text: shown } = expectInertHtml(html);
    const answerAt = shown.indexOf('Works from here: 2 of 2 ports');
    expect(answerAt).toBeGreaterThan(0);
    expect(answerAt).toBeLessThan(shown.indexOf('Ports'));
    expect(shown).toMatch(/Safe: 0 of 2 · ✗ FAILED: 2 findings at or above high/);
    expect(shown).toContain('✗ the name does not match');
    expect(shown).toContain('leaf “CN=localhost” → root “CN=mailprobe test CA” (trust store)');
    expect(shown).toMatch(/RSA 2048 · sha256WithRSAEncryption/);
    expect(shown).toContain('cleartext-auth-before-tls');
    expect(shown).toContain('Reference: RFC 8314');
    expect(shown).toContain('CAPABILITY before TLS lists');
    expect(html).toMatch(/<details><summary>\d+ 127\.0\.0\.1 imap: open/);
    expect(shown).toMatch(/local address127\.0\.0\.1/);
    expect(shown).toContain('mailprobe x');
  });

  it("renders a finding's fixes when it has them, whatever their shape", async () => {
    const port = await fixture({ protocol: 'smtp', tls: 'none' });
    const verdict = evaluate(host([await probe(port, 'smtp')]));
    const finding = verdict.findings[0];
    expect(finding).toBeDefined();
    Object.assign(finding as object, {
      fixes: [{ server: 'Postfix', file: 'main.cf', settings: ['smtpd_tls_security_level = may'] }],
    });
    const { text: shown } = expectInertHtml(renderHtml([verdict], outcome([verdict], 'high')));
    expect(shown).toContain('Fix');
    expect(shown).toContain('smtpd_tls_security_level = may');
  });

  it('from a domain: the hosts found, the settings, the published check, then one section a host', async () => {
    const port = await fixture({ protocol: 'imap', tls: 'implicit' });
    const one = evaluate({
      ...host([await probe(port, 'imaps')]),
      host: 'mx1.example.test',
      publishedBy: ['MX 10'],
    });
    const two = evaluate({
      ...host([await probe(port, 'imaps')]),
      host: 'mail.example.test',
      publishedBy: ['guess'],
    });
    const discovery = {
      domain: 'example.test',
      email: 'alice@example.test',
      records: [],
      candidates: [
        { host: 'mx1.example.test', ports: [], sources: ['MX 10'] },
        { host: 'mail.example.test', ports: [], sources: ['guess'] },
      ],
      leftOut: [`mx9.example.test${payload}`],
      settings: {
        incoming: {
          host: 'mx1.example.test',
          port: 993,
          protocol: 'IMAP' as const,
          security: 'TLS' as const,
          source: 'MX 10',
        },
        notes: [`a note${payload}`],
      },
    };
    const html = renderHtml([one, two], outcome([one, two], 'high'), discovery, {
      command: 'mailprobe alice@example.test',
    });
    const { text: shown } = expectInertHtml(html, markers);
    expect(shown).toContain('Settings for a mail client: alice@example.test');
    expect(shown).toContain('mx1.example.test (MX 10)');
    expect(shown).toMatch(/incomingmx1\.example\.test, port 993, IMAP, TLS/);
    expect(shown).toContain('outgoing✗ none works safely');
    // A list of the hosts, each a link to its section.
    expect(html).toMatch(/<nav aria-label="Hosts">.*href="#host-\d+">mx1\.example\.test<\/a>/s);
    expect(html.match(/<h2 id="host-\d+">mailprobe: /g)).toHaveLength(2);
    expect(shown).toContain('MX 10 · 127.0.0.1');
  });

  it('--mta-sts: the transport policy as a table (mode, refused MX, TLS-RPT), server text escaped', () => {
    const discovery = {
      domain: 'example.test',
      records: [],
      candidates: [],
      settings: { notes: [] },
      transport: {
        stsRecord: { name: '_mta-sts.example.test', outcome: 'found', records: ['v=STSv1; id=1'] },
        stsId: '1',
        policy: {
          version: 'STSv1',
          mode: 'enforce',
          mx: [`mx1.example.test${payload}`],
          maxAge: 86400,
          problems: [],
        },
        tlsRptRecord: { name: '_smtp._tls.example.test', outcome: 'found', records: [] },
        tlsRptRua: [`mailto:tlsrpt@example.test${payload}`],
      },
      publishedCheck: {
        checks: [],
        clients: [],
        findings: [
          {
            id: 'mta-sts-mode',
            severity: 'info',
            title: 't',
            detail: 'd',
            evidence: [],
            reference: 'RFC 8461',
          },
          {
            id: 'mta-sts-mx-refused',
            severity: 'critical',
            title: 't',
            detail: 'd',
            evidence: [`no mx pattern matches it${payload}`],
            reference: 'RFC 8461 §4.1',
            host: `mx2.example.test${payload}`,
          },
        ],
      },
    } as unknown as Parameters<typeof renderHtml>[2];
    const html = renderHtml([], outcome([], 'high'), discovery);
    const { text: shown } = expectInertHtml(html, markers);
    expect(html).toMatch(/<h2>Transport policy \(mail from other servers\)<\/h2>/);
    expect(shown).toMatch(/MTA-STSenforce · max_age 86400 s · mx mx1\.example\.test/);
    expect(shown).toMatch(/refusedmx2\.example\.test.*: no mx pattern matches it/);
    expect(shown).toMatch(/TLS-RPTmailto:tlsrpt@example\.test/);
    // Without --mta-sts or --dane, no such section.
    const { transport: _transport, ...withoutTransport } = discovery as NonNullable<typeof discovery>;
    const plain = renderHtml([], outcome([], 'high'), withoutTransport);
    expect(plain).not.toContain('Transport policy');
  });

  it('a run that fails before probing writes a page that says why', () => {
    const { text: shown } = expectInertHtml(renderHtmlFailure(`bad <b>${payload}`, 2), markers);
    expect(shown).toContain('✗ FAILED before any host was probed: bad <b><script>');
  });
});

describe('--html FILE from the bundled CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailprobe-html-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(root, 'bin/mailprobe.cjs');
  const run = (args: string[]) =>
    new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [bin, ...args], { timeout: 30_000 }, (error, _out, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stderr }),
      );
    });

  it('writes the demo as one page, with the command and the local address', async () => {
    const file = join(dir, 'demo.html');
    const { code } = await run(['demo', '--html', file]);
    expect(code).toBe(0);
    const html = readFileSync(file, 'utf8');
    const { text: shown } = expectInertHtml(html);
    expect(shown).toContain(`mailprobe demo --html ${file}`);
    expect(shown).toMatch(/Works from here: 6 of 7 ports/);
    expect(shown).toMatch(/local address127\.0\.0\.1/);
    expect(html.length).toBeLessThan(200 * 1024);
  });

  it('a bad --html is one line and exit 2; a failed run writes a page that says why', async () => {
    // Its own message, not "one <host> at a time" (yargs would take the lone "-" for a second host).
    expect(await run(['127.0.0.1', '--html', '-'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^mailprobe: --html: expected a FILE/),
    });
    expect(await run(['127.0.0.1', '--html', join(dir, 'no/such/dir.html')])).toMatchObject({ code: 2 });
    const file = join(dir, 'failed.html');
    const failed = await run(['no-such-host.invalid', '--html', file, '--timeout', '2000']);
    expect(failed.code).toBe(3);
    expect(expectInertHtml(readFileSync(file, 'utf8')).text).toContain('✗ FAILED before any host was probed');
  });

  it('batch --html-dir writes one page a target, named after its line, failures included', async () => {
    const port = await fixture({ protocol: 'smtp', tls: 'implicit' });
    const pages = join(dir, 'pages');
    mkdirSync(pages);
    const targets = join(dir, 'targets.txt');
    writeFileSync(targets, `127.0.0.1,${port},submissions\nbad host name!,25,smtp\n`);
    const run1 = await run([
      'batch',
      targets,
      '--html-dir',
      pages,
      '--ca',
      join(root, 'fixtures/tls/ca.pem'),
      '-q',
    ]);
    expect(run1.code).toBe(1);
    const files = readdirSync(pages).sort();
    expect(files).toEqual([
      expect.stringMatching(/^127\.0\.0\.1_\d+_submissions-[0-9a-f]{20}\.html$/),
      expect.stringMatching(/^bad_host_name_25_smtp-[0-9a-f]{20}\.html$/),
    ]);
    const good = expectInertHtml(readFileSync(join(pages, files[0] ?? ''), 'utf8')).text;
    expect(good).toMatch(/Works from here: 1 of 1 port · Safe: 1 of 1 · ✓ PASSED/);
    expect(good).toContain(`mailprobe batch ${targets} --html-dir ${pages}`);
    const bad = expectInertHtml(readFileSync(join(pages, files[1] ?? ''), 'utf8')).text;
    expect(bad).toContain('✗ FAILED before any host was probed: bad host name!,25,smtp:');
    expect(await run(['batch', targets, '--html-dir', join(dir, 'missing')])).toMatchObject({ code: 2 });
  });

  it("the library's entry mailprobe/html renders a judged host", async () => {
    const script = `import('mailprobe/html').then((m) => process.stdout.write(String(typeof m.renderHtml) + ' ' + String(typeof m.renderHtmlFailure)))`;
    const out = await new Promise<string>((resolve) =>
      execFile(process.execPath, ['-e', script], { cwd: root }, (_error, stdout) => resolve(stdout)),
    );
    expect(out).toBe('function function');
  });

  it('the HTML renderer is a bundle of its own, loaded only when a page is made', () => {
    for (const bundle of ['cli.cjs', 'engine.cjs', 'judge.cjs'])
      expect(readFileSync(join(root, 'dist/cli', bundle), 'utf8')).not.toContain('Content-Security-Policy');
    // The report's page is made after judging, from judge.cjs (cli/finish.ts), which the engine loads.
    expect(readFileSync(join(root, 'dist/cli/judge.cjs'), 'utf8')).toContain('"./html.cjs"');
    expect(readFileSync(join(root, 'dist/cli/engine.cjs'), 'utf8')).toContain('"./judge.cjs"');
    expect(readFileSync(join(root, 'dist/cli/html.cjs'), 'utf8')).toContain('Content-Security-Policy');
  });

  it('the bare CLI has the option in its help', async () => {
    const help = await cli(['--help']);
    expect(help.stdout).toMatch(/--html\s+write a self-contained HTML report to FILE/);
  });
});

describe("serve's page", () => {
  it('/ is the form; /report probes within --allow and the limits, and answers the same report', async () => {
    // serve probes the reference ports: a fixture on 587 of an address of its own.
    const address = `127.77.${Math.floor(Math.random() * 200) + 1}.${Math.floor(Math.random() * 200) + 1}`;
    await fixture({ protocol: 'smtp', tls: 'starttls', host: address, listenPort: 587 });
    const server = createProbeServer({ allow: [`${address}/32`], minIntervalMs: 60_000, maxConcurrent: 1 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      const form = await fetch(`${base}/`);
      expect(form.status).toBe(200);
      expect(form.headers.get('content-security-policy')).toMatch(
        /^default-src 'none'; .*frame-ancestors 'none'$/,
      );
      const formHtml = await form.text();
      expect(formHtml).toMatch(/<form method="get" action="\/report"/);
      expectInertHtml(formHtml, [], { form: true });

      const report = await fetch(`${base}/report?target=${address}&module=submission`);
      expect(report.status).toBe(200);
      const { text: shown } = expectInertHtml(await report.text(), [], { formValue: address, form: true });
      expect(shown).toContain('Works from here: 1 of 1 port');
      expect(shown).toContain(`mailprobe serve: GET /report?target=${address}&module=submission`);

      // The same limits as /probe: the minimum interval, --allow, and a bad target, each with the form again.
      const again = await fetch(`${base}/report?target=${address}&module=submission`);
      expect(again.status).toBe(429);
      expect(expectInertHtml(await again.text(), [], { formValue: address, form: true }).text).toContain(
        'was probed less than 60000 ms ago',
      );
      const loopback = await fetch(`${base}/report?target=127.0.0.1&module=submission`);
      expect(loopback.status).toBe(403);
      const hostile = `"><script>alert(1)</script>`;
      const bad = await fetch(`${base}/report?target=${encodeURIComponent(hostile)}&module=all`);
      expect(bad.status).toBe(400);
      const page = await bad.text();
      expect(expectInertHtml(page, ['alert('], { formValue: hostile, form: true }).text).toContain(
        `target: '${hostile}' is not a host name`,
      );
    } finally {
      await server.shutdown(100);
    }
  });
});
