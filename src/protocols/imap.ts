/** IMAP (RFC 9051): greeting, CAPABILITY, STARTTLS, LOGOUT, tags and literals, and the opt-in checks' parts. */
import { CapError, ProtocolError, ServiceClosingError } from '../errors.js';
import type { Capabilities, Greeting } from '../types/index.js';
import {
  cancelAnswered,
  type Dialogue,
  detectProtocol,
  type LoginTry,
  NotThisProtocol,
  ReplyBudget,
  refusalOutcome,
  type StartTlsReply,
} from './dialogue.js';
import type { Session } from './session.js';

/** A tagged command's outcome with the untagged lines that came before it (RFC 9051 §2.2.2). */
export interface ImapResponse {
  status: 'OK' | 'NO' | 'BAD';
  untagged: string[];
  tagged: string;
}

const literalAtEnd = /\{(\d+)\+?\}$/;

/** Sessions number their tags; a tag is never reused within a connection (RFC 9051 §2.2.1). */
const tagCounters = new WeakMap<Session, number>();
function nextTag(session: Session): string {
  const n = (tagCounters.get(session) ?? 0) + 1;
  tagCounters.set(session, n);
  return `mp${n}`;
}

/** The largest literal RFC 9051 allows: its size is a number64, at most 2^63-1 (RFC 9051 §9). */
const number64Max = 9_223_372_036_854_775_807n;

/**
 * Reads one IMAP line, following literals: a line ending in {N} is followed by N raw bytes and then the
 * rest of the line. Literals above the cap are never buffered: past number64 a protocol error, else the cap's.
 */
async function readImapLine(
  session: Session,
  phase: 'capabilities' | 'starttls' | 'quit',
  budget: ReplyBudget,
) {
  let text = '';
  for (;;) {
    const line = await session.readLine(phase, session.limits.replyMs);
    budget.add(line);
    text += line.text;
    const literal = literalAtEnd.exec(line.text);
    if (!literal) return text;
    const digits = literal[1] ?? '';
    const cap = session.limits.literalBytes;
    if (BigInt(digits) > number64Max)
      throw new ProtocolError(
        `an IMAP literal of ${digits} bytes, larger than RFC 9051 allows (2^63-1 octets, a number64, §9)`,
      );
    const size = Number(digits);
    if (size > cap) {
      const allowed = 'RFC 9051 allows a literal of up to 2^63-1 octets, a number64, §9';
      throw new CapError('literalBytes', cap, `an IMAP literal of ${digits} bytes, larger than`, allowed);
    }
    budget.addBytes(size);
    session.skip(size);
    text += `<literal ${size} bytes>`;
  }
}

async function command(session: Session, phase: 'capabilities' | 'starttls' | 'quit', verb: string) {
  const tag = nextTag(session);
  session.send(`${tag} ${verb}`, { untaggedAllowed: true });
  const budget = new ReplyBudget(session, 'imap');
  const untagged: string[] = [];
  for (;;) {
    const text = await readImapLine(session, phase, budget);
    if (text.startsWith('* ') || text === '*') {
      // BYE outside LOGOUT: the server is closing the connection now (RFC 9051 §7.1.5).
      if (/^\* BYE\b/i.test(text) && verb !== 'LOGOUT') throw new ServiceClosingError(text);
      untagged.push(text);
      continue;
    }
    const match = /^(\S+) (OK|NO|BAD)\b/i.exec(text);
    if (match && match[1] === tag) {
      return { status: (match[2] ?? '').toUpperCase() as ImapResponse['status'], untagged, tagged: text };
    }
    if (text.startsWith('+')) throw new ProtocolError(`unexpected continuation request after ${verb}`);
    throw new ProtocolError(`expected tag ${tag}, got ${JSON.stringify(text.slice(0, 80))}`);
  }
}

/** Reads to the tagged reply of `tag` or a continuation request, skipping untagged lines (RFC 9051 §7). */
export async function taggedOrContinuation(session: Session, tag: string): Promise<string> {
  const budget = new ReplyBudget(session, 'imap');
  for (;;) {
    const line = await session.readLine('check', session.limits.replyMs);
    budget.add(line);
    if (line.text.startsWith('+') || line.text.startsWith(`${tag} `)) return line.text;
    if (/^\* BYE\b/i.test(line.text)) throw new ServiceClosingError(line.text);
    if (!line.text.startsWith('*'))
      throw new ProtocolError(`expected tag ${tag}, got ${JSON.stringify(line.text.slice(0, 80))}`);
  }
}

/** Capability atoms from a "* CAPABILITY ..." line or a "[CAPABILITY ...]" response code. */
export function capabilityAtoms(lines: string[]): string[] {
  const atoms: string[] = [];
  for (const line of lines) {
    const match = /^\* CAPABILITY (.*)$/i.exec(line) ?? /\[CAPABILITY ([^\]]*)\]/i.exec(line);
    if (match?.[1]) atoms.push(...match[1].trim().split(/\s+/));
  }
  return atoms;
}

export function imapCapabilities(command: string, ok: boolean, atoms: string[]): Capabilities {
  const upper = atoms.map((atom) => atom.toUpperCase());
  return {
    command,
    ok,
    list: atoms,
    starttls: upper.includes('STARTTLS'),
    authMechanisms: upper
      .filter((atom) => atom.startsWith('AUTH='))
      .map((atom) => atom.slice(5))
      .sort(),
    // Without LOGINDISABLED the LOGIN command takes a password in the clear (RFC 9051 §6.2.3, RFC 3501 §7.2.1).
    plaintextLogin: ok && !upper.includes('LOGINDISABLED'),
  };
}

/**
 * Tags: the probe numbers its own (mp1, mp2, …, never reused on a connection, RFC 9051 §2.2.1); the goodbye to a
 * silent server is mp0; the opt-in checks use mpi1/mpi2 (injection) and mpa1 (authentication), so their replies
 * can never be taken for the probe's.
 */
export const imap: Dialogue = {
  protocol: 'imap',
  startTlsCommand: 'STARTTLS',
  goodbye: 'mp0 LOGOUT',

  checks: {
    injection: ['mpi1 STARTTLS', 'mpi2 NOOP'],
    async injectedUpgradeReply(session) {
      const budget = new ReplyBudget(session, 'imap');
      for (;;) {
        const line = await session.readLine('starttls', session.limits.replyMs);
        budget.add(line);
        if (line.text.startsWith('mpi1 '))
          return { accepted: /^mpi1 OK\b/i.test(line.text), text: line.text };
      }
    },
    // The tagged completion of mpi2 NOOP (RFC 9051 §6.1.2).
    provesInjected: (line) => /^mpi2 OK\b/i.test(line),
    unlistedMechanism: 'PLAIN',
    async tryLogin(session, way, index, caps) {
      // Only SASL mechanisms are tried: the LOGIN command carries the password in its arguments.
      const tag = `mpa${index}`;
      session.send(`${tag} AUTHENTICATE ${way.name}`, { untaggedAllowed: true });
      const first = await taggedOrContinuation(session, tag);
      if (first.startsWith('+')) {
        session.send('*'); // cancels the exchange (RFC 9051 §6.2.2)
        // The continuation already proved the way allowed; the answer to the cancel may come only after the
        // server's failed-login delay (Courier: 5 s).
        const answered = await cancelAnswered(taggedOrContinuation(session, tag));
        return {
          outcome: 'allowed',
          serverWide: false,
          reply: first,
          ...(answered ? {} : { cancelUnanswered: true }),
        };
      }
      if (/^\S+ OK\b/i.test(first)) return { outcome: 'allowed', serverWide: false, reply: first };
      const outcome = refusalOutcome(first);
      // [PRIVACYREQUIRED] (RFC 5530 §3) with LOGINDISABLED and no AUTH= left: nothing else to log in with.
      const upper = caps.list.map((atom) => atom.toUpperCase());
      const serverWide =
        outcome === 'refused' &&
        /\[PRIVACYREQUIRED\]/i.test(first) &&
        upper.includes('LOGINDISABLED') &&
        !upper.some((atom) => atom.startsWith('AUTH='));
      return { outcome, serverWide, reply: first } satisfies LoginTry;
    },
  },

  async greeting(session, ms = session.limits.greetingMs) {
    const line = await session.readLine('greeting', ms);
    // What the first line is comes first: a cut line that is not IMAP's is not stopped at IMAP's (absent) limit.
    const match = /^\* (OK|PREAUTH|BYE)\b ?(.*)$/is.exec(line.text);
    if (!match) throw new NotThisProtocol(detectProtocol(line.text), line.text);
    new ReplyBudget(session, 'imap').add(line);
    const kind = (match[1] ?? '').toUpperCase();
    const lines = [match[2] ?? ''];
    if (kind === 'OK') return { kind: 'ok', lines } satisfies Greeting;
    if (kind === 'PREAUTH') return { kind: 'preauth', lines };
    return { kind: 'refused', lines };
  },

  async capabilities(session, { greeting }) {
    const response = await command(session, 'capabilities', 'CAPABILITY');
    const ok = response.status === 'OK';
    // CAPABILITY refused, but the greeting listed them ([CAPABILITY …], RFC 9051 §7.1): that list is the server's
    // word too, and clients use it; "no STARTTLS" would contradict what it said.
    const listed = ok ? [] : capabilityAtoms((greeting?.lines ?? []).map((line) => `* OK ${line}`));
    const caps =
      listed.length > 0
        ? imapCapabilities('CAPABILITY (refused; the greeting lists them)', true, listed)
        : imapCapabilities('CAPABILITY', ok, ok ? capabilityAtoms(response.untagged) : []);
    if (!ok) caps.refusal = response.tagged;
    return caps;
  },

  async startTls(session): Promise<StartTlsReply> {
    const response = await command(session, 'starttls', 'STARTTLS');
    return { accepted: response.status === 'OK', lines: [...response.untagged, response.tagged] };
  },

  async quit(session) {
    await command(session, 'quit', 'LOGOUT');
  },
};
