/** A port as observed: its status, transcript, greeting, capabilities, STARTTLS, checks, timings. */

import type { LoginFacts, RoundTripFacts } from './login.js';
import type { TlsaLookup, TlsFacts } from './tls.js';

export type Protocol = 'smtp' | 'imap' | 'pop3';
/** The services a port can be mapped to (IANA service names). */
export type Service = 'smtp' | 'submissions' | 'submission' | 'imap' | 'imaps' | 'pop3' | 'pop3s';
/** How TLS is reached on a port: handshake first, or a plaintext start upgraded with STARTTLS/STLS. */
export type TlsMode = 'implicit' | 'starttls';

/**
 * The closed set of outcomes of probing one port. Each has a one-line meaning in `statusGloss`.
 * Only `open` means the mail protocol was recognised and the dialogue completed.
 */
export type Status =
  | 'open'
  | 'refused'
  | 'filtered'
  | 'unreachable'
  | 'reset'
  | 'closed'
  | 'silent'
  | 'stalled'
  | 'rejected'
  | 'rate-limited'
  | 'wrong-protocol'
  | 'wrong-tls-mode'
  | 'tls-failed'
  | 'starttls-failed'
  | 'protocol-error'
  | 'aborted'
  | 'local-error';

export const statusGloss: Readonly<Record<Status, string>> = {
  open: 'the mail protocol was recognised and the dialogue completed',
  refused: 'the connection was refused (TCP RST): nothing listens on the port',
  filtered:
    'no answer to the connection attempt (the deadline, or up to five SYNs in about a second while the rest of the host answered at once): something on the path drops the packets',
  unreachable: 'no route to the host (ICMP unreachable or no local route)',
  reset: 'the connection was reset by the peer',
  closed: 'the server closed the connection before the dialogue finished',
  silent: 'connected, but not one byte of a greeting arrived before its deadline',
  stalled:
    'the greeting began (at least one byte) or a command was sent, then the rest did not arrive before its deadline; or a greeting that offers service came only after its deadline',
  rejected:
    'the server refused service: in its greeting (SMTP 421/554, or 521 for a host that accepts no mail, RFC 7504 §3; IMAP * BYE, POP3 -ERR), in time or only after its deadline, or at a later step (SMTP 421, an EHLO refused with 554 or a 4xx, or HELO refused after an EHLO refused with 500, 501, 502, 504 or 550; IMAP * BYE, POP3 -ERR then a close)',
  'rate-limited': 'the server refused service for too many connections or too high a rate',
  'wrong-protocol':
    'something other than the expected mail protocol answered (HTTP, SSH, another mail protocol)',
  'wrong-tls-mode':
    'the other TLS mode answered: a plaintext greeting of the expected protocol on a TLS port, or a completed TLS handshake on a plaintext port (what speaks inside that TLS is not read)',
  'tls-failed': 'the TLS handshake on an implicit-TLS port failed or stalled',
  'starttls-failed': 'STARTTLS/STLS was accepted, then the TLS handshake failed or stalled',
  'protocol-error': 'the server broke the protocol (malformed, oversized or mis-tagged reply)',
  aborted: 'the probe was aborted by the caller',
  'local-error':
    'the probe failed on this machine (for example no free sockets), or stopped at one of its own caps (lineBytes, replyLines, replyBytes, literalBytes) on what the protocol allows (an IMAP line of any length; a reply of any number of lines)',
};

/** mailprobe's own caps on what it reads (limits.ts), by their --limit names: the ones that stop a dialogue. */
export type CapName = 'lineBytes' | 'replyBytes' | 'replyLines' | 'literalBytes';

/** One line of the dialogue. `S` came from the server, `C` was sent by mailprobe, `-` is mailprobe's note. */
export interface TranscriptEntry {
  /** ms since the port's probe began. */
  at: number;
  /** Who: S the server, C mailprobe, - a note of mailprobe's. */
  dir: 'S' | 'C' | '-';
  /** Exact text (server text is not sanitised here; renderers sanitise for display). */
  text: string;
  /** Whether this line travelled inside TLS. */
  tls: boolean;
  /** Set on server lines that were cut at the line cap. */
  truncated?: true;
  /** Set on server lines that ended in a bare LF. */
  bareLf?: true;
  /** Set on server lines that arrived when no reply was due; they were paired with no command. */
  unsolicited?: true;
}

/** The server's greeting. */
export interface Greeting {
  /** ok: service offered; preauth: IMAP PREAUTH; refused: 421/554, * BYE, -ERR. */
  kind: 'ok' | 'preauth' | 'refused';
  /** The greeting's text, one entry per line, without the reply code. */
  lines: string[];
  /** SMTP reply code. */
  code?: number;
  /**
   * POP3: the APOP timestamp the greeting carries (`<…@…>`, RFC 1939 §7): the server offers the APOP command,
   * a challenge-response login, on this connection.
   */
  apopTimestamp?: string;
}

/** What a capability request returned. */
export interface Capabilities {
  /** The command that produced the list (EHLO, HELO, CAPABILITY, CAPA). */
  command: string;
  /** Whether the server answered the command positively. */
  ok: boolean;
  /**
   * The server's refusal of the capability request, as sent, when it refused it: POP3's `-ERR` to CAPA, IMAP's tagged
   * NO or BAD to CAPABILITY, SMTP's EHLO reply before the HELO that `command` then names.
   */
  refusal?: string;
  /** The capability words as sent (SMTP: the keyword lines after the first; IMAP: atoms; POP3: lines). */
  list: string[];
  /** STARTTLS (SMTP, IMAP) or STLS (POP3) is advertised. */
  starttls: boolean;
  /** SASL mechanisms offered, upper case (SMTP AUTH, IMAP AUTH=, POP3 SASL). */
  authMechanisms: string[];
  /** A non-SASL cleartext password command is allowed: IMAP LOGIN without LOGINDISABLED, POP3 USER. */
  plaintextLogin: boolean;
}

/** What happened with STARTTLS/STLS on a plaintext port. */
export interface StartTlsFacts {
  /** The capability list offered STARTTLS/STLS. */
  advertised: boolean;
  /** mailprobe sent the command. */
  attempted: boolean;
  /** The server answered it positively (220, OK, +OK). */
  accepted: boolean;
  /** The TLS handshake after it completed. */
  upgraded: boolean;
  /** The server's reply to the command. */
  reply?: string[];
  /** Bytes received after the OK line and before the handshake; discarded (RFC 3207 §6). */
  bytesAfterOk: number;
  /** Why the handshake failed, when it did. */
  error?: string;
}

/** Milliseconds spent in each phase. */
export type Timings = Partial<Record<Phase, number>> & { total: number };

/** The evidence from a second connection made to tell a wrong TLS mode from a dead port. */
export interface CrossCheck {
  /** What the second connection tried. */
  tried: 'plaintext' | 'implicit-tls';
  /**
   * What it found: the protocol's greeting in plaintext, or a completed handshake; `nothing` when it ended
   * without either within its own deadlines. No evidence either way: `not-run` (under 50 ms was left of the port's
   * deadline to start it), `out-of-time` (the port's deadline ended it before it finished).
   */
  outcome: 'mail-greeting' | 'tls-handshake' | 'nothing' | 'not-run' | 'out-of-time';
  /** What it saw, in a few words (the greeting, the negotiated protocol, or why nothing). */
  detail: string;
}

/** The observed facts for one port on one address. */
export interface PortResult {
  /** The port number probed. */
  port: number;
  /** The service it is judged as (the reference table's, or --port PORT=SERVICE). */
  service: Service;
  /** The mail protocol the service speaks. */
  protocol: Protocol;
  /** The TLS mode the reference table expects on this service. */
  expectedTls: TlsMode;
  /** The address probed (IPv4 or IPv6, no brackets). */
  address: string;
  /** Its address family. */
  family: 4 | 6;
  /** The local address the probe's connection left from, once connected ("from here": the HTML report shows it). */
  localAddress?: string;
  /** How the probe ended: one of the closed set (statusGloss). */
  status: Status;
  /** One line on how the status was reached (an error message, a code). */
  statusDetail: string;
  /** The phase the probe was in when it stopped early. */
  failedPhase?: Phase;
  /**
   * The probe stopped at this cap of mailprobe's own (limits.ts) on what the protocol allows (status
   * `local-error`): a line, a reply or an IMAP literal longer than the cap. The port was not shown unusable.
   */
  capReached?: CapName;
  /**
   * No greeting came before its deadline, then the server's own greeting came (read after the goodbye sent to
   * see what answers): its first line, and when it came (ms from the port's start, the transcript's clock). The
   * port is `stalled`, or `rejected` / `rate-limited` when that greeting refuses service.
   */
  lateGreeting?: {
    line: string;
    at: number;
    /** ms from the goodbye mailprobe sent to this greeting. */
    afterGoodbyeMs: number;
  };
  /** What answered, when it was not the expected protocol. */
  detected?: 'smtp' | 'imap' | 'pop3' | 'ssh' | 'http' | 'tls' | 'unknown';
  /** The greeting, when one was read. */
  greeting?: Greeting;
  /** The capability list read before TLS (over TLS on an implicit-TLS port). */
  capabilities?: Capabilities;
  /** Capabilities re-read over TLS after STARTTLS. */
  capabilitiesAfterTls?: Capabilities;
  /** What happened with STARTTLS/STLS (plaintext-start ports only). */
  starttls?: StartTlsFacts;
  /** The TLS session and its certificate, when TLS was set up. */
  tls?: TlsFacts;
  /** The TLSA records of this service (`_PORT._tcp.HOST`), when DANE was asked for (--dane). */
  dane?: TlsaLookup;
  /** The second connection's evidence, when one was made. */
  crossCheck?: CrossCheck;
  /** Transcript entries and characters left out at the caps (limits transcriptEntries, transcriptChars). */
  transcriptOmitted?: { entries: number; chars: number };
  /** Set when the port was called filtered before its connect deadline: the evidence (src/fast-filtered.ts). */
  filteredEarly?: FilteredEvidence;
  /**
   * The first try ended on a timeout (silent, stalled, tls-failed, starttls-failed) and the port worked on a
   * retry on a fresh connection: what the first try saw. The status and everything else are the retry's (the
   * network lost the first try, not the server).
   */
  firstTry?: TryOutcome;
  /** The first try ended on a timeout and its retry on a fresh connection did not work either: what it saw. */
  retry?: TryOutcome;
  /** The port could not be tested because this machine has no route to the address's family. */
  noRouteFromHere?: true;
  /** Not probed (batch mode): its address had asked to slow down (a 421 or a rate-limit reply), so it was left alone. */
  backedOff?: true;
  /** Server lines that arrived when no reply was due (after a whole reply, before the next command). */
  unsolicited?: string[];
  /** Results of the opt-in checks that were asked for and apply to this port. */
  checks?: CheckResults;
  /** The opt-in login check on this port (--login), when it was asked for. */
  login?: LoginFacts;
  /** ISO 8601 time the probe of this port began (certificate days are counted from it). */
  startedAt: string;
  /** ms per phase, and the port's total (opt-in checks included). */
  timings: Timings;
  /** The dialogue as seen, capped (transcriptOmitted says what was left out). */
  transcript: TranscriptEntry[];
}

/** How one try of a port ended (a retry after a timeout: PortResult.firstTry, PortResult.retry). */
export interface TryOutcome {
  status: Status;
  detail: string;
  failedPhase?: Phase;
  /** How many retries ran, when more than one (each after a timeout; `maxRetries` at most). */
  retries?: number;
  /** The try's greeting came only after mailprobe's goodbye, this many ms after it (its `lateGreeting`). */
  afterGoodbyeMs?: number;
  /** The port's deadline ended this try (`retry` only): it ran out, or left too little for anything more. */
  portDeadline?: true;
}

/** The observed facts for one host. */
export interface HostResult {
  /** The host as the user typed it. */
  host: string;
  /** The name used for SNI and certificate checks (A-label form, no trailing dot). */
  servername: string;
  /** Facts about the run itself rather than the server (a host name normalised, for example). */
  notes?: string[];
  /** With discovery: the DNS records that named this host ("MX 10", "SRV _imaps._tcp", "guess"). */
  publishedBy?: string[];
  /** The addresses probed. */
  addresses: { address: string; family: 4 | 6 }[];
  /** ms spent resolving the host. */
  resolveMs: number;
  /** ISO 8601 time the host's probe began. */
  startedAt: string;
  /** ms from the start of resolution to the last port's end. */
  durationMs: number;
  /** One result per port and address probed. */
  ports: PortResult[];
  /** The opt-in round trip (--round-trip): one message submitted, then looked for in the mailbox. */
  roundTrip?: RoundTripFacts;
}

// Results of the opt-in checks (src/checks.ts).

/** STARTTLS command injection (CVE-2011-0411 class). */
export interface InjectionFacts {
  /**
   * vulnerable: a reply inside TLS proves the pipelined command ran; safe: nothing arrived unprompted;
   * not-tested: the check did not finish, or text arrived that proves nothing.
   */
  verdict: 'vulnerable' | 'safe' | 'not-tested';
  /** What it saw, in a few words (the greeting, the negotiated protocol, or why nothing). */
  detail: string;
  /** The unprompted reply, when there was one. */
  reply?: string;
}

/** What one way to log in did when `--check auth-required` tried it before TLS. */
export interface AuthWayFacts {
  /**
   * The way: a SASL mechanism as listed (PLAIN, CRAM-MD5), or the protocol's own command: `LOGIN command`
   * (IMAP), `USER` (POP3 USER/PASS), `APOP` (POP3).
   */
  way: string;
  /** A SASL mechanism (AUTHENTICATE / AUTH), rather than the protocol's own command. */
  sasl: boolean;
  /** false: not listed before TLS, tried because the server listed no way at all (to see how it refuses). */
  listed?: false;
  /**
   * allowed: the server went ahead in cleartext (then the exchange was cancelled); refused: a refusal that
   * says TLS is needed; unclear: another refusal, or no answer; not-tried: never sent (`why` says why).
   */
  outcome: 'allowed' | 'refused' | 'unclear' | 'not-tried';
  /** The server's reply to the command, when it was sent. */
  reply?: string;
  /** Why it was not tried, or why a refusal proves nothing. */
  why?: string;
}

/** Does the server refuse every way to log in before TLS? */
export interface AuthRequiredFacts {
  /**
   * enforced: a refusal that holds for the whole server (SMTP 530/502/503, IMAP [PRIVACYREQUIRED] with
   * LOGINDISABLED and no AUTH= left, POP3 -ERR [SYS/PERM] that says TLS), or every way listed before TLS was
   * tried and refused; allowed: at least one way went ahead in cleartext (then was cancelled); partial: some
   * ways were refused, others were not tried or proved nothing (never a pass); not-tested: nothing was
   * refused in words that prove it, or the check did not finish.
   */
  verdict: 'enforced' | 'allowed' | 'partial' | 'not-tested';
  /** The reply that decided the verdict (the first allowing or server-wide reply, else the first reply). */
  reply: string;
  /** The verdict per way, in a few words: "PLAIN refused before TLS; CRAM-MD5, APOP not tried". */
  detail?: string;
  /** The refusal holds for the whole server (see verdict). */
  serverWide?: true;
  /** Each way listed before TLS (and the one tried when none was), with what it did. */
  ways?: AuthWayFacts[];
}

/** Which TLS versions the port accepts, one handshake each. */
export interface TlsVersionFacts {
  /** Versions whose handshake, offering only that version, completed. */
  accepted: string[];
  /** Versions whose handshake the server refused (a protocol-version or handshake-failure alert). */
  refused: string[];
  /** Versions that could not be tried to the end (a timeout, a close, STARTTLS refused), with why. */
  untested?: { version: string; reason: string }[];
}

export interface CheckResults {
  /** --check injection, on plaintext-start ports where the STARTTLS upgrade was tried and worked. */
  injection?: InjectionFacts;
  /** --check auth-required, on the plaintext-start submission and mailbox ports. */
  authRequired?: AuthRequiredFacts;
  /** --check tls-versions, on ports where TLS was set up. */
  tlsVersions?: TlsVersionFacts;
  /** --check tls-required, on the plaintext-start SMTP ports (25, 587). */
  tlsRequired?: TlsRequiredFacts;
}

/** `MAIL FROM:<>` before STARTTLS, then RSET and QUIT: does the server refuse mail before TLS (RFC 3207 §4)? */
export interface TlsRequiredFacts {
  /**
   * proven: 530 naming STARTTLS or TLS (Postfix: "530 5.7.0 Must issue a STARTTLS command first");
   * not-required: 250, mail is taken before TLS; unclear: any other reply (a 530 that names authentication, RFC
   * 4954 §6); not-tested: the check did not finish.
   */
  verdict: 'proven' | 'not-required' | 'unclear' | 'not-tested';
  /** The reply to MAIL FROM:<>, as "code text". */
  reply?: string;
  detail: string;
}

// What discovery found in DNS (src/discover.ts).

export type Phase = 'dns' | 'connect' | 'tls' | 'greeting' | 'capabilities' | 'starttls' | 'check' | 'quit';

/** The evidence for a port called filtered early. */
export interface FilteredEvidence {
  /** ms after the first SYN at which the port was called filtered. */
  decidedAfterMs: number;
  /** When mailprobe's SYNs went out (ms after the first, which is 0); the kernel retries the first at about 1000 ms. */
  synsSentAtMs: number[];
  /** Every other port of the host and how fast it answered its first SYN (ms). */
  siblings: { port: number; address: string; connectMs: number }[];
  /** The slowest of those answers, in ms. */
  slowestSiblingMs: number;
}

/** What one port's connect step reports to, and hears from, its host's coordinator. */
export interface ConnectWatch {
  /** Send an extra SYN on a fresh socket at each of these ms without an answer, when mayAddSyn() says so. */
  extraSynsAtMs: number[];
  /** Whether the extra SYN due at `atMs` goes out (see FastFiltered.mayAddSyn). */
  mayAddSyn(atMs: number): boolean;
  /** The connect attempt starts (the first SYN goes out). */
  started(): void;
  /** mailprobe sent its extra SYN. */
  extraSent(): void;
  /** The connect was answered (connected or refused) after `ms`. */
  answered(ms: number): void;
  /** The connect ended without an answer (a timeout, an unreachable). */
  unanswered(): void;
  /** Resolves with the evidence when this port may be called filtered; never resolves otherwise. */
  verdict: Promise<FilteredEvidence>;
  /**
   * Another port of the same address that answered (connected or refused) only after a lost SYN (an extra SYN,
   * or after the kernel's retry): the host is up and the path loses packets. Undefined otherwise.
   */
  lossyPeer?(): LossyPeer | undefined;
}

/** A port of the same address whose connect was answered only after a lost SYN (ConnectWatch.lossyPeer). */
export interface LossyPeer {
  port: number;
  /** ms from its first SYN to the answer. */
  connectMs: number;
}
