import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why namespace tests cannot run here, or undefined when they can. They need root, iproute2 and iptables
 * (`.ci/run` installs them), and the built CLI (`npm run build`).
 */
export function netnsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns, iptables); run as root or in CI';
  for (const command of ['ip', 'iptables', 'ip6tables']) {
    if (!has(command)) return `needs ${command}: apt-get install -y iproute2 iptables`;
  }
  try {
    execFileSync('test', ['-f', `${root}dist/src/cli/main.js`]);
  } catch {
    return 'needs the built CLI: npm run build';
  }
  return undefined;
}

let counter = 0;

/**
 * Deletes namespaces left by an earlier run that was killed before its clean-up ran: those named
 * mailprobe-PID-N whose PID no longer exists, with whatever still runs inside them.
 */
export function sweepStaleNamespaces(): void {
  const names = execFileSync('ip', ['netns', 'list'])
    .toString()
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '');
  for (const name of names) {
    const owner = /^mailprobe-(\d+)-\d+$/.exec(name)?.[1];
    if (!owner) continue;
    try {
      process.kill(Number(owner), 0);
      continue; // its test run is still alive
    } catch {
      // stale
    }
    destroyNamespace(name);
  }
}

/** Deletes a namespace (ending anything still inside it) and its /etc/netns files. */
function destroyNamespace(name: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', name]).toString().split(/\s+/).filter(Boolean);
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
  } catch {
    // already gone
  }
  try {
    execFileSync('ip', ['netns', 'del', name]);
  } catch {
    // already gone
  }
  rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
}

/**
 * A network namespace of the test's own, with only loopback up, a hosts file naming `mail.test` on
 * 127.0.0.1 and ::1, and a resolver on the namespace's loopback (where nothing answers), so no lookup or
 * packet can leave it.
 */
export class Netns {
  readonly name = `mailprobe-${process.pid}-${++counter}`;

  constructor() {
    execFileSync('ip', ['netns', 'add', this.name]);
    execFileSync('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
    const etc = `/etc/netns/${this.name}`;
    mkdirSync(etc, { recursive: true });
    writeFileSync(`${etc}/hosts`, '127.0.0.1 localhost mail.test\n::1 mail.test\n');
    writeFileSync(`${etc}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  }

  /** Adds loopback addresses inside the namespace, to stand for several hosts. */
  addresses(...list: string[]): void {
    for (const address of list)
      this.exec('ip', 'addr', 'add', address.includes(':') ? `${address}/128` : `${address}/8`, 'dev', 'lo');
  }

  /** Runs a command inside the namespace (iptables rules, for instance). */
  exec(command: string, ...args: string[]): void {
    execFileSync('ip', ['netns', 'exec', this.name, command, ...args]);
  }

  /**
   * Starts a daemon inside the namespace and waits for its launcher to exit. Its standard streams are
   * not piped: a daemon that keeps them open would otherwise hold execFileSync until it exits.
   */
  daemon(command: string, ...args: string[]): void {
    execFileSync('ip', ['netns', 'exec', this.name, command, ...args], { stdio: 'ignore', timeout: 30_000 });
  }

  /** Starts fixture servers inside the namespace and runs the built CLI there against them. */
  scenario(spec: {
    servers: object[];
    cli?: string[];
    /** Instead of the CLI: any program and its arguments (the benchmarks). */
    run?: string[];
    dnsmasq?: string[];
    /** A real nginx with this configuration file, ready once it accepts on `wait` (ADDR:PORT). */
    nginx?: { config: string; wait: string };
    /** Instead of one CLI run: several, against the same servers (stdout is then a JSON array of results). */
    clis?: string[][];
    /** ms before the whole scenario is killed (default 60 s; 600 s with `run`). */
    limitMs?: number;
  }): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.run(
      process.execPath,
      [`${root}test/helpers/netns-scenario.mjs`, JSON.stringify(spec)],
      spec.limitMs ?? (spec.run ? 600_000 : 60_000),
    );
  }

  /** Runs a program inside the namespace and collects its output (killed after `limitMs`, 60 s by default). */
  run(
    program: string,
    args: string[],
    limitMs = 60_000,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', this.name, program, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  /** Deletes the namespace (ending anything still inside it) and its /etc/netns files. */
  destroy(): void {
    destroyNamespace(this.name);
  }
}
