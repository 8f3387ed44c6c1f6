/**
 * A normal run writes nothing to stderr but the spinner (and a non-terminal gets no spinner). Every seven-port
 * run on a host with an IPv4 and an IPv6 address used to print Node's MaxListenersExceededWarning: fourteen
 * ports waited on the same abort signal, one listener each. Now one listener per signal fans out (net/abort.ts).
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { abortable } from '../src/net/abort.js';
import { Deadline } from '../src/net/deadline.js';
import { Netns, netnsMissing, sweepStaleNamespaces } from './helpers/netns.js';

describe('abort listeners', () => {
  it('fourteen ports in a phase at once under one signal add one listener to it, none after', async () => {
    const controller = new AbortController();
    const releases: (() => void)[] = [];
    const phases = Array.from({ length: 14 }, (_, index) => {
      const work = new Promise<number>((resolve) => releases.push(() => resolve(index)));
      return index % 2 === 0
        ? new Deadline(5000, controller.signal).run('greeting', 5000, () => work)
        : abortable(work, controller.signal, 'dns');
    });
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
    for (const release of releases) release();
    expect(await Promise.all(phases)).toEqual(Array.from({ length: 14 }, (_, index) => index));
    // None is left once every phase has settled: a signal that never aborts keeps no listener between phases.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // And the next phase on the same signal waits again.
    const later = new Deadline(5000, controller.signal).run('quit', 5000, () => new Promise<never>(() => {}));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    await expect(later).rejects.toMatchObject({ phase: 'quit' });
  });

  it('an abort still ends every phase that waits on the signal, each with its own phase', async () => {
    const controller = new AbortController();
    const never = new Promise<never>(() => {});
    const phases = Array.from({ length: 14 }, (_, index) =>
      index % 2 === 0
        ? new Deadline(5000, controller.signal).run('greeting', 5000, () => never)
        : abortable(never, controller.signal, 'dns'),
    );
    controller.abort();
    const outcomes = await Promise.allSettled(phases);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(14).fill('rejected'));
    expect(
      outcomes.map((outcome) =>
        outcome.status === 'rejected' ? (outcome.reason as { phase?: string }).phase : '',
      ),
    ).toEqual(Array.from({ length: 14 }, (_, index) => (index % 2 === 0 ? 'greeting' : 'dns')));
    // A phase begun after the abort is refused at once.
    await expect(
      new Deadline(5000, controller.signal).run('connect', 5000, () => never),
    ).rejects.toMatchObject({
      phase: 'connect',
    });
  });
});

const missing = netnsMissing();
if (missing && process.env.CI) {
  it('network namespace prerequisites', () => {
    throw new Error(`CI=true and the namespace tests cannot run: ${missing}`);
  });
} else if (missing) {
  console.warn(`skipping the dual-stack stderr test: ${missing}`);
}

const made: Netns[] = [];
afterEach(() => {
  for (const netns of made.splice(0)) netns.destroy();
});

describe.skipIf(missing !== undefined)('a dual-stack seven-port run', () => {
  beforeAll(sweepStaleNamespaces);

  it('writes nothing to stderr: no MaxListenersExceededWarning', async () => {
    const ns = new Netns();
    made.push(ns);
    // mail.test is 127.0.0.1 and ::1 in the namespace's hosts file: fourteen ports probed at once.
    const servers = ['127.0.0.1', '::1'].flatMap((host) => [
      { protocol: 'smtp', tls: 'starttls', port: 25, host },
      { protocol: 'smtp', tls: 'implicit', port: 465, host },
      { protocol: 'smtp', tls: 'starttls', port: 587, host },
      { protocol: 'imap', tls: 'starttls', port: 143, host },
      { protocol: 'imap', tls: 'implicit', port: 993, host },
      { protocol: 'pop3', tls: 'starttls', port: 110, host },
      { protocol: 'pop3', tls: 'implicit', port: 995, host },
    ]);
    const ca = new URL('../fixtures/tls/ca.pem', import.meta.url).pathname;
    const run = await ns.scenario({ servers, cli: ['mail.test', '--ca', ca, '--servername', 'localhost'] });
    expect(run.stdout).toMatch(/mail\.test +→ +127\.0\.0\.1, ::1 +7 ports/);
    expect(run.stdout).toMatch(/works from here: 7 of 7 ports/);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
});
