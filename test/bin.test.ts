/**
 * The package's bin (bin/mailprobe.cjs): the code cache and the help cache are accelerators only: the output is
 * the same with them, without them, and where the cache folder cannot be written.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers/cli.js';

const bin = join(root, 'bin/mailprobe.cjs');

function mailprobe(args: string[], env: Record<string, string | undefined>): string {
  return execFileSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MAILPROBE_NO_CACHE: undefined, ...env },
  });
}

describe('bin/mailprobe.cjs caches', () => {
  it('--help: the first run saves what it printed, later runs print it from the cache, keyed by the locale', () => {
    const home = mkdtempSync(join(tmpdir(), 'mailprobe-cache-'));
    const uncached = mailprobe(['--help'], { MAILPROBE_NO_CACHE: '1' });
    expect(uncached).toMatch(/exit codes:/);
    expect(mailprobe(['--help'], { XDG_CACHE_HOME: home })).toBe(uncached);
    const [folder] = readdirSync(join(home, 'mailprobe'));
    const files = readdirSync(join(home, 'mailprobe', folder ?? ''));
    const help = files.filter((name) => name.startsWith('help-'));
    expect(help).toHaveLength(1);
    expect(files.some((name) => /^cli-[0-9]+\.[0-9]+\.[0-9a-f]{16}-help\.bin$/.test(name))).toBe(true);
    // The cached text is what the next run prints: mark it and see the mark.
    const helpFile = join(home, 'mailprobe', folder ?? '', help[0] ?? '');
    writeFileSync(helpFile, 'from the cache\n');
    expect(mailprobe(['--help'], { XDG_CACHE_HOME: home })).toBe('from the cache\n');
    // Another locale is another key: yargs' own words are translated.
    const german = mailprobe(['--help'], { XDG_CACHE_HOME: home, LC_ALL: 'de_DE.UTF-8' });
    expect(german).toBe(mailprobe(['--help'], { MAILPROBE_NO_CACHE: '1', LC_ALL: 'de_DE.UTF-8' }));
    expect(german).not.toBe('from the cache\n');
    // A command's help is cached apart from the top-level help.
    expect(mailprobe(['batch', '--help'], { XDG_CACHE_HOME: home })).toBe(
      mailprobe(['batch', '--help'], { MAILPROBE_NO_CACHE: '1' }),
    );
  });

  it('a cache folder that cannot be written only costs speed', () => {
    const uncached = mailprobe(['--help'], { MAILPROBE_NO_CACHE: '1' });
    expect(mailprobe(['--help'], { XDG_CACHE_HOME: '/proc/mailprobe-cannot-write' })).toBe(uncached);
    expect(mailprobe(['ports'], { XDG_CACHE_HOME: '/proc/mailprobe-cannot-write' })).toBe(
      mailprobe(['ports'], { MAILPROBE_NO_CACHE: '1' }),
    );
  });

  it('a rebuilt bundle of the same length never runs the cache of the old build (V8 checks the length only)', () => {
    const tree = mkdtempSync(join(tmpdir(), 'mailprobe-tree-'));
    mkdirSync(join(tree, 'bin'));
    mkdirSync(join(tree, 'dist'));
    cpSync(bin, join(tree, 'bin/mailprobe.cjs'));
    cpSync(join(root, 'package.json'), join(tree, 'package.json'));
    cpSync(join(root, 'dist/cli'), join(tree, 'dist/cli'), { recursive: true });
    const home = mkdtempSync(join(tmpdir(), 'mailprobe-cache-'));
    const run = (args: string[]) =>
      execFileSync(process.execPath, [join(tree, 'bin/mailprobe.cjs'), ...args], {
        encoding: 'utf8',
        env: { ...process.env, MAILPROBE_NO_CACHE: undefined, XDG_CACHE_HOME: home },
      });
    expect(run(['--help'])).toMatch(/exit codes: 0 passed/);
    run(['--help']); // from the caches now
    // "Rebuild": the same length, other content, a later modification time.
    const file = join(tree, 'dist/cli/cli.cjs');
    const before = readFileSync(file, 'utf8');
    // The epilogue's words for exit code 0, as the bundle holds them (cli/exit.ts).
    const after = before.replace('passed (no unmet', 'PASSED (no unmet');
    expect(after.length).toBe(before.length);
    expect(after).not.toBe(before);
    writeFileSync(file, after);
    const later = new Date(Date.now() + 10_000);
    utimesSync(file, later, later);
    expect(run(['--help'])).toMatch(/exit codes: 0 PASSED/);
    expect(run(['ports'])).toMatch(/submission/);
    // A new release installed by npm: every file has the same time (and here the same version and length), but
    // the build's hash on the first line differs.
    const release = after
      .replace('PASSED (no unmet', 'Passed (no unmet')
      .replace(/^\/\/ mailprobe-build [0-9a-f]{16}\n/, '// mailprobe-build 0123456789abcdef\n');
    expect(release.length).toBe(after.length);
    expect(release.slice(0, 40)).not.toBe(after.slice(0, 40));
    writeFileSync(file, release);
    utimesSync(file, later, later);
    expect(run(['--help'])).toMatch(/exit codes: 0 Passed/);
    expect(run(['--help'])).toMatch(/exit codes: 0 Passed/);
  });
});

describe('bin/mailprobe.cjs trusts a cache only where no one else can write', () => {
  const root0 = process.getuid?.() === 0;
  const needsRoot = root0 ? undefined : 'needs root (chown to another user)';
  if (needsRoot && process.env.CI)
    it('prerequisites', () => {
      throw new Error(`CI=true and the cache ownership tests cannot run: ${needsRoot}`);
    });

  /** A fresh cache home with the caches of `ports` and `--help` made, and the paths of both. */
  function warmed() {
    const home = mkdtempSync(join(tmpdir(), 'mailprobe-trust-'));
    const env = { XDG_CACHE_HOME: home };
    mailprobe(['ports'], env);
    mailprobe(['--help'], env);
    mailprobe(['--help'], env);
    const [version = ''] = readdirSync(join(home, 'mailprobe'));
    const folder = join(home, 'mailprobe', version);
    const files = readdirSync(folder);
    const code = join(folder, files.find((name) => /^ports-.*-ports\.bin$/.test(name)) ?? '');
    const help = join(folder, files.find((name) => name.startsWith('help-')) ?? '');
    return { home, env, folder, code, help };
  }

  /** Replaces the `ports` code cache with one whose code writes a file, under the header the bin expects. */
  function plant(code: string): string {
    const header = `${readFileSync(code).toString('latin1').split('\n')[0]}\n`;
    execFileSync(process.execPath, [
      join(root, 'test/helpers/planted-cache.cjs'),
      join(root, 'dist/cli/ports.cjs'),
      code,
      header,
    ]);
    return join(mkdtempSync(join(tmpdir(), 'mailprobe-pwned-')), 'pwned');
  }

  /** Runs the bin with a deadline: a cache must never make it hang or fail. */
  function run(args: string[], env: Record<string, string>) {
    const result = spawnSync(process.execPath, [bin, ...args], {
      encoding: 'utf8',
      env: { ...process.env, MAILPROBE_NO_CACHE: undefined, ...env },
      timeout: 15_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }
  const plainPorts = () => mailprobe(['ports'], { MAILPROBE_NO_CACHE: '1' });
  const plainHelp = () => mailprobe(['--help'], { MAILPROBE_NO_CACHE: '1' });

  it('a planted cache is code: in the user own folder it runs (what every case below must prevent)', () => {
    const { env, code } = warmed();
    const pwned = plant(code);
    run(['ports'], { ...env, PWNED_FILE: pwned });
    expect(existsSync(pwned)).toBe(true);
  });

  it.skipIf(needsRoot !== undefined)('a cache folder of another user is neither read nor written', () => {
    const { env, folder, code, help } = warmed();
    const pwned = plant(code);
    writeFileSync(help, 'planted help\n');
    chownSync(folder, 65534, 65534);
    chownSync(code, 65534, 65534);
    chownSync(help, 65534, 65534);
    expect(run(['ports'], { ...env, PWNED_FILE: pwned })).toEqual({
      status: 0,
      stdout: plainPorts(),
      stderr: '',
    });
    expect(existsSync(pwned)).toBe(false);
    expect(run(['--help'], env).stdout).toBe(plainHelp());
    // Not rewritten either: it is not this user's to write.
    expect(readFileSync(help, 'utf8')).toBe('planted help\n');
  });

  it.skipIf(needsRoot !== undefined)(
    'a file of another user in the user own folder is ignored and replaced',
    () => {
      const { env, code, help } = warmed();
      const pwned = plant(code);
      writeFileSync(help, 'planted help\n');
      chownSync(code, 65534, 65534);
      chownSync(help, 65534, 65534);
      expect(run(['ports'], { ...env, PWNED_FILE: pwned }).stdout).toBe(plainPorts());
      expect(existsSync(pwned)).toBe(false);
      expect(run(['--help'], env).stdout).toBe(plainHelp());
      expect(statSync(code).uid).toBe(0);
      expect(readFileSync(help, 'utf8')).toBe(plainHelp());
    },
  );

  it('a group- or world-writable cache folder, or one under a folder anyone can swap, is not used', () => {
    for (const [mode, where] of [
      [0o770, 'folder'],
      [0o707, 'folder'],
      [0o777, 'home'],
    ] as const) {
      const { home, env, folder, code, help } = warmed();
      const pwned = plant(code);
      writeFileSync(help, 'planted help\n');
      chmodSync(where === 'home' ? home : folder, mode);
      expect(run(['ports'], { ...env, PWNED_FILE: pwned }).stdout).toBe(plainPorts());
      expect(existsSync(pwned)).toBe(false);
      expect(run(['--help'], env).stdout).toBe(plainHelp());
      expect(readFileSync(help, 'utf8')).toBe('planted help\n');
    }
    // A sticky folder (as /tmp is) is fine above it: no one can rename another's entries there.
    const { home, env, help } = warmed();
    chmodSync(home, 0o1777);
    writeFileSync(help, 'kept help\n');
    expect(run(['--help'], env).stdout).toBe('kept help\n');
  });

  it('a FIFO or a link to /dev/zero in place of a cache file: no hang, no memory growth, replaced by a file', () => {
    const { env, code, help } = warmed();
    for (const file of [code, help]) rmSync(file);
    execFileSync('mkfifo', [code]);
    execFileSync('mkfifo', [help]);
    expect(run(['ports'], env)).toEqual({ status: 0, stdout: plainPorts(), stderr: '' });
    expect(run(['--help'], env)).toEqual({ status: 0, stdout: plainHelp(), stderr: '' });
    expect(lstatSync(code).isFile()).toBe(true);
    expect(lstatSync(help).isFile()).toBe(true);
    for (const file of [code, help]) {
      rmSync(file);
      symlinkSync('/dev/zero', file);
    }
    expect(run(['ports'], env)).toEqual({ status: 0, stdout: plainPorts(), stderr: '' });
    expect(run(['--help'], env)).toEqual({ status: 0, stdout: plainHelp(), stderr: '' });
    expect(lstatSync(code).isFile()).toBe(true);
    expect(lstatSync(help).isFile()).toBe(true);
  });

  it('an oversized cache file is not read, and is replaced', () => {
    const { env, code, help } = warmed();
    // Sparse: 64 MiB of nothing after a line that would be printed if the file were read.
    writeFileSync(help, 'planted help\n');
    truncateSync(help, 64 * 1024 * 1024);
    writeFileSync(code, readFileSync(code).subarray(0, 200));
    truncateSync(code, 64 * 1024 * 1024);
    expect(run(['--help'], env)).toEqual({ status: 0, stdout: plainHelp(), stderr: '' });
    expect(run(['ports'], env)).toEqual({ status: 0, stdout: plainPorts(), stderr: '' });
    expect(statSync(help).size).toBeLessThan(64 * 1024);
    expect(statSync(code).size).toBeLessThan(16 * 1024 * 1024);
  });

  it('a cache made for another build is not taken for this one, and no cache is written for a bundle that is not its hash', () => {
    const { env, code } = warmed();
    // The right name, the header of another build: ignored, and rewritten with this build's header.
    const header = readFileSync(code).toString('latin1').split('\n')[0] ?? '';
    writeFileSync(
      code,
      Buffer.concat([
        Buffer.from(`${header.replace(/[0-9a-f]{16}/, '0123456789abcdef')}\n`),
        readFileSync(code).subarray(header.length + 1),
      ]),
    );
    expect(run(['ports'], env).stdout).toBe(plainPorts());
    expect(readFileSync(code).toString('latin1').split('\n')[0]).toBe(header);
    // A bundle whose first line names a hash that is not of its bytes (an edit by hand that kept the line).
    const tree = mkdtempSync(join(tmpdir(), 'mailprobe-tree-'));
    mkdirSync(join(tree, 'bin'));
    mkdirSync(join(tree, 'dist'));
    cpSync(bin, join(tree, 'bin/mailprobe.cjs'));
    cpSync(join(root, 'package.json'), join(tree, 'package.json'));
    cpSync(join(root, 'dist/cli'), join(tree, 'dist/cli'), { recursive: true });
    const ports = join(tree, 'dist/cli/ports.cjs');
    writeFileSync(ports, readFileSync(ports, 'utf8').replace('"use strict"', "'use strict'"));
    const home = mkdtempSync(join(tmpdir(), 'mailprobe-cache-'));
    const edited = execFileSync(process.execPath, [join(tree, 'bin/mailprobe.cjs'), 'ports'], {
      encoding: 'utf8',
      env: { ...process.env, MAILPROBE_NO_CACHE: undefined, XDG_CACHE_HOME: home },
    });
    expect(edited).toBe(plainPorts());
    const written = existsSync(join(home, 'mailprobe'))
      ? readdirSync(join(home, 'mailprobe'), { recursive: true }).map(String)
      : [];
    expect(written.filter((name) => name.includes('ports-'))).toEqual([]);
  });
});

describe('bin/mailprobe.cjs bundles', () => {
  it('a probe opens its first socket before the rules and renderers (judge.cjs) or perf_hooks load, then judges', () => {
    const home = mkdtempSync(join(tmpdir(), 'mailprobe-judge-'));
    try {
      const seen = join(home, 'first-socket.json');
      const hook = join(home, 'hook.cjs');
      // At the first client socket: the bundles the process has loaded, and whether the `performance` global was
      // made (perf_hooks and seven internal modules).
      writeFileSync(
        hook,
        `const folder = ${JSON.stringify(join(root, 'dist/cli'))};
let done = false;
require('node:diagnostics_channel').subscribe('net.client.socket', () => {
  if (done) return;
  done = true;
  require('node:fs').writeFileSync(${JSON.stringify(seen)}, JSON.stringify({
    bundles: Object.keys(require.cache).filter((file) => file.startsWith(folder)),
    perfHooks: process.moduleLoadList.includes('NativeModule perf_hooks'),
  }));
});`,
      );
      // Twice: the first run writes the code caches, the second runs from them. Human output, outside CI: the
      // spinner's bookkeeping runs (it is shown only on a terminal).
      for (const round of [1, 2]) {
        const run = spawnSync(
          process.execPath,
          ['--require', hook, bin, '127.0.0.1', '--port', '1=smtp', '--timeout', '500', '--no-color'],
          {
            encoding: 'utf8',
            env: { ...process.env, MAILPROBE_NO_CACHE: undefined, XDG_CACHE_HOME: home, CI: undefined },
          },
        );
        expect(run.status, `round ${round}: ${run.stderr}`).toBe(1);
        expect(run.stdout).toMatch(/no-port-works on 1/);
        const first = JSON.parse(readFileSync(seen, 'utf8')) as { bundles: string[]; perfHooks: boolean };
        expect(first.bundles, `round ${round}`).toEqual([join(root, 'dist/cli/engine.cjs')]);
        expect(first.perfHooks, `round ${round}`).toBe(false);
      }
      // The finding this run raised is judged by code the engine does not hold: it came from judge.cjs, loaded
      // after the first socket (and with a code cache of its own).
      expect(readFileSync(join(root, 'dist/cli/engine.cjs'), 'utf8')).not.toContain('"no-port-works"');
      expect(readFileSync(join(root, 'dist/cli/judge.cjs'), 'utf8')).toContain('"no-port-works"');
      const folder = join(home, 'mailprobe', readdirSync(join(home, 'mailprobe'))[0] ?? '');
      expect(
        readdirSync(folder).filter((name) => /^(cli|engine|judge)-.*-probe\.bin$/.test(name)),
      ).toHaveLength(3);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("batch --workers 2 runs from modes.cjs, which takes the engine's modules from engine.cjs, in every process", () => {
    const home = mkdtempSync(join(tmpdir(), 'mailprobe-modes-'));
    try {
      const targets = join(home, 'targets.txt');
      writeFileSync(targets, '127.0.0.1,1,smtp\n127.0.0.1,2,smtp\n127.0.0.1,3,smtp\n');
      // Refused ports: the run fails (exit 1), each target judged by a worker, whose bundle is batch-worker.cjs.
      const run = spawnSync(process.execPath, [bin, 'batch', targets, '--workers', '2', '--timeout', '500'], {
        encoding: 'utf8',
        env: { ...process.env, MAILPROBE_NO_CACHE: undefined, XDG_CACHE_HOME: home },
      });
      expect(run.status, run.stderr).toBe(1);
      const documents = run.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { hosts: { ports: { status: string }[] }[] });
      expect(documents.map((d) => d.hosts[0]?.ports[0]?.status)).toEqual(['refused', 'refused', 'refused']);
      const folder = join(home, 'mailprobe', readdirSync(join(home, 'mailprobe'))[0] ?? '');
      expect(
        readdirSync(folder).filter((name) => /^(cli|engine|modes)-.*-batch\.bin$/.test(name)),
      ).toHaveLength(3);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
