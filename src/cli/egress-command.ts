/** `mailprobe egress`: is outbound port 25 blocked or intercepted on this network? (src/egress.ts observes and concludes.) */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { exitCodes } from './exit.js';
import { checkHost, networkChoices, networkOptions, positiveInteger, useColor } from './options.js';
import type { EgressTry } from './spinner.js';

export const command = 'egress';
export const describe =
  'does this network block outbound port 25? (tries 25 and a control port on several well-known mail hosts)';

export function builder(yargs: Argv) {
  return networkOptions(
    yargs
      .option('via', {
        type: 'string',
        describe:
          "mail hosts to try, comma-separated (default: a documented list of large providers' MX hosts)",
      })
      .option('control-port', {
        type: 'string',
        describe: 'the port that networks rarely block, tried on the same hosts (default 443)',
      })
      .option('timeout', { type: 'string', describe: 'ms for each connection attempt (default 5000)' }),
  )
    .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
    .option('color', { type: 'boolean', describe: 'colour the report' })
    .example('$0 egress', 'is outbound SMTP blocked here?')
    .example('$0 egress --via mx1.example.net,mx2.example.org --control-port 587', 'with hosts of your own');
}

interface Args {
  via?: string | undefined;
  'control-port'?: string | undefined;
  timeout?: string | undefined;
  'dns-server'?: string | undefined;
  '4'?: boolean | undefined;
  '6'?: boolean | undefined;
  json: boolean;
  color?: boolean | undefined;
}

/** Exit 0 not blocked, 1 blocked or intercepted, 4 inconclusive. */
export async function handler(args: Args): Promise<void> {
  const {
    checkEgress,
    defaultControlPort,
    defaultEgressHosts,
    Dns,
    egressLine,
    liveLine,
    renderEgressHuman,
    renderEgressJson,
  } = await import('./modes.js');
  const hosts =
    args.via === undefined
      ? defaultEgressHosts
      : args.via
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean);
  if (hosts.length === 0) throw new UsageError('--via: expected one or more host names, comma-separated');
  for (const host of hosts) checkHost(host);
  const controlPort = positiveInteger(args['control-port'], '--control-port', 65535) ?? defaultControlPort;
  if (controlPort === 25) throw new UsageError('--control-port: the control must be another port than 25');
  const timeoutMs = positiveInteger(args.timeout, '--timeout', 600_000) ?? 5000;
  const { family, dnsServer: server } = networkChoices(args);
  // On a terminal, a spinner on stderr says which host and ports are being tried (as the probe's does). The
  // spinner comes through the engine bundle: a dynamic import here would pull it, and ora, into cli.cjs.
  const progress = {
    hosts: hosts.length,
    total: undefined as number | undefined,
    done: 0,
    trying: new Map<string, EgressTry>(),
    timeoutMs,
    controlPort,
  };
  const live = liveLine({ format: args.json ? 'json' : 'human', color: args.color }, (room) =>
    egressLine({ ...progress, trying: progress.trying.values() }, performance.now(), room),
  );
  let result: Awaited<ReturnType<typeof checkEgress>>;
  try {
    result = await checkEgress({
      hosts,
      controlPort,
      timeoutMs,
      dns: new Dns({ server, timeoutMs }),
      family,
      onPlanned: (total) => {
        progress.total = total;
        live?.refresh();
      },
      onTrying: (host, address, step) => {
        progress.trying.set(address, { host, address, step, since: performance.now() });
        live?.refresh();
      },
      onTried: (_host, address) => {
        progress.done++;
        progress.trying.delete(address);
        live?.refresh();
      },
    });
  } finally {
    live?.stop();
  }
  process.stdout.write(
    args.json
      ? renderEgressJson(result)
      : renderEgressHuman(result, { color: useColor(args.color, process.stdout) }),
  );
  process.exitCode =
    result.conclusion === 'not-blocked'
      ? exitCodes.ok
      : result.conclusion === 'blocked' || result.conclusion === 'intercepted'
        ? exitCodes.findings
        : exitCodes.inconclusive;
}
