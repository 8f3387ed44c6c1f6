/** SMTP (RFC 5321): greeting, EHLO/HELO capabilities, STARTTLS (RFC 3207), QUIT, and the opt-in checks' parts. */
import { CommandRefusedError, ProtocolError, ServiceClosingError } from '../errors.js';
import { monotonicMs } from '../net/clock.js';
import type { Capabilities, Greeting } from '../types/index.js';
import {
  cancelAnswered,
  type Dialogue,
  detectProtocol,
  NotThisProtocol,
  ReplyBudget,
  requiresTlsText,
  type StartTlsReply,
} from './dialogue.js';
import type { Span } from './secret.js';
import type { Session } from './session.js';

/** One SMTP reply (RFC 5321 §4.2): its code and the text of each line. */
export interface SmtpReply {
  code: number;
  lines: string[];
}

const replyLine = /^(\d{3})(?:([ -])(.*)|)$/s;

/**
 * A reply as one text, its code and its lines' words joined by blanks (`535 first second`, or with the code before
 * each line's words: `421 first 421 second`), and where each line's words stand in it: the scrubber takes each
 * line's ends as a text's, so the joined text hides what the lines do in the transcript (secret.ts).
 */
export function replyText(reply: SmtpReply, codeOnEach = false): { text: string; lines: Span[] } {
  let text = '';
  const lines: Span[] = [];
  for (const [index, line] of reply.lines.entries()) {
    text += index === 0 ? `${reply.code} ` : codeOnEach ? ` ${reply.code} ` : ' ';
    lines.push([text.length, text.length + line.length]);
    text += line;
  }
  return { text, lines };
}

/** Where a reply line's words stand in it, after its code and its `-` or blank (`535-5.7.8 bad`: from 4 on). */
export function replyLineWords(text: string): Span[] {
  return /^\d{3}[ -]/.test(text) ? [[4, text.length]] : [];
}

/**
 * Reads one whole reply: `ddd-text` lines continue it, `ddd text` (or a bare `ddd`) ends it. All lines
 * must carry the same code (RFC 5321 §4.2.1). The first line may show another protocol.
 */
export async function readSmtpReply(
  session: Session,
  phase: 'greeting' | 'capabilities' | 'starttls' | 'quit',
  ms: number,
) {
  // Bytes already waiting before the command was written belong to no command (checked by send()).
  const budget = new ReplyBudget(session, 'smtp');
  const lines: string[] = [];
  let code: number | undefined;
  // The greeting's deadline is for the whole greeting: a `220-` line at once and the rest after a greet wait
  // (Postfix postscreen) must end within it, however its lines are spaced.
  const endsAt = phase === 'greeting' ? monotonicMs() + ms : undefined;
  for (;;) {
    const line = await session.readLine(
      phase,
      endsAt === undefined ? ms : Math.max(1, Math.ceil(endsAt - monotonicMs())),
    );
    const match = replyLine.exec(line.text);
    // What the first line is comes first: a cut line that is not SMTP's breaks no SMTP limit.
    if (!match && code === undefined) throw new NotThisProtocol(detectProtocol(line.text), line.text);
    budget.add(line);
    if (!match) {
      throw new ProtocolError(`malformed SMTP reply line: ${JSON.stringify(line.text.slice(0, 80))}`);
    }
    const lineCode = Number(match[1]);
    if (code !== undefined && lineCode !== code) {
      throw new ProtocolError(`reply code changed from ${code} to ${lineCode} within one reply`);
    }
    code = lineCode;
    lines.push(match[3] ?? '');
    if (match[2] === '-') continue;
    // 421 after the greeting: the service is closing, at whatever step (RFC 5321 §3.8, §4.2.5).
    if (code === 421 && phase !== 'greeting' && phase !== 'quit') {
      const closing = replyText({ code, lines }, true);
      throw new ServiceClosingError(closing.text, closing.lines);
    }
    return { code, lines } satisfies SmtpReply;
  }
}

/** Parses the EHLO keyword lines (all but the first, RFC 5321 §4.1.1.1) into capability facts. */
export function smtpCapabilities(command: string, reply: SmtpReply): Capabilities {
  const ok = reply.code === 250;
  const list = ok ? reply.lines.slice(1).map((line) => line.trim()) : [];
  const auth = new Set<string>();
  let starttls = false;
  for (const entry of list) {
    const [keyword = '', ...params] = entry.split(/\s+/);
    const upper = keyword.toUpperCase();
    if (upper === 'STARTTLS') starttls = true;
    // "AUTH=LOGIN PLAIN" is the pre-RFC 2554 form some servers still send alongside "AUTH".
    if (upper === 'AUTH' || upper.startsWith('AUTH=')) {
      const first = upper.startsWith('AUTH=') ? [upper.slice(5)] : [];
      for (const mechanism of [...first, ...params]) if (mechanism) auth.add(mechanism.toUpperCase());
    }
  }
  return { command, ok, list, starttls, authMechanisms: [...auth].sort(), plaintextLogin: false };
}

/**
 * An SMTP refusal of AUTH that shows authentication is not available before TLS: 530 (RFC 3207 §4, "must issue
 * a STARTTLS command first"), 503 or 502 (no AUTH at all in this state), which hold for the whole server;
 * 538 (RFC 4954 §6, this mechanism needs encryption) and a 5.7.x policy refusal that speaks of TLS, which hold
 * for the mechanism tried. A 504 ("mechanism unknown") or a temporary error proves nothing.
 */
function authRefusal(code: number, text: string): { outcome: 'refused' | 'unclear'; serverWide: boolean } {
  if (code === 530 || code === 503 || code === 502) return { outcome: 'refused', serverWide: true };
  if (code === 538 || (code >= 500 && /\b5\.7\.\d+\b/.test(text) && requiresTlsText.test(text)))
    return { outcome: 'refused', serverWide: false };
  return { outcome: 'unclear', serverWide: false };
}

export const smtp: Dialogue = {
  protocol: 'smtp',
  startTlsCommand: 'STARTTLS',
  goodbye: 'QUIT',

  checks: {
    injection: ['STARTTLS', 'NOOP'],
    async injectedUpgradeReply(session) {
      const reply = await readSmtpReply(session, 'starttls', session.limits.replyMs);
      return { accepted: reply.code === 220, text: `${reply.code} ${reply.lines.join(' ')}` };
    },
    // NOOP's only success is 250 (RFC 5321 §4.1.1.9).
    provesInjected: (line) => /^250[ -]/.test(line),
    unlistedMechanism: 'LOGIN',
    async tryLogin(session, way) {
      session.send(`AUTH ${way.name}`);
      const reply = await readSmtpReply(session, 'capabilities', session.limits.replyMs);
      const text = `${reply.code} ${reply.lines.join(' ')}`;
      if (reply.code !== 334 && reply.code !== 235) return { ...authRefusal(reply.code, text), reply: text };
      if (reply.code === 334) {
        session.send('*'); // cancels the exchange (RFC 4954 §4)
        const answered = await cancelAnswered(readSmtpReply(session, 'capabilities', session.limits.replyMs));
        if (!answered) return { outcome: 'allowed', serverWide: false, reply: text, cancelUnanswered: true };
      }
      return { outcome: 'allowed', serverWide: false, reply: text };
    },
  },

  async greeting(session, ms = session.limits.greetingMs) {
    const reply = await readSmtpReply(session, 'greeting', ms);
    // 220 is service ready; 421 and 554 refuse service (RFC 5321 §3.1, §4.2.3), and so does 521, a host that
    // accepts no mail at all (RFC 7504 §3).
    if (reply.code === 220) return { kind: 'ok', lines: reply.lines, code: reply.code } satisfies Greeting;
    if (reply.code === 421 || reply.code === 554 || reply.code === 521)
      return { kind: 'refused', lines: reply.lines, code: reply.code };
    throw new ProtocolError(`unexpected greeting code ${reply.code}`);
  },

  async capabilities(session, { ehloName }) {
    session.send(`EHLO ${ehloName}`);
    const reply = await readSmtpReply(session, 'capabilities', session.limits.replyMs);
    // An EHLO the server does not accept is answered 500, 501, 502 or 550 (RFC 5321 §4.1.4; 504 too, §4.3.2), and the
    // server stays in the state it was in: the connection is still up, and a client falls back to HELO (§3.2), which
    // lists no extensions. The refusal is kept: it is why no extension, STARTTLS included, is offered.
    if (heloAfter.has(reply.code)) {
      const ehlo = `${reply.code} ${reply.lines.join(' ')}`;
      session.send(`HELO ${ehloName}`);
      const helo = await readSmtpReply(session, 'capabilities', session.limits.replyMs);
      if (helo.code >= 400) throw refused('HELO', ehloName, helo, `EHLO ${ehloName}: ${ehlo}; `);
      return { ...smtpCapabilities('HELO', helo), refusal: ehlo, list: [] };
    }
    // Any other refusal of EHLO (554, a 4xx) refuses the session: no mail goes this way, and "no STARTTLS" would
    // blame the server for a list it never sent (RFC 5321 §4.1.1.1, §4.2.2). A code that refuses nothing (a stray
    // 220) stays a capability reply that lists nothing.
    if (reply.code >= 400) throw refused('EHLO', ehloName, reply);
    return smtpCapabilities('EHLO', reply);
  },

  async startTls(session): Promise<StartTlsReply> {
    session.send('STARTTLS');
    const reply = await readSmtpReply(session, 'starttls', session.limits.replyMs);
    return { accepted: reply.code === 220, lines: reply.lines.map((text) => `${reply.code} ${text}`) };
  },

  async quit(session) {
    session.send('QUIT');
    await readSmtpReply(session, 'quit', session.limits.replyMs);
  },
};

/** The replies to an EHLO the server does not accept, after which a client sends HELO (RFC 5321 §4.1.4, §4.3.2). */
const heloAfter = new Set([500, 501, 502, 504, 550]);

/** The session refused at `command`; `before` is what was refused before it (the EHLO before a HELO). */
const refused = (command: string, name: string, reply: SmtpReply, before = '') =>
  new CommandRefusedError(`${before}${command} ${name}: ${reply.code} ${reply.lines.join(' ')}`);

/** The EHLO argument when the user gives none: our own address as an address literal (RFC 5321 §4.1.3). */
export function addressLiteral(address: string | undefined): string {
  if (!address) return '[127.0.0.1]';
  const bare = address.replace(/^::ffff:/, '');
  return bare.includes(':') ? `[IPv6:${bare}]` : `[${bare}]`;
}
