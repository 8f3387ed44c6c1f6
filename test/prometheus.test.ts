/**
 * `mailprobe serve` scraped by a real Prometheus (the Debian package), in a network namespace of the test's own,
 * with the README's scrape configuration (examples/prometheus.yml, blackbox-style relabelling) and its alert rules
 * (examples/mailprobe-rules.yml), against fixture servers on the real port numbers: the scraped series carry the
 * right values and each alert fires where it should. The HTTP endpoint's limits are tested directly.
 */
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createProbeServer } from '../src/modes/serve.js';
import { root } from './helpers/cli.js';
import { Netns, netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';

const missing =
  netnsMissing() ??
  (existsSync('/usr/bin/prometheus') ? undefined : 'needs prometheus: apt-get install -y prometheus');
if (missing && process.env.CI) {
  it('Prometheus test prerequisites', () => {
    throw new Error(`CI=true and the Prometheus test cannot run: ${missing}`);
  });
} else if (missing) console.warn(`skipping the Prometheus test: ${missing}`);

const ca = `${root}fixtures/tls/ca.pem`;

describe.skipIf(missing !== undefined)('with a real Prometheus', () => {
  it('scrapes the series and fires the README alert rules: a port down, a port not safe, a certificate expired', async () => {
    sweepStaleNamespaces();
    const ns = new Netns();
    try {
      const servers = [
        { protocol: 'smtp', tls: 'none', port: 25, host: '127.0.0.1' }, // no STARTTLS on the relay port: not safe
        { protocol: 'smtp', tls: 'implicit', port: 465, host: '127.0.0.1' },
        { protocol: 'smtp', tls: 'starttls', port: 587, host: '127.0.0.1' },
        { protocol: 'imap', tls: 'starttls', port: 143, host: '127.0.0.1' },
        { protocol: 'imap', tls: 'implicit', port: 993, host: '127.0.0.1' },
        { protocol: 'pop3', tls: 'implicit', port: 995, host: '127.0.0.1', cert: 'expired' },
        // 110: nothing listens
      ];
      const wanted = ['MailPortNotWorking', 'MailPortNotSafe', 'MailCertificateExpiringSoon'];
      const spec = {
        wanted,
        interval: '3s',
        serveArgs: ['--allow', '127.0.0.0/8', '--timeout', '2000'],
      };
      const run = await ns.scenario({
        servers,
        run: [process.execPath, `${root}test/helpers/prometheus-scenario.mjs`, ca, JSON.stringify(spec)],
      });
      const result = JSON.parse(run.stdout) as {
        alerts: Record<string, string>[];
        series: (Record<string, string> & { value: string })[];
      };
      const value = (name: string, port: string) =>
        result.series.find((s) => s.__name__ === name && s.port === port)?.value;
      expect(value('mailprobe_port_up', '587')).toBe('1');
      expect(value('mailprobe_port_up', '110')).toBe('0');
      expect(value('mailprobe_port_safe', '25')).toBe('0');
      expect(value('mailprobe_port_safe', '993')).toBe('1');
      const firing = (name: string) =>
        result.alerts
          .filter((a) => a.alertname === name)
          .map((a) => a.port)
          .sort();
      expect(firing('MailPortNotWorking')).toEqual(['110']);
      expect(firing('MailPortNotSafe')).toEqual(['25', '995']);
      expect(firing('MailCertificateExpiringSoon')).toEqual(['995']);
      expect(result.alerts.every((a) => a.instance === '127.0.0.1' && a.job === 'mailprobe')).toBe(true);
    } finally {
      ns.destroy();
    }
  }, 90_000);

  it('fires MailPortNotWorking for a server that accepts and never greets, within the default 10 s scrape timeout', async () => {
    // serve's own defaults (a 30 s greeting deadline, 30 s per request), Prometheus' default scrape timeout
    // (10 s): without the scrape-timeout header honoured, the scrape times out, no series exists, and the
    // shipped alert never fires for the very server it exists for.
    sweepStaleNamespaces();
    const ns = new Netns();
    try {
      const spec = { wanted: ['MailPortNotWorking'], interval: '12s', serveArgs: ['--allow', '127.0.0.0/8'] };
      const run = await ns.scenario({
        servers: [{ protocol: 'tcp-silent', port: 587, host: '127.0.0.1' }],
        run: [process.execPath, `${root}test/helpers/prometheus-scenario.mjs`, ca, JSON.stringify(spec)],
      });
      const result = JSON.parse(run.stdout) as {
        alerts: Record<string, string>[];
        series: (Record<string, string> & { value: string })[];
      };
      const at587 = (name: string) => result.series.filter((s) => s.__name__ === name && s.port === '587');
      expect(at587('mailprobe_port_up').map((s) => s.value)).toEqual(['0']);
      expect(at587('mailprobe_port_status').map((s) => s.status)).toEqual(['silent']);
      expect(result.series.find((s) => s.__name__ === 'up' && s.job === 'mailprobe')?.value).toBe('1');
      const took = Number(result.series.find((s) => s.__name__ === 'scrape_duration_seconds')?.value);
      expect(took).toBeGreaterThan(9);
      expect(took).toBeLessThan(10);
      expect(
        result.alerts.some(
          (a) => a.alertname === 'MailPortNotWorking' && a.port === '587' && a.service === 'submission',
        ),
      ).toBe(true);
    } finally {
      ns.destroy();
    }
  }, 120_000);
});

describe('the endpoint', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });
  async function start(options: Parameters<typeof createProbeServer>[0]) {
    const server = createProbeServer(options);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return {
        code: response.status,
        type: response.headers.get('content-type'),
        body: await response.text(),
      };
    };
  }

  it('answers OpenMetrics, refuses bad input, targets outside the allowed networks, and a target probed too soon', async () => {
    const get = await start({ allow: ['127.0.0.0/8'], minIntervalMs: 60_000, limits: { connectMs: 500 } });
    const ok = await get('/probe?target=127.0.0.1&module=submission');
    expect(ok.code).toBe(200);
    expect(ok.type).toMatch(/^application\/openmetrics-text/);
    expect(ok.body).toMatch(
      /^mailprobe_port_up\{target="127\.0\.0\.1",port="587",service="submission",address="127\.0\.0\.1"\} [01]$/m,
    );
    expect(ok.body.trimEnd().endsWith('# EOF')).toBe(true);
    expect((await get('/probe?target=127.0.0.1&module=submission')).code).toBe(429);
    expect((await get('/probe?target=192.0.2.1&module=all')).code).toBe(403);
    expect((await get('/probe?target=bad%0Aname&module=all')).code).toBe(400);
    expect((await get('/probe?target=127.0.0.1&module=nope')).code).toBe(400);
    const health = await get('/metrics');
    expect(health.body).toMatch(/^mailprobe_serve_requests_total\{code="429"\} 1$/m);
    expect(health.body).toMatch(/^mailprobe_serve_requests_total\{code="403"\} 1$/m);
  });

  it('answers 503 beyond the probes allowed at once, and ends a probe at the request deadline', async () => {
    // A DNS server that never answers keeps the first probe busy until the request deadline.
    const blackHole = dgram.createSocket('udp4');
    blackHole.on('message', () => {});
    await new Promise<void>((resolve) => blackHole.bind(0, '127.0.0.1', resolve));
    try {
      const get = await start({
        maxConcurrent: 1,
        deadlineMs: 800,
        dnsServer: `127.0.0.1:${blackHole.address().port}`,
      });
      const started = performance.now();
      const first = get('/probe?target=mail.never-answers.test&module=submission');
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect((await get('/probe?target=127.0.0.1&module=imaps')).code).toBe(503);
      const slow = await first;
      expect(slow.code).toBe(200);
      expect(slow.body).toMatch(/^probe_success 0$/m);
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      blackHole.close();
    }
  });
});
