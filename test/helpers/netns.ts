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

  /** Runs a command inside the namespace (iptables rules, for instance). */
  exec(command: string, ...args: string[]): void {
    execFileSync('ip', ['netns', 'exec', this.name, command, ...args]);
  }

  /** Starts fixture servers inside the namespace and runs the built CLI there against them. */
  scenario(spec: {
    servers: object[];
    cli: string[];
  }): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          this.name,
          process.execPath,
          `${root}test/helpers/netns-scenario.mjs`,
          JSON.stringify(spec),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  /** Deletes the namespace (ending anything still inside it) and its /etc/netns files. */
  destroy(): void {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', this.name]).toString().split(/\s+/).filter(Boolean);
      for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
    try {
      execFileSync('ip', ['netns', 'del', this.name]);
    } catch {
      // already gone
    }
    rmSync(`/etc/netns/${this.name}`, { recursive: true, force: true });
  }
}
