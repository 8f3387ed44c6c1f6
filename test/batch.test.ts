/**
 * Batch mode: targets in, one document per target out, sharding whose union is the whole, per-address limits,
 * back-off on a rate-limit reply, resume from a partial output.
 */
import { type ChildProcess, execFile, execFileSync, fork, spawn } from 'node:child_process';
import {
  closeSync,
  linkSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture, startRawServer } from '../src/demo/servers.js';
import { parseShard, parseTargets, runBatch, shardOf } from '../src/modes/batch.js';
import { localWorker, serveBatchWorker } from '../src/modes/batch-channel.js';
import { runBatchInWorkers, workerOf } from '../src/modes/batch-workers.js';
import type { PortResult } from '../src/types/index.js';
import { cli, mainScript } from './helpers/cli.js';
import { validReport } from './helpers/schema.js';

interface Doc {
  input: string;
  result: { passed: boolean; error?: { exitCode: number; message: string } };
  hosts: { ports: PortResult[] }[];
}

/** A document's port on 127.0.0.1 ('localhost' may resolve to ::1 as well). */
const onV4 = (doc: Doc) => doc.hosts[0]?.ports.find((port) => port.address === '127.0.0.1');

/** Writes a batch target file of `lines` in `dir` and gives its path. */
function targetFile(dir: string, name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const docs = (stdout: string): Doc[] =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => validReport<Doc>(line));

/**
 * A server handler that greets late with a refusal and hangs up itself (so each connection's end is known here,
 * not a moment later when the client's FIN arrives), counting the connections open at once over every server it
 * is given to, and when each was accepted.
 */
function slowRefusals(delayMs: number) {
  const counter = { open: 0, most: 0, accepted: [] as number[] };
  const handle = (socket: net.Socket) => {
    counter.open++;
    counter.most = Math.max(counter.most, counter.open);
    counter.accepted.push(performance.now());
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      counter.open--;
    };
    socket.on('close', end);
    setTimeout(() => {
      end();
      socket.end('554 no service here\r\n');
    }, delayMs);
  };
  return { counter, handle };
}

describe('parseTargets', () => {
  it('reads hosts, host,port,service and ZGrab2 CSV; skips comments, blanks and repeats; reports bad lines', () => {
    const { targets, errors } = parseTargets(
      [
        '# fleet',
        'mail.example.com',
        '',
        '192.0.2.7,2525,submission',
        '198.51.100.1,mx.example.net,tag1',
        '198.51.100.2,,tag2,993',
        'mail.example.com',
        'a,b',
        '198.51.100.3,,tag,2525',
        'not a host',
        '192.0.2.8,99999,smtp',
      ].join('\n'),
    );
    expect(
      targets.map((t) => [t.input, t.host, t.ports.map((p) => `${p.port}/${p.service}`).join(' ')]),
    ).toEqual([
      [
        'mail.example.com',
        'mail.example.com',
        '25/smtp 465/submissions 587/submission 143/imap 993/imaps 110/pop3 995/pop3s',
      ],
      ['192.0.2.7,2525,submission', '192.0.2.7', '2525/submission'],
      [
        '198.51.100.1,mx.example.net,tag1',
        'mx.example.net',
        '25/smtp 465/submissions 587/submission 143/imap 993/imaps 110/pop3 995/pop3s',
      ],
      ['198.51.100.2,,tag2,993', '198.51.100.2', '993/imaps'],
    ]);
    expect(errors.map((e) => e.input)).toEqual([
      'a,b',
      '198.51.100.3,,tag,2525',
      'not a host',
      '192.0.2.8,99999,smtp',
    ]);
    expect(errors.every((e) => e.reason.length > 0)).toBe(true);
  });

  it('a misspelt service or a numeric ZGrab2 domain is a bad line, never an address nobody named', () => {
    // Read as ZGrab2 (ip, domain, tag), "12510" resolves to 0.0.48.222 (inet_aton's one-number form).
    const { targets, errors } = parseTargets(
      [
        '127.0.0.1,12510,nosuch',
        '127.0.0.1,587,Submission',
        '10.0.0.1,127.1,tag',
        '10.0.0.2,192.0.2.9,tag',
      ].join('\n'),
    );
    expect(errors).toEqual([
      {
        input: '127.0.0.1,12510,nosuch',
        reason: expect.stringMatching(/^'nosuch' is not a service \(one of smtp,/),
      },
      { input: '10.0.0.1,127.1,tag', reason: "the ZGrab2 domain field '127.1' is a number, not a domain" },
    ]);
    expect(targets.map((t) => [t.host, t.ports.map((p) => `${p.port}/${p.service}`).join(' ')])).toEqual([
      ['127.0.0.1', '587/submission'],
      ['192.0.2.9', '25/smtp 465/submissions 587/submission 143/imap 993/imaps 110/pop3 995/pop3s'],
    ]);
  });

  it('a number form that is not an IPv4 address as written is a bad line, never the address a resolver reads', () => {
    // inet_aton reads 127.0.0.010 as 127.0.0.8 (octal), 127.1 and 2130706433 as 127.0.0.1.
    const lines = [
      '127.0.0.010,25,smtp',
      '127.1',
      '0x7f.1',
      '2130706433,587,submission',
      '198.51.100.9,,tag',
    ];
    const { targets, errors } = parseTargets([...lines, '10.0.0.3,,tag,25'].join('\n'));
    expect(errors).toEqual(
      lines.slice(0, 4).map((input) => ({
        input,
        reason: `'${input.split(',')[0]}' is not a valid IPv4 address`,
      })),
    );
    expect(targets.map((t) => t.host)).toEqual(['198.51.100.9', '10.0.0.3']);
  });

  it('a ZGrab2 port that is not digits, or a fifth field, is a bad line', () => {
    const { targets, errors } = parseTargets(
      ['127.0.0.1,,tag,0x19', '127.0.0.1,,tag,2.5e1', '127.0.0.1,,tag,25,junk', '127.0.0.2,,tag,25'].join(
        '\n',
      ),
    );
    expect(errors.map((e) => e.input)).toEqual([
      '127.0.0.1,,tag,0x19',
      '127.0.0.1,,tag,2.5e1',
      '127.0.0.1,,tag,25,junk',
    ]);
    expect(errors[0]?.reason).toBe("the ZGrab2 port field '0x19' is not a port number");
    expect(targets.map((t) => `${t.host} ${t.ports.map((p) => p.port).join()}`)).toEqual(['127.0.0.2 25']);
  });

  it('a line over 1 KiB is a bad line: its document could not say which line it answers', () => {
    const pad = ' '.repeat(1100);
    const { targets, errors } = parseTargets(
      [`127.0.0.1${pad},25,smtp`, `127.0.0.1${pad},26,smtp`, '127.0.0.1,27,smtp'].join('\n'),
    );
    // Both are bad lines; with the same first KiB and length they are one `input`, so one document says it.
    expect(errors).toHaveLength(1);
    expect(errors[0]?.reason).toBe('the line is longer than 1024 bytes; no target line is');
    expect(targets.map((t) => t.ports[0]?.port)).toEqual([27]);
  });

  it('gives the ports asked for (--ports/--port) to every line that names only a host; a line with a port keeps it', () => {
    const asked = [
      { port: 587, service: 'submission' as const },
      { port: 2525, service: 'submission' as const },
    ];
    const { targets } = parseTargets(
      [
        'mail.example.com',
        '192.0.2.7,2526,smtp',
        '198.51.100.1,mx.example.net,tag1',
        '198.51.100.2,,tag2,993',
      ].join('\n'),
      asked,
    );
    expect(targets.map((t) => [t.host, t.ports.map((p) => `${p.port}/${p.service}`).join(' ')])).toEqual([
      ['mail.example.com', '587/submission 2525/submission'],
      ['192.0.2.7', '2526/smtp'],
      ['mx.example.net', '587/submission 2525/submission'],
      ['198.51.100.2', '993/imaps'],
    ]);
  });
});

describe('sharding', () => {
  const inputs = Array.from({ length: 2000 }, (_, i) => `host${i}.example.com`);

  it('n shards cover every target exactly once, for several n', () => {
    for (const count of [1, 2, 3, 7, 16]) {
      const seen = new Map<string, number>();
      for (let index = 1; index <= count; index++) {
        for (const input of inputs.filter((line) => shardOf(line, count) === index))
          seen.set(input, (seen.get(input) ?? 0) + 1);
      }
      expect(seen.size).toBe(inputs.length);
      expect([...seen.values()].every((times) => times === 1)).toBe(true);
    }
  });

  it('is stable: the same line lands in the same shard on every run and machine (FNV-1a of the line)', () => {
    // FNV-1a 32-bit of "a" is 0xe40c292c (the published test vector); 0xe40c292c % 4 = 0, so shard 1 of 4.
    expect(shardOf('a', 4)).toBe((0xe40c292c % 4) + 1);
    expect(shardOf('foobar', 1000)).toBe((0xbf9cf968 % 1000) + 1);
  });

  it('spreads targets roughly evenly', () => {
    const sizes = [1, 2, 3, 4].map((index) => inputs.filter((line) => shardOf(line, 4) === index).length);
    for (const size of sizes) expect(size).toBeGreaterThan(400);
  });

  it('rejects a shard that is not I/N with 1 <= I <= N', () => {
    for (const bad of ['0/3', '4/3', '1/0', 'x', '1/', '/2'])
      expect(() => parseShard(bad)).toThrow(/--shard/);
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
  });
});

describe('mailprobe batch (the CLI)', () => {
  let good: Fixture;
  let dir: string;
  let file: string;
  let lines: string[];

  beforeAll(async () => {
    good = await startFixture({ protocol: 'smtp', tls: 'starttls' });
    dir = mkdtempSync(join(tmpdir(), 'mailprobe-batch-'));
    // Working servers, refused ports on other loopback addresses, names that do not resolve, bad lines.
    lines = [
      ...Array.from({ length: 6 }, (_, i) => `127.0.0.1,${good.port},${i % 2 ? 'submission' : 'smtp'}`).slice(
        0,
        2,
      ),
      ...Array.from({ length: 12 }, (_, i) => `127.0.9.${i + 1},${good.port},submission`),
      'nothing-here.invalid',
      'not a host',
      'x,y',
    ];
    file = targetFile(dir, 'targets.txt', lines);
  });
  afterAll(() => good.close());

  it('writes one valid document per input line, with a status for each, and exits 1 when any failed', async () => {
    const run = await cli(['batch', file, '--timeout', '2000', '--quiet', '--ca', 'fixtures/tls/ca.pem']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const out = docs(run.stdout);
    expect(out.map((d) => d.input).sort()).toEqual([...lines].sort());
    const byInput = new Map(out.map((d) => [d.input, d]));
    expect(byInput.get(`127.0.0.1,${good.port},submission`)?.hosts[0]?.ports[0]?.status).toBe('open');
    expect(byInput.get(`127.0.9.1,${good.port},submission`)?.hosts[0]?.ports[0]?.status).toBe('refused');
    expect(byInput.get('nothing-here.invalid')?.result.error?.exitCode).toBe(3);
    expect(byInput.get('not a host')?.result.error?.exitCode).toBe(2);
    expect(byInput.get('x,y')?.result.error?.message).toMatch(/expected HOST/);
  });

  it('--ports and --port, as for one host: each HOST line probes those ports (not one input line a port)', async () => {
    const hostsOnly = targetFile(dir, 'hosts-only.txt', [
      '127.0.0.1',
      '127.0.9.20',
      `127.0.9.21,${good.port},smtp`,
    ]);
    const run = await cli([
      'batch',
      hostsOnly,
      '--ports',
      '993,submission',
      '--port',
      `${good.port}=submission`,
      '--timeout',
      '2000',
      '--quiet',
    ]);
    expect(run.stderr).toBe('');
    const byInput = new Map(docs(run.stdout).map((d) => [d.input, d]));
    const probed = (input: string) =>
      byInput.get(input)?.hosts[0]?.ports.map((p) => `${p.port}/${p.service}`);
    expect(probed('127.0.0.1')).toEqual(['993/imaps', '587/submission', `${good.port}/submission`]);
    expect(probed('127.0.9.20')).toEqual(['993/imaps', '587/submission', `${good.port}/submission`]);
    expect(byInput.get('127.0.0.1')?.hosts[0]?.ports[2]?.status).toBe('open');
    // A line that names its own port keeps it.
    expect(probed(`127.0.9.21,${good.port},smtp`)).toEqual([`${good.port}/smtp`]);
  });

  it('--ports: a port with no reference service is a one-line usage error (exit 2), before anything is probed', async () => {
    const run = await cli(['batch', file, '--ports', '2525', '--quiet']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--ports: port 2525 has no default service; use --port 2525=SERVICE/);
  });

  it('--shard i/n: the union of the shards is the whole input, no target twice', async () => {
    const runs = await Promise.all(
      [1, 2, 3].map((index) => cli(['batch', file, '--shard', `${index}/3`, '--timeout', '2000', '--quiet'])),
    );
    const inputs = runs.flatMap((run) => docs(run.stdout).map((d) => d.input));
    expect(inputs.sort()).toEqual([...lines].sort());
    expect(runs.filter((run) => run.stdout !== '').length).toBeGreaterThan(1);
  });

  it('--resume: skips targets already in a partial output, drops its cut-off last line, and the result is whole', async () => {
    const first = docs((await cli(['batch', file, '--timeout', '2000', '--quiet'])).stdout);
    const partial = join(dir, 'partial.ndjson');
    const kept = first.slice(0, 5);
    writeFileSync(
      partial,
      `${kept.map((d) => JSON.stringify(d)).join('\n')}\n${JSON.stringify(first[5]).slice(0, 40)}`,
    );
    const run = await cli(['batch', file, '--resume', partial, '--timeout', '2000']);
    expect(run.stderr).toMatch(/5 already done/);
    const rest = docs(run.stdout);
    expect(readFileSync(partial, 'utf8')).toBe(`${kept.map((d) => JSON.stringify(d)).join('\n')}\n`);
    const all = [...kept, ...rest].map((d) => d.input);
    expect(all.sort()).toEqual([...lines].sort());
  });

  it('--resume with --shard counts only its shard as done; a file of another list is said to be one', async () => {
    const whole = join(dir, 'whole.ndjson');
    writeFileSync(whole, (await cli(['batch', file, '--timeout', '2000', '--quiet'])).stdout);
    const parts = await Promise.all(
      [1, 2, 3].map((index) => cli(['batch', file, '--shard', `${index}/3`, '--resume', whole])),
    );
    // Each shard's lines are all in the file: nothing to probe, and "already done" is its own share.
    const done = parts.map((run) => Number(/(\d+) already done/.exec(run.stderr)?.[1] ?? 0));
    expect(parts.map((run) => run.stdout)).toEqual(['', '', '']);
    expect(done.reduce((a, b) => a + b, 0)).toBe(lines.length);
    expect(parts.every((run) => /^mailprobe batch: 0 targets \(shard/m.test(run.stderr))).toBe(true);
    const other = targetFile(dir, 'other-list.txt', ['127.0.9.99,1,smtp']);
    const run = await cli(['batch', other, '--resume', whole, '--timeout', '500', '--quiet']);
    expect(run.stderr).toMatch(
      new RegExp(
        `--resume: none of the ${lines.length} documents in .*whole\\.ndjson answers a line of .*other-list\\.txt`,
      ),
    );
    expect(docs(run.stdout).map((d) => d.input)).toEqual(['127.0.9.99,1,smtp']);
  });

  it("keeps a server's exact text, inert when printed: C1, DEL, bidi and zero-width characters \\u-escaped", async () => {
    const banner = 'x\u009b31m \u202eevil\u200b \u007f\u2066end';
    const hostile = await startRawServer((socket) => {
      socket.write(`220 ${banner}\r\n`);
      socket.on('data', (data: Buffer) => {
        const text = data.toString();
        if (text.startsWith('EHLO')) socket.write('250 ok\r\n');
        if (text.startsWith('QUIT')) socket.end('221 bye\r\n');
      });
    });
    try {
      // The server's banner, and a bad line of the user's own with a bidi override (its error document).
      const probed = `127.0.0.1,${hostile.port},smtp`;
      const bad = 'bad\u202eline,1,smtp';
      const list = targetFile(dir, 'inert.txt', [probed, bad]);
      const run = await cli(['batch', list, '--workers', '1', '--timeout', '2000', '--quiet']);
      // Not one of those characters as itself on the line; the JSON escape of each instead.
      expect(run.stdout).not.toMatch(/[\u007f-\u009f\u200b\u202e\u2066]/);
      for (const escaped of ['\\u009b', '\\u202e', '\\u200b', '\\u007f', '\\u2066'])
        expect(run.stdout).toContain(escaped);
      // Parsed, the text is exact, as the server sent it.
      const out = docs(run.stdout);
      const doc = out.find((d) => d.input === probed);
      expect(doc?.hosts[0]?.ports[0]?.greeting?.lines[0]).toBe(banner);
      expect(out.find((d) => d.input !== probed)?.result.error).toBeDefined();
    } finally {
      await hostile.close();
    }
  });

  it('Ctrl-C: exit 130, documents only for finished targets, and --resume then finishes the job', async () => {
    const silent = await startRawServer(() => {}); // accepts and never greets
    const targets = join(dir, 'interrupt.txt');
    const mixed = [`127.0.0.1,${good.port},submission`, `127.0.0.1,${silent.port},submission`];
    writeFileSync(targets, `${mixed.join('\n')}\n`);
    try {
      const child = spawn(process.execPath, [mainScript, 'batch', targets, '--quiet'], { stdio: 'pipe' });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // The working target is done within a second or so (its workers started: --workers defaults to the cores);
      // the silent one waits 30 s for a greeting. Ctrl-C once the first document is out.
      for (let waited = 0; waited < 20_000 && !stdout.includes('\n'); waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 200));
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(130);
      expect(stderr).toMatch(/interrupted: 1 of 2 targets done; run again with --resume/);
      expect(docs(stdout).map((d) => d.input)).toEqual([mixed[0]]);
      const partial = join(dir, 'interrupted.ndjson');
      writeFileSync(partial, stdout);
      const rest = await cli(['batch', targets, '--resume', partial, '--timeout', '300', '--quiet']);
      expect(docs(rest.stdout).map((d) => d.input)).toEqual([mixed[1]]);
    } finally {
      await silent.close();
    }
  });

  it('a resume file that is not batch output, and an empty target file, are one-line usage errors (exit 2)', async () => {
    const notOurs = join(dir, 'other.txt');
    writeFileSync(notOurs, 'hello\n');
    const bad = await cli(['batch', file, '--resume', notOurs]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--resume: .* line 1 is not a batch document/);
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '# nothing\n');
    const none = await cli(['batch', empty]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/names no target/);
  });
});

describe('runBatch limits', () => {
  it('never opens more connections to one address than --per-address, and paces them by --address-interval', async () => {
    const { counter, handle } = slowRefusals(150);
    const slow = await startRawServer(handle);
    try {
      const services = ['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s'];
      const { targets } = parseTargets(
        services.map((service) => `127.0.0.1,${slow.port},${service}`).join('\n'),
      );
      let documents = 0;
      await runBatch(targets, {
        hostConcurrency: 7,
        perAddress: 2,
        addressIntervalMs: 40,
        limits: { connectMs: 2000, greetingMs: 2000, portMs: 8000 },
        fastFiltered: false,
        onDocument: () => documents++,
      });
      expect(documents).toBe(7);
      expect(slow.connections()).toBeGreaterThanOrEqual(7);
      expect(counter.most).toBeLessThanOrEqual(2);
      expect(counter.most).toBe(2);
      const gaps = counter.accepted.slice(1).map((at, i) => at - (counter.accepted[i] ?? 0));
      // Without pacing, two connections would start together (gap ~0). The server shares the client's event
      // loop, so one accept may be seen late on a loaded machine (a gap of 29.7 ms after a late one was seen in
      // CI): each gap is checked loosely, the whole span tightly.
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(15);
      expect((counter.accepted.at(-1) ?? 0) - (counter.accepted[0] ?? 0)).toBeGreaterThanOrEqual(
        40 * gaps.length - 5,
      );
    } finally {
      await slow.close();
    }
  });

  it('--per-address holds for every spelling of one address (::1 and 0::1, 127.0.0.1 and ::ffff:127.0.0.1)', async () => {
    for (const spellings of [
      ['::1', '0:0:0:0:0:0:0:1', '::0:1', '0::1'],
      ['127.0.0.1', '::ffff:127.0.0.1', '::ffff:7f00:1'],
    ]) {
      const { counter, handle } = slowRefusals(150);
      const slow = await startRawServer(handle, '::');
      try {
        const { targets } = parseTargets(spellings.map((a) => `${a},${slow.port},smtp`).join('\n'));
        let documents = 0;
        await runBatch(targets, {
          hostConcurrency: spellings.length,
          perAddress: 1,
          limits: { connectMs: 2000, greetingMs: 2000, portMs: 8000 },
          fastFiltered: false,
          onDocument: () => documents++,
        });
        expect(documents).toBe(spellings.length);
        expect(counter.most).toBe(1);
      } finally {
        await slow.close();
      }
    }
  });

  it('time spent waiting for a turn at the address does not count against the port deadline (no false timeouts)', async () => {
    const servers = await Promise.all(
      [1, 2, 3].map(() => startFixture({ protocol: 'smtp', tls: 'starttls' })),
    );
    try {
      const { targets } = parseTargets(
        servers.map((server) => `127.0.0.1,${server.port},submission`).join('\n'),
      );
      const statuses: string[] = [];
      // All three hold a slot at once; the third waits about 600 ms for its turn, past its 400 ms port deadline.
      await runBatch(targets, {
        perAddress: 3,
        addressIntervalMs: 300,
        limits: { portMs: 400 },
        onDocument: (line) => statuses.push((JSON.parse(line) as Doc).hosts[0]?.ports[0]?.status ?? 'none'),
      });
      expect(statuses).toEqual(['open', 'open', 'open']);
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  });

  it("a 421 met on a retry backs the address off too, though the port keeps its first try's status", async () => {
    // The first connection silent (a lost greeting?); every later one, the cross-check's and the retry's, a 421.
    let seen = 0;
    const limited = await startRawServer((socket) => {
      if (seen++ > 0) socket.end('421 4.7.0 Too many connections, slow down\r\n');
    });
    const untouched = await startFixture({ protocol: 'smtp', tls: 'starttls' });
    try {
      const { targets } = parseTargets(
        [`127.0.0.1,${limited.port},smtp`, `127.0.0.1,${untouched.port},submission`].join('\n'),
      );
      const ports: (PortResult | undefined)[] = [];
      await runBatch(targets, {
        hostConcurrency: 1,
        perAddress: 1,
        limits: { greetingMs: 300, replyMs: 300, portMs: 3000 },
        onDocument: (line) => ports.push((JSON.parse(line) as Doc).hosts[0]?.ports[0]),
      });
      expect(ports[0]?.status).toBe('silent');
      expect(ports[0]?.retry?.status).toBe('rate-limited');
      expect(ports[1]).toMatchObject({ status: 'rate-limited', backedOff: true });
      expect(untouched.connections()).toBe(0);
    } finally {
      await limited.close();
      await untouched.close();
    }
  });

  it('a 421 rate-limit reply backs the address off: its other targets are "not tested" and get no connection', async () => {
    const limited = await startRawServer((socket) =>
      socket.end('421 4.7.0 Too many connections, slow down\r\n'),
    );
    const untouched = await startFixture({ protocol: 'smtp', tls: 'starttls' });
    try {
      const { targets } = parseTargets(
        [
          `127.0.0.1,${limited.port},smtp`,
          `127.0.0.1,${untouched.port},submission`,
          `127.0.0.2,${untouched.port},smtp`,
        ].join('\n'),
      );
      const out: { input: string; port: PortResult | undefined }[] = [];
      await runBatch(targets, {
        hostConcurrency: 1,
        perAddress: 1,
        onDocument: (line) => {
          const doc = JSON.parse(line) as Doc;
          out.push({ input: doc.input, port: doc.hosts[0]?.ports[0] });
        },
      });
      expect(out.map((o) => o.input)).toEqual(targets.map((t) => t.input));
      expect(out[0]?.port?.status).toBe('rate-limited');
      expect(out[1]?.port?.status).toBe('rate-limited');
      expect(out[1]?.port?.statusDetail).toMatch(/^not tested: .*backed off/);
      expect(out[1]?.port?.transcript).toEqual([]);
      // Marked as not probed, so that nothing is claimed of the server from it (no-port-works leaves it out);
      // the port that said 421 itself was probed.
      expect(out[1]?.port?.backedOff).toBe(true);
      expect(out[0]?.port?.backedOff).toBeUndefined();
      // The shape every result starts from (unprobedResult), its fields in the report's order (the judgement follows).
      expect(Object.keys(out[1]?.port ?? {}).slice(0, 11)).toEqual([
        'port',
        'service',
        'protocol',
        'expectedTls',
        'address',
        'family',
        'status',
        'statusDetail',
        'startedAt',
        'timings',
        'transcript',
      ]);
      expect(out[1]?.port).toMatchObject({
        service: 'submission',
        protocol: 'smtp',
        expectedTls: 'starttls',
      });
      // 127.0.0.2 is another address: not backed off (it is refused there, since the fixture listens on .1).
      expect(out[2]?.port?.status).toBe('refused');
      expect(untouched.connections()).toBe(0);
    } finally {
      await limited.close();
      await untouched.close();
    }
  });
});

describe('runBatch judges in rounds', () => {
  /** A loopback port nothing listens on: each probe there ends at once (refused). */
  const closedPort = async (): Promise<number> => {
    const server = await startRawServer(() => {});
    await server.close();
    return server.port;
  };

  it('every target probed is written by the time runBatch resolves, the last round included', async () => {
    const port = await closedPort();
    const { targets } = parseTargets(
      Array.from({ length: 45 }, (_, i) => `127.0.0.${i + 1},${port},smtp`).join('\n'),
    );
    const inputs: string[] = [];
    const counts = await runBatch(targets, {
      hostConcurrency: 45,
      onDocument: (_line, target) => inputs.push(target.input),
    });
    expect(inputs.sort()).toEqual(targets.map((t) => t.input).sort());
    expect(counts.passed + counts.failed).toBe(45);
  });

  it('targets that end without a turn of the event loop (every port backed off) still give it one, a round at a time', async () => {
    // Every address backed off: no connection, and each probe ends in microtasks.
    const gate = { acquire: async () => true, release: () => {}, pace: async () => {} };
    const { targets } = parseTargets(
      Array.from({ length: 300 }, (_, i) => `127.0.${Math.floor(i / 250)}.${(i % 250) + 1},25,smtp`).join(
        '\n',
      ),
    );
    let turn = 0;
    let spinning = true;
    const spin = () => {
      turn++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const turns: number[] = [];
    const counts = await runBatch(targets, {
      hostConcurrency: 4,
      gate,
      onDocument: () => turns.push(turn),
    });
    spinning = false;
    expect(counts.passed + counts.failed).toBe(300);
    const byTurn = new Map<number, number>();
    for (const at of turns) byTurn.set(at, (byTurn.get(at) ?? 0) + 1);
    const perTurn = [...byTurn.values()];
    // A round of 32 due (and what the other slots ended meanwhile) a turn, never the whole run in one turn; the
    // last turn also holds the run's last round, of what was left.
    expect(perTurn.length).toBeGreaterThanOrEqual(Math.floor(300 / (32 + 4)));
    expect(Math.max(...perTurn.slice(0, -1))).toBeLessThanOrEqual(32 + 4);
  });

  it('a round comes on its timer: a target is written before a slower one ends, not at the end of the run', async () => {
    const port = await closedPort();
    const { targets } = parseTargets([1, 2].map((i) => `127.0.0.${i},${port},smtp`).join('\n'));
    let slowEnded = 0;
    // The second address waits 400 ms for its slot, then is refused like the first.
    const gate = {
      acquire: async (address: string) => {
        if (address === '127.0.0.2') await new Promise((resolve) => setTimeout(resolve, 400));
        return false;
      },
      release: (address: string) => {
        if (address === '127.0.0.2') slowEnded = Date.now();
      },
      pace: async () => {},
    };
    const written = new Map<string, number>();
    await runBatch(targets, {
      hostConcurrency: 2,
      gate,
      onDocument: (_line, target) => written.set(target.input, Date.now()),
    });
    expect(written.size).toBe(2);
    expect(written.get(`127.0.0.1,${port},smtp`)).toBeLessThan(slowEnded);
  });

  it('what a round throws (the document writer) rejects the run, as it did when a target was judged alone', async () => {
    const port = await closedPort();
    const { targets } = parseTargets([1, 2, 3].map((i) => `127.0.0.${i},${port},smtp`).join('\n'));
    await expect(
      runBatch(targets, {
        hostConcurrency: 3,
        onDocument: () => {
          throw new Error('the output is gone');
        },
      }),
    ).rejects.toThrow('the output is gone');
  });

  it('a stop while targets wait for their round: not written, counted as not done', async () => {
    const port = await closedPort();
    const { targets } = parseTargets(
      Array.from({ length: 6 }, (_, i) => `127.0.0.${i + 1},${port},smtp`).join('\n'),
    );
    const controller = new AbortController();
    let documents = 0;
    const counts = await runBatch(targets, {
      hostConcurrency: 6,
      signal: controller.signal,
      onDocument: () => {
        documents++;
        controller.abort();
      },
    });
    expect(documents).toBe(1);
    expect(counts.notDone).toBe(5);
  });
});

describe('mailprobe batch --workers (several processes)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mailprobe-workers-'));
  });

  /** The worker processes of a running batch (its children), from /proc: no procps on a fresh machine. */
  const childrenOf = (pid: number): number[] =>
    readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .filter((name) => {
        try {
          // The parent pid is the second field after the command, which is in parentheses.
          return readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(pid);
        } catch {
          return false; // gone meanwhile
        }
      })
      .map(Number);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('gives the same documents as one process: every input once, the same statuses', async () => {
    const good = await startFixture({ protocol: 'smtp', tls: 'starttls' });
    try {
      const lines = [
        ...Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1},${good.port},submission`),
        `127.0.0.1,${good.port},smtp`,
        'nothing-here.invalid',
        'not a host',
      ];
      const file = targetFile(dir, 'same.txt', lines);
      const args = ['batch', file, '--timeout', '2000', '--quiet', '--ca', 'fixtures/tls/ca.pem'];
      const [one, three] = await Promise.all([cli(args), cli([...args, '--workers', '3'])]);
      expect(three.stderr).toBe('');
      expect(three.code).toBe(one.code);
      const summary = (run: { stdout: string }) =>
        docs(run.stdout)
          .map((d) => `${d.input} ${d.hosts[0]?.ports[0]?.status ?? d.result.error?.exitCode}`)
          .sort();
      expect(summary(three)).toEqual(summary(one));
      expect(summary(three)).toHaveLength(lines.length);
      expect(summary(three)).toContain(`127.0.0.1,${good.port},submission open`);
    } finally {
      await good.close();
    }
  });

  it('keeps --per-address and --address-interval across workers, for names that share an address', async () => {
    // 'localhost' and '127.0.0.1' are one address under two names; with this many workers they go to different ones.
    const workers = [2, 3, 4, 5, 6, 7, 8].find((n) => workerOf('localhost', n) !== workerOf('127.0.0.1', n));
    expect(workers).toBeDefined();
    const { counter, handle } = slowRefusals(100);
    const slow = await startRawServer(handle);
    try {
      const services = ['smtp', 'submission', 'imap', 'pop3'];
      const lines = ['localhost', '127.0.0.1'].flatMap((host) =>
        services.map((service) => `${host},${slow.port},${service}`),
      );
      const file = targetFile(dir, 'shared.txt', lines);
      const run = await cli([
        'batch',
        file,
        '--workers',
        String(workers),
        '--per-address',
        '1',
        '--address-interval',
        '40',
        '--timeout',
        '3000',
        '--quiet',
      ]);
      expect(run.stderr).toBe('');
      expect(
        docs(run.stdout)
          .map((d) => d.input)
          .sort(),
      ).toEqual([...lines].sort());
      expect(slow.connections()).toBeGreaterThanOrEqual(lines.length);
      // Each worker alone would allow one connection: two at once would mean the limit was per worker.
      expect(counter.most).toBe(1);
      const gaps = counter.accepted.slice(1).map((at, i) => at - (counter.accepted[i] ?? 0));
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(30);
    } finally {
      await slow.close();
    }
  });

  it('a worker that dies leaves a document, with the reason, for each target it had not reported', async () => {
    // One server a loopback address, each accepting and never greeting.
    const silent = await Promise.all(
      Array.from({ length: 6 }, (_, i) => startRawServer(() => {}, `127.0.0.${i + 1}`)),
    );
    const lines = silent.map((server) => `${server.host},${server.port},submission`);
    const file = targetFile(dir, 'killed.txt', lines);
    try {
      const child = spawn(
        process.execPath,
        // Three workers: this process probes one share, and two are forked (the hosts hash to all three).
        [mainScript, 'batch', file, '--workers', '3', '--timeout', '2000', '--quiet'],
        { stdio: 'pipe' },
      );
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      let workers: number[] = [];
      for (let i = 0; i < 50 && workers.length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        workers = childrenOf(child.pid ?? 0);
      }
      expect(workers).toHaveLength(2);
      await new Promise((resolve) => setTimeout(resolve, 500));
      process.kill(workers[0] ?? 0, 'SIGKILL');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(1);
      const out = docs(stdout);
      expect(out.map((d) => d.input).sort()).toEqual([...lines].sort());
      const lost = out.filter((d) => d.result.error !== undefined);
      expect(lost.length).toBeGreaterThan(0);
      for (const d of lost) {
        expect(d.result.error?.exitCode).toBe(70);
        expect(d.result.error?.message).toMatch(/batch worker process ended \(signal SIGKILL\)/);
      }
      // The other worker's targets were probed: the silent server gave them no greeting.
      const probed = out.filter((d) => d.result.error === undefined);
      expect(probed.length).toBeGreaterThan(0);
      for (const d of probed) expect(d.hosts[0]?.ports[0]?.status).toBe('silent');
    } finally {
      await Promise.all(silent.map((server) => server.close()));
    }
  });

  it('the connection slot a dying worker held goes to the worker waiting for it (no hang)', async () => {
    // Two forked workers (share 0 may be this process's own, which is not the one to kill).
    const workers = [2, 3, 4, 5, 6, 7, 8].find(
      (n) =>
        workerOf('localhost', n) !== workerOf('127.0.0.1', n) &&
        workerOf('localhost', n) !== 0 &&
        workerOf('127.0.0.1', n) !== 0,
    );
    let first: (() => void) | undefined;
    const connected = new Promise<void>((resolve) => {
      first = resolve;
    });
    const silent = await startRawServer(() => first?.());
    // Refused ports on other addresses besides, so that there are as many targets as workers.
    const lines = [
      `localhost,${silent.port},submission`,
      `127.0.0.1,${silent.port},smtp`,
      ...Array.from({ length: 6 }, (_, i) => `127.0.1.${i + 1},${silent.port},imap`),
    ];
    const file = targetFile(dir, 'slot.txt', lines);
    try {
      const child = spawn(
        process.execPath,
        [mainScript, 'batch', file, '--workers', String(workers), '--per-address', '1', '--timeout', '1500'],
        { stdio: 'pipe' },
      );
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      await connected;
      // The worker whose socket reached the server holds the address's only slot; the other one waits for it.
      const owner = /pid=(\d+)/.exec(
        execFileSync('ss', ['-tnpH', 'state', 'established', `dport = :${silent.port}`], {
          encoding: 'utf8',
        }),
      )?.[1];
      expect(owner).toBeDefined();
      process.kill(Number(owner), 'SIGKILL');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(1);
      const out = docs(stdout);
      expect(out.map((d) => d.input).sort()).toEqual([...lines].sort());
      // The dying worker's own target (and any refused one it had not reported), and the waiting one probed.
      const lost = out.filter((d) => d.result.error?.exitCode === 70).map((d) => d.input);
      expect(lost.filter((input) => !input.startsWith('127.0.1.'))).toHaveLength(1);
      // (localhost may resolve to ::1 too, where nothing listens: the IPv4 port is the one that waited.)
      expect(out.filter((d) => onV4(d)?.status === 'silent')).toHaveLength(1);
    } finally {
      await silent.close();
    }
  });

  it('Ctrl-C: exit 130, documents only for finished targets, and no worker left running', async () => {
    const good = await startFixture({ protocol: 'smtp', tls: 'starttls' });
    const silent = await Promise.all(
      Array.from({ length: 4 }, (_, i) => startRawServer(() => {}, `127.0.0.${i + 2}`)),
    );
    const lines = [
      `127.0.0.1,${good.port},submission`,
      ...silent.map((server) => `${server.host},${server.port},submission`),
    ];
    const file = targetFile(dir, 'interrupt.txt', lines);
    try {
      const child = spawn(process.execPath, [mainScript, 'batch', file, '--workers', '2', '--quiet'], {
        stdio: 'pipe',
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      for (let i = 0; i < 50 && !stdout.includes('\n'); i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      // Two workers: this process probes one share and one worker is forked for the other.
      const workers = childrenOf(child.pid ?? 0);
      expect(workers).toHaveLength(1);
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(130);
      expect(stderr).toMatch(/interrupted: 1 of 5 targets done; run again with --resume/);
      expect(docs(stdout).map((d) => d.input)).toEqual([lines[0]]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(workers.filter(alive)).toEqual([]);
    } finally {
      await good.close();
      await Promise.all(silent.map((server) => server.close()));
    }
  });

  it('--concurrency holds over all workers: --concurrency 1 --workers 3 probes one target at a time', async () => {
    const { counter, handle } = slowRefusals(100);
    const slow = await Promise.all(
      Array.from({ length: 6 }, (_, i) => startRawServer(handle, `127.0.0.${i + 1}`)),
    );
    try {
      const lines = slow.map((server) => `${server.host},${server.port},submission`);
      const file = targetFile(dir, 'concurrency.txt', lines);
      const run = await cli([
        'batch',
        file,
        '--workers',
        '3',
        '--concurrency',
        '1',
        '--timeout',
        '2000',
        '--quiet',
      ]);
      expect(run.stderr).toBe('');
      expect(
        docs(run.stdout)
          .map((d) => d.input)
          .sort(),
      ).toEqual([...lines].sort());
      expect(counter.most).toBe(1);
    } finally {
      await Promise.all(slow.map((server) => server.close()));
    }
  });

  it('a 421 seen by one worker backs the address off for every worker', async () => {
    const workers = [2, 3, 4, 5, 6, 7, 8].find((n) => workerOf('localhost', n) !== workerOf('127.0.0.1', n));
    const limited = await startRawServer((socket) =>
      socket.end('421 4.7.0 Too many connections, slow down\r\n'),
    );
    try {
      // Refused ports on other addresses besides, so that there are as many targets as workers.
      const lines = [
        ...['localhost', '127.0.0.1'].flatMap((host) =>
          ['smtp', 'submission', 'imap'].map((service) => `${host},${limited.port},${service}`),
        ),
        ...Array.from({ length: 6 }, (_, i) => `127.0.1.${i + 1},${limited.port},pop3`),
      ];
      const file = targetFile(dir, 'backoff.txt', lines);
      const run = await cli([
        'batch',
        file,
        '--workers',
        String(workers),
        '--per-address',
        '1',
        '--timeout',
        '2000',
        '--quiet',
      ]);
      const shared = docs(run.stdout).filter((d) => !d.input.startsWith('127.0.1.'));
      expect(shared).toHaveLength(6);
      for (const d of shared) expect(onV4(d)?.status).toBe('rate-limited');
      // One connection asked it to slow down; no other worker connected to that address after it.
      expect(limited.connections()).toBe(1);
    } finally {
      await limited.close();
    }
  });

  it('a worker process that cannot be started: every target still gets a document, and the run ends', async () => {
    const { targets } = parseTargets(['127.0.0.1,25,smtp', '127.0.0.2,25,smtp', 'localhost'].join('\n'));
    const out: Doc[] = [];
    const counts = await runBatchInWorkers(targets, {
      workers: 2,
      fork: () =>
        spawn('/nonexistent/mailprobe-worker', [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] }),
      onDocument: (line) => out.push(JSON.parse(line) as Doc),
    });
    expect(out.map((d) => d.input).sort()).toEqual(targets.map((t) => t.input).sort());
    for (const d of out) {
      expect(d.result.error?.exitCode).toBe(70);
      expect(d.result.error?.message).toMatch(/could not be started \(spawn .* ENOENT\)/);
    }
    expect(counts).toEqual({ passed: 0, failed: 3, notDone: 0 });
  });

  it('with local, the first share is probed in this process and only the others are forked', async () => {
    // With two workers, 127.0.0.1 and 127.0.0.3 hash to share 0, 127.0.0.2 to share 1.
    const lines = ['127.0.0.1,1,smtp', '127.0.0.2,1,smtp', '127.0.0.3,1,smtp'];
    expect(lines.map((line) => workerOf(line.split(',')[0] ?? '', 2))).toEqual([0, 1, 0]);
    const { targets } = parseTargets(lines.join('\n'));
    const out: Doc[] = [];
    let forks = 0;
    const counts = await runBatchInWorkers(targets, {
      workers: 2,
      local: true,
      fork: () => {
        forks++;
        return spawn('/nonexistent/mailprobe-worker', [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      },
      onDocument: (line) => out.push(JSON.parse(line) as Doc),
    });
    expect(forks).toBe(1);
    const byInput = new Map(out.map((d) => [d.input, d]));
    // Share 0 was probed here: port 1 refuses. Share 1's process could not be started.
    expect(byInput.get(lines[0] ?? '')?.hosts[0]?.ports[0]?.status).toBe('refused');
    expect(byInput.get(lines[2] ?? '')?.hosts[0]?.ports[0]?.status).toBe('refused');
    expect(byInput.get(lines[1] ?? '')?.result.error?.message).toMatch(/could not be started/);
    expect(out).toHaveLength(3);
    expect(counts).toEqual({ passed: 0, failed: 3, notDone: 0 });
  });

  it('a document that cannot be written (onDocument throws) stops every worker, then the run throws it', async () => {
    // Three workers: this process probes one share, two are forked; every target's port refuses at once.
    const { targets } = parseTargets(
      Array.from({ length: 9 }, (_, i) => `127.0.0.${i + 1},1,smtp`).join('\n'),
    );
    const children: ChildProcess[] = [];
    const full = new Error('cannot write page.html (ENOSPC)');
    let calls = 0;
    // Before: the error was thrown inside the workers' message handler, uncaught, and ended the process.
    const run = runBatchInWorkers(targets, {
      workers: 3,
      local: true,
      fork: () => {
        const child = fork(mainScript.replace(/main\.js$/, 'batch-worker.js'), [], {
          stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
          serialization: 'advanced',
        });
        children.push(child);
        return child;
      },
      onDocument: () => {
        calls++;
        throw full;
      },
    });
    await expect(run).rejects.toBe(full);
    expect(calls).toBe(1);
    expect(children).toHaveLength(2);
    for (const child of children) expect(child.connected).toBe(false);
    await Promise.all(
      children.map((child) =>
        child.exitCode !== null || child.signalCode !== null
          ? undefined
          : new Promise((resolve) => child.once('exit', resolve)),
      ),
    );
  });

  it('the in-process channel: messages in order both ways, none after the end, exit then close with the code', async () => {
    const { child, channel, fail } = localWorker();
    const toWorker: unknown[] = [];
    const toParent: unknown[] = [];
    const ends: string[] = [];
    channel.on('message', (message: never) => toWorker.push(message));
    child.on('message', (message: never) => toParent.push(message));
    child.once('exit', (code) => ends.push(`exit ${code}`));
    child.once('close', (code) => ends.push(`close ${code}`));
    expect(child.send(1) && child.send(2) && channel.send?.('a')).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(toWorker).toEqual([1, 2]);
    expect(toParent).toEqual(['a']);
    // A share that fails ends as a crashed worker does: 'exit', then 'close', with its code, once.
    fail(70);
    fail(71);
    expect(child.connected).toBe(false);
    expect(child.send(3)).toBe(false);
    expect(channel.send?.('b')).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ends).toEqual(['exit 70', 'close 70']);
    expect(toWorker).toEqual([1, 2]);
    expect(toParent).toEqual(['a']);
  });

  it("the in-process share: a failed run ends it as a crashed worker's, exit 70 with the reason", async () => {
    const { child, channel, fail } = localWorker();
    serveBatchWorker(channel, fail);
    const ends: string[] = [];
    child.once('exit', (code) => ends.push(`exit ${code}`));
    child.once('close', (code) => ends.push(`close ${code}`));
    // A concurrency that is not a number makes runBatch itself reject (nothing from outside can).
    child.send({ t: 'start', options: { hostConcurrency: Symbol('bad') } });
    for (let i = 0; i < 20 && ends.length < 2; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(ends).toEqual(['exit 70', 'close 70']);
    expect(child.failure).toMatch(/Symbol/);
    expect(child.connected).toBe(false);
  });

  it('--workers must be a whole number from 1 to 256 (exit 2, one line)', async () => {
    const run = await cli(['batch', '-', '--workers', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--workers/);
  });
});

describe('batch files: --resume validated before any change, streams of targets, echoes capped', () => {
  let dir: string;
  let targets: string;
  let output: string;
  const lines = ['127.0.9.1,1,smtp', '127.0.9.2,1,smtp', '127.0.9.3,1,smtp'];
  const bytes = (file: string) => readFileSync(file);
  const refused = (run: { code: number; stderr: string }, pattern: RegExp) => {
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(pattern);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailprobe-batch-files-'));
    targets = targetFile(dir, 'targets.txt', lines);
    // Documents come out as targets finish (over the workers: in any order); the tests below take them in the
    // order of the lines.
    const produced = (await cli(['batch', targets, '--timeout', '500', '--quiet'])).stdout
      .split('\n')
      .filter((line) => line !== '');
    output = `${lines.map((line) => produced.find((d) => docs(d)[0]?.input === line) ?? '').join('\n')}\n`;
    expect(docs(output)).toHaveLength(3);
  });

  it('a file that is not batch output is refused (exit 2) and left exactly as it was', async () => {
    const [first = '', second = ''] = output.split('\n');
    const cases: Record<string, Buffer> = {
      // A one-line JSON file, with and without its newline: it was emptied and the run went on.
      'one-line.json': Buffer.from('{"a":1}'),
      'one-line-newline.json': Buffer.from('{"a":1}\n'),
      // JSON with an "input" that is not a report of ours.
      'input-only.json': Buffer.from('{"input":"127.0.9.1,1,smtp"}\n'),
      // Our documents with another line in between.
      'mixed.ndjson': Buffer.from(`${first}\nhello\n${second}\n`),
      // Invalid UTF-8 in an earlier document and a torn last line: NUL bytes were appended.
      'invalid-utf8.ndjson': Buffer.concat([
        Buffer.from(first.replace('"tool"', '"x":"\u00e9\u00e9","tool"')).map((byte) =>
          byte === 0xa9 ? 0xff : byte,
        ),
        Buffer.from(`\n${second.slice(0, 30)}`),
      ]),
      // A torn last line that is not the start of a document.
      'torn-other.ndjson': Buffer.from(`${first}\nhello`),
    };
    for (const [name, content] of Object.entries(cases)) {
      const file = join(dir, name);
      writeFileSync(file, content);
      const run = await cli(['batch', targets, '--resume', file, '--timeout', '500', '--quiet']);
      expect({ name, stdout: run.stdout }).toEqual({ name, stdout: '' });
      refused(
        run,
        /--resume: .* line \d+ is not a batch document \(not mailprobe batch output\?\); the file is unchanged/,
      );
      expect({ name, same: bytes(file).equals(content) }).toEqual({ name, same: true });
    }
  });

  it('the target list itself, a FIFO or a folder as --resume is refused, the list untouched, never a hang', async () => {
    // Without its last newline: the old code cut the last host off the list.
    const list = join(dir, 'list.txt');
    writeFileSync(list, lines.join('\n'));
    refused(await cli(['batch', list, '--resume', list, '--quiet']), /is the target list itself/);
    expect(readFileSync(list, 'utf8')).toBe(lines.join('\n'));
    // The same file under another name (a hard link is the same device and inode).
    const link = join(dir, 'list-link.txt');
    linkSync(list, link);
    refused(await cli(['batch', list, '--resume', link, '--quiet']), /is the target list itself/);
    const fifo = join(dir, 'resume.fifo');
    execFileSync('mkfifo', [fifo]);
    refused(await cli(['batch', targets, '--resume', fifo, '--quiet']), /is not a regular file/);
    refused(await cli(['batch', targets, '--resume', dir, '--quiet']), /is not a regular file/);
  });

  it('a document complete but for its newline is kept and ended; a torn one is cut; then the rest is appended', async () => {
    const [first = '', second = ''] = output.split('\n');
    const whole = join(dir, 'no-newline.ndjson');
    writeFileSync(whole, first);
    const run = await cli(['batch', targets, '--resume', whole, '--timeout', '500']);
    expect(run.stderr).toMatch(/2 targets, 1 already done/);
    expect(readFileSync(whole, 'utf8')).toBe(`${first}\n`);
    // A document torn after a few bytes of it, even before its "input" is complete.
    for (const torn of [second.slice(0, 5), second.slice(0, 100)]) {
      const file = join(dir, 'torn.ndjson');
      writeFileSync(file, `${first}\n${torn}`);
      const rest = await cli(['batch', targets, '--resume', file, '--timeout', '500', '--quiet']);
      expect(readFileSync(file, 'utf8')).toBe(`${first}\n`);
      expect(
        docs(rest.stdout)
          .map((d) => d.input)
          .sort(),
      ).toEqual(lines.slice(1));
    }
  });

  it('a resume file is read as a stream: a 96 MiB output resumes in a process whose heap is capped at 48 MiB', async () => {
    // Documents of inputs not in the list (another job's), then ours: only the inputs of the list are kept.
    const file = join(dir, 'big.ndjson');
    const [first = ''] = output.split('\n');
    const other = `${first.replace('127.0.9.1,1,smtp', 'other.example,25,smtp')}\n`;
    const block = Buffer.from(other.repeat(Math.ceil((1024 * 1024) / other.length)));
    const fd = openSync(file, 'w');
    for (let written = 0; written < 96 * 1024 * 1024; written += block.length) writeSync(fd, block);
    writeSync(fd, `${first}\n`);
    closeSync(fd);
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--max-old-space-size=48', mainScript, 'batch', targets, '--resume', file, '--timeout', '500'],
        { maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      );
    });
    expect(run.stderr).toMatch(/2 targets, 1 already done/);
    expect(
      docs(run.stdout)
        .map((d) => d.input)
        .sort(),
    ).toEqual(lines.slice(1));
  }, 60_000);

  it('targets from a stream: <(cmd) (a pipe as /dev/fd/N), a FIFO, /dev/stdin; --shard and --resume work on it', async () => {
    const viaFd = (args: string[], text: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [mainScript, ...args], {
          stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        const stream = child.stdio[3] as NodeJS.WritableStream;
        // The side the child does not read may be closed before it is written: that is not the test's subject.
        stream.on('error', () => {});
        child.stdin?.on('error', () => {});
        // Written slowly, in pieces, as a command writes.
        const half = Math.floor(text.length / 2);
        stream.write(text.slice(0, half));
        setTimeout(() => stream.end(text.slice(half)), 200);
        child.stdin?.end(text);
      });
    const text = `${lines.join('\n')}\n`;
    // What a shell makes of <(cmd): a pipe, named /dev/fd/63.
    const substituted = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) =>
        execFile(
          'bash',
          [
            '-c',
            '"$1" "$2" batch <(cat "$3") --timeout 500 --quiet',
            'bash',
            process.execPath,
            mainScript,
            targets,
          ],
          (error, stdout, stderr) =>
            resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        ),
    );
    expect(substituted.stderr).toBe('');
    expect(
      docs(substituted.stdout)
        .map((d) => d.input)
        .sort(),
    ).toEqual(lines);
    // A descriptor a parent hands over (Node's extra stdio is a socket, which /dev/fd/N cannot open).
    const fromFd = await viaFd(['batch', '/dev/fd/3', '--timeout', '500', '--quiet'], text);
    expect(fromFd.stderr).toBe('');
    expect(
      docs(fromFd.stdout)
        .map((d) => d.input)
        .sort(),
    ).toEqual(lines);
    const fromStdin = await viaFd(['batch', '/dev/stdin', '--timeout', '500', '--quiet'], text);
    expect(
      docs(fromStdin.stdout)
        .map((d) => d.input)
        .sort(),
    ).toEqual(lines);
    // The shards of a stream together are the whole list, as for a file (the hash of each line).
    const shards = await Promise.all(
      [1, 2].map((i) =>
        viaFd(['batch', '/dev/fd/3', '--shard', `${i}/2`, '--timeout', '500', '--quiet'], text),
      ),
    );
    expect(shards.flatMap((run) => docs(run.stdout).map((d) => d.input)).sort()).toEqual(lines);
    // --resume names the output, never the stream: the stream is read whole, the output's targets skipped.
    const partial = join(dir, 'stream-partial.ndjson');
    writeFileSync(partial, `${output.split('\n')[0]}\n`);
    const resumed = await viaFd(
      ['batch', '/dev/fd/3', '--resume', partial, '--timeout', '500', '--quiet'],
      text,
    );
    expect(
      docs(resumed.stdout)
        .map((d) => d.input)
        .sort(),
    ).toEqual(lines.slice(1));
    // A named FIFO, written by another process.
    const fifo = join(dir, 'targets.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', targets, fifo], { stdio: 'ignore' });
    const fromFifo = await cli(['batch', fifo, '--timeout', '500', '--quiet']);
    writer.kill();
    expect(
      docs(fromFifo.stdout)
        .map((d) => d.input)
        .sort(),
    ).toEqual(lines);
    // A folder is still no list of targets.
    refused(await cli(['batch', dir]), /is a folder/);
  });

  it('a huge bad line is echoed as its first KiB and its length, and --resume still knows it is done', async () => {
    const long = `${'x'.repeat(4 * 1024 * 1024)},1`;
    const badPort = `127.0.0.1,${'9'.repeat(300_000)},a,${'7'.repeat(200_000)}`;
    const file = targetFile(dir, 'long.txt', [long, badPort]);
    const run = await cli(['batch', file, '--quiet']);
    expect(run.stdout.length).toBeLessThan(8 * 1024);
    const out = docs(run.stdout);
    expect(out).toHaveLength(2);
    for (const doc of out) {
      expect(Buffer.byteLength(doc.input)).toBeLessThan(1100);
      expect(Buffer.byteLength(doc.result.error?.message ?? '')).toBeLessThan(1300);
    }
    expect(out.map((d) => d.input)).toContain(`${'x'.repeat(1024)}… (4194306 bytes in all, cut at 1024)`);
    const partial = join(dir, 'long.ndjson');
    writeFileSync(partial, run.stdout);
    const again = await cli(['batch', file, '--resume', partial]);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(/0 targets, 2 already done/);
  });
});
