/** The one small interface every protocol speaks through, protocol detection from a first line, and reply caps. */
import { CapError, ProtocolError } from '../errors.js';
import type { Line } from '../net/reader.js';
import type { Capabilities, Greeting, PortResult, Protocol } from '../types/index.js';
import type { Session } from './session.js';

/** What answered, judged from the first line a server sent. */
export type Detected = NonNullable<PortResult['detected']>;

export function detectProtocol(first: string): Detected {
  if (/^\d{3}(?:[ -]|$)/.test(first)) return 'smtp';
  if (/^\* (?:OK|PREAUTH|BYE)\b/i.test(first)) return 'imap';
  if (/^(?:\+OK|-ERR)\b/i.test(first)) return 'pop3';
  if (/^SSH-\d/.test(first)) return 'ssh';
  if (/^HTTP\/\d/i.test(first)) return 'http';
  // A TLS record header: handshake (0x16) or alert (0x15), version 3.x.
  if (/^[\u0015\u0016]\u0003[\u0000-\u0004]/.test(first)) return 'tls';
  return 'unknown';
}

/** The greeting was not this protocol's; `detected` says what it looked like. */
export class NotThisProtocol extends ProtocolError {
  constructor(
    readonly detected: Detected,
    readonly line: string,
  ) {
    super(
      `expected a greeting, got ${detected === 'unknown' ? 'unrecognised text' : `a ${detected} greeting`}`,
    );
  }
}

/** The reply to STARTTLS / STLS. */
export interface StartTlsReply {
  accepted: boolean;
  lines: string[];
}

/** The opt-in checks' protocol parts: each protocol owns its commands, its tags and how to read its replies. */
export interface CheckScripts {
  /** The upgrade command and a harmless command sent after it in the same write (the injection check). */
  readonly injection: readonly [string, string];
  /** Reads the reply to the pipelined upgrade command. */
  injectedUpgradeReply(session: Session): Promise<{ accepted: boolean; text: string }>;
  /** Whether a line received inside TLS proves the injected command ran there. */
  provesInjected(line: string): boolean;
  /**
   * Tries one way to log in before TLS, never with a credential: a SASL mechanism is started and, if the
   * server goes ahead, cancelled at once with `*`; POP3 USER is sent with the name `mailprobe` and never
   * followed by PASS. `index` numbers the tries on the connection (IMAP tags mpa1, mpa2, ...).
   */
  tryLogin(
    session: Session,
    way: { name: string; sasl: boolean },
    index: number,
    caps: Capabilities,
  ): Promise<LoginTry>;
  /** The mechanism tried when the server lists no way to log in before TLS (SMTP LOGIN, IMAP and POP3 PLAIN). */
  readonly unlistedMechanism: string;
}

/** What one try of a way to log in showed. */
export interface LoginTry {
  /** allowed: the server went ahead; refused: a refusal that says TLS is needed; unclear: any other refusal. */
  outcome: 'allowed' | 'refused' | 'unclear';
  /** The refusal holds for the whole server, whatever the way (SMTP 530, IMAP [PRIVACYREQUIRED] with nothing left, POP3 [SYS/PERM]). */
  serverWide: boolean;
  /** The server's reply, as one line. */
  reply: string;
  /**
   * The exchange went ahead, but the answer to its cancel did not come (a failed-login delay longer than the
   * reply deadline, or a hang-up): the way is proved allowed, and the connection is no longer usable.
   */
  cancelUnanswered?: true;
}

/** Reads the answer to a cancelled exchange; true when it came, false when the read failed or timed out. */
export function cancelAnswered(read: Promise<unknown>): Promise<boolean> {
  return read.then(
    () => true,
    () => false,
  );
}

/** Words servers use to say that authentication needs TLS first ([PRIVACYREQUIRED], RFC 5530 §3; RFC 2595 §3.1). */
export const requiresTlsText = /PRIVACYREQUIRED|TLS|SSL|encrypt|plaintext|cleartext|secure|privacy/i;

/** A SASL mechanism name (RFC 4422 §3.1): 1 to 20 of A-Z, 0-9, "-", "_". Nothing else is ever sent. */
export const saslName = /^[A-Z0-9_-]{1,20}$/;

/** The outcome of a refusal: `refused` when its words say TLS is needed first, else `unclear`. */
export const refusalOutcome = (text: string): LoginTry['outcome'] =>
  requiresTlsText.test(text) ? 'refused' : 'unclear';

/**
 * One mail protocol, spoken just far enough to observe it. Every method writes at most one command and
 * reads its whole reply before returning (lockstep), under the session's deadlines.
 */
export interface Dialogue {
  readonly protocol: Protocol;
  /** The word users know the upgrade command by. */
  readonly startTlsCommand: string;
  /** The goodbye a silent server is sent to see what answers (QUIT, or an IMAP LOGOUT with its own tag). */
  readonly goodbye: string;
  /** The opt-in checks' commands and replies. */
  readonly checks: CheckScripts;
  /** Reads the greeting within `ms` (default: the greeting deadline). */
  greeting(session: Session, ms?: number): Promise<Greeting>;
  /**
   * Asks for the capabilities. `greeting`: the plaintext greeting of this connection, given only before any TLS
   * (IMAP may list its capabilities there, RFC 9051 §7.1; nothing learnt before TLS is trusted after it).
   */
  capabilities(session: Session, options: { ehloName: string; greeting?: Greeting }): Promise<Capabilities>;
  startTls(session: Session): Promise<StartTlsReply>;
  quit(session: Session): Promise<void>;
}

/**
 * Whether a client sends the upgrade command (STARTTLS, STLS) on this connection: when the capabilities offer it,
 * and when they are unknown because the server refused to list them (POP3 CAPA answered -ERR: "the client will have
 * to probe for capabilities", RFC 2449 §5, and RFC 2595 §4 does not make STLS depend on CAPA; IMAP CAPABILITY refused
 * with no list in the greeting), so that the answer, not the missing list, says whether it is offered. Not for SMTP:
 * STARTTLS is offered in the EHLO reply (RFC 3207 §4), and HELO lists nothing. Never after IMAP PREAUTH: the session
 * is authenticated and STARTTLS is no longer allowed (RFC 9051 §6.2.1).
 */
export function upgradeWorthTrying(protocol: Protocol, caps: Capabilities, greeting?: Greeting): boolean {
  if (greeting?.kind === 'preauth') return false;
  return caps.starttls || (!caps.ok && protocol !== 'smtp');
}

/** The longest line each protocol allows a server, its line end excluded, and what says so. */
const lineLimits: Readonly<Record<Protocol, { bytes: number; allowed: string }>> = {
  smtp: { bytes: 510, allowed: 'SMTP allows 512 octets a reply line with its CRLF, RFC 5321 §4.5.3.1.5' },
  pop3: {
    bytes: 510,
    allowed: 'POP3 allows 512 octets a status or capability line with its CRLF, RFC 2449 §4, §5',
  },
  imap: { bytes: Number.POSITIVE_INFINITY, allowed: 'IMAP sets no line length limit, RFC 9051' },
};

/**
 * The lines of a multi-line POP3 response (a message's lines from TOP, a listing): POP3 sets them no limit (RFC 5322
 * §2.1.1's 998 characters bind whoever wrote the message, not the server that keeps it), so a cut one is at
 * mailprobe's own cap.
 */
export const pop3DataLines = {
  bytes: Number.POSITIVE_INFINITY,
  allowed: 'POP3 sets no limit on the lines of a multi-line response, RFC 1939 §3',
};

/**
 * What each protocol says of a reply's size: nothing limits its lines or its bytes (SMTP and POP3 limit each line),
 * so a reply past replyLines or replyBytes is past mailprobe's own cap.
 */
const replyLimits: Readonly<Record<Protocol, string>> = {
  smtp: 'SMTP limits a reply line to 512 octets, not the lines of a reply, RFC 5321 §4.5.3.1.5',
  pop3: 'POP3 sets no limit on the lines of a multi-line response, RFC 1939 §3',
  imap: 'IMAP sets no limit on the responses to a command, RFC 9051 §2.2.2',
};

/** Counts a reply's lines and bytes against the caps. */
export class ReplyBudget {
  private lines = 0;
  private bytes = 0;
  constructor(
    private readonly session: Session,
    private readonly protocol: Protocol,
  ) {}

  /**
   * Counts one line. A line cut at the line cap is never judged from its first part: it is a protocol error when
   * the protocol allows no line that long (SMTP, POP3: 512 octets), and mailprobe's own limit when it does (IMAP
   * sets none, or a cap set below 512): the dialogue stops either way, and only the first blames the server. The
   * reader cuts a line whose text reaches the cap (its CR counts), so a cut line is longer than the protocol allows
   * only when the cap is above the protocol's limit. `limit`: the line's own, when not the protocol's (the lines of a
   * POP3 multi-line response).
   */
  add(line: Line, limit: { bytes: number; allowed: string } = lineLimits[this.protocol]): void {
    if (line.truncated) {
      const cap = this.session.limits.lineBytes;
      if (cap <= limit.bytes) throw new CapError('lineBytes', cap, 'a line longer than', limit.allowed);
      throw new ProtocolError(`a line longer than ${cap} bytes (${limit.allowed})`);
    }
    this.addBytes(line.bytes);
  }

  /**
   * Counts bytes that are not a line (an IMAP literal). A reply past replyLines or replyBytes stops the dialogue
   * at mailprobe's own cap: no mail protocol limits a reply's lines or bytes.
   */
  addBytes(bytes: number): void {
    this.lines++;
    this.bytes += bytes;
    const { replyLines, replyBytes } = this.session.limits;
    const allowed = replyLimits[this.protocol];
    if (this.lines > replyLines) throw new CapError('replyLines', replyLines, 'a reply longer than', allowed);
    if (this.bytes > replyBytes) throw new CapError('replyBytes', replyBytes, 'a reply larger than', allowed);
  }
}
