/** The README documents every status, finding id, limit and exit code the code has. */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exitCodes } from '../src/cli/exit.js';
import { defaultLimits } from '../src/limits.js';
import { severities } from '../src/rules/finding.js';
import { publishedRules } from '../src/rules/published/judge.js';
import { rules } from '../src/rules/rules.js';
import { statusGloss } from '../src/types/index.js';

// The README holds the journeys; the reference tables live in docs/reference.md: together they document the code.
const readme = [
  readFileSync(new URL('../README.md', import.meta.url), 'utf8'),
  readFileSync(new URL('../docs/reference.md', import.meta.url), 'utf8'),
].join('\n');
const frontPage = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('lists every status with its meaning', () => {
    for (const [status, gloss] of Object.entries(statusGloss))
      expect(readme).toContain(`| \`${status}\` | ${gloss} |`);
  });
  it('lists every finding id with its severity', () => {
    for (const rule of rules)
      expect(readme).toMatch(new RegExp(`\\| \`${rule.id}\` \\| ${rule.severity}\\b`));
  });
  it('lists every finding about what a domain publishes, with its severity', () => {
    for (const rule of publishedRules)
      expect(readme).toMatch(new RegExp(`\\| \`${rule.id}\` \\| ${rule.severity}\\b`));
  });
  it('lists every exit code', () => {
    for (const code of Object.values(exitCodes)) expect(readme).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });
  it("names the library's exports, exactly: the table in docs/reference.md's Library API is src/index.ts", async () => {
    const reference = readFileSync(new URL('../docs/reference.md', import.meta.url), 'utf8');
    const section = reference.slice(reference.indexOf('## Library API'));
    const table = section.slice(section.indexOf('| kind | exports |'));
    const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
    const documented = rows.flatMap((row) =>
      [...(row.split('|')[2] ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1]),
    );
    const exported = Object.keys(await import('../src/index.js'));
    expect([...documented].sort()).toEqual([...exported].sort());
  });
  it('lists every limit with its default', () => {
    for (const [name, value] of Object.entries(defaultLimits))
      expect(readme).toContain(`| \`${name}\` | ${value} |`);
  });
  it('gives the two first-screen commands', () => {
    const firstScreen = frontPage.split('\n').slice(0, 20).join('\n');
    expect(firstScreen).toContain('npm ci && node dist/src/cli/main.js demo');
    expect(firstScreen).toContain('npm test');
  });
});

describe('the JSON Schema', () => {
  const schema = JSON.parse(readFileSync(new URL('../schema/report-1.schema.json', import.meta.url), 'utf8'));
  it('lists exactly the statuses, finding ids and severities the code has', () => {
    expect([...schema.$defs.status.enum].sort()).toEqual(Object.keys(statusGloss).sort());
    expect([...schema.$defs.findingId.enum].sort()).toEqual(rules.map((rule) => rule.id).sort());
    expect(schema.$defs.severity.enum).toEqual([...severities]);
  });
});

describe('the README examples', () => {
  for (const file of [
    'github-actions.yml',
    'gitlab-ci.yml',
    'mailprobe.expect.json',
    'prometheus.yml',
    'mailprobe-rules.yml',
    'batch-job.yaml',
    'batch-matrix.yml',
    'nagios-mailprobe.cfg',
  ]) {
    it(`shows examples/${file} as it is`, () => {
      const text = readFileSync(new URL(`../examples/${file}`, import.meta.url), 'utf8').trimEnd();
      expect(readme).toContain(text);
    });
  }
});

describe('the documents link to what exists', () => {
  const repository = fileURLToPath(new URL('../', import.meta.url));
  const files = ['README.md', 'docs/reference.md', 'CONTRIBUTING.md'];
  const text = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
  const anchors = (file: string) =>
    new Set(
      text(file)
        .split('\n')
        .filter((line) => /^#{1,4} /.test(line))
        .map((line) =>
          line
            .replace(/^#+ /, '')
            .trim()
            .toLowerCase()
            .replace(/[^\w\- ]/g, '')
            .replace(/ /g, '-'),
        ),
    );
  for (const file of files) {
    it(`every relative link of ${file} names a file and a heading that exist`, () => {
      const broken: string[] = [];
      for (const match of text(file).matchAll(/\]\(([^)#:]*)(?:#([^)]+))?\)/g)) {
        const [, path = '', anchor] = match;
        const target =
          path === ''
            ? file
            : relative(repository, fileURLToPath(new URL(path, new URL(`../${file}`, import.meta.url))));
        if (path !== '' && !files.includes(target)) continue; // other files (examples, schema) are checked by their own tests
        if (anchor && !anchors(target).has(anchor)) broken.push(`${path}#${anchor}`);
      }
      expect(broken).toEqual([]);
    });
  }
});
