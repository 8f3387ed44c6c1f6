import { Duplex } from 'node:stream';
import { defaultLimits, type Limits } from '../../src/limits.js';
import { Session } from '../../src/protocols/session.js';

/** A Session over an in-memory stream that delivers `chunks` (in that split) and records what was written. */
export function scriptedSession(chunks: (string | Buffer)[], limits: Partial<Limits> = {}) {
  const written: string[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk.toString());
      callback();
    },
  });
  const session = new Session({ ...defaultLimits, replyMs: 2000, greetingMs: 2000, ...limits }, undefined);
  session.attach(stream);
  for (const chunk of chunks) stream.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
  stream.push(null);
  return { session, written, stream };
}

/** Every way of cutting `text` into chunks that a test cares about: whole, two pieces at every byte, one byte each. */
export function chunkings(text: string): { name: string; chunks: string[] }[] {
  const ways = [{ name: 'whole', chunks: [text] }];
  for (let cut = 1; cut < text.length; cut++)
    ways.push({ name: `cut at ${cut}`, chunks: [text.slice(0, cut), text.slice(cut)] });
  ways.push({ name: 'byte by byte', chunks: [...text] });
  return ways;
}

/** A Session whose server answers each write with the next of `replies`, as a lockstep server does. */
export function lockstepSession(greeting: string, replies: string[], limits: Partial<Limits> = {}) {
  const written: string[] = [];
  const queue = [...replies];
  const stream: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk.toString());
      callback();
      const next = queue.shift();
      if (next !== undefined) setImmediate(() => stream.push(Buffer.from(next, 'latin1')));
    },
  });
  const session = new Session({ ...defaultLimits, replyMs: 2000, greetingMs: 2000, ...limits }, undefined);
  session.attach(stream);
  if (greeting) stream.push(Buffer.from(greeting, 'latin1'));
  return { session, written, stream };
}
