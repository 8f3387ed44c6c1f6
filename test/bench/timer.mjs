// Times commands against a reference, interleaved (run it where they must run, inside a namespace for instance):
//   node timer.mjs '{"rounds":15,"repeat":3,"reference":["node","-e","0"],"candidates":{"name":["cmd",…]},"env":{}}'
// Each round rotates the order and runs the reference and every candidate `repeat` times, keeping each one's
// minimum; the per-round ratio is candidate ÷ reference. Prints JSON: { reference: ms, name: { ms, ratio } }
// with the medians over the rounds. A candidate may be a list of commands, timed as their sum.
import { spawnSync } from 'node:child_process';

const spec = JSON.parse(process.argv[2] ?? '{}');
const rounds = spec.rounds ?? 15;
const repeat = spec.repeat ?? 3;
const env = { ...process.env, ...(spec.env ?? {}) };
const entries = [
  ['reference', [spec.reference]],
  ...Object.entries(spec.candidates).map(([name, cmd]) => [name, Array.isArray(cmd[0]) ? cmd : [cmd]]),
];

const once = (commands) => {
  let total = 0;
  for (const [file, ...args] of commands) {
    const start = performance.now();
    spawnSync(file, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
    total += performance.now() - start;
  }
  return total;
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const times = Object.fromEntries(entries.map(([name]) => [name, []]));
const ratios = Object.fromEntries(entries.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++) {
  const order = [...entries.slice(round % entries.length), ...entries.slice(0, round % entries.length)];
  const best = {};
  for (const [name, commands] of order) {
    best[name] = Math.min(...Array.from({ length: repeat }, () => once(commands)));
    times[name].push(best[name]);
  }
  for (const [name] of entries) ratios[name].push(best[name] / best.reference);
}
const out = { reference: median(times.reference) };
for (const [name] of entries.slice(1)) out[name] = { ms: median(times[name]), ratio: median(ratios[name]) };
process.stdout.write(`${JSON.stringify(out)}\n`);
