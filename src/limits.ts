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
  /**
   * Complete silence (not one byte) in the greeting of a plaintext-start port mail clients use (587, 143, 110;
   * not the relay port 25, where a silent greet pause is a deliberate defence), in ms, after which a TLS handshake
   * is tried on a second connection while the first stays open: an implicit-TLS server there (143 set up as
   * IMAPS) is then found in seconds, not after the whole greeting deadline. Only when it is below greetingMs; a
   * greeting that has begun is never interrupted.
   */
  silenceMs: number;
  /** Each reply after the greeting (EHLO, CAPABILITY, CAPA, STARTTLS, QUIT), in ms. */
  replyMs: number;
  /** The whole port, all phases and any second connection together, in ms: an absolute deadline. */
  portMs: number;
  /**
   * Longest line kept, in bytes; longer lines are cut and marked truncated, and stop the dialogue: a protocol error
   * where the protocol allows no such line (SMTP, POP3: 512 octets), mailprobe's own limit where it does (IMAP).
   */
  lineBytes: number;
  /**
   * Most bytes kept for one reply (all its lines); beyond it the dialogue stops at mailprobe's own limit (no mail
   * protocol limits a reply's size), never the server's violation.
   */
  replyBytes: number;
  /**
   * Most lines in one reply (SMTP continuation lines, IMAP untagged responses, POP3 CAPA lines); beyond it the
   * dialogue stops at mailprobe's own limit (no mail protocol limits them).
   */
  replyLines: number;
  /**
   * Largest IMAP literal ({N}) read; nothing of a larger one is buffered and the dialogue stops: at mailprobe's own
   * limit, or the server's violation past the 2^63-1 octets RFC 9051 allows (number64, §9).
   */
  literalBytes: number;
  /** Most transcript entries kept per port (its first and last ones); the rest are counted, not kept. */
  transcriptEntries: number;
  /** Most characters of transcript text kept per port, over all its entries. */
  transcriptChars: number;
}

export const defaultLimits: Readonly<Limits> = Object.freeze({
  connectMs: 5000,
  tlsMs: 5000,
  greetingMs: 30000,
  silenceMs: 3000,
  replyMs: 5000,
  portMs: 60000,
  lineBytes: 4096,
  replyBytes: 65536,
  replyLines: 256,
  literalBytes: 65536,
  transcriptEntries: 300,
  transcriptChars: 65536,
});

/** Derives the limits for a single `--timeout MS` value: every phase gets MS, the port 8 × MS. */
export function limitsFromTimeout(ms: number, base: Readonly<Limits> = defaultLimits): Limits {
  return { ...base, connectMs: ms, tlsMs: ms, greetingMs: ms, replyMs: ms, portMs: ms * 8 };
}

/** Largest value of each limit: timers hold at most 2^31-1 ms (about 24.8 days); caps stay within memory. */
export const limitMaxima: Readonly<Limits> = Object.freeze({
  connectMs: 2_147_483_647,
  tlsMs: 2_147_483_647,
  greetingMs: 2_147_483_647,
  silenceMs: 2_147_483_647,
  replyMs: 2_147_483_647,
  portMs: 2_147_483_647,
  lineBytes: 1_048_576,
  replyBytes: 67_108_864,
  replyLines: 1_000_000,
  literalBytes: 67_108_864,
  transcriptEntries: 1_000_000,
  transcriptChars: 268_435_456,
});

/**
 * Why a limits object cannot be used (a limit that is not a whole number from 1 to its maximum), or undefined.
 * A timer beyond 2^31-1 ms fires at once in Node (with a TimeoutOverflowWarning): a false "silent".
 */
export function invalidLimit(limits: Partial<Limits>): string | undefined {
  // for...in over own keys, not Object.entries: every port of a fleet run checks its limits (issue 28).
  for (const name in limits) {
    if (!Object.hasOwn(limits, name)) continue;
    const value = limits[name as keyof Limits];
    const max = limitMaxima[name as keyof Limits];
    if (max === undefined) return `unknown limit ${name}`;
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max)
      return `${name} must be a whole number from 1 to ${max} (got ${String(value)})`;
  }
  return undefined;
}

/**
 * Limits objects probeHost built and checked: probePort need not check them again for each port. Frozen, so
 * what was checked is what is used.
 */
const checked = new WeakSet<object>();

/** Freezes and marks a limits object that invalidLimit passed. */
export function checkedLimits(limits: Limits): Readonly<Limits> {
  checked.add(Object.freeze(limits));
  return limits;
}

/** The limits object was checked and frozen by checkedLimits. */
export function isChecked(limits: Partial<Limits>): boolean {
  return checked.has(limits);
}

/*
 * Echoing input back: a line of a target list, an expectation, a tag name of a published document. What the
 * user or a server gave may be any length (a 100 MB line, a 256 KB tag name); a report or an error message
 * carries at most its first KiB, and says how long it was.
 */

/**
 * Characters that act on a terminal or hide text, beyond the C0 controls: DEL, the C1 controls (0x9B acts as CSI on
 * some terminals), the bidi marks, embeddings, overrides and isolates, the zero-width characters, the BOM and the
 * line and paragraph separators, and the rest of Unicode's Default_Ignorable_Code_Point set that shows nothing
 * (the soft hyphen, the combining grapheme joiner, the Hangul fillers, the Mongolian selectors, the invisible
 * operators, the tags; the variation selectors of emoji are left alone), with the interlinear annotation marks.
 * A character class's body for a regular expression with the `u` flag, for the JSON (inertJson), the terminal
 * (sanitize) and the error lines (fail).
 */
export const invisibleControls =
  '\\u007f-\\u009f\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f\\u2028-\\u202e' +
  '\\u2060-\\u206f\\u3164\\ufeff\\uffa0\\ufff0-\\ufffb\\u{1bca0}-\\u{1bca3}\\u{1d173}-\\u{1d17a}\\u{e0000}-\\u{e0fff}';

/** Most bytes (UTF-8) of one piece of input echoed in a report or a message. */
export const echoBytes = 1024;

/** `text` itself when it is at most 1 KiB (UTF-8), else its first KiB, a mark and its length in bytes. */
export function echo(text: string, maxBytes = echoBytes): string {
  // Each character is 1 to 3 bytes in UTF-8 (4 for a surrogate pair, 2 units): the first maxBytes units suffice.
  if (text.length <= maxBytes / 3) return text;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return text;
  let head = text.slice(0, maxBytes);
  while (Buffer.byteLength(head, 'utf8') > maxBytes) head = head.slice(0, -1);
  // Never half a surrogate pair.
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  return `${head}… (${bytes} bytes in all, cut at ${maxBytes})`;
}

/**
 * The most time from the goodbye sent to a silent server to its late greeting that `greeting-late` calls "so soon
 * after the goodbye" and puts a lost last ACK of the handshake first (the goodbye's segment completed it; the
 * goodbye resent about once: Linux's least retransmission timer is 200 ms, 1 s when the handshake's SYN was itself
 * resent); beyond it, a server slower than the deadline first (rules/greeting.ts). A late service greeting (`stalled`,
 * never a refusal) is retried either way (probe/retry.ts), within the port deadline: on a lossy path the goodbye or
 * the greeting may be lost again (one came 2.3 s after the goodbye in the loss benchmark at 30 %); one later
 * than this is retried once per port (whichever try it came on), and `first-try-lost` then names a slow server
 * first (rules/connectivity.ts).
 */
export const lostAckGreetingMs = 1000;
