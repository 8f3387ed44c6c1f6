/**
 * Port 25 as a sending server meets it (issue 26): the opt-in proof that TLS is required (`--check
 * tls-required`) against the real Postfix with smtpd_tls_security_level=encrypt and =may, and REQUIRETLS (RFC
 * 8689). Postfix 3.7 does not offer REQUIRETLS, so that case is a scripted fixture server (src/demo/servers.ts
 * with a per-command reply), which advertises it after TLS only, or before TLS only.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probePort } from '../src/probe/port.js';
import { fixtureServers } from './helpers/fixtures.js';
import { MailHost, mailServersMissing, makeTls } from './helpers/mail-servers.js';
import { netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';
import { findingIds, testCa, testLimits } from './helpers/probe.js';
import { validReport } from './helpers/schema.js';

const { fixture } = fixtureServers();

describe('REQUIRETLS (scripted fixture: Postfix 3.7 does not offer it)', () => {
  const ehlo = (tls: boolean, before: boolean, after: boolean) =>
    [
      '250-localhost',
      ...(tls ? [] : ['250-STARTTLS']),
      ...((tls ? after : before) ? ['250-REQUIRETLS'] : []),
      '250 8BITMIME',
      '',
    ].join('\r\n');
  const probe = async (before: boolean, after: boolean) => {
    const port = await fixture({
      protocol: 'smtp',
      tls: 'starttls',
      on: (line, { tls }) => (line.startsWith('EHLO ') ? ehlo(tls, before, after) : undefined),
    });
    return probePort({
      address: '127.0.0.1',
      family: 4,
      port,
      service: 'smtp',
      servername: 'localhost',
      ca: testCa,
      limits: testLimits,
    });
  };

  it('advertised in the EHLO after TLS: requiretls-offered, with the line as evidence', async () => {
    const result = await probe(false, true);
    expect(findingIds(result)).toContain('requiretls-offered');
  });
  it('advertised only before TLS: not taken (a man in the middle writes that EHLO)', async () => {
    const result = await probe(true, false);
    expect(result.capabilities?.list).toContain('REQUIRETLS');
    expect(findingIds(result)).not.toContain('requiretls-offered');
  });
});

const missing = netnsMissing() ?? mailServersMissing();
if (missing && process.env.CI) {
  it('real Postfix prerequisites', () => {
    throw new Error(`CI=true and the tls-required tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping the tls-required tests: ${missing}`);
}

interface Report {
  hosts: {
    ports: {
      checks?: { tlsRequired?: { verdict: string; reply?: string } };
      transcript: { dir: string; text: string }[];
    }[];
    findings: { id: string; evidence: string[] }[];
  }[];
}

describe.skipIf(missing !== undefined)('--check tls-required against the real Postfix', () => {
  let root = '';
  let tls = '';
  beforeAll(() => {
    sweepStaleNamespaces();
    root = mkdtempSync(join(tmpdir(), 'mailprobe-tls-required-'));
    chmodSync(root, 0o755);
    tls = join(root, 'tls');
    makeTls(tls, 'mail.test');
  }, 30_000);
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function run(name: string, requireTlsOn25: boolean): Promise<Report> {
    const dir = join(root, name);
    mkdirSync(dir, { mode: 0o755 });
    const host = new MailHost(dir, tls);
    try {
      host.start({
        cert: 'server',
        postfix: { services: ['smtp'], starttlsOn25: true, requireTlsOn25, authBeforeTls: false },
      });
      const out = await host.mailprobe([
        'mail.test',
        '--ports',
        '25',
        '-4',
        '--check',
        'tls-required',
        '--ca',
        join(tls, 'ca.pem'),
        '--timeout',
        '3000',
        '--json',
      ]);
      return validReport<Report>(out.stdout);
    } finally {
      host.stop();
    }
  }

  it('smtpd_tls_security_level=encrypt: 530 5.7.0 to MAIL before STARTTLS proves it; RSET and QUIT, never RCPT', async () => {
    const report = await run('encrypt', true);
    const port = report.hosts[0]?.ports[0];
    expect(port?.checks?.tlsRequired).toMatchObject({ verdict: 'proven' });
    expect(port?.checks?.tlsRequired?.reply).toMatch(/^530 5\.7\.0 .*STARTTLS/);
    expect(report.hosts[0]?.findings.map((f) => f.id)).toContain('tls-required-proven');
    const sent = (port?.transcript ?? []).filter((e) => e.dir === 'C').map((e) => e.text);
    expect(sent).toContain('MAIL FROM:<>');
    expect(sent.slice(sent.indexOf('MAIL FROM:<>'))).toEqual(['MAIL FROM:<>', 'RSET', 'QUIT']);
    expect(sent.some((line) => /^(RCPT|DATA)/.test(line))).toBe(false);
  }, 60_000);

  it('smtpd_tls_security_level=may: MAIL is taken before TLS, no proof', async () => {
    const report = await run('may', false);
    expect(report.hosts[0]?.ports[0]?.checks?.tlsRequired).toMatchObject({ verdict: 'not-required' });
    expect(report.hosts[0]?.findings.map((f) => f.id)).not.toContain('tls-required-proven');
  }, 60_000);
});
