/**
 * Mail servers run from Debian packages that are unpacked, not installed (fixtures/families/unpack.sh): Exim
 * conflicts with Postfix and Courier with Dovecot. Inside the test's network namespace, a private mount
 * namespace shows the unpacked etc/ and usr/ over the machine's /etc and /usr (overlayfs), with the test's
 * own folder as the writable top of /etc (its configuration files, and the system users the packages'
 * maintainer scripts would have created) and bound on /run: the binaries find every path they were built
 * with, and nothing outside the test's folder changes.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from './netns.js';

/** Where fixtures/families/unpack.sh put the packages. */
export const familiesRoot = process.env.MAILPROBE_FAMILIES ?? '/opt/mailprobe-families';

/** Why servers cannot run unpacked here, naming the first of `files` (under the unpacked root) missing. */
export function unpackedMissing(files: string[], packages: string): string | undefined {
  for (const file of files) {
    if (!existsSync(join(familiesRoot, file)))
      return `needs ${packages} unpacked in ${familiesRoot} (no ${file}): bash fixtures/families/unpack.sh`;
  }
  // The libraries the binaries need: those a Postfix and Dovecot machine lacks are unpacked with them; the
  // others come from the machine (.ci/run installs libgnutls-dane0).
  const libraries = ['usr/lib/x86_64-linux-gnu', 'usr/lib'].map((dir) => join(familiesRoot, dir)).join(':');
  for (const file of files) {
    const path = join(familiesRoot, file);
    if (!readFileSync(path).subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1'))) continue;
    const lost = /^\s*(\S+) => not found/m.exec(
      execFileSync('ldd', [path], { env: { ...process.env, LD_LIBRARY_PATH: libraries } }).toString(),
    );
    if (lost)
      return `needs ${lost[1]} for ${file}: bash fixtures/families/unpack.sh, or apt-get install its package`;
  }
  try {
    execFileSync('sh', ['-c', 'command -v unshare'], { stdio: 'ignore' });
  } catch {
    return 'needs unshare (util-linux) for a private mount namespace';
  }
  if (!readFileSync('/proc/filesystems', 'utf8').includes('overlay') && !existsSync('/sys/module/overlay'))
    return 'needs overlayfs in the kernel (modprobe overlay)';
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Reads a pid file a daemon writes after it detached, within 10 s. */
export function readPid(file: string, log: string): number {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (existsSync(file)) {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    }
    execFileSync('sleep', ['0.05']);
  }
  throw new Error(`no pid file ${file}; see ${log}`);
}

/** Stops processes by pid: SIGTERM, then SIGKILL after 5 s. */
export function stopPids(pids: number[]): void {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const until = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < until) execFileSync('sleep', ['0.05']);
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** Waits until each port listens on 127.0.0.1 and ::1 in the namespace (a wildcard listener counts). */
export function waitForListeners(netns: Netns, ports: number[], log: string): void {
  const until = Date.now() + 10_000;
  for (;;) {
    const locals = execFileSync('ip', ['netns', 'exec', netns.name, 'ss', '-Hltn'])
      .toString()
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[3] ?? '');
    const listens = (port: number, address: string) =>
      locals.some((local) => [`${address}:${port}`, `*:${port}`, `0.0.0.0:${port}`].includes(local));
    const missing = ports.filter(
      (port) => !listens(port, '127.0.0.1') || !(listens(port, '[::1]') || locals.includes(`[::]:${port}`)),
    );
    if (missing.length === 0) return;
    if (Date.now() > until) throw new Error(`ports ${missing.join(', ')} never listened; see ${log}`);
    execFileSync('sleep', ['0.05']);
  }
}

/**
 * The unpacked packages as if installed, in `dir`: `dir/etc` is the top of /etc (write configuration files
 * there before `run`), `dir/run` is /run. `users` are added to the machine's passwd and group files in that
 * /etc, with ids no machine account uses.
 */
export class PackageView {
  readonly etc: string;
  readonly runDir: string;
  private readonly work: string;
  readonly ids = new Map<string, number>();

  constructor(
    readonly netns: Netns,
    readonly dir: string,
    users: string[],
  ) {
    this.etc = join(dir, 'etc');
    this.runDir = join(dir, 'run');
    this.work = join(dir, 'etc-work');
    for (const folder of [this.etc, this.runDir, this.work]) mkdirSync(folder, { recursive: true });
    const passwd = readFileSync('/etc/passwd', 'utf8');
    const group = readFileSync('/etc/group', 'utf8');
    const taken = new Set(
      [...passwd.split('\n'), ...group.split('\n')].map((line) => Number(line.split(':')[2])).filter(Boolean),
    );
    let next = 64_900;
    const added: string[] = [];
    const groups: string[] = [];
    for (const user of users) {
      while (taken.has(next)) next++;
      this.ids.set(user, next);
      added.push(`${user}:x:${next}:${next}::/nonexistent:/usr/sbin/nologin`);
      groups.push(`${user}:x:${next}:`);
      next++;
    }
    writeFileSync(join(this.etc, 'passwd'), `${passwd.trimEnd()}\n${added.join('\n')}\n`);
    writeFileSync(join(this.etc, 'group'), `${group.trimEnd()}\n${groups.join('\n')}\n`);
    // The namespace's hosts and resolver (ip netns exec binds them over /etc; the overlay would hide them).
    for (const file of ['hosts', 'resolv.conf'])
      writeFileSync(join(this.etc, file), readFileSync(`/etc/netns/${netns.name}/${file}`));
  }

  /** The uid (and gid) given to one of the added users. */
  id(user: string): number {
    const id = this.ids.get(user);
    if (id === undefined) throw new Error(`no user ${user} in this view`);
    return id;
  }

  /**
   * Runs a shell script inside the namespace, in a private mount namespace with the unpacked packages
   * mounted, and waits for it to end (daemons it starts must detach). Its output goes to `dir/start.log`.
   */
  run(script: string): void {
    const mounts = [
      `mount -t overlay overlay -o lowerdir=${familiesRoot}/etc:/etc,upperdir=${this.etc},workdir=${this.work} /etc`,
      `mount -t overlay overlay -o lowerdir=${familiesRoot}/usr:/usr /usr`,
      `mount --bind ${this.runDir} /run`,
    ];
    const log = join(this.dir, 'start.log');
    const fd = openSync(log, 'a');
    try {
      execFileSync(
        'ip',
        [
          'netns',
          'exec',
          this.netns.name,
          'unshare',
          '-m',
          '--propagation',
          'private',
          'sh',
          '-ec',
          `${mounts.join('\n')}\n${script}`,
        ],
        { stdio: ['ignore', fd, fd], timeout: 30_000 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message.split('\n')[0]}; ${log}:\n${readFileSync(log, 'utf8')}`);
    } finally {
      closeSync(fd);
    }
  }
}
