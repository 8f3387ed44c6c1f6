/**
 * Property-based fuzzing of the reply readers: random bytes (biased towards protocol-looking text), cut into
 * random chunks. Whatever arrives: no exception other than the protocol's own errors, the line cap holds, and
 * the outcome is the same whatever the chunking.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CapError, ConnectionClosedError, PhaseTimeoutError, ProtocolError } from '../src/errors.js';
import { imap } from '../src/protocols/imap.js';
import { pop3 } from '../src/protocols/pop3.js';
import type { Session } from '../src/protocols/session.js';
import { readSmtpReply } from '../src/protocols/smtp.js';
import { renderHtml } from '../src/render/html.js';
import { sanitize } from '../src/render/sanitize.js';
import { evaluate } from '../src/rules/evaluate.js';
import { outcome as runOutcome } from '../src/rules/outcome.js';
import { DerError, parseOcspResponse, signatureAlgorithm } from '../src/tls/der.js';
import type { ChainCertificate, PortResult } from '../src/types/index.js';
import { expectInertHtml } from './helpers/html.js';
import { scriptedSession } from './helpers/scripted.js';

const lineBytes = 64;

/** Bytes that look like mail protocol traffic often enough to reach deep into the readers. */
const fragment = fc.oneof(
  fc.constantFrom(
    '250-',
    '250 ',
    '220 ',
    '* OK ',
    '* CAPABILITY ',
    'mp1 OK',
    'mp1 ',
    '+OK',
    '-ERR',
    '.',
    '..',
    '{5}',
    '{99999999999}',
    'STARTTLS',
    'AUTH PLAIN',
  ),
  fc.constantFrom('\r\n', '\n', '\r', '\u0000', '\u001b[2J', '\xff'),
  fc.string({ maxLength: 80 }),
);
const stream = fc.array(fragment, { maxLength: 40 }).map((parts) => Buffer.from(parts.join(''), 'latin1'));

/** Cuts `bytes` at the given points (sorted, deduplicated, within range). */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const point of [...at, bytes.length]) {
    if (point > last) chunks.push(bytes.subarray(last, point));
    last = point;
  }
  return chunks;
}

// CapError: what the protocol allows, past one of mailprobe's caps (a line of 64 bytes here, below SMTP's and
// POP3's 512; a reply's lines or bytes; an IMAP literal).
const expectedErrors = [ProtocolError, CapError, ConnectionClosedError, PhaseTimeoutError];

/** Runs `read` until it fails; returns what was read and how it ended, as comparable text. */
async function outcome(chunks: Buffer[], read: (session: Session) => Promise<unknown>) {
  const { session } = scriptedSession(chunks, {
    lineBytes,
    replyLines: 16,
    replyBytes: 512,
    literalBytes: 128,
    replyMs: 500,
  });
  const results: unknown[] = [];
  for (let i = 0; i < 50; i++) {
    try {
      results.push(await read(session));
    } catch (error) {
      if (!expectedErrors.some((type) => error instanceof type)) throw error;
      results.push(`${(error as Error).name}: ${(error as Error).message}`);
      break;
    }
  }
  for (const entry of session.transcript) {
    if (entry.dir === 'S') expect(Buffer.byteLength(entry.text, 'utf8')).toBeLessThanOrEqual(lineBytes * 3);
  }
  return JSON.stringify(results);
}

const readers: [string, (session: Session) => Promise<unknown>][] = [
  ['SMTP replies', (session) => readSmtpReply(session, 'capabilities', 500)],
  ['IMAP CAPABILITY responses', (session) => imap.capabilities(session, { ehloName: '' })],
  ['POP3 CAPA responses', (session) => pop3.capabilities(session, { ehloName: '' })],
  ['greetings', (session) => imap.greeting(session, 500)],
];

describe('fuzzed reply readers', () => {
  for (const [name, read] of readers) {
    it(`${name}: no crash, caps respected, same outcome whatever the chunking`, async () => {
      await fc.assert(
        fc.asyncProperty(
          stream,
          fc.array(fc.nat(), { maxLength: 12 }),
          fc.array(fc.nat(), { maxLength: 12 }),
          async (bytes, a, b) => {
            const first = await outcome(cut(bytes, a), read);
            const second = await outcome(cut(bytes, b), read);
            expect(second).toBe(first);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

describe('the DER readers (certificate signature algorithm, stapled OCSP)', () => {
  it('throw only DerError on any bytes, mutated real structures included', () => {
    const ocsp = fc.uint8Array({ maxLength: 300 });
    fc.assert(
      fc.property(ocsp, fc.nat(), (bytes, cut) => {
        // A valid-looking prefix reaches deeper than random bytes alone.
        const framed = Uint8Array.from([
          0x30,
          0x82,
          (bytes.length >> 8) & 0xff,
          bytes.length & 0xff,
          ...bytes,
        ]);
        for (const input of [bytes, framed, framed.subarray(0, cut % (framed.length + 1))]) {
          for (const read of [() => parseOcspResponse(input), () => signatureAlgorithm(input)]) {
            try {
              read();
            } catch (error) {
              expect(error).toBeInstanceOf(DerError);
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('the HTML report of fuzzed server text', () => {
  it('shows any bytes in a greeting, a capability, a transcript line or a certificate field as text', () => {
    const chain: ChainCertificate = {
      index: 0,
      role: 'leaf',
      subject: 'CN=x',
      issuer: 'CN=y',
      keyType: 'rsa',
      keyBits: 2048,
      signatureAlgorithm: 'sha256WithRSAEncryption',
      ca: false,
      selfSigned: false,
      sha256: 'AA',
      serialNumber: '01',
      problems: [],
    };
    fc.assert(
      fc.property(stream, stream, (a, b) => {
        const one = a.toString('latin1');
        const two = b.toString('utf8');
        const port: PortResult = {
          port: 587,
          service: 'submission',
          protocol: 'smtp',
          expectedTls: 'starttls',
          address: '127.0.0.1',
          family: 4,
          status: 'open',
          statusDetail: two,
          greeting: { kind: 'ok', lines: [one, two], code: 220 },
          capabilities: {
            command: 'EHLO',
            ok: true,
            list: [one, two],
            starttls: true,
            authMechanisms: [],
            plaintextLogin: false,
          },
          tls: {
            protocol: 'TLSv1.3',
            cipher: 'TLS_AES_256_GCM_SHA384',
            certificate: {
              subject: one,
              issuer: two,
              subjectAltNames: [`DNS:${one}`],
              sha256: 'AA',
              chainLength: 1,
            },
            chain: [{ ...chain, subject: one, issuer: two }],
            trusted: false,
            trustError: two,
            checkedName: 'x',
            nameMatches: false,
            nameError: one,
          },
          startedAt: new Date().toISOString(),
          timings: { total: 1 },
          transcript: [
            { at: 0, dir: 'S', text: one, tls: false },
            { at: 1, dir: '-', text: two, tls: true },
          ],
        };
        const verdict = evaluate({
          host: one,
          servername: 'x',
          notes: [two],
          addresses: [{ address: '127.0.0.1', family: 4 }],
          resolveMs: 0,
          startedAt: port.startedAt,
          durationMs: 1,
          ports: [port],
        });
        const shown = expectInertHtml(renderHtml([verdict], runOutcome([verdict], 'high'))).text;
        // Every byte is there, as the terminal report shows it (controls and invisible characters as stand-ins).
        expect(shown).toContain(sanitize(one));
      }),
      { numRuns: 200 },
    );
  });
});
