/**
 * The extra evidence a port's probe gathers when the main dialogue leaves a question open: the early TLS attempt
 * on a silent plaintext port, the route check, the nudge of a silent server, and the cross-check that tells a wrong
 * TLS mode from a broken port. Each reports what it found; classify.ts decides what that makes the status.
 */
import type net from 'node:net';
import { AbortedError, PhaseTimeoutError } from '../errors.js';
import type { Limits } from '../limits.js';
import { monotonicMs } from '../net/clock.js';
import { Deadline } from '../net/deadline.js';
import { isIP } from '../net/names.js';
import { type Detected, type Dialogue, detectProtocol, NotThisProtocol } from '../protocols/dialogue.js';
import { Session } from '../protocols/session.js';
import { referenceFor } from '../reference/table.js';
import type { Trust } from '../tls/trust.js';
import type { CrossCheck, Greeting, PortResult, Service } from '../types/index.js';
import { message } from './classify.js';

/** What a second connection to the port needs (a PortTarget is one). */
export interface EvidenceTarget {
  address: string;
  port: number;
  service: Service;
  servername: string;
  trust: Trust;
  limits: Limits;
  signal?: AbortSignal | undefined;
  beforeConnect?: (() => Promise<void>) | undefined;
  afterConnect?: ((socket: net.Socket) => void) | undefined;
}

/**
 * The greeting of a plaintext-start port, or the proof that an implicit-TLS server listens there instead. After
 * `silenceMs` of complete silence (not one byte) on a port mail clients use (587, 143, 110: not the relay port
 * 25), a TLS handshake is tried on a second connection while this one stays open: a completed handshake returns
 * undefined at once, its check in `tried` (the port is then `wrong-tls-mode`, classify.ts), instead of after the
 * whole greeting deadline. A slow plaintext server is not harmed: the first connection keeps waiting
 * for its greeting, and the moment it sends a byte the second connection is closed. A greeting that has begun
 * is never interrupted: no second connection is opened once a byte has arrived.
 */
export async function greetingOrTls(
  target: EvidenceTarget,
  session: Session,
  dialogue: Dialogue,
  tried: { check?: CrossCheck },
): Promise<Greeting | undefined> {
  const reading = dialogue.greeting(session);
  const { silenceMs, greetingMs } = target.limits;
  // At or after the greeting deadline, the silent server's cross-check (crossCheck) does the same. On the relay
  // port a silent pause before the greeting is a deliberate defence (sendmail's greet_pause, an Exim connect ACL
  // delay) that punishes a client speaking first, and fail2ban may act on its log: no early ClientHello there.
  if (
    silenceMs >= greetingMs ||
    session.deadline.remaining() <= silenceMs ||
    referenceFor(target.service).role === 'relay'
  )
    return reading;
  reading.catch(() => {}); // awaited below, whatever happens first
  const quiet = await new Promise<boolean>((resolve) => {
    const settle = (silent: boolean) => {
      clearTimeout(timer);
      stopListening();
      resolve(silent);
    };
    const timer = setTimeout(() => settle(session.receivedBytes === 0), silenceMs);
    const stopListening = session.onceReceived(() => settle(false));
    reading.then(
      () => settle(false),
      () => settle(false),
    );
  });
  if (!quiet) return reading;

  session.note(
    `nothing received in ${silenceMs} ms: trying a TLS handshake on a second connection, this one kept open for a greeting`,
  );
  // Its own deadline (what is left of the port's) and its own signal, so that dropping it clears its timers at
  // once; the caller's abort ends the first connection's greeting, which drops this one too.
  const drop = new AbortController();
  const second = new Session(
    target.limits,
    drop.signal,
    new Deadline(session.deadline.remaining(), drop.signal),
    session.began,
    target.beforeConnect,
  );
  const handshake = (async () => {
    const raw = await second.connectRaw(target.address, target.port);
    const socket = await second.handshake(raw, { servername: target.servername, trust: target.trust });
    const cipher = socket.getCipher();
    return `${socket.getProtocol() ?? 'TLS'} ${cipher.standardName ?? cipher.name}`;
  })();
  handshake.catch(() => {});
  type Outcome = { greeting: true } | { tls: string } | { failed: unknown };
  const tlsOutcome = handshake.then(
    (tls): Outcome => ({ tls }),
    (failed: unknown): Outcome => ({ failed }),
  );
  let stopListening = () => {};
  let first = await new Promise<Outcome | { ended: unknown }>((resolve) => {
    stopListening = session.onceReceived(() => resolve({ greeting: true }));
    reading.then(
      () => resolve({ greeting: true }),
      (ended: unknown) => resolve({ ended }),
    );
    void tlsOutcome.then(resolve);
  });
  stopListening();
  let dropped = 'bytes arrived on the first connection: the TLS attempt on the second was dropped';
  if ('ended' in first) {
    // Silent to the greeting deadline while the handshake is still under way: it is this silent port's cross-check,
    // so its answer is awaited (within its own deadline). Anything else (an abort, a close) drops it.
    dropped = `the first connection ended (${message(first.ended)}): the TLS attempt on the second was dropped`;
    first =
      first.ended instanceof PhaseTimeoutError && session.receivedBytes === 0
        ? await tlsOutcome
        : { greeting: true };
  }
  drop.abort();
  second.close();
  for (const entry of second.transcript) session.transcript.push(entry);
  session.transcript.sort((a, b) => a.at - b.at);
  if ('tls' in first) {
    session.note(`the second connection completed a TLS handshake: ${first.tls}`);
    tried.check = { tried: 'implicit-tls', outcome: 'tls-handshake', detail: first.tls };
    return undefined;
  }
  if ('failed' in first) {
    tried.check = failedCheck('implicit-tls', first.failed);
    session.note(
      `the TLS handshake ${tried.check.outcome === 'nothing' ? 'found nothing' : 'ran out of the port deadline'} (${tried.check.detail}); the first connection waits on`,
    );
  } else {
    session.note(dropped);
  }
  return reading;
}

/**
 * Whether this machine has a route to `address`: a UDP connect does the kernel's route lookup and sends
 * nothing. Tells "no route here" (ENETUNREACH from the local stack) from an ICMP unreachable on the way.
 */
export function hasRoute(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = process.getBuiltinModule('node:dgram').createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    let settled = false;
    const done = (routed: boolean) => {
      if (settled) return;
      settled = true;
      socket.close();
      resolve(routed);
    };
    socket.once('error', () => done(false));
    // Node 20 hands a failed UDP connect to the callback rather than to 'error'.
    socket.connect(port, address, (error?: Error) => done(!error));
  });
}

/** The one line a silent server answered the goodbye with: what it looks like, its text, and when it came. */
export interface NudgeAnswer {
  detected: Detected;
  line: string;
  /** ms from the port's start (the transcript's clock). */
  at: number;
  /** When the goodbye was sent, on the same clock. */
  goodbyeAt: number;
  /** After an IMAP `* BYE`: the line that came next within the same wait, if one did (not a close, not silence). */
  next?: string;
}

/**
 * A silent server may be one that waits for the client to speak first (HTTP, a proxy), or a mail server slower
 * than the greeting deadline. Sending the protocol's own goodbye (QUIT, LOGOUT) and reading one line shows what
 * it is without doing harm. That wait is the goodbye's (`quit` in the timings), not the greeting's. An IMAP
 * `* BYE` may be a greeting that refuses service or the answer to LOGOUT, which ends with LOGOUT's tagged
 * completion (RFC 9051 §6.1.3): one more line, read within the same wait, tells them apart (classify.ts).
 */
export async function nudge(
  session: Session,
  dialogue: Dialogue,
): Promise<NudgeAnswer | 'aborted' | undefined> {
  try {
    session.note('no greeting: sending the goodbye command to see what answers');
    session.send(dialogue.goodbye, { keepPending: true });
    const goodbyeAt = session.transcript.findLast((entry) => entry.dir === 'C')?.at ?? 0;
    const until = monotonicMs() + session.limits.replyMs;
    const line = await session.readLine('quit', session.limits.replyMs);
    const at = session.transcript.findLast((entry) => entry.dir === 'S')?.at ?? 0;
    const answer: NudgeAnswer = { detected: detectProtocol(line.text), line: line.text, at, goodbyeAt };
    if (dialogue.protocol === 'imap' && /^\* BYE\b/i.test(line.text)) {
      const left = Math.max(1, Math.ceil(until - monotonicMs()));
      const next = await session.readLine('quit', left).catch((error: unknown) => {
        if (error instanceof AbortedError) throw error;
        return undefined; // the close after a refusal, or nothing more within the wait
      });
      if (next) answer.next = next.text;
    }
    return answer;
  } catch (error) {
    return error instanceof AbortedError ? 'aborted' : undefined;
  }
}

/** Whether a port's first verdict may be a wrong TLS mode, to be told apart by a second connection (crossCheck). */
export function needsCrossCheck(result: PortResult): boolean {
  // One second connection at most: a port that had its cross-check (or the early TLS try) does not get another.
  if (result.crossCheck) return false;
  // An alert from the server proves it speaks TLS (OpenSSL names only alerts it received "… alert …"; a
  // plaintext answer is "wrong version number"): a plaintext greeting cannot be there, so no second connection.
  if (result.expectedTls === 'implicit')
    return result.status === 'tls-failed' && !/\balert\b/i.test(result.statusDetail);
  return result.status === 'silent' || (result.status === 'wrong-protocol' && result.detected === 'tls');
}

/**
 * What a second connection that ended without its answer found: `nothing` on its own deadlines or the server's
 * doing, `out-of-time` when the port's deadline ended it (no evidence either way).
 */
function failedCheck(tried: CrossCheck['tried'], error: unknown): CrossCheck {
  const detail =
    error instanceof NotThisProtocol
      ? `${error.message}: ${JSON.stringify(error.line.slice(0, 80))}`
      : message(error);
  const cut = error instanceof PhaseTimeoutError && error.portDeadline;
  return { tried, outcome: cut ? 'out-of-time' : 'nothing', detail };
}

/** The least time left of the port deadline that a cross-check starts with. */
export const crossCheckMinMs = 50;

/**
 * A second connection, within the same port deadline, to tell a wrong TLS mode from a broken port:
 * on an implicit-TLS port whose handshake failed, read a plaintext greeting; on a plaintext port that
 * stayed silent, try a TLS handshake. Only this evidence turns a failure into `wrong-tls-mode`. With less than
 * crossCheckMinMs left of the port's deadline it is not started (`not-run`): a connection that could not finish
 * proves nothing, and a timer set to the port deadline may fire a fraction of a millisecond before it.
 */
export async function crossCheck(
  expectedTls: PortResult['expectedTls'],
  target: EvidenceTarget,
  first: Session,
  dialogue: Dialogue,
): Promise<{ check: CrossCheck; aborted: boolean }> {
  const tried = expectedTls === 'implicit' ? 'plaintext' : 'implicit-tls';
  if (first.deadline.remaining() < crossCheckMinMs && !first.deadline.aborted)
    return {
      check: {
        tried,
        outcome: 'not-run',
        detail: `less than ${crossCheckMinMs} ms was left of the port deadline of ${target.limits.portMs} ms`,
      },
      aborted: false,
    };
  const session = new Session(
    target.limits,
    target.signal,
    first.deadline,
    first.began,
    target.beforeConnect,
    target.afterConnect,
  );
  let check: CrossCheck;
  let aborted = false;
  try {
    if (expectedTls === 'implicit') {
      session.note('cross-check: the TLS handshake failed; reading a plaintext greeting on a new connection');
      await session.connect(target.address, target.port);
      // A plaintext server on a TLS port greets at once; the reply deadline is enough to see it.
      const greeting = await dialogue.greeting(session, session.limits.replyMs);
      check = { tried: 'plaintext', outcome: 'mail-greeting', detail: greeting.lines.join(' ') };
    } else {
      session.note('cross-check: no plaintext greeting; trying a TLS handshake on a new connection');
      const raw = await session.connectRaw(target.address, target.port);
      const socket = await session.handshake(raw, { servername: target.servername, trust: target.trust });
      const cipher = socket.getCipher();
      check = {
        tried: 'implicit-tls',
        outcome: 'tls-handshake',
        detail: `${socket.getProtocol() ?? 'TLS'} ${cipher.standardName ?? cipher.name}`,
      };
    }
  } catch (error) {
    aborted = error instanceof AbortedError;
    check = failedCheck(tried, error);
  } finally {
    session.close();
    for (const entry of session.transcript) first.transcript.push(entry);
  }
  return { check, aborted };
}
