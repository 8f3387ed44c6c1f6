/**
 * Fleet rate: `mailprobe batch` over many local fixture hosts (127.2.0.0/16 in a namespace of its own, the
 * seven services on each address), the probes per second, the batch's peak RSS per 10,000 and per 100,000
 * probes, and how many probes of hosts that all answer came back "filtered" or "silent" (target: none).
 * FLEET_PROBES sets the long run's size (default 100000).
 */
import { expect, it } from 'vitest';
import { Netns, netnsMissing, sweepStaleNamespaces } from '../helpers/netns.js';
import { root } from './common.js';

interface Fleet {
  probes: number;
  documents: number;
  seconds: number;
  perSecond: number;
  cpuSeconds: number;
  serverCpuSeconds: number;
  maxRssKb: number;
  statuses: Record<string, number>;
  stderr: string;
}

const missing = netnsMissing();
const long = Number(process.env.FLEET_PROBES ?? 100_000);

it.skipIf(missing !== undefined)(
  'fleet: probes per second, peak RSS, false filtered or silent verdicts',
  async () => {
    sweepStaleNamespaces();
    const lines: string[] = [];
    for (const probes of [10_000, long]) {
      const ns = new Netns();
      try {
        const run = await ns.run(
          process.execPath,
          [`${root}test/bench/fleet-run.mjs`, String(probes)],
          1_800_000,
        );
        expect(run.code, run.stderr).toBe(0);
        const fleet = JSON.parse(run.stdout) as Fleet;
        expect(fleet.documents).toBe(probes);
        const wrong = (fleet.statuses.filtered ?? 0) + (fleet.statuses.silent ?? 0);
        const other = Object.entries(fleet.statuses)
          .filter(([status]) => status !== 'open')
          .map(([status, count]) => `${status} ${count}`);
        lines.push(
          `  ${String(probes).padStart(7)} probes: ${fleet.perSecond.toFixed(0).padStart(5)} probes/s (target >= 1000: ${fleet.perSecond >= 1000 ? 'met' : 'NOT met'}), ` +
            `${fleet.seconds.toFixed(1)} s, CPU: prober ${((fleet.cpuSeconds / probes) * 1000).toFixed(2)} ms a probe, servers ${((fleet.serverCpuSeconds / probes) * 1000).toFixed(2)} ms; peak RSS ${(fleet.maxRssKb / 1024).toFixed(0)} MB, ` +
            `false filtered/silent ${wrong} (target 0: ${wrong === 0 ? 'met' : 'NOT met'})${other.length ? `; not open: ${other.join(', ')}` : ''}`,
        );
      } finally {
        ns.destroy();
      }
    }
    console.log(
      [
        'fleet: mailprobe batch, one port probe a line, 7 per address over 127.2.0.0/16, fixture servers in a process of their own on the same 2 cores:',
        ...lines,
      ].join('\n'),
    );
  },
  3_600_000,
);
