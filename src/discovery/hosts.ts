import { errorCode, ResolveError, UsageError } from '../errors.js';
import { abortable } from '../net/abort.js';
import { absent, type Dns, dnsReason } from '../net/dns.js';
import { hostNameProblem, isIP } from '../net/names.js';
import { defaultPorts, type PortSpec } from '../reference/table.js';
import type { Candidate, Discovery, DnsRecordFact, MxAddressLookup, Service } from '../types/index.js';
import { mailTargetProblem } from './target.js';

export type { Candidate, Discovery, DnsRecordFact } from '../types/index.js';

export interface DiscoverOptions {
  /** Most hosts to probe (default 20); the others are listed in `leftOut`. */
  maxHosts?: number;
  /** Stops every query at once (AbortedError, phase 'dns'). */
  signal?: AbortSignal;
}

/** The default cap on discovered hosts (--max-hosts). */
export const defaultMaxHosts = 20;

/** SRV names and the services they stand for (RFC 6186 §3, RFC 8314 §5.1). */
export const srvServices: readonly [string, Service][] = [
  ['_submissions._tcp', 'submissions'],
  ['_submission._tcp', 'submission'],
  ['_imaps._tcp', 'imaps'],
  ['_imap._tcp', 'imap'],
  ['_pop3s._tcp', 'pop3s'],
  ['_pop3._tcp', 'pop3'],
];

/** The names mail clients try when nothing is published, in the order they are shown. */
export const guessedPrefixes = ['mail.', 'smtp.', 'imap.', 'pop.', 'pop3.', ''];

/** Splits `alice@example.org` or `example.org` into the domain (and the address). */
export function parseTarget(text: string): { domain: string; email?: string } {
  const at = text.lastIndexOf('@');
  const domain = (at >= 0 ? text.slice(at + 1) : text).replace(/\.$/, '').toLowerCase();
  return at >= 0 ? { domain, email: text } : { domain };
}

const code = (error: unknown) => errorCode(error) ?? 'error';

/**
 * Adds a host (or more ports and a source to a host already found) to a candidate list. A port is probed once per
 * service: two records that name it as different services (`_imaps._tcp` and `_imap._tcp` on 143, or
 * `_submission._tcp` on 25 beside the MX) get a probe each, so each is judged as a client uses it.
 */
export function addCandidate(
  candidates: Map<string, Candidate>,
  host: string,
  ports: PortSpec[],
  source: string,
): void {
  const key = host.toLowerCase();
  const entry = candidates.get(key) ?? { host: key, ports: [], sources: [] };
  for (const spec of ports)
    if (!entry.ports.some((p) => p.port === spec.port && p.service === spec.service)) entry.ports.push(spec);
  if (!entry.sources.includes(source)) entry.sources.push(source);
  candidates.set(key, entry);
}

/**
 * What a null MX (exchange ".") says, given every exchange of the MX answer: alone, that the domain accepts no mail
 * (RFC 7505 §3); several and nothing else, the same (no MX names a host); beside other MX records, which RFC 7505 §3
 * forbids, senders differ (RFC 7505 does not say what a sender does then).
 */
export function nullMxDetail(answer: readonly { priority: number; exchange: string }[]): string {
  const nulls = answer.filter((record) => record.exchange === '');
  if (nulls.length < answer.length) return 'a null MX beside other MX records, which RFC 7505 §3 forbids';
  if (nulls.length > 1)
    return `one of ${nulls.length} null MX records and no other MX: no MX names a host, the domain accepts no mail (RFC 7505 §3 defines a single one)`;
  return nulls[0]?.priority === 0
    ? 'null MX: the domain accepts no mail (RFC 7505)'
    : `an MX of "." with preference ${nulls[0]?.priority}: it names no host, so the domain accepts no mail (RFC 5321 §5.1; RFC 7505 §3 defines the null MX as 0 .)`;
}

/**
 * Why the domain accepts no mail, when every MX record of the answer is a null MX (one, or several): the command
 * line's exit 3 and serve's transport module say it. Undefined when there is none, or other MX records beside.
 */
export function nullMxReason(records: DnsRecordFact[]): string | undefined {
  const mx = records.filter((r) => r.kind === 'MX' && r.answer !== '');
  if (mx.length === 0 || mx.some((r) => r.note !== 'null-mx')) return undefined;
  if (mx.length === 1 && mx[0]?.answer !== '0 .')
    return `it publishes one MX, ${mx[0]?.answer}, which names no host (accepts no mail: RFC 5321 §5.1; RFC 7505 §3 defines the null MX as 0 .)`;
  return mx.length === 1
    ? 'it publishes a null MX (accepts no mail, RFC 7505)'
    : `it publishes only null MX records, ${mx.map((r) => r.answer).join(' and ')} (accepts no mail: no MX names a host; RFC 7505 §3 defines one null MX)`;
}

/**
 * What the address lookup of an MX host gave, from the error it threw (none: it was found): serve's transport module
 * and the command line's discovery say it the same way.
 */
export function mxAddressLookup(host: string, error?: unknown): MxAddressLookup {
  if (error === undefined) return { host, outcome: 'found' };
  if (!(error instanceof ResolveError)) return { host, outcome: 'failed', detail: dnsReason(error) };
  if (error.otherFamily) return { host, outcome: 'found', detail: `${error.reason}: not probed` };
  return { host, outcome: error.notFound ? 'none' : 'failed', detail: error.reason };
}

/**
 * The domain's mail hosts, from DNS. Throws UsageError, before any query, for a target that is no mail domain nor
 * an address at one (an IP address, an address literal, two @: mailTargetProblem).
 */
export async function discover(target: string, dns: Dns, options: DiscoverOptions = {}): Promise<Discovery> {
  const problem = mailTargetProblem(target);
  if (problem) throw new UsageError(problem);
  const { domain, email } = parseTarget(target);
  const signal = options.signal;
  const records: DnsRecordFact[] = [];
  const candidates = new Map<string, Candidate>();
  const add = (host: string, ports: PortSpec[], source: string) =>
    addCandidate(candidates, host, ports, source);
  const failed = (kind: DnsRecordFact['kind'], query: string, error: unknown): DnsRecordFact =>
    absent.has(code(error)) || (error instanceof ResolveError && error.notFound)
      ? { kind, query, answer: '', note: 'no-record', detail: 'no such record' }
      : {
          kind,
          query,
          answer: '',
          note: 'failed',
          detail: error instanceof ResolveError ? error.reason : dnsReason(error),
        };

  // Everything is asked at once; each query has its own deadline.
  const [mx, srvs, guesses] = await abortable(
    Promise.all([
      dns.mx(domain).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      Promise.all(
        srvServices.map(([prefix, service]) =>
          dns.srv(`${prefix}.${domain}`).then(
            (value) => ({ prefix, service, value }),
            (error: unknown) => ({ prefix, service, error }),
          ),
        ),
      ),
      Promise.all(
        guessedPrefixes.map((prefix) =>
          dns.addresses(`${prefix}${domain}`).then(
            (value) => ({ name: `${prefix}${domain}`, value }),
            (error: unknown) => ({ name: `${prefix}${domain}`, error }),
          ),
        ),
      ),
    ]),
    signal,
    'dns',
  );

  if ('error' in mx) records.push(failed('MX', domain, mx.error));
  else {
    const sorted = [...mx.value].sort((a, b) => a.priority - b.priority);
    // A name no host can have (an xn-- label IDNA refuses): a fact on its record, not a host to probe.
    const badName = (name: string) =>
      name === '' || isIP(name.replace(/^\[|\]$/g, '')) ? undefined : hostNameProblem(name);
    // CNAME checks of every MX target at once (each under the resolver's deadline), not one after another.
    const aliases = await abortable(
      Promise.all(
        sorted.map((record) =>
          record.exchange === '' || isIP(record.exchange.replace(/^\[|\]$/g, '')) || badName(record.exchange)
            ? Promise.resolve([] as string[])
            : dns.cname(record.exchange).catch(() => [] as string[]),
        ),
      ),
      signal,
      'dns',
    );
    for (const [index, record] of sorted.entries()) {
      // RFC 7505: an empty (".") exchange, a null MX: what it says depends on the other records (nullMxDetail).
      if (record.exchange === '') {
        records.push({
          kind: 'MX',
          query: domain,
          answer: `${record.priority} .`,
          note: 'null-mx',
          detail: nullMxDetail(sorted),
        });
        continue;
      }
      const fact: DnsRecordFact = {
        kind: 'MX',
        query: domain,
        answer: `${record.priority} ${record.exchange}`,
      };
      const problem = badName(record.exchange);
      if (problem) {
        records.push({
          ...fact,
          note: 'invalid-name',
          detail: `the MX target is not a usable host name: ${problem}`,
        });
        continue;
      }
      if (isIP(record.exchange.replace(/^\[|\]$/g, ''))) {
        Object.assign(fact, {
          note: 'address-literal',
          detail: 'an MX must name a host, not an address (RFC 5321 §5.1)',
        });
      } else {
        const alias = aliases[index] ?? [];
        if (alias.length > 0)
          Object.assign(fact, {
            note: 'cname-target',
            detail: `the MX target is an alias of ${alias[0]} (RFC 2181 §10.3, RFC 5321 §5.1)`,
          });
      }
      records.push(fact);
      add(record.exchange.replace(/^\[|\]$/g, ''), [{ port: 25, service: 'smtp' }], `MX ${record.priority}`);
    }
  }

  for (const result of srvs) {
    const query = `${result.prefix}.${domain}`;
    if ('error' in result) {
      records.push(failed('SRV', query, result.error));
      continue;
    }
    for (const record of [...result.value].sort((a, b) => a.priority - b.priority || b.weight - a.weight)) {
      // RFC 2782 and RFC 6186 §3: a target of "." says the service is not offered at this domain.
      if (record.name === '') {
        records.push({
          kind: 'SRV',
          query,
          answer: `${record.priority} ${record.weight} ${record.port} .`,
          note: 'not-offered',
          detail: 'published as not offered (target ".")',
        });
        continue;
      }
      const answer = `${record.priority} ${record.weight} ${record.port} ${record.name}`;
      const problem = hostNameProblem(record.name);
      if (problem) {
        records.push({
          kind: 'SRV',
          query,
          answer,
          note: 'invalid-name',
          detail: `the SRV target is not a usable host name: ${problem}`,
        });
        continue;
      }
      // Port 0 (reserved) takes no connection: the record is unusable, and not probed (a probe would only fail).
      if (record.port === 0) {
        records.push({
          kind: 'SRV',
          query,
          answer,
          note: 'port-zero',
          detail: 'the SRV record names port 0, which takes no connection',
        });
        continue;
      }
      records.push({ kind: 'SRV', query, answer });
      add(record.name, [{ port: record.port, service: result.service }], `SRV ${result.prefix}`);
    }
  }

  for (const guess of guesses) {
    if ('error' in guess) {
      records.push(failed('guess', guess.name, guess.error));
      continue;
    }
    records.push({ kind: 'guess', query: guess.name, answer: guess.value.map((a) => a.address).join(' ') });
    add(guess.name, defaultPorts, 'guess');
  }
  checkNotOffered(domain, records, candidates);
  const all = [...candidates.values()];
  const max = options.maxHosts ?? defaultMaxHosts;
  const leftOut = all.slice(max).map((candidate) => candidate.host);
  return {
    domain,
    ...(email ? { email } : {}),
    records,
    candidates: all.slice(0, max),
    ...(leftOut.length > 0 ? { leftOut } : {}),
  };
}

/**
 * An SRV "." says a service is decidedly not offered (RFC 6186 §3.4, RFC 2782). Its standard port is tried all the
 * same on the hosts the domain's other SRV records name (its mail hosts), when not already probed there: a service
 * that runs after all is drift (srv-not-offered-but-runs), and SRV-reading clients miss it. Not when other records
 * of the same name name servers: those are the ones probed (srv-not-offered-mixed).
 */
function checkNotOffered(domain: string, records: DnsRecordFact[], candidates: Map<string, Candidate>): void {
  const srvHosts = [...candidates.values()].filter((c) => c.sources.some((s) => s.startsWith('SRV ')));
  for (const record of records) {
    if (record.kind !== 'SRV' || record.note !== 'not-offered') continue;
    // A "." beside records that name servers for the same service: those are probed, and the "." contradicts them.
    if (
      records.some(
        (r) => r.kind === 'SRV' && r.query === record.query && r.answer !== '' && r.note !== 'not-offered',
      )
    )
      continue;
    const prefix = record.query.slice(0, record.query.length - domain.length - 1);
    const service = srvServices.find(([name]) => name === prefix)?.[1];
    const spec = defaultPorts.find((port) => port.service === service);
    if (!spec) continue;
    for (const host of srvHosts)
      if (!host.ports.some((port) => port.port === spec.port))
        addCandidate(candidates, host.host, [spec], `check of SRV ${prefix} "."`);
  }
}
