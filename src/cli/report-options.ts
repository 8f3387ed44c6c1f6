/** The report options shared by the default command and demo: formats, report files, failing severity. */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { echo } from '../limits.js';
import { type Severity, severities } from '../rules/finding.js';
import { writesThrough } from './files.js';
import { positiveInteger } from './options.js';
import type { Format, ReportOptions } from './report.js';

const formats: (Format | 'plugin')[] = ['human', 'json', 'junit', 'markdown', 'openmetrics', 'plugin'];

/** The plugin's certificate thresholds by default (src/render/plugin.ts, which the start-up path does not load). */
const defaultDays = { warning: 21, critical: 7 };

export function reportBuilder<T>(yargs: Argv<T>) {
  return yargs
    .option('format', {
      type: 'string',
      describe: `what to print on stdout, one of ${formats.join(', ')} (default: human; openmetrics: for a textfile collector; plugin: for Nagios, Icinga, Naemon, Checkmk)`,
    })
    .option('warning-days', {
      type: 'string',
      describe: `with --format plugin: WARNING when a certificate has fewer whole days left (default ${defaultDays.warning})`,
    })
    .option('critical-days', {
      type: 'string',
      describe: `with --format plugin: CRITICAL when a certificate has fewer whole days left (default ${defaultDays.critical})`,
    })
    .option('warning-ms', {
      type: 'string',
      describe: 'with --format plugin: WARNING when a working port takes longer to answer (default: none)',
    })
    .option('critical-ms', {
      type: 'string',
      describe: 'with --format plugin: CRITICAL when a working port takes longer to answer (default: none)',
    })
    .option('json', {
      type: 'boolean',
      describe:
        'print the JSON report on stdout instead of the human report (takes no FILE: see --json-file)',
    })
    .option('json-file', { type: 'string', describe: 'write the JSON report to FILE (also --json=FILE)' })
    .option('junit', { type: 'string', describe: 'write a JUnit XML report to FILE' })
    .option('markdown', {
      type: 'string',
      describe: 'write a Markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY")',
    })
    .option('html', {
      type: 'string',
      describe:
        'write a self-contained HTML report to FILE: one page to hand over (no script, nothing external)',
    })
    .option('fail-on', {
      type: 'string',
      describe: `lowest finding severity that fails the run, one of ${severities.join(', ')} (default: high)`,
    })
    .option('quiet', {
      alias: 'q',
      type: 'boolean',
      default: false,
      describe: 'print only the verdict lines: works, safe, what to use, what to fix first',
    })
    .option('verbose', {
      alias: 'v',
      type: 'boolean',
      default: false,
      describe: "add each port's transcript",
    })
    .option('color', {
      type: 'boolean',
      describe: 'colour the report (--no-color turns it off; NO_COLOR is honoured)',
    });
}

/** A report file must be writable before anything is probed. */
function writable(option: string, file: string): string {
  const path = resolve(file);
  try {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
      throw new UsageError(`--${option}: ${file} is a folder`);
    // A stream (/dev/stdout, a FIFO, a device) is written to itself; a file is written beside it and renamed.
    accessSync(writesThrough(path) ? path : dirname(path), constants.W_OK);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--${option}: cannot write ${file} (its folder is missing or not writable)`);
  }
  return path;
}

/** The option that names a report file of this kind. */
const optionOf = (kind: string) => (kind === 'json' ? 'json-file' : kind);

export interface ReportArgs {
  format?: string | undefined;
  json?: boolean | undefined;
  'json-file'?: string | undefined;
  junit?: string | undefined;
  markdown?: string | undefined;
  html?: string | undefined;
  'fail-on'?: string | undefined;
  verbose: boolean;
  quiet?: boolean | undefined;
  color?: boolean | undefined;
  'warning-days'?: string | undefined;
  'critical-days'?: string | undefined;
  'warning-ms'?: string | undefined;
  'critical-ms'?: string | undefined;
}

/** --format plugin's thresholds, checked: only with that format, and the warning before the critical one. */
function pluginThresholds(args: ReportArgs, format: string): ReportOptions['plugin'] {
  const given = (['warning-days', 'critical-days', 'warning-ms', 'critical-ms'] as const).filter(
    (option) => args[option] !== undefined,
  );
  if (format !== 'plugin') {
    if (given.length > 0)
      throw new UsageError(
        `--${given.join(', --')} appl${given.length > 1 ? 'y' : 'ies'} to --format plugin`,
      );
    return undefined;
  }
  const warningDays = positiveInteger(args['warning-days'], '--warning-days', 3650, 0) ?? defaultDays.warning;
  const criticalDays =
    positiveInteger(args['critical-days'], '--critical-days', 3650, 0) ?? defaultDays.critical;
  const warningMs = positiveInteger(args['warning-ms'], '--warning-ms', 600_000, 1);
  const criticalMs = positiveInteger(args['critical-ms'], '--critical-ms', 600_000, 1);
  if (criticalDays > warningDays)
    throw new UsageError(
      `--critical-days ${criticalDays} is above --warning-days ${warningDays}: a certificate warns before it is critical`,
    );
  if (warningMs !== undefined && criticalMs !== undefined && warningMs > criticalMs)
    throw new UsageError(
      `--warning-ms ${warningMs} is above --critical-ms ${criticalMs}: a slow port warns before it is critical`,
    );
  return { warningDays, criticalDays, warningMs, criticalMs };
}

/**
 * The report files of a command line that parsed, each once it is known writable: the files a failure report goes
 * to when the run then stops (cli/run.ts). A command line that did not parse writes none.
 */
export const requestedFiles: ReportOptions['files'] = {};

/** A value of an option that takes one of a list, or exit 2 naming the list. */
function oneOf(option: string, value: string | undefined, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value))
    throw new UsageError(`--${option}: '${echo(value)}' is not one of ${allowed.join(', ')}`);
}

export function reportOptions(args: ReportArgs): Omit<ReportOptions, 'expectations'> {
  const files = requestedFiles;
  // `-` names stdout, as for most command-line tools: that format is printed instead of the human report.
  const named = { json: args['json-file'], junit: args.junit, markdown: args.markdown };
  const toStdout = (['json', 'junit', 'markdown'] as const).filter(
    (kind) => named[kind] === '-' || (kind === 'json' && args.json === true),
  );
  if (toStdout.length > 1)
    throw new UsageError(`--${toStdout.join(' and --')} both name stdout; only one report can go there`);
  if (args['json-file'] !== undefined && args['json-file'] !== '-') {
    if (args['json-file'] === '') throw new UsageError('--json-file: expected a FILE (or - for stdout)');
    files.json = writable('json-file', args['json-file']);
  }
  if (args.junit !== undefined && args.junit !== '-') {
    if (args.junit === '') throw new UsageError('--junit: expected a FILE (or - for stdout)');
    files.junit = writable('junit', args.junit);
  }
  if (args.markdown !== undefined && args.markdown !== '-') {
    if (args.markdown === '') throw new UsageError('--markdown: expected a FILE (or - for stdout)');
    files.markdown = writable('markdown', args.markdown);
  }
  if (args.html !== undefined) {
    if (args.html === '' || args.html === '-')
      throw new UsageError('--html: expected a FILE (the page is written to a file; /dev/stdout prints it)');
    files.html = writable('html', args.html);
  }
  const paths = Object.entries(files);
  for (const [kind, path] of paths) {
    const other = paths.find(([otherKind, otherPath]) => otherKind !== kind && otherPath === path);
    if (other)
      throw new UsageError(
        `--${optionOf(kind)} and --${optionOf(other[0])} name the same file (${path}); give each its own`,
      );
  }
  // Checked here, not by yargs: a value outside the list fails after the files are known, so they say why too.
  oneOf('format', args.format, formats);
  oneOf('fail-on', args['fail-on'], severities);
  const dash = toStdout[0];
  if (dash && args.format !== undefined && args.format !== dash)
    throw new UsageError(
      `${dash === 'json' && args.json ? '--json' : `--${optionOf(dash)} -`} and --format ${args.format} both say what goes to stdout`,
    );
  const format = (args.format as Format | 'plugin' | undefined) ?? dash ?? 'human';
  const plugin = pluginThresholds(args, format);
  return {
    format,
    ...(plugin ? { plugin } : {}),
    files,
    verbose: args.verbose,
    quiet: args.quiet === true,
    color: args.color,
    failOn: (args['fail-on'] as Severity | undefined) ?? 'high',
  };
}
