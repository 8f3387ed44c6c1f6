/**
 * Opt-in checks (`--check`), each on a connection of its own, each ended with QUIT / LOGOUT. They send no
 * mail and no credential; the exact bytes are listed in the README.
 */
import type tls from 'node:tls';
import { PhaseTimeoutError } from '../errors.js';
import { monotonicMs } from '../net/clock.js';
import { type Dialogue, saslName } from '../protocols/dialogue.js';
import { type LoginWayOffered, loginWaysOffered } from '../protocols/logins.js';
import type { Session } from '../protocols/session.js';
import { addressLiteral } from '../protocols/smtp.js';
import type { TlsOptions } from '../tls/handshake.js';
import type {
  AuthRequiredFacts,
  AuthWayFacts,
  CheckResults,
  InjectionFacts,
  PortResult,
  TlsVersionFacts,
} from '../types/index.js';
import type { CheckName } from './check-names.js';
import { tlsRequired } from './tls-required.js';

export type {
  AuthRequiredFacts,
  AuthWayFacts,
  CheckResults,
  InjectionFacts,
  TlsVersionFacts,
} from '../types/index.js';
export { type CheckName, checkNames } from './check-names.js';

/** Where a check connects, and the TLS options (the name, the roots) of its handshakes. */
export interface CheckTarget extends Pick<TlsOptions, 'servername' | 'trust'> {
  address: string;
  port: number;
  ehloName?: string | undefined;
  signal?: AbortSignal | undefined;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Opens a plaintext session and reads the greeting and capabilities, as the main probe does. */
async function opened(dialogue: Dialogue, target: CheckTarget, session: Session) {
  return (await openedWithGreeting(dialogue, target, session)).caps;
}

async function openedWithGreeting(dialogue: Dialogue, target: CheckTarget, session: Session) {
  await session.connect(target.address, target.port);
  const greeting = await dialogue.greeting(session);
  if (greeting.kind !== 'ok') throw new Error(`greeting ${greeting.kind}`);
  const caps = await dialogue.capabilities(session, {
    ehloName: target.ehloName ?? addressLiteral(session.localAddress),
  });
  return { greeting, caps };
}

async function quietly(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch {
    // the check's verdict is made; a lingering server changes nothing
  }
}

/**
 * Sends STARTTLS and a second command in one write. A server that buffers the second command across the
 * TLS upgrade then answers it inside TLS without being asked: the CVE-2011-0411 class of bugs, which lets a
 * man in the middle inject commands into the protected session.
 */
async function injection(dialogue: Dialogue, target: CheckTarget, session: Session): Promise<InjectionFacts> {
  await opened(dialogue, target, session);
  session.sendPipelined([...dialogue.checks.injection]);
  const reply = await dialogue.checks.injectedUpgradeReply(session);
  if (!reply.accepted)
    return { verdict: 'safe', detail: `the pipelined STARTTLS was refused: ${reply.text}` };
  try {
    await session.upgrade({ servername: target.servername, trust: target.trust });
  } catch (error) {
    return {
      verdict: 'safe',
      detail: `the handshake failed (the server read the injected bytes as TLS): ${message(error)}`,
    };
  }
  // Read what arrives inside TLS, unprompted, for up to 2 s. Only a reply that proves the injected command
  // ran makes the server vulnerable; other text is kept as evidence but proves nothing.
  const seen: string[] = [];
  const until = monotonicMs() + Math.min(session.limits.replyMs, 2000);
  try {
    while (seen.length < 5) {
      const left = until - monotonicMs();
      if (left <= 0) break;
      const line = await session.readLine('check', left);
      seen.push(line.text);
      if (dialogue.checks.provesInjected(line.text))
        return {
          verdict: 'vulnerable',
          detail: 'the injected command was answered inside TLS, unprompted',
          reply: line.text,
        };
    }
  } catch (error) {
    if (!(error instanceof PhaseTimeoutError) || error.portDeadline) throw error;
  } finally {
    await quietly(() => dialogue.quit(session));
  }
  if (seen.length === 0) return { verdict: 'safe', detail: 'nothing arrived inside TLS unprompted' };
  return {
    verdict: 'not-tested',
    detail: `text arrived inside TLS unprompted, but no reply that proves the injected command ran: ${seen.join(' | ').slice(0, 200)}`,
    reply: seen.join(' | ').slice(0, 200),
  };
}

/** At most this many ways are tried on one connection; the rest are `not-tried`. */
export const maxLoginTries = 8;

/** Why a way to log in is never tried: it cannot be tried without sending a credential, or carries none. */
function neverTried(way: LoginWayOffered): string | undefined {
  if (way.kind === 'none') return 'it carries no credential';
  if (way.name === 'LOGIN command' && !way.sasl) return 'it carries the password in its arguments';
  if (way.name === 'APOP' && !way.sasl) return 'it carries a digest of the password';
  if (way.sasl && !saslName.test(way.name)) return 'not a SASL mechanism name';
  return undefined;
}

/** "PLAIN refused before TLS; CRAM-MD5, APOP not tried": the verdict per way, in a few words. */
function summary(ways: AuthWayFacts[], serverWide: string | undefined): string {
  const named = (outcome: AuthWayFacts['outcome']) =>
    ways
      .filter((way) => way.outcome === outcome)
      .map((way) => (way.listed === false ? `${way.way} (not listed)` : way.way));
  const unclear = (answered: boolean) =>
    ways
      .filter((way) => way.outcome === 'unclear' && (way.reply !== undefined) === answered)
      .map((way) => way.way);
  const parts = [
    serverWide ? `refused for the whole server before TLS (${serverWide})` : '',
    named('allowed').join(', ')
      ? `${named('allowed').join(', ')} went ahead before TLS (cancelled, no credential sent)`
      : '',
    !serverWide && named('refused').length > 0 ? `${named('refused').join(', ')} refused before TLS` : '',
    unclear(true).length > 0
      ? `${unclear(true).join(', ')} refused in words that do not say TLS is needed`
      : '',
    unclear(false).length > 0 ? `${unclear(false).join(', ')} proved nothing (no whole reply)` : '',
    !serverWide && named('not-tried').length > 0 ? `${named('not-tried').join(', ')} not tried` : '',
  ];
  return parts.filter(Boolean).join('; ');
}

/**
 * Tries each way to log in the server lists before TLS, on one connection, never with a credential (each
 * protocol's tryLogin says what it sends), and judges the whole: allowed when any way went ahead; enforced when
 * a refusal holds for the whole server or every listed way was refused; partial when some were refused and others
 * were not tried or proved nothing; not-tested when nothing was refused in words that prove it.
 */
async function authRequired(
  dialogue: Dialogue,
  target: CheckTarget,
  session: Session,
): Promise<AuthRequiredFacts> {
  const { greeting, caps } = await openedWithGreeting(dialogue, target, session);
  // Password ways first: they matter most, and a server-wide refusal shows on the first try.
  const rank = (way: LoginWayOffered) => (way.kind === 'password' ? 0 : 1);
  const offered = loginWaysOffered(dialogue.protocol, caps, greeting)
    .filter((way) => way.kind !== 'none')
    .sort((a, b) => rank(a) - rank(b));
  const ways: AuthWayFacts[] = offered.map((way) => ({
    way: way.name,
    sasl: way.sasl,
    outcome: 'not-tried',
  }));
  // Nothing listed that can be tried without a credential (nothing at all, or only IMAP LOGIN / APOP): the one
  // mechanism the check always tried, unlisted, to see whether the server starts an exchange or how it refuses.
  // Courier's IMAP lists LOGIN and no AUTH= before TLS, yet answers AUTHENTICATE PLAIN with a continuation.
  const unlisted = dialogue.checks.unlistedMechanism;
  const plan: LoginWayOffered[] = [...offered];
  if (offered.every((way) => neverTried(way) !== undefined)) {
    plan.push({ name: unlisted, sasl: true, kind: 'password', known: true, label: unlisted });
    ways.push({ way: unlisted, sasl: true, listed: false, outcome: 'not-tried' });
  }
  let serverWide: string | undefined;
  let tries = 0;
  try {
    for (const [index, way] of plan.entries()) {
      const entry = ways[index] as AuthWayFacts;
      const never = neverTried(way);
      if (never) {
        entry.why = never;
        continue;
      }
      if (tries >= maxLoginTries) {
        entry.why = `at most ${maxLoginTries} ways are tried on one connection`;
        continue;
      }
      tries++;
      try {
        const attempt = await dialogue.checks.tryLogin(session, way, tries, caps);
        entry.outcome = attempt.outcome;
        entry.reply = attempt.reply;
        if (attempt.outcome === 'unclear') entry.why = 'the refusal does not say TLS is needed';
        if (attempt.cancelUnanswered) {
          // Proved allowed, but the connection waits on the cancel: the rest cannot be tried on it.
          for (const rest of ways.slice(index + 1))
            if (!rest.why) rest.why = 'the server did not answer the cancelled exchange in time';
          break;
        }
        if (attempt.serverWide) {
          serverWide = attempt.reply;
          for (const rest of ways.slice(index + 1)) rest.why = 'the refusal holds for the whole server';
          break;
        }
      } catch (error) {
        // The connection ended or stalled: this way proves nothing, the rest are not tried.
        entry.outcome = 'unclear';
        entry.why = message(error).slice(0, 160);
        for (const rest of ways.slice(index + 1))
          if (!rest.why) rest.why = "the check's connection ended before it";
        break;
      }
    }
  } finally {
    await quietly(() => dialogue.quit(session));
  }
  const allowed = ways.find((way) => way.outcome === 'allowed');
  const refused = ways.filter((way) => way.outcome === 'refused');
  const firstReply = ways.find((way) => way.reply !== undefined)?.reply;
  const listedAllRefused = caps.ok && ways.every((way) => way.outcome === 'refused');
  const verdict: AuthRequiredFacts['verdict'] = allowed
    ? 'allowed'
    : serverWide !== undefined || (refused.length > 0 && listedAllRefused)
      ? 'enforced'
      : refused.length > 0
        ? 'partial'
        : 'not-tested';
  return {
    verdict,
    reply: allowed?.reply ?? serverWide ?? firstReply ?? ways.find((way) => way.why)?.why ?? '',
    detail:
      summary(ways, serverWide) +
      (caps.ok ? '' : '; the capability list could not be read, so other ways are unknown'),
    ...(serverWide !== undefined ? { serverWide: true as const } : {}),
    ways,
  };
}

const versions: tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Handshake failures that mean "this version is not accepted": OpenSSL's alerts, or a hang-up on the hello. */
const versionRefusal =
  /disconnected before secure TLS|ECONNRESET|socket hang up|wrong[_ ]version|unsupported[_ ]protocol|protocol[_ ]version|no[_ ]protocols[_ ]available|handshake[_ ]failure|version[_ ]too[_ ]low|version[_ ]too[_ ]high|inappropriate[_ ]fallback|no[_ ]suitable|sslv3[_ ]alert|tlsv1[_ ]alert/i;

/**
 * One handshake per TLS version, each offering only that version. A version is refused only when the
 * server's handshake says so; a timeout, a closed connection or a refused STARTTLS leaves it untested. The
 * version the main probe negotiated is accepted, whatever a later handshake shows.
 */
async function tlsVersions(
  result: PortResult,
  dialogue: Dialogue,
  target: CheckTarget,
  fresh: () => Session,
): Promise<TlsVersionFacts> {
  const facts: TlsVersionFacts = { accepted: [], refused: [] };
  const untested: { version: string; reason: string }[] = [];
  for (const version of versions) {
    if (result.tls?.protocol === version) {
      facts.accepted.push(version);
      continue;
    }
    const session = fresh();
    let phase = 'connect';
    try {
      let socket: tls.TLSSocket;
      const options = { servername: target.servername, trust: target.trust, version };
      if (result.expectedTls === 'implicit') {
        const raw = await session.connectRaw(target.address, target.port);
        phase = 'tls';
        socket = await session.handshake(raw, options);
      } else {
        await opened(dialogue, target, session);
        const reply = await dialogue.startTls(session);
        if (!reply.accepted) throw new Error(`STARTTLS refused: ${reply.lines.join(' ')}`);
        phase = 'tls';
        socket = (await session.upgrade(options)).socket;
      }
      const negotiated = socket.getProtocol() ?? 'unknown';
      (negotiated === version ? facts.accepted : facts.refused).push(version);
      await quietly(() => dialogue.quit(session));
    } catch (error) {
      const text = message(error);
      // Refused: an alert, or a hang-up in answer to the ClientHello (Dovecot closes without an alert). Not a
      // timeout: silence proves nothing.
      if (phase === 'tls' && !(error instanceof PhaseTimeoutError) && versionRefusal.test(text))
        facts.refused.push(version);
      else untested.push({ version, reason: text.slice(0, 160) });
    } finally {
      session.close();
    }
  }
  if (untested.length > 0) facts.untested = untested;
  return facts;
}

/** Runs the asked checks that apply to this port, after its main probe found it open. */
export async function runChecks(
  result: PortResult,
  dialogue: Dialogue,
  target: CheckTarget,
  checks: readonly CheckName[],
  newSession: () => Session,
): Promise<CheckResults> {
  const out: CheckResults = {};
  const plainStart = result.expectedTls === 'starttls';
  const once = async <T>(
    work: (session: Session) => Promise<T>,
    fallback: (error: unknown) => T,
  ): Promise<T> => {
    const session = newSession();
    try {
      return await work(session);
    } catch (error) {
      return fallback(error);
    } finally {
      session.close();
      result.transcript.push(...session.transcript);
    }
  };
  // Where the upgrade was tried and worked, advertised or not (sent after CAPA/CAPABILITY was refused, dialogue.ts).
  if (checks.includes('injection') && plainStart && result.starttls?.upgraded === true) {
    out.injection = await once(
      (session) => injection(dialogue, target, session),
      (error) => ({ verdict: 'not-tested', detail: message(error) }),
    );
  }
  if (checks.includes('auth-required') && plainStart && result.service !== 'smtp') {
    out.authRequired = await once(
      (session) => authRequired(dialogue, target, session),
      (error) => ({
        verdict: 'not-tested',
        reply: message(error),
        detail: `the check ended: ${message(error)}`,
      }),
    );
  }
  if (checks.includes('tls-required') && plainStart && result.protocol === 'smtp')
    out.tlsRequired = await once(
      (session) => tlsRequired(target, session),
      (error) => ({ verdict: 'not-tested', detail: `the check ended: ${message(error)}` }),
    );
  const tlsReachable = result.expectedTls === 'implicit' || result.starttls?.upgraded === true;
  if (checks.includes('tls-versions') && tlsReachable) {
    out.tlsVersions = await tlsVersions(result, dialogue, target, newSession);
  }
  return out;
}
