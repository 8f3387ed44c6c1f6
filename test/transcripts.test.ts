/**
 * What real servers taught us, kept in the fast suite: each transcript in fixtures/transcripts/ was recorded
 * from real Postfix or Dovecot (its header says where) and is replayed here by a server that ends the
 * connection if mailprobe strays from the recorded dialogue.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isService, referenceFor } from '../src/reference/table.js';
import { fixtureServers } from './helpers/fixtures.js';
import { findingIds, probe } from './helpers/probe.js';
import { parseTranscript, startTranscriptServer } from './helpers/transcript-server.js';

const dir = new URL('../fixtures/transcripts/', import.meta.url);
const files = readdirSync(dir)
  .filter((file) => file.endsWith('.txt'))
  .sort();

const { track } = fixtureServers();

describe('recorded real-server transcripts', () => {
  it('there are transcripts of each protocol', () => {
    expect(files.some((file) => file.startsWith('postfix-'))).toBe(true);
    expect(files.some((file) => file.startsWith('dovecot-'))).toBe(true);
  });

  for (const file of files) {
    const transcript = parseTranscript(readFileSync(new URL(file, dir), 'utf8'));
    const { service = '', expect: expectation = '', seen = '' } = transcript.headers;
    it(`${file}: ${transcript.headers.quirk ?? ''}`, async () => {
      expect(seen, 'every transcript says where it was seen').not.toBe('');
      if (!isService(service)) throw new Error(`${file}: unknown service ${service}`);
      const [, status = '', findings = ''] = /^status=(\S+) findings=(\S+)$/.exec(expectation) ?? [];
      const server = await startTranscriptServer(transcript, referenceFor(service).tls === 'implicit');
      track(server);
      const result = await probe(server.port, service, { servername: 'localhost' });
      expect(result.status, result.statusDetail).toBe(status);
      expect(findingIds(result)).toEqual(findings === '-' ? [] : findings.split(',').sort());
      // The probe said exactly what the real server heard, in the same order.
      const sent = result.transcript
        .filter((entry) => entry.dir === 'C')
        .map((entry) => entry.text.replace(/^EHLO .*/, 'EHLO *'));
      const recorded = transcript.steps.flatMap((step) => (step.kind === 'C' ? [step.text] : []));
      expect(sent).toEqual(recorded);
    });
  }
});
