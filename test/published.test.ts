/**
 * Published client settings checked against live servers, on real parts: a real nginx (HTTPS with the test CA)
 * serves the autoconfig files, the ISPDB and the Autodiscover POX responses, dnsmasq serves MX, SRV and A
 * records, and fixture mail servers stand behind them, all inside a network namespace of the test's own.
 * One domain per bug class, and one well-configured domain that gets no drift finding.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAutoconfig, readAutodiscover } from '../src/discovery/published/documents.js';
import type { JsonReport } from '../src/render/json.js';
import type { Publication } from '../src/render/publication.js';
import { makeTls } from './helpers/mail-servers.js';
import { Netns, netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';
import { validReport } from './helpers/schema.js';

const missing =
  netnsMissing() ??
  (existsSync('/usr/sbin/dnsmasq') ? undefined : 'needs dnsmasq: apt-get install -y dnsmasq-base') ??
  (existsSync('/usr/sbin/nginx') ? undefined : 'needs nginx: apt-get install -y nginx');
if (missing && process.env.CI) {
  it('published-settings test prerequisites', () => {
    throw new Error(`CI=true and the published-settings tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping the published-settings tests: ${missing}`);
}

type Server = { type: string; host: string; port: number; socket: string };
const autoconfig = (servers: Server[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="test">
    <domain>%EMAILDOMAIN%</domain>
${servers
  .map(
    (s) => `    <${s.type === 'smtp' ? 'outgoingServer' : 'incomingServer'} type="${s.type}">
      <hostname>${s.host}</hostname>
      <port>${s.port}</port>
      <socketType>${s.socket}</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </${s.type === 'smtp' ? 'outgoingServer' : 'incomingServer'}>`,
  )
  .join('\n')}
  </emailProvider>
</clientConfig>
`;

type Protocol = { type: string; server: string; port: number; ssl?: string; encryption?: string };
const pox = (protocols: Protocol[]) =>
  `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
${protocols
  .map(
    (p) => `      <Protocol>
        <Type>${p.type}</Type>
        <Server>${p.server}</Server>
        <Port>${p.port}</Port>
${p.ssl !== undefined ? `        <SSL>${p.ssl}</SSL>\n` : ''}${p.encryption !== undefined ? `        <Encryption>${p.encryption}</Encryption>\n` : ''}        <AuthRequired>on</AuthRequired>
      </Protocol>`,
  )
  .join('\n')}
    </Account>
  </Response>
</Autodiscover>
`;

const good = 'mail.example.test';
const cleanConfig = autoconfig([
  { type: 'imap', host: good, port: 993, socket: 'SSL' },
  { type: 'smtp', host: good, port: 465, socket: 'SSL' },
]);

/** One web site: its names, whether it listens on https and/or http, its files, and redirects. */
interface Site {
  names: string[];
  https?: boolean;
  http?: boolean;
  files?: Record<string, string>;
  redirects?: Record<string, string>;
  /** A web site that answers every path, POST included, with this HTML page and a 200 (a soft "not found"). */
  catchAll?: string;
}

const web = '127.0.0.30';
const sites: Site[] = [
  {
    // The domain's own web site answers every path with a page and a 200, as many sites do.
    names: ['good.test'],
    https: true,
    http: true,
    catchAll: '<!DOCTYPE html><html><body>Welcome to good.test</body></html>',
  },
  {
    names: ['autoconfig.good.test'],
    https: true,
    files: { '/mail/config-v1.1.xml': cleanConfig },
  },
  {
    names: ['autodiscover.good.test'],
    https: true,
    files: {
      '/autodiscover/autodiscover.xml': pox([
        { type: 'IMAP', server: good, port: 993, encryption: 'SSL' },
        { type: 'SMTP', server: good, port: 465, encryption: 'SSL' },
      ]),
    },
  },
  {
    names: ['autoconfig.mismatch.test'],
    https: true,
    files: {
      '/mail/config-v1.1.xml': autoconfig([
        { type: 'imap', host: good, port: 993, socket: 'STARTTLS' },
        { type: 'smtp', host: good, port: 587, socket: 'SSL' },
      ]),
    },
  },
  {
    // Autodiscover reached only through its SRV record.
    names: ['adsrv.pox.test'],
    https: true,
    files: {
      '/autodiscover/autodiscover.xml': pox([
        { type: 'IMAP', server: good, port: 993, ssl: 'on', encryption: 'TLS' },
        { type: 'SMTP', server: good, port: 587, ssl: 'yes' },
        { type: 'POP3', server: good, port: 995, ssl: '' },
      ]),
    },
  },
  {
    names: ['ispdb.test'],
    https: true,
    files: { '/v1.1/pox.test': cleanConfig },
  },
  {
    names: ['autoconfig.plain.test'],
    https: true,
    files: {
      '/mail/config-v1.1.xml': autoconfig([
        { type: 'imap', host: good, port: 143, socket: 'plain' },
        { type: 'smtp', host: good, port: 25, socket: 'STARTTLS' },
      ]),
    },
  },
  { names: ['autoconfig.httponly.test'], http: true, files: { '/mail/config-v1.1.xml': cleanConfig } },
  { names: ['autoconfig.provider.test'], https: true, files: { '/mail/config-v1.1.xml': cleanConfig } },
  {
    names: ['autoconfig.down.test'],
    https: true,
    files: {
      '/mail/config-v1.1.xml': autoconfig([
        { type: 'imap', host: 'dead.example.test', port: 993, socket: 'SSL' },
        { type: 'smtp', host: 'split.example.test', port: 465, socket: 'SSL' },
      ]),
    },
  },
  {
    names: ['autoconfig.redirect.test'],
    https: true,
    redirects: { '/mail/config-v1.1.xml': 'https://autoconfig.elsewhere.test/mail/config-v1.1.xml' },
  },
  { names: ['autoconfig.elsewhere.test'], https: true, files: { '/mail/config-v1.1.xml': cleanConfig } },
  {
    // The domain's site sends every path to its owner's corporate site, on another domain: no configuration there.
    names: ['redirect.test'],
    https: true,
    redirects: { '/.well-known/autoconfig/mail/config-v1.1.xml': 'https://www.corporate.test/' },
  },
  { names: ['www.corporate.test'], https: true, catchAll: '<html><body>Corporate</body></html>' },
  {
    names: ['autoconfig.disagree.test'],
    https: true,
    files: { '/mail/config-v1.1.xml': cleanConfig },
  },
  { names: ['autoconfig.alias.test'], https: true, files: { '/mail/config-v1.1.xml': cleanConfig } },
  {
    names: ['autoconfig.certname.test'],
    https: true,
    files: {
      '/mail/config-v1.1.xml': autoconfig([
        { type: 'imap', host: 'mail.certname.test', port: 993, socket: 'SSL' },
      ]),
    },
  },
  {
    // One host no host can have (an xn-- label IDNA refuses) beside a good one: a problem of this source only.
    names: ['autoconfig.badname.test'],
    https: true,
    files: {
      '/mail/config-v1.1.xml': autoconfig([
        { type: 'imap', host: 'xn--a.test', port: 993, socket: 'SSL' },
        { type: 'smtp', host: good, port: 465, socket: 'SSL' },
      ]),
    },
  },
  {
    names: ['autoconfig.malformed.test'],
    https: true,
    files: {
      '/mail/config-v1.1.xml': '<clientConfig><emailProvider><incomingServer type="imap"></clientConfig>',
    },
  },
  {
    names: ['malformed.test'],
    https: true,
    files: {
      '/.well-known/autoconfig/mail/config-v1.1.xml':
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY big "lots">]><clientConfig>&big;</clientConfig>',
    },
  },
  {
    names: ['autoconfig.proto.test'],
    https: true,
    files: {
      '/mail/config-v1.1.xml': autoconfig([{ type: 'imap', host: good, port: 995, socket: 'SSL' }]),
    },
  },
  {
    // STARTTLS published for an implicit-TLS port that is not safe either (TLS 1.1 only): it fails as published.
    names: ['autoconfig.unfit.test'],
    https: true,
    files: {
      '/mail/config-v1.1.xml': autoconfig([
        { type: 'imap', host: 'old.example.test', port: 993, socket: 'STARTTLS' },
      ]),
    },
  },
  {
    names: ['autoconfig.tls11.test'],
    https: true,
    files: {
      '/mail/config-v1.1.xml': autoconfig([
        { type: 'imap', host: 'old.example.test', port: 993, socket: 'SSL' },
      ]),
    },
  },
];

function nginxConfig(dir: string, cert: string, key: string): string {
  const server = (site: Site, index: number) => {
    const root = join(dir, 'www', String(index));
    for (const [path, body] of Object.entries(site.files ?? {})) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), body);
    }
    const listens = [
      ...(site.https ? [`listen ${web}:443 ssl;`] : []),
      ...(site.http ? [`listen ${web}:80;`] : []),
    ].join(' ');
    const redirects = Object.entries(site.redirects ?? {})
      .map(([path, to]) => `location = ${path} { return 302 ${to}; }`)
      .join('\n    ');
    return `  server {
    ${listens}
    server_name ${site.names.join(' ')};
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    root ${root};
    ${
      site.catchAll
        ? `location / { default_type text/html; return 200 '${site.catchAll}'; }`
        : '# Autodiscover is a POST: the static file answers it.\n    location = /autodiscover/autodiscover.xml { error_page 405 =200 $uri; }'
    }
    ${redirects}
  }`;
  };
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  return `user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  default_type application/xml;
  server {
    listen ${web}:80 default_server;
    listen ${web}:443 ssl default_server;
    server_name _;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    return 404;
  }
${sites.map(server).join('\n')}
}
`;
}

const webNames = sites.flatMap((site) => site.names);
const records = [
  ...webNames.map((name) => `--host-record=${name},${web}`),
  `--host-record=${good},127.0.0.11`,
  '--host-record=imap2.example.test,127.0.0.12',
  // Another name of mail.example.test's server: not a disagreement.
  '--host-record=alias.example.test,127.0.0.11',
  '--srv-host=_imaps._tcp.alias.test,alias.example.test,993,0,1',
  '--host-record=mail.certname.test,127.0.0.11',
  '--host-record=mail.down.test,127.0.0.11',
  '--host-record=mx.provider.test,127.0.0.11',
  '--host-record=old.example.test,127.0.0.12',
  '--host-record=dead.example.test,127.0.0.13',
  // Two addresses: one works, one refuses. A published host is checked on every address.
  '--host-record=split.example.test,127.0.0.11',
  '--host-record=split.example.test,127.0.0.13',
  ...[
    'good',
    'mismatch',
    'pox',
    'plain',
    'httponly',
    'down',
    'redirect',
    'disagree',
    'certname',
    'malformed',
    'tls11',
    'proto',
    'alias',
    'badname',
  ].map((d) => `--mx-host=${d}.test,${good},10`),
  '--mx-host=viamx.test,mx.provider.test,10',
  // No port fit to publish: its only mail host refuses 25 and offers only TLS 1.1 on 993.
  '--mx-host=unfit.test,old.example.test,10',
  // Publishes nothing for clients: only an MX, in its own domain.
  '--mx-host=bare.test,mx.bare.test,10',
  '--host-record=mx.bare.test,127.0.0.11',
  '--host-record=mail.bare.test,127.0.0.14',
  `--srv-host=_imaps._tcp.good.test,${good},993,0,1`,
  `--srv-host=_submissions._tcp.good.test,${good},465,0,1`,
  '--srv-host=_autodiscover._tcp.pox.test,adsrv.pox.test,443,0,1',
  '--srv-host=_submission._tcp.down.test,dead.example.test,587,0,1',
  '--srv-host=_imap._tcp.down.test',
  '--srv-host=_imaps._tcp.disagree.test,imap2.example.test,993,0,1',
  // An Autodiscover SRV target no URL can hold: not fetched, never an "Invalid URL" crash.
  '--srv-host=_autodiscover._tcp.badname.test,xn--a.test,443,0,1',
];

type Report = JsonReport & {
  discovery: NonNullable<JsonReport['discovery']>;
};

describe.skipIf(missing !== undefined)(
  'published client settings against the servers (nginx, dnsmasq)',
  () => {
    let dir = '';
    let netns: Netns;
    let publishRuns: { code: number; stdout: string; stderr: string }[] = [];
    const common = (tls: string) => [
      '--dns-server',
      '127.0.0.1:53',
      '--ca',
      join(tls, 'ca.pem'),
      '--ispdb',
      'https://ispdb.test/v1.1/',
      '--timeout',
      '1500',
      '-4',
    ];
    const reports = new Map<string, { code: number; report: Report; stderr: string }>();
    const domains = [
      'alice@good.test',
      'bob@mismatch.test',
      'carol@pox.test',
      'dave@plain.test',
      'erin@httponly.test',
      'frank@viamx.test',
      'grace@down.test',
      'heidi@redirect.test',
      'ivan@disagree.test',
      'judy@certname.test',
      'mallory@malformed.test',
      'oscar@tls11.test',
      'peggy@proto.test',
      'trent@alias.test',
      'victor@badname.test',
    ];

    beforeAll(async () => {
      sweepStaleNamespaces();
      dir = mkdtempSync(join(tmpdir(), 'mailprobe-published-'));
      const tls = join(dir, 'tls');
      makeTls(tls, '*.example.test');
      // The web server's certificate, from the same test CA, for every web name.
      execFileSync('bash', [
        '-c',
        `cd ${tls} && openssl req -new -newkey rsa:2048 -nodes -keyout web.key -out web.csr -subj /CN=web 2>/dev/null &&
       printf 'subjectAltName=${webNames.map((n) => `DNS:${n}`).join(',')}\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > web.ext &&
       openssl x509 -req -in web.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -out web.pem -extfile web.ext 2>/dev/null`,
      ]);
      // A mail host certificate for *.bare.test, from the same CA (the guessed mail.bare.test).
      execFileSync('bash', [
        '-c',
        `cd ${tls} && openssl req -new -newkey rsa:2048 -nodes -keyout bare.key -out bare.csr -subj /CN=bare 2>/dev/null &&
       printf 'subjectAltName=DNS:*.bare.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > bare.ext &&
       openssl x509 -req -in bare.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -out bare.pem -extfile bare.ext 2>/dev/null`,
      ]);
      const bare = {
        tlsMaterial: {
          key: readFileSync(join(tls, 'bare.key'), 'utf8'),
          cert: readFileSync(join(tls, 'bare.pem'), 'utf8'),
        },
      };
      const config = join(dir, 'nginx.conf');
      writeFileSync(config, nginxConfig(dir, join(tls, 'web.pem'), join(tls, 'web.key')));
      netns = new Netns();
      netns.addresses('127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14', web);
      const mail = (protocol: string, mode: string, port: number, host = '127.0.0.11', extra = {}) => ({
        protocol,
        tls: mode,
        host,
        port,
        tlsDir: tls,
        ...extra,
      });
      const run = await netns.scenario({
        dnsmasq: records,
        nginx: { config, wait: `${web}:443` },
        servers: [
          mail('smtp', 'starttls', 25),
          mail('smtp', 'implicit', 465),
          mail('smtp', 'starttls', 587),
          mail('imap', 'starttls', 143),
          mail('imap', 'implicit', 993),
          mail('pop3', 'starttls', 110),
          mail('pop3', 'implicit', 995),
          mail('imap', 'implicit', 993, '127.0.0.12', { maxVersion: 'TLSv1.1' }),
          mail('smtp', 'implicit', 465, '127.0.0.14', bare),
          mail('imap', 'implicit', 993, '127.0.0.14', bare),
        ],
        clis: [
          ...domains.map((target) => [target, ...common(tls), '--json']),
          ['publish', 'alice@good.test', ...common(tls), '--json'],
          ['publish', 'bob@mismatch.test', ...common(tls)],
          ['publish', 'carol@pox.test', ...common(tls)],
          ['bob@mismatch.test', ...common(tls), '--no-color'],
          ['alice@good.test', ...common(tls), '--no-web', '--json'],
          ['bob@mismatch.test', ...common(tls), '--format', 'junit'],
          ['bob@mismatch.test', ...common(tls), '--format', 'markdown'],
          ['publish', 'nothing-here.test', ...common(tls)],
          ['publish', 'bare.test', ...common(tls)],
          ['publish', 'victor@badname.test', ...common(tls)],
          // Discovery at 80 columns (issue 24): a healthy domain and a broken one, in full, -q and --verbose.
          ['COLUMNS=80', 'alice@good.test', ...common(tls), '--no-color'],
          ['COLUMNS=80', 'bob@mismatch.test', ...common(tls), '--no-color'],
          ['COLUMNS=80', 'alice@good.test', ...common(tls), '--no-color', '-q'],
          ['COLUMNS=80', 'bob@mismatch.test', ...common(tls), '--no-color', '-q'],
          ['COLUMNS=80', 'bob@mismatch.test', ...common(tls), '--no-color', '--verbose'],
          // publish (issue 24): --no-web, no port fit to publish, --write-dir.
          ['publish', 'alice@good.test', ...common(tls), '--no-web'],
          ['publish', 'george@unfit.test', ...common(tls)],
          ['publish', 'alice@good.test', ...common(tls), '--write-dir', join(dir, 'out')],
          ['publish', 'alice@good.test', ...common(tls), '--write-dir', join(dir, 'out')],
          ['publish', 'alice@good.test', ...common(tls), '--write-dir', join(dir, 'out'), '--overwrite'],
          ['publish', 'alice@good.test', ...common(tls), '--write-dir', '/proc/mailprobe-not-here'],
          ['publish', 'george@unfit.test', ...common(tls), '--write-dir', join(dir, 'unfit')],
        ],
        limitMs: 170_000,
      });
      expect(run.code, run.stderr).toBe(0);
      const results = JSON.parse(run.stdout) as { code: number; stdout: string; stderr: string }[];
      if (process.env.PUBLISHED_DUMP) writeFileSync(process.env.PUBLISHED_DUMP, run.stdout);
      publishRuns = results.slice(domains.length);
      for (const [index, target] of domains.entries()) {
        const result = results[index];
        if (!result) throw new Error(`no result for ${target}`);
        expect(result.stdout, `${target}: ${result.stderr}`).not.toBe('');
        reports.set(target.split('@')[1] ?? target, {
          code: result.code,
          report: validReport<Report>(result.stdout),
          stderr: result.stderr,
        });
      }
    }, 180_000);
    afterAll(() => {
      netns?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const of = (domain: string) => {
      const found = reports.get(domain);
      if (!found) throw new Error(`no report for ${domain}`);
      return found;
    };
    const ids = (domain: string) =>
      of(domain).report.discovery.publishedCheck?.findings.map((f) => f.id) ?? [];
    const finding = (domain: string, id: string) =>
      of(domain).report.discovery.publishedCheck?.findings.find((f) => f.id === id);
    const client = (domain: string, name: string) =>
      of(domain).report.discovery.publishedCheck?.clients.find((c) => c.client.startsWith(name));

    it('a well-configured domain: every source found and fetched as a client does, no drift finding, every client safe', () => {
      const { report, code } = of('good.test');
      const sources = report.discovery.published ?? [];
      const first = sources[0];
      expect(first?.location).toBe(
        'https://autoconfig.good.test/mail/config-v1.1.xml?emailaddress=alice%40good.test',
      );
      expect(first?.fetch).toMatchObject({ method: 'GET', outcome: 'ok', status: 200, address: web });
      expect(first?.settings).toEqual([
        {
          direction: 'incoming',
          protocol: 'IMAP',
          host: good,
          port: 993,
          security: 'TLS',
          as: 'socketType SSL',
        },
        {
          direction: 'outgoing',
          protocol: 'SMTP',
          host: good,
          port: 465,
          security: 'TLS',
          as: 'socketType SSL',
        },
      ]);
      // Every documented URL, in client order, and nothing else.
      expect(sources.map((s) => `${s.kind} ${s.fetch?.method ?? ''} ${s.location}`)).toEqual([
        'autoconfig GET https://autoconfig.good.test/mail/config-v1.1.xml?emailaddress=alice%40good.test',
        'autoconfig GET https://good.test/.well-known/autoconfig/mail/config-v1.1.xml',
        'autoconfig GET http://autoconfig.good.test/mail/config-v1.1.xml?emailaddress=alice%40good.test',
        'autoconfig GET http://good.test/.well-known/autoconfig/mail/config-v1.1.xml',
        'ispdb GET https://ispdb.test/v1.1/good.test',
        'autoconfig GET https://autoconfig.example.test/mail/config-v1.1.xml?emailaddress=alice%40good.test',
        'ispdb GET https://ispdb.test/v1.1/example.test',
        'autodiscover POST https://good.test/autodiscover/autodiscover.xml',
        'autodiscover POST https://autodiscover.good.test/autodiscover/autodiscover.xml',
        `srv  SRV _submissions/_submission/_imaps/_imap/_pop3s/_pop3._tcp.good.test`,
      ]);
      expect(sources.find((s) => s.location.startsWith('https://ispdb.test'))?.fetch?.outcome).toBe(
        'not-found',
      );
      expect(sources.find((s) => s.location.includes('autoconfig.example.test'))?.viaMx).toBe(true);
      // The web site's catch-all pages at the .well-known and Autodiscover paths are no configuration, as a client
      // takes them: no finding.
      const site = sources.find(
        (s) => s.location === 'https://good.test/.well-known/autoconfig/mail/config-v1.1.xml',
      );
      expect(site?.fetch).toMatchObject({ outcome: 'ok', status: 200 });
      expect(site?.ignored).toMatch(/not a <clientConfig> document/);
      expect(
        sources.find((s) => s.location === 'https://good.test/autodiscover/autodiscover.xml')?.ignored,
      ).toMatch(/not a <Autodiscover> document/);
      expect(report.discovery.publishedCheck?.findings).toEqual([]);
      for (const name of ['Thunderbird', 'Outlook', 'SRV']) {
        const pick = client('good.test', name);
        expect(pick?.incoming, name).toMatchObject({
          works: true,
          safe: true,
          setting: { host: good, port: 993 },
        });
        expect(pick?.outgoing, name).toMatchObject({
          works: true,
          safe: true,
          setting: { host: good, port: 465 },
        });
      }
      expect(report.discovery.publishedCheck?.checks.every((c) => c.works && c.safe)).toBe(true);
      expect(code).toBe(0);
    });

    it('STARTTLS published for an implicit-TLS port, and implicit TLS for a STARTTLS port: encryption mismatch, in the words Thunderbird shows', () => {
      const { report, code } = of('mismatch.test');
      const mismatches = report.discovery.publishedCheck?.findings.filter(
        (f) => f.id === 'published-encryption-mismatch',
      );
      expect(mismatches?.map((f) => [f.port, f.severity])).toEqual([
        [993, 'high'],
        [587, 'high'],
      ]);
      expect(mismatches?.[0]?.evidence).toEqual(
        expect.arrayContaining([
          expect.stringContaining('socketType STARTTLS'),
          expect.stringContaining('implicit TLS'),
        ]),
      );
      expect(mismatches?.[0]?.reference).toMatch(/autoconfig/);
      const tb = client('mismatch.test', 'Thunderbird');
      expect(tb?.incoming).toMatchObject({ works: false, safe: false });
      expect(tb?.incoming?.fails).toMatch(/timed out/);
      expect(tb?.outgoing?.fails).toMatch(
        /SSL received a record that exceeded the maximum permissible length/,
      );
      expect(code).toBe(1);
    });

    it('Autodiscover POX: <Encryption>TLS</Encryption> on 993 (STARTTLS to Outlook), <SSL>yes</SSL> on 587, an empty <SSL>; found through its SRV record', () => {
      const { report } = of('pox.test');
      const ad = report.discovery.published?.find((s) => s.kind === 'autodiscover' && s.settings.length > 0);
      expect(ad?.location).toBe('https://adsrv.pox.test/autodiscover/autodiscover.xml');
      expect(ad?.fetch).toMatchObject({ method: 'POST', outcome: 'ok' });
      expect(ad?.settings.map((s) => [s.protocol, s.port, s.security, s.as])).toEqual([
        ['IMAP', 993, 'STARTTLS', 'Encryption TLS'],
        ['SMTP', 587, 'TLS', 'SSL yes'],
        ['POP3', 995, 'TLS', 'SSL (empty)'],
      ]);
      expect(
        report.discovery.publishedCheck?.findings
          .filter((f) => f.id === 'published-encryption-mismatch')
          .map((f) => f.port),
      ).toEqual([993, 587]);
      const ambiguous = report.discovery.publishedCheck?.findings.filter(
        (f) => f.id === 'published-encryption-ambiguous',
      );
      expect(ambiguous?.map((f) => f.evidence[0])).toEqual([
        expect.stringContaining('<SSL>yes</SSL>'),
        expect.stringContaining('<SSL></SSL>'),
      ]);
      const outlook = client('pox.test', 'Outlook');
      expect(outlook?.incoming).toMatchObject({ works: false, setting: { port: 993, security: 'STARTTLS' } });
      expect(outlook?.incoming?.fails).toMatch(/plaintext greeting on an implicit-TLS port/);
      // Thunderbird reads the ISPDB entry instead, which is right.
      const tb = client('pox.test', 'Thunderbird');
      expect(tb?.source).toBe('https://ispdb.test/v1.1/pox.test');
      expect(tb?.incoming).toMatchObject({ works: true, safe: true });
    });

    it('plain published, and SMTP submission published on port 25', () => {
      expect(ids('plain.test')).toEqual(
        expect.arrayContaining(['published-plaintext', 'published-smtp-port-25']),
      );
      expect(finding('plain.test', 'published-plaintext')).toMatchObject({ severity: 'high', port: 143 });
      expect(finding('plain.test', 'published-smtp-port-25')).toMatchObject({ severity: 'medium', port: 25 });
      const tb = client('plain.test', 'Thunderbird');
      expect(tb?.incoming).toMatchObject({ works: true, safe: false });
    });

    it('a config served only over http://', () => {
      const found = finding('httponly.test', 'published-http-only');
      expect(found?.severity).toBe('high');
      expect(found?.sources).toEqual([
        'http://autoconfig.httponly.test/mail/config-v1.1.xml?emailaddress=erin%40httponly.test',
      ]);
      expect(client('httponly.test', 'Thunderbird')?.notes).toEqual(
        expect.arrayContaining(['fetched over plain HTTP: nothing authenticates it']),
      );
    });

    it('a config reached only through the MX domain: a client must ask the user', () => {
      const found = finding('frank@viamx.test'.split('@')[1] ?? '', 'published-via-mx');
      expect(found?.severity).toBe('low');
      const tb = client('viamx.test', 'Thunderbird');
      expect(tb?.source).toBe(
        'https://autoconfig.provider.test/mail/config-v1.1.xml?emailaddress=frank%40viamx.test',
      );
      expect(tb?.notes.join(' ')).toMatch(/asks the user/);
    });

    it('a published host that does not answer, SRV for a service that is down, SRV "." for one that runs', () => {
      const down = of('down.test').report.discovery.publishedCheck?.findings.filter(
        (f) => f.id === 'published-not-working',
      );
      expect(down?.map((f) => [f.host, f.port])).toEqual(
        expect.arrayContaining([
          ['dead.example.test', 993],
          ['dead.example.test', 587],
        ]),
      );
      expect(down?.find((f) => f.port === 587)?.sources).toEqual([
        'SRV _submissions/_submission/_imaps/_imap/_pop3s/_pop3._tcp.down.test',
      ]);
      expect(client('down.test', 'Thunderbird')?.incoming?.fails).toMatch(/connection was refused/);
      const split = down?.find((f) => f.host === 'split.example.test');
      expect(split?.port).toBe(465);
      expect(split?.evidence.join(' ')).toMatch(/127\.0\.0\.11: implicit TLS.*127\.0\.0\.13: refused/);
      const dot = finding('down.test', 'srv-not-offered-but-runs');
      expect(dot?.evidence.join(' ')).toMatch(/mail\.down\.test:143/);
    });

    it('a redirect to another registrable domain is followed and said', () => {
      const source = of('redirect.test').report.discovery.published?.[0];
      expect(source?.fetch?.redirects).toEqual([
        {
          status: 302,
          from: 'https://autoconfig.redirect.test/mail/config-v1.1.xml?emailaddress=heidi%40redirect.test',
          to: 'https://autoconfig.elsewhere.test/mail/config-v1.1.xml',
          crossDomain: true,
        },
      ]);
      expect(finding('redirect.test', 'published-redirect-cross-domain')).toMatchObject({
        severity: 'medium',
        // Not the redirect of the web site to a corporate page: that delivered no configuration.
        sources: ['https://autoconfig.redirect.test/mail/config-v1.1.xml?emailaddress=heidi%40redirect.test'],
      });
      const site = of('redirect.test').report.discovery.published?.find(
        (s) => s.location === 'https://redirect.test/.well-known/autoconfig/mail/config-v1.1.xml',
      );
      expect(site?.fetch?.redirects?.[0]).toMatchObject({
        to: 'https://www.corporate.test/',
        crossDomain: true,
      });
      expect(site?.ignored).toMatch(/not a <clientConfig> document/);
    });

    it('sources that disagree with each other', () => {
      const found = finding('disagree.test', 'published-sources-disagree');
      expect(found?.title).toMatch(/IMAP/);
      expect(found?.evidence).toEqual([
        expect.stringContaining(`IMAP ${good}:993`),
        expect.stringContaining('IMAP imap2.example.test:993'),
      ]);
    });

    it('two names of one server (the same addresses) are no disagreement', () => {
      expect(ids('alias.test')).not.toContain('published-sources-disagree');
      expect(
        of('alias.test').report.discovery.published?.find((s) => s.kind === 'srv')?.settings[0]?.host,
      ).toBe('alias.example.test');
    });

    it('a certificate not valid for the host name the config gives', () => {
      expect(finding('certname.test', 'published-cert-name')).toMatchObject({
        severity: 'high',
        host: 'mail.certname.test',
        port: 993,
      });
      expect(client('certname.test', 'Thunderbird')?.incoming).toMatchObject({ works: true, safe: false });
    });

    it('malformed documents and a DTD are findings, never a crash', () => {
      const malformed = of('malformed.test').report.discovery.publishedCheck?.findings.filter(
        (f) => f.id === 'published-malformed',
      );
      expect(malformed?.map((f) => f.evidence[0])).toEqual(
        expect.arrayContaining([expect.stringMatching(/not well-formed XML/), expect.stringMatching(/DTD/)]),
      );
    });

    it('a server that offers only TLS 1.1: Thunderbird says "Peer using unsupported version of security protocol"', () => {
      const tb = client('tls11.test', 'Thunderbird');
      expect(tb?.incoming).toMatchObject({ works: false, safe: false });
      expect(tb?.incoming?.fails).toMatch(
        /^"Peer using unsupported version of security protocol\." — the server offers only TLSv1\.1/,
      );
      expect(finding('tls11.test', 'published-tls-too-old')).toMatchObject({
        severity: 'high',
        host: 'old.example.test',
        port: 993,
      });
    });
    it('publish: documents generated from what works safely, which read back as published, and the difference with now', () => {
      const [good, mismatch, poxRun] = publishRuns;
      expect(good?.code, good?.stderr).toBe(0);
      const publication = JSON.parse(good?.stdout ?? '{}') as Publication;
      expect(publication.matches).toBe(true);
      expect(publication.offers.map((o) => `${o.protocol} ${o.host}:${o.port} ${o.security}`)).toEqual([
        'IMAP mail.example.test:993 TLS',
        'SMTP mail.example.test:465 TLS',
      ]);
      // What mailprobe prints to publish, read back by the same strict readers.
      const config = readAutoconfig(publication.autoconfig ?? '', 'good.test');
      expect(config.problems).toEqual([]);
      expect(config.settings.map((s) => `${s.protocol} ${s.port} ${s.security}`)).toEqual([
        'IMAP 993 TLS',
        'SMTP 465 TLS',
      ]);
      const response = readAutodiscover(publication.autodiscover ?? '', 'good.test');
      expect(response.problems).toEqual([]);
      expect(response.settings.map((s) => `${s.protocol} ${s.port} ${s.as}`)).toEqual([
        'IMAP 993 Encryption SSL',
        'SMTP 465 Encryption SSL',
      ]);
      expect(publication.srv).toEqual([
        '_submissions._tcp.good.test. 3600 IN SRV 0 1 465 mail.example.test.',
        '_submission._tcp.good.test. 3600 IN SRV 0 0 0 .',
        '_imaps._tcp.good.test. 3600 IN SRV 0 1 993 mail.example.test.',
        '_imap._tcp.good.test. 3600 IN SRV 0 0 0 .',
        '_pop3s._tcp.good.test. 3600 IN SRV 0 0 0 .',
        '_pop3._tcp.good.test. 3600 IN SRV 0 0 0 .',
      ]);
      // mismatch.test: what it publishes is taken out, with what the port does instead.
      expect(mismatch?.code, mismatch?.stderr).toBe(1);
      expect(mismatch?.stdout).toContain('<socketType>SSL</socketType>');
      expect(mismatch?.stdout).toContain(
        '  - IMAP mail.example.test:993 STARTTLS (socketType STARTTLS): fails as published: the port does implicit TLS, not STARTTLS: it waits for a plaintext greeting on an implicit-TLS port, then times out',
      );
      expect(mismatch?.stdout).toContain(
        '  - SMTP mail.example.test:587 TLS (socketType SSL): fails as published: the port does STARTTLS, not implicit TLS: its TLS handshake meets a plaintext greeting and fails',
      );
      expect(poxRun?.stdout).toContain('<Encryption>SSL</Encryption>');
      expect(poxRun?.stdout).toMatch(
        /https:\/\/adsrv\.pox\.test\/autodiscover\/autodiscover\.xml\n {2}- IMAP mail\.example\.test:993 STARTTLS \(Encryption TLS\)/,
      );
    });
    it('the human report shows the answer first, the drift findings, each client pick in its words; --verbose the sources and evidence', () => {
      const human = publishRuns[3];
      expect(human?.code).toBe(1);
      const text = human?.stdout ?? '';
      // The answer first: the domain's verdict, the settings, each client's outcome with its error, the worst.
      expect(text.slice(0, text.indexOf('\n\n')).split('\n')).toEqual([
        'bob@mismatch.test: FAILED: 2 findings ≥ high, all about what it publishes',
        'incoming: IMAP · mail.example.test · port 993 · SSL/TLS',
        'outgoing: SMTP · mail.example.test · port 587 · STARTTLS',
        'Thunderbird: incoming fails "Connection to server mail.example.test timed out." · outgoing fails "SSL received a record that exceeded the maximum permissible',
        '   length."',
        'Outlook, SRV clients: nothing published',
        'worst: high published-encryption-mismatch: IMAP mail.example.test:993 is published with STARTTLS but the port does implicit TLS',
      ]);
      // Sources not found: one line a kind; the source list and the DNS table only under --verbose.
      expect(text).toContain(' ISPDB: not published (2 URLs tried)');
      expect(text).toContain(' SRV: not published (6 names asked)');
      expect(text).not.toContain('published client settings');
      expect(text).not.toMatch(/^DNS$/m);
      expect(text).toMatch(
        /HIGH {3}published-encryption-mismatch: IMAP mail\.example\.test:993 is published with STARTTLS but the port does implicit TLS/,
      );
      expect(text).toMatch(
        /Thunderbird .*\n {3}incoming {2}IMAP mail\.example\.test:993 STARTTLS {2}fails\n {13}"Connection to server mail\.example\.test timed out\."/,
      );
      const verbose = publishRuns[14]?.stdout ?? '';
      expect(verbose).toMatch(/^DNS$/m);
      expect(verbose).toContain('published client settings');
      expect(verbose).toContain('IMAP mail.example.test:993 STARTTLS (socketType STARTTLS)');
      expect(verbose).toContain('observed: 127.0.0.11: implicit TLS, IMAP, TLSv1.3');
    });
    it('discovery at 80 columns: the first block (≤ 8 lines) has the settings; -q stops there (≤ 10); no line wider', () => {
      const runs = { good: publishRuns[10], mismatch: publishRuns[11] };
      const quiet = { good: publishRuns[12], mismatch: publishRuns[13] };
      for (const [name, run] of Object.entries(runs)) {
        const text = run?.stdout ?? '';
        const lines = text.split('\n');
        for (const line of [...lines, ...(publishRuns[14]?.stdout ?? '').split('\n')])
          expect([...line].length, `${name}: ${line}`).toBeLessThanOrEqual(80);
        const block = text.slice(0, text.indexOf('\n\n')).split('\n');
        expect(block.length, block.join('\n')).toBeLessThanOrEqual(8);
        expect(block).toContain('incoming: IMAP · mail.example.test · port 993 · SSL/TLS');
        expect(block.some((line) => line.startsWith('outgoing: SMTP · mail.example.test · port '))).toBe(
          true,
        );
        expect(block.some((line) => line.startsWith('worst: '))).toBe(true);
        const short = quiet[name as keyof typeof quiet]?.stdout ?? '';
        expect(short.trimEnd().split('\n').length).toBeLessThanOrEqual(10);
        expect(short.trimEnd()).toBe(block.join('\n'));
      }
      expect(runs.good?.stdout.split('\n')[0]).toBe('alice@good.test: PASSED');
      expect(runs.good?.stdout).toContain('Thunderbird, Outlook, SRV clients: incoming safe · outgoing safe');
      // The broken domain's clients, with the words Thunderbird shows, within the block.
      expect(runs.mismatch?.stdout.slice(0, runs.mismatch.stdout.indexOf('\n\n'))).toContain(
        'Thunderbird: incoming fails "Connection to server mail.example.test timed out."',
      );
    });
    it("the domain's verdict says where its failure comes from; a host's counts only its own findings", () => {
      const { report } = of('mismatch.test');
      // The run fails on what the domain publishes; its one host has no failing finding of its own.
      expect(report.result).toMatchObject({ passed: false, failingFindings: 2, failingPublished: 2 });
      const text = publishRuns[11]?.stdout ?? '';
      expect(text.split('\n')[0]).toBe(
        'bob@mismatch.test: FAILED: 2 findings ≥ high, all about what it publishes',
      );
      for (const host of report.hosts) {
        const failing = host.findings.filter((f) => ['high', 'critical'].includes(f.severity)).length;
        const start = text.indexOf(`\n${host.host}  →`);
        expect(start, host.host).toBeGreaterThan(0);
        const verdict = text.slice(start).split('\n')[2] ?? '';
        expect(verdict).toMatch(failing > 0 ? /FAILED/ : /PASSED/);
        expect(verdict).not.toMatch(failing > 0 ? /PASSED/ : /FAILED/);
      }
      expect(of('good.test').report.result).toMatchObject({ passed: true, failingPublished: 0 });
    });
    it('the README shows a real run of discovery at 80 columns, numbers aside', () => {
      const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
      const start =
        readme.indexOf('$ mailprobe bob@mismatch.test\n') + '$ mailprobe bob@mismatch.test\n'.length;
      const sample = readme.slice(start, readme.indexOf('```', start)).trimEnd().split('\n');
      const numbersAside = (line: string) => line.replace(/\d+(\.\d+)?/g, 'N').trimEnd();
      const run = (publishRuns[11]?.stdout ?? '').split('\n').map(numbersAside);
      // Each line shown is a line of the run, in order; " …" stands for lines left out.
      let at = 0;
      for (const line of sample) {
        if (line.trim() === '…') continue;
        const found = run.indexOf(numbersAside(line), at);
        expect(found, `README line not in the run (in order): ${line}`).toBeGreaterThanOrEqual(at);
        at = found + 1;
      }
      expect(sample.slice(0, 8).map(numbersAside)).toEqual(run.slice(0, 8));
    });
    it('a published host no host can have (xn--a.test) is a problem of its source; the rest of the run, and publish, go on', () => {
      const { code, report, stderr } = of('badname.test');
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const source = report.discovery.published?.find((s) =>
        s.location.startsWith('https://autoconfig.badname.test/'),
      );
      expect(source?.problems).toEqual([
        '<incomingServer type="imap">: <hostname> is not a host name ("xn--a.test": IDNA refuses it: an xn-- label must be the Punycode of a valid U-label (RFC 5890 §2.3.2.1, RFC 5891 §5.4))',
      ]);
      expect(source?.settings.map((s) => `${s.protocol} ${s.host}:${s.port}`)).toEqual([`SMTP ${good}:465`]);
      expect(finding('badname.test', 'published-malformed')?.sources).toEqual([source?.location]);
      // The Autodiscover SRV target is not made into a URL; the other sources are read as usual.
      expect(report.discovery.published?.some((s) => s.location.includes('xn--a'))).toBe(false);
      expect(report.hosts.map((h) => h.host)).toContain(good);
      const publish = publishRuns[9];
      expect(publish?.stderr).toBe('');
      expect(publish?.stdout).toContain(`_submissions._tcp.badname.test. 3600 IN SRV 0 1 465 ${good}.`);
      expect(publish?.stdout).toContain('https://autoconfig.badname.test/mail/config-v1.1.xml');
    });
    it('publish --no-web compares the SRV records, the one source DNS holds', () => {
      const run = publishRuns[15];
      expect(run?.code, run?.stderr).toBe(0);
      expect(run?.stdout).not.toContain('nothing is published');
      expect(run?.stdout).toContain(
        [
          '# differences with what is published now (--no-web: the SRV records only; autoconfig, ISPDB and Autodiscover not fetched)',
          'SRV _submissions/_submission/_imaps/_imap/_pop3s/_pop3._tcp.good.test',
          '  matches',
        ].join('\n'),
      );
    });
    it('publish with no port fit to publish: fix the servers first, above the zone lines; STARTTLS on an implicit-TLS port fails', () => {
      const run = publishRuns[16];
      expect(run?.code, run?.stderr).toBe(3);
      const text = run?.stdout ?? '';
      expect(text.indexOf('fix the servers first')).toBeGreaterThanOrEqual(0);
      expect(text.indexOf('fix the servers first')).toBeLessThan(
        text.indexOf('_imaps._tcp.unfit.test. 3600 IN SRV'),
      );
      expect(text).not.toContain('<clientConfig');
      // The port works but is not safe (TLS 1.1 only); published as STARTTLS a client fails there all the same.
      expect(text).toContain(
        '  - IMAP old.example.test:993 STARTTLS (socketType STARTTLS): fails as published: the port does implicit TLS, not STARTTLS',
      );
      expect(text).not.toContain('works, not safe');
    });
    it('publish --write-dir writes the three documents as files; an existing file is refused (exit 2) unless --overwrite', () => {
      const [first, again, overwrite, unwritable, unfit] = publishRuns.slice(17);
      const out = join(dir, 'out');
      expect(first?.code, first?.stderr).toBe(0);
      expect(first?.stdout).toContain(`# config-v1.1.xml written to ${join(out, 'config-v1.1.xml')}`);
      expect(first?.stdout).not.toContain('<clientConfig');
      const config = readAutoconfig(readFileSync(join(out, 'config-v1.1.xml'), 'utf8'), 'good.test');
      expect(config.problems).toEqual([]);
      expect(config.settings.map((s) => `${s.protocol} ${s.port} ${s.security}`)).toEqual([
        'IMAP 993 TLS',
        'SMTP 465 TLS',
      ]);
      const response = readAutodiscover(readFileSync(join(out, 'autodiscover.xml'), 'utf8'), 'good.test');
      expect(response.problems).toEqual([]);
      const zone = readFileSync(join(out, 'srv.zone'), 'utf8').split('\n');
      expect(zone).toContain('_imaps._tcp.good.test. 3600 IN SRV 0 1 993 mail.example.test.');
      expect(zone.filter((line) => line !== '' && !line.startsWith(';'))).toHaveLength(6);
      expect(again?.code).toBe(2);
      expect(again?.stdout).toBe('');
      expect(again?.stderr.trim().split('\n')).toEqual([
        `mailprobe: publish --write-dir: ${join(out, 'config-v1.1.xml')} exists (--overwrite replaces it) (see mailprobe --help)`,
      ]);
      expect(overwrite?.code, overwrite?.stderr).toBe(0);
      expect(unwritable?.code).toBe(74);
      expect(unwritable?.stderr.trim().split('\n')).toEqual([
        'mailprobe: cannot write /proc/mailprobe-not-here (ENOENT)',
      ]);
      expect(unfit?.code).toBe(3);
      expect(unfit?.stderr).toContain('nothing written to');
      expect(existsSync(join(dir, 'unfit', 'srv.zone'))).toBe(false);
    });
    it('--no-web: no published source is fetched, the DNS records are still read', () => {
      const run = publishRuns[4];
      const report = validReport<Report>(run?.stdout ?? '');
      expect(report.discovery.published).toBeUndefined();
      expect(report.discovery.publishedCheck).toBeUndefined();
      expect(report.discovery.records.some((r) => r.kind === 'SRV' && r.answer !== '')).toBe(true);
    });
    it('JUnit and Markdown carry what the domain publishes: a failing case per setting that does not work as published', () => {
      const junit = publishRuns[5]?.stdout ?? '';
      expect(XMLValidator.validate(junit)).toBe(true);
      expect(junit).toContain('<testsuite name="published client settings"');
      expect(junit).toMatch(
        /IMAP mail\.example\.test:993 STARTTLS works as published[^>]*>\s*<failure message="high published-encryption-mismatch"/,
      );
      const markdown = publishRuns[6]?.stdout ?? '';
      expect(markdown).toContain('### What the domain publishes for mail clients');
      expect(markdown).toContain('- **high** `published-encryption-mismatch`');
    });
    it('IMAP published on a port where POP3 answers: protocol mismatch, and not called down', () => {
      expect(finding('proto.test', 'published-protocol-mismatch')).toMatchObject({
        severity: 'high',
        title: `${good}:995 is published as IMAP but speaks POP3`,
      });
      expect(ids('proto.test')).not.toContain('published-not-working');
    });
    it('publish for a domain with no mail host at all: one line, exit 3', () => {
      const run = publishRuns[7];
      expect(run?.code).toBe(3);
      expect(run?.stdout).toBe('');
      expect(run?.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^mailprobe: cannot resolve nothing-here\.test: no mail host found/),
      ]);
    });
    it('publish for a domain that publishes nothing: the documents to publish, and exit 1 (clients are left to guess)', () => {
      const run = publishRuns[8];
      expect(run?.code, run?.stderr).toBe(1);
      expect(run?.stdout).toContain(
        'nothing is published (no autoconfig, ISPDB entry, Autodiscover or SRV record)',
      );
      expect(run?.stdout).toContain('<hostname>mail.bare.test</hostname>');
      expect(run?.stdout).toContain('_imaps._tcp.bare.test. 3600 IN SRV 0 1 993 mail.bare.test.');
    });
  },
);
