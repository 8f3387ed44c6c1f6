// The fleet benchmark's floor: the least a Node process does for the same probes. For each `address,port,service`
// line of the target file: connect, read the greeting, ask for the capabilities, upgrade with STARTTLS/STLS where
// the service uses it (or start with TLS), read the certificate, ask again over TLS, say QUIT/LOGOUT and read the
// answer; no judging, no report, only a count. `node fleet-floor.mjs TARGETS CA [CONCURRENCY] [I/N]` (lines I, I+N,
// I+2N, ... when I/N is given: one of N processes) prints JSON with the probes per second and its own CPU.
// FLOOR_DOCUMENT=TEMPLATE FLOOR_OUT=FILE: besides, for each probe, build a report document from TEMPLATE (one of
// mailprobe's NDJSON lines, parsed afresh), set its input and time, serialise it and append it to FILE, as a tool
// that writes one document a probe must at the least; nothing in it is judged or observed (a reference only).
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const [file, caFile, concurrencyText = '64', part = '1/1'] = process.argv.slice(2);
const [index, count] = part.split('/').map(Number);
const lines = readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .filter((_, i) => i % count === index - 1);
const context = tls.createSecureContext({ ca: [...tls.rootCertificates, readFileSync(caFile, 'utf8')] });
const implicit = new Set(['submissions', 'imaps', 'pop3s']);
const protocolOf = (service) =>
  service.startsWith('imap') ? 'imap' : service.startsWith('pop3') ? 'pop3' : 'smtp';
const steps = {
  smtp: { capabilities: 'EHLO [127.0.0.1]', upgrade: 'STARTTLS', quit: 'QUIT' },
  imap: { capabilities: 'a CAPABILITY', upgrade: 'b STARTTLS', quit: 'c LOGOUT' },
  pop3: { capabilities: 'CAPA', upgrade: 'STLS', quit: 'QUIT' },
};

/** Reads until `done(text)` says the reply is whole. */
function reply(socket, done) {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk) => {
      text += chunk.toString('latin1');
      if (!done(text)) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve(text);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

const whole = {
  smtp: (text) => /(^|\n)\d{3} [^\n]*\n$/.test(text),
  imap: (text) => /(^|\n)(\* OK|[abc] )[^\n]*\n$/.test(text),
  pop3: (text) => /\n$/.test(text) && (!text.startsWith('+OK\r\n') || /\r\n\.\r\n$/.test(text)),
};

function secure(options) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...options, secureContext: context, rejectUnauthorized: false }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

async function probe(line) {
  const [host, portText, service] = line.split(',');
  const port = Number(portText);
  const protocol = protocolOf(service);
  const step = steps[protocol];
  const done = whole[protocol];
  const ask = async (socket, command) => {
    const answer = reply(socket, done);
    socket.write(`${command}\r\n`);
    return answer;
  };
  let socket;
  if (implicit.has(service)) {
    socket = await secure({ host, port });
    socket.getPeerX509Certificate();
    await reply(socket, done);
  } else {
    const plain = net.connect({ host, port });
    await reply(plain, done);
    const capabilities = await ask(plain, step.capabilities);
    // A server that offers no upgrade (the plaintext SMTP dialogues): QUIT, as mailprobe does.
    if (!/STARTTLS|STLS/.test(capabilities)) {
      await ask(plain, step.quit);
      plain.destroy();
      return;
    }
    await ask(plain, step.upgrade);
    socket = await secure({ socket: plain });
    socket.getPeerX509Certificate();
  }
  await ask(socket, step.capabilities);
  await ask(socket, step.quit);
  socket.destroy();
}

const template = process.env.FLOOR_DOCUMENT
  ? readFileSync(process.env.FLOOR_DOCUMENT, 'utf8').trim()
  : undefined;
const out = template && process.env.FLOOR_OUT ? openSync(process.env.FLOOR_OUT, 'a') : undefined;
let pending = '';
function document(line) {
  if (template === undefined || out === undefined) return;
  const doc = JSON.parse(template);
  doc.input = line;
  doc.generatedAt = new Date().toISOString();
  pending += `${JSON.stringify(doc)}\n`;
  if (pending.length >= 65_536) {
    writeSync(out, pending);
    pending = '';
  }
}

let next = 0;
let failed = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: Number(concurrencyText) }, async () => {
    while (next < lines.length) {
      const line = lines[next++];
      await probe(line).then(
        () => document(line),
        () => failed++,
      );
    }
  }),
);
if (out !== undefined) {
  writeSync(out, pending);
  closeSync(out);
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage();
process.stdout.write(
  `${JSON.stringify({ probes: lines.length, failed, seconds, perSecond: lines.length / seconds, cpuMsPerProbe: (cpu.user + cpu.system) / 1000 / lines.length })}\n`,
);
