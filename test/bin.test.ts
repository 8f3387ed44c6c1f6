/**
 * The package's bin (bin/mailprobe.cjs): the code cache and the help cache are accelerators only: the output is
 * the same with them, without them, and where the cache folder cannot be written.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
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
    const after = before.replace('exit codes: 0 passed', 'exit codes: 0 PASSED');
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
      .replace('exit codes: 0 PASSED', 'exit codes: 0 Passed')
      .replace(/^\/\/ mailprobe-build [0-9a-f]{16}\n/, '// mailprobe-build 0123456789abcdef\n');
    expect(release.length).toBe(after.length);
    expect(release.slice(0, 40)).not.toBe(after.slice(0, 40));
    writeFileSync(file, release);
    utimesSync(file, later, later);
    expect(run(['--help'])).toMatch(/exit codes: 0 Passed/);
    expect(run(['--help'])).toMatch(/exit codes: 0 Passed/);
  });
});
