/**
 * Certificates judged as a careful default client judges them: a test PKI made now with openssl
 * (fixtures/tls/make-chains.sh), served by fixture servers, probed by the built CLI as a user runs it.
 * Each case asserts the status, the findings, `safe` and the exit code.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture } from '../src/demo/servers.js';
import { cli, root } from './helpers/cli.js';
import { opensslMissing } from './helpers/mail-servers.js';
import { validReport } from './helpers/schema.js';

const missing = opensslMissing();
if (missing && process.env.CI) {
  it('certificate test prerequisites', () => {
    throw new Error(`CI=true and the certificate tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping certificate-chain tests: ${missing}`);
}

interface ChainEntry {
  index: number;
  role: string;
  keyBits: number;
  keyType: string;
  signatureAlgorithm: string;
  problems: string[];
  ca: boolean;
  daysLeft: number;
}
interface PortReport {
  status: string;
  works: boolean;
  safe: boolean | null;
  findings: string[];
  tls?: {
    trusted: boolean;
    nameMatches: boolean;
    checkedName: string;
    trustProblems: { kind: string; certificate: string; detail: string }[];
    chain: ChainEntry[];
    ocsp?: { certStatus?: string; responseStatus: string };
  };
}
interface Report {
  hosts: {
    servername: string;
    notes?: string[];
    ports: PortReport[];
    findings: { id: string; severity: string; detail: string }[];
  }[];
}

let dir = '';
const read = (name: string) => readFileSync(join(dir, name), 'utf8');

beforeAll(() => {
  if (missing) return;
  dir = mkdtempSync(join(tmpdir(), 'mailprobe-chains-'));
  execFileSync('bash', [join(root, 'fixtures/tls/make-chains.sh'), dir], { stdio: 'ignore' });
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Serves CASE on an implicit-TLS IMAP port, probes it as mail.example.test (or `name`), returns the run. */
async function probeCase(
  chain: string,
  options: { name?: string; ocsp?: string; trustRoot?: boolean; extra?: string[] } = {},
) {
  const fixture = await startFixture({
    protocol: 'imap',
    tls: 'implicit',
    tlsMaterial: { key: read(`${chain}.key`), cert: read(`${chain}.pem`) },
    ...(options.ocsp ? { ocspResponse: readFileSync(join(dir, options.ocsp)) } : {}),
  });
  try {
    const run = await cli([
      '127.0.0.1',
      '--json',
      '--port',
      `${fixture.port}=imaps`,
      '--servername',
      options.name ?? 'mail.example.test',
      ...(options.trustRoot === false ? [] : ['--ca', join(dir, 'root.pem')]),
      '--timeout',
      '2000',
      ...(options.extra ?? []),
    ]);
    const report = validReport<Report>(run.stdout);
    const host = report.hosts[0];
    const port = host?.ports[0];
    if (!host || !port) throw new Error(`no port in the report: ${run.stderr}`);
    return { code: run.code, host, port, stderr: run.stderr };
  } finally {
    await fixture.close();
  }
}

describe.skipIf(missing !== undefined)('certificate chains judged as a default client would', () => {
  const cases: {
    name: string;
    chain: string;
    findings: string[];
    safe: boolean;
    code: number;
    probeName?: string;
    trustRoot?: boolean;
  }[] = [
    { name: 'control: a good chain with an intermediate', chain: 'good', findings: [], safe: true, code: 0 },
    {
      name: 'control: a wildcard as the whole left-most label',
      chain: 'wildcard',
      findings: [],
      safe: true,
      code: 0,
    },
    {
      // Trusted first: the path ends at the trusted root; the expired copy is sent for nothing (low).
      name: "control: an expired cross-signed copy of the trusted root, still sent (the old Let's Encrypt chain)",
      chain: 'expired-cross',
      findings: ['cert-chain-order'],
      safe: true,
      code: 0,
    },
    {
      name: 'an expired intermediate, leaf in date',
      chain: 'expired-int',
      findings: ['cert-expired'],
      safe: false,
      code: 1,
    },
    {
      name: 'a not-yet-valid intermediate',
      chain: 'future-int',
      findings: ['cert-not-yet-valid'],
      safe: false,
      code: 1,
    },
    {
      name: 'a chain that ends in an untrusted root that has itself expired',
      chain: 'untrusted-expired-root',
      findings: ['cert-expired', 'cert-untrusted'],
      safe: false,
      code: 1,
    },
    {
      name: 'a SHA-1-signed leaf under a trusted root',
      chain: 'sha1',
      findings: ['cert-weak-signature'],
      safe: false,
      code: 1,
    },
    {
      name: 'a 768-bit RSA leaf under a trusted root',
      chain: 'rsa768',
      findings: ['cert-weak-key'],
      safe: false,
      code: 1,
    },
    {
      name: 'a certificate with no subjectAltName (CN only)',
      chain: 'cn-only',
      findings: ['cert-cn-only'],
      safe: false,
      code: 1,
    },
    {
      name: 'a partial wildcard m*.example.test',
      chain: 'partial-wildcard',
      findings: ['cert-name-mismatch'],
      safe: false,
      code: 1,
    },
    {
      name: 'control: an expired leaf',
      chain: 'expired-leaf',
      findings: ['cert-expired'],
      safe: false,
      code: 1,
    },
    {
      name: 'control: an issuer that is not a CA',
      chain: 'not-ca-issuer',
      findings: ['cert-untrusted'],
      safe: false,
      code: 1,
    },
    {
      name: 'a missing intermediate',
      chain: 'incomplete',
      findings: ['cert-chain-incomplete'],
      safe: false,
      code: 1,
    },
    {
      name: 'a chain sent out of order',
      chain: 'out-of-order',
      findings: ['cert-chain-order'],
      safe: true,
      code: 0,
    },
    {
      name: 'a chain with an unrelated certificate',
      chain: 'unrelated',
      findings: ['cert-chain-order'],
      safe: true,
      code: 0,
    },
    {
      name: 'a good chain without its root passed as --ca',
      chain: 'good',
      findings: ['cert-chain-incomplete'],
      safe: false,
      code: 1,
      trustRoot: false,
    },
    {
      name: 'the host typed with a trailing dot',
      chain: 'good',
      findings: [],
      safe: true,
      code: 0,
      probeName: 'mail.example.test.',
    },
    {
      name: 'an IDN typed as a U-label',
      chain: 'idn',
      findings: [],
      safe: true,
      code: 0,
      probeName: 'bücher.example.test',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.findings.join(', ') || 'no finding'}, ${c.safe ? 'safe' : 'not safe'}, exit ${c.code}`, async () => {
      const run = await probeCase(c.chain, {
        ...(c.probeName ? { name: c.probeName } : {}),
        ...(c.trustRoot === false ? { trustRoot: false } : {}),
      });
      expect(run.port.status).toBe('open');
      expect([...run.port.findings].sort()).toEqual([...c.findings].sort());
      expect(run.port.safe).toBe(c.safe);
      expect(run.code).toBe(c.code);
      // Never untrusted without a finding of high or above.
      if (run.port.tls && !run.port.tls.trusted)
        expect(run.host.findings.some((f) => ['high', 'critical'].includes(f.severity))).toBe(true);
    });
  }

  it('a date finding names the certificate it is about', async () => {
    const intermediate = await probeCase('expired-int');
    const finding = intermediate.host.findings.find((f) => f.id === 'cert-expired');
    expect(finding?.detail).toMatch(/^intermediate 1: CN=mailprobe test int-expired expired on 2026-01-02/);
    expect(intermediate.port.tls?.trusted).toBe(false);
    expect(intermediate.port.tls?.chain[1]?.problems).toEqual(['expired']);
    expect(intermediate.port.tls?.chain[0]?.problems).toEqual([]);
    const root = await probeCase('untrusted-expired-root');
    const details = root.host.findings.map((f) => `${f.id}: ${f.detail}`);
    expect(details).toContainEqual(
      expect.stringMatching(/^cert-expired: root: CN=untrusted expired root expired on 2025-01-01/),
    );
    expect(details).toContainEqual(
      expect.stringMatching(
        /^cert-untrusted: the chain ends in CN=untrusted expired root, a root that is not trusted/,
      ),
    );
    const leaf = await probeCase('expired-leaf');
    expect(leaf.host.findings.find((f) => f.id === 'cert-expired')?.detail).toMatch(
      /^leaf: CN=mail\.example\.test expired on 2026-01-02/,
    );
  });

  it('the chain as data: key, signature algorithm, CA flag, days left, per certificate as sent', async () => {
    const run = await probeCase('sha1');
    const chain = run.port.tls?.chain ?? [];
    expect(chain.map((cert) => [cert.index, cert.role, cert.keyType, cert.keyBits, cert.ca])).toEqual([
      [0, 'leaf', 'rsa', 2048, false],
      [1, 'intermediate', 'rsa', 2048, true],
    ]);
    expect(chain[0]?.signatureAlgorithm).toBe('sha1WithRSAEncryption');
    expect(chain[0]?.problems).toEqual(['weak-signature']);
    expect(chain[1]?.signatureAlgorithm).toBe('sha256WithRSAEncryption');
    expect(chain[0]?.daysLeft).toBeGreaterThan(30_000);
    const small = await probeCase('rsa768');
    expect(small.port.tls?.chain[0]).toMatchObject({ keyBits: 768, problems: ['weak-key'] });
  });

  it('a trailing dot is dropped from SNI and matching, and noted', async () => {
    const names: (string | undefined)[] = [];
    const fixture = await startFixture({
      protocol: 'imap',
      tls: 'implicit',
      tlsMaterial: { key: read('good.key'), cert: read('good.pem') },
      onServername: (name) => names.push(name),
    });
    try {
      const run = await cli([
        '127.0.0.1',
        '--json',
        '--port',
        `${fixture.port}=imaps`,
        '--servername',
        'mail.example.test.',
        '--ca',
        join(dir, 'root.pem'),
        '--timeout',
        '2000',
      ]);
      const report = validReport<Report>(run.stdout);
      expect(names).toEqual(['mail.example.test']);
      expect(report.hosts[0]?.servername).toBe('mail.example.test');
      expect(report.hosts[0]?.notes?.join(' ')).toMatch(/trailing dot/);
      expect(report.hosts[0]?.ports[0]?.tls?.nameMatches).toBe(true);
    } finally {
      await fixture.close();
    }
  });

  it('an IP-literal host is matched against iPAddress SANs only', async () => {
    // The leaf names mail.example.test only: 127.0.0.1 must not match, whatever the CN or DNS names say.
    const run = await probeCase('good', { name: '127.0.0.1' });
    expect(run.port.findings).toEqual(['cert-name-mismatch']);
    expect(run.port.tls?.nameMatches).toBe(false);
  });

  it('stapled OCSP: good is shown, revoked is a critical finding, garbage is a low one; nothing is fetched', async () => {
    const good = await probeCase('good', { ocsp: 'ocsp-good.der' });
    expect(good.port.tls?.ocsp).toMatchObject({ responseStatus: 'successful', certStatus: 'good' });
    expect(good.port.findings).toEqual([]);
    const revoked = await probeCase('revoked', { ocsp: 'ocsp-revoked.der' });
    expect(revoked.port.tls?.ocsp?.certStatus).toBe('revoked');
    expect(revoked.port.findings).toEqual(['cert-revoked']);
    expect(revoked.port.safe).toBe(false);
    expect(revoked.code).toBe(1);
    // A staple for another certificate (the revoked leaf's response served with the good leaf) is not believed.
    const mismatched = await probeCase('good', { ocsp: 'ocsp-revoked.der' });
    expect(mismatched.port.findings).toEqual(['ocsp-staple-unusable']);
    expect(mismatched.port.safe).toBe(true);
    writeFileSync(join(dir, 'garbage.der'), 'not an OCSP response');
    const garbage = await probeCase('good', { ocsp: 'garbage.der' });
    expect(garbage.port.tls?.ocsp?.responseStatus).toBe('unreadable');
    expect(garbage.port.findings).toEqual(['ocsp-staple-unusable']);
  });

  it('the human report shows the certificate, and with --verbose the chain as sent', async () => {
    const fixture = await startFixture({
      protocol: 'imap',
      tls: 'implicit',
      tlsMaterial: { key: read('expired-int.key'), cert: read('expired-int.pem') },
    });
    try {
      const args = [
        '127.0.0.1',
        '--port',
        `${fixture.port}=imaps`,
        '--servername',
        'mail.example.test',
        '--ca',
        join(dir, 'root.pem'),
        '--timeout',
        '2000',
        '--no-color',
      ];
      // The certificates block is under --verbose; the table says what is wrong without it.
      const plain = await cli(args);
      expect(plain.stdout).not.toMatch(/^certificates$/m);
      const verbose = await cli([...args, '--verbose']);
      expect(verbose.stdout).toMatch(
        /certificates\n .*mail\.example\.test.*issued by CN=mailprobe test int-expired.*RSA 2048/,
      );
      expect(verbose.stdout).toMatch(/#0 leaf +CN=mail\.example\.test/);
      expect(verbose.stdout).toMatch(/#1 intermediate +CN=mailprobe test int-expired .*expired/);
    } finally {
      await fixture.close();
    }
  });
});
