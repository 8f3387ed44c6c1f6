/** `mailprobe <host>` (and an address or --discover): its options, checked, then handed to cli/report.ts. */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import {
  type DomainExpectation,
  expectedService,
  isDomainExpectFlag,
  parseDomainExpectFlag,
} from '../expect/parse.js';
import { defaultLimits, echo, limitsFromTimeout } from '../limits.js';
import { loginChoice, loginOptions } from './login-options.js';
import {
  checkEhloName,
  checkHost,
  checkMailTarget,
  networkChoices,
  networkOptions,
  parseChecks,
  parseExpectations,
  parseLimits,
  parsePorts,
  parseTarget,
  positiveInteger,
  readCa,
  webChoices,
  webOptions,
} from './options.js';
import { reportBuilder, reportOptions } from './report-options.js';

export const command = '$0 <host>';
// <host> may also be an address (alice@example.org): then its domain's mail hosts are discovered.
export const describe = 'probe the mail ports of <host> (default: 25, 465, 587, 143, 993, 110, 995)';

export function builder(yargs: Argv) {
  return options(
    yargs.positional('host', {
      type: 'string',
      describe: 'host name or IP address to probe',
      demandOption: true,
    }),
  );
}

/** The probe's options, for the command and for the command line that names no command (cli/run.ts). */
export function options<T>(yargs: Argv<T>) {
  return networkOptions(
    reportBuilder(loginOptions(yargs))
      .option('ports', {
        type: 'string',
        describe: 'only these reference ports or services, comma-separated (e.g. 587,993 or submission)',
      })
      .option('port', {
        type: 'string',
        describe: 'probe PORT as SERVICE, repeatable (e.g. --port 2525=submission)',
      })
      .option('timeout', {
        type: 'string',
        describe: `ms for each phase (connect, TLS, greeting, reply); the port gets 8x (default: connect ${defaultLimits.connectMs}, greeting ${defaultLimits.greetingMs})`,
      })
      .option('ca', { type: 'string', describe: 'PEM file of extra trusted root certificates' })
      .option('servername', {
        type: 'string',
        describe: 'name for SNI and the certificate check (default: <host>)',
      })
      .option('ehlo-name', {
        type: 'string',
        describe: 'EHLO argument (default: our address as a literal, e.g. [192.0.2.7])',
      }),
  )
    .option('limit', {
      type: 'string',
      describe: 'override one deadline or cap, repeatable: NAME=NUMBER (e.g. greetingMs=30000; see README)',
    })
    .option('check', {
      type: 'string',
      describe:
        'opt-in checks, comma-separated: injection, auth-required, tls-versions, tls-required, or all (see README for the bytes sent)',
    })
    .option('concurrency', { type: 'string', default: '16', describe: 'most ports probed at once' })
    .option('expect', {
      type: 'string',
      describe:
        'what a port must do, repeatable: PORT=WORD[,WORD] (e.g. 587=starttls,safe 465=tls 25=closed), or with discovery mta-sts=enforce|testing|none; fails the run when unmet',
    })
    .option('discover', {
      type: 'boolean',
      describe:
        'treat <host> as a mail domain: find its hosts (MX, SRV, usual names), probe them all, and suggest client settings',
    })
    .options(webOptions)
    .option('all-addresses', {
      type: 'boolean',
      describe: 'probe every A and AAAA address, not one per family',
    })
    .option('per-host', {
      type: 'string',
      describe: 'with discovery: most connections at once to one host (default 2)',
    })
    .option('fast-filtered', {
      type: 'boolean',
      default: true,
      describe:
        'call a port filtered after about 1 s when every other port of the host answered at once (--no-fast-filtered waits the full connect deadline)',
    })
    .option('max-hosts', {
      type: 'string',
      describe: 'with discovery: most hosts probed (default 20); the others are listed as left out',
    })
    .option('deadline', {
      type: 'string',
      describe:
        'with discovery: ms for the whole run (default 120000); probes still running then are aborted and reported',
    })
    .option('show-certs', {
      type: 'boolean',
      describe:
        'print each certificate chain as the server sent it, in PEM (as openssl s_client -showcerts), instead of the report',
    })
    .option('dane', {
      type: 'boolean',
      describe:
        'look up the TLSA records of each port (_PORT._tcp.HOST, with the DO bit) and match them against the chain sent (DANE, RFC 7672)',
    })
    .option('mta-sts', {
      type: 'boolean',
      describe:
        'with discovery: look up MTA-STS (TXT record, policy over HTTPS) and TLS-RPT, and say which MX hosts a sending server would refuse',
    })
    .option('expect-file', {
      type: 'string',
      describe: 'JSON file of expectations per port (see README); validated before probing',
    })
    .example('$0 mail.example.com', 'probe the seven mail ports')
    .example('$0 mail.example.com --ports 587,993 --json', 'two ports, JSON report')
    .example('$0 staging.example.com --port 2525=submission --ca ca.pem', 'a custom port and a private CA')
    .example('$0 mail.example.com -4 --timeout 3000 --verbose', 'IPv4 only, 3 s per phase, with transcripts')
    .example(
      '$0 staging.example.com --expect 587=starttls,safe --expect 25=closed --junit report.xml',
      'a CI smoke test',
    );
}

/** What the handler reads: the options, and the host as given. */
export type ProbeArgs = Awaited<ReturnType<typeof options<{ host: string }>>['argv']>;

/** The domain expectations of `--expect mta-sts=MODE` flags; two different modes contradict each other. */
function domainExpectationsOf(flags: string[]): DomainExpectation | undefined {
  if (flags.length === 0) return undefined;
  const parsed = flags.map(parseDomainExpectFlag);
  const modes = [...new Set(parsed.map((e) => e.mtaSts))];
  if (modes.length > 1)
    throw new UsageError(`--expect mta-sts: ${modes.join(' and ')} contradict each other (give one mode)`);
  return parsed[0];
}

/** A repeatable option's values: yargs gives one string, or an array when the option is repeated. */
function list(value: string | string[] | undefined): string[] | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value : [value];
}

export async function handler(args: ProbeArgs): Promise<void> {
  // First: any bad value after this still writes the report files asked for, saying why the run failed.
  const report = reportOptions(args);
  // HOST:PORT, [V6]:PORT or a URL (smtps://HOST) name one port, probed as its service.
  const given = String(args.host);
  const { host: target, port: named } =
    given.includes('@') && !given.includes('://') ? { host: given } : parseTarget(given);
  // An address (alice@example.org) or --discover: find the mail hosts of the domain first.
  const discovering = target.includes('@') || args.discover === true;
  if (discovering) checkMailTarget(target);
  else checkHost(target);
  if (named && (discovering || args.ports !== undefined || args.port !== undefined))
    throw new UsageError(
      `'${echo(given)}' names its port: give no --ports, --port or --discover with it (or give the host alone)`,
    );
  if (args.servername !== undefined) checkHost(String(args.servername), '--servername: ');
  checkEhloName(args['ehlo-name'] === undefined ? undefined : String(args['ehlo-name']));
  const timeout = positiveInteger(args.timeout, '--timeout', 600_000);
  const concurrency = positiveInteger(args.concurrency, '--concurrency', 256);
  const perHost = positiveInteger(args['per-host'], '--per-host', 64) ?? 2;
  const maxHosts = positiveInteger(args['max-hosts'], '--max-hosts', 1000);
  const deadline = positiveInteger(args.deadline, '--deadline', 86_400_000);
  // Repeatable options, not greedy arrays: a value never swallows the host or the next option.
  const ports = named ? [named] : parsePorts(list(args.ports), list(args.port));
  const checks = parseChecks(list(args.check));
  // --timeout sets every phase; --limit then overrides single fields.
  const limits = { ...(timeout ? limitsFromTimeout(timeout) : {}), ...parseLimits(list(args.limit)) };
  const ca = readCa(args.ca);
  const { family, dnsServer } = networkChoices(args);
  // `--expect mta-sts=MODE` is about the domain (discovery); every other --expect is about a port of one host.
  const expectFlags = list(args.expect) ?? [];
  const domainExpectations = domainExpectationsOf(expectFlags.filter(isDomainExpectFlag));
  const expectations = parseExpectations(
    expectFlags.filter((flag) => !isDomainExpectFlag(flag)),
    args['expect-file'],
    ports,
  );
  const web = webChoices(args);
  const login = loginChoice(args as unknown as Record<string, unknown>);
  if (login && discovering) throw new UsageError('--login applies to one host, not to discovery');
  if (expectations?.some((e) => e.login) && !login)
    throw new UsageError("the expectation 'login' needs --login USER (and the secret's source)");
  if (expectations?.some((e) => e.maxDeliveryS !== undefined) && !login?.roundTrip)
    throw new UsageError("the expectation 'delivery<=S' needs --login USER and --round-trip");
  const showCerts = args['show-certs'] === true;
  if (showCerts && report.format !== 'human')
    throw new UsageError(`--show-certs and --format ${report.format} both say what goes to stdout`);
  if (!discovering && (maxHosts !== undefined || deadline !== undefined))
    throw new UsageError('--max-hosts and --deadline apply to discovery (an address, or --discover)');
  if (!discovering && args['mta-sts'] === true)
    throw new UsageError('--mta-sts applies to discovery (an address, or --discover)');
  if (!discovering && (args.ispdb !== undefined || args.web === false))
    throw new UsageError('--ispdb, --no-ispdb and --no-web apply to discovery (an address, or --discover)');
  if (discovering && (ports || expectations || args.servername)) {
    throw new UsageError(
      '--ports, --port, --expect PORT=..., --expect-file and --servername apply to one host, not to discovery',
    );
  }
  if (!discovering && domainExpectations)
    throw new UsageError('--expect mta-sts=MODE applies to discovery (an address, or --discover)');
  // With expectations and no port list, exactly the expected ports are probed.
  const probed = ports ?? expectations?.map((e) => ({ port: e.port, service: expectedService(e) }));
  const probe = {
    ...(probed ? { ports: probed } : {}),
    family,
    ...(args.servername ? { servername: args.servername } : {}),
    ...(ca ? { ca } : {}),
    ...(args['ehlo-name'] ? { ehloName: args['ehlo-name'] } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(checks.length > 0 ? { checks } : {}),
    ...(args['all-addresses'] ? { allAddresses: true } : {}),
    ...(dnsServer ? { dnsServer } : {}),
    ...(args['fast-filtered'] === false ? { fastFiltered: false } : {}),
    ...(showCerts ? { keepCertificates: true } : {}),
    ...(login
      ? {
          login: {
            credential: login.credential,
            eachPort: login.eachPort,
            ...(login.maxAttempts ? { maxAttempts: login.maxAttempts } : {}),
          },
          ...(login.roundTrip ? { roundTrip: login.roundTrip } : {}),
        }
      : {}),
    // An expectation about DANE needs the TLSA records: --dane is implied.
    ...(args.dane === true || expectations?.some((e) => e.dane !== undefined) ? { dane: true } : {}),
  };
  // The engine loads only when a probe runs, so `ports` and `--help` start faster.
  const { discoverAndReport, probeAndReport } = await import('./engine.js');
  if (discovering)
    await discoverAndReport(
      target,
      probe,
      { ...report, showCerts, ...(domainExpectations ? { domainExpectations } : {}) },
      {
        perHost,
        maxHosts,
        deadlineMs: deadline,
        ...web,
        // An expectation about MTA-STS needs the policy: --mta-sts is implied.
        ...(args['mta-sts'] === true || domainExpectations?.mtaSts ? { mtaSts: true } : {}),
      },
    );
  else await probeAndReport(target, probe, { ...report, expectations, showCerts });
}
