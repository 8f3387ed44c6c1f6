import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import type { JsonReport } from '../src/render/json.js';
import { cli, root } from './helpers/cli.js';
import { fixtureServers } from './helpers/fixtures.js';
import { validReport } from './helpers/schema.js';

const ca = `${root}fixtures/tls/ca.pem`;
const dir = mkdtempSync(join(tmpdir(), 'mailprobe-ci-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { fixture } = fixtureServers();

const common = ['--ca', ca, '--servername', 'localhost', '--timeout', '1000'];

interface Junit {
  testsuites: {
    '@_tests': string;
    '@_failures': string;
    testsuite: {
      '@_name': string;
      '@_tests': string;
      '@_failures': string;
      '@_errors': string;
      '@_time': string;
      testcase: {
        '@_classname': string;
        '@_name': string;
        '@_time': string;
        failure?: { '@_message': string; '#text': string };
      }[];
    }[];
  };
}

/** Parses JUnit XML after checking it is well-formed, with the attributes CI readers rely on. */
function junit(text: string): Junit['testsuites']['testsuite'][number] {
  expect(XMLValidator.validate(text)).toBe(true);
  const parsed = new XMLParser({
    ignoreAttributes: false,
    isArray: (name) => ['testsuite', 'testcase'].includes(name),
  }).parse(text) as Junit;
  const suites = parsed.testsuites.testsuite;
  expect(suites).toHaveLength(1);
  const suite = suites[0];
  if (!suite) throw new Error('no testsuite');
  expect(Number(suite['@_tests'])).toBe(suite.testcase.length);
  expect(Number(suite['@_failures'])).toBe(suite.testcase.filter((c) => c.failure).length);
  expect(suite['@_errors']).toBe('0');
  expect(Number(suite['@_time'])).toBeGreaterThanOrEqual(0);
  for (const testcase of suite.testcase) {
    expect(testcase['@_classname']).toMatch(/^127\.0\.0\.1\.\d+$/);
    expect(testcase['@_name']).not.toBe('');
    expect(Number(testcase['@_time'])).toBeGreaterThanOrEqual(0);
  }
  return suite;
}

describe('expectations on the command line', () => {
  it('met: exit 0, and all report files written at once while the human report goes to stdout', async () => {
    const port = await fixture({ protocol: 'smtp', tls: 'starttls' });
    const files = { json: join(dir, 'ok.json'), junit: join(dir, 'ok.xml'), markdown: join(dir, 'ok.md') };
    const run = await cli([
      '127.0.0.1',
      '--expect',
      `${port}=starttls,safe,works,cert-days>=30,service=submission`,
      ...common,
      '--json-file',
      files.json,
      '--junit',
      files.junit,
      '--markdown',
      files.markdown,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/expectations: 4 of 4 met/);
    const report = validReport<JsonReport>(readFileSync(files.json, 'utf8'));
    expect(report.result).toEqual({
      failOn: 'high',
      passed: true,
      failingFindings: 0,
      failedExpectations: 0,
    });
    expect(report.hosts[0]?.ports.map((p) => p.port)).toEqual([port]);
    const suite = junit(readFileSync(files.junit, 'utf8'));
    expect(suite.testcase.map((c) => c['@_name'])).toEqual([
      `${port} submission [127.0.0.1] meets the reference (STARTTLS required; fail-on high)`,
      `${port} submission [127.0.0.1] expect works`,
      `${port} submission [127.0.0.1] expect tls=starttls`,
      `${port} submission [127.0.0.1] expect safe`,
      `${port} submission [127.0.0.1] expect cert-days>=30`,
    ]);
    const markdown = readFileSync(files.markdown, 'utf8');
    expect(markdown).toMatch(/^### mailprobe ✅ passed: 127\.0\.0\.1$/m);
    expect(markdown).toContain(
      `| ${port} | 127.0.0.1 | submission | STARTTLS required | open | ✅ | ✅ |  |`,
    );
    expect(markdown).toMatch(/\*\*Expectations\*\*: 4 of 4 met/);
  });

  it('unmet: exit 1, and the JUnit failure carries what was expected and what was seen', async () => {
    const port = await fixture({ protocol: 'smtp', tls: 'starttls' });
    const file = join(dir, 'fail.xml');
    const run = await cli([
      '127.0.0.1',
      '--expect',
      `${port}=tls,service=submission`,
      ...common,
      '--junit',
      file,
      '--format',
      'junit',
    ]);
    expect(run.code).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(run.stdout);
    const failing = junit(run.stdout).testcase.filter((c) => c.failure);
    expect(failing.map((c) => c.failure?.['@_message'])).toEqual([
      'expected tls=implicit, observed starttls',
    ]);
    expect(failing[0]?.failure?.['#text']).toMatch(/^status open/);
  });

  it('--fail-on sets the severity that fails the run', async () => {
    const port = await fixture({ protocol: 'smtp', tls: 'none' });
    const args = ['127.0.0.1', '--port', `${port}=smtp`, ...common, '--format', 'markdown'];
    expect((await cli(args)).code).toBe(0); // starttls-not-offered on a relay port is medium
    const strict = await cli([...args, '--fail-on', 'medium']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/### mailprobe ❌ failed/);
    expect(strict.stdout).toMatch(/- \*\*medium\*\* \d+ 127\.0\.0\.1 `starttls-not-offered`/);
  });

  it('prints no colour and no spinner when CI is set', async () => {
    const port = await fixture({ protocol: 'smtp', tls: 'starttls' });
    const run = await cli(['127.0.0.1', '--port', `${port}=submission`, ...common], { CI: 'true' });
    expect(run.stdout).not.toMatch(/\u001b/);
    expect(run.stderr).toBe('');
  });
});

describe('expectation files', () => {
  const mistakes: [string, string, RegExp][] = [
    ['not JSON', '{ports:', /^mailprobe: .*bad\.json: not valid JSON/],
    [
      'a wrong value',
      '{"ports": {"587": {"tls": "ssl"}}}',
      /^mailprobe: .*bad\.json: ports\.587\.tls: expected one of implicit, starttls, none/,
    ],
    [
      'an unknown key',
      '{"ports": {"587": {"encrypted": true}}}',
      /^mailprobe: .*bad\.json: ports\.587\.encrypted: unknown key/,
    ],
  ];
  for (const [name, text, message] of mistakes) {
    it(`${name}: exit 2 before probing, one line naming the file and key`, async () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, text);
      const run = await cli(['127.0.0.1', '--expect-file', file]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    });
  }

  it('a binary file: the parser quotes its bytes, and no control byte reaches the terminal', async () => {
    const file = join(dir, 'binary.json');
    writeFileSync(
      file,
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x1b, 0x5b, 0x32, 0x4a, 0x9b]),
    );
    const run = await cli(['127.0.0.1', '--expect-file', file]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^mailprobe: .*binary\.json: not valid JSON/);
    expect(run.stderr.trimEnd()).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it('a missing file: exit 2', async () => {
    const run = await cli(['127.0.0.1', '--expect-file', join(dir, 'none.json')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--expect-file: cannot read .*none\.json \(ENOENT\)/);
  });

  it('a report file that cannot be written: exit 2 before probing', async () => {
    const run = await cli(['127.0.0.1', '--junit', '/nonexistent/dir/report.xml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--junit: cannot write/);
  });
});
