/**
 * A TLS port whose server answers every handshake with an alert: the whole run, against the same run on a working
 * implicit-TLS port (both interleaved, against node -e 0). No second connection follows an alert, so the two
 * should be close; before that rule the alert port took 5.07 s (a plaintext cross-check waiting for a greeting).
 */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { bin, figure, root, rounds, timeHere } from './common.js';

it('a TLS alert from the server: the run against a working TLS port', async () => {
  const host = spawn(process.execPath, [`${root}test/bench/alert-host.mjs`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const ports = await new Promise<{ alert: number; good: number }>((resolve) =>
      host.stdout.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()))),
    );
    const probe = (port: number) => [process.execPath, bin, '127.0.0.1', '--port', `${port}=imaps`, '--json'];
    const ca = ['--ca', `${root}fixtures/tls/ca.pem`];
    const working = timeHere({
      rounds,
      repeat: 3,
      reference: [...probe(ports.good), ...ca],
      candidates: { alert: [...probe(ports.alert), ...ca] },
    });
    const alone = timeHere({
      rounds,
      repeat: 3,
      reference: [process.execPath, '-e', '0'],
      candidates: { alert: [...probe(ports.alert), ...ca] },
    });
    console.log(
      [
        `a TLS alert from the server, one port (median of ${rounds} interleaved rounds):`,
        figure('against the same run on a working TLS port', working.alert as { ms: number; ratio: number }),
        figure('against node -e 0', alone.alert as { ms: number; ratio: number }),
      ].join('\n'),
    );
    expect(working.reference).toBeGreaterThan(0);
  } finally {
    host.stdin.end();
  }
});
