/** Fixture servers started by a test and closed after it, whatever the test's outcome. */
import type net from 'node:net';
import { afterEach } from 'vitest';
import { type Fixture, type FixtureOptions, startFixture, startRawServer } from '../../src/demo/servers.js';

/** Call once at the top of a test file; every server started through it is closed after each test. */
export function fixtureServers() {
  const running: Fixture[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((fixture) => fixture.close()));
  });
  const track = <T extends Fixture>(fixture: T): T => {
    running.push(fixture);
    return fixture;
  };
  return {
    /** Closes `fixture` after the test. */
    track,
    /** A scriptable mail server; returns its port. */
    fixture: async (options: FixtureOptions) => track(await startFixture(options)).port,
    /** A raw TCP server whose connections go to `handler`; returns its port. */
    raw: async (handler: (socket: net.Socket) => void) => track(await startRawServer(handler)).port,
  };
}
