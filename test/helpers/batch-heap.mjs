// Run with --expose-gc: the heap (and array buffers) of a long batch run, as the CLI runs it (TargetList, parseTarget, runBatch over a
// generator). `node --expose-gc batch-heap.mjs PORT N` probes N targets on 127.0.0.1:PORT (nothing listens there:
// refused at once) and prints JSON: the heap after a full GC once a tenth of the documents are out and at the
// end, and the bytes a line that a TargetList of 1,000,000 lines keeps beside the list's bytes.
import { parseTarget, runBatch, TargetList } from '../../dist/src/modes/batch.js';

const [portText, countText] = process.argv.slice(2);
const count = Number(countText);
const heap = () => {
  globalThis.gc();
  globalThis.gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

// The index beside the list's bytes: a million distinct lines.
const bytes = Buffer.from(
  Array.from({ length: 1_000_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`).join('\n'),
);
const before = heap();
const index = new TargetList(bytes);
const indexBytes = (heap() - before) / index.size;

// N distinct lines (ZGrab2: ip, domain, tag), each probing the one port given.
const ports = [{ port: Number(portText), service: 'smtp' }];
const lines = new TargetList(Array.from({ length: count }, (_, i) => `127.0.0.1,,t${i}`).join('\n'));
function* targets() {
  for (const input of lines) {
    const parsed = parseTarget(input, ports);
    if (!('reason' in parsed)) yield parsed;
  }
}
let documents = 0;
let early;
await runBatch(targets(), {
  limits: undefined,
  onDocument: () => {
    documents++;
    if (documents === Math.floor(count / 10)) early = heap();
  },
});
const late = heap();
process.stdout.write(`${JSON.stringify({ documents, early, late, indexBytes, size: index.size })}\n`);
