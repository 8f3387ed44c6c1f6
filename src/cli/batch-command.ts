/**
 * `mailprobe batch [FILE]`: many hosts, one NDJSON document each on stdout (src/batch.ts), a shard of them with
 * --shard, the rest of them with --resume, progress on stderr. Ctrl-C stops at once; targets not finished get no
 * document, so --resume probes them again.
 */

import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { type Severity, severities } from '../rules/finding.js';
import { readTargets } from './batch-files.js';
import { pagesFolder, pageWriter } from './batch-pages.js';
import { resumeRun } from './batch-resume.js';
import { exitCodes } from './exit.js';
import { interruption } from './interrupt.js';
import { parsePorts, positiveInteger, probeBasicOptions, probeBasics } from './options.js';

export const command = 'batch [file]';
export const describe =
  'probe many hosts: targets from FILE or stdin (-), one NDJSON report a host on stdout, shardable and resumable';

export function builder(yargs: Argv) {
  return yargs
    .positional('file', {
      type: 'string',
      describe:
        'targets, one a line: HOST, HOST,PORT,SERVICE or ZGrab2 CSV (ip,domain,tag[,port]); - for stdin',
    })
    .option('ports', {
      type: 'string',
      describe:
        'probe these reference ports or services on each HOST line, comma-separated (e.g. 587,993 or submission)',
    })
    .option('port', {
      type: 'string',
      describe: 'probe PORT as SERVICE on each HOST line, repeatable (e.g. --port 2525=submission)',
    })
    .option('shard', {
      type: 'string',
      describe: 'take shard I of N (I/N, 1-based), by a stable hash of each line',
    })
    .option('concurrency', { type: 'string', describe: 'targets probed at once (default 64)' })
    .option('workers', {
      type: 'string',
      describe: `processes to probe in (default: the number of cores, at most ${maxDefaultWorkers}; up to ${localShareMaxWorkers}, this process is one of them): the per-address limits hold across them`,
    })
    .option('per-address', { type: 'string', describe: 'connections at once to one address (default 2)' })
    .option('address-interval', {
      type: 'string',
      describe: 'least ms between two connections to one address (default 0)',
    })
    .option('resume', {
      type: 'string',
      describe: 'skip targets that already have a document in this NDJSON file (a partial output)',
    })
    .option('fail-on', {
      type: 'string',
      choices: severities as unknown as string[],
      describe: 'lowest finding severity that fails a target (default: high)',
    })
    .options(probeBasicOptions)
    .option('html-dir', {
      type: 'string',
      describe: "also write each target's HTML report into DIR, one page a target (NAME-HASH.html)",
    })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress or summary on stderr' })
    .example('$0 batch hosts.txt --shard 2/4 > part2.ndjson', 'the second quarter of hosts.txt')
    .example('$0 batch hosts.txt --resume out.ndjson >> out.ndjson', 'finish a run that was stopped');
}

/** Each worker's V8 semi-space, in MB (--max-semi-space-size). */
export const workerSemiSpaceMb = 4;

/**
 * The young generation's growth factor of the process that runs the workers (V8's --semi-space-growth-factor,
 * set as `batch` starts; V8's default 2, set back for a run in this process): 1, it does not grow.
 */
export const parentSemiSpaceGrowth = 1;

/**
 * Up to this many --workers, this process probes a share too (workers - 1 are forked); above it, it only hands
 * out targets and writes documents. Its part per probe (the per-address gate's messages, the documents) is about
 * 0.07 ms of CPU against a TLS probe's 1.1 ms (issue 28): beside three or fewer workers that leaves most of a
 * core idle, beside many it is a core's work of its own.
 */
export const localShareMaxWorkers = 4;

/** The most worker processes chosen without --workers. */
export const maxDefaultWorkers = 16;

/**
 * --workers when not given: one process a core (os.availableParallelism(): the cores this process may run on),
 * at most maxDefaultWorkers. One Node process runs its JavaScript and TLS on one core (issue 28).
 */
export function defaultWorkers(cores = process.getBuiltinModule('node:os').availableParallelism()): number {
  return Math.max(1, Math.min(maxDefaultWorkers, cores));
}

interface Args {
  file?: string | undefined;
  shard?: string | undefined;
  concurrency?: string | undefined;
  workers?: string | undefined;
  'per-address'?: string | undefined;
  'address-interval'?: string | undefined;
  resume?: string | undefined;
  'fail-on'?: string | undefined;
  timeout?: string | undefined;
  ca?: string | undefined;
  'dns-server'?: string | undefined;
  quiet?: boolean | undefined;
  'html-dir'?: string | undefined;
  ports?: string | string[] | undefined;
  port?: string | string[] | undefined;
}

/** A repeatable option's values: yargs gives one string, or an array when the option is repeated. */
function list(value: string | string[] | undefined): string[] | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value : [value];
}

export async function handler(args: Args): Promise<void> {
  // yargs hands a lone "-" positional over as an empty string.
  const file = args.file === undefined || args.file === '' ? '-' : args.file;
  // Waiting for targets typed at a terminal is never what was meant without an explicit "-".
  if (args.file === undefined && process.stdin.isTTY)
    throw new UsageError('batch: give a target FILE, or pipe targets on stdin (batch -)');
  const htmlDir = args['html-dir'] === undefined ? undefined : pagesFolder(args['html-dir']);
  // With more workers than localShareMaxWorkers, this process only hands out targets and writes documents: its
  // garbage is short-lived, and V8's young generation, which grows to 16 MB a semi-space, would be the largest part
  // of its memory. Kept at the size it has at start (1 or 2 MB a semi-space), this process is about 25 MB smaller,
  // for no measurable CPU (issue 28). Set before any work, so that the targets' index does not grow it either; a
  // run that probes in this process (--workers 1 to localShareMaxWorkers) lets it grow again (V8's default).
  const v8 = process.getBuiltinModule('node:v8');
  v8.setFlagsFromString(`--semi-space-growth-factor=${parentSemiSpaceGrowth}`);
  const { parseShard, parseTarget, renderBatchError, runBatch, runBatchInWorkers, shardOf, TargetList } =
    await import('./modes.js');
  // One page a target, written as its document is (batch-pages.ts).
  const html = htmlDir === undefined ? undefined : await import('../render/html.js');
  const writePage =
    html && htmlDir !== undefined
      ? pageWriter(htmlDir, html, html.shellCommand(['mailprobe', ...process.argv.slice(2)]))
      : undefined;
  const shard = args.shard === undefined ? undefined : parseShard(args.shard);
  const hostConcurrency = positiveInteger(args.concurrency, '--concurrency', 10_000) ?? 64;
  const workers = positiveInteger(args.workers, '--workers', 256) ?? defaultWorkers();
  const perAddress = positiveInteger(args['per-address'], '--per-address', 1000) ?? 2;
  const intervalText = args['address-interval'];
  const addressIntervalMs =
    intervalText === undefined || intervalText === '0'
      ? 0
      : (positiveInteger(intervalText, '--address-interval', 3_600_000) ?? 0);
  const basics = probeBasics(args);
  // --ports/--port: the ports of every line that names only a host (a line's own port wins).
  const ports = parsePorts(list(args.ports), list(args.port));
  const failOn = (args['fail-on'] as Severity | undefined) ?? 'high';
  // A file or a stream (a pipe, a FIFO, <(cmd), /dev/stdin), indexed to its end before probing begins: lines are
  // counted and deduplicated, and --resume is matched against all of them. A file is read where it is (a stream is
  // copied to a temporary file first), and read again as its lines are probed, each parsed as it is reached: per
  // distinct line, 12 bytes of index are kept (16 at most beyond a million lines: TargetList), never the line.
  const name = file === '-' ? 'stdin' : file;
  const mine = (input: string) => !shard || shardOf(input, shard.count) === shard.index;
  const targetsInput = readTargets(file);
  let lines: InstanceType<typeof TargetList>;
  try {
    lines = new TargetList(targetsInput.list);
    if (lines.size === 0) throw new UsageError(`${name} names no target`);
    if (args.resume !== undefined) resumeRun(args.resume, lines, mine, targetsInput.identity, name);
  } catch (error) {
    targetsInput.close();
    throw error;
  }
  // Without --shard every line not done is this run's: no pass over the lines to count them.
  let total = lines.size - lines.doneCount;
  if (shard) {
    total = 0;
    for (const input of lines) if (mine(input)) total++;
  }
  const progress = !args.quiet;
  const live = progress && process.stderr.isTTY === true;
  let finished = 0;
  let failed = 0;
  let lastDrawn = 0;
  const draw = (force: boolean) => {
    if (!live) return;
    const now = Date.now();
    if (!force && now - lastDrawn < 200) return;
    lastDrawn = now;
    process.stderr.write(`\r\x1b[2K${finished}/${total} targets, ${failed} failed`);
  };
  // The documents finished in one turn of the event loop go out in one write (one system call, not one a line:
  // issue 28); whatever is pending is written before the run's last words, interrupted or not.
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    process.stdout.write(text);
  };
  // Ctrl-C: every probe stops at once; unfinished targets get no document, so --resume probes them again. A page
  // that cannot be written (a full disk, its name taken by a folder) stops the run the same way, then ends it as
  // a report file that cannot be written does (one line, exit 74): its target gets no document either.
  const stop = interruption();
  const halt = new AbortController();
  const signal = halt.signal;
  stop.signal.addEventListener('abort', () => halt.abort(), { once: true });
  let pageFailure: { error: unknown } | undefined;
  const write = (line: string, passed: boolean) => {
    if (signal.aborted) return;
    try {
      writePage?.(line);
    } catch (error) {
      pageFailure = { error };
      halt.abort();
      return;
    }
    if (pending.length === 0) setImmediate(flush);
    pending.push(`${line}\n`);
    finished++;
    if (!passed) failed++;
    draw(false);
  };
  // The targets of this shard not yet done, parsed as they are reached; a line that names no target gets its
  // document here, in its turn. None once the run is stopped.
  function* targets() {
    for (const input of lines) {
      if (signal.aborted) return;
      if (!mine(input)) continue;
      const parsed = parseTarget(input, ports);
      if (!('reason' in parsed)) yield parsed;
      else write(renderBatchError(parsed.input, parsed.reason, failOn), false);
    }
  }
  // Every probe of every target listens to this one signal.
  setMaxListeners(0, signal);
  try {
    const options = {
      hostConcurrency,
      perAddress,
      addressIntervalMs,
      failOn,
      signal,
      ...basics,
      onDocument: (line: string, _target: unknown, passed: boolean) => write(line, passed),
    };
    // More processes than targets (or than targets at once) would only start processes that get nothing.
    const inWorkers = Math.min(workers, total, hostConcurrency) > 1;
    const local = workers <= localShareMaxWorkers;
    // This process probes (alone, or a share beside its workers): its young generation may grow (V8's default).
    if (!inWorkers || local) v8.setFlagsFromString('--semi-space-growth-factor=2');
    if (inWorkers) {
      const { fork } = process.getBuiltinModule('node:child_process');
      // The bundle's worker beside the bundle (the installed bin), or the compiled module beside this one.
      const bundled = fileURLToPath(new URL('./batch-worker.cjs', import.meta.url));
      const script = existsSync(bundled)
        ? bundled
        : fileURLToPath(new URL('./batch-worker.js', import.meta.url));
      await runBatchInWorkers(targets(), {
        ...options,
        workers,
        local,
        // No output of their own: documents come back over the channel, and nothing they could print is wanted.
        // A young generation of 4 MB a semi-space (V8's default grows to 16): a worker's live heap is small and
        // its garbage short-lived, so this keeps its RSS about 25 MB lower for a few % more CPU (issue 28).
        fork: () =>
          fork(script, [], {
            stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
            serialization: 'advanced',
            execArgv: [...process.execArgv, `--max-semi-space-size=${workerSemiSpaceMb}`],
          }),
      });
    } else await runBatch(targets(), options);
  } finally {
    flush();
    stop.release();
    targetsInput.close();
  }
  draw(true);
  if (live) process.stderr.write('\n');
  if (pageFailure) throw pageFailure.error;
  // The list file changed (or could not be read) during the run: the targets after that point were not taken.
  if (lines.changed !== undefined && !stop.interrupted()) {
    process.stderr.write(
      `mailprobe: batch: ${name} ${lines.changed}: ${finished} of ${total} targets done; the rest were not probed (run again with --resume to finish)\n`,
    );
    process.exitCode = exitCodes.usage;
    return;
  }
  if (stop.interrupted()) {
    process.stderr.write(
      `mailprobe: interrupted: ${finished} of ${total} targets done; run again with --resume to finish\n`,
    );
    process.exitCode = exitCodes.interrupted;
    return;
  }
  if (progress)
    process.stderr.write(
      `mailprobe batch: ${finished} targets${shard ? ` (shard ${shard.index}/${shard.count})` : ''}${lines.doneCount > 0 ? `, ${lines.doneCount} already done` : ''}, ${failed} failed\n`,
    );
  process.exitCode = failed > 0 ? exitCodes.findings : exitCodes.ok;
}
