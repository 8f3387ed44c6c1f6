/** The README documents every status, finding id, limit and exit code the code has. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { deliberateFaults } from '../src/cli/demo-command.js';
import { exitCodes } from '../src/cli/exit.js';
import { defaultLimits } from '../src/limits.js';
import { severities } from '../src/rules/finding.js';
import { publishedRules } from '../src/rules/published/judge.js';
import { rules } from '../src/rules/rules.js';
import { statusGloss } from '../src/types/index.js';
import { cli, root } from './helpers/cli.js';
import { readmeBlock, sampleTokens } from './helpers/readme-samples.js';

const exec = promisify(execFile);

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
  it('says on the first screen how to type `mailprobe` in a clone, and `npx mailprobe` runs the built CLI', async () => {
    const firstScreen = frontPage.split('\n').slice(0, 20).join('\n');
    expect(firstScreen).toContain('`npx mailprobe demo`');
    expect(firstScreen).toContain('`npm link`');
    // npm exec finds the clone's own bin (package.json "bin"): no registry needed.
    const run = await exec('npm', ['exec', '--offline', '--', 'mailprobe', '--version'], { cwd: root });
    expect(run.stdout.trim()).toBe(JSON.parse(readFileSync(`${root}package.json`, 'utf8')).version);
  });
  it("documents the demo's ports that are wrong on purpose as the demo sets them up", () => {
    const reference = readFileSync(new URL('../docs/reference.md', import.meta.url), 'utf8');
    expect(reference).toContain(`wrong on purpose: ${deliberateFaults().join(', ')}`);
  });
  it('shows a real run of `mailprobe demo`: the same lines as a run at 120 columns, numbers aside', async () => {
    const start = frontPage.indexOf('$ mailprobe demo\n') + '$ mailprobe demo\n'.length;
    const sample = frontPage.slice(start, frontPage.indexOf('```', start));
    const run = await cli(['demo', '--no-color'], { COLUMNS: '120' });
    // Ports, times and days vary from run to run, and with them the padding and where a line wraps.
    expect(sampleTokens(sample)).toEqual(sampleTokens(run.stdout));
    // The demo's banner has no numbers that vary: the README shows it exactly.
    expect(sample.split('\n').slice(0, 2)).toEqual(run.stdout.split('\n').slice(0, 2));
  });
  it('shows a real job summary of `mailprobe demo --format markdown`: the same words, numbers aside', async () => {
    const sample = readmeBlock(
      'What a job summary shows, from a real run (`mailprobe demo --format markdown`',
    );
    const run = await cli(['demo', '--format', 'markdown']);
    expect(sampleTokens(sample)).toEqual(sampleTokens(run.stdout));
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
