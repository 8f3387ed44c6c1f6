/**
 * Keeps CONTRIBUTING's layout map true: every folder and loose file of src/ is on the map and nothing else is;
 * the root holds at most five files; imports run only downward between the floors the map names, with no
 * cycle; a source file over 350 lines is one that CONTRIBUTING names, with its reason; a port's status is
 * written only in probe/classify.ts; --ca's PEM text is resolved into a Trust at the entries only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { statusGloss } from '../src/types/port.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const src = join(root, 'src');
const contributing = readFileSync(join(root, 'CONTRIBUTING.md'), 'utf8');

/** The map: the fenced block under "### Layout", one `name/` or `name.ts` per line at two spaces' indent. */
function mapEntries(): string[] {
  const section = contributing.split('### Layout')[1] ?? '';
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => /^ {2}(\S+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'src/');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The floor of a top-level name of src/, lowest first, as the map's "floors" line lists them. */
function floors(): Map<string, number> {
  const line = /^floors: (.+)$/m.exec(contributing)?.[1] ?? '';
  const floor = new Map<string, number>();
  line.split(' < ').forEach((group, index) => {
    for (const name of group.split(/[\s,]+/).filter(Boolean))
      floor.set(name.replace(/(\/|\.ts)$/, ''), index);
  });
  return floor;
}

const top = (file: string) => {
  const parts = relative(src, file).split('/');
  return parts.length === 1 ? (parts[0] ?? '').replace(/\.ts$/, '') : (parts[0] ?? '');
};

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((match) =>
    resolve(dirname(file), match[1] ?? '').replace(/\.js$/, '.ts'),
  );
}

describe('the layout map in CONTRIBUTING', () => {
  test('lists every folder and loose file of src/, and nothing that is not there', () => {
    const actual = readdirSync(src)
      .map((name) => (statSync(join(src, name)).isDirectory() ? `${name}/` : name))
      .sort();
    expect(mapEntries().sort()).toEqual(actual);
  });

  test('the root of src/ holds at most five files', () => {
    expect(readdirSync(src).filter((name) => name.endsWith('.ts')).length).toBeLessThanOrEqual(5);
  });

  test('imports run downward between floors, never sideways between two folders of one floor', () => {
    const floor = floors();
    const wrong: string[] = [];
    for (const file of sourceFiles(src)) {
      const from = top(file);
      for (const target of importsOf(file)) {
        const to = top(target);
        if (from === to) continue;
        const a = floor.get(from);
        const b = floor.get(to);
        if (a === undefined || b === undefined) wrong.push(`${from} or ${to} has no floor`);
        else if (b > a || (b === a && a !== 0))
          wrong.push(`${relative(src, file)} -> ${relative(src, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test('no import cycle between files', () => {
    const graph = new Map(sourceFiles(src).map((file) => [file, importsOf(file)]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(src, f)).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  test('a source file over 350 lines is named in CONTRIBUTING with its reason', () => {
    const long = sourceFiles(src)
      .filter((file) => readFileSync(file, 'utf8').trimEnd().split('\n').length > 350)
      .map((file) => relative(root, file));
    const section = contributing.split('### Files over 350 lines')[1] ?? '';
    expect(long.filter((file) => !section.includes(`\`${file}\``))).toEqual([]);
  });

  test("a port's status is written in one room: probe/classify.ts", () => {
    const home = join(src, 'probe', 'classify.ts');
    const statuses = new Set(Object.keys(statusGloss));
    const writes: string[] = [];
    for (const file of sourceFiles(src)) {
      if (file === home) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, index) => {
          const assigned = /\.status(Detail)?\s*=(?!=)/.test(line);
          const literal = [...line.matchAll(/\bstatus\s*:\s*'([a-z-]+)'/g)].some((m) =>
            statuses.has(m[1] ?? ''),
          );
          if (assigned || literal) writes.push(`${relative(src, file)}:${index + 1}: ${line.trim()}`);
        });
    }
    expect(writes).toEqual([]);
  });

  test("--ca's PEM text is resolved once, at the entries (tls/trust.ts), and only a Trust travels below", () => {
    // The CLI reads the file; the library's entries (probeHost's and probePort's options, serve's) take the PEM
    // and resolve it with trustFrom(ca); probeDomain and batch mode resolve theirs once before their hosts.
    const entries = [
      'cli/',
      'probe/host.ts',
      'probe/port.ts',
      'probe/domain.ts',
      'modes/serve.ts',
      'modes/batch.ts',
    ];
    const found: string[] = [];
    for (const file of sourceFiles(src)) {
      const name = relative(src, file);
      if (name === 'tls/trust.ts' || entries.some((entry) => name.startsWith(entry))) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if (/\bca\??: string|trustFrom\((?!\))/.test(line))
            found.push(`${name}:${index + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });
});
