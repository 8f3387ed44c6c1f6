/**
 * Opt-in checks (`--check`), each on a connection of its own, each ended with QUIT / LOGOUT. They send no
 * mail and no credential; the exact bytes are listed in the README.
 */
import type tls from 'node:tls';
import type { CheckName } from './check-names.js';
import { PhaseTimeoutError } from './errors.js';
import type { Dialogue } from './protocols/dialogue.js';
import { addressLiteral, readSmtpReply } from './protocols/smtp.js';
import type { Session } from './session.js';
import type { PortResult } from './types.js';

export { type CheckName, checkNames } from './check-names.js';

/** STARTTLS command injection (CVE-2011-0411 class). */
export interface InjectionFacts {
  /** vulnerable: the pipelined command was answered inside TLS, unprompted; safe: it was not. */
  verdict: 'vulnerable' | 'safe' | 'not-tested';
  detail: string;
  /** The unprompted reply, when there was one. */
  reply?: string;
}

/** Does the server refuse to start authentication before TLS? */
export interface AuthRequiredFacts {
  /** enforced: refused before TLS; allowed: it went ahead in cleartext (then was cancelled). */
  verdict: 'enforced' | 'allowed' | 'not-tested';
  /** The server's reply to the authentication command. */
  reply: string;
}

/** Which TLS versions the port accepts, one handshake each. */
export interface TlsVersionFacts {
  accepted: string[];
  refused: string[];
}

export interface CheckResults {
  injection?: InjectionFacts;
  authRequired?: AuthRequiredFacts;
  tlsVersions?: TlsVersionFacts;
}

export interface CheckTarget {
  address: string;
  port: number;
  servername: string;
  ca?: string | undefined;
  ehloName?: string | undefined;
  signal?: AbortSignal | undefined;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Opens a plaintext session and reads the greeting and capabilities, as the main probe does. */
async function opened(dialogue: Dialogue, target: CheckTarget, session: Session) {
  await session.connect(target.address, target.port);
  const greeting = await dialogue.greeting(session);
  if (greeting.kind !== 'ok') throw new Error(`greeting ${greeting.kind}`);
  return dialogue.capabilities(session, {
    ehloName: target.ehloName ?? addressLiteral(session.localAddress),
  });
}

async function quietly(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch {
    // the check's verdict is made; a lingering server changes nothing
  }
}

/** The pipelined pair per protocol: the upgrade command and a harmless command injected after it. */
const injected: Record<PortResult['protocol'], [string, string]> = {
  smtp: ['STARTTLS', 'NOOP'],
  imap: ['mpi1 STARTTLS', 'mpi2 NOOP'],
  pop3: ['STLS', 'CAPA'],
};

/** Reads the reply to the pipelined STARTTLS / STLS (for IMAP, up to its tagged line). */
async function startTlsReply(
  protocol: PortResult['protocol'],
  session: Session,
): Promise<{ accepted: boolean; text: string }> {
  const ms = session.limits.replyMs;
  if (protocol === 'smtp') {
    const reply = await readSmtpReply(session, 'starttls', ms);
    return { accepted: reply.code === 220, text: `${reply.code} ${reply.lines.join(' ')}` };
  }
  for (let lines = 0; lines < session.limits.replyLines; lines++) {
    const line = await session.readLine('starttls', ms);
    if (protocol === 'pop3') return { accepted: /^\+OK\b/i.test(line.text), text: line.text };
    if (line.text.startsWith('mpi1 ')) return { accepted: /^mpi1 OK\b/i.test(line.text), text: line.text };
  }
  throw new Error('no tagged reply to STARTTLS');
}

/**
 * Sends STARTTLS and a second command in one write. A server that buffers the second command across the
 * TLS upgrade then answers it inside TLS without being asked: the CVE-2011-0411 class of bugs, which lets a
 * man in the middle inject commands into the protected session.
 */
async function injection(
  result: PortResult,
  dialogue: Dialogue,
  target: CheckTarget,
  session: Session,
): Promise<InjectionFacts> {
  await opened(dialogue, target, session);
  session.sendPipelined(injected[result.protocol]);
  const reply = await startTlsReply(result.protocol, session);
  if (!reply.accepted)
    return { verdict: 'safe', detail: `the pipelined STARTTLS was refused: ${reply.text}` };
  try {
    await session.upgrade({ servername: target.servername, ca: target.ca });
  } catch (error) {
    return {
      verdict: 'safe',
      detail: `the handshake failed (the server read the injected bytes as TLS): ${message(error)}`,
    };
  }
  try {
    const line = await session.readLine('check', Math.min(session.limits.replyMs, 2000));
    return {
      verdict: 'vulnerable',
      detail: 'the injected command was answered inside TLS, unprompted',
      reply: line.text,
    };
  } catch (error) {
    if (error instanceof PhaseTimeoutError)
      return { verdict: 'safe', detail: 'nothing arrived inside TLS unprompted' };
    throw error;
  } finally {
    await quietly(() => dialogue.quit(session));
  }
}

/** Starts an authentication exchange before TLS and cancels it at once; never sends a credential. */
async function authRequired(
  result: PortResult,
  dialogue: Dialogue,
  target: CheckTarget,
  session: Session,
): Promise<AuthRequiredFacts> {
  await opened(dialogue, target, session);
  const phase = 'check';
  const ms = session.limits.replyMs;
  try {
    if (result.protocol === 'smtp') {
      session.send('AUTH LOGIN');
      const reply = await readSmtpReply(session, 'capabilities', ms);
      const text = `${reply.code} ${reply.lines.join(' ')}`;
      if (reply.code !== 334) return { verdict: 'enforced', reply: text };
      session.send('*'); // cancels the exchange (RFC 4954 §4)
      await readSmtpReply(session, 'capabilities', ms);
      return { verdict: 'allowed', reply: text };
    }
    const tagged = result.protocol === 'imap';
    session.send(tagged ? 'mpa1 AUTHENTICATE PLAIN' : 'AUTH PLAIN');
    const first = await session.readLine(phase, ms);
    if (!first.text.startsWith('+')) return { verdict: 'enforced', reply: first.text };
    session.send('*'); // cancels the exchange (RFC 9051 §6.2.2, RFC 5034 §4)
    await session.readLine(phase, ms);
    return { verdict: 'allowed', reply: first.text };
  } finally {
    await quietly(() => dialogue.quit(session));
  }
}

const versions: tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** One handshake per TLS version, each offering only that version. */
async function tlsVersions(
  result: PortResult,
  dialogue: Dialogue,
  target: CheckTarget,
  fresh: () => Session,
): Promise<TlsVersionFacts> {
  const facts: TlsVersionFacts = { accepted: [], refused: [] };
  for (const version of versions) {
    const session = fresh();
    try {
      let socket: tls.TLSSocket;
      const options = { servername: target.servername, ca: target.ca, version };
      if (result.expectedTls === 'implicit') {
        socket = await session.handshake(await session.connectRaw(target.address, target.port), options);
      } else {
        await opened(dialogue, target, session);
        const reply = await dialogue.startTls(session);
        if (!reply.accepted) throw new Error('STARTTLS refused');
        socket = (await session.upgrade(options)).socket;
      }
      const negotiated = socket.getProtocol() ?? 'unknown';
      (negotiated === version ? facts.accepted : facts.refused).push(version);
      await quietly(() => dialogue.quit(session));
    } catch {
      facts.refused.push(version);
    } finally {
      session.close();
    }
  }
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
  if (checks.includes('injection') && plainStart && result.starttls?.advertised) {
    out.injection = await once(
      (session) => injection(result, dialogue, target, session),
      (error) => ({ verdict: 'not-tested', detail: message(error) }),
    );
  }
  if (checks.includes('auth-required') && plainStart && result.service !== 'smtp') {
    out.authRequired = await once(
      (session) => authRequired(result, dialogue, target, session),
      (error) => ({ verdict: 'not-tested', reply: message(error) }),
    );
  }
  const tlsReachable = result.expectedTls === 'implicit' || result.starttls?.upgraded === true;
  if (checks.includes('tls-versions') && tlsReachable) {
    out.tlsVersions = await tlsVersions(result, dialogue, target, newSession);
  }
  return out;
}
