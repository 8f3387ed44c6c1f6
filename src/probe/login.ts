/**
 * The opt-in login check (--login): after the ports are probed, one attempt per account backend at most, each
 * on a connection of its own, only inside TLS whose chain and name verified; lockout-safe (see planLogins).
 */

import type { Limits } from '../limits.js';
import { type Dialogue, upgradeWorthTrying } from '../protocols/dialogue.js';
import { imap } from '../protocols/imap.js';
import { credentialSent, logIn, loginWays, offeredWays } from '../protocols/login.js';
import { pop3 } from '../protocols/pop3.js';
import { type Credential, quotedLines, type Scrub, scrubber } from '../protocols/secret.js';
import { Session } from '../protocols/session.js';
import { addressLiteral, replyLineWords, smtp } from '../protocols/smtp.js';
import { readTlsFacts } from '../tls/facts.js';
import type { Trust } from '../tls/trust.js';
import type { Capabilities, LoginFacts, PortResult, Protocol, TranscriptEntry } from '../types/index.js';
import { capTranscript } from './port.js';

export type { Credential } from '../protocols/secret.js';

export interface LoginOptions {
  credential: Credential;
  /** Try every port, not one per account backend (143 and 993, 110 and 995, 587 and 465 count as one). */
  eachPort?: boolean;
  /** Most login attempts in the run (default 3). */
  maxAttempts?: number;
}

export const defaultMaxLogins = 3;

const dialogues: Record<Protocol, Dialogue> = { smtp, imap, pop3 };

/** A verified TLS session ready for the login, or why none could be had. */
export interface Verified {
  session: Session;
  caps: Capabilities;
}

/** TLS versions a mail client sends a credential over (RFC 8996: not 1.0 or 1.1). */
const modernTls = new Set(['TLSv1.2', 'TLSv1.3']);

/**
 * Connects to `port` and reaches TLS (implicit, or STARTTLS/STLS), then checks the chain and the name against
 * the trusted roots (with --ca's). Returns the session with capabilities re-read inside TLS, or why not. Bytes the
 * server sent after its STARTTLS OK are dropped, as the probe drops them, and counted on the session (`bytesAfterOk`).
 * The caller may hand in the session, to close it and keep its transcript whatever happens.
 */
export async function verifiedSession(
  port: PortResult,
  target: {
    servername: string;
    trust: Trust;
    limits: Limits;
    ehloName?: string | undefined;
    signal?: AbortSignal | undefined;
  },
  session = new Session(target.limits, target.signal),
): Promise<Verified | { why: string; session: Session }> {
  const dialogue = dialogues[port.protocol];
  const tlsOptions = { servername: target.servername, trust: target.trust };
  const ehlo = () => ({ ehloName: target.ehloName ?? addressLiteral(session.localAddress) });
  let socket: Awaited<ReturnType<Session['handshake']>>;
  if (port.expectedTls === 'implicit') {
    const raw = await session.connectRaw(port.address, port.port);
    socket = await session.handshake(raw, tlsOptions);
  } else {
    await session.connect(port.address, port.port);
    const greeting = await dialogue.greeting(session);
    if (greeting.kind !== 'ok') return { why: `the greeting refused service`, session };
    const caps = await dialogue.capabilities(session, ehlo());
    if (!upgradeWorthTrying(port.protocol, caps, greeting))
      return { why: `no verified TLS: ${dialogue.startTlsCommand} is not offered`, session };
    const reply = await dialogue.startTls(session);
    if (!reply.accepted) return { why: `no verified TLS: ${dialogue.startTlsCommand} was refused`, session };
    const upgraded = await session.upgrade(tlsOptions);
    if (upgraded.discarded > 0)
      session.note(`discarded ${upgraded.discarded} bytes received after the ${dialogue.startTlsCommand} OK`);
    socket = upgraded.socket;
  }
  const facts = readTlsFacts(socket, target.servername, { trust: target.trust });
  if (!facts.trusted)
    return { why: `no verified TLS: the chain did not verify (${facts.trustError ?? 'untrusted'})`, session };
  if (!facts.nameMatches)
    return { why: `no verified TLS: the certificate does not name ${target.servername}`, session };
  if (!modernTls.has(facts.protocol))
    return { why: `no verified TLS: ${facts.protocol} is below TLS 1.2`, session };
  if (port.expectedTls === 'implicit') {
    const greeting = await dialogue.greeting(session);
    if (greeting.kind !== 'ok') return { why: 'the greeting refused service', session };
  }
  return { session, caps: await dialogue.capabilities(session, ehlo()) };
}

/** Why the probe's own TLS session on the port rules out a login, or undefined when it verified. */
function unverified(port: PortResult): string | undefined {
  const tls = port.tls;
  if (!tls) return 'the probe reached no TLS on this port';
  if (!tls.trusted) return `the chain did not verify (${tls.trustError ?? 'untrusted'})`;
  if (!tls.nameMatches) return `the certificate does not name ${tls.checkedName}`;
  if (!modernTls.has(tls.protocol)) return `${tls.protocol} is below TLS 1.2`;
  return undefined;
}

/** The account backend a port's login goes to: 143/993, 110/995 and 587/465 share one each. */
function backend(port: PortResult): string {
  return port.protocol === 'smtp' ? 'submission' : port.protocol;
}

/** Implicit TLS first (a client's first pick since RFC 8314 §3.3), then the lower port number. */
function preference(a: PortResult, b: PortResult): number {
  const rank = (p: PortResult) => (p.expectedTls === 'implicit' ? 0 : 1);
  // A stable sort: addresses keep the order they were probed in.
  return rank(a) - rank(b) || a.port - b.port;
}

/**
 * One login attempt on `port`: a verified TLS session, the way a mail client would pick, the credential once.
 * The exchange's transcript (secret-free: placeholders, then scrubbed) is appended to the port's transcript.
 */
export async function tryLogin(
  port: PortResult,
  options: LoginOptions,
  target: Parameters<typeof verifiedSession>[1],
): Promise<LoginFacts> {
  return (await attempt(port, options, target)).facts;
}

/** tryLogin's facts, and whether any byte of the credential was written: a login without one is no attempt. */
async function attempt(
  port: PortResult,
  options: LoginOptions,
  target: Parameters<typeof verifiedSession>[1],
): Promise<{ facts: LoginFacts; sent: boolean }> {
  const c = options.credential;
  const scrub = scrubber(c);
  const secret = c.kind;
  const connection = new OwnConnection(port, target, scrub, 'login check');
  const session = connection.session;
  // The server's bytes after its STARTTLS OK, dropped as the probe drops them, are kept as the probe keeps them.
  const done = (facts: LoginFacts) => ({
    facts: session.bytesAfterOk > 0 ? { ...facts, bytesAfterOk: session.bytesAfterOk } : facts,
    sent: credentialSent(session),
  });
  try {
    const verified = await connection.verify();
    if ('why' in verified) return done({ outcome: 'not-tried', why: verified.why, secret });
    const protocol = port.protocol;
    const offered = offeredWays(protocol, verified.caps);
    const way = loginWays(protocol, verified.caps, c.kind)[0];
    if (!way)
      return done({
        outcome: 'not-offered',
        offered,
        why:
          c.kind === 'token'
            ? 'neither OAUTHBEARER nor XOAUTH2 is offered over TLS'
            : 'no password mechanism (PLAIN, LOGIN, the protocol’s own) is offered over TLS',
        secret,
      });
    const answer = await logIn(protocol, session, way, c, verified.caps);
    try {
      if (answer.outcome === 'works' || answer.outcome === 'rejected')
        await dialogues[protocol].quit(session);
    } catch {
      // the answer is in; a server that lingers after it changes nothing
    }
    return done({
      outcome: answer.outcome,
      mechanism: answer.mechanism,
      offered,
      reply: scrub(answer.reply, answer.lines),
      secret,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const text = scrub(message, quotedLines(message));
    const result = done({ outcome: 'error', why: text, secret });
    // Nothing of the credential went out: the account's one attempt is left to a port that shares it.
    if (!result.sent) result.facts.why = `before the credential was sent (no attempt counted): ${text}`;
    return result;
  } finally {
    connection.end();
  }
}

/**
 * A connection of the login check's or the round trip's own to `port`, made before anything can throw, so that
 * however the exchange ends, end() closes it and keeps its transcript, scrubbed, in the port's (after a line
 * naming whose it is). verify() reaches verified TLS on it (verifiedSession): bytes the server sent after its
 * STARTTLS OK are dropped, noted in the transcript and counted on the session (`bytesAfterOk`).
 */
export class OwnConnection {
  readonly session: Session;
  private ended = false;

  constructor(
    readonly port: PortResult,
    private readonly target: Parameters<typeof verifiedSession>[1],
    readonly scrub: Scrub,
    /** Whose connection it is, for the transcript: `login check`, `round trip`. */
    private readonly whose: string,
  ) {
    this.session = new Session(target.limits, target.signal);
  }

  verify(): ReturnType<typeof verifiedSession> {
    return verifiedSession(this.port, this.target, this.session);
  }

  /** Closes the connection and keeps its transcript in the port's; once, however often it is called. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.session.close();
    appendTranscript(this.port, this.session.transcript, this.scrub, this.target.limits, this.whose);
  }
}

function appendTranscript(
  port: PortResult,
  entries: TranscriptEntry[],
  scrub: Scrub,
  limits: Limits,
  whose: string,
) {
  const base = port.timings.total ?? 0;
  port.transcript.push({ at: base, dir: '-', text: `${whose}: a connection of its own`, tls: false });
  // An SMTP reply line's words start after its code: the end of an echo split over lines stands there.
  const lines = (entry: TranscriptEntry) =>
    port.protocol === 'smtp' && entry.dir === 'S' ? replyLineWords(entry.text) : undefined;
  for (const entry of entries)
    port.transcript.push({ ...entry, at: base + entry.at, text: scrub(entry.text, lines(entry)) });
  // The same caps as the probe's own transcript; what they left out before is added to, not forgotten.
  const before = port.transcriptOmitted;
  capTranscript(port, limits);
  const now = port.transcriptOmitted;
  if (before && now && now !== before)
    port.transcriptOmitted = { entries: before.entries + now.entries, chars: before.chars + now.chars };
}

/**
 * Runs the login check on the probed ports, in place (`port.login`). Lockout rules: ports that share an
 * account backend get one attempt between them (unless eachPort), the first with verified TLS in order of
 * preference; at most maxAttempts credentials are sent in the run; after a rejection, a lock or an
 * app-password refusal no further attempt is made for the account. Port 25 is never logged in on.
 */
export async function runLogins(
  ports: PortResult[],
  options: LoginOptions,
  target: Parameters<typeof verifiedSession>[1],
): Promise<void> {
  const max = options.maxAttempts ?? defaultMaxLogins;
  let attempts = 0;
  let stopped: string | undefined;
  const done = new Map<string, number>();
  for (const port of [...ports].sort(preference)) {
    const secret = options.credential.kind;
    if (port.service === 'smtp') {
      port.login = {
        outcome: 'not-tried',
        why: 'port 25 is for relay: mail clients log in on 465 or 587',
        secret,
      };
      continue;
    }
    if (port.status !== 'open') {
      port.login = { outcome: 'not-tried', why: `the port is ${port.status}`, secret };
      continue;
    }
    if (stopped) {
      port.login = { outcome: 'not-tried', why: stopped, secret };
      continue;
    }
    const group = options.eachPort ? `${port.port}` : backend(port);
    const earlier = done.get(group);
    if (earlier !== undefined) {
      port.login = {
        outcome: 'not-tried',
        why: `the same account was tried on port ${earlier} (one attempt per backend; --login-each-port tries each)`,
        secret,
      };
      continue;
    }
    if (attempts >= max) {
      port.login = {
        outcome: 'not-tried',
        why: `the run's cap of ${max} login attempts was reached (--login-max)`,
        secret,
      };
      continue;
    }
    // What the probe saw already rules a port out without a connection; the login's own connection checks again.
    const seen = unverified(port);
    if (seen) {
      port.login = { outcome: 'not-tried', why: `no verified TLS: ${seen}`, secret };
      continue;
    }
    const { facts, sent } = await attempt(port, options, target);
    port.login = facts;
    // A port where no byte of the credential was sent (no verified TLS, nothing offered, the connection lost
    // before it) leaves its backend to the next port that shares it, and counts no attempt.
    if (sent) {
      attempts++;
      done.set(group, port.port);
    }
    if (facts.outcome === 'rejected' || facts.outcome === 'locked' || facts.outcome === 'app-password')
      stopped = `the login was ${facts.outcome === 'locked' ? 'locked or throttled' : 'refused'} on port ${port.port}: no further attempt for this account (lockout safety)`;
  }
}
