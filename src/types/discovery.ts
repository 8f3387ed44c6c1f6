/** A domain as observed: DNS records, candidate hosts, what it publishes for mail clients and how it was fetched. */
import type { Service } from './port.js';

/** One DNS fact found while discovering. */
export interface DnsRecordFact {
  /** Which kind of lookup: an MX record, an SRV record, or a name clients guess. */
  kind: 'MX' | 'SRV' | 'guess';
  /** The name that was asked. */
  query: string;
  /** The answer in DNS notation ("10 mail.example.org", "0 1 587 mail.example.org", an address list), or "". */
  answer: string;
  /**
   * What is special about it: null-mx, not-offered, cname-target, address-literal, invalid-name (a target no
   * host can have, e.g. an xn-- label IDNA refuses: not probed), port-zero (an SRV record of port 0, which takes
   * no connection: not probed), no-record, failed.
   */
  note?:
    | 'null-mx'
    | 'not-offered'
    | 'cname-target'
    | 'address-literal'
    | 'invalid-name'
    | 'port-zero'
    | 'no-record'
    | 'failed';
  /** Why, in a few words, when there is a note. */
  detail?: string;
}

/** A host to probe, the ports to probe there, and why. */
export interface Candidate {
  /** The host name, lower case. */
  host: string;
  /** The ports to probe there, each with the service it is judged as. */
  ports: { port: number; service: Service }[];
  /** Where the host came from: "MX 10", "SRV _imaps._tcp", "guess". */
  sources: string[];
}

/** How a published setting secures the connection: implicit TLS, STARTTLS/STLS, or none. */
export type PublishedSecurity = 'TLS' | 'STARTTLS' | 'plain';

/** One server setting as a published source states it. */
export interface PublishedSetting {
  /** incoming (IMAP, POP3) or outgoing (SMTP). */
  direction: 'incoming' | 'outgoing';
  protocol: 'IMAP' | 'POP3' | 'SMTP';
  /** The host name, lower case, without a trailing dot. */
  host: string;
  port: number;
  /** How a client reading this source would secure the connection. */
  security: PublishedSecurity;
  /** The source's own words for it: `socketType SSL`, `Encryption TLS`, `SSL on`, `SRV _imaps._tcp`. */
  as: string;
}

/** One redirect followed while fetching a published document. */
export interface RedirectHop {
  status: number;
  from: string;
  to: string;
  /** The new URL is in another registrable domain (public-suffix list) than the one asked. */
  crossDomain?: true;
  /** The redirect went from https to http. */
  downgrade?: true;
  /**
   * A public address redirected to a loopback, private or link-local one (the addresses and their kinds, e.g.
   * "127.0.0.2 (loopback)"): not followed.
   */
  privateAddress?: string;
}

/** How a published document was fetched over HTTP(S). */
export interface WebFetchFact {
  /** The URL asked first. */
  url: string;
  method: 'GET' | 'POST';
  /**
   * ok: a 200 with a body; not-found: 404/410 or the host does not resolve; auth-required: 401/403 (no
   * credentials are ever sent); http-error: any other status; failed: no HTTP answer (connect, TLS, time-out,
   * size cap).
   */
  outcome: 'ok' | 'not-found' | 'auth-required' | 'http-error' | 'failed';
  /** The final HTTP status, when one arrived. */
  status?: number;
  /** In a few words: the status line, the error. */
  detail: string;
  /** The address connected to, when one was. */
  address?: string;
  /** Redirects followed, in order. */
  redirects?: RedirectHop[];
  /** Bytes of body read. */
  bytes?: number;
  /** ms from the first request to the last byte. */
  ms: number;
}

/** One published source of client settings, in the order a client consults it. */
export interface PublishedSource {
  /** autoconfig (the domain's own file), ispdb (Thunderbird's database), autodiscover (Outlook POX), srv (RFC 6186). */
  kind: 'autoconfig' | 'ispdb' | 'autodiscover' | 'srv';
  /** Where it was looked for: a URL, or the SRV names. */
  location: string;
  /** The mail domain the source is for: the address's own, or the one derived from its top MX. */
  domain: string;
  /** Reached through the MX-derived domain: a client must ask the user before using it. */
  viaMx?: true;
  /** For web sources, how the fetch went. */
  fetch?: WebFetchFact;
  /** A document arrived but cannot be used as it is: why (not well-formed XML, a DTD, a wrong root, a missing field). */
  problems?: string[];
  /** The answer was not this kind of document at all (a catch-all HTML page): taken as no configuration, no finding. */
  ignored?: string;
  /** The settings the source states, in its own order. */
  settings: PublishedSetting[];
}

export interface Discovery {
  /** The mail domain, lower case, without a trailing dot. */
  domain: string;
  /** The address given, when the user typed one. */
  email?: string;
  /** Every DNS answer asked for, with notes where one is unusual. */
  records: DnsRecordFact[];
  /** The hosts to probe, at most `maxHosts`, in the order found (MX by preference, SRV, guessed names). */
  candidates: Candidate[];
  /** Hosts found beyond `maxHosts`, not probed. */
  leftOut?: string[];
  /**
   * Loopback, private or link-local addresses that a document served from a public address named as a server:
   * not probed (a document from outside must not aim probes into the network the check runs in).
   */
  privateRefused?: string[];
  /** Set when the run's deadline ran out: the hosts whose probe never started (those running were aborted). */
  deadline?: { ms: number; notProbed: string[] };
  /** The published sources of client settings (autoconfig, ISPDB, Autodiscover, SRV), in client priority order. */
  published?: PublishedSource[];
  /** What the domain publishes for servers that send it mail (MTA-STS, TLS-RPT), with --mta-sts. */
  transport?: TransportPolicyFacts;
  /**
   * What the address lookup (A and AAAA) of each MX host gave, in preference order (serve's transport module, and
   * the command line's discovery for each MX it probed or tried to): found, none (no such host or no address:
   * senders skip it, RFC 5321 §5.1) or failed, with why. Only a host whose addresses were found is probed.
   */
  mxAddresses?: MxAddressLookup[];
}

/** What the address lookup of one MX host gave. */
export interface MxAddressLookup {
  host: string;
  /**
   * found (its addresses: probed, unless none is of the family asked, -4 or -6), none (NXDOMAIN, no A or AAAA),
   * failed (with -4 or -6, the lookup of that family failed, whatever the other gave).
   */
  outcome: 'found' | 'none' | 'failed';
  /** Why, when none or failed; when found, that no address is of the family asked (not probed). */
  detail?: string;
}

/** One TXT lookup: the strings of each record (joined per record), or why there are none. */
export interface TxtFact {
  /** The name asked, e.g. _mta-sts.example.org. */
  name: string;
  /** found: records (of any content); none: NXDOMAIN or no TXT; failed: SERVFAIL, timeout. */
  outcome: 'found' | 'none' | 'failed';
  /** Every TXT record at the name, each one's strings joined (RFC 7208 §3.3 style), as received. */
  records: string[];
  /** Why, when failed. */
  detail?: string;
}

/** An MTA-STS policy as read (RFC 8461 §3.2), and every way it breaks the strict syntax. */
export interface MtaStsPolicy {
  version?: string;
  mode?: string;
  mx: string[];
  maxAge?: number;
  /** Each problem: a missing or repeated key, a value out of range, a line that is not key: value. */
  problems: string[];
}

/** MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) of a mail domain: facts only. */
export interface TransportPolicyFacts {
  /** `_mta-sts.DOMAIN` TXT (RFC 8461 §3.1). */
  stsRecord: TxtFact;
  /** The `id` of the one valid `v=STSv1` record, when there is one. */
  stsId?: string;
  /** Why the TXT record is not one valid `v=STSv1; id=…` record, when found but unusable. */
  stsRecordProblem?: string;
  /** The policy fetch (https://mta-sts.DOMAIN/.well-known/mta-sts.txt, RFC 8461 §3.3): no redirect followed, 64 KiB cap. */
  policyFetch?: WebFetchFact;
  /** The Content-Type of the policy's 200 answer, as sent. */
  policyContentType?: string;
  /** The policy as read, when a 200 with a text/plain body arrived. */
  policy?: MtaStsPolicy;
  /** `_smtp._tls.DOMAIN` TXT (RFC 8460 §3). */
  tlsRptRecord: TxtFact;
  /** The rua URIs of the one valid `v=TLSRPTv1` record, when there is one. */
  tlsRptRua?: string[];
  /** Why the TLS-RPT record is not one valid record, when found but unusable. */
  tlsRptProblem?: string;
  /**
   * serve's transport module only: a digest (SHA-256, hex) of the policy as senders read it (mode, mx lines in
   * order, max_age), to compare with an earlier probe's.
   */
  policyDigest?: string;
  /** serve's transport module only: what an earlier probe of the same server saw (the last usable policy). */
  earlier?: { id: string; policyDigest: string; at: string };
}
