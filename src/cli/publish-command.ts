/** `mailprobe publish <domain>`: what the domain should publish for mail clients, from what its servers do. */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import {
  checkHost,
  checkMailbox,
  familyOf,
  familyOptions,
  positiveInteger,
  probeBasicOptions,
  probeBasics,
  webChoices,
  webOptions,
} from './options.js';

export const command = 'publish <domain>';
export const describe =
  'print the autoconfig file, Autodiscover response and SRV records to publish, from what the servers do, and the difference with what is published now';

export function builder(yargs: Argv) {
  return familyOptions(
    yargs
      .positional('domain', {
        type: 'string',
        describe: 'mail domain (or an address at it)',
        demandOption: true,
      })
      .options(probeBasicOptions)
      .options(webOptions)
      .option('max-hosts', { type: 'string', describe: 'most hosts probed (default 20)' })
      .option('deadline', { type: 'string', describe: 'ms for the whole run (default 120000)' }),
  )
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'print the documents and differences as JSON',
    })
    .example('$0 publish example.org', 'what example.org should publish, and how that differs from now')
    .example('$0 publish example.org --json > publish.json', 'the same as data');
}

interface Args {
  domain?: string | undefined;
  timeout?: string | undefined;
  ca?: string | undefined;
  'dns-server'?: string | undefined;
  web?: boolean | undefined;
  ispdb?: string | boolean | undefined;
  'max-hosts'?: string | undefined;
  deadline?: string | undefined;
  '4'?: boolean | undefined;
  '6'?: boolean | undefined;
  json: boolean;
}

/** Exit 0 what is published matches what works safely, 1 it differs or nothing is published, 3 nothing works safely (or no mail host). */
export async function handler(args: Args): Promise<void> {
  const target = String(args.domain ?? '');
  if (target === '') throw new UsageError('missing <domain>');
  checkHost(target.includes('@') ? checkMailbox(target) : target);
  const maxHosts = positiveInteger(args['max-hosts'], '--max-hosts', 1000);
  const deadlineMs = positiveInteger(args.deadline, '--deadline', 86_400_000);
  const web = webChoices(args);
  const probe = {
    ...probeBasics(args),
    family: familyOf(args),
  };
  const { publishAndReport } = await import('./engine.js');
  await publishAndReport(target, probe, { json: args.json, maxHosts, deadlineMs, ...web });
}
