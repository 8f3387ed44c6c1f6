/** The monitor adapter: up or down, the reason, the earliest certificate expiry. */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture, tlsFile } from '../src/demo/servers.js';
import { monitor } from '../src/index.js';

const ca = tlsFile('ca.pem');
const limits = { connectMs: 2000, greetingMs: 2000, replyMs: 2000, tlsMs: 2000, portMs: 10000 };

describe('monitor()', () => {
  let good: Fixture;
  let expired: Fixture;
  beforeAll(async () => {
    good = await startFixture({ protocol: 'smtp', tls: 'implicit' });
    expired = await startFixture({ protocol: 'smtp', tls: 'implicit', cert: 'expired' });
  });
  afterAll(async () => {
    await good.close();
    await expired.close();
  });

  it('a working, trusted port is up, with "ok" and the certificate expiry the server presented', async () => {
    const result = await monitor('localhost', {
      ports: [{ port: good.port, service: 'submissions' }],
      family: 4,
      ca,
      limits,
    });
    expect(result.reason).toBe('ok');
    expect(result.up).toBe(true);
    const served = new X509Certificate(tlsFile('server.pem'));
    expect(result.certificateExpiresAt).toBe(new Date(served.validTo).toISOString());
    expect(result.certificateDaysLeft).toBe(
      Math.floor((Date.parse(served.validTo) - Date.now()) / 86_400_000),
    );
    expect(result.ports).toEqual([
      {
        port: good.port,
        service: 'submissions',
        address: '127.0.0.1',
        status: 'open',
        works: true,
        safe: true,
      },
    ]);
  });

  it('an expired certificate is down, the reason names the finding, and the expiry is in the past', async () => {
    const result = await monitor('localhost', {
      ports: [{ port: expired.port, service: 'submissions' }],
      family: 4,
      ca,
      limits,
    });
    expect(result.up).toBe(false);
    expect(result.reason).toMatch(/cert-expired/);
    expect(result.failing).toContain('cert-expired');
    expect(result.certificateDaysLeft).toBeLessThan(0);
  });

  it('a port that does not work is down, and the reason names the port and its status', async () => {
    const result = await monitor('127.0.0.1', { ports: [{ port: 1, service: 'smtp' }], limits });
    expect(result.up).toBe(false);
    expect(result.reason).toMatch(/^1\/smtp at 127\.0\.0\.1: refused \(/);
    expect(result.certificateExpiresAt).toBeUndefined();
  });

  it('a host that does not resolve is down with the reason, not an exception', async () => {
    const result = await monitor('nothing-here.invalid', { limits });
    expect(result.up).toBe(false);
    expect(result.reason).toMatch(/cannot resolve nothing-here\.invalid/);
  });
});
