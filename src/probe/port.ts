/**
 * One port on one address, top to bottom: connect, [TLS], greeting, capabilities, [STARTTLS, TLS,
 * capabilities], goodbye; a second connection only for wrong-TLS-mode evidence; then the opt-in checks.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { CapError, FilteredEarlyError, type Phase, PhaseTimeoutError, UsageError } from '../errors.js';
import { invalidLimit, isChecked, type Limits } from '../limits.js';
import { monotonicMs } from '../net/clock.js';
import { Deadline } from '../net/deadline.js';
import { isEhloArgument, isHostName, isIP } from '../net/names.js';
import { type Dialogue, NotThisProtocol, upgradeWorthTrying } from '../protocols/dialogue.js';
import { imap } from '../protocols/imap.js';
import { pop3 } from '../protocols/pop3.js';
import { Session } from '../protocols/session.js';
import { addressLiteral, smtp } from '../protocols/smtp.js';
import { referenceFor } from '../reference/table.js';
import { readTlsFacts } from '../tls/facts.js';
import { stapledOcsp } from '../tls/handshake.js';
import { type Trust, trustFrom } from '../tls/trust.js';
import type { CrossCheck, PortResult, Protocol, Service } from '../types/index.js';
import { type CheckName, runChecks } from './checks.js';
import {
  afterCrossCheck,
  afterNudge,
  classify,
  dialogueCompleted,
  goodbye,
  greetingRefused,
  greetingStalled,
  noRouteFromHere,
  settle,
  tlsInsteadOfGreeting,
  unprobedResult,
  upgradeFailed,
} from './classify.js';
import { crossCheck, greetingOrTls, hasRoute, needsCrossCheck, nudge } from './evidence.js';
import type { ConnectWatch } from './fast-filtered.js';
import { type FirstStop, withRetries } from './retry.js';

export const dialogues: Readonly<Record<Protocol, Dialogue>> = { smtp, imap, pop3 };

/** Everything one port's probe needs. */
export interface PortTarget {
  address: string;
  family: 4 | 6;
  port: number;
  service: Service;
  /** SNI and the name certificates are checked against. */
  servername: string;
  /** The roots trusted (Node's and --ca's), resolved once at the top (trustFrom). */
  trust: Trust;
  /** EHLO argument; defaults to our address as an address literal. */
  ehloName?: string | undefined;
  limits: Limits;
  signal?: AbortSignal | undefined;
  /** Called when the probe enters a phase. */
  onPhase?: ((phase: Phase) => void) | undefined;
  /** Opt-in checks to run after the probe, each on a connection of its own. */
  checks?: readonly CheckName[] | undefined;
  /** Keep each certificate of the chain as PEM in the facts (ChainCertificate.pem). */
  keepCertificates?: boolean | undefined;
  /** Keep the digests TLSA records name in each chain certificate (ChainCertificate.dane): --dane. */
  daneDigests?: boolean | undefined;
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
/**
 * probePort's argument: a PortTarget whose roots may be given as --ca's PEM text (`ca`) instead of a Trust;
 * with neither, Node's own roots.
 */
export type PortProbeTarget = Omit<PortTarget, 'trust'> & {
  trust?: Trust | undefined;
  /** Extra trusted root certificates (PEM text), when no `trust` is given. */
  ca?: string | undefined;
};

export async function probePort(given: PortProbeTarget): Promise<PortResult> {
  const target: PortTarget = Object.assign({}, given, { trust: given.trust ?? trustFrom(given.ca) });
  const badLimit = isChecked(target.limits) ? undefined : invalidLimit(target.limits);
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
  const connection = (origin?: number) =>
    new Session(target.limits, target.signal, deadline, origin, target.beforeConnect, target.afterConnect);
  const session = connection();
  const stop: FirstStop = {};
  // The port's start as a number: Date.parse(startedAt) cost a fleet run 4 µs a port.
  const startedMs = session.startedMs;
  const first = await probeOnce(target, session, stop);
  const dialogue = dialogues[first.protocol];
  // A silent port's cross-check comes before any retry: a TLS server there explains the silence, and retries
  // would spend the port's deadline it needs (a TLS handshake on a new connection; docs/reference.md).
  if (first.status === 'silent') await checkTlsMode(first, target, session, dialogue);
  // A timeout may be the network's: more tries on fresh connections (retry.ts), under the port's deadline and
  // pacing. A TLS handshake already tried after the first try's silence is not tried again.
  const retryTarget = first.crossCheck
    ? { ...target, limits: { ...target.limits, silenceMs: target.limits.greetingMs } }
    : target;
  // Each later connection (a retry, a check) times its transcript from the port's start.
  const fresh = () => connection(monotonicMs() - (Date.now() - startedMs));
  const result = await withRetries(first, stop, {
    connectMs: target.limits.connectMs,
    watch: target.connectWatch,
    signal: target.signal,
    deadline,
    session: fresh,
    once: (retrySession, retryStop) => probeOnce(retryTarget, retrySession, retryStop),
  });
  // Other failures that may be a wrong TLS mode (an implicit-TLS handshake that failed) get theirs after the retries:
  // a plaintext server answers a ClientHello with its greeting at once, a lost ServerHello is what a retry is for.
  await checkTlsMode(result, target, session, dialogue);
  result.timings.total = Math.round((Date.now() - startedMs) * 10) / 10;
  if (target.checks?.length && result.status === 'open') {
    result.checks = await runChecks(result, dialogue, target, target.checks, fresh);
    result.timings.total = Math.round((Date.now() - startedMs) * 10) / 10;
  }
  capTranscript(result, target.limits);
  return result;
}

/** A failure that may be a wrong TLS mode gets its evidence from a second connection, under the same deadline. */
async function checkTlsMode(result: PortResult, target: PortTarget, session: Session, dialogue: Dialogue) {
  if (!needsCrossCheck(result)) return;
  const { check, aborted } = await crossCheck(result.expectedTls, target, session, dialogue);
  result.crossCheck = check;
  const verdict = afterCrossCheck(check, aborted, result.protocol);
  if (verdict) settle(result, verdict);
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
  if (all.length <= limits.transcriptEntries) {
    // The usual port: within both caps, nothing to copy.
    let chars = 0;
    for (const entry of all) chars += entry.text.length;
    if (chars <= limits.transcriptChars) return;
  }
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
async function probeOnce(target: PortTarget, session: Session, stop: FirstStop = {}): Promise<PortResult> {
  const startedMs = session.startedMs;
  const reference = referenceFor(target.service);
  const dialogue = dialogues[reference.protocol];
  const tlsOptions = { servername: target.servername, trust: target.trust };
  // Filled in, not spread: a property after a spread costs about 1 µs on Node 20 (CONTRIBUTING, "Hot paths").
  const result = unprobedResult(target, 'open', '', startedMs);
  result.timings = session.timings;
  result.transcript = session.transcript;
  const factsContext = (socket: tls.TLSSocket) => ({
    trust: target.trust,
    ocsp: stapledOcsp(socket),
    at: startedMs,
    keepCertificates: target.keepCertificates,
    daneDigests: target.daneDigests,
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
    // Where "from here" is: the local address this connection left from.
    if (session.localAddress) result.localAddress = session.localAddress;

    enter('greeting');
    const greeting =
      reference.tls === 'starttls'
        ? await greetingOrTls(target, session, dialogue, silentTlsTry)
        : await dialogue.greeting(session);
    // The second connection found a TLS server where a plaintext greeting was due: the verdict is made.
    if (greeting === undefined) {
      if (silentTlsTry.check) result.crossCheck = silentTlsTry.check;
      settle(result, tlsInsteadOfGreeting(target.limits.silenceMs));
      return result;
    }
    result.greeting = greeting;
    if (greeting.kind === 'refused') {
      settle(result, greetingRefused(greeting));
      return result;
    }

    enter('capabilities');
    const ehloName = target.ehloName ?? addressLiteral(session.localAddress);
    result.capabilities = await dialogue.capabilities(session, { ehloName, greeting });

    if (reference.tls === 'starttls') {
      const starttls: NonNullable<PortResult['starttls']> = {
        advertised: result.capabilities.starttls,
        attempted: false,
        accepted: false,
        upgraded: false,
        bytesAfterOk: 0,
      };
      result.starttls = starttls;
      // Offered, or unknown (CAPA or CAPABILITY refused): then sent to probe for it, in that phase (dialogue.ts).
      if (upgradeWorthTrying(reference.protocol, result.capabilities, greeting)) {
        enter(starttls.advertised ? 'starttls' : 'capabilities');
        starttls.attempted = true;
        const reply = await dialogue.startTls(session);
        // Written in place (the same keys, in the same order, as a copy would have).
        starttls.accepted = reply.accepted;
        starttls.reply = reply.lines;
        if (reply.accepted) {
          enter('tls');
          upgrading = true;
          const { discarded, socket } = await session.upgrade(tlsOptions);
          upgrading = false;
          starttls.upgraded = true;
          starttls.bytesAfterOk = discarded;
          if (discarded > 0)
            session.note(`discarded ${discarded} bytes received after the ${dialogue.startTlsCommand} OK`);
          result.tls = readTlsFacts(socket, target.servername, factsContext(socket));
          session.note(`TLS ${result.tls.protocol} ${result.tls.cipher}`);
          enter('capabilities');
          result.capabilitiesAfterTls = await dialogue.capabilities(session, { ehloName });
        }
      }
    }

    settle(result, dialogueCompleted());
    enter('quit');
    await goodbye(session, result, () => dialogue.quit(session));
    return result;
  } catch (error) {
    const at = phase as Phase; // assigned by enter(), which the compiler does not follow
    const received = at === 'greeting' ? session.receivedBytes : 0;
    const stopped = classify(error, at, result.transcript, received);
    stop.timedOut = error instanceof PhaseTimeoutError && !error.portDeadline;
    settle(result, { ...stopped, failedPhase: at });
    if (stopped.status === 'stalled' && at === 'greeting') {
      // Nothing was sent during a greeting that began and did not end, and nothing will be: its text is evidence.
      session.recordUnfinished();
      const portDeadline = error instanceof PhaseTimeoutError && error.portDeadline;
      const firstAt = session.firstByteAt ?? result.transcript.find((entry) => entry.dir === 'S')?.at; // not the deadline
      settle(
        result,
        greetingStalled({ received, firstAt, portDeadline, greetingMs: target.limits.greetingMs }),
      );
    }
    if (error instanceof NotThisProtocol) result.detected = error.detected;
    if (error instanceof FilteredEarlyError) result.filteredEarly = error.evidence;
    if (error instanceof CapError) result.capReached = error.cap;
    // Unreachable at once may be this machine having no route to that family at all.
    if (
      stopped.status === 'unreachable' &&
      at === 'connect' &&
      !(await hasRoute(target.address, target.port))
    ) {
      result.noRouteFromHere = true;
      settle(result, noRouteFromHere(target.family, stopped.detail));
    }
    if (stopped.status === 'silent' && silentTlsTry.check) result.crossCheck = silentTlsTry.check;
    if (stopped.status === 'silent' && error instanceof PhaseTimeoutError && !error.portDeadline) {
      // A server that waits for the client to speak first: what it answers to the goodbye says what it is.
      const answer = await nudge(session, dialogue);
      const verdict = afterNudge(answer, reference.protocol, dialogue.goodbye, target.limits.greetingMs);
      if (verdict) settle(result, verdict);
      if (verdict?.status === 'wrong-protocol' && answer && answer !== 'aborted')
        result.detected = answer.detected;
      // The protocol's own greeting, late: slow (stalled) or refusing service (rejected, rate-limited).
      if (verdict && answer && answer !== 'aborted' && answer.detected === reference.protocol)
        result.lateGreeting = {
          line: answer.line,
          at: answer.at,
          afterGoodbyeMs: Math.round((answer.at - answer.goodbyeAt) * 10) / 10,
        };
    }
    if (upgrading && result.starttls) {
      settle(result, upgradeFailed(stopped));
      result.starttls = { ...result.starttls, error: stopped.detail };
    }
    return result;
  } finally {
    session.close();
    if (session.unsolicited.length > 0) result.unsolicited = [...session.unsolicited];
  }
}
