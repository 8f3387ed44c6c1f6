// Stands in for yargs 18's lib/platform-shims/esm.mjs in the CLI bundle: the same object shape, with the
// locales found beside the bundle (dist/cli/locales), node:assert loaded only when an invariant fails, and no
// folder walk for a package.json (the package's own is two folders up). Checked by scripts/build-cli.mjs.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import stringWidth from 'string-width';
import y18n from 'y18n';
import Parser from 'yargs-parser';
import cliui from './lazy-cliui.mjs';

const bundleFolder = dirname(fileURLToPath(import.meta.url));
let required;

export default {
  assert: {
    notStrictEqual: (a, b, message) => {
      if (a === b) process.getBuiltinModule('node:assert').notStrictEqual(a, b, message);
    },
    strictEqual: (a, b, message) => {
      if (a !== b) process.getBuiltinModule('node:assert').strictEqual(a, b, message);
    },
  },
  cliui,
  // yargs looks for the nearest package.json once (to guess a version mailprobe then sets itself): ours, at once.
  findUp: () => join(bundleFolder, '..', '..', 'package.json'),
  getEnv: (key) => process.env[key],
  inspect,
  getProcessArgvBin: () => process.argv[1],
  mainFilename: bundleFolder,
  Parser,
  path: { basename, dirname, extname, relative, resolve, join },
  process: {
    argv: () => process.argv,
    cwd: process.cwd,
    emitWarning: (warning, type) => process.emitWarning(warning, type),
    execPath: () => process.execPath,
    exit: (code) => {
      process.exit(code);
    },
    nextTick: process.nextTick,
    // A getter: making process.stdout costs 2-5 ms, and yargs wants the width only to lay out help.
    get stdColumns() {
      return typeof process.stdout.columns !== 'undefined' ? process.stdout.columns : null;
    },
  },
  readFileSync,
  readdirSync,
  get require() {
    required ??= createRequire(import.meta.url);
    return required;
  },
  getCallerFile: () => {
    throw new Error('commandDir is not available in the mailprobe bundle');
  },
  stringWidth,
  y18n: y18n({ directory: join(bundleFolder, 'locales'), updateFiles: false }),
};
