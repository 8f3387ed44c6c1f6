/**
 * Fleet rate: `mailprobe batch` over many local fixture hosts (127.2.0.0/16 in a namespace of its own, the seven
 * services on each address, served by test/bench/fleet-server.c), the probes per second with one and two worker
 * processes against the floor (the same dialogues in a minimal Node script, in one and in two processes, same servers, same run), the batch's
 * peak RSS per 10,000 and per 100,000 probes, and how many probes of hosts that all answer came back "filtered" or
 * "silent" (target: none). FLEET_PROBES sets the long run's size (default 100000).
 */
import { expect, it } from 'vitest';
import { Netns, netnsMissing, sweepStaleNamespaces } from '../helpers/netns.js';
import { has, root } from './common.js';

interface Run {
  run: string;
  processes?: number;
  workers?: number;
  probes: number;
  documents?: number;
  /** A floor run that also builds and writes one report document a probe. */
  writesDocuments?: boolean;
  failed?: number;
  seconds: number;
  perSecond: number;
  cpuMsPerProbe: number;
  serverCpuMsPerProbe: number;
  maxRssKb?: number;
  statuses?: Record<string, number>;
}

const missing =
  netnsMissing() ??
  (has('/usr/bin/cc') && has('/usr/include/openssl/ssl.h')
    ? undefined
    : 'needs a C compiler and libssl-dev for the fleet servers (test/bench/setup.sh)');
if (missing) console.warn(`skipping the fleet benchmark: ${missing}`);
const long = Number(process.env.FLEET_PROBES ?? 100_000);

async function fleet(probes: number, args: string[]): Promise<Run[]> {
  const ns = new Netns();
  try {
    const run = await ns.run(
      process.execPath,
      [`${root}test/bench/fleet-run.mjs`, String(probes), ...args],
      1_800_000,
    );
    expect(run.code, run.stderr).toBe(0);
    return (JSON.parse(run.stdout) as { runs: Run[] }).runs;
  } finally {
    ns.destroy();
  }
}

/** The middle value (the upper one of an even count). */
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const plainRuns = Number(process.env.FLEET_PLAIN_ROUNDS ?? 3);
const tlsRuns = Number(process.env.FLEET_TLS_ROUNDS ?? 3);

it.skipIf(missing !== undefined)(
  'fleet: probes per second against the floor, peak RSS, false filtered or silent verdicts',
  async () => {
    sweepStaleNamespaces();
    const lines: string[] = [];
    const describe = (run: Run, floors: Run[]) => {
      // Each mailprobe run against the floor in as many processes.
      const floor = floors.find((candidate) => candidate.processes === run.workers);
      const wrong = (run.statuses?.filtered ?? 0) + (run.statuses?.silent ?? 0);
      const other = Object.entries(run.statuses ?? {})
        .filter(([status]) => status !== 'open')
        .map(([status, count]) => `${status} ${count}`);
      if (run.documents !== undefined) expect(run.documents).toBe(run.probes);
      return (
        `  ${run.run.padEnd(22)} ${String(run.probes).padStart(7)} probes: ${run.perSecond.toFixed(0).padStart(5)} probes/s` +
        (run.workers === undefined
          ? ''
          : ` (target >= 1000: ${run.perSecond >= 1000 ? 'met' : 'NOT met'}${floor ? `; ${(run.perSecond / floor.perSecond).toFixed(2)}x the floor` : ''})`) +
        `, CPU a probe ${run.cpuMsPerProbe.toFixed(2)} ms (servers ${run.serverCpuMsPerProbe.toFixed(2)} ms)` +
        (run.maxRssKb === undefined
          ? ''
          : `; peak RSS ${(run.maxRssKb / 1024).toFixed(0)} MB, false filtered/silent ${wrong} (target 0: ${wrong === 0 ? 'met' : 'NOT met'})${other.length ? `; not open: ${other.join(', ')}` : ''}`)
      );
    };
    // TLS dialogues, 10,000 probes a round, in tlsRuns rounds (the rate on a shared machine moves by ±10 % from
    // one run to the next): each round the floor in one and two processes, then mailprobe with one and two
    // workers (two: the default here); the ratios' medians against the targets.
    const ratios: Record<string, number[]> = {};
    for (let round = 0; round < tlsRuns; round++) {
      const short = await fleet(10_000, ['1,2']);
      const floors = short.filter((run) => run.processes !== undefined);
      lines.push(`  round ${round + 1}:`);
      for (const run of short) {
        lines.push(describe(run, floors));
        const floor = floors.find((candidate) => candidate.processes === run.workers);
        if (run.workers !== undefined && floor)
          ratios[run.run] = [...(ratios[run.run] ?? []), run.perSecond / floor.perSecond];
      }
    }
    for (const [run, values] of Object.entries(ratios)) {
      const middle = median(values);
      lines.push(
        `  ${run}: median ${middle.toFixed(2)} x the floor in as many processes over ${values.length} rounds (target >= 0.95 with the default workers: ${middle >= 0.95 ? 'met' : 'NOT met'})`,
      );
    }
    for (const run of await fleet(long, ['2', '--no-floor'])) lines.push(describe(run, []));
    console.log(
      [
        'fleet: mailprobe batch, one port probe a line, 7 per address over 127.2.0.0/16; the C servers (ECDSA P-256 leaf) share the 2 cores:',
        ...lines,
      ].join('\n'),
    );
  },
  3_600_000,
);

it.skipIf(missing !== undefined)(
  'fleet, plaintext SMTP dialogues: probes per second against the floor in as many processes, same run',
  async () => {
    sweepStaleNamespaces();
    // Greeting, EHLO, QUIT on a server that offers no STARTTLS (fleet-server.c's smtp-plain), one an address.
    // Each round: the floor in one and in as many processes as the default workers, then mailprobe with
    // --workers 1 and with the default; the ratios are mailprobe's rate over the floor's in as many processes.
    const lines = [
      `fleet, plaintext SMTP dialogues (10,000 port probes a run, ${plainRuns} rounds; targets: >= 3500 probes/s and >= 0.9 x the floor in as many processes):`,
    ];
    const ratios: Record<string, number[]> = {};
    // A reference beside the target's: the floor that also builds and writes one report document a probe
    // (fleet-floor.mjs FLOOR_DOCUMENT), in as many processes as the default workers.
    const withDocuments: number[] = [];
    const documentsOverFloor: number[] = [];
    for (let round = 0; round < plainRuns; round++) {
      const runs = await fleet(10_000, ['1,default', '--plain', '--documents']);
      const floors = runs.filter((run) => run.processes !== undefined && !run.writesDocuments);
      const writing = runs.find((run) => run.writesDocuments);
      const parts: string[] = [];
      for (const run of runs) {
        if (run.processes !== undefined) {
          parts.push(`${run.run} ${run.perSecond.toFixed(0)}/s (${run.cpuMsPerProbe.toFixed(2)} ms CPU)`);
          if (run.writesDocuments) {
            const floor = floors.find((candidate) => candidate.processes === run.processes);
            if (floor) documentsOverFloor.push(run.perSecond / floor.perSecond);
          }
          continue;
        }
        const floor = floors.find((candidate) => candidate.processes === run.workers);
        const ratio = floor ? run.perSecond / floor.perSecond : Number.NaN;
        ratios[run.run] = [...(ratios[run.run] ?? []), ratio];
        if (writing && writing.processes === run.workers)
          withDocuments.push(run.perSecond / writing.perSecond);
        parts.push(
          `${run.run} ${run.perSecond.toFixed(0)}/s (${run.cpuMsPerProbe.toFixed(2)} ms CPU) = ${ratio.toFixed(2)} x the floor in ${run.workers}`,
        );
      }
      lines.push(`  round ${round + 1}: ${parts.join('; ')}`);
    }
    for (const [run, values] of Object.entries(ratios)) {
      const middle = median(values);
      lines.push(
        `  ${run}: median ${middle.toFixed(2)} x the floor (target >= 0.9: ${middle >= 0.9 ? 'met' : 'NOT met'})`,
      );
    }
    lines.push(
      `  reference: the floor that also writes one document a probe runs at ${median(documentsOverFloor).toFixed(2)} x the floor; the default is ${median(withDocuments).toFixed(2)} x that (medians)`,
    );
    console.log(lines.join('\n'));
  },
  3_600_000,
);

it.skipIf(missing !== undefined)(
  'fleet memory: peak RSS at 10,000, 100,000 and 1,000,000 targets with the default options, and the slope',
  async () => {
    sweepStaleNamespaces();
    // Plaintext SMTP targets (the cheapest full dialogue), one an address, default options (no --workers).
    const sizes = (process.env.FLEET_MEMORY_SIZES ?? '10000,100000,1000000').split(',').map(Number);
    const points: { targets: number; mb: number; perSecond: number }[] = [];
    for (const targets of sizes) {
      const [run] = await fleet(targets, ['default', '--plain', '--no-floor']);
      if (!run?.maxRssKb) continue;
      expect(run.documents).toBe(targets);
      points.push({ targets, mb: run.maxRssKb / 1024, perSecond: run.perSecond });
    }
    const first = points[0];
    const last = points.at(-1);
    const slope =
      first && last && last.targets > first.targets
        ? ((last.mb - first.mb) / (last.targets - first.targets)) * 100_000
        : Number.NaN;
    const million = points.find((point) => point.targets === 1_000_000);
    console.log(
      [
        'fleet memory: peak RSS of the largest batch process (the parent or a worker), default options, plaintext SMTP targets:',
        ...points.map(
          (point) =>
            `  ${String(point.targets).padStart(9)} targets: ${point.mb.toFixed(0).padStart(4)} MB (${point.perSecond.toFixed(0)} probes/s)`,
        ),
        `  slope: ${slope.toFixed(1)} MB per 100,000 targets${million ? `; at 1,000,000: ${million.mb.toFixed(0)} MB (target <= 150: ${million.mb <= 150 ? 'met' : 'NOT met'})` : ''}`,
      ].join('\n'),
    );
  },
  7_200_000,
);
