/**
 * `--check tls-required` (opt-in): the proof that an SMTP port refuses mail before STARTTLS. On a connection of
 * its own, after the greeting and EHLO and before any STARTTLS, it sends exactly `MAIL FROM:<>` (the null
 * reverse-path: no address of anyone), reads the reply, then `RSET` and `QUIT`. Never RCPT, never DATA: no mail
 * can be sent. A 530 naming STARTTLS or TLS proves it (RFC 3207 §4: "530 5.7.0 Must issue a STARTTLS command
 * first"); a 250 shows mail is taken before TLS.
 */

import type { Session } from '../protocols/session.js';
import { addressLiteral, readSmtpReply, smtp } from '../protocols/smtp.js';
import type { TlsRequiredFacts } from '../types/index.js';

export async function tlsRequired(
  target: { address: string; port: number; ehloName?: string | undefined },
  session: Session,
): Promise<TlsRequiredFacts> {
  await session.connect(target.address, target.port);
  const greeting = await smtp.greeting(session);
  if (greeting.kind !== 'ok') return { verdict: 'not-tested', detail: `the greeting refused service` };
  await smtp.capabilities(session, { ehloName: target.ehloName ?? addressLiteral(session.localAddress) });
  session.send('MAIL FROM:<>');
  const reply = await readSmtpReply(session, 'capabilities', session.limits.replyMs);
  const text = `${reply.code} ${reply.lines.join(' ')}`;
  try {
    session.send('RSET');
    await readSmtpReply(session, 'capabilities', session.limits.replyMs);
    await smtp.quit(session);
  } catch {
    // the verdict is made; a server that hangs up after refusing changes nothing
  }
  if (reply.code === 530 && /starttls|\btls\b/i.test(text))
    return {
      verdict: 'proven',
      reply: text,
      detail: 'MAIL before STARTTLS was refused with 530: TLS is required',
    };
  if (reply.code === 250)
    return {
      verdict: 'not-required',
      reply: text,
      detail: 'MAIL before STARTTLS was accepted: mail is taken in cleartext',
    };
  return {
    verdict: 'unclear',
    reply: text,
    detail:
      reply.code === 530
        ? 'a 530 that does not name TLS (it may mean authentication required, RFC 4954 §6): not a proof'
        : `MAIL before STARTTLS was answered ${reply.code}: neither a proof nor an acceptance`,
  };
}
