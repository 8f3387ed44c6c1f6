/**
 * Installable as users install it: `npm pack`, install the tarball into an empty folder (offline, from the
 * npm cache that `npm ci` filled, with a lockfile made from ours, so nothing leaves the machine), then run the
 * installed CLI and import the library.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../src/render/json.js';
import { validReport } from './helpers/schema.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mailprobe-pack-'));
let files: string[] = [];
let version = '';

beforeAll(() => {
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: root,
      encoding: 'utf8',
    }),
  )[0] as {
    filename: string;
    version: string;
    files: { path: string }[];
  };
  files = packed.files.map((file) => file.path);
  version = packed.version;
  const app = join(dir, 'app');
  execFileSync('mkdir', ['-p', app]);
  // The app gets a lockfile made from ours (runtime packages only), so `npm ci --offline` takes every
  // tarball from the cache that our own `npm ci` filled, by integrity, and needs no registry metadata.
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<
      string,
      {
        dev?: boolean;
        version?: string;
        dependencies?: object;
        bin?: object;
        engines?: object;
        license?: string;
      }
    >;
  };
  const own = lock.packages[''] ?? {};
  const tarball = `file:../${packed.filename}`;
  const packages: Record<string, object> = {
    '': { name: 'app', dependencies: { mailprobe: tarball } },
    'node_modules/mailprobe': { ...own, name: undefined, devDependencies: undefined, resolved: tarball },
  };
  for (const [key, entry] of Object.entries(lock.packages))
    if (key.startsWith('node_modules/') && !entry.dev) packages[key] = entry;
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { mailprobe: tarball } })}\n`,
  );
  writeFileSync(
    join(app, 'package-lock.json'),
    `${JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
  );
  execFileSync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], {
    cwd: app,
    stdio: 'pipe',
  });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const app = () => join(dir, 'app');

describe('the packed package', () => {
  it('ships only what it needs', () => {
    expect(files).toContain('dist/src/cli/main.js');
    expect(files).toContain('dist/src/index.d.ts');
    expect(files).toContain('dist/src/demo/servers.js');
    expect(files).toContain('schema/report-1.schema.json');
    expect(files.filter((file) => file.startsWith('fixtures/')).sort()).toEqual([
      'fixtures/tls/ca.pem',
      'fixtures/tls/server.key',
      'fixtures/tls/server.pem',
    ]);
    expect(
      files.some(
        (file) =>
          file.startsWith('test/') ||
          file.startsWith('src/') ||
          (file.endsWith('.ts') && !file.endsWith('.d.ts')),
      ),
    ).toBe(false);
  });

  it('installs a working mailprobe command', () => {
    const bin = join(app(), 'node_modules', '.bin', 'mailprobe');
    expect(existsSync(bin)).toBe(true);
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toBe(version);
    // `ports` runs from a bundle of its own (dist/cli/ports.cjs).
    const table = JSON.parse(execFileSync(bin, ['ports', '--json'], { encoding: 'utf8' })) as {
      services: unknown[];
    };
    expect(table.services.length).toBeGreaterThanOrEqual(7);
    const report = validReport<JsonReport>(execFileSync(bin, ['demo', '--json'], { encoding: 'utf8' }));
    expect(report.hosts[0]?.ports).toHaveLength(7);
  });

  it('imports as a typed ESM library', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { probeHost, judge, renderJson, referenceTable } from 'mailprobe'; console.log(typeof probeHost, typeof judge, typeof renderJson, referenceTable.length)",
      ],
      { cwd: app(), encoding: 'utf8' },
    );
    expect(out.trim()).toBe('function function function 7');
    expect(existsSync(join(app(), 'node_modules', 'mailprobe', 'dist', 'src', 'index.d.ts'))).toBe(true);
  });
});
