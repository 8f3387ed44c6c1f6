/**
 * A filtered port: the time to a full report with port 25 dropped on the way, against nmap's connect scan of
 * the same seven ports (interleaved), and the early rule's wrong verdicts under random loss on live ports
 * (iptables `statistic` drops in a namespace: this kernel has no netem).
 */
import { expect, it } from 'vitest';
import { Netns, netnsMissing, sweepStaleNamespaces } from '../helpers/netns.js';
import { bin, figure, has, root, rounds, timer } from './common.js';

const missing = netnsMissing() ?? (has('nmap') ? undefined : 'needs nmap (test/bench/setup.sh)');
const ca = `${root}fixtures/tls/ca.pem`;
const servers = [
  { protocol: 'smtp', tls: 'starttls', port: 25, host: '127.0.0.1' },
  { protocol: 'smtp', tls: 'implicit', port: 465, host: '127.0.0.1' },
  { protocol: 'smtp', tls: 'starttls', port: 587, host: '127.0.0.1' },
  { protocol: 'imap', tls: 'starttls', port: 143, host: '127.0.0.1' },
  { protocol: 'imap', tls: 'implicit', port: 993, host: '127.0.0.1' },
  { protocol: 'pop3', tls: 'starttls', port: 110, host: '127.0.0.1' },
  { protocol: 'pop3', tls: 'implicit', port: 995, host: '127.0.0.1' },
];
const probe = [process.execPath, bin, '127.0.0.1', '--ca', ca, '--servername', 'localhost', '--json'];

it.skipIf(missing !== undefined)(
  'port 25 dropped: the full report against an nmap connect scan',
  async () => {
    sweepStaleNamespaces();
    const ns = new Netns();
    try {
      ns.exec('iptables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '25', '-j', 'DROP');
      const spec = {
        rounds: Math.max(5, Math.floor(rounds / 2)),
        repeat: 1,
        reference: ['nmap', '-Pn', '-sT', '-n', '-p', '25,465,587,143,993,110,995', '127.0.0.1'],
        candidates: { mailprobe: probe, waiting: [...probe, '--no-fast-filtered'] },
      };
      const run = await ns.scenario({ servers, run: [process.execPath, timer, JSON.stringify(spec)] });
      const result = JSON.parse(run.stdout) as Record<string, { ms: number; ratio: number }>;
      console.log(
        [
          `port 25 dropped on the way, seven ports (median of ${spec.rounds} rounds; nmap -sT = ${(result.reference as unknown as number).toFixed(0)} ms):`,
          figure(
            'mailprobe 127.0.0.1, filtered decided early',
            result.mailprobe as { ms: number; ratio: number },
            1.1,
          ),
          figure(
            'mailprobe --no-fast-filtered (the 5 s deadline)',
            result.waiting as { ms: number; ratio: number },
          ),
        ].join('\n'),
      );
      expect((result.mailprobe as { ms: number }).ms).toBeGreaterThan(0);
    } finally {
      ns.destroy();
    }
  },
);

it.skipIf(netnsMissing() !== undefined)(
  'wrong "filtered" verdicts on live ports under random loss',
  async () => {
    sweepStaleNamespaces();
    const runs = Number(process.env.BENCH_LOSS_RUNS ?? 20);
    const lines = [
      `early "filtered" on live ports under random loss (${runs} runs of seven live ports each):`,
    ];
    for (const loss of [0, 0.05, 0.3]) {
      const ns = new Netns();
      try {
        if (loss > 0)
          ns.exec(
            'iptables',
            '-A',
            'INPUT',
            '-m',
            'statistic',
            '--mode',
            'random',
            '--probability',
            String(loss),
            '-j',
            'DROP',
          );
        let early = 0;
        let deadline = 0;
        let armed = 0;
        const script = `
        const { spawnSync } = require('node:child_process');
        const out = [];
        for (let i = 0; i < ${runs}; i++) {
          const r = spawnSync(${JSON.stringify(process.execPath)}, ${JSON.stringify([bin, '127.0.0.1', '--ca', ca, '--servername', 'localhost', '--json', '--timeout', '2000'])}, { encoding: 'utf8' });
          out.push(r.stdout);
        }
        process.stdout.write(JSON.stringify(out));`;
        const run = await ns.scenario({ servers, run: [process.execPath, '-e', script] });
        for (const text of JSON.parse(run.stdout) as string[]) {
          const report = JSON.parse(text) as {
            hosts: { ports: { status: string; filteredEarly?: object }[] }[];
          };
          for (const port of report.hosts[0]?.ports ?? []) {
            if (port.filteredEarly) early++;
            else if (port.status === 'filtered') deadline++;
            if (port.filteredEarly) armed++;
          }
        }
        lines.push(
          `  loss ${String(loss * 100).padStart(2)}%: ${early} wrong early verdicts (target 0), ${deadline} ports filtered at the connect deadline (every SYN lost for 2 s), of ${runs * 7} live ports`,
        );
        void armed;
      } finally {
        ns.destroy();
      }
    }
    console.log(lines.join('\n'));
    expect(lines.length).toBe(4);
  },
);
