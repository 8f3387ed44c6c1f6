/**
 * The half of a run after the probing: judges, checks expectations, renders, writes the report files and stdout,
 * sets the exit code (and `publish`'s documents). cli/report.ts loads it while the sockets are open: in the
 * package's bin it is a bundle of its own (dist/cli/judge.cjs, the rules and renderers), so a probe's first socket
 * does not wait for its code. See CONTRIBUTING "Start-up and speed". It imports each function from its own module,
 * not from ../index.js: judge.cjs takes the modules engine.cjs holds from it, and the library's index taken that
 * way would pull every module it re-exports into the bundles (the build fails).
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '../errors.js';
import type { DomainExpectation, PortExpectation } from '../expect/parse.js';
import { buildPublication } from '../modes/publish.js';
import { inertJson } from '../render/json.js';
import { renderChainsPem } from '../render/pem.js';
import { type PluginThresholds, renderPlugin } from '../render/plugin.js';
import { publicationFiles, renderPublication, srvZone } from '../render/publication.js';
import { type DiscoveryReport, type Format, renderReport } from '../render/report.js';
import type { Severity } from '../rules/finding.js';
import { judge } from '../rules/judge.js';
import type { CheckedHost, Outcome } from '../rules/outcome.js';
import type { Discovery, HostResult } from '../types/index.js';
import { exitCodes } from './exit.js';
import { WriteError, writeNewFile, writeReportFile } from './files.js';
import { outputWidth, useColor } from './options.js';

export interface ReportOptions {
  /** What goes to stdout: a report, or a monitoring plugin's status line (with `plugin`'s thresholds). */
  format: Format | 'plugin';
  /** --format plugin's thresholds. */
  plugin?: PluginThresholds | undefined;
  /** Reports written to files as well. */
  files: Partial<Record<'json' | 'junit' | 'markdown' | 'html', string>>;
  verbose: boolean;
  /** The human report's first lines only (the verdict, what to use, what to fix first). */
  quiet?: boolean | undefined;
  color: boolean | undefined;
  /** Findings at or above this severity fail the run. */
  failOn: Severity;
  expectations?: PortExpectation[] | undefined;
  /** With discovery: what the domain must publish (--expect mta-sts=MODE). */
  domainExpectations?: DomainExpectation | undefined;
  /** Print each certificate chain as sent, in PEM, on stdout instead of the report (--show-certs). */
  showCerts?: boolean | undefined;
}

/** The report in `format`; the human one coloured as asked and fitted to the terminal. */
function render(
  format: Format,
  hosts: CheckedHost[],
  result: Outcome,
  report: ReportOptions,
  discovery?: DiscoveryReport,
): string {
  if (format !== 'human') return renderReport(format, hosts, result, { color: false }, discovery);
  const color = useColor(report.color, process.stdout);
  // Fitted to the terminal; through a pipe, to COLUMNS when it is set (as shells and CI runners set it).
  const width = outputWidth(process.stdout);
  return renderReport(
    format,
    hosts,
    result,
    { color, verbose: report.verbose, quiet: report.quiet, width },
    discovery,
  );
}

/** Judges, checks expectations, writes the report files and stdout, sets the exit code. */
export async function finish(
  results: HostResult[],
  report: ReportOptions,
  exitOnFailure: boolean,
  discovery?: Discovery,
  interrupted = false,
) {
  if (interrupted)
    for (const result of results)
      result.notes = [
        ...(result.notes ?? []),
        'interrupted (Ctrl-C): ports still being probed were stopped and show as aborted',
      ];
  const {
    hosts,
    outcome: summary,
    settings,
    published,
  } = judge(results, {
    expectations: report.expectations,
    domainExpectations: report.domainExpectations,
    failOn: report.failOn,
    discovery,
  });
  const extra =
    discovery && settings
      ? { ...discovery, settings, ...(published ? { publishedCheck: published } : {}) }
      : undefined;
  if (interrupted) Object.assign(summary, { passed: false, interrupted: true });
  for (const [format, file] of Object.entries(report.files) as [
    'json' | 'junit' | 'markdown' | 'html',
    string,
  ][]) {
    if (format === 'html') {
      // The HTML renderer is a bundle of its own (dist/cli/html.cjs), loaded only when a page is asked for.
      const { renderHtml, shellCommand } = await import('../render/html.js');
      const command = shellCommand(['mailprobe', ...process.argv.slice(2)]);
      writeReportFile(file, renderHtml(hosts, summary, extra, { command }));
    } else writeReportFile(file, render(format, hosts, summary, report, extra));
  }
  if (report.format === 'plugin') {
    // A monitoring plugin's exit code is its state (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), interrupted or not.
    const plugin = renderPlugin(hosts, summary, report.plugin);
    process.stdout.write(plugin.text);
    process.exitCode = exitOnFailure ? plugin.exitCode : exitCodes.ok;
    return;
  }
  process.stdout.write(
    report.showCerts ? renderChainsPem(results) : render(report.format, hosts, summary, report, extra),
  );
  process.exitCode = interrupted
    ? exitCodes.interrupted
    : exitOnFailure && !summary.passed
      ? exitCodes.findings
      : exitCodes.ok;
}

/** `mailprobe publish` once the domain is probed: what to publish and the difference, printed or written. */
export function publish(
  discovery: Discovery,
  hosts: HostResult[],
  options: { json: boolean; writeDir?: string; overwrite?: boolean },
): void {
  const { hosts: verdicts } = judge(hosts, { discovery });
  const publication = buildPublication(discovery, verdicts);
  const written =
    options.writeDir !== undefined && publication.autoconfig && publication.autodiscover
      ? writePublication(options.writeDir, publication, options.overwrite === true)
      : undefined;
  process.stdout.write(
    options.json
      ? `${inertJson(JSON.stringify(written ? { ...publication, written } : publication, null, 2))}\n`
      : renderPublication(publication, written),
  );
  if (options.writeDir !== undefined && !written)
    process.stderr.write(
      `mailprobe: nothing written to ${options.writeDir}: no port is fit to publish (fix the servers first)\n`,
    );
  process.exitCode =
    publication.offers.length === 0
      ? exitCodes.resolve
      : publication.matches
        ? exitCodes.ok
        : exitCodes.findings;
}

/**
 * `publish --write-dir`: the three documents as files (the folder made when missing, not its parents). Each is written whole or
 * not at all; an existing file is replaced only with --overwrite (else exit 2), a write error is exit 74.
 */
function writePublication(
  dir: string,
  publication: Parameters<typeof renderPublication>[0],
  overwrite: boolean,
): Record<keyof typeof publicationFiles, string> {
  const path = (name: string) => join(dir, name);
  try {
    // Not { recursive: true }: Node's loops forever on some paths (/proc/x); a missing parent is a write error.
    mkdirSync(dir);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw new WriteError(dir, error);
  }
  const documents = {
    autoconfig: publication.autoconfig ?? '',
    autodiscover: publication.autodiscover ?? '',
    srv: srvZone(publication),
  };
  const written = {} as Record<keyof typeof publicationFiles, string>;
  for (const kind of Object.keys(publicationFiles) as (keyof typeof publicationFiles)[]) {
    const target = path(publicationFiles[kind]);
    if (overwrite) writeReportFile(target, documents[kind]);
    else writeNewFile(target, documents[kind], '--overwrite');
    written[kind] = target;
  }
  return written;
}
