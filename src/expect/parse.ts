/**
 * What a team says its server must do, per port: the `--expect` grammar and the expectations file, validated
 * before anything is probed; a mistake is a UsageError naming the source, the key and what was expected.
 * Checking a verdict against them is judging: src/rules/expectations.ts.
 */

import { UsageError } from '../errors.js';
import { echo } from '../limits.js';
import { isService, type PortSpec, referenceTable } from '../reference/table.js';
import type { DaneStatus, Service } from '../types/index.js';

/** Mechanisms that must (offer) or must not (notOffer) be advertised. */
export interface AuthExpectation {
  offer?: string[];
  notOffer?: string[];
}

/** What one port must do. Every field is optional; each present field is one expectation. */
type State = 'open' | 'closed' | 'refused' | 'filtered';
type Mode = 'implicit' | 'starttls' | 'none';

export interface PortExpectation {
  port: number;
  /** The service to judge the port as (default: the reference table's for that port number). */
  service?: Service;
  /** The mail protocol answers and the dialogue completes (status open). */
  works?: boolean;
  /** open; closed (refused, filtered or unreachable); refused; filtered. */
  state?: State;
  /** How TLS is reached: implicit, starttls, or none (plaintext only). */
  tls?: Mode;
  /** The port's safe verdict. */
  safe?: boolean;
  /** The certificate is valid for at least this many more days. */
  certDaysAtLeast?: number;
  /** SASL mechanisms (and LOGIN / USER for IMAP / POP3) offered before TLS. */
  authBeforeTls?: AuthExpectation;
  /** SASL mechanisms offered over TLS. */
  authAfterTls?: AuthExpectation;
  /** A regular expression the greeting (lines joined by a space) must match. */
  greeting?: string;
  /** The whole port probe takes at most this many ms. */
  maxLatencyMs?: number;
  /** With --login: the login works on this port (or on the port that shares its account, tried instead). */
  login?: boolean;
  /** With --round-trip: the test message arrives within this many seconds. */
  maxDeliveryS?: number;
  /** What DANE says of the port (valid, mismatch, …): the TLSA records are then looked up (--dane implied). */
  dane?: DaneStatus;
}

const states = ['open', 'closed', 'refused', 'filtered'] as const;
/** Every DaneStatus, in the order the messages list them (the check below holds the list to the type). */
const daneStatuses = ['valid', 'mismatch', 'no-tls', 'unusable', 'unvalidated', 'unknown', 'none'] as const;
const everyDaneStatus: Exclude<DaneStatus, (typeof daneStatuses)[number]> extends never ? true : never = true;
void everyDaneStatus;
const tlsModes = ['implicit', 'starttls', 'none'] as const;
const keys = [
  'service',
  'works',
  'state',
  'tls',
  'safe',
  'certDaysAtLeast',
  'authBeforeTls',
  'authAfterTls',
  'greeting',
  'maxLatencyMs',
  'login',
  'maxDeliveryS',
  'dane',
];

function portNumber(text: string, where: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${where}: '${echo(text)}' is not a port number (1-65535)`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new UsageError(`${where}: ${port} is out of range (1-65535)`);
  return port;
}

/** The service a port is probed as without a service= of its own: `--port`'s (`given`), else the reference table's. */
function defaultService(port: number, given: readonly PortSpec[] = []): Service | undefined {
  return (
    given.find((spec) => spec.port === port)?.service ??
    referenceTable.find((row) => row.port === port)?.service
  );
}

/**
 * `--expect PORT=WORD[,WORD...]`. Words: works, fails, open, closed, refused, filtered, tls (or implicit),
 * starttls, none, safe, unsafe, cert-days>=N, latency<=MS, service=NAME, dane=STATUS; with --login: login,
 * delivery<=S.
 */
export function parseExpectFlag(text: string): PortExpectation {
  const where = `--expect ${echo(text)}`;
  const match = /^(\d+)=(.+)$/.exec(text);
  if (!match) throw new UsageError(`${where}: expected PORT=WORD[,WORD...], for example 587=starttls,safe`);
  const expectation: PortExpectation = { port: portNumber(match[1] ?? '', where) };
  // Each word sets one key; a second word for the same key with another value contradicts the first.
  const set = <K extends keyof PortExpectation>(key: K, value: PortExpectation[K], word: string) => {
    if (expectation[key] !== undefined && expectation[key] !== value)
      throw new UsageError(
        `${where}: '${word}' contradicts an earlier word (${String(key)}=${String(expectation[key])})`,
      );
    expectation[key] = value;
  };
  for (const word of (match[2] ?? '').split(',').map((w) => w.trim().toLowerCase())) {
    const number = /^(cert-days>=|latency<=|delivery<=)(\d+)s?$/.exec(word);
    if (word === 'works' || word === 'fails') set('works', word === 'works', word);
    else if ((states as readonly string[]).includes(word)) set('state', word as State, word);
    else if (word === 'tls' || word === 'implicit') set('tls', 'implicit', word);
    else if (word === 'starttls' || word === 'none') set('tls', word, word);
    else if (word === 'safe' || word === 'unsafe') set('safe', word === 'safe', word);
    else if (number?.[1] === 'cert-days>=') set('certDaysAtLeast', Number(number[2]), word);
    else if (number?.[1] === 'latency<=') set('maxLatencyMs', Number(number[2]), word);
    else if (number?.[1] === 'delivery<=') set('maxDeliveryS', Number(number[2]), word);
    else if (word === 'login') set('login', true, word);
    else if (word.startsWith('dane=') && (daneStatuses as readonly string[]).includes(word.slice(5)))
      set('dane', word.slice(5) as DaneStatus, word);
    else if (word.startsWith('service=') && isService(word.slice(8)))
      set('service', word.slice(8) as Service, word);
    else {
      throw new UsageError(
        `${where}: unknown word '${echo(word)}' (works, fails, open, closed, refused, filtered, tls, starttls, none, safe, unsafe, cert-days>=N, latency<=MS, service=NAME, login, delivery<=S, dane=${daneStatuses.join('|')})`,
      );
    }
  }
  const conflict = contradiction(expectation);
  if (conflict) throw new UsageError(`${where}: ${conflict}`);
  return expectation;
}

/**
 * Expectations that no port can meet at once: working while closed, safe without TLS or while failing,
 * a certificate without TLS. Such a run could only fail (or, worse, be read as testing something).
 */
export function contradiction(e: PortExpectation): string | undefined {
  const closed = e.state !== undefined && e.state !== 'open';
  if (e.works === true && closed) return `works contradicts ${e.state}`;
  if (e.works === false && e.state === 'open') return 'fails contradicts open';
  if (e.safe !== undefined && (e.works === false || closed))
    return `${e.safe ? 'safe' : 'unsafe'} needs a working port (a port that does not work has no safe verdict)`;
  if (e.safe === true && e.tls === 'none') return 'safe contradicts none (a port is safe only over TLS)';
  if (e.certDaysAtLeast !== undefined && (e.tls === 'none' || e.works === false || closed))
    return 'cert-days needs a port that works over TLS';
  if (e.tls !== undefined && (e.works === false || closed)) return `tls=${e.tls} needs a working port`;
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function mechanisms(value: unknown, where: string): AuthExpectation {
  if (!isObject(value)) throw new UsageError(`${where}: expected an object with "offer" and/or "notOffer"`);
  const out: AuthExpectation = {};
  for (const [key, list] of Object.entries(value)) {
    if (key !== 'offer' && key !== 'notOffer')
      throw new UsageError(`${where}.${echo(key)}: unknown key (expected offer or notOffer)`);
    if (
      !Array.isArray(list) ||
      !list.every((item) => typeof item === 'string' && /^[A-Za-z0-9_-]{1,20}$/.test(item))
    ) {
      throw new UsageError(
        `${where}.${key}: expected a list of mechanism names (at most 20 characters, RFC 4422 §3.1) such as ["PLAIN", "LOGIN"]`,
      );
    }
    out[key] = list.map((item: string) => item.toUpperCase());
  }
  return out;
}

/**
 * Parses an expectations document: `{ "ports": { "587": { "tls": "starttls", "safe": true }, ... } }`.
 * `source` names the file in error messages; `given` are the ports the command line names with their service
 * (`--port 2525=submission`), which a port outside the reference table may take its service from.
 */
export function parseExpectDocument(
  document: unknown,
  source: string,
  given: readonly PortSpec[] = [],
): PortExpectation[] {
  if (!isObject(document) || !isObject(document.ports)) {
    throw new UsageError(
      `${source}: expected an object with a "ports" object, for example {"ports": {"587": {"tls": "starttls"}}}`,
    );
  }
  for (const key of Object.keys(document)) {
    if (key !== 'ports' && key !== '$schema' && key !== 'comment')
      throw new UsageError(`${source}: ${echo(key)}: unknown key (expected ports)`);
  }
  return Object.entries(document.ports).map(([portText, spec]) => {
    const where = `${source}: ports.${echo(portText)}`;
    const expectation: PortExpectation = { port: portNumber(portText, where) };
    if (!isObject(spec)) throw new UsageError(`${where}: expected an object of expectations`);
    for (const [key, value] of Object.entries(spec)) {
      const at = `${where}.${echo(key)}`;
      if (!keys.includes(key))
        throw new UsageError(`${at}: unknown key (expected one of ${keys.join(', ')})`);
      if (key === 'service') {
        if (typeof value !== 'string' || !isService(value))
          throw new UsageError(
            `${at}: expected a service name (smtp, submissions, submission, imap, imaps, pop3, pop3s)`,
          );
        expectation.service = value;
      } else if (key === 'works' || key === 'safe' || key === 'login') {
        if (typeof value !== 'boolean') throw new UsageError(`${at}: expected true or false`);
        expectation[key] = value;
      } else if (key === 'state') {
        if (!(states as readonly unknown[]).includes(value))
          throw new UsageError(`${at}: expected one of ${states.join(', ')}`);
        expectation.state = value as State;
      } else if (key === 'tls') {
        if (!(tlsModes as readonly unknown[]).includes(value))
          throw new UsageError(`${at}: expected one of ${tlsModes.join(', ')}`);
        expectation.tls = value as Mode;
      } else if (key === 'certDaysAtLeast' || key === 'maxLatencyMs' || key === 'maxDeliveryS') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
          throw new UsageError(
            `${at}: expected a whole number of ${key === 'certDaysAtLeast' ? 'days' : key === 'maxDeliveryS' ? 'seconds' : 'ms'}`,
          );
        expectation[key] = value;
      } else if (key === 'authBeforeTls' || key === 'authAfterTls') {
        expectation[key] = mechanisms(value, at);
      } else if (key === 'dane') {
        if (!(daneStatuses as readonly unknown[]).includes(value))
          throw new UsageError(`${at}: expected one of ${daneStatuses.join(', ')}`);
        expectation.dane = value as DaneStatus;
      } else if (key === 'greeting') {
        if (typeof value !== 'string')
          throw new UsageError(`${at}: expected a regular expression as a string`);
        try {
          new RegExp(value);
        } catch {
          throw new UsageError(`${at}: '${echo(value)}' is not a valid regular expression`);
        }
        expectation.greeting = value;
      }
    }
    if (!expectation.service && !defaultService(expectation.port, given)) {
      throw new UsageError(
        `${where}: port ${expectation.port} is not in the reference table; add "service" (or --port ${expectation.port}=SERVICE)`,
      );
    }
    const conflict = contradiction(expectation);
    if (conflict) throw new UsageError(`${where}: ${conflict}`);
    return expectation;
  });
}

/** What a domain must publish, checked in a discovery run (`--expect mta-sts=MODE`). */
export interface DomainExpectation {
  /**
   * The MTA-STS mode sending servers apply (RFC 8461 §5): enforce, testing, or none (a policy in mode none, no
   * policy, or one published but not usable by senders). The policy is then looked up (--mta-sts implied).
   */
  mtaSts?: MtaStsMode;
}

export const mtaStsModes = ['enforce', 'testing', 'none'] as const;
export type MtaStsMode = (typeof mtaStsModes)[number];

/** Whether an `--expect` value is about the domain (mta-sts=MODE) rather than a port. */
export const isDomainExpectFlag = (text: string): boolean => /^mta-sts\s*=/i.test(text.trim());

/** `--expect mta-sts=MODE`: a domain expectation; a bad mode is a UsageError naming the modes. */
export function parseDomainExpectFlag(text: string): DomainExpectation {
  const mode = text
    .trim()
    .replace(/^mta-sts\s*=\s*/i, '')
    .toLowerCase();
  if (!(mtaStsModes as readonly string[]).includes(mode))
    throw new UsageError(
      `--expect ${echo(text)}: unknown MTA-STS mode '${echo(mode)}' (${mtaStsModes.join(', ')})`,
    );
  return { mtaSts: mode as MtaStsMode };
}

/**
 * The service a port expectation is judged as: its own service=, else the one `--port` or `--ports` gives the
 * port (`given`), else the reference table's. A service= other than the one the port is probed as is a mistake:
 * the port cannot be judged as both.
 */
export function expectedService(expectation: PortExpectation, given: readonly PortSpec[] = []): Service {
  const { port } = expectation;
  const probed = given.find((spec) => spec.port === port)?.service;
  if (expectation.service && probed && expectation.service !== probed)
    throw new UsageError(
      `--expect ${port}: service=${expectation.service} contradicts the port's ${probed} (--port ${port}=${probed} or --ports)`,
    );
  const service = expectation.service ?? defaultService(port, given);
  if (!service)
    throw new UsageError(
      `--expect ${port}: port ${port} is not in the reference table; add service=NAME (or --port ${port}=SERVICE)`,
    );
  return service;
}

/** Merges expectations for the same port (later ones win field by field). */
export function mergeExpectations(list: PortExpectation[]): PortExpectation[] {
  const byPort = new Map<number, PortExpectation>();
  for (const expectation of list)
    byPort.set(expectation.port, { ...byPort.get(expectation.port), ...expectation });
  return [...byPort.values()];
}
