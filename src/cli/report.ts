import { evaluate } from '../rules/evaluate.js';
import { severityRank } from '../rules/finding.js';
import type { PortSpec, ProbeOptions } from '../scan.js';
import { probeHost } from '../scan.js';
import { exitCodes } from './exit.js';
import { useColor } from './options.js';

export interface ReportOptions {
  json: boolean;
  verbose: boolean;
  color: boolean | undefined;
}

/** A spinner on stderr, only for people: an interactive terminal, no JSON, not in CI. */
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

/** Probes, judges, renders, and sets the exit code: the CLI's one job, shared by the default command and demo. */
export async function probeAndReport(
  host: string,
  probe: ProbeOptions & { ports?: PortSpec[] },
  report: ReportOptions,
  exitOnFindings = true,
): Promise<void> {
  const interactive = process.stderr.isTTY === true && !report.json && process.env.CI === undefined;
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
  if (report.json) {
    const { renderJson } = await import('../render/json.js');
    process.stdout.write(renderJson([verdict]));
  } else {
    const { renderHuman } = await import('../render/human.js');
    process.stdout.write(
      renderHuman(verdict, { color: useColor(report.color, process.stdout), verbose: report.verbose }),
    );
  }
  const failing = verdict.findings.some((finding) => severityRank(finding.severity) >= severityRank('high'));
  process.exitCode = exitOnFindings && failing ? exitCodes.findings : exitCodes.ok;
}
