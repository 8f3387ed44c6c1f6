/**
 * One port on one address, top to bottom: connect, [TLS], greeting, capabilities, [STARTTLS, TLS,
 * capabilities], goodbye; a second connection only for wrong-TLS-mode evidence; then the opt-in checks.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import {
  AbortedError,
  ConnectionClosedError,
  errorCode,
  FilteredEarlyError,
  type Phase,
  PhaseTimeoutError,
  UsageError,
} from '../errors.js';
import { invalidLimit, type Limits } from '../limits.js';
import { isoTime, monotonicMs } from '../net/clock.js';
import { Deadline } from '../net/deadline.js';
import { stapledOcsp } from '../net/dial.js';
import { isEhloArgument, isHostName, isIP } from '../net/names.js';
import type { Dialogue } from '../protocols/dialogue.js';
import { detectProtocol, NotThisProtocol } from '../protocols/dialogue.js';
import { imap } from '../protocols/imap.js';
import { pop3 } from '../protocols/pop3.js';
import { Session } from '../protocols/session.js';
import { addressLiteral, smtp } from '../protocols/smtp.js';
import { referenceFor } from '../reference/table.js';
import { readTlsFacts } from '../tls/facts.js';
import type { CrossCheck, Greeting, PortResult, Protocol, Service } from '../types/index.js';
import { type CheckName, runChecks } from './checks.js';
import { classify, message, rateLimitText, refusalBeforeClose } from './classify.js';
import type { ConnectWatch } from './fast-filtered.js';

export const dialogues: Readonly<Record<Protocol, Dialogue>> = { smtp, imap, pop3 };

/** Everything one port's probe needs. */
export interface PortTarget {
  address: string;
  family: 4 | 6;
  port: number;
  service: Service;
  /** SNI and the name certificates are checked against. */
  servername: string;
  /** Extra trusted root certificates (PEM). */
  ca?: string | undefined;
  /** EHLO argument; defaults to our address as an address literal. */
  ehloName?: string | undefined;
  limits: Limits;
  signal?: AbortSignal | undefined;
  /** Called when the probe enters a phase. */
  onPhase?: ((phase: Phase) => void) | undefined;
  /** Opt-in checks to run after the probe, each on a connection of its own. */
  checks?: readonly CheckName[] | undefined;
  /** The host's coordinator for deciding "filtered" early (fast-filtered.ts); without it, the full deadline. */
  connectWatch?: ConnectWatch | undefined;
  /** Awaited before each connection to the port, cross-check and checks included (batch mode's pacing). */
  beforeConnect?: (() => Promise<void>) | undefined;
  /**
   * Called with each TCP connection to the port once it is up, before any byte is sent; throws to refuse it
   * (the port then ends `local-error` with the error's message, nothing sent). `serve` checks the remote address.
   */
  afterConnect?: ((socket: net.Socket) => void) | undefined;
}

/**
 * Probes one port on one address: connect → [TLS] → greeting → capabilities → [STARTTLS → TLS →
 * capabilities] → QUIT. Never throws for network reasons: every exit returns what was seen so far.
 */
export async function probePort(target: PortTarget): Promise<PortResult> {
  const badLimit = invalidLimit(target.limits);
  if (badLimit) throw new UsageError(`limits: ${badLimit}`);
  // User values that reach the wire are checked before any connection (RFC 5321 §4.1.2, RFC 6066 §3).
  if (target.ehloName !== undefined && !isEhloArgument(target.ehloName))
    throw new UsageError(
      `ehloName ${JSON.stringify(target.ehloName.slice(0, 80))} is not a domain or an address literal`,
    );
  if (!isIP(target.servername) && !isHostName(target.servername))
    throw new UsageError(`servername ${JSON.stringify(target.servername.slice(0, 80))} is not a host name`);
  // One absolute deadline for the port, opt-in checks included (they are part of probing the port).
  const deadline = new Deadline(target.limits.portMs, target.signal);
  const session = new Session(
    target.limits,
    target.signal,
    deadline,
    undefined,
    target.beforeConnect,
    target.afterConnect,
  );
  const result = await probeOnce(target, session);
  const dialogue = dialogues[result.protocol];
  // A failure that may be a wrong TLS mode gets its evidence from a second connection, under the same deadline.
  if (needsCrossCheck(result)) await crossCheck(result, target, session, dialogue);
  result.timings.total = Math.round((Date.now() - Date.parse(result.startedAt)) * 10) / 10;
  if (target.checks?.length && result.status === 'open') {
    const origin = monotonicMs() - (Date.now() - Date.parse(result.startedAt));
    result.checks = await runChecks(
      result,
      dialogue,
      target,
      target.checks,
      () =>
        new Session(
          target.limits,
          target.signal,
          deadline,
          origin,
          target.beforeConnect,
          target.afterConnect,
        ),
    );
    result.timings.total = Math.round((Date.now() - Date.parse(result.startedAt)) * 10) / 10;
  }
  capTranscript(result, target.limits);
  return result;
}

/**
 * Bounds what a port's result keeps, so a report on many hostile ports stays small: the first and the last
 * entries up to `transcriptEntries`, and `transcriptChars` of text in all; what is left out is counted.
 */
export function capTranscript(
  result: PortResult,
  limits: Pick<Limits, 'transcriptEntries' | 'transcriptChars'>,
): void {
  const all = result.transcript;
  let omittedEntries = 0;
  let omittedChars = 0;
  let kept = all;
  if (all.length > limits.transcriptEntries) {
    const head = Math.ceil(limits.transcriptEntries * 0.75);
    const tail = limits.transcriptEntries - head;
    const dropped = all.slice(head, all.length - tail);
    omittedEntries += dropped.length;
    omittedChars += dropped.reduce((sum, entry) => sum + entry.text.length, 0);
    kept = [...all.slice(0, head), ...all.slice(all.length - tail)];
  }
  let budget = limits.transcriptChars;
  const bounded = kept.map((entry) => {
    if (entry.text.length <= budget) {
      budget -= entry.text.length;
      return entry;
    }
    omittedChars += entry.text.length - budget;
    const text = entry.text.slice(0, budget);
    budget = 0;
    return { ...entry, text, truncated: true as const };
  });
  if (omittedEntries === 0 && omittedChars === 0) return;
  all.length = 0;
  all.push(...bounded);
  result.transcriptOmitted = { entries: omittedEntries, chars: omittedChars };
}

/** The main dialogue on one connection, top to bottom; the session is closed when it returns. */
async function probeOnce(target: PortTarget, session: Session): Promise<PortResult> {
  const reference = referenceFor(target.service);
  const dialogue = dialogues[reference.protocol];
  const tlsOptions = { servername: target.servername, ca: target.ca };
  const result: PortResult = {
    port: target.port,
    service: target.service,
    protocol: reference.protocol,
    expectedTls: reference.tls,
    address: target.address,
    family: target.family,
    status: 'open',
    statusDetail: '',
    startedAt: isoTime(),
    timings: session.timings,
    transcript: session.transcript,
  };
  const factsContext = (socket: tls.TLSSocket) => ({
    ca: target.ca,
    ocsp: stapledOcsp(socket),
    at: Date.parse(result.startedAt),
  });
  let phase: Phase = 'connect';
  const enter = (next: Phase) => {
    phase = next;
    target.onPhase?.(next);
  };
  let upgrading = false;
  // What a TLS handshake on a second connection found after complete silence (greetingOrTls).
  const silentTlsTry: { check?: CrossCheck } = {};
  try {
    enter('connect');
    if (reference.tls === 'implicit') {
      const raw = await session.connectRaw(target.address, target.port, target.connectWatch);
      enter('tls');
      const secure = await session.handshake(raw, tlsOptions);
      result.tls = readTlsFacts(secure, target.servername, factsContext(secure));
      session.note(`TLS ${result.tls.protocol} ${result.tls.cipher}`);
    } else {
      await session.connect(target.address, target.port, target.connectWatch);
    }

    enter('greeting');
    const greeting =
      reference.tls === 'starttls'
        ? await greetingOrTls(target, session, dialogue, result, silentTlsTry)
        : await dialogue.greeting(session);
    // The second connection found a TLS server where a plaintext greeting was due: the verdict is made.
    if (greeting === undefined) return result;
    result.greeting = greeting;
    if (greeting.kind === 'refused') {
      const text = greeting.lines.join(' ');
      result.status = rateLimitText.test(text) ? 'rate-limited' : 'rejected';
      result.statusDetail = `${greeting.code ?? ''} ${text}`.trim();
      return result;
    }

    enter('capabilities');
    const ehloName = target.ehloName ?? addressLiteral(session.localAddress);
    result.capabilities = await dialogue.capabilities(session, { ehloName });

    if (reference.tls === 'starttls') {
      const starttls = {
        advertised: result.capabilities.starttls,
        attempted: false,
        accepted: false,
        upgraded: false,
        bytesAfterOk: 0,
      };
      result.starttls = starttls;
      // After PREAUTH the session is authenticated and STARTTLS is no longer allowed (RFC 9051 §6.2.1).
      if (starttls.advertised && greeting.kind !== 'preauth') {
        enter('starttls');
        starttls.attempted = true;
        const reply = await dialogue.startTls(session);
        result.starttls = { ...starttls, accepted: reply.accepted, reply: reply.lines };
        if (reply.accepted) {
          enter('tls');
          upgrading = true;
          const { discarded, socket } = await session.upgrade(tlsOptions);
          upgrading = false;
          result.starttls = { ...result.starttls, upgraded: true, bytesAfterOk: discarded };
          if (discarded > 0)
            session.note(`discarded ${discarded} bytes received after the ${dialogue.startTlsCommand} OK`);
          result.tls = readTlsFacts(socket, target.servername, factsContext(socket));
          session.note(`TLS ${result.tls.protocol} ${result.tls.cipher}`);
          enter('capabilities');
          result.capabilitiesAfterTls = await dialogue.capabilities(session, { ehloName });
        }
      }
    }

    result.status = 'open';
    enter('quit');
    try {
      await dialogue.quit(session);
    } catch (error) {
      // The verdict is made; a server that lingers or mumbles at QUIT changes nothing but the transcript,
      // unless it had already refused service and hung up (POP3 -ERR then a close, RFC 1939 §3).
      const refusal = error instanceof AbortedError ? undefined : refusalBeforeClose(result.transcript);
      if (
        refusal &&
        (error instanceof ConnectionClosedError || ['ECONNRESET', 'EPIPE'].includes(errorCode(error) ?? ''))
      ) {
        result.status = rateLimitText.test(refusal) ? 'rate-limited' : 'rejected';
        result.statusDetail = `closed after "${refusal.slice(0, 120)}"`;
        result.failedPhase = 'capabilities';
      }
      session.note(`QUIT/LOGOUT: ${message(error)}`);
    }
    return result;
  } catch (error) {
    const at = phase as Phase; // assigned by enter(), which the compiler does not follow
    const received = at === 'greeting' ? session.receivedBytes : 0;
    const { status, detail } = classify(error, phase, result.transcript, received);
    result.status = status;
    result.statusDetail = detail;
    result.failedPhase = phase;
    if (status === 'stalled' && at === 'greeting') {
      // A greeting that began and did not end: a server holding it back on purpose (Postfix postscreen's greet
      // wait) or a broken one. Nothing was sent and nothing will be: its unfinished text is the evidence.
      session.recordUnfinished();
      const first = result.transcript.find((entry) => entry.dir === 'S');
      result.statusDetail = `the greeting began (${received} bytes, the first at ${Math.round(first?.at ?? 0)} ms) and had not ended when ${
        error instanceof PhaseTimeoutError && error.portDeadline
          ? 'the port deadline ran out'
          : `its deadline of ${target.limits.greetingMs} ms ran out`
      }; nothing was sent during it`;
    }
    if (error instanceof NotThisProtocol) result.detected = error.detected;
    if (error instanceof FilteredEarlyError) result.filteredEarly = error.evidence;
    if (status === 'unreachable' && phase === 'connect' && !(await hasRoute(target.address, target.port))) {
      // The local stack refused at once: this machine cannot reach that family at all. A fact about where the
      // probe ran, not about the server (clients fall back to the other family at once, RFC 8305 §5).
      result.status = 'local-error';
      result.noRouteFromHere = true;
      result.statusDetail = `this machine has no route to IPv${target.family} (${detail}); nothing was sent`;
    }
    if (status === 'silent' && silentTlsTry.check) result.crossCheck = silentTlsTry.check;
    if (status === 'silent' && error instanceof PhaseTimeoutError && !error.portDeadline) {
      const answered = await nudge(session, dialogue);
      if (answered === 'aborted') {
        // Cut short while asking what the silent server is: the evidence is incomplete, not a server fault.
        result.status = 'aborted';
        result.statusDetail = 'aborted while asking a silent server what it is';
      } else if (answered !== undefined && answered !== 'unknown' && answered !== reference.protocol) {
        result.status = 'wrong-protocol';
        result.detected = answered;
        result.statusDetail = `silent until sent ${dialogue.goodbye.replace(/^mp0 /, '')}, then answered as ${answered}`;
      }
    }
    if (upgrading && result.starttls) {
      result.status = status === 'aborted' ? status : 'starttls-failed';
      result.starttls = { ...result.starttls, error: detail };
    }
    return result;
  } finally {
    session.close();
    if (session.unsolicited.length > 0) result.unsolicited = [...session.unsolicited];
  }
}

/**
 * The greeting of a plaintext-start port, or the proof that an implicit-TLS server listens there instead. After
 * `silenceMs` of complete silence (not one byte) on a port mail clients use (587, 143, 110: not the relay port
 * 25), a TLS handshake is tried on a second connection while this one stays open: a completed handshake makes the port `wrong-tls-mode` at once (returns undefined), instead of
 * after the whole greeting deadline. A slow plaintext server is not harmed: the first connection keeps waiting
 * for its greeting, and the moment it sends a byte the second connection is closed. A greeting that has begun
 * is never interrupted: no second connection is opened once a byte has arrived.
 */
async function greetingOrTls(
  target: PortTarget,
  session: Session,
  dialogue: Dialogue,
  result: PortResult,
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
    const socket = await second.handshake(raw, { servername: target.servername, ca: target.ca });
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
    result.crossCheck = tried.check;
    result.status = 'wrong-tls-mode';
    result.failedPhase = 'greeting';
    result.statusDetail = `a TLS handshake instead of a plaintext greeting (tried on a second connection after ${silenceMs} ms of silence)`;
    return undefined;
  }
  if ('failed' in first) {
    tried.check = { tried: 'implicit-tls', outcome: 'nothing', detail: message(first.failed) };
    session.note(`the TLS handshake found nothing (${tried.check.detail}); the first connection waits on`);
  } else {
    session.note(dropped);
  }
  return reading;
}

/**
 * Whether this machine has a route to `address`: a UDP connect does the kernel's route lookup and sends
 * nothing. Tells "no route here" (ENETUNREACH from the local stack) from an ICMP unreachable on the way.
 */
function hasRoute(address: string, port: number): Promise<boolean> {
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

/**
 * A silent server may be one that waits for the client to speak first (HTTP, a proxy). Sending the
 * protocol's own goodbye (QUIT, LOGOUT) and reading one line shows what it is without doing harm.
 */
async function nudge(
  session: Session,
  dialogue: Dialogue,
): Promise<PortResult['detected'] | 'aborted' | undefined> {
  try {
    session.note('no greeting: sending the goodbye command to see what answers');
    session.send(dialogue.goodbye, { keepPending: true });
    const line = await session.readLine('greeting', session.limits.replyMs);
    return detectProtocol(line.text);
  } catch (error) {
    return error instanceof AbortedError ? 'aborted' : undefined;
  }
}

function needsCrossCheck(result: PortResult): boolean {
  // An alert from the server proves it speaks TLS (OpenSSL names only alerts it received "… alert …"; a
  // plaintext answer is "wrong version number"): a plaintext greeting cannot be there, so no second connection.
  if (result.expectedTls === 'implicit')
    return result.status === 'tls-failed' && !/\balert\b/i.test(result.statusDetail);
  // A TLS handshake already tried after the first connection's silence (greetingOrTls) is not tried again.
  if (result.crossCheck) return false;
  return result.status === 'silent' || (result.status === 'wrong-protocol' && result.detected === 'tls');
}

/**
 * A second connection, within the same port deadline, to tell a wrong TLS mode from a broken port:
 * on an implicit-TLS port whose handshake failed, read a plaintext greeting; on a plaintext port that
 * stayed silent, try a TLS handshake. Only this evidence turns a failure into `wrong-tls-mode`.
 */
async function crossCheck(
  result: PortResult,
  target: PortTarget,
  first: Session,
  dialogue: Dialogue,
): Promise<void> {
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
    if (result.expectedTls === 'implicit') {
      session.note('cross-check: the TLS handshake failed; reading a plaintext greeting on a new connection');
      await session.connect(target.address, target.port);
      // A plaintext server on a TLS port greets at once; the reply deadline is enough to see it.
      const greeting = await dialogue.greeting(session, session.limits.replyMs);
      check = { tried: 'plaintext', outcome: 'mail-greeting', detail: greeting.lines.join(' ') };
    } else {
      session.note('cross-check: no plaintext greeting; trying a TLS handshake on a new connection');
      const raw = await session.connectRaw(target.address, target.port);
      const socket = await session.handshake(raw, { servername: target.servername, ca: target.ca });
      const cipher = socket.getCipher();
      check = {
        tried: 'implicit-tls',
        outcome: 'tls-handshake',
        detail: `${socket.getProtocol() ?? 'TLS'} ${cipher.standardName ?? cipher.name}`,
      };
    }
  } catch (error) {
    aborted = error instanceof AbortedError;
    const detail =
      error instanceof NotThisProtocol
        ? `${error.message}: ${JSON.stringify(error.line.slice(0, 80))}`
        : message(error);
    check = {
      tried: result.expectedTls === 'implicit' ? 'plaintext' : 'implicit-tls',
      outcome: 'nothing',
      detail,
    };
  } finally {
    session.close();
    for (const entry of session.transcript) first.transcript.push(entry);
  }
  result.crossCheck = check;
  if (aborted) {
    // Cut short: the evidence that would tell a wrong TLS mode from a dead port is missing.
    result.status = 'aborted';
    result.statusDetail = 'aborted during the second connection that tells a wrong TLS mode from a dead port';
  } else if (check.outcome !== 'nothing') {
    result.status = 'wrong-tls-mode';
    result.statusDetail =
      check.tried === 'plaintext'
        ? `a plaintext ${result.protocol.toUpperCase()} greeting instead of a TLS handshake`
        : 'a TLS handshake instead of a plaintext greeting';
  }
}
