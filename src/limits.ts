/**
 * Every deadline and size cap of a probe, as one documented object.
 * The CLI's `--timeout` sets all phase deadlines at once; the library takes a partial object.
 */
export interface Limits {
  /** TCP connect, in ms. A connect that neither succeeds nor fails by then is "filtered". */
  connectMs: number;
  /** TLS handshake (implicit TLS or after STARTTLS), in ms. Node's tls.connect has no deadline of its own. */
  tlsMs: number;
  /**
   * The server's greeting, in ms. Port 25 servers often delay it on purpose (RFC 5321 §4.5.3.2 lets a
   * client wait 5 minutes), so a "silent" verdict on 25 needs a generous value.
   */
  greetingMs: number;
  /** Each reply after the greeting (EHLO, CAPABILITY, CAPA, STARTTLS, QUIT), in ms. */
  replyMs: number;
  /** The whole port, all phases and any second connection together, in ms: an absolute deadline. */
  portMs: number;
  /** Longest line kept, in bytes; longer lines are cut and marked truncated. */
  lineBytes: number;
  /** Most bytes kept for one reply (all its lines); beyond it the reply is a protocol error. */
  replyBytes: number;
  /** Most lines in one reply (SMTP continuation lines, IMAP untagged responses, POP3 CAPA lines). */
  replyLines: number;
  /** Largest IMAP literal ({N}) read; a larger one is a protocol error and nothing of it is buffered. */
  literalBytes: number;
}

export const defaultLimits: Readonly<Limits> = Object.freeze({
  connectMs: 5000,
  tlsMs: 5000,
  greetingMs: 30000,
  replyMs: 5000,
  portMs: 60000,
  lineBytes: 4096,
  replyBytes: 65536,
  replyLines: 256,
  literalBytes: 65536,
});

/** Derives the limits for a single `--timeout MS` value: every phase gets MS, the port 8 × MS. */
export function limitsFromTimeout(ms: number, base: Readonly<Limits> = defaultLimits): Limits {
  return { ...base, connectMs: ms, tlsMs: ms, greetingMs: ms, replyMs: ms, portMs: ms * 8 };
}
