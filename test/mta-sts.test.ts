/**
 * MTA-STS and TLS-RPT against real parts (issue 26): NSD and Unbound serve the domains' MX, TXT and A records, a
 * real nginx serves the policies over HTTPS with the test CA, and the real Postfix answers on port 25 for the MX
 * hosts (its certificate is valid for mx1.sts.test only), all in one network namespace. One domain per case.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnssecMissing, startDnssec } from './helpers/dnssec.js';
import { MailHost, mailServersMissing, makeTls } from './helpers/mail-servers.js';
import { netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';
import { validReport } from './helpers/schema.js';

const missing =
  netnsMissing() ??
  mailServersMissing() ??
  dnssecMissing() ??
  (execFileSync('sh', ['-c', 'command -v nginx || true']).toString().trim()
    ? undefined
    : 'needs nginx: apt-get install -y nginx');
if (missing && process.env.CI) {
  it('MTA-STS rig prerequisites', () => {
    throw new Error(`CI=true and the MTA-STS tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping the MTA-STS tests: ${missing}`);
}

const web = '127.0.0.30';
const policy = (mode: string, mx: string[]) =>
  `version: STSv1\r\nmode: ${mode}\r\n${mx.map((m) => `mx: ${m}\r\n`).join('')}max_age: 86400\r\n`;

/** One site per domain: the policy file, or a redirect, served for mta-sts.DOMAIN. */
const sites: Record<string, { body?: string; redirect?: string; badCert?: boolean }> = {
  testing: { body: policy('testing', ['mx1.sts.test']) },
  enforce: { body: policy('enforce', ['mx1.sts.test']) },
  wildcard: { body: policy('enforce', ['*.sts.test']) },
  badcert: { body: policy('enforce', ['mx1.sts.test']), badCert: true },
  redirect: { redirect: 'https://mta-sts.enforce.sts.test/.well-known/mta-sts.txt' },
  big: { body: `${policy('enforce', ['mx1.sts.test'])}${'# padding\r\n'.repeat(7000)}` },
  notxt: { body: policy('enforce', ['mx1.sts.test']) },
  syntax: { body: 'version: STSv1\nmode: enforced\nmx: mx1.sts.test\n' },
  maxage: { body: 'version: STSv1\r\nmode: enforce\r\nmx: mx1.sts.test\r\nmax_age: 40000000\r\n' },
  changed: { body: policy('testing', ['mx1.sts.test']) },
};

interface Finding {
  id: string;
  severity: string;
  title: string;
  detail: string;
  evidence: string[];
  host?: string;
}
interface Report {
  discovery: {
    transport?: {
      stsId?: string;
      policy?: { mode?: string; maxAge?: number };
      policyFetch?: { outcome: string; detail: string };
    };
    publishedCheck?: { findings: Finding[] };
  };
}

describe.skipIf(missing !== undefined)(
  'MTA-STS and TLS-RPT with real nginx, NSD, Unbound and Postfix',
  () => {
    let root = '';
    let host: MailHost | undefined;
    const pids: number[] = [];

    beforeAll(() => {
      sweepStaleNamespaces();
      root = mkdtempSync(join(tmpdir(), 'mailprobe-mta-sts-'));
      execFileSync('chmod', ['755', root]);
      const tls = join(root, 'tls');
      makeTls(tls, 'mx1.sts.test');
      const names = Object.keys(sites)
        .filter((name) => !sites[name]?.badCert)
        .map((name) => `DNS:mta-sts.${name}.sts.test`)
        .join(',');
      execFileSync('bash', [
        '-c',
        `cd ${tls} && openssl req -new -newkey rsa:2048 -nodes -keyout web.key -out web.csr -subj /CN=web 2>/dev/null &&
       printf 'subjectAltName=${names}\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > web.ext &&
       openssl x509 -req -in web.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -out web.pem -extfile web.ext 2>/dev/null`,
      ]);
      mkdirSync(join(root, 'mail'), { mode: 0o755 });
      host = new MailHost(join(root, 'mail'), tls);
      host.netns.addresses(web);
      const dns = join(root, 'dns');
      mkdirSync(dns);
      const domain = (name: string, mx: string[], txt: string[]) => [
        ...mx.map((m, i) => `${name} IN MX ${10 * (i + 1)} ${m}.`),
        ...txt,
        ...(sites[name] ? [`mta-sts.${name} IN A ${web}`] : []),
      ];
      const sts = (name: string) => `_mta-sts.${name} IN TXT "v=STSv1; id=20261207"`;
      pids.push(
        ...startDnssec(host.netns, dns, [
          {
            name: 'sts.test',
            signed: false,
            records: [
              'mx1 IN A 127.0.0.1',
              'mx2 IN A 127.0.0.1',
              ...domain('none', ['mx1.sts.test'], []),
              ...domain('testing', ['mx1.sts.test'], [sts('testing')]),
              ...domain(
                'enforce',
                ['mx1.sts.test', 'mx2.sts.test'],
                [
                  sts('enforce'),
                  '_smtp._tls.enforce IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@enforce.sts.test"',
                ],
              ),
              ...domain('wildcard', ['mx1.sts.test', 'mx2.sts.test'], [sts('wildcard')]),
              ...domain('badcert', ['mx1.sts.test'], [sts('badcert')]),
              ...domain('redirect', ['mx1.sts.test'], [sts('redirect')]),
              ...domain('big', ['mx1.sts.test'], [sts('big')]),
              ...domain(
                'txtonly',
                ['mx1.sts.test'],
                [sts('txtonly'), '_smtp._tls.txtonly IN TXT "v=TLSRPTv1; rua=ftp://x"'],
              ),
              ...domain('notxt', ['mx1.sts.test'], []),
              ...domain('syntax', ['mx1.sts.test'], [sts('syntax')]),
              ...domain('maxage', ['mx1.sts.test'], [sts('maxage')]),
              ...domain('changed', ['mx1.sts.test'], [sts('changed')]),
              // serve's transport module, hostile: the MX is outside --allow, the policy's web address inside.
              'mxh IN A 127.0.0.31',
              ...domain('hostile', ['mxh.sts.test'], [sts('hostile')]),
              'mta-sts.hostile IN A 127.0.0.32',
            ],
          },
        ]),
      );
      // nginx: one HTTPS server per mta-sts name, the policy as text/plain.
      const www = join(root, 'www');
      const servers = Object.entries(sites).map(([name, site]) => {
        const dir = join(www, name);
        if (site.body !== undefined) {
          mkdirSync(join(dir, '.well-known'), { recursive: true });
          writeFileSync(join(dir, '.well-known', 'mta-sts.txt'), site.body);
        }
        const cert = site.badCert ? 'other' : 'web';
        return `  server {
    listen ${web}:443 ssl;
    server_name mta-sts.${name}.sts.test;
    ssl_certificate ${tls}/${cert}.pem;
    ssl_certificate_key ${tls}/${cert}.key;
    root ${dir};
    location = /.well-known/mta-sts.txt { ${site.redirect ? `return 302 ${site.redirect};` : 'default_type text/plain;'} }
  }`;
      });
      mkdirSync(join(root, 'nginx', 'tmp'), { recursive: true });
      const config = join(root, 'nginx', 'nginx.conf');
      writeFileSync(
        config,
        `user root;
worker_processes 1;
pid ${root}/nginx/nginx.pid;
error_log ${root}/nginx/error.log;
events { worker_connections 64; }
http {
  access_log off;
  types { text/plain txt; }
  client_body_temp_path ${root}/nginx/tmp/body;
  proxy_temp_path ${root}/nginx/tmp/proxy;
  fastcgi_temp_path ${root}/nginx/tmp/fastcgi;
  uwsgi_temp_path ${root}/nginx/tmp/uwsgi;
  scgi_temp_path ${root}/nginx/tmp/scgi;
${servers.join('\n')}
}
`,
      );
      mkdirSync(dirname(config), { recursive: true });
      host.netns.daemon('nginx', '-c', config);
      host.start({
        cert: 'server',
        postfix: { services: ['smtp'], starttlsOn25: true, authBeforeTls: false },
      });
    }, 60_000);

    afterAll(() => {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone
        }
      }
      host?.stop();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    async function discover(domain: string): Promise<{ report: Report; findings: Finding[] }> {
      const run = await host?.mailprobe([
        `postmaster@${domain}.sts.test`,
        '--mta-sts',
        '--no-web',
        '--dns-server',
        '127.0.0.1',
        '-4',
        '--timeout',
        '3000',
        '--json',
        '--ca',
        join(root, 'tls', 'ca.pem'),
      ]);
      if (!run?.stdout) throw new Error(`mailprobe printed nothing (exit ${run?.code}): ${run?.stderr}`);
      const report = validReport<Report>(run.stdout);
      const findings = (report.discovery.publishedCheck?.findings ?? []).filter((f) =>
        /^(mta-sts|tls-rpt)-/.test(f.id),
      );
      return { report, findings };
    }
    const ids = (findings: Finding[]) => findings.map((f) => f.id).sort();

    it('no policy: said once, senders use opportunistic TLS', async () => {
      const { findings } = await discover('none');
      expect(ids(findings)).toEqual(['mta-sts-none']);
    }, 30_000);

    it('testing: the mode, a covered MX that passes, and the missing TLS-RPT record', async () => {
      const { report, findings } = await discover('testing');
      expect(report.discovery.transport).toMatchObject({ stsId: '20261207', policy: { mode: 'testing' } });
      expect(ids(findings)).toEqual(['mta-sts-mode', 'tls-rpt-missing']);
      expect(findings.find((f) => f.id === 'mta-sts-mode')?.title).toContain('mode testing');
    }, 30_000);

    it('enforce with an MX not covered: senders refuse exactly that MX, and say why', async () => {
      const { findings } = await discover('enforce');
      expect(ids(findings)).toEqual(['mta-sts-mode', 'mta-sts-mx-refused']);
      const refused = findings.find((f) => f.id === 'mta-sts-mx-refused');
      expect(refused).toMatchObject({ severity: 'critical', host: 'mx2.sts.test' });
      expect(refused?.detail).toContain('no mx pattern of the policy matches it');
      expect(refused?.detail).toContain('not valid for mx2.sts.test');
    }, 30_000);

    it('the human report opens with the transport policy: the mode, the MX senders refuse and why, TLS-RPT', async () => {
      const run = await host?.mailprobe([
        'postmaster@enforce.sts.test',
        '--mta-sts',
        '--expect',
        'mta-sts=testing',
        '--no-web',
        '--dns-server',
        '127.0.0.1',
        '-4',
        '--timeout',
        '3000',
        '--ca',
        join(root, 'tls', 'ca.pem'),
        '--html',
        join(root, 'transport.html'),
      ]);
      const text = run?.stdout ?? '';
      // The HTML report (--html) has the same block, as a table.
      const page = readFileSync(join(root, 'transport.html'), 'utf8');
      expect(page).toContain('<h2>Transport policy (mail from other servers)</h2>');
      expect(page).toMatch(/<th scope="row">refused<\/th><td class="long">mx2\.sts\.test: no mx pattern/);
      const block = text.slice(text.indexOf('transport policy'), text.indexOf('\nDNS\n'));
      expect(text.indexOf('transport policy')).toBeGreaterThan(0);
      expect(block).toMatch(/MTA-STS +enforce · max_age 86400 s · mx mx1\.sts\.test/);
      expect(block).toMatch(/refused +mx2\.sts\.test: no mx pattern of the policy matches it/);
      expect(block).toMatch(/TLS-RPT +mailto:tlsrpt@enforce\.sts\.test/);
      expect(block).toMatch(/expected +✗ mta-sts=testing, observed enforce \(id 20261207, max_age 86400 s\)/);
      expect(text).toMatch(/1 expectation not met/);
    }, 30_000);

    it('OpenMetrics: the mode, max_age and each MX refused or not', async () => {
      const run = await host?.mailprobe([
        'postmaster@enforce.sts.test',
        '--mta-sts',
        '--no-web',
        '--dns-server',
        '127.0.0.1',
        '-4',
        '--timeout',
        '3000',
        '--ca',
        join(root, 'tls', 'ca.pem'),
        '--format',
        'openmetrics',
      ]);
      const text = run?.stdout ?? '';
      expect(text).toContain('mailprobe_mta_sts_mode{domain="enforce.sts.test",mode="enforce"} 1');
      expect(text).toContain('mailprobe_mta_sts_max_age_seconds{domain="enforce.sts.test"} 86400');
      expect(text).toContain('mailprobe_mta_sts_mx_refused{domain="enforce.sts.test",mx="mx1.sts.test"} 0');
      expect(text).toContain('mailprobe_mta_sts_mx_refused{domain="enforce.sts.test",mx="mx2.sts.test"} 1');
    }, 30_000);

    it('--expect mta-sts=MODE: met passes the run, unmet fails it (exit 1) with a JUnit case and a Markdown row', async () => {
      const out = join(root, 'expect');
      mkdirSync(out, { recursive: true });
      const run = (mode: string, name: string) =>
        host?.mailprobe([
          'postmaster@testing.sts.test',
          '--expect',
          `mta-sts=${mode}`,
          '--no-web',
          '--dns-server',
          '127.0.0.1',
          '-4',
          '--timeout',
          '3000',
          '--ca',
          join(root, 'tls', 'ca.pem'),
          '--json',
          '--junit',
          join(out, `${name}.xml`),
          '--markdown',
          join(out, `${name}.md`),
        ]);
      // --mta-sts is implied: the policy is looked up without it.
      const [met, unmet] = await Promise.all([run('testing', 'met'), run('enforce', 'unmet')]);
      expect(met?.code, met?.stderr).toBe(0);
      const metReport = validReport<{
        discovery: { publishedCheck?: { expectations?: { passed: boolean; observed: string }[] } };
      }>(met?.stdout ?? '');
      expect(metReport.discovery.publishedCheck?.expectations).toEqual([
        expect.objectContaining({ passed: true, observed: 'testing (id 20261207, max_age 86400 s)' }),
      ]);
      expect(unmet?.code, unmet?.stderr).toBe(1);
      const junit = readFileSync(join(out, 'unmet.xml'), 'utf8');
      expect(junit).toContain('name="testing.sts.test expect mta-sts=enforce"');
      expect(junit).toContain(
        'message="expected mta-sts=enforce, observed testing (id 20261207, max_age 86400 s)"',
      );
      expect(readFileSync(join(out, 'met.xml'), 'utf8')).toMatch(
        /<testcase classname="published" name="testing\.sts\.test expect mta-sts=testing" time="0\.000"\/>/,
      );
      const markdown = readFileSync(join(out, 'unmet.md'), 'utf8');
      // Markdown cells escape what would format: the parentheses and the underscore.
      expect(markdown).toContain(
        String.raw`| testing.sts.test | mta-sts=enforce | ❌ | testing \(id 20261207, max\_age 86400 s\) |`,
      );
      expect(markdown).toContain('**Domain expectations**: 0 of 1 met');
      // A domain without a policy: none is what senders apply.
      const none = await host?.mailprobe([
        'postmaster@none.sts.test',
        '--expect',
        'mta-sts=none',
        '--no-web',
        '--dns-server',
        '127.0.0.1',
        '-4',
        '--timeout',
        '3000',
        '--ca',
        join(root, 'tls', 'ca.pem'),
        '--markdown',
        join(out, 'none.md'),
      ]);
      expect(none?.code, none?.stderr).toBe(0);
      expect(readFileSync(join(out, 'none.md'), 'utf8')).toContain(
        '| none.sts.test | mta-sts=none | ✅ | none: no MTA-STS record or policy |',
      );
    }, 30_000);

    it('serve module=transport: the mode, max_age, expiry, each MX refused or not and its DANE status; an MX outside --allow is refused and nothing is sent', async () => {
      const script = join(root, 'serve-transport.mjs');
      writeFileSync(
        script,
        `import net from 'node:net';
import { readFileSync } from 'node:fs';
const { createProbeServer } = await import(${JSON.stringify(new URL('../dist/src/modes/serve.js', import.meta.url).href)});
// Listeners where the hostile domain's MX and policy host would be: any connection to them is counted.
const seen = { mx: 0, web: 0 };
const listen = (address, port, key) => new Promise((resolve) => {
  const server = net.createServer((socket) => { seen[key]++; socket.destroy(); });
  server.listen(port, address, () => resolve(server));
});
const listeners = [await listen('127.0.0.31', 25, 'mx'), await listen('127.0.0.32', 443, 'web')];
const ask = async (allow, target) => {
  const server = createProbeServer({
    allow, dnsServer: '127.0.0.1', ca: readFileSync(${JSON.stringify(join(root, 'tls', 'ca.pem'))}, 'utf8'),
    limits: { connectMs: 3000 }, minIntervalMs: 1,
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const answer = await fetch(\`http://127.0.0.1:\${server.address().port}/probe?target=\${target}&module=transport\`);
  const body = await answer.text();
  await server.shutdown(100);
  return { status: answer.status, body };
};
const enforce = await ask(['127.0.0.0/8'], 'enforce.sts.test');
const hostile = await ask(['127.0.0.32/32'], 'hostile.sts.test');
for (const l of listeners) l.close();
console.log(JSON.stringify({ enforce, hostile, seen }));
`,
      );
      const run = await host?.netns.run(process.execPath, [script], 30_000);
      const out = JSON.parse(run?.stdout || '{}') as {
        enforce: { status: number; body: string };
        hostile: { status: number; body: string };
        seen: { mx: number; web: number };
      };
      expect(out.enforce?.status, run?.stderr).toBe(200);
      const text = out.enforce.body;
      expect(text).toContain('mailprobe_mta_sts_mode{domain="enforce.sts.test",mode="enforce"} 1');
      expect(text).toContain('mailprobe_mta_sts_max_age_seconds{domain="enforce.sts.test"} 86400');
      expect(text).toContain('mailprobe_mta_sts_policy_expiry_days{domain="enforce.sts.test"} 1');
      expect(text).toContain('mailprobe_mta_sts_mx_refused{domain="enforce.sts.test",mx="mx1.sts.test"} 0');
      expect(text).toContain('mailprobe_mta_sts_mx_refused{domain="enforce.sts.test",mx="mx2.sts.test"} 1');
      // Each MX's port 25, with DANE looked up (the zone is unsigned: no TLSA, or an unvalidated answer).
      for (const mx of ['mx1', 'mx2'])
        expect(text).toMatch(
          new RegExp(
            `mailprobe_port_dane_status\\{target="${mx}\\.sts\\.test",port="25",service="smtp",address="127\\.0\\.0\\.1",status="[a-z-]+"\\} 1`,
          ),
        );
      expect(text).toMatch(/mailprobe_port_up\{target="mx1\.sts\.test",port="25"[^}]*\} 1/);
      // The hostile domain: its MX address is outside --allow; refused before any connection, to either host.
      expect(out.hostile.status).toBe(403);
      expect(out.hostile.body).toContain('mxh.sts.test 127.0.0.31 is outside the allowed networks');
      expect(out.seen).toEqual({ mx: 0, web: 0 });
    }, 30_000);

    it('serve module=transport remembers the policy: changed under the same TXT id is a finding and a metric', async () => {
      const script = join(root, 'serve-changed.mjs');
      const file = join(root, 'www', 'changed', '.well-known', 'mta-sts.txt');
      writeFileSync(
        script,
        `import { readFileSync, writeFileSync } from 'node:fs';
const { createProbeServer } = await import(${JSON.stringify(new URL('../dist/src/modes/serve.js', import.meta.url).href)});
const server = createProbeServer({
  allow: ['127.0.0.0/8'], dnsServer: '127.0.0.1', ca: readFileSync(${JSON.stringify(join(root, 'tls', 'ca.pem'))}, 'utf8'),
  limits: { connectMs: 3000 }, minIntervalMs: 1, failOn: 'medium',
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const ask = async () => (await fetch(\`http://127.0.0.1:\${server.address().port}/probe?target=changed.sts.test&module=transport\`)).text();
const first = await ask();
const same = await ask();
// The policy changes (testing to enforce); the TXT record keeps id=20261207.
writeFileSync(${JSON.stringify(file)}, readFileSync(${JSON.stringify(file)}, 'utf8').replace('mode: testing', 'mode: enforce'));
const changed = await ask();
await server.shutdown(100);
console.log(JSON.stringify({ first, same, changed }));
`,
      );
      const run = await host?.netns.run(process.execPath, [script], 30_000);
      const out = JSON.parse(run?.stdout || '{}') as { first: string; same: string; changed: string };
      const metric = 'mailprobe_mta_sts_policy_changed_same_id{domain="changed.sts.test"}';
      // The first probe has nothing to compare with; the second saw the same policy; the third a changed one.
      expect(out.first, run?.stderr).toContain(
        'mailprobe_mta_sts_mode{domain="changed.sts.test",mode="testing"} 1',
      );
      expect(out.first).not.toContain(metric);
      expect(out.same).toContain(`${metric} 0`);
      expect(out.same).toContain('probe_success 1');
      expect(out.changed).toContain('mailprobe_mta_sts_mode{domain="changed.sts.test",mode="enforce"} 1');
      expect(out.changed).toContain(`${metric} 1`);
      // A medium finding, and --fail-on medium: the probe fails on it.
      expect(out.changed).toContain('probe_success 0');
    }, 30_000);

    it('a wildcard mx covers both MX hosts; the one whose certificate lacks its name is still refused', async () => {
      const { findings } = await discover('wildcard');
      const refused = findings.filter((f) => f.id === 'mta-sts-mx-refused');
      expect(refused.map((f) => f.host)).toEqual(['mx2.sts.test']);
      expect(refused[0]?.detail).not.toContain('no mx pattern');
    }, 30_000);

    it('a policy over a certificate not valid for mta-sts.DOMAIN cannot be fetched', async () => {
      const { report, findings } = await discover('badcert');
      expect(report.discovery.transport?.policyFetch?.outcome).toBe('failed');
      expect(ids(findings)).toContain('mta-sts-policy-unfetchable');
      expect(findings.find((f) => f.id === 'mta-sts-policy-unfetchable')?.detail).toMatch(
        /ERR_TLS_CERT_ALTNAME_INVALID|altname|certificate/i,
      );
    }, 30_000);

    it('a policy behind a redirect is not followed (RFC 8461 §3.3)', async () => {
      const { findings } = await discover('redirect');
      const unfetchable = findings.find((f) => f.id === 'mta-sts-policy-unfetchable');
      expect(unfetchable?.detail).toContain('behind a redirect');
      expect(ids(findings)).not.toContain('mta-sts-mode');
    }, 30_000);

    it('a policy over 64 KiB is refused', async () => {
      const { findings } = await discover('big');
      expect(findings.find((f) => f.id === 'mta-sts-policy-unfetchable')?.detail).toContain('65536 bytes');
    }, 30_000);

    it('a TXT record without a policy, and a TLS-RPT record that is not valid', async () => {
      const { findings } = await discover('txtonly');
      expect(ids(findings)).toEqual(['mta-sts-policy-unfetchable', 'tls-rpt-invalid']);
    }, 30_000);

    it('a policy without a TXT record is never fetched by senders', async () => {
      const { findings } = await discover('notxt');
      expect(ids(findings)).toEqual(['mta-sts-policy-without-txt']);
    }, 30_000);

    it('a policy that breaks the strict syntax is discarded', async () => {
      const { findings } = await discover('syntax');
      const invalid = findings.find((f) => f.id === 'mta-sts-policy-invalid');
      expect(invalid?.detail).toContain('mode is "enforced"');
      expect(invalid?.detail).toContain('max_age is missing');
    }, 30_000);

    it('a max_age above 31557600 is its own finding: senders differ on it, the policy is not called invalid', async () => {
      const { report, findings } = await discover('maxage');
      expect(report.discovery.transport).toMatchObject({ policy: { mode: 'enforce', maxAge: 40_000_000 } });
      expect(ids(findings)).toEqual(['mta-sts-max-age-too-long', 'mta-sts-mode', 'tls-rpt-missing']);
      expect(findings.find((f) => f.id === 'mta-sts-max-age-too-long')).toMatchObject({
        severity: 'medium',
        evidence: [expect.stringMatching(/^GET https:\/\/mta-sts\.maxage\.sts\.test\//), 'max_age: 40000000'],
      });
    }, 30_000);
  },
);
