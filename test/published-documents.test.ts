/**
 * The published-settings readers and fetcher against hostile input: documents that are not XML, that declare
 * entities, that lie about fields, random text; web servers that stream forever, redirect in a loop, never
 * answer, or ask for credentials. Nothing throws, nothing hangs, nothing is expanded or sent.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  autodiscoverRequest,
  maxSettings,
  readAutoconfig,
  readAutodiscover,
} from '../src/discovery/published/documents.js';
import { registrableDomain, webFetch } from '../src/discovery/published/fetch.js';
import { Dns } from '../src/net/dns.js';
import { addPublishedHosts } from '../src/probe/domain.js';
import { judgePublished } from '../src/rules/published/judge.js';
import type { Discovery, PublishedSetting, WebFetchFact } from '../src/types/index.js';
import { root } from './helpers/cli.js';
import { Netns, netnsMissing } from './helpers/netns.js';

describe('reading autoconfig and Autodiscover documents', () => {
  it('reads each server with its placeholders filled in', () => {
    const read = readAutoconfig(
      `<clientConfig version="1.1"><emailProvider id="x">
        <incomingServer type="imap"><hostname>imap.%EMAILDOMAIN%.</hostname><port>993</port><socketType>SSL</socketType></incomingServer>
        <incomingServer type="pop3"><hostname>POP.example.org</hostname><port>110</port><socketType>STARTTLS</socketType></incomingServer>
        <incomingServer type="exchange"><hostname>ews.example.org</hostname></incomingServer>
        <outgoingServer type="smtp"><hostname>smtp.example.org</hostname><port>25</port><socketType>plain</socketType></outgoingServer>
      </emailProvider></clientConfig>`,
      'example.org',
      'alice@example.org',
    );
    expect(read.problems).toEqual([]);
    expect(
      read.settings.map((s) => `${s.direction} ${s.protocol} ${s.host}:${s.port} ${s.security}`),
    ).toEqual([
      'incoming IMAP imap.example.org:993 TLS',
      'incoming POP3 pop.example.org:110 STARTTLS',
      'outgoing SMTP smtp.example.org:25 plain',
    ]);
  });

  it('describes what it cannot use, and never expands an entity', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><clientConfig>&lol2;</clientConfig>`;
    expect(readAutoconfig(laughs, 'example.org').problems[0]).toMatch(/DTD or entities/);
    const external = `<!DOCTYPE x SYSTEM "http://192.0.2.1/evil.dtd"><clientConfig/>`;
    expect(readAutoconfig(external, 'example.org').problems[0]).toMatch(/DTD/);
    // A catch-all page or an empty answer is no configuration, as a client takes it: not a finding.
    for (const body of ['', '<!DOCTYPE html><html><body>Not found</body></html>', '{"error":"no"}']) {
      const read = readAutoconfig(body, 'example.org');
      expect(read.problems).toEqual([]);
      expect(read.notADocument).toMatch(/not a <clientConfig> document/);
      expect(readAutodiscover(body, 'example.org').notADocument).toMatch(/not a <Autodiscover> document/);
    }
    expect(readAutoconfig('<clientConfig></clientConfig>', 'example.org').problems).toEqual([
      '<clientConfig> has no <emailProvider>',
    ]);
    const bad = readAutoconfig(
      `<clientConfig><emailProvider><incomingServer type="imap"><hostname>bad host;rm</hostname><port>99999</port><socketType>TLS</socketType></incomingServer></emailProvider></clientConfig>`,
      'example.org',
    );
    expect(bad.settings).toEqual([]);
    expect(bad.problems).toEqual([
      '<incomingServer type="imap">: <hostname> is not a host name ("bad host;rm")',
      '<incomingServer type="imap">: <port> is missing or not a port number',
      '<incomingServer type="imap">: <socketType> is "TLS", not one of SSL, STARTTLS, plain',
    ]);
  });

  it('a 256 KB tag name or value is echoed as its first KiB and its length, never whole', () => {
    const huge = 'a'.repeat(256 * 1024);
    const reads = [
      readAutoconfig(`<clientConfig><${huge}></clientConfig>`, 'example.org'),
      readAutoconfig(
        `<clientConfig><emailProvider><incomingServer type="${huge}"/><outgoingServer type="smtp"><hostname>${huge}</hostname><port>25</port><socketType>${huge}</socketType></outgoingServer></emailProvider></clientConfig>`,
        'example.org',
      ),
      readAutodiscover(
        `<Autodiscover><Response><Error><Message>${huge}</Message></Error></Response></Autodiscover>`,
        'example.org',
      ),
      readAutodiscover(
        `<Autodiscover><Response><Account><Action>${huge}</Action><RedirectUrl>${huge}</RedirectUrl></Account><Account><Protocol><Type>IMAP</Type><Server>imap.example.org</Server><Port>993</Port><Encryption>${huge}</Encryption></Protocol><Protocol><Type>POP3</Type><Server>pop.example.org</Server><Port>995</Port><SSL>${huge}</SSL></Protocol></Account></Response></Autodiscover>`,
        'example.org',
      ),
    ];
    const texts = reads.flatMap((read) => [...(read.problems ?? []), ...read.settings.map((s) => s.as)]);
    expect(texts.filter((text) => /bytes in all, cut at 1024/.test(text)).length).toBeGreaterThanOrEqual(6);
    for (const text of texts) expect(text.length).toBeLessThan(2 * 1024 + 400);
  });

  it('reads Autodiscover as Outlook does: <Encryption> over <SSL>, TLS meaning STARTTLS, SSL absent meaning on', () => {
    const protocol = (body: string) =>
      `<Autodiscover><Response><Account><Action>settings</Action><Protocol><Type>IMAP</Type><Server>mail.example.org</Server><Port>993</Port>${body}</Protocol></Account></Response></Autodiscover>`;
    const read = (body: string) => readAutodiscover(protocol(body), 'example.org');
    expect(read('<SSL>off</SSL><Encryption>SSL</Encryption>').settings[0]?.security).toBe('TLS');
    expect(read('<SSL>on</SSL><Encryption>TLS</Encryption>').settings[0]?.security).toBe('STARTTLS');
    expect(read('<Encryption>None</Encryption>').settings[0]?.security).toBe('plain');
    expect(read('').settings[0]).toMatchObject({ security: 'TLS', as: 'SSL absent (on)' });
    expect(read('<SSL>off</SSL>').settings[0]?.security).toBe('plain');
    expect(read('<Encryption>Auto</Encryption>').problems[0]).toMatch(/does not say which encryption/);
    expect(read('<SSL>maybe</SSL>').problems[0]).toMatch(/neither on nor off/);
    expect(
      readAutodiscover(
        '<Autodiscover><Response><Error><ErrorCode>600</ErrorCode><Message>Invalid Request</Message></Error></Response></Autodiscover>',
        'example.org',
      ).problems,
    ).toEqual(['the response is an error: Invalid Request']);
    expect(
      readAutodiscover(
        '<Autodiscover><Response><Account><Action>redirectUrl</Action><RedirectUrl>https://evil.example/a</RedirectUrl></Account></Response></Autodiscover>',
        'example.org',
      ).problems,
    ).toEqual(['the response asks for a redirectUrl to https://evil.example/a (not followed)']);
  });

  it('a host no host can have (an xn-- label IDNA refuses) is a problem of that server; the others are read', () => {
    const config = readAutoconfig(
      `<clientConfig version="1.1"><emailProvider id="x">
        <incomingServer type="imap"><hostname>xn--a.test</hostname><port>993</port><socketType>SSL</socketType></incomingServer>
        <outgoingServer type="smtp"><hostname>smtp.example.org</hostname><port>465</port><socketType>SSL</socketType></outgoingServer>
      </emailProvider></clientConfig>`,
      'example.org',
    );
    expect(config.problems).toEqual([
      '<incomingServer type="imap">: <hostname> is not a host name ("xn--a.test": IDNA refuses it: an xn-- label must be the Punycode of a valid U-label (RFC 5890 §2.3.2.1, RFC 5891 §5.4))',
    ]);
    expect(config.settings.map((s) => `${s.protocol} ${s.host}`)).toEqual(['SMTP smtp.example.org']);
    const pox = readAutodiscover(
      `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account><AccountType>email</AccountType><Action>settings</Action>
        <Protocol><Type>IMAP</Type><Server>imap.xn--a.example.org</Server><Port>993</Port><Encryption>SSL</Encryption></Protocol>
        <Protocol><Type>SMTP</Type><Server>smtp.example.org</Server><Port>465</Port><Encryption>SSL</Encryption></Protocol>
      </Account></Response></Autodiscover>`,
      'example.org',
    );
    expect(pox.problems).toEqual([
      expect.stringMatching(
        /^<Protocol> IMAP: <Server> is not a host name \("imap\.xn--a\.example\.org": IDNA refuses it/,
      ),
    ]);
    expect(pox.settings.map((s) => `${s.protocol} ${s.host}`)).toEqual(['SMTP smtp.example.org']);
  });

  it('the POX request carries the address only, escaped', () => {
    const body = autodiscoverRequest('a<b>&"c\'@example.org');
    expect(body).toContain('<EMailAddress>a&#60;b&#62;&#38;&#34;c&#39;@example.org</EMailAddress>');
    expect(body).not.toMatch(/password|LegacyDN|Credentials/i);
  });

  it('never throws on random input', () => {
    const parts = fc.oneof(
      fc.constantFrom(
        '<clientConfig>',
        '</clientConfig>',
        '<emailProvider>',
        '<incomingServer type="imap">',
        '</incomingServer>',
        '<hostname>',
        '<port>',
        '<socketType>',
        '<Autodiscover>',
        '<Response>',
        '<Account>',
        '<Protocol>',
        '<SSL>',
        '<![CDATA[',
        ']]>',
        '&amp;',
        '&#0;',
        '<?xml ?>',
        '<!--',
      ),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.array(parts, { maxLength: 60 }), (list) => {
        const text = list.join('');
        for (const read of [readAutoconfig, readAutodiscover]) {
          const result = read(text, 'example.org');
          expect(Array.isArray(result.settings)).toBe(true);
          for (const s of result.settings) expect(s.port).toBeGreaterThan(0);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('registrable domains come from the public-suffix list', () => {
    expect(registrableDomain('mx1.mail.example.co.uk')).toBe('example.co.uk');
    expect(registrableDomain('autoconfig.example.org')).toBe('example.org');
  });
});

describe('fetching from hostile web servers (loopback)', () => {
  let server: http.Server;
  let base = '';
  const seen: http.IncomingHttpHeaders[] = [];
  beforeAll(async () => {
    server = http.createServer((request, response) => {
      seen.push(request.headers);
      const path = request.url ?? '/';
      if (path === '/endless') {
        response.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 'a');
        const pump = () => {
          while (response.write(chunk)) {}
          response.once('drain', pump);
        };
        response.on('error', () => {});
        pump();
        return;
      }
      if (path === '/loop') {
        response.writeHead(302, { location: '/loop' });
        response.end();
        return;
      }
      if (path === '/silent') return; // never answers
      if (path === '/auth') {
        response.writeHead(401, { 'www-authenticate': 'Basic realm="x"' });
        response.end();
        return;
      }
      if (path === '/badname') {
        response.writeHead(302, { location: 'https://xn--a.test/mail/config-v1.1.xml' });
        response.end();
        return;
      }
      if (path === '/away') {
        response.writeHead(301, { location: 'http://127.0.0.1:1/elsewhere' });
        response.end();
        return;
      }
      response.writeHead(404);
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  const dns = new Dns();

  it('a body past the cap ends the fetch', async () => {
    const { fact, text } = await webFetch(`${base}/endless`, { dns, timeoutMs: 5000, maxBytes: 100_000 });
    expect(fact.outcome).toBe('failed');
    expect(fact.detail).toMatch(/longer than 100000 bytes/);
    expect(text).toBeUndefined();
  });

  it('a URL or a redirect to a host no URL can hold (xn--a.test) is a failed fetch, never an exception', async () => {
    const direct = await webFetch('https://xn--a.test/autodiscover/autodiscover.xml', {
      dns,
      timeoutMs: 5000,
    });
    expect(direct.fact).toMatchObject({ outcome: 'failed', detail: 'not a valid URL' });
    const redirected = await webFetch(`${base}/badname`, { dns, timeoutMs: 5000 });
    expect(redirected.fact.outcome).toBe('failed');
    expect(redirected.fact.detail).toMatch(/Invalid URL/);
  });

  it('a redirect loop stops after three redirects, each recorded', async () => {
    const { fact } = await webFetch(`${base}/loop`, { dns, timeoutMs: 5000 });
    expect(fact.outcome).toBe('http-error');
    expect(fact.redirects).toHaveLength(4);
    expect(fact.detail).toMatch(/more than 3 redirects/);
  });

  it('a server that never answers ends at the deadline', async () => {
    const started = Date.now();
    const { fact } = await webFetch(`${base}/silent`, { dns, timeoutMs: 300 });
    expect(fact.outcome).toBe('failed');
    expect(fact.detail).toBe('no complete answer within 300 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a request for credentials is recorded, never answered; no cookie or credential is ever sent', async () => {
    const { fact } = await webFetch(`${base}/auth`, { dns, timeoutMs: 2000 });
    expect(fact).toMatchObject({ outcome: 'auth-required', status: 401 });
    expect(seen.length).toBeGreaterThan(0);
    for (const headers of seen) {
      expect(headers.authorization).toBeUndefined();
      expect(headers.cookie).toBeUndefined();
    }
  });

  it('an address that refuses the connection is followed by the next one, as a client does', async () => {
    const port = new URL(base).port;
    const twoAddresses = {
      addresses: async () => [
        { address: '127.0.0.2', family: 4 as const },
        { address: '127.0.0.1', family: 4 as const },
      ],
    } as unknown as Dns;
    const { fact } = await webFetch(`http://fallback.test:${port}/nothing`, {
      dns: twoAddresses,
      timeoutMs: 2000,
    });
    expect(fact).toMatchObject({ outcome: 'not-found', status: 404, address: '127.0.0.1' });
  });

  it('-4 and -6 hold for the fetches too', async () => {
    const port = new URL(base).port;
    const dual = {
      addresses: async () => [
        { address: '::1', family: 6 as const },
        { address: '127.0.0.1', family: 4 as const },
      ],
    } as unknown as Dns;
    const v4 = await webFetch(`http://dual.test:${port}/nothing`, { dns: dual, timeoutMs: 2000, family: 4 });
    expect(v4.fact.address).toBe('127.0.0.1');
    const v6only = {
      addresses: async () => [{ address: '127.0.0.1', family: 4 as const }],
    } as unknown as Dns;
    const none = await webFetch(`http://v4.test:${port}/nothing`, {
      dns: v6only,
      timeoutMs: 2000,
      family: 6,
    });
    expect(none.fact).toMatchObject({
      outcome: 'not-found',
      detail: 'v4.test: no IPv6 address records (-6)',
    });
  });

  it('a POST is not re-sent through a 301 (it would become a GET elsewhere)', async () => {
    const { fact } = await webFetch(`${base}/away`, { dns, timeoutMs: 2000, body: '<x/>' });
    expect(fact.outcome).toBe('http-error');
    expect(fact.detail).toMatch(/a 301 would turn the POST into a GET/);
  });
});

describe('a redirect from a public address into the network the check runs in', () => {
  const missing = netnsMissing();
  if (missing && process.env.CI) {
    it('prerequisites', () => {
      throw new Error(`CI=true and the redirect tests cannot run: ${missing}`);
    });
    return;
  }
  if (missing) {
    it.skip(`needs a network namespace: ${missing}`, () => {});
    return;
  }
  let result: {
    fetches: Record<string, WebFetchFact>;
    internalHits: string[];
  };
  beforeAll(() => {
    // A namespace of the test's own: 198.51.100.30 and .31 stand for public web servers (TEST-NET-2 is not among
    // the private blocks), 127.0.0.2 for an internal service, 127.0.0.3 for a web server that is private itself.
    const netns = new Netns();
    try {
      netns.addresses('198.51.100.30', '198.51.100.31');
      result = JSON.parse(
        execFileSync(
          'ip',
          ['netns', 'exec', netns.name, process.execPath, `${root}test/helpers/redirect-scenario.mjs`],
          { encoding: 'utf8', timeout: 30_000 },
        ),
      );
    } finally {
      netns.destroy();
    }
  });

  it('is not followed: the internal address gets no request, the hop is marked, and it is a finding', () => {
    const fact = result.fetches.publicToLoopback;
    expect(result.internalHits).not.toContain('/latest/meta-data/');
    expect(fact).toMatchObject({
      outcome: 'http-error',
      status: 302,
      address: '198.51.100.30',
      redirects: [
        {
          status: 302,
          from: 'http://198.51.100.30:8080/config.xml',
          to: 'http://127.0.0.2:8081/latest/meta-data/',
          privateAddress: '127.0.0.2 (loopback)',
        },
      ],
    });
    expect(fact?.detail).toMatch(/not followed \(a public address redirects to 127\.0\.0\.2 \(loopback\)\)/);
    const discovery = {
      domain: 'example.org',
      records: [],
      candidates: [],
      published: [
        { kind: 'autoconfig', location: fact?.url ?? '', domain: 'example.org', settings: [], fetch: fact },
      ],
    } as unknown as Discovery;
    const judged = judgePublished(discovery, []);
    expect(judged.findings.map((f) => [f.id, f.severity])).toEqual([
      ['published-redirect-private-address', 'medium'],
    ]);
    expect(judged.findings[0]?.evidence).toEqual([
      'HTTP 302: http://198.51.100.30:8080/config.xml → http://127.0.0.2:8081/latest/meta-data/',
      '127.0.0.2 → 127.0.0.2 (loopback)',
    ]);
  });

  it('a redirect from public to public is followed; a web server private from the start is checked as before', () => {
    expect(result.fetches.publicToPublic).toMatchObject({ outcome: 'ok', address: '198.51.100.31' });
    expect(result.fetches.privateFromTheStart).toMatchObject({ outcome: 'ok', address: '127.0.0.2' });
    expect(result.fetches.privateFromTheStart?.redirects?.[0]?.privateAddress).toBeUndefined();
    expect(result.internalHits).toEqual(['/private-from-the-start']);
  });
});

describe('a hostile document cannot turn a check into a port scan', () => {
  const server = (port: number) =>
    `<incomingServer type="imap"><hostname>mail.example.org</hostname><port>${port}</port><socketType>SSL</socketType></incomingServer>`;
  const document = `<clientConfig><emailProvider>${Array.from({ length: 300 }, (_, i) => server(1000 + i)).join('')}</emailProvider></clientConfig>`;

  it('reads at most 20 servers from one document, and says so', () => {
    const read = readAutoconfig(document, 'example.org');
    expect(read.settings).toHaveLength(maxSettings);
    expect(read.problems).toEqual([
      `300 servers are listed; only the first ${maxSettings} are read and checked`,
    ]);
  });

  it('adds at most 16 ports to one host from the published sources, and at most --max-hosts hosts', () => {
    const settings = readAutoconfig(document, 'example.org').settings;
    const discovery: Discovery = {
      domain: 'example.org',
      records: [],
      candidates: [],
      published: [
        { kind: 'autoconfig', location: 'a', domain: 'example.org', settings },
        {
          kind: 'autodiscover',
          location: 'b',
          domain: 'example.org',
          settings: settings.map((s) => ({ ...s, port: s.port + 500 })),
        },
        {
          kind: 'ispdb',
          location: 'c',
          domain: 'example.org',
          settings: ['x', 'y', 'z'].map((name) => ({
            ...(settings[0] as PublishedSetting),
            host: `${name}.example.org`,
          })),
        },
      ],
    };
    addPublishedHosts(discovery, 3);
    expect(discovery.candidates.map((c) => [c.host, c.ports.length])).toEqual([
      ['mail.example.org', 16],
      ['x.example.org', 1],
      ['y.example.org', 1],
    ]);
    expect(discovery.leftOut).toEqual(['z.example.org']);
  });

  it('a document served from a public address cannot aim a probe at an address inside this network', () => {
    const setting = (host: string, port: number): PublishedSetting => ({
      direction: 'incoming',
      protocol: 'IMAP',
      host,
      port,
      security: 'TLS',
      as: 'socketType SSL',
    });
    const fetched = (address: string) => ({
      url: 'https://autoconfig.example.org/mail/config-v1.1.xml',
      method: 'GET' as const,
      outcome: 'ok' as const,
      detail: 'HTTP 200',
      ms: 1,
      address,
    });
    const discovery: Discovery = {
      domain: 'example.org',
      records: [],
      candidates: [],
      published: [
        {
          kind: 'autoconfig',
          location: 'a',
          domain: 'example.org',
          fetch: fetched('203.0.113.5'),
          settings: [setting('127.0.0.77', 6379), setting('10.0.0.77', 80), setting('mail.example.org', 993)],
        },
        // Served from inside (a test rig, a company's own network): checked as before.
        {
          kind: 'autodiscover',
          location: 'b',
          domain: 'example.org',
          fetch: fetched('10.0.0.5'),
          settings: [setting('10.0.0.78', 993)],
        },
      ],
    };
    addPublishedHosts(discovery, 10);
    expect(discovery.candidates.map((c) => c.host)).toEqual(['mail.example.org', '10.0.0.78']);
    expect(discovery.privateRefused).toEqual(['127.0.0.77', '10.0.0.77']);
  });
});
