/**
 * The round trip's wire steps, after a login that works: submitting one small message (RFC 6409, RFC 5321
 * MAIL/RCPT/DATA) and, over IMAP (RFC 9051), finding it by its token, then deleting it (STORE \Deleted,
 * UID EXPUNGE with UIDPLUS, RFC 4315, else EXPUNGE).
 */
import { ProtocolError, ServiceClosingError } from '../errors.js';
import { pop3DataLines, ReplyBudget } from './dialogue.js';
import type { Span } from './secret.js';
import type { Session } from './session.js';
import { readSmtpReply, replyText } from './smtp.js';

export interface Submitted {
  accepted: boolean;
  /** The step that refused, and the server's reply. */
  step: 'MAIL' | 'RCPT' | 'DATA' | 'message';
  reply: string;
  /** Where each line of the reply stands in `reply`, joined from them; scrub(reply, lines) hides each's ends. */
  lines: readonly Span[];
  queueId?: string;
}

/** The queue id in a 250 reply to the message: Postfix "queued as ID", Exim "id=ID", others "OK ID". */
export function queueIdOf(reply: string): string | undefined {
  return /queued as ([A-Za-z0-9.-]+)/i.exec(reply)?.[1] ?? /\bid=([A-Za-z0-9.-]+)/i.exec(reply)?.[1];
}

/** The test message: plain text, a unique token in the Subject and Message-ID, lines under 78 characters. */
export function testMessage(from: string, to: string, token: string, date: Date): string[] {
  const domain = from.split('@')[1] ?? 'mailprobe.invalid';
  return [
    `From: <${from}>`,
    `To: <${to}>`,
    `Subject: mailprobe round trip ${token}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${token}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Auto-Submitted: auto-generated',
    '',
    'A test message sent by mailprobe --round-trip; it deletes it once found unless told to keep it.',
  ];
}

/** MAIL FROM, RCPT TO, DATA and the message, on a session logged in over verified TLS. */
export async function submitMessage(
  session: Session,
  from: string,
  to: string,
  lines: string[],
): Promise<Submitted> {
  const read = async () => {
    const reply = await readSmtpReply(session, 'capabilities', session.limits.replyMs);
    return { code: reply.code, ...replyText(reply) };
  };
  const refused = (step: Submitted['step'], reply: { text: string; lines: Span[] }): Submitted => ({
    accepted: false,
    step,
    reply: reply.text,
    lines: reply.lines,
  });
  session.send(`MAIL FROM:<${from}>`);
  let reply = await read();
  if (reply.code !== 250) return refused('MAIL', reply);
  session.send(`RCPT TO:<${to}>`);
  reply = await read();
  if (reply.code !== 250 && reply.code !== 251) return refused('RCPT', reply);
  session.send('DATA');
  reply = await read();
  if (reply.code !== 354) return refused('DATA', reply);
  // Dot-stuffing (RFC 5321 §4.5.2); the message's lines hold no leading dot, but a recipient's could.
  for (const line of lines) session.send(line.startsWith('.') ? `.${line}` : line);
  session.send('.');
  // Up to 10 minutes for the final reply (RFC 5321 §4.5.3.2.6) would hold the run; the reply deadline applies.
  reply = await read();
  const queueId = queueIdOf(reply.text);
  return {
    accepted: reply.code === 250,
    step: 'message',
    reply: reply.text,
    lines: reply.lines,
    ...(queueId ? { queueId } : {}),
  };
}

let tagNumber = 0;

/** One tagged IMAP command and its reply (untagged lines kept); literals are not expected here. */
export async function imapCommand(session: Session, verb: string) {
  const tag = `mpr${++tagNumber}`;
  session.send(`${tag} ${verb}`, { untaggedAllowed: true });
  const budget = new ReplyBudget(session, 'imap');
  const untagged: string[] = [];
  for (;;) {
    const line = await session.readLine('check', session.limits.replyMs);
    budget.add(line);
    if (line.text.startsWith('* ')) {
      if (/^\* BYE\b/i.test(line.text) && !/^LOGOUT\b/i.test(verb)) throw new ServiceClosingError(line.text);
      untagged.push(line.text);
      continue;
    }
    if (line.text.startsWith(`${tag} `))
      return { ok: /^\S+ OK\b/i.test(line.text), tagged: line.text, untagged };
    throw new ProtocolError(`expected tag ${tag}, got ${JSON.stringify(line.text.slice(0, 80))}`);
  }
}

/** The UIDs of messages whose Subject holds `token` (RFC 9051 §6.4.4), in the selected mailbox. */
export async function imapFind(session: Session, token: string): Promise<number[]> {
  await imapCommand(session, 'NOOP');
  const reply = await imapCommand(session, `UID SEARCH SUBJECT "${token}"`);
  if (!reply.ok) throw new ProtocolError(`SEARCH refused: ${reply.tagged}`);
  const found = reply.untagged
    .map((line) => /^\* SEARCH((?: \d+)*)\s*$/i.exec(line)?.[1] ?? '')
    .join(' ')
    .trim();
  return found === '' ? [] : found.split(/\s+/).map(Number);
}

/** Flags the messages \Deleted and expunges them (UID EXPUNGE with UIDPLUS, else EXPUNGE). */
export async function imapDelete(session: Session, uids: number[], uidPlus: boolean): Promise<boolean> {
  const set = uids.join(',');
  const store = await imapCommand(session, `UID STORE ${set} +FLAGS.SILENT (\\Deleted)`);
  if (!store.ok) return false;
  const expunge = await imapCommand(session, uidPlus ? `UID EXPUNGE ${set}` : 'EXPUNGE');
  return expunge.ok;
}

/** One POP3 command and its status line; with `multiline`, the lines up to "." too (dot-unstuffed). */
export async function pop3Command(session: Session, command: string, multiline = false) {
  session.send(command);
  const budget = new ReplyBudget(session, 'pop3');
  const first = await session.readLine('check', session.limits.replyMs);
  budget.add(first);
  const ok = /^\+OK\b/i.test(first.text);
  if (!ok && !/^-ERR\b/i.test(first.text))
    throw new ProtocolError(`expected +OK or -ERR, got ${JSON.stringify(first.text.slice(0, 80))}`);
  const lines: string[] = [];
  if (ok && multiline)
    for (;;) {
      const line = await session.readLine('check', session.limits.replyMs);
      // A message's lines (TOP) or a listing's: POP3 limits neither, so a line cut there is at mailprobe's cap.
      budget.add(line, pop3DataLines);
      if (line.text === '.') break;
      lines.push(line.text.startsWith('..') ? line.text.slice(1) : line.text);
    }
  return { ok, status: first.text, lines };
}

/**
 * The numbers of the messages whose Subject holds `token`, among the newest `newest` of the maildrop (LIST, then
 * TOP n 0 for the headers alone, RFC 1939 §7).
 */
export async function pop3Find(session: Session, token: string, newest = 20): Promise<number[]> {
  const list = await pop3Command(session, 'LIST', true);
  if (!list.ok) throw new ProtocolError(`LIST refused: ${list.status}`);
  const numbers = list.lines
    .map((line) => Number(line.split(' ')[0]))
    .filter((n) => Number.isSafeInteger(n) && n > 0)
    .slice(-newest);
  const found: number[] = [];
  for (const n of numbers) {
    const top = await pop3Command(session, `TOP ${n} 0`, true);
    if (top.ok && top.lines.some((line) => /^Subject:/i.test(line) && line.includes(token))) found.push(n);
  }
  return found;
}
