/** `mailprobe serve`: the Prometheus endpoint (src/serve.ts), with its limits checked, until SIGINT or SIGTERM. */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { isIP } from '../net/names.js';
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
      describe: 'probe only targets whose every address is in this network (CIDR), repeatable',
    })
    .options(probeBasicOptions)
    .example('$0 serve --allow 192.0.2.0/24', 'probe only hosts in 192.0.2.0/24')
    .example('curl "http://127.0.0.1:9925/probe?target=mail.example.com&module=submission"', 'one probe');
}

interface Args {
  listen?: string | undefined;
  'max-concurrent'?: string | undefined;
  'min-interval'?: string | undefined;
  deadline?: string | undefined;
  allow?: string | string[] | undefined;
  timeout?: string | undefined;
  ca?: string | undefined;
  'dns-server'?: string | undefined;
}

export async function handler(args: Args): Promise<void> {
  const listen = args.listen ?? '127.0.0.1:9925';
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const host = match?.[1] ?? match?.[2] ?? '';
  const port = Number(match?.[3]);
  if (!match || isIP(host) === 0 || port < 1 || port > 65535)
    throw new UsageError(`--listen: '${listen}' is not ADDRESS:PORT (e.g. 127.0.0.1:9925 or [::1]:9925)`);
  const allow = args.allow === undefined ? [] : Array.isArray(args.allow) ? args.allow : [args.allow];
  const basics = probeBasics(args);
  const { createProbeServer, parseCidr } = await import('./engine.js');
  for (const cidr of allow) parseCidr(cidr);
  const server = createProbeServer({
    maxConcurrent: positiveInteger(args['max-concurrent'], '--max-concurrent', 1000) ?? 4,
    minIntervalMs: positiveInteger(args['min-interval'], '--min-interval', 86_400_000) ?? 1000,
    deadlineMs: positiveInteger(args.deadline, '--deadline', 600_000) ?? 30_000,
    allow,
    ...basics,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UsageError(`--listen: cannot listen on ${listen} (${error.code ?? error.message})`)),
    );
    server.listen(port, host, () => resolve());
  });
  process.stderr.write(`mailprobe serve: listening on http://${listen}/probe and /metrics\n`);
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
