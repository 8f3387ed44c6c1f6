/**
 * `--show-certs`: each chain as the server sent it, in PEM, as `openssl s_client -showcerts` prints it. Fixture
 * servers send the committed TLS material (fixtures/tls); the built CLI's output must parse as certificates
 * equal to that material, in the order sent, and a chain sent on two ports is printed once naming both.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture, tlsFile } from '../src/demo/servers.js';
import { renderChainsPem } from '../src/render/pem.js';
import { cli } from './helpers/cli.js';
import { validReport } from './helpers/schema.js';

/** The PEM blocks of a text, in order. */
function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----\n[\s\S]*?\n-----END CERTIFICATE-----/g) ?? [];
}

const leaf = tlsFile('server.pem');
const ca = tlsFile('ca.pem');
const other = tlsFile('other.pem');
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

let imaps: Fixture;
let submission: Fixture;
let pop3s: Fixture;
let dir = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-show-certs-'));
  // The same two-certificate chain (leaf, then its CA) on an implicit-TLS port and after STARTTLS.
  const chain = { key: tlsFile('server.key'), cert: `${leaf}${ca}` };
  imaps = await startFixture({ protocol: 'imap', tls: 'implicit', tlsMaterial: chain });
  submission = await startFixture({ protocol: 'smtp', tls: 'starttls', tlsMaterial: chain });
  pop3s = await startFixture({ protocol: 'pop3', tls: 'implicit', cert: 'other' });
});
afterAll(async () => {
  await Promise.all([imaps?.close(), submission?.close(), pop3s?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('--show-certs', () => {
  it('prints each chain as sent, in PEM, once per distinct chain, naming its ports', async () => {
    const json = join(dir, 'report.json');
    const run = await cli([
      '127.0.0.1',
      '--port',
      `${imaps.port}=imaps`,
      '--port',
      `${submission.port}=submission`,
      '--port',
      `${pop3s.port}=pop3s`,
      '--servername',
      'localhost',
      '--timeout',
      '2000',
      '--show-certs',
      '--json-file',
      json,
    ]);
    expect(run.stderr).toBe('');
    // The certificates are self-made: findings, so exit 1, as without --show-certs.
    expect([0, 1]).toContain(run.code);
    // Two distinct chains: leaf+CA (on two ports), then other.pem's single certificate, in probe order.
    const blocks = pemBlocks(run.stdout);
    expect(blocks.map(fingerprint)).toEqual([leaf, ca, other].map(fingerprint));
    for (const block of blocks) expect(() => new X509Certificate(block)).not.toThrow();
    const sections = run.stdout.split(/^# chain of /m).slice(1);
    expect(sections).toHaveLength(2);
    expect(sections[0]).toContain(
      `# 127.0.0.1: ${imaps.port} (imaps), ${submission.port} (submission, STARTTLS)`,
    );
    expect(sections[0]).toMatch(/^2 certificates, leaf first/);
    expect(sections[0]).toContain(`# 0 s:${new X509Certificate(leaf).subject.split('\n').join(', ')}`);
    expect(sections[1]).toContain(`# 127.0.0.1: ${pop3s.port} (pop3s)`);
    expect(pemBlocks(sections[1] ?? '').map(fingerprint)).toEqual([fingerprint(other)]);
    // Every non-PEM line is a comment, so the output is a PEM file as it stands.
    const outside = run.stdout.replace(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g, '');
    for (const line of outside.split('\n').filter(Boolean)) expect(line).toMatch(/^#/);
    // The JSON report keeps the PEM on each chain entry when --show-certs is asked, and validates.
    const report = validReport<{ hosts: { ports: { tls?: { chain?: { pem?: string }[] } }[] }[] }>(
      readFileSync(json, 'utf8'),
    );
    const pems = report.hosts[0]?.ports.flatMap((port) => port.tls?.chain?.map((c) => c.pem) ?? []);
    expect(pems?.map((pem) => fingerprint(pem ?? ''))).toEqual([leaf, ca, leaf, ca, other].map(fingerprint));
  });

  it('keeps no PEM in the JSON without it', async () => {
    const run = await cli(['127.0.0.1', '--port', `${imaps.port}=imaps`, '--timeout', '2000', '--json']);
    const report = validReport<{ hosts: { ports: { tls?: { chain?: object[] } }[] }[] }>(run.stdout);
    const chain = report.hosts[0]?.ports[0]?.tls?.chain ?? [];
    expect(chain).toHaveLength(2);
    for (const entry of chain) expect(entry).not.toHaveProperty('pem');
  });

  it('refuses another format on stdout', async () => {
    const run = await cli(['127.0.0.1', '--show-certs', '--format', 'json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--show-certs and --format json both say what goes to stdout/);
  });

  it('renders a port without TLS, and a chain whose PEM was not kept, as comments', () => {
    const text = renderChainsPem([
      {
        host: 'mail.example.test',
        ports: [
          { port: 25, service: 'smtp', address: '192.0.2.1', status: 'closed' },
          {
            port: 993,
            service: 'imaps',
            address: '192.0.2.1',
            status: 'ok',
            tls: { chain: [{ index: 0, subject: 'CN=a\u001b[31m', issuer: 'CN=b', sha256: 'AA:BB' }] },
          },
        ],
      },
    ] as never);
    expect(pemBlocks(text)).toEqual([]);
    expect(text).toContain('# 0 s:CN=a␛[31m');
    expect(text).toContain('#   (not kept: SHA-256 AA:BB)');
    expect(text).toContain('# 192.0.2.1: 25 (smtp): closed');
    expect(text).not.toContain('\u001b');
  });
});
