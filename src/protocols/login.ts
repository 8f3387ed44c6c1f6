/**
 * The login exchanges on the wire, run only inside TLS the caller has verified (probe/login.ts): SMTP AUTH
 * (RFC 4954; PLAIN RFC 4616, LOGIN, XOAUTH2, OAUTHBEARER RFC 7628), IMAP AUTHENTICATE and LOGIN (RFC 9051
 * §6.2.2-§6.2.3), POP3 AUTH and USER/PASS (RFC 5034, RFC 1939 §7). Every line that carries the secret is
 * recorded in the transcript as a placeholder; every text kept is scrubbed of the secret's forms (secret.ts).
 */
import { ProtocolError, ServiceClosingError } from '../errors.js';
import type { Capabilities, LoginFacts, Protocol } from '../types/index.js';
import { ReplyBudget } from './dialogue.js';
import { taggedOrContinuation } from './imap.js';
import {
  b64,
  type Credential,
  oauthBearerMessage,
  plainMessage,
  type Span,
  xoauth2Message,
} from './secret.js';
import type { Session } from './session.js';
import { readSmtpReply, replyText } from './smtp.js';

/** The ways a mail client would log in, in the order it picks them, for the kind of secret given. */
export function loginWays(protocol: Protocol, caps: Capabilities, kind: Credential['kind']): string[] {
  const sasl = caps.authMechanisms;
  if (kind === 'token') return ['OAUTHBEARER', 'XOAUTH2'].filter((m) => sasl.includes(m));
  const ways = ['PLAIN', 'LOGIN'].filter((m) => sasl.includes(m));
  if (protocol === 'imap' && caps.plaintextLogin) ways.push('LOGIN command');
  if (protocol === 'pop3' && caps.plaintextLogin) ways.push('USER');
  // IMAP: AUTHENTICATE LOGIN is not what clients pick; the LOGIN command is (RFC 9051 §6.2.3).
  return protocol === 'imap' ? ways.filter((w) => w !== 'LOGIN') : ways;
}

/** What a mail client lists as offered: each SASL mechanism, and the protocol's own command. */
export function offeredWays(protocol: Protocol, caps: Capabilities): string[] {
  return [
    ...caps.authMechanisms,
    ...(caps.plaintextLogin ? [protocol === 'imap' ? 'LOGIN command' : 'USER'] : []),
  ];
}

/** Words that ask for an app password or a web login (Gmail 534 5.7.9 / 5.7.14, Microsoft, Yahoo, Apple). */
const appPasswordText =
  /application[- ]specific password|app(?:lication)?[- ]password|web ?login|WebLoginRequired|web browser|\[WEBALERT\b|\b5\.7\.9\b|\b5\.7\.14\b|Please log ?in via/i;
/** Words of a lock or a throttle ([UNAVAILABLE] RFC 5530 §3, [IN-USE]/[SYS/TEMP]/[LOGIN-DELAY] RFC 3206/2449). */
const lockedText =
  /\[UNAVAILABLE\]|\[IN-USE\]|\[SYS\/TEMP\]|\[LOGIN-DELAY|too many|rate[- ]limit|locked|throttl|try again later|temporar/i;

/** The judgement-free reading of a refusal's words: app-password, locked, or a plain rejection. */
function refusal(text: string, temporary: boolean): LoginFacts['outcome'] {
  if (appPasswordText.test(text)) return 'app-password';
  if (temporary || lockedText.test(text)) return 'locked';
  return 'rejected';
}

export interface LoginAnswer {
  outcome: LoginFacts['outcome'];
  mechanism: string;
  reply: string;
  /** SMTP: where each line of the reply stands in `reply`, joined from them; scrub(reply, lines) hides each's ends. */
  lines?: readonly Span[];
}

/**
 * The answer to a challenge after the whole credential was sent: OAUTHBEARER's dummy response %x01 (RFC 7628
 * §3.2.3), XOAUTH2's empty line, else `*`, which cancels the exchange (RFC 4954 §4, RFC 9051 §6.2.2, RFC 5034 §4).
 */
const endOf = (way: string) => (way === 'OAUTHBEARER' ? 'AQ==' : way === 'XOAUTH2' ? '' : '*');
const hidden = (what: string, bytes: number) => `<${what}: ${bytes} bytes, not shown>`;

/** A SASL initial response (PLAIN, XOAUTH2, OAUTHBEARER) in base64, and how the transcript shows it. */
function saslResponse(way: string, c: Credential): { encoded: string; shown: string } {
  const message =
    way === 'PLAIN' ? plainMessage(c) : way === 'XOAUTH2' ? xoauth2Message(c) : oauthBearerMessage(c);
  const encoded = b64(message);
  return {
    encoded,
    shown: hidden(way === 'PLAIN' ? 'credentials, base64' : 'token, base64', encoded.length),
  };
}

/** The sessions on which a line that carries the secret was written (its writing begun, at least). */
const carried = new WeakSet<Session>();

/** Whether any byte of the secret went out on `session`: a login without one is no attempt (lockout rules). */
export const credentialSent = (session: Session) => carried.has(session);

/** Writes a line that carries the secret, recorded in the transcript as `shown`. */
function sendSecret(session: Session, line: string, shown: string, untaggedAllowed = false) {
  carried.add(session);
  session.send(line, { shown, ...(untaggedAllowed ? { untaggedAllowed } : {}) });
}

/**
 * A server that still asks for more (`334`, `+`) after the whole credential and the answer that ends the exchange
 * gave no final answer: it neither took nor refused the secret, so the exchange is an error, not a rejection.
 */
function noFinalAnswer(reply: string): never {
  throw new ProtocolError(`no final answer to the credential: the server still asked for more (${reply})`);
}

/** SMTP AUTH (RFC 4954) with `way`; the session is inside verified TLS, after EHLO. */
async function smtpLogin(session: Session, way: string, c: Credential): Promise<LoginAnswer> {
  const mechanism = `AUTH ${way}`;
  const read = async () => {
    const reply = await readSmtpReply(session, 'capabilities', session.limits.replyMs);
    return { code: reply.code, ...replyText(reply) };
  };
  let reply: { code: number; text: string; lines: Span[] };
  try {
    if (way === 'LOGIN') {
      session.send('AUTH LOGIN');
      reply = await read();
      if (reply.code === 334) {
        session.send(b64(c.user));
        reply = await read();
        if (reply.code === 334) {
          sendSecret(session, b64(c.secret), hidden('password, base64', b64(c.secret).length));
          reply = await read();
          if (reply.code === 334) {
            session.send(endOf(way));
            reply = await read();
            if (reply.code === 334) noFinalAnswer(reply.text);
          }
        }
      }
    } else {
      const { encoded, shown } = saslResponse(way, c);
      sendSecret(session, `AUTH ${way} ${encoded}`, `AUTH ${way} ${shown}`);
      reply = await read();
      // A bearer refusal comes as a 334 error challenge; the client answers it to end the exchange (RFC 7628
      // §3.2.3). A 334 after PLAIN's initial response asks for more than there is: the exchange is cancelled.
      if (reply.code === 334) {
        session.send(endOf(way));
        reply = await read();
        if (reply.code === 334) noFinalAnswer(reply.text);
      }
    }
  } catch (error) {
    if (error instanceof ServiceClosingError)
      return { outcome: 'locked', mechanism, reply: error.message, lines: error.lines };
    throw error;
  }
  const { text, lines } = reply;
  if (reply.code === 235) return { outcome: 'works', mechanism, reply: text, lines };
  if (reply.code === 504) return { outcome: 'not-offered', mechanism, reply: text, lines };
  return { outcome: refusal(text, reply.code >= 400 && reply.code < 500), mechanism, reply: text, lines };
}

/** An IMAP quoted string (RFC 9051 §4.3), or undefined when the text needs a literal. */
function imapQuoted(text: string): string | undefined {
  return /^[\x20-\x7e]*$/.test(text) ? `"${text.replace(/[\\"]/g, (m) => `\\${m}`)}"` : undefined;
}

/** IMAP AUTHENTICATE (SASL-IR, RFC 4959, when offered) or LOGIN with the password as a literal. */
async function imapLogin(
  session: Session,
  way: string,
  c: Credential,
  caps: Capabilities,
): Promise<LoginAnswer> {
  const tag = 'mpl1';
  const mechanism = way === 'LOGIN command' ? 'LOGIN' : `AUTHENTICATE ${way}`;
  let reply: string;
  try {
    if (way === 'LOGIN command') {
      const user = imapQuoted(c.user) ?? `{${Buffer.byteLength(c.user)}}`;
      if (user.startsWith('{'))
        throw new ProtocolError('a user name that needs an IMAP literal is not supported');
      const bytes = Buffer.byteLength(c.secret);
      session.send(`${tag} LOGIN ${user} {${bytes}}`, { untaggedAllowed: true });
      reply = await taggedOrContinuation(session, tag);
      if (reply.startsWith('+')) {
        sendSecret(session, c.secret, hidden('password, IMAP literal', bytes));
        reply = await taggedOrContinuation(session, tag);
      }
    } else {
      const { encoded, shown } = saslResponse(way, c);
      const saslIr = caps.list.some((atom) => atom.toUpperCase() === 'SASL-IR');
      if (saslIr) {
        sendSecret(
          session,
          `${tag} AUTHENTICATE ${way} ${encoded}`,
          `${tag} AUTHENTICATE ${way} ${shown}`,
          true,
        );
      } else {
        session.send(`${tag} AUTHENTICATE ${way}`, { untaggedAllowed: true });
        reply = await taggedOrContinuation(session, tag);
        if (!reply.startsWith('+')) return imapAnswer(reply, mechanism);
        sendSecret(session, encoded, shown);
      }
      reply = await taggedOrContinuation(session, tag);
      if (reply.startsWith('+')) {
        // A bearer refusal as an error challenge: the client's answer ends the exchange (RFC 7628 §3.2.3).
        session.send(endOf(way));
        reply = await taggedOrContinuation(session, tag);
      }
    }
  } catch (error) {
    if (error instanceof ServiceClosingError) return { outcome: 'locked', mechanism, reply: error.message };
    throw error;
  }
  return imapAnswer(reply, mechanism);
}

function imapAnswer(reply: string, mechanism: string): LoginAnswer {
  // A continuation after the whole credential (and the answer that ends AUTHENTICATE) is no final answer.
  if (reply.startsWith('+')) noFinalAnswer(reply);
  if (/^\S+ OK\b/i.test(reply)) return { outcome: 'works', mechanism, reply };
  if (/^\S+ BAD\b/i.test(reply) && /unsupported|unknown|mechanism/i.test(reply))
    return { outcome: 'not-offered', mechanism, reply };
  return { outcome: refusal(reply, false), mechanism, reply };
}

/** POP3 AUTH (RFC 5034) or USER/PASS (RFC 1939 §7). */
async function pop3Login(session: Session, way: string, c: Credential): Promise<LoginAnswer> {
  const mechanism = way === 'USER' ? 'USER/PASS' : `AUTH ${way}`;
  const read = async () => {
    const line = await session.readLine('check', session.limits.replyMs);
    new ReplyBudget(session, 'pop3').add(line);
    return line.text;
  };
  let reply: string;
  if (way === 'USER') {
    session.send(`USER ${c.user}`);
    reply = await read();
    if (/^\+OK\b/i.test(reply)) {
      sendSecret(session, `PASS ${c.secret}`, `PASS ${hidden('password', Buffer.byteLength(c.secret))}`);
      reply = await read();
    }
  } else {
    session.send(`AUTH ${way}`);
    reply = await read();
    if (/^\+(?: |$)/.test(reply)) {
      const { encoded, shown } = saslResponse(way, c);
      sendSecret(session, encoded, shown);
      reply = await read();
      if (/^\+(?: |$)/.test(reply)) {
        session.send(endOf(way));
        reply = await read();
        if (/^\+(?: |$)/.test(reply)) noFinalAnswer(reply);
      }
    }
  }
  if (/^\+OK\b/i.test(reply)) return { outcome: 'works', mechanism, reply };
  if (!/^-ERR\b/i.test(reply)) throw new ProtocolError('expected +OK or -ERR');
  return { outcome: refusal(reply, false), mechanism, reply };
}

/** Logs in on a session inside verified TLS with `way` (one of loginWays'). Throws when the exchange breaks. */
export function logIn(
  protocol: Protocol,
  session: Session,
  way: string,
  c: Credential,
  caps: Capabilities,
): Promise<LoginAnswer> {
  if (protocol === 'smtp') return smtpLogin(session, way, c);
  if (protocol === 'imap') return imapLogin(session, way, c, caps);
  return pop3Login(session, way, c);
}
