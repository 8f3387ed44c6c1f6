// Preloaded (--require) into `mailprobe batch` by test/fleet.test.ts: the largest V8 young generation (new space)
// the batch process itself had, sampled every 10 ms, written as JSON to $MAILPROBE_NEW_SPACE_OUT at its exit.
// Its workers (the same preload, by NODE_OPTIONS) write nothing.
if (process.argv[2] === 'batch') {
  const v8 = require('node:v8');
  let most = 0;
  const sample = () => {
    const space = v8.getHeapSpaceStatistics().find((entry) => entry.space_name === 'new_space');
    most = Math.max(most, space?.space_size ?? 0);
  };
  setInterval(sample, 10).unref();
  process.on('exit', () => {
    sample();
    require('node:fs').writeFileSync(process.env.MAILPROBE_NEW_SPACE_OUT, JSON.stringify({ newSpace: most }));
  });
}
