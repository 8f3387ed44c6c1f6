// Run with --expose-gc: the heap (and array buffers) of a long batch run, as the CLI runs it (TargetList, parseTarget, runBatch over a
// generator). `node --expose-gc batch-heap.mjs PORT N` probes N targets on 127.0.0.1:PORT (nothing listens there:
// refused at once) and prints JSON: the heap after a full GC once a tenth of the documents are out and at the
// end, and the bytes a line that a TargetList of 1,000,000 lines in a file keeps (heap and array buffers).
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTarget, runBatch, TargetList } from '../../dist/src/modes/batch.js';

const [portText, countText] = process.argv.slice(2);
const count = Number(countText);
const heap = () => {
  globalThis.gc();
  globalThis.gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

// What a list of a million distinct lines in a file keeps (it reads the file where it is: never its bytes).
const dir = mkdtempSync(join(tmpdir(), 'mailprobe-heap-'));
const file = join(dir, 'list.txt');
writeFileSync(
  file,
  Array.from(
    { length: 1_000_000 },
    (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255},587,submission`,
  ).join('\n'),
);
const fd = openSync(file, 'r');
const before = heap();
const index = new TargetList({ fd });
const indexBytes = (heap() - before) / index.size;
closeSync(fd);
rmSync(dir, { recursive: true });

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
