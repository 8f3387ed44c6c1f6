/** `mailprobe publish <domain>`: what the domain should publish for mail clients, from what its servers do. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import {
  checkMailTarget,
  familyOf,
  familyOptions,
  positiveInteger,
  probeBasicOptions,
  probeBasics,
  webChoices,
  webOptions,
} from './options.js';

/** The names `--write-dir` gives the documents (render/publication.ts's publicationFiles; kept here off the start-up path). */
const publicationFiles = ['config-v1.1.xml', 'autodiscover.xml', 'srv.zone'];

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
    .option('write-dir', {
      type: 'string',
      describe: `write the documents as files in DIR: ${publicationFiles.join(', ')}`,
    })
    .option('overwrite', {
      type: 'boolean',
      default: false,
      describe: 'with --write-dir: replace files that exist (else exit 2 before probing)',
    })
    .example('$0 publish example.org', 'what example.org should publish, and how that differs from now')
    .example('$0 publish example.org --write-dir out/', 'the same, with the three documents as files in out/')
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
  'write-dir'?: string | undefined;
  overwrite?: boolean | undefined;
}

/**
 * Exit 0 what is published matches what works safely, 1 it differs or nothing is published, 3 nothing works safely
 * (or no mail host), 2 a --write-dir file exists (without --overwrite), 74 a document could not be written.
 */
export async function handler(args: Args): Promise<void> {
  const target = String(args.domain ?? '');
  if (target === '') throw new UsageError('missing <domain>');
  checkMailTarget(target);
  const maxHosts = positiveInteger(args['max-hosts'], '--max-hosts', 1000);
  const deadlineMs = positiveInteger(args.deadline, '--deadline', 86_400_000);
  const web = webChoices(args);
  const probe = {
    ...probeBasics(args),
    family: familyOf(args),
  };
  const writeDir = args['write-dir'];
  if (writeDir !== undefined) {
    if (writeDir === '') throw new UsageError('publish --write-dir: needs a folder');
    // Before any probe: a file that would be replaced is refused at once (one line, exit 2).
    if (!args.overwrite)
      for (const name of publicationFiles) {
        const path = join(writeDir, name);
        if (existsSync(path))
          throw new UsageError(`publish --write-dir: ${path} exists (--overwrite replaces it)`);
      }
  }
  const { publishAndReport } = await import('./engine.js');
  await publishAndReport(target, probe, {
    json: args.json,
    maxHosts,
    deadlineMs,
    ...web,
    ...(writeDir !== undefined ? { writeDir, overwrite: args.overwrite === true } : {}),
  });
}
