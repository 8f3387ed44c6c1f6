/** The opt-in login check and round trip, as observed (never what was concluded: rules/login.ts judges). */

/**
 * What one login attempt on a port showed. works: the server accepted the credential; rejected: it refused
 * it (`reply` holds the code and words); not-offered: no mechanism mailprobe would use is offered over TLS;
 * app-password: the refusal's words ask for an app password or a web login; locked: the server said the
 * account or client is locked, throttled or temporarily unavailable; not-tried: nothing was sent (`why`);
 * error: the exchange broke off (`why`).
 */
export type LoginOutcome =
  | 'works'
  | 'rejected'
  | 'not-offered'
  | 'app-password'
  | 'locked'
  | 'not-tried'
  | 'error';

export interface LoginFacts {
  outcome: LoginOutcome;
  /** The way used, as a mail client would pick it: `AUTH PLAIN`, `AUTHENTICATE PLAIN`, `LOGIN`, `USER/PASS`. */
  mechanism?: string;
  /** The ways to log in the server listed over verified TLS (SASL mechanisms, LOGIN, USER). */
  offered?: string[];
  /** The server's answer to the credential, code and words (never the secret or its encodings). */
  reply?: string;
  /** Why it was not tried, or how it broke off. */
  why?: string;
  /** The secret given: a password, or an OAuth 2.0 bearer token (RFC 6750). */
  secret: 'password' | 'token';
  /**
   * Bytes the server sent on the login's own connection after its STARTTLS/STLS OK, before the handshake:
   * discarded, as the probe discards them (PortResult.starttls.bytesAfterOk); absent when there were none.
   */
  bytesAfterOk?: number;
}

/** What the round trip (submit one message, find it in the mailbox) saw, step by step. */
export interface RoundTripFacts {
  /** The unique token in the message's Subject and Message-ID. */
  token: string;
  /** The port the message was submitted on, and the address it went to. */
  submittedOn?: number;
  recipient: string;
  /** The port the mailbox was searched on. */
  searchedOn?: number;
  /** The step that failed, if one did: submit (login/MAIL/RCPT/DATA), search (login/SELECT/SEARCH), delete. */
  failedStep?: 'submit' | 'search' | 'delete';
  /** accepted: the server took the message; its reply carries the queue id, when it gave one. */
  accepted: boolean;
  acceptReply?: string;
  queueId?: string;
  /** Seconds from acceptance to the message found in the mailbox; absent when it never arrived. */
  arrivedAfterS?: number;
  /** How long the mailbox was watched. */
  waitedS: number;
  /** The test message was deleted afterwards (false with --keep, or when deleting failed). */
  deleted: boolean;
  /** What went wrong, in a few words, when a step failed. */
  why?: string;
  /**
   * Each of the round trip's own connections on which the server sent bytes after its STARTTLS/STLS OK, before
   * the handshake: discarded, as the probe and the login check discard them; absent when there were none.
   */
  bytesAfterOk?: { port: number; address: string; bytes: number }[];
}
