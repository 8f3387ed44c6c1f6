// Runs inside a network namespace (after netns-scenario.mjs started the mail servers): starts `mailprobe serve`
// (with the spec's arguments) and a real Prometheus that scrapes it with examples/prometheus.yml's relabelling
// (the target and the serve address set for the test, the spec's scrape interval, 1 s evaluations; the scrape
// timeout is Prometheus' default, 10 s, or the interval when shorter) and examples/mailprobe-rules.yml, waits
// until the wanted alerts fire, and prints JSON: the scraped series and the firing alerts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const [ca, specText] = process.argv.slice(2);
const spec = JSON.parse(specText);
const wanted = spec.wanted;
const dir = mkdtempSync(join(tmpdir(), 'mailprobe-prometheus-'));
const children = [];
const stop = () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
try {
  children.push(
    spawn(
      process.execPath,
      [
        `${root}bin/mailprobe.cjs`,
        'serve',
        '--listen',
        '127.0.0.1:9925',
        '--ca',
        ca,
        '--min-interval',
        '100',
        ...spec.serveArgs,
      ],
      { stdio: 'ignore', env: { ...process.env, MAILPROBE_NO_CACHE: '1' } },
    ),
  );
  const config = readFileSync(`${root}examples/prometheus.yml`, 'utf8')
    .replace(/scrape_interval: 60s/, `scrape_interval: ${spec.interval}`)
    .replace(/evaluation_interval: 60s/, 'evaluation_interval: 1s')
    .replace(/targets: \[[^\]]*\]/, 'targets: [127.0.0.1]');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  writeFileSync(
    join(dir, 'mailprobe-rules.yml'),
    readFileSync(`${root}examples/mailprobe-rules.yml`, 'utf8'),
  );
  children.push(
    spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        '--web.listen-address=127.0.0.1:9090',
      ],
      { stdio: 'ignore' },
    ),
  );
  const get = async (path) => {
    const response = await fetch(`http://127.0.0.1:9090${path}`);
    return response.json();
  };
  const until = Date.now() + (spec.waitMs ?? 60_000);
  let alerts = [];
  let series = [];
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    try {
      alerts = (await get('/api/v1/alerts')).data.alerts.filter((a) => a.state === 'firing');
      series = (
        await get(
          `/api/v1/query?query=${encodeURIComponent('{__name__=~"mailprobe_port_up|mailprobe_port_safe|mailprobe_port_status|probe_success|up|scrape_duration_seconds"}')}`,
        )
      ).data.result;
      const names = new Set(alerts.map((a) => a.labels.alertname));
      if (wanted.every((name) => names.has(name)) && series.length > 0) break;
    } catch {
      // Prometheus is starting
    }
  }
  process.stdout.write(
    `${JSON.stringify({ alerts: alerts.map((a) => a.labels), series: series.map((s) => ({ ...s.metric, value: s.value[1] })) })}\n`,
  );
} finally {
  stop();
}
