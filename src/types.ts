/** The observed results, field by field: what a probe saw, never what it concluded (rules/ judges them). */

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
    'the greeting began (at least one byte) or a command was sent, then the rest did not arrive before its deadline',
  rejected:
    'the server refused service: in its greeting (SMTP 421/554, IMAP * BYE, POP3 -ERR) or at a later step (SMTP 421, IMAP * BYE, POP3 -ERR then a close)',
  'rate-limited': 'the server refused service for too many connections or too high a rate',
  'wrong-protocol':
    'something other than the expected mail protocol answered (HTTP, SSH, another mail protocol)',
  'wrong-tls-mode':
    'the expected protocol answered, but with the wrong TLS mode (plaintext on a TLS port or TLS on a plaintext port)',
  'tls-failed': 'the TLS handshake on an implicit-TLS port failed or stalled',
  'starttls-failed': 'STARTTLS/STLS was accepted, then the TLS handshake failed or stalled',
  'protocol-error': 'the server broke the protocol (malformed, oversized or mis-tagged reply)',
  aborted: 'the probe was aborted by the caller',
  'local-error': 'the probe failed on this machine (for example no free sockets)',
};

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
  /** What it found: the protocol's greeting in plaintext, or a completed handshake. */
  outcome: 'mail-greeting' | 'tls-handshake' | 'nothing';
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
  /** How the probe ended: one of the closed set (statusGloss). */
  status: Status;
  /** One line on how the status was reached (an error message, a code). */
  statusDetail: string;
  /** The phase the probe was in when it stopped early. */
  failedPhase?: Phase;
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
  /** The second connection's evidence, when one was made. */
  crossCheck?: CrossCheck;
  /** Transcript entries and characters left out at the caps (limits transcriptEntries, transcriptChars). */
  transcriptOmitted?: { entries: number; chars: number };
  /** Set when the port was called filtered before its connect deadline: the evidence (src/fast-filtered.ts). */
  filteredEarly?: FilteredEvidence;
  /** The port could not be tested because this machine has no route to the address's family. */
  noRouteFromHere?: true;
  /** Server lines that arrived when no reply was due (after a whole reply, before the next command). */
  unsolicited?: string[];
  /** Results of the opt-in checks that were asked for and apply to this port. */
  checks?: CheckResults;
  /** ISO 8601 time the probe of this port began (certificate days are counted from it). */
  startedAt: string;
  /** ms per phase, and the port's total (opt-in checks included). */
  timings: Timings;
  /** The dialogue as seen, capped (transcriptOmitted says what was left out). */
  transcript: TranscriptEntry[];
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
  /** --check injection, on plaintext-start ports that advertise STARTTLS. */
  injection?: InjectionFacts;
  /** --check auth-required, on the plaintext-start submission and mailbox ports. */
  authRequired?: AuthRequiredFacts;
  /** --check tls-versions, on ports where TLS was set up. */
  tlsVersions?: TlsVersionFacts;
}

// What discovery found in DNS (src/discover.ts).

/** One DNS fact found while discovering. */
export interface DnsRecordFact {
  /** Which kind of lookup: an MX record, an SRV record, or a name clients guess. */
  kind: 'MX' | 'SRV' | 'guess';
  /** The name that was asked. */
  query: string;
  /** The answer in DNS notation ("10 mail.example.org", "0 1 587 mail.example.org", an address list), or "". */
  answer: string;
  /**
   * What is special about it: null-mx, not-offered, cname-target, address-literal, invalid-name (a target no
   * host can have, e.g. an xn-- label IDNA refuses: not probed), no-record, failed.
   */
  note?:
    | 'null-mx'
    | 'not-offered'
    | 'cname-target'
    | 'address-literal'
    | 'invalid-name'
    | 'no-record'
    | 'failed';
  /** Why, in a few words, when there is a note. */
  detail?: string;
}

/** A host to probe, the ports to probe there, and why. */
export interface Candidate {
  /** The host name, lower case. */
  host: string;
  /** The ports to probe there, each with the service it is judged as. */
  ports: { port: number; service: Service }[];
  /** Where the host came from: "MX 10", "SRV _imaps._tcp", "guess". */
  sources: string[];
}

/** How a published setting secures the connection: implicit TLS, STARTTLS/STLS, or none. */
export type PublishedSecurity = 'TLS' | 'STARTTLS' | 'plain';

/** One server setting as a published source states it. */
export interface PublishedSetting {
  /** incoming (IMAP, POP3) or outgoing (SMTP). */
  direction: 'incoming' | 'outgoing';
  protocol: 'IMAP' | 'POP3' | 'SMTP';
  /** The host name, lower case, without a trailing dot. */
  host: string;
  port: number;
  /** How a client reading this source would secure the connection. */
  security: PublishedSecurity;
  /** The source's own words for it: `socketType SSL`, `Encryption TLS`, `SSL on`, `SRV _imaps._tcp`. */
  as: string;
}

/** One redirect followed while fetching a published document. */
export interface RedirectHop {
  status: number;
  from: string;
  to: string;
  /** The new URL is in another registrable domain (public-suffix list) than the one asked. */
  crossDomain?: true;
  /** The redirect went from https to http. */
  downgrade?: true;
  /**
   * A public address redirected to a loopback, private or link-local one (the addresses and their kinds, e.g.
   * "127.0.0.2 (loopback)"): not followed.
   */
  privateAddress?: string;
}

/** How a published document was fetched over HTTP(S). */
export interface WebFetchFact {
  /** The URL asked first. */
  url: string;
  method: 'GET' | 'POST';
  /**
   * ok: a 200 with a body; not-found: 404/410 or the host does not resolve; auth-required: 401/403 (no
   * credentials are ever sent); http-error: any other status; failed: no HTTP answer (connect, TLS, time-out,
   * size cap).
   */
  outcome: 'ok' | 'not-found' | 'auth-required' | 'http-error' | 'failed';
  /** The final HTTP status, when one arrived. */
  status?: number;
  /** In a few words: the status line, the error. */
  detail: string;
  /** The address connected to, when one was. */
  address?: string;
  /** Redirects followed, in order. */
  redirects?: RedirectHop[];
  /** Bytes of body read. */
  bytes?: number;
  /** ms from the first request to the last byte. */
  ms: number;
}

/** One published source of client settings, in the order a client consults it. */
export interface PublishedSource {
  /** autoconfig (the domain's own file), ispdb (Thunderbird's database), autodiscover (Outlook POX), srv (RFC 6186). */
  kind: 'autoconfig' | 'ispdb' | 'autodiscover' | 'srv';
  /** Where it was looked for: a URL, or the SRV names. */
  location: string;
  /** The mail domain the source is for: the address's own, or the one derived from its top MX. */
  domain: string;
  /** Reached through the MX-derived domain: a client must ask the user before using it. */
  viaMx?: true;
  /** For web sources, how the fetch went. */
  fetch?: WebFetchFact;
  /** A document arrived but cannot be used as it is: why (not well-formed XML, a DTD, a wrong root, a missing field). */
  problems?: string[];
  /** The answer was not this kind of document at all (a catch-all HTML page): taken as no configuration, no finding. */
  ignored?: string;
  /** The settings the source states, in its own order. */
  settings: PublishedSetting[];
}

export interface Discovery {
  /** The mail domain, lower case, without a trailing dot. */
  domain: string;
  /** The address given, when the user typed one. */
  email?: string;
  /** Every DNS answer asked for, with notes where one is unusual. */
  records: DnsRecordFact[];
  /** The hosts to probe, at most `maxHosts`, in the order found (MX by preference, SRV, guessed names). */
  candidates: Candidate[];
  /** Hosts found beyond `maxHosts`, not probed. */
  leftOut?: string[];
  /** Set when the run's deadline ran out: the hosts whose probe never started (those running were aborted). */
  deadline?: { ms: number; notProbed: string[] };
  /** The published sources of client settings (autoconfig, ISPDB, Autodiscover, SRV), in client priority order. */
  published?: PublishedSource[];
}

// ---- The phases of a probe, as errors and timings name them.

export type Phase = 'dns' | 'connect' | 'tls' | 'greeting' | 'capabilities' | 'starttls' | 'check' | 'quit';

// ---- TLS: what a session and its certificates showed (read by src/tls/).

/** What a stapled OCSP response says about one certificate (RFC 6960 §4.2.1). */
export interface OcspStatus {
  /** successful (0) or the responder's error status, by name. */
  responseStatus: string;
  /** The certificate's status, when the response was successful. */
  certStatus?: 'good' | 'revoked' | 'unknown';
  /** Serial number of the certificate the single response is about (hex, upper case). */
  serialNumber?: string;
  thisUpdate?: string;
  nextUpdate?: string;
  revokedAt?: string;
}
/** What is wrong with one certificate of the chain as sent. */
export type CertificateProblem =
  | 'expired'
  | 'not-yet-valid'
  | 'weak-signature'
  | 'weak-key'
  | 'not-a-ca'
  | 'untrusted-root'
  | 'out-of-order'
  | 'unrelated'
  | 'unreadable-date';

/** One certificate as the server sent it. */
export interface ChainCertificate {
  /** Position in the chain as sent: 0 is the leaf. */
  index: number;
  /** leaf (index 0), a self-signed root, or an intermediate. */
  role: 'leaf' | 'intermediate' | 'root';
  /** The subject, as "CN=…, O=…". */
  subject: string;
  /** The issuer, as "CN=…, O=…". */
  issuer: string;
  /** The leaf's subject alternative names (only on the leaf). */
  subjectAltNames?: string[];
  /** ISO 8601; absent when the date cannot be read (see `unreadableDates`). */
  validFrom?: string;
  /** ISO 8601; absent when the date cannot be read (see `unreadableDates`). */
  validTo?: string;
  /** Whole days from the probe's start to validTo (negative once expired); absent when validTo is. */
  daysLeft?: number;
  /** Validity times that cannot be read (RFC 5280 §4.1.2.5), each as encoded; absent when both can. */
  unreadableDates?: UnreadableDate[];
  /** rsa, ec, ed25519, ed448, dsa, rsa-pss. */
  keyType: string;
  /** RSA/DSA modulus bits, EC curve bits (P-256: 256), Ed25519: 256. */
  keyBits: number;
  /** EC curve name, when the key is EC. */
  curve?: string;
  /** e.g. sha256WithRSAEncryption, ecdsa-with-SHA384, rsassaPss-sha256. */
  signatureAlgorithm: string;
  /** basicConstraints CA:TRUE. */
  ca: boolean;
  /** Issued by itself (a root), its signature verified with its own key. */
  selfSigned: boolean;
  /** SHA-256 of the DER certificate, colon-separated hex. */
  sha256: string;
  /** Serial number, hex. */
  serialNumber: string;
  /** What is wrong with this certificate; empty when nothing is. */
  problems: CertificateProblem[];
}

/** A validity time of a certificate that cannot be read as a date. */
export interface UnreadableDate {
  /** notBefore or notAfter (RFC 5280 §4.1.2.5). */
  field: 'notBefore' | 'notAfter';
  /** The time as encoded, e.g. 'UTCTime "991301000000Z"', or what the certificate parser said of it. */
  encoded: string;
}

/** One reason a default client would refuse the chain. */
export interface TrustProblem {
  /** What kind of problem; each kind has a finding of severity high or above. */
  kind:
    | 'expired'
    | 'not-yet-valid'
    | 'weak-signature'
    | 'weak-key'
    | 'issuer-not-ca'
    | 'untrusted-root'
    | 'incomplete-chain'
    | 'unreadable-date'
    | 'verification-failed';
  /** Which certificate: "leaf", "intermediate 1", "root", or "root (trust store)". */
  certificate: string;
  /** Its index in the chain as sent (absent for a root from the trust store). */
  index?: number;
  /** What is wrong, naming the certificate and the date, algorithm or key. */
  detail: string;
}
/** What a TLS session and its certificate showed. Facts only; the rules judge them. */
export interface TlsFacts {
  /** Negotiated protocol, e.g. "TLSv1.3". */
  protocol: string;
  /** Negotiated cipher suite (standard name). */
  cipher: string;
  /** The leaf certificate, when the server sent one. */
  certificate?: CertificateFacts;
  /**
   * A default client would accept the chain: OpenSSL verified it against the trusted roots (Node's bundled
   * Mozilla store, NODE_EXTRA_CA_CERTS, --ca) and no certificate of the path is out of date, signed with
   * SHA-1/MD5 or carries a weak key. `trustProblems` says why not.
   */
  trusted: boolean;
  /** OpenSSL's own verification code when it refused the chain, e.g. "SELF_SIGNED_CERT_IN_CHAIN". */
  trustError?: string;
  /** Every reason the chain is not trusted, each naming its certificate; empty when trusted. */
  trustProblems?: TrustProblem[];
  /** The certificates exactly as the server sent them, leaf first. */
  chain?: ChainCertificate[];
  /** The stapled OCSP response, when the server sent one (it is never fetched). */
  ocsp?: OcspFacts;
  /** The name the certificate was checked against (A-label form, no trailing dot). */
  checkedName: string;
  /** The certificate is valid for `checkedName` under RFC 9525: DNS-IDs or iPAddress SANs only, never the CN. */
  nameMatches: boolean;
  /** Why the name does not match, when it does not. */
  nameError?: string;
}

/** A stapled OCSP response: its status as sent. The responder's signature is not verified. */
export interface OcspFacts extends OcspStatus {
  /** The response could not be read; the reason. */
  error?: string;
}

/** The leaf certificate, as observed (the whole chain is in `TlsFacts.chain`). */
export interface CertificateFacts {
  /** The subject, as "CN=…, O=…". */
  subject: string;
  /** The issuer, as "CN=…, O=…". */
  issuer: string;
  /** Subject alternative names, e.g. ["DNS:mail.example.com", "IP Address:192.0.2.1"]. */
  subjectAltNames: string[];
  /** ISO 8601; absent when it cannot be read (`unreadableDates` says how it is encoded). */
  validFrom?: string;
  /** ISO 8601; absent when it cannot be read (`unreadableDates` says how it is encoded). */
  validTo?: string;
  /** The leaf's validity times that cannot be read as dates; absent when both can. */
  unreadableDates?: UnreadableDate[];
  /** SHA-256 of the DER certificate, colon-separated hex. */
  sha256: string;
  /** Certificates in the chain the server sent, leaf included. */
  chainLength: number;
}

// ---- An early "filtered" verdict and its evidence (src/probe/fast-filtered.ts).

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
}

// ---- Egress: is outbound port 25 blocked or intercepted here? (src/modes/egress.ts).

/** How one TCP connection attempt ended. */
export type Reach = 'connected' | 'refused' | 'filtered' | 'unreachable' | 'reset' | 'error';

export type EgressConclusion = 'blocked' | 'intercepted' | 'not-blocked' | 'inconclusive';

/** What answered on 25, when something did: the greeting, STARTTLS and the certificate. */
export interface Port25Dialogue {
  /** The probe's status for port 25 (open when the SMTP dialogue completed). */
  status: string;
  /** The greeting's text, lines joined. */
  greeting?: string;
  /** STARTTLS was advertised in answer to EHLO. */
  starttls?: boolean;
  /** SHA-256 of the certificate presented after STARTTLS. */
  certificate?: string;
  /** The certificate's subject. */
  certificateSubject?: string;
  /** The certificate is valid for the host's name (RFC 9525). */
  nameMatches?: boolean;
}

export interface EgressHost {
  /** The host name tried. */
  host: string;
  /** The address tried. */
  address?: string;
  /** Its address family. */
  family?: 4 | 6;
  /** Why the host could not be tried, when it could not. */
  error?: string;
  /** How the connection to 25 ended. */
  port25?: Reach;
  /** How the connection to the control port ended. */
  control?: Reach;
  /** What answered on 25, when it connected. */
  smtp?: Port25Dialogue;
  /**
   * What this host says: blocked (the path stops 25), open (25 reached a server that looks like the host's
   * own), intercepted (25 reached something else), unknown (nothing to conclude, with `why`).
   */
  evidence: 'blocked' | 'open' | 'intercepted' | 'unknown';
  /** The reasons for the evidence, in words. */
  why: string[];
}

export interface EgressFamily {
  /** The address family. */
  family: 4 | 6;
  /** What that family's hosts conclude. */
  conclusion: EgressConclusion;
  /** One sentence for people. */
  summary: string;
}

export interface EgressResult {
  /** The overall conclusion: intercepted or blocked in any family, else not-blocked in any, else inconclusive. */
  conclusion: EgressConclusion;
  /** One sentence for people. */
  summary: string;
  /** The control port tried beside 25. */
  controlPort: number;
  /** The conclusion per address family tried. */
  families: EgressFamily[];
  /** Each host and address tried, with its evidence. */
  hosts: EgressHost[];
}
