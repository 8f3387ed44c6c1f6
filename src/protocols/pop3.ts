/** POP3 (RFC 1939, RFC 2449): greeting, CAPA, STLS (RFC 2595), QUIT, and the opt-in checks' parts. */
import { ProtocolError } from '../errors.js';
import type { Capabilities, Greeting } from '../types/index.js';
import {
  cancelAnswered,
  type Dialogue,
  detectProtocol,
  NotThisProtocol,
  ReplyBudget,
  refusalOutcome,
  type StartTlsReply,
} from './dialogue.js';
import type { Session } from './session.js';

/** Reads a single-line POP3 status response (RFC 1939 §3): +OK or -ERR. */
async function status(session: Session, phase: 'capabilities' | 'starttls' | 'quit') {
  const line = await session.readLine(phase, session.limits.replyMs);
  new ReplyBudget(session, 'pop3').add(line);
  const match = /^([+]OK|-ERR)\b ?(.*)$/is.exec(line.text);
  if (!match) throw new ProtocolError(`expected +OK or -ERR, got ${JSON.stringify(line.text.slice(0, 80))}`);
  return { ok: match[1]?.toUpperCase() === '+OK', text: line.text };
}

/** The APOP timestamp of a POP3 greeting: `<…@…>` (RFC 1939 §7, the msg-id syntax of RFC 822). */
const apopTimestamp = /<[^<>\s@]+@[^<>\s@]+>/;

export function pop3Capabilities(ok: boolean, list: string[]): Capabilities {
  const auth = new Set<string>();
  let starttls = false;
  let user = false;
  for (const entry of list) {
    const [keyword = '', ...params] = entry.trim().split(/\s+/);
    const upper = keyword.toUpperCase();
    if (upper === 'STLS') starttls = true;
    if (upper === 'USER') user = true;
    if (upper === 'SASL') for (const mechanism of params) auth.add(mechanism.toUpperCase());
  }
  // USER/PASS sends the password as is (RFC 1939 §7); CAPA lists USER when it is allowed (RFC 2449 §6.8).
  return { command: 'CAPA', ok, list, starttls, authMechanisms: [...auth].sort(), plaintextLogin: user };
}

export const pop3: Dialogue = {
  protocol: 'pop3',
  startTlsCommand: 'STLS',
  goodbye: 'QUIT',

  checks: {
    injection: ['STLS', 'CAPA'],
    async injectedUpgradeReply(session) {
      const line = await session.readLine('starttls', session.limits.replyMs);
      return { accepted: /^\+OK\b/i.test(line.text), text: line.text };
    },
    // CAPA answers +OK (RFC 2449 §5).
    provesInjected: (line) => /^\+OK\b/i.test(line),
    unlistedMechanism: 'PLAIN',
    async tryLogin(session, way) {
      // USER carries a name, never a password: PASS is never sent. APOP is never tried (it carries a digest).
      if (!way.sasl && way.name !== 'USER') throw new Error(`${way.name} is never tried`);
      session.send(way.sasl ? `AUTH ${way.name}` : 'USER mailprobe');
      const first = await session.readLine('check', session.limits.replyMs);
      new ReplyBudget(session, 'pop3').add(first);
      if (way.sasl && /^\+(?: |$)/.test(first.text)) {
        session.send('*'); // cancels the exchange (RFC 5034 §4)
        const answered = await cancelAnswered(session.readLine('check', session.limits.replyMs));
        return {
          outcome: 'allowed',
          serverWide: false,
          reply: first.text,
          ...(answered ? {} : { cancelUnanswered: true }),
        };
      }
      if (/^\+/.test(first.text)) return { outcome: 'allowed', serverWide: false, reply: first.text };
      const outcome = refusalOutcome(first.text);
      // [SYS/PERM] (RFC 3206 §4) is a refusal of the system, not of one way to log in.
      return {
        outcome,
        serverWide: outcome === 'refused' && /^-ERR \[SYS\/PERM\]/i.test(first.text),
        reply: first.text,
      };
    },
  },

  async greeting(session, ms = session.limits.greetingMs) {
    const line = await session.readLine('greeting', ms);
    // What the first line is comes first: a cut line that is not POP3's breaks no POP3 limit.
    const match = /^([+]OK|-ERR)\b ?(.*)$/is.exec(line.text);
    if (!match) throw new NotThisProtocol(detectProtocol(line.text), line.text);
    new ReplyBudget(session, 'pop3').add(line);
    const lines = [match[2] ?? ''];
    const kind = match[1]?.toUpperCase() === '+OK' ? 'ok' : 'refused';
    // A timestamp in the greeting offers APOP (RFC 1939 §7): a msg-id, <process.clock@host>.
    const apop = kind === 'ok' ? apopTimestamp.exec(lines[0] ?? '')?.[0] : undefined;
    return { kind, lines, ...(apop ? { apopTimestamp: apop } : {}) } satisfies Greeting;
  },

  async capabilities(session) {
    session.send('CAPA');
    const first = await status(session, 'capabilities');
    // Servers without RFC 2449 answer -ERR: capabilities are then unknown, which is not an error (the client probes,
    // RFC 2449 §5: see upgradeWorthTrying).
    if (!first.ok) return { ...pop3Capabilities(false, []), refusal: first.text };
    const budget = new ReplyBudget(session, 'pop3');
    const list: string[] = [];
    for (;;) {
      const line = await session.readLine('capabilities', session.limits.replyMs);
      budget.add(line);
      if (line.text === '.') return pop3Capabilities(true, list);
      // Multi-line responses are dot-stuffed (RFC 1939 §3).
      list.push(line.text.startsWith('..') ? line.text.slice(1) : line.text);
    }
  },

  async startTls(session): Promise<StartTlsReply> {
    session.send('STLS');
    const reply = await status(session, 'starttls');
    return { accepted: reply.ok, lines: [reply.text] };
  },

  async quit(session) {
    session.send('QUIT');
    await status(session, 'quit');
  },
};
