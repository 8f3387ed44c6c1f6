/**
 * Fetching a published document (an autoconfig file, an Autodiscover POX response) the way a mail client
 * does: names resolved through mailprobe's own resolver (so --dns-server applies), HTTPS verified against the
 * trusted roots and --ca, a size cap, a deadline over the whole fetch, and at most three redirects, each one
 * recorded (and marked when it leaves the registrable domain or drops from https to http). Nothing but the
 * request line, Host, Accept, Content-Type and the fixed body is sent: never a cookie or a credential. A redirect
 * from a public address is never followed to a loopback, private or link-local one (a web server must not be
 * able to point the check at the network it runs in): the hop is recorded, marked `privateAddress`, and the
 * fetch ends there. A document published at a private address from the start is fetched as before.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { getDomain } from 'tldts';
import { errorCode, ResolveError } from '../../errors.js';
import { echo } from '../../limits.js';
import { monotonicMs } from '../../net/clock.js';
import type { Dns } from '../../net/dns.js';
import { isIP, nonPublicAddress } from '../../net/names.js';
import { type Trust, trustFrom } from '../../tls/trust.js';
import type { RedirectHop, WebFetchFact } from '../../types/index.js';

export interface WebFetchOptions {
  dns: Dns;
  /** The roots trusted (with --ca's), resolved once; Node's own when absent. */
  trust?: Trust | undefined;
  /** ms for the whole fetch, redirects included. */
  timeoutMs: number;
  /** Largest body read, in bytes (default 256 KiB); a longer one fails the fetch. */
  maxBytes?: number;
  /** POST this body (text/xml) instead of a GET. */
  body?: string;
  signal?: AbortSignal | undefined;
  /** Only this address family (-4, -6), as for the probes. */
  family?: 4 | 6 | 'both' | undefined;
  /** Most redirects followed (default 3); 0: none (an MTA-STS policy, RFC 8461 §3.3). */
  maxRedirects?: number;
  /** The Accept header (default: XML first). */
  accept?: string;
}

export interface WebFetchResult {
  fact: WebFetchFact;
  /** The body, when the outcome is ok. */
  text?: string;
  /** The Content-Type header of the final answer, as sent. */
  contentType?: string;
}

const maxRedirects = 3;

/** Errors that say the address did not take the connection: the next address is tried. */
const connectFailures = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNRESET',
]);

/** The registrable domain of a host name (public-suffix list), or the name itself when it has none. */
export function registrableDomain(host: string): string {
  return getDomain(host, { allowPrivateDomains: false }) ?? host.toLowerCase();
}

export async function webFetch(url: string, options: WebFetchOptions): Promise<WebFetchResult> {
  const started = monotonicMs();
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const method = options.body === undefined ? 'GET' : 'POST';
  const redirects: RedirectHop[] = [];
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    // A URL made from a name the network gave (an SRV target): one that is not a URL is an answer, not a crash.
    return {
      fact: {
        url,
        method,
        outcome: 'failed',
        detail: 'not a valid URL',
        ms: Math.round(monotonicMs() - started),
      },
    };
  }
  const firstDomain = registrableDomain(current.hostname);
  const fact = (rest: Omit<WebFetchFact, 'url' | 'method' | 'ms'>): WebFetchFact => ({
    url,
    method,
    ...rest,
    ...(redirects.length > 0 ? { redirects } : {}),
    ms: Math.round(monotonicMs() - started),
  });
  // A public address answered an earlier hop: from there on, no loopback, private or link-local address is asked.
  let publicSoFar = false;
  let answeredBefore: string | undefined;
  for (let hop = 0; ; hop++) {
    let address: string | undefined;
    try {
      const family = options.family;
      const resolved = (await options.dns.addresses(current.hostname)).filter(
        (a) => family === undefined || family === 'both' || a.family === family,
      );
      const addresses = publicSoFar ? resolved.filter((a) => !nonPublicAddress(a.address)) : resolved;
      const last = redirects.at(-1);
      if (addresses.length === 0 && resolved.length > 0 && last) {
        const refused = resolved.map((a) => `${a.address} (${nonPublicAddress(a.address)})`).join(', ');
        last.privateAddress = refused;
        return {
          fact: fact({
            outcome: 'http-error',
            status: last.status,
            ...(answeredBefore ? { address: answeredBefore } : {}),
            detail: `redirect to ${echo(last.to)} not followed (a public address redirects to ${refused})`,
          }),
        };
      }
      if (addresses.length === 0)
        throw new ResolveError(
          current.hostname,
          family === 4 || family === 6
            ? `no IPv${family} address records (-${family})`
            : 'no address records',
          true,
        );
      // Each address in turn while the connection itself fails, as a client falls back to the next one; an
      // answer of any kind (a TLS error included) ends the search.
      let response: Answer | undefined;
      for (const [index, chosen] of addresses.entries()) {
        address = chosen.address;
        try {
          response = await request(current, chosen, options, method, signal);
          break;
        } catch (error) {
          if (
            signal.aborted ||
            index === addresses.length - 1 ||
            !connectFailures.has(errorCode(error) ?? '')
          )
            throw error;
        }
      }
      if (!response || address === undefined) throw new Error('no address answered');
      const answered: string = address;
      answeredBefore = answered;
      if (!nonPublicAddress(answered)) publicSoFar = true;
      const location = response.headers.location;
      const status = response.status;
      if ([301, 302, 303, 307, 308].includes(status) && typeof location === 'string') {
        const next = new URL(location, current);
        const entry: RedirectHop = { status, from: current.href, to: next.href };
        if (registrableDomain(next.hostname) !== firstDomain) entry.crossDomain = true;
        if (current.protocol === 'https:' && next.protocol === 'http:') entry.downgrade = true;
        redirects.push(entry);
        // A POST keeps its body only through 307/308; a client would not re-send it as a GET elsewhere.
        const followable = method === 'GET' || status === 307 || status === 308;
        const most = options.maxRedirects ?? maxRedirects;
        if (hop >= most || !followable || !/^https?:$/.test(next.protocol))
          return {
            fact: fact({
              outcome: 'http-error',
              status,
              address: answered,
              detail: `redirect to ${echo(next.href)} not followed (${hop >= most ? (most === 0 ? 'no redirect is followed here' : `more than ${most} redirects`) : !followable ? `a ${status} would turn the POST into a GET` : 'not an HTTP URL'})`,
            }),
          };
        current = next;
        continue;
      }
      const detail = `HTTP ${status}${response.reason ? ` ${response.reason}` : ''}`;
      if (status === 200)
        return {
          fact: fact({ outcome: 'ok', status, address: answered, detail, bytes: response.bytes }),
          text: response.text,
          ...(typeof response.headers['content-type'] === 'string'
            ? { contentType: response.headers['content-type'] }
            : {}),
        };
      if (status === 404 || status === 410)
        return { fact: fact({ outcome: 'not-found', status, address: answered, detail }) };
      if (status === 401 || status === 403)
        return {
          fact: fact({
            outcome: 'auth-required',
            status,
            address: answered,
            detail: `${detail} (no credentials are sent)`,
          }),
        };
      return { fact: fact({ outcome: 'http-error', status, address: answered, detail }) };
    } catch (error) {
      // By code, not instanceof: this module may be a bundle of its own beside the engine's Dns (see build-cli).
      if (errorCode(error) === 'RESOLVE') {
        const { notFound, reason } = error as ResolveError;
        return {
          fact: fact(
            notFound
              ? { outcome: 'not-found', detail: `${current.hostname}: ${reason}` }
              : { outcome: 'failed', detail: `${current.hostname}: ${reason}` },
          ),
        };
      }
      const reason =
        signal.aborted && deadline.aborted
          ? `no complete answer within ${options.timeoutMs} ms`
          : signal.aborted
            ? 'aborted'
            : error instanceof Error
              ? `${errorCode(error) ?? ''}${errorCode(error) ? ': ' : ''}${error.message}`
              : String(error);
      return { fact: fact({ outcome: 'failed', ...(address ? { address } : {}), detail: reason }) };
    }
  }
}

interface Answer {
  status: number;
  reason: string;
  headers: http.IncomingHttpHeaders;
  text: string;
  bytes: number;
}

function request(
  url: URL,
  target: { address: string; family: 4 | 6 },
  options: WebFetchOptions,
  method: 'GET' | 'POST',
  signal: AbortSignal,
): Promise<Answer> {
  const maxBytes = options.maxBytes ?? 256 * 1024;
  // The name was resolved by mailprobe's resolver; the socket connects to that address only.
  const lookup: LookupFunction = (_name, lookupOptions, callback) => {
    if ((lookupOptions as { all?: boolean }).all)
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
  const secure = url.protocol === 'https:';
  const body = options.body === undefined ? undefined : Buffer.from(options.body, 'utf8');
  const requestOptions: https.RequestOptions = {
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port || (secure ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    lookup,
    agent: false,
    signal,
    headers: {
      'user-agent': 'mailprobe (published client settings check)',
      accept: options.accept ?? 'application/xml, text/xml;q=0.9, */*;q=0.1',
      ...(body ? { 'content-type': 'text/xml; charset=utf-8', 'content-length': String(body.length) } : {}),
    },
    ...(secure
      ? {
          // SNI carries names only (RFC 6066 §3): none for an address literal.
          ...(isIP(url.hostname.replace(/^\[|\]$/g, '')) ? {} : { servername: url.hostname }),
          secureContext: (options.trust ?? trustFrom()).web(),
        }
      : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(requestOptions, (response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          req.destroy(new Error(`the body is longer than ${maxBytes} bytes (the cap)`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', reject);
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          reason: response.statusMessage ?? '',
          headers: response.headers,
          text: Buffer.concat(chunks).toString('utf8'),
          bytes,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}
