/** Probes, judges, checks expectations, renders, writes report files and sets the exit code. */
import { writeFileSync } from 'node:fs';
import {
  type CheckedHost,
  checkExpectations,
  evaluate,
  outcome,
  type PortExpectation,
  type ProbeOptions,
  probeHost,
  type Severity,
} from '../index.js';
import { exitCodes } from './exit.js';
import { useColor } from './options.js';

export type Format = 'human' | 'json' | 'junit' | 'markdown';

export interface ReportOptions {
  /** What goes to stdout. */
  format: Format;
  /** Reports written to files as well. */
  files: Partial<Record<'json' | 'junit' | 'markdown', string>>;
  verbose: boolean;
  color: boolean | undefined;
  /** Findings at or above this severity fail the run. */
  failOn: Severity;
  expectations?: PortExpectation[] | undefined;
}

/** A spinner on stderr, only for people: an interactive terminal, human output, not in CI. */
async function spinner(enabled: boolean, total: number) {
  if (!enabled) return undefined;
  const { default: ora } = await import('ora');
  let done = 0;
  const spin = ora({ text: `probing ${total} ports`, stream: process.stderr }).start();
  return {
    tick: (port: number) => {
      done++;
      spin.text = `probing: ${done}/${total} done (last ${port})`;
    },
    stop: () => spin.stop(),
  };
}

async function render(
  format: Format,
  hosts: CheckedHost[],
  result: ReturnType<typeof outcome>,
  report: ReportOptions,
) {
  const api = await import('../index.js');
  if (format === 'json') return api.renderJson(hosts, result);
  if (format === 'junit') return api.renderJunit(hosts, result);
  if (format === 'markdown') return api.renderMarkdown(hosts, result);
  return hosts
    .map((host) =>
      api.renderHuman(host, { color: useColor(report.color, process.stdout), verbose: report.verbose }),
    )
    .join('\n');
}

/** The CLI's one job, shared by the default command and demo. Uses only the public API. */
export async function probeAndReport(
  host: string,
  probe: ProbeOptions,
  report: ReportOptions,
  exitOnFailure = true,
): Promise<void> {
  const interactive =
    process.stderr.isTTY === true && report.format === 'human' && process.env.CI === undefined;
  const expected =
    (probe.ports?.length ?? 7) * (probe.family === 'both' || probe.family === undefined ? 2 : 1);
  const spin = await spinner(interactive, expected);
  let result: Awaited<ReturnType<typeof probeHost>>;
  try {
    result = await probeHost(host, {
      ...probe,
      ...(spin ? { onPortDone: (port) => spin.tick(port.port) } : {}),
    });
  } finally {
    spin?.stop();
  }
  const verdict = evaluate(result);
  const checked: CheckedHost = report.expectations
    ? { ...verdict, expectations: checkExpectations(verdict, report.expectations) }
    : verdict;
  const summary = outcome([checked], report.failOn);
  for (const [format, file] of Object.entries(report.files) as ['json' | 'junit' | 'markdown', string][]) {
    writeFileSync(file, await render(format, [checked], summary, report));
  }
  process.stdout.write(await render(report.format, [checked], summary, report));
  process.exitCode = exitOnFailure && !summary.passed ? exitCodes.findings : exitCodes.ok;
}
