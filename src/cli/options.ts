/** Parsing and validating the command line's values: ports, limits, checks, expectations, hosts, files, colour. */

import type { Argv } from 'yargs';
import { mailTargetProblem } from '../discovery/target.js';
import { UsageError } from '../errors.js';
import {
  contradiction,
  expectedService,
  mergeExpectations,
  type PortExpectation,
  parseExpectDocument,
  parseExpectFlag,
} from '../expect/parse.js';
import { defaultLimits, echo, type Limits, limitMaxima, limitsFromTimeout } from '../limits.js';
import { isEhloArgument, isHostName, isIP, normalizeHostName, parseDnsServer } from '../net/names.js';
import { type CheckName, checkNames } from '../probe/check-names.js';
import type { PortSpec } from '../probe/host.js';
import { isService, referenceTable, services } from '../reference/table.js';
import type { Service } from '../types/index.js';
import { readInputFile } from './files.js';

function portNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim()))
    throw new UsageError(`${what}: '${echo(text)}' is not a port number (1-65535)`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new UsageError(`${what}: ${port} is out of range (1-65535)`);
  return port;
}

/** `--ports 25,587` (reference ports, or service names) and `--port 2525=submission` (repeatable). */
export function parsePorts(
  ports: string[] | undefined,
  custom: string[] | undefined,
): PortSpec[] | undefined {
  if (!ports?.length && !custom?.length) return undefined;
  const specs: PortSpec[] = [];
  for (const item of (ports ?? [])
    .flatMap((entry) => entry.split(','))
    .filter((entry) => entry.trim() !== '')) {
    const name = item.trim().toLowerCase();
    const row = isService(name)
      ? referenceTable.find((entry) => entry.service === name)
      : referenceTable.find((entry) => entry.port === portNumber(name, '--ports'));
    if (!row)
      throw new UsageError(
        `--ports: port ${echo(item)} has no default service; use --port ${echo(item)}=SERVICE`,
      );
    specs.push({ port: row.port, service: row.service });
  }
  for (const item of custom ?? []) {
    const match = /^([^=]+)=(.*)$/.exec(item);
    if (!match)
      throw new UsageError(`--port: '${echo(item)}' is not PORT=SERVICE (for example 2525=submission)`);
    const service = (match[2] ?? '').trim().toLowerCase();
    if (!isService(service)) {
      throw new UsageError(
        `--port: unknown service '${echo(match[2] ?? '')}' (one of ${services.join(', ')})`,
      );
    }
    specs.push({ port: portNumber(match[1] ?? '', '--port'), service });
  }
  if (specs.length === 0) throw new UsageError('--ports: no port given (for example --ports 587,993)');
  const seen = new Set<number>();
  return specs.filter((spec) => !seen.has(spec.port) && seen.add(spec.port));
}

/** `--limit greetingMs=30000` (repeatable): any field of the limits object, a whole number. */
export function parseLimits(values: string[] | undefined): Partial<Limits> {
  const limits: Partial<Limits> = {};
  for (const value of values ?? []) {
    const match = /^([A-Za-z]+)=(\d+)$/.exec(value);
    const name = match?.[1] ?? '';
    if (!match || !Object.hasOwn(defaultLimits, name)) {
      throw new UsageError(
        `--limit: '${value}' is not NAME=NUMBER with NAME one of ${Object.keys(defaultLimits).join(', ')}`,
      );
    }
    const number = Number(match[2]);
    const max = limitMaxima[name as keyof Limits];
    if (number < 1 || number > max) throw new UsageError(`--limit: ${name} must be from 1 to ${max}`);
    limits[name as keyof Limits] = number;
  }
  return limits;
}

/** Expectations from `--expect` and `--expect-file`, merged per port (flags win), with `ports`' services. */
export function parseExpectations(
  flags: string[] | undefined,
  file: string | undefined,
  ports: readonly PortSpec[] = [],
): PortExpectation[] | undefined {
  const list: PortExpectation[] = [];
  if (file !== undefined) {
    const text = readInputFile('--expect-file', file, 1_000_000);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new UsageError(`${file}: not valid JSON (${reason})`);
    }
    list.push(...parseExpectDocument(document, file, ports));
  }
  for (const flag of flags ?? []) list.push(parseExpectFlag(flag));
  if (list.length === 0) return undefined;
  const merged = mergeExpectations(list);
  for (const expectation of merged) {
    expectedService(expectation, ports);
    const conflict = contradiction(expectation);
    if (conflict) throw new UsageError(`--expect ${expectation.port} (flags and file merged): ${conflict}`);
  }
  return merged;
}

/** `--check injection,tls-versions` (repeatable), or `all`. */
export function parseChecks(values: string[] | undefined): CheckName[] {
  const names = (values ?? [])
    .flatMap((value) => value.split(','))
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (names.includes('all')) return [...checkNames];
  if (values?.length && names.length === 0)
    throw new UsageError(`--check: no check given (one of ${checkNames.join(', ')}, all)`);
  for (const name of names)
    if (!(checkNames as readonly string[]).includes(name))
      throw new UsageError(`--check: unknown check '${echo(name)}' (one of ${checkNames.join(', ')}, all)`);
  return [...new Set(names)] as CheckName[];
}

/** A mail domain or an address at one (discovery, publish): its domain, checked; the local part is never used or sent. */
export function checkMailTarget(target: string): string {
  const problem = mailTargetProblem(target);
  if (problem) throw new UsageError(echo(problem));
  return checkHost(target.slice(target.lastIndexOf('@') + 1));
}

/** A host name (RFC 1123 labels, or an IDN that converts to them) or an IP literal, bracketed or not. */
export function checkHost(host: string, option = ''): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare)) return host;
  // host:port (not an IPv6 literal, which has more than one colon): the port goes in an option.
  const hostPort = /^([^:]+):(\d+)$/.exec(host);
  if (hostPort)
    throw new UsageError(
      `${option}'${echo(host)}' is a host and a port: use ${echo(hostPort[1] ?? '')} --ports ${echo(hostPort[2] ?? '')} (a reference port) or --port ${echo(hostPort[2] ?? '')}=SERVICE`,
    );
  // Digits and dots only is an IPv4 address or nothing: the resolver would read 1.2.3 as 1.2.0.3.
  if (/^[\d.]+$/.test(bare)) throw new UsageError(`${option}'${echo(host)}' is not a valid IPv4 address`);
  if (bare.includes(':')) throw new UsageError(`${option}'${echo(host)}' is not a valid IPv6 address`);
  const shown = host.length > 80 ? `${host.slice(0, 60)}… (${host.length} characters)` : host;
  const named = host.length <= 1024 ? normalizeHostName(host) : undefined;
  if (!isHostName(named?.name ?? '')) {
    throw new UsageError(
      `${option}'${echo(JSON.stringify(shown).slice(1, -1))}' is not a host name or IP address`,
    );
  }
  return host;
}

/** The service each URL scheme names: its service, with `smtps` for the implicit-TLS submission port (RFC 8314). */
const schemes: Record<string, Service> = {
  smtp: 'smtp',
  smtps: 'submissions',
  submission: 'submission',
  submissions: 'submissions',
  imap: 'imap',
  imaps: 'imaps',
  pop3: 'pop3',
  pop3s: 'pop3s',
};

/**
 * The probe's target as typed: a host (a name, an IPv4 address, an IPv6 address bare or in brackets), `HOST:PORT`,
 * `[V6]:PORT`, or a URL (`smtps://HOST[:PORT]`, one scheme per service). With a port, that one port is probed as the
 * service the scheme names, or the reference table names for the port; a port of no reference service and no scheme
 * is a usage error that says to name its service with --port. A bare IPv6 address (`::1`, `2001:db8::25`) is a host.
 */
export function parseTarget(text: string): { host: string; port?: PortSpec } {
  if (isIP(text)) return { host: text };
  const url = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(text);
  const scheme = url ? (url[1] ?? '').toLowerCase() : undefined;
  if (scheme !== undefined && !Object.hasOwn(schemes, scheme))
    throw new UsageError(
      `'${echo(text)}': unknown scheme ${echo(scheme)}:// (one of ${Object.keys(schemes).join(', ')})`,
    );
  const rest = url ? (url[2] ?? '').replace(/\/$/, '') : text;
  if (url && /[/?#@]/.test(rest))
    throw new UsageError(
      `'${echo(text)}': a target URL is SCHEME://HOST[:PORT], with no user, path or query`,
    );
  // [V6]:PORT, [V6], HOST:PORT (one colon: more is an IPv6 address, or nothing).
  const bracketed = /^(\[[^\]]*\])(?::([^:]*))?$/.exec(rest);
  const plain = /^([^:[\]]*):([^:]*)$/.exec(rest);
  const host = bracketed ? (bracketed[1] ?? '').slice(1, -1) : plain ? (plain[1] ?? '') : rest;
  const portText = bracketed ? bracketed[2] : plain ? plain[2] : undefined;
  if (host === '') throw new UsageError(`'${echo(text)}' names no host`);
  const service = scheme === undefined ? undefined : schemes[scheme];
  if (portText === undefined) {
    if (!service) return { host: rest };
    checkHost(host);
    const row = referenceTable.find((entry) => entry.service === service);
    return { host, port: { port: row?.port ?? 0, service } };
  }
  const port = portNumber(portText, `'${echo(text)}'`);
  checkHost(host);
  if (service) return { host, port: { port, service } };
  const row = referenceTable.find((entry) => entry.port === port);
  if (!row)
    throw new UsageError(
      `'${echo(text)}': port ${port} has no reference service; name it: mailprobe ${echo(bracketed ? `[${host}]` : host)} --port ${port}=SERVICE (one of ${services.join(', ')})`,
    );
  return { host, port: { port, service: row.service } };
}

/** The EHLO argument: an RFC 5321 Domain or address literal, never anything that could end the line. */
export function checkEhloName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isEhloArgument(value)) {
    const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 60)}…` : value);
    throw new UsageError(
      `--ehlo-name: ${shown} is not a domain or an address literal ([192.0.2.7], [IPv6:2001:db8::7]) (RFC 5321 §4.1.2)`,
    );
  }
  return value;
}

/**
 * Reads a PEM CA file: a regular file of at most 10 MB whose every PEM block is a certificate Node can parse;
 * anything else is a usage error.
 */
export function readCa(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  const text = readInputFile('--ca', file, 10_000_000);
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UsageError(`--ca: ${file} holds no PEM certificate`);
  blocks.forEach((block, index) => {
    try {
      // node:crypto only here, not at start-up of every command.
      new (process.getBuiltinModule('node:crypto').X509Certificate)(block);
    } catch {
      throw new UsageError(`--ca: ${file}: certificate ${index + 1} of ${blocks.length} cannot be read`);
    }
  });
  return text;
}

/** A whole number from `min` (1 unless given) to `max` (never '', which Number reads as 0); absent: undefined. */
export function positiveInteger(value: unknown, option: string, max: number, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value); // digits only below: Number() also reads "1e3", "0x10" and "1.0"
  if (!/^\s*\d+\s*$/.test(String(value)) || !Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`${option}: '${echo(String(value))}' is not a whole number from ${min} to ${max}`);
  }
  return number;
}

export { outputWidth, useColor } from './color.js';

/** `--timeout`, `--ca` and `--dns-server` of the commands that probe for others (serve, batch). */
export const probeBasicOptions = {
  timeout: { type: 'string', describe: 'ms for each phase of a probe (the port gets 8x)' },
  ca: { type: 'string', describe: 'PEM file of extra trusted root certificates' },
  'dns-server': { type: 'string', describe: 'ask this DNS server (ADDR or ADDR:PORT)' },
} as const;

/** Those three options, checked, as probe options (only the ones given). */
export function probeBasics(args: {
  timeout?: string | undefined;
  ca?: string | undefined;
  'dns-server'?: string | undefined;
}): { limits?: Limits; ca?: string; dnsServer?: string } {
  const timeout = positiveInteger(args.timeout, '--timeout', 600_000);
  const ca = readCa(args.ca);
  return {
    ...(timeout ? { limits: limitsFromTimeout(timeout) } : {}),
    ...(ca ? { ca } : {}),
    ...(args['dns-server'] ? { dnsServer: parseDnsServer(args['dns-server']) } : {}),
  };
}

/** `-4` and `-6`: one address family only. */
export function familyOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('4', { type: 'boolean', describe: 'IPv4 only' })
    .option('6', { type: 'boolean', describe: 'IPv6 only' })
    .conflicts('4', '6');
}

/** The address family those options chose. */
export function familyOf(args: { '4'?: boolean | undefined; '6'?: boolean | undefined }): 4 | 6 | 'both' {
  return args['4'] ? 4 : args['6'] ? 6 : 'both';
}

/** `--dns-server`, `-4` and `-6`, for the commands that resolve their hosts themselves (the probe, egress). */
export function networkOptions<T>(yargs: Argv<T>) {
  return familyOptions(
    yargs.option('dns-server', {
      type: 'string',
      describe: 'ask this DNS server (ADDR or ADDR:PORT) instead of the system resolver',
    }),
  );
}

/** Those options, checked: the address family, and the DNS server when one was given. */
export function networkChoices(args: {
  'dns-server'?: string | undefined;
  '4'?: boolean | undefined;
  '6'?: boolean | undefined;
}): { family: 4 | 6 | 'both'; dnsServer: string | undefined } {
  return {
    family: familyOf(args),
    dnsServer: args['dns-server'] === undefined ? undefined : parseDnsServer(args['dns-server']),
  };
}

/** The options of the published-settings lookup (discovery and `publish`). */
export const webOptions = {
  web: {
    type: 'boolean',
    default: true,
    describe:
      'with discovery: fetch the published client settings (autoconfig, ISPDB, Autodiscover) over HTTP(S); --no-web leaves them out',
  },
  ispdb: {
    type: 'string',
    describe:
      "with discovery: the ISPDB to ask (a URL the domain is appended to; default Thunderbird's https://autoconfig.thunderbird.net/v1.1/); --no-ispdb asks none",
  },
} as const;

/** --web and --ispdb, checked: whether to fetch, and which ISPDB (false: none; undefined: the default). */
export function webChoices(args: { web?: boolean | undefined; ispdb?: string | boolean | undefined }): {
  published: boolean;
  ispdb: string | false | undefined;
} {
  const published = args.web !== false;
  if (args.ispdb === false) return { published, ispdb: false };
  if (args.ispdb === undefined) return { published, ispdb: undefined };
  if (args.ispdb === true || args.ispdb === '')
    throw new UsageError('--ispdb needs a URL (or --no-ispdb to ask none)');
  let url: URL;
  try {
    url = new URL(String(args.ispdb));
  } catch {
    throw new UsageError(`--ispdb: '${echo(String(args.ispdb))}' is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new UsageError(`--ispdb: '${echo(String(args.ispdb))}' is not an http:// or https:// URL`);
  return { published, ispdb: url.href.endsWith('/') || url.href.endsWith('=') ? url.href : `${url.href}/` };
}
