/**
 * `mailprobe serve`: the Prometheus endpoint (src/serve.ts), with its limits checked, until SIGINT or SIGTERM
 * (then it stops accepting at once, gives the running probes `--grace` ms, and exits 0).
 */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { echo } from '../limits.js';
import { isHostName, isIP } from '../net/names.js';
import { positiveInteger, probeBasicOptions, probeBasics } from './options.js';

export const command = 'serve';
export const describe =
  'serve probes over HTTP for Prometheus: GET /probe?target=HOST&module=MODULE (blackbox_exporter style), GET /metrics';

export function builder(yargs: Argv) {
  return yargs
    .option('listen', { type: 'string', describe: 'ADDRESS:PORT to listen on (default 127.0.0.1:9925)' })
    .option('max-concurrent', { type: 'string', describe: 'most probes at once; more get 503 (default 4)' })
    .option('min-interval', {
      type: 'string',
      describe: 'least ms between two probes of one target and module; sooner gets 429 (default 1000)',
    })
    .option('deadline', { type: 'string', describe: 'ms a probe request may take (default 30000)' })
    .option('allow', {
      type: 'string',
      describe:
        "probe only targets whose every address is in this network (CIDR), repeatable; loopback, link-local, multicast and this machine's addresses only when named (127.0.0.0/8, 169.254.0.0/16, fe80::/10, ADDRESS/32)",
    })
    .option('allow-any', {
      type: 'boolean',
      describe:
        "with a --listen other clients can reach and no --allow: start anyway, and probe any address that is not loopback, link-local, multicast or this machine's (internal networks included: a risk)",
    })
    .option('host-name', {
      type: 'string',
      describe:
        'a name clients reach this server by (the Host header), besides its address; other Host headers get 421; repeatable',
    })
    .option('dane', {
      type: 'boolean',
      describe: "look up each port's TLSA records and match them (DANE): mailprobe_port_dane_status",
    })
    .option('grace', {
      type: 'string',
      describe: 'on SIGTERM or SIGINT, ms the running probes may take before they are aborted (default 5000)',
    })
    .option('login-module', {
      type: 'boolean',
      describe:
        'add the module "login": log in with MAILPROBE_LOGIN_USER and MAILPROBE_LOGIN_PASSWORD (or _TOKEN) from this process\'s environment',
    })
    .options(probeBasicOptions)
    .example('$0 serve --allow 192.0.2.0/24', 'probe only hosts in 192.0.2.0/24')
    .example(
      '$0 serve --listen 192.0.2.5:9925 --allow 198.51.100.0/24 --host-name prober.example.net',
      'reachable by a Prometheus on another machine, probing one network only',
    )
    .example('curl "http://127.0.0.1:9925/probe?target=mail.example.com&module=submission"', 'one probe')
    .example(
      'curl "http://127.0.0.1:9925/probe?target=example.org&module=transport"',
      "a domain's MTA-STS, TLS-RPT and each MX's port 25 with DANE",
    );
}

interface Args {
  listen?: string | undefined;
  'max-concurrent'?: string | undefined;
  'min-interval'?: string | undefined;
  deadline?: string | undefined;
  allow?: string | string[] | undefined;
  'allow-any'?: boolean | undefined;
  'host-name'?: string | string[] | undefined;
  grace?: string | undefined;
  timeout?: string | undefined;
  ca?: string | undefined;
  'dns-server'?: string | undefined;
  'login-module'?: boolean | undefined;
  dane?: boolean | undefined;
}

/** The login module's credential: only from serve's own environment, never from a request or the command line. */
function loginFromEnvironment(): { user: string; secret: string; kind: 'password' | 'token' } {
  const user = process.env.MAILPROBE_LOGIN_USER;
  const password = process.env.MAILPROBE_LOGIN_PASSWORD;
  const token = process.env.MAILPROBE_LOGIN_TOKEN;
  if (!user) throw new UsageError('--login-module needs MAILPROBE_LOGIN_USER in the environment');
  if ((password ? 1 : 0) + (token ? 1 : 0) !== 1)
    throw new UsageError(
      '--login-module needs exactly one of MAILPROBE_LOGIN_PASSWORD and MAILPROBE_LOGIN_TOKEN in the environment',
    );
  const secret = password ?? token ?? '';
  if (/[\r\n\u0000]/.test(secret) || /[\u0000-\u001f\u007f]/.test(user))
    throw new UsageError('--login-module: the user or the secret holds a control character');
  return { user, secret, kind: password ? 'password' : 'token' };
}

export async function handler(args: Args): Promise<void> {
  const listen = args.listen ?? '127.0.0.1:9925';
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const host = match?.[1] ?? match?.[2] ?? '';
  const port = Number(match?.[3]);
  if (!match || isIP(host) === 0 || port < 1 || port > 65535)
    throw new UsageError(
      `--listen: '${echo(listen, 80)}' is not ADDRESS:PORT (e.g. 127.0.0.1:9925 or [::1]:9925)`,
    );
  const list = (value: string | string[] | undefined) =>
    value === undefined ? [] : Array.isArray(value) ? value : [value];
  const allow = list(args.allow);
  const hostNames = list(args['host-name']);
  for (const name of hostNames)
    if (!isHostName(name.replace(/\.$/, '')))
      throw new UsageError(`--host-name: '${echo(name, 80)}' is not a host name`);
  const grace = positiveInteger(args.grace, '--grace', 600_000) ?? 5000;
  const basics = probeBasics(args);
  const login = args['login-module'] ? { credential: loginFromEnvironment() } : undefined;
  const { canonicalAddress, createProbeServer, parseCidr } = await import('./modes.js');
  for (const cidr of allow) parseCidr(cidr);
  // Only a loopback listener is out of other machines' reach: anything else must say what it may probe.
  const canonical = canonicalAddress(host);
  const loopback = canonical?.address.startsWith('127.') === true || canonical?.address === '::1';
  if (!loopback && allow.length === 0 && !args['allow-any'])
    throw new UsageError(
      `--listen ${listen} can be reached from other machines: name the networks it may probe with --allow CIDR, or pass --allow-any to let it probe any public or private address`,
    );
  const server = createProbeServer({
    maxConcurrent: positiveInteger(args['max-concurrent'], '--max-concurrent', 1000) ?? 4,
    minIntervalMs: positiveInteger(args['min-interval'], '--min-interval', 86_400_000) ?? 1000,
    deadlineMs: positiveInteger(args.deadline, '--deadline', 600_000) ?? 30_000,
    allow,
    hostNames,
    ...basics,
    ...(login ? { login } : {}),
    ...(args.dane === true ? { dane: true } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new UsageError(`--listen: cannot listen on ${echo(listen, 80)} (${error.code ?? error.message})`),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  process.stderr.write(`mailprobe serve: listening on http://${listen}/probe and /metrics\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      // A second signal does not wait for the grace.
      if (stopping) process.exit(0);
      stopping = true;
      void server.shutdown(grace).then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.exitCode = 0;
  // A name lookup still running in the resolver's threads cannot be cancelled: it does not hold the exit up.
  setTimeout(() => process.exit(0), 200).unref();
}
