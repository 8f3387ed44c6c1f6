// Runs inside a network namespace (ip netns exec NS node this-file SPEC): a DNS rebinding attack on
// `mailprobe serve --allow`. A tiny DNS server on 127.0.0.1:53 (the namespace's resolv.conf names it, so the
// system resolver asks it too) answers every A query for the name with TTL 0, alternately an allowed address
// (192.0.2.1, with no route in the namespace) and 127.0.0.1, where a TCP server counts the connections it gets.
// Starts the built CLI's `serve` with the spec's arguments, asks for the spec's number of probes of the name,
// and prints JSON: the connections the server behind 127.0.0.1 received, the bytes it read, and each answer.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const spec = JSON.parse(process.argv[2] ?? '{}');
const name = spec.name ?? 'rebind.test';
const answers = ['192.0.2.1', '127.0.0.1'];
let aQueries = 0;

/** A DNS answer: the question echoed, and one A record with TTL 0 (none for other types). */
function reply(query) {
  const id = query.subarray(0, 2);
  let offset = 12;
  while (offset < query.length && query[offset] !== 0) offset += (query[offset] ?? 0) + 1;
  const question = query.subarray(12, offset + 5);
  const type = query.readUInt16BE(offset + 1);
  const header = Buffer.alloc(12);
  id.copy(header, 0);
  header.writeUInt16BE(0x8180, 2); // a response, recursion desired and available, NOERROR
  header.writeUInt16BE(1, 4);
  if (type !== 1) return Buffer.concat([header, question]);
  header.writeUInt16BE(1, 6);
  const address = answers[aQueries++ % 2] ?? '';
  const record = Buffer.alloc(16);
  record.writeUInt16BE(0xc00c, 0); // the name, as a pointer to the question's
  record.writeUInt16BE(1, 2); // A
  record.writeUInt16BE(1, 4); // IN
  record.writeUInt32BE(0, 6); // TTL 0
  record.writeUInt16BE(4, 10);
  Buffer.from(address.split('.').map(Number)).copy(record, 12);
  return Buffer.concat([header, question, record]);
}

const dns = dgram.createSocket('udp4');
dns.on('message', (query, from) => {
  try {
    dns.send(reply(query), from.port, from.address);
  } catch {
    // a malformed query gets no answer
  }
});
await new Promise((resolve) => dns.bind(53, '127.0.0.1', resolve));

let connections = 0;
let bytes = 0;
const inside = net.createServer((socket) => {
  connections++;
  socket.on('data', (chunk) => (bytes += chunk.length));
  socket.on('error', () => {});
  socket.write('220 inside.test ESMTP\r\n');
});
await new Promise((resolve) => inside.listen(587, '127.0.0.1', resolve));

const serve = spawn(
  process.execPath,
  [`${root}dist/src/cli/main.js`, 'serve', '--listen', '127.0.0.1:9925', '--min-interval', '1', ...spec.args],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
let stderr = '';
serve.stderr.on('data', (chunk) => (stderr += chunk));
const results = [];
try {
  for (let i = 0; i < 50 && !stderr.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < (spec.probes ?? 6); i++) {
    const response = await fetch(`http://127.0.0.1:9925/probe?target=${name}&module=submission`);
    results.push({ code: response.status, body: await response.text() });
    await new Promise((r) => setTimeout(r, 10));
  }
} finally {
  serve.kill('SIGKILL');
  dns.close();
  inside.close();
}
process.stdout.write(`${JSON.stringify({ connections, bytes, aQueries, results, stderr })}\n`);
