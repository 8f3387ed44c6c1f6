/**
 * What a mail domain publishes for the servers that send it mail: MTA-STS (RFC 8461) and TLS-RPT (RFC 8460).
 * The `_mta-sts` and `_smtp._tls` TXT records, and the policy fetched exactly as a sending server does
 * (RFC 8461 §3.3): https://mta-sts.DOMAIN/.well-known/mta-sts.txt, HTTPS with a certificate valid for that name
 * (the trusted roots and --ca), no redirect followed, a 200 with Content-Type text/plain, at most 64 KiB, read
 * with the strict syntax of §3.2. Facts only: the rules (rules/transport.ts) judge them.
 */
import { errorCode } from '../../errors.js';
import type { Dns } from '../../net/dns.js';
import { absent, dnsReason } from '../../net/dns.js';
import type { Trust } from '../../tls/trust.js';
import type { MtaStsPolicy, TransportPolicyFacts, TxtFact } from '../../types/index.js';
import { webFetch } from './fetch.js';

/** RFC 8461 §3.3: "senders SHOULD impose a limit of 64 KiB". */
export const maxPolicyBytes = 64 * 1024;

export interface TransportOptions {
  dns: Dns;
  trust?: Trust | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  family?: 4 | 6 | 'both' | undefined;
}

async function txt(dns: Dns, name: string): Promise<TxtFact> {
  try {
    const records = (await dns.txt(name)).map((strings) => strings.join(''));
    return { name, outcome: records.length > 0 ? 'found' : 'none', records };
  } catch (error) {
    const code = errorCode(error) ?? '';
    return absent.has(code)
      ? { name, outcome: 'none', records: [] }
      : { name, outcome: 'failed', records: [], detail: dnsReason(error) };
  }
}

/**
 * `k1=v1; k2=v2` fields (RFC 8461 §3.1 and RFC 8460 §3 share the grammar); undefined when malformed. A value is
 * visible ASCII without `;` or `=` (the ext-value of both RFCs), except TLS-RPT's `rua`: URIs (which may hold `=`),
 * separated by commas with optional blanks around them; several `rua` fields add up.
 */
function fields(record: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  for (const part of record.split(';')) {
    const field = part.trim();
    if (field === '') continue;
    const match = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})=(.*)$/.exec(field);
    if (!match) return undefined;
    const [, key, value] = match as unknown as [string, string, string];
    const valid =
      key === 'rua'
        ? /^[\x21-\x2b\x2d-\x3a\x3c-\x7e]+(?:[ \t]*,[ \t]*[\x21-\x2b\x2d-\x3a\x3c-\x7e]+)*$/.test(value)
        : /^[\x21-\x3a\x3c\x3e-\x7e]+$/.test(value);
    if (!valid) return undefined;
    const earlier = out.get(key);
    if (earlier === undefined) out.set(key, value);
    else if (key === 'rua') out.set(key, `${earlier},${value}`);
  }
  return out;
}

/** The one `v=STSv1` record's id, or why there is none usable (RFC 8461 §3.1). */
export function readStsRecord(records: string[]): { id?: string; problem?: string } {
  const sts = records.filter((record) => /^v=STSv1\s*(;|$)/.test(record));
  if (sts.length === 0) return { problem: 'no record starts with v=STSv1' };
  if (sts.length > 1) return { problem: `${sts.length} v=STSv1 records: senders must ignore them all` };
  const parsed = fields(sts[0] as string);
  const id = parsed?.get('id');
  if (!parsed || !id) return { problem: `not v=STSv1; id=…: ${JSON.stringify(sts[0]?.slice(0, 120))}` };
  if (!/^[A-Za-z0-9]{1,32}$/.test(id))
    return { problem: `the id ${JSON.stringify(id.slice(0, 40))} is not 1-32 letters or digits` };
  return { id };
}

/** The one `v=TLSRPTv1` record's rua URIs, or why there is none usable (RFC 8460 §3). */
export function readTlsRptRecord(records: string[]): { rua?: string[]; problem?: string } {
  const rpt = records.filter((record) => /^v=TLSRPTv1\s*(;|$)/.test(record));
  if (rpt.length === 0) return { problem: 'no record starts with v=TLSRPTv1' };
  if (rpt.length > 1) return { problem: `${rpt.length} v=TLSRPTv1 records: senders must ignore them all` };
  const parsed = fields(rpt[0] as string);
  const rua = parsed?.get('rua');
  if (!parsed || !rua) return { problem: `not v=TLSRPTv1; rua=…: ${JSON.stringify(rpt[0]?.slice(0, 120))}` };
  const uris = rua.split(',').map((uri) => uri.trim());
  const bad = uris.find((uri) => !/^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/i.test(uri));
  if (bad) return { problem: `rua ${JSON.stringify(bad.slice(0, 80))} is neither mailto: nor https:` };
  return { rua: uris };
}

/** The policy with RFC 8461 §3.2's strict syntax: key: value lines, CRLF or LF, each problem named. */
export function readPolicy(text: string): MtaStsPolicy {
  const policy: MtaStsPolicy = { mx: [], problems: [] };
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  for (const [index, line] of lines.entries()) {
    // sts-policy-ext-name (RFC 8461 §3.2): a letter or digit, then up to 31 of letters, digits, _ - and .
    const match = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})[ \t]*:[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!match) {
      policy.problems.push(`line ${index + 1} is not key: value: ${JSON.stringify(line.slice(0, 80))}`);
      continue;
    }
    const [, key, value] = match as unknown as [string, string, string];
    if (key !== 'mx' && seen.has(key)) {
      policy.problems.push(`${key} appears more than once`);
      continue;
    }
    seen.add(key);
    if (key === 'version') policy.version = value;
    else if (key === 'mode') policy.mode = value;
    else if (key === 'max_age') {
      // The grammar is 1*10DIGIT (RFC 8461 §3.2); a value above the prose's maximum of 31557600 is read as
      // published and judged by the rules (mta-sts-max-age-too-long), as senders differ on it.
      if (/^\d{1,10}$/.test(value)) policy.maxAge = Number(value);
      else policy.problems.push(`max_age ${JSON.stringify(value.slice(0, 20))} is not 1 to 10 digits`);
    } else if (key === 'mx') {
      if (/^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]*[a-z0-9]$/i.test(value))
        policy.mx.push(value.toLowerCase());
      else policy.problems.push(`mx ${JSON.stringify(value.slice(0, 80))} is not a host name or *.name`);
    }
    // Other keys are extensions: ignored (RFC 8461 §3.2).
  }
  if (policy.version !== 'STSv1')
    policy.problems.push(
      `version is ${policy.version === undefined ? 'missing' : JSON.stringify(policy.version)}, not STSv1`,
    );
  if (!['enforce', 'testing', 'none'].includes(policy.mode ?? ''))
    policy.problems.push(
      `mode is ${policy.mode === undefined ? 'missing' : JSON.stringify(policy.mode)}, not enforce, testing or none`,
    );
  if (policy.maxAge === undefined && !policy.problems.some((p) => p.startsWith('max_age')))
    policy.problems.push('max_age is missing');
  if (policy.mx.length === 0 && policy.mode !== 'none') policy.problems.push('no mx line');
  return policy;
}

/** Looks up MTA-STS and TLS-RPT for a domain. Never throws: every failure is a fact. */
export async function lookupTransportPolicy(
  domain: string,
  options: TransportOptions,
): Promise<TransportPolicyFacts> {
  const [stsRecord, tlsRptRecord] = await Promise.all([
    txt(options.dns, `_mta-sts.${domain}`),
    txt(options.dns, `_smtp._tls.${domain}`),
  ]);
  const facts: TransportPolicyFacts = { stsRecord, tlsRptRecord };
  if (stsRecord.outcome === 'found') {
    const { id, problem } = readStsRecord(stsRecord.records);
    if (id) facts.stsId = id;
    if (problem) facts.stsRecordProblem = problem;
  }
  if (tlsRptRecord.outcome === 'found') {
    const { rua, problem } = readTlsRptRecord(tlsRptRecord.records);
    if (rua) facts.tlsRptRua = rua;
    if (problem) facts.tlsRptProblem = problem;
  }
  // The policy is fetched even without a TXT record: a policy nobody will ever fetch is a finding too.
  const fetched = await webFetch(`https://mta-sts.${domain}/.well-known/mta-sts.txt`, {
    dns: options.dns,
    trust: options.trust,
    timeoutMs: options.timeoutMs,
    maxBytes: maxPolicyBytes,
    maxRedirects: 0,
    accept: 'text/plain',
    signal: options.signal,
    family: options.family,
  });
  facts.policyFetch = fetched.fact;
  if (fetched.contentType !== undefined) facts.policyContentType = fetched.contentType;
  if (
    fetched.fact.outcome === 'ok' &&
    fetched.text !== undefined &&
    /^text\/plain\s*(;|$)/i.test(fetched.contentType ?? '')
  )
    facts.policy = readPolicy(fetched.text);
  return facts;
}
