/**
 * Replays a recorded dialogue (fixtures/transcripts/): a test server that ends the connection the moment the
 * client strays from the recording.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { contextOptions, type Fixture, startRawServer } from '../../src/demo/servers.js';

/** One step of a transcript: the server sends a line, expects a client line, or upgrades to TLS. */
type TranscriptStep = { kind: 'S'; text: string } | { kind: 'C'; text: string } | { kind: 'tls' };

/** A transcript file: `#` header lines (`# key: value`), then `S: `, `C: ` and `-- tls` lines. */
export interface Transcript {
  headers: Record<string, string>;
  steps: TranscriptStep[];
}

export function parseTranscript(text: string): Transcript {
  const headers: Record<string, string> = {};
  const steps: TranscriptStep[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const header = /^# ([a-z]+): (.*)$/.exec(line);
    if (header) headers[header[1] ?? ''] = header[2] ?? '';
    else if (line === '-- tls') steps.push({ kind: 'tls' });
    else if (line.startsWith('S: ') || line.startsWith('C: '))
      steps.push({ kind: line[0] as 'S' | 'C', text: line.slice(3) });
    else if (!line.startsWith('#')) throw new Error(`transcript line not understood: ${line}`);
  }
  return { headers, steps };
}

/**
 * Replays a transcript: sends the `S:` lines, waits for each `C:` line (a trailing `*` matches any rest),
 * upgrades to TLS at `-- tls`. A client line that differs ends the connection at once, so a probe that
 * strays from the recorded dialogue fails its test. `implicit` starts with a TLS handshake.
 */
export function startTranscriptServer(transcript: Transcript, implicit: boolean): Promise<Fixture> {
  const context = tls.createSecureContext(contextOptions({ protocol: 'smtp', tls: 'starttls' }));
  return startRawServer((raw) => {
    let stream: net.Socket = raw;
    let step = 0;
    let buffer = '';
    const matches = (expected: string, line: string) =>
      expected.endsWith('*') ? line.startsWith(expected.slice(0, -1)) : line === expected;
    const advance = () => {
      for (let next = transcript.steps[step]; next; next = transcript.steps[step]) {
        if (next.kind === 'S') {
          stream.write(`${next.text}\r\n`);
          step++;
        } else if (next.kind === 'tls') {
          step++;
          stream.removeAllListeners('data');
          const upgraded = new tls.TLSSocket(stream, { isServer: true, secureContext: context });
          upgraded.on('error', () => upgraded.destroy());
          upgraded.on('data', onData);
          stream = upgraded;
          // The client speaks first after the handshake; S lines that follow wait for secureConnect.
          if (transcript.steps[step]?.kind === 'S') upgraded.once('secure', advance);
          return;
        } else return;
      }
      stream.end();
    };
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let lf = buffer.indexOf('\n'); lf >= 0; lf = buffer.indexOf('\n')) {
        const line = buffer.slice(0, lf).replace(/\r$/, '');
        buffer = buffer.slice(lf + 1);
        const expected = transcript.steps[step];
        if (expected?.kind !== 'C' || !matches(expected.text, line)) {
          stream.destroy();
          return;
        }
        step++;
        advance();
      }
    };
    if (implicit) {
      const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
      secure.on('error', () => secure.destroy());
      secure.on('data', onData);
      stream = secure;
      secure.once('secure', advance);
    } else {
      raw.on('data', onData);
      advance();
    }
  });
}
