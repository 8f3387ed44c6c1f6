/**
 * Every published source of client settings for a mail domain, looked up in the order a client consults
 * them (Thunderbird's order, which draft-ietf-mailmaint-autoconfig describes as its discovery steps):
 *   1. the domain's own autoconfig file: https://autoconfig.D/mail/config-v1.1.xml?emailaddress=A,
 *      https://D/.well-known/autoconfig/mail/config-v1.1.xml, then the same two over http://;
 *   2. the ISPDB (Thunderbird's database, https://autoconfig.thunderbird.net/v1.1/D by default; --ispdb, --no-ispdb);
 *   3. the same for the domain of the top MX (the MX host less its first label, and its registrable domain
 *      by the public-suffix list), https only, which a client uses only after asking the user;
 *   then Outlook's Autodiscover POX (https://D/autodiscover/autodiscover.xml,
 *   https://autodiscover.D/autodiscover/autodiscover.xml, and the _autodiscover._tcp SRV target), and the
 *   RFC 6186/8314 SRV records discovery already read. All fetches run at once, each under its deadline.
 */
import type { Dns } from '../../net/dns.js';
import { hostNameProblem } from '../../net/names.js';
import type { Trust } from '../../tls/trust.js';
import type { Discovery, PublishedSource } from '../../types/index.js';
import { autodiscoverRequest, readAutoconfig, readAutodiscover } from './documents.js';
import { registrableDomain, webFetch } from './fetch.js';
import { srvSource } from './srv.js';

/** Thunderbird's public ISPDB; the domain name is appended. */
export const defaultIspdb = 'https://autoconfig.thunderbird.net/v1.1/';

export interface PublishedOptions {
  dns: Dns;
  /** The roots trusted (with --ca's), resolved once; Node's own when absent. */
  trust?: Trust | undefined;
  /** ms for each fetch (default 5000). */
  timeoutMs?: number;
  /** ISPDB base URL (the domain is appended), or false to leave it out (default: Thunderbird's). */
  ispdb?: string | false | undefined;
  signal?: AbortSignal | undefined;
  /** Only this address family (-4, -6). */
  family?: 4 | 6 | 'both' | undefined;
}

interface Plan {
  kind: PublishedSource['kind'];
  url: string;
  domain: string;
  viaMx?: true;
  post?: boolean;
}

/** The MX-derived domains a client tries (step 3): the top MX less its first label, and its registrable domain. */
function mxDomains(discovery: Discovery): string[] {
  const top = discovery.records.find((r) => r.kind === 'MX' && r.answer !== '' && !r.note);
  const host = top?.answer.split(' ')[1]?.replace(/\.$/, '').toLowerCase();
  if (!host) return [];
  const parent = host.includes('.') ? host.slice(host.indexOf('.') + 1) : host;
  const out: string[] = [];
  for (const candidate of [parent, registrableDomain(host)])
    if (candidate.includes('.') && candidate !== discovery.domain && !out.includes(candidate))
      out.push(candidate);
  return out;
}

function plans(discovery: Discovery, ispdb: string | false, autodiscoverSrv: string[]): Plan[] {
  const d = discovery.domain;
  const query = discovery.email ? `?emailaddress=${encodeURIComponent(discovery.email)}` : '';
  const own: Plan[] = [
    { kind: 'autoconfig', url: `https://autoconfig.${d}/mail/config-v1.1.xml${query}`, domain: d },
    { kind: 'autoconfig', url: `https://${d}/.well-known/autoconfig/mail/config-v1.1.xml`, domain: d },
    { kind: 'autoconfig', url: `http://autoconfig.${d}/mail/config-v1.1.xml${query}`, domain: d },
    { kind: 'autoconfig', url: `http://${d}/.well-known/autoconfig/mail/config-v1.1.xml`, domain: d },
  ];
  if (ispdb) own.push({ kind: 'ispdb', url: `${ispdb}${d}`, domain: d });
  for (const m of mxDomains(discovery)) {
    own.push({
      kind: 'autoconfig',
      url: `https://autoconfig.${m}/mail/config-v1.1.xml${query}`,
      domain: m,
      viaMx: true,
    });
    if (ispdb) own.push({ kind: 'ispdb', url: `${ispdb}${m}`, domain: m, viaMx: true });
  }
  own.push(
    { kind: 'autodiscover', url: `https://${d}/autodiscover/autodiscover.xml`, domain: d, post: true },
    {
      kind: 'autodiscover',
      url: `https://autodiscover.${d}/autodiscover/autodiscover.xml`,
      domain: d,
      post: true,
    },
    ...autodiscoverSrv.map((url) => ({ kind: 'autodiscover' as const, url, domain: d, post: true })),
  );
  return own;
}

/**
 * The _autodiscover._tcp SRV targets as URLs (records with a "." target, a target no host can have, such as an
 * xn-- label IDNA refuses, port 0, which takes no connection, or a failed query give none).
 */
async function autodiscoverTargets(dns: Dns, domain: string): Promise<string[]> {
  try {
    const records = await dns.srv(`_autodiscover._tcp.${domain}`);
    return records
      .filter((r) => r.name !== '' && r.port !== 0 && hostNameProblem(r.name) === undefined)
      .sort((a, b) => a.priority - b.priority || b.weight - a.weight)
      .map(
        (r) =>
          `https://${r.name.replace(/\.$/, '').toLowerCase()}${r.port === 443 ? '' : `:${r.port}`}/autodiscover/autodiscover.xml`,
      );
  } catch {
    return [];
  }
}

/**
 * Starts the fetches that need only the domain (its own autoconfig, the ISPDB, Autodiscover and its SRV lookup) at
 * once, alongside DNS discovery; the returned function adds those that need the discovery (the MX-derived domains,
 * the SRV records) and settles with every source in client order.
 */
export function startPublished(
  target: { domain: string; email?: string | undefined },
  options: PublishedOptions,
): (discovery: Discovery) => Promise<PublishedSource[]> {
  const ispdb = options.ispdb === undefined ? defaultIspdb : options.ispdb;
  const started = new Map<string, Promise<PublishedSource>>();
  const fetchPlan = (plan: Plan) => {
    let promise = started.get(plan.url);
    if (!promise) {
      promise = fetchSource(plan, target, options);
      started.set(plan.url, promise);
    }
    return promise;
  };
  const early: Discovery = {
    domain: target.domain,
    ...(target.email ? { email: target.email } : {}),
    records: [],
    candidates: [],
  };
  for (const plan of plans(early, ispdb, [])) void fetchPlan(plan);
  const autodiscoverSrv = autodiscoverTargets(options.dns, target.domain);
  return async (discovery) => {
    const all = plans(discovery, ispdb, await autodiscoverSrv);
    const fetched = await Promise.all(all.map(fetchPlan));
    const srv = srvSource(discovery);
    return srv ? [...fetched, srv] : fetched;
  };
}

async function fetchSource(
  plan: Plan,
  target: { domain: string; email?: string | undefined },
  options: PublishedOptions,
): Promise<PublishedSource> {
  const { fact, text } = await webFetch(plan.url, {
    dns: options.dns,
    trust: options.trust,
    timeoutMs: options.timeoutMs ?? 5000,
    signal: options.signal,
    family: options.family,
    ...(plan.post ? { body: autodiscoverRequest(target.email ?? `postmaster@${target.domain}`) } : {}),
  });
  const source: PublishedSource = {
    kind: plan.kind,
    location: plan.url,
    domain: plan.domain,
    ...(plan.viaMx ? { viaMx: true as const } : {}),
    fetch: fact,
    settings: [],
  };
  if (text === undefined) return source;
  const read =
    plan.kind === 'autodiscover'
      ? readAutodiscover(text, target.domain, target.email)
      : readAutoconfig(text, target.domain, target.email);
  source.settings = read.settings;
  if (read.problems.length > 0) source.problems = read.problems;
  if (read.notADocument) source.ignored = read.notADocument;
  return source;
}

export { lookupTransportPolicy } from './mta-sts.js';
