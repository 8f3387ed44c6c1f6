/**
 * The round trip (--round-trip): after the login check, submit one small message on a submission port where
 * the login works, then watch the mailbox over IMAP for it by its unique token, and delete it unless --keep.
 * Each step that fails is named (submit, search, delete); every text kept is scrubbed of the secret.
 */
import { defaultLimits, type Limits } from '../limits.js';
import { monotonicMs } from '../net/clock.js';
import { OwnConnection, type verifiedSession } from '../probe/login.js';
import { logIn, loginWays } from '../protocols/login.js';
import {
  imapCommand,
  imapDelete,
  imapFind,
  pop3Command,
  pop3Find,
  submitMessage,
  testMessage,
} from '../protocols/mailbox.js';
import { type Credential, type Scrub, scrubber } from '../protocols/secret.js';
import type { Trust } from '../tls/trust.js';
import type { HostResult, PortResult, RoundTripFacts } from '../types/index.js';

export interface RoundTripOptions {
  credential: Credential;
  /** Default: the login if it is an address, else login@servername. */
  recipient?: string | undefined;
  /** Seconds to watch the mailbox (default 60). */
  waitS?: number;
  /** Leave the message in the mailbox. */
  keep?: boolean;
  /** The roots trusted (--ca's with the bundled ones), resolved once by the caller. */
  trust: Trust;
  limits?: Partial<Limits> | undefined;
  ehloName?: string | undefined;
  signal?: AbortSignal | undefined;
  /** How often the mailbox is searched (ms, default 1000). */
  pollMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

const worksOn = (ports: PortResult[], match: (p: PortResult) => boolean) =>
  ports.filter((p) => match(p) && p.login?.outcome === 'works').sort((a, b) => a.port - b.port)[0];

/** A connection of the round trip's own, logged in on its port over verified TLS, or why not. */
async function loggedIn(connection: OwnConnection, options: RoundTripOptions) {
  const { session, port } = connection;
  const verified = await connection.verify();
  if ('why' in verified) return { connection, session, why: verified.why };
  const way = loginWays(port.protocol, verified.caps, options.credential.kind)[0];
  if (!way) return { connection, session, why: 'no login mechanism offered' };
  const answer = await logIn(port.protocol, session, way, options.credential, verified.caps);
  if (answer.outcome !== 'works')
    return {
      connection,
      session,
      why: `login ${answer.outcome}: ${connection.scrub(answer.reply, answer.lines)}`,
    };
  return { connection, session, caps: verified.caps };
}

/** Where the round trip runs: the target, and its connections, each ended (closed, its transcript kept) at the end. */
interface Trip {
  target: Parameters<typeof verifiedSession>[1];
  connections: OwnConnection[];
  scrub: Scrub;
}

/** A connection of the round trip's own to `port`, ended with the round trip however it ends. */
function connect(trip: Trip, port: PortResult, target = trip.target): OwnConnection {
  const connection = new OwnConnection(port, target, trip.scrub, 'round trip');
  trip.connections.push(connection);
  return connection;
}

/**
 * Runs the round trip on a probed host whose ports carry login results; never throws for what a server does.
 * Each connection is closed at the end, however the round trip ends, and its transcript kept in its port's; bytes
 * a server sent after its STARTTLS OK on one are kept in `bytesAfterOk`, as the login check keeps its own.
 */
export async function runRoundTrip(host: HostResult, options: RoundTripOptions): Promise<RoundTripFacts> {
  const trip: Trip = {
    target: {
      servername: host.servername,
      trust: options.trust,
      limits: { ...defaultLimits, ...options.limits },
      ehloName: options.ehloName,
      signal: options.signal,
    },
    connections: [],
    scrub: scrubber(options.credential),
  };
  let facts: RoundTripFacts;
  try {
    facts = await submitAndSearch(host, options, trip);
  } finally {
    for (const connection of trip.connections) connection.end();
  }
  const injected = trip.connections
    .filter(({ session }) => session.bytesAfterOk > 0)
    .map(({ port, session }) => ({ port: port.port, address: port.address, bytes: session.bytesAfterOk }));
  return injected.length > 0 ? { ...facts, bytesAfterOk: injected } : facts;
}

async function submitAndSearch(
  host: HostResult,
  options: RoundTripOptions,
  trip: Trip,
): Promise<RoundTripFacts> {
  const { scrub, target } = trip;
  const user = options.credential.user;
  const recipient = options.recipient ?? (user.includes('@') ? user : `${user}@${host.servername}`);
  const from = user.includes('@') ? user : recipient;
  // node:crypto on use: loading it costs about 1.5 ms of every probe's start-up (CONTRIBUTING, "Start-up").
  const token = `mailprobe-${process.getBuiltinModule('node:crypto').randomBytes(9).toString('hex')}`;
  const waitS = options.waitS ?? 60;
  const facts: RoundTripFacts = { token, recipient, accepted: false, waitedS: 0, deleted: false };
  const submit = worksOn(host.ports, (p) => p.service === 'submission' || p.service === 'submissions');
  if (!submit)
    return { ...facts, failedStep: 'submit', why: 'no submission port (587, 465) where the login works' };
  // IMAP first (one connection watches the mailbox); POP3 when no IMAP login works.
  const mailbox =
    worksOn(host.ports, (p) => p.protocol === 'imap') ?? worksOn(host.ports, (p) => p.protocol === 'pop3');
  if (!mailbox)
    return {
      ...facts,
      failedStep: 'search',
      why: 'no IMAP (993, 143) or POP3 (995, 110) port where the login works',
    };
  facts.submittedOn = submit.port;
  facts.searchedOn = mailbox.port;
  const fail = (step: 'submit' | 'search' | 'delete', why: string): RoundTripFacts => ({
    ...facts,
    failedStep: step,
    why: scrub(why),
  });
  try {
    // Submit.
    const sending = await loggedIn(connect(trip, submit), options);
    if ('why' in sending) return fail('submit', `logging in on ${submit.port}: ${sending.why}`);
    const lines = testMessage(from, recipient, token, new Date());
    const submitted = await submitMessage(sending.session, from, recipient, lines);
    // Scrubbed as joined from its lines, as the transcript's lines are; `fail` scrubs the whole again.
    facts.acceptReply = scrub(submitted.reply, submitted.lines);
    if (!submitted.accepted) return fail('submit', `${submitted.step} refused: ${facts.acceptReply}`);
    const acceptedAt = monotonicMs();
    facts.accepted = true;
    // The queue id is the server's word too: an echo of the secret there is scrubbed like the reply.
    if (submitted.queueId) facts.queueId = scrub(submitted.queueId);
    sending.session.send('QUIT');
    if (mailbox.protocol === 'pop3')
      return await searchPop3(mailbox, options, trip, facts, acceptedAt, waitS);
    // Search.
    // The mailbox is watched for up to waitS on one connection: its deadline is the port's plus the wait.
    const watching = { ...target, limits: { ...target.limits, portMs: target.limits.portMs + waitS * 1000 } };
    const reading = await loggedIn(connect(trip, mailbox, watching), options);
    if ('why' in reading) return fail('search', `logging in on ${mailbox.port}: ${reading.why}`);
    const select = await imapCommand(reading.session, 'SELECT INBOX');
    if (!select.ok) return fail('search', `SELECT INBOX refused: ${select.tagged}`);
    let found: number[] = [];
    for (;;) {
      found = await imapFind(reading.session, token);
      const waited = (monotonicMs() - acceptedAt) / 1000;
      if (found.length > 0) {
        facts.arrivedAfterS = Math.round(waited * 10) / 10;
        break;
      }
      if (waited >= waitS || options.signal?.aborted) break;
      await sleep(Math.min(options.pollMs ?? 1000, Math.max(1, (waitS - waited) * 1000)), options.signal);
    }
    facts.waitedS = Math.round(((monotonicMs() - acceptedAt) / 1000) * 10) / 10;
    if (found.length === 0 || options.keep) return facts;
    // Delete.
    const uidPlus = reading.caps.list.some((atom) => atom.toUpperCase() === 'UIDPLUS');
    facts.deleted = await imapDelete(reading.session, found, uidPlus);
    if (!facts.deleted) return fail('delete', 'the server refused to delete the test message');
    await imapCommand(reading.session, 'LOGOUT').catch(() => undefined);
    return facts;
  } catch (error) {
    const step: 'submit' | 'search' | 'delete' = facts.accepted
      ? facts.arrivedAfterS === undefined
        ? 'search'
        : 'delete'
      : 'submit';
    return fail(step, error instanceof Error ? error.message : String(error));
  }
}

/**
 * POP3: one login watches the maildrop, LIST and TOP asked again on that session every 5 s (pollMs × 5) until the
 * message is there or the wait is over; found, it is deleted (DELE, then QUIT). A session may show the maildrop
 * only as it was at its login (RFC 1939 §8: Dovecot's does), so a message that came later is not seen on it: when
 * the wait ends with no sign of it, one more login takes a last look. Two POP3 logins at most, whatever the wait,
 * never a login per look (a server that limits logins would lock the account out).
 */
async function searchPop3(
  mailbox: PortResult,
  options: RoundTripOptions,
  trip: Trip,
  facts: RoundTripFacts,
  acceptedAt: number,
  waitS: number,
): Promise<RoundTripFacts> {
  const { scrub, target } = trip;
  const seconds = () => Math.round(((monotonicMs() - acceptedAt) / 1000) * 10) / 10;
  // The watching session's deadline is the port's plus the wait, as IMAP's is.
  const watching = { ...target, limits: { ...target.limits, portMs: target.limits.portMs + waitS * 1000 } };
  let reading = await loggedIn(connect(trip, mailbox, watching), options);
  let lastLook = false;
  for (;;) {
    if ('why' in reading)
      return {
        ...facts,
        waitedS: seconds(),
        failedStep: 'search',
        why: scrub(`logging in on ${mailbox.port}${lastLook ? ' for a last look' : ''}: ${reading.why}`),
      };
    const found = await pop3Find(reading.session, facts.token);
    const waited = (monotonicMs() - acceptedAt) / 1000;
    if (found.length > 0) {
      facts.arrivedAfterS = seconds();
      facts.waitedS = facts.arrivedAfterS;
      if (options.keep) return facts;
      let deleted = true;
      for (const n of found) deleted = (await pop3Command(reading.session, `DELE ${n}`)).ok && deleted;
      // Deletions take effect only at QUIT (the UPDATE state, RFC 1939 §6).
      deleted = (await pop3Command(reading.session, 'QUIT')).ok && deleted;
      facts.deleted = deleted;
      return deleted
        ? facts
        : { ...facts, failedStep: 'delete', why: 'the server refused to delete the test message' };
    }
    if (lastLook || options.signal?.aborted) {
      await pop3Command(reading.session, 'QUIT').catch(() => undefined);
      facts.waitedS = seconds();
      return facts;
    }
    if (waited >= waitS) {
      await pop3Command(reading.session, 'QUIT').catch(() => undefined);
      reading.connection.end();
      reading = await loggedIn(connect(trip, mailbox), options);
      lastLook = true;
      continue;
    }
    await sleep(Math.min((options.pollMs ?? 1000) * 5, Math.max(1, (waitS - waited) * 1000)), options.signal);
  }
}
