// Stands in for yargs 18's lib/platform-shims/esm.mjs in the CLI bundle: the same object shape, with the
// locales found beside the bundle (dist/cli/locales), node:assert loaded only when an invariant fails, and no
// folder walk for a package.json (the package's own is two folders up). Checked by scripts/build-cli.mjs.

import localeFiles from 'mailprobe:locale-files';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, inspect } from 'node:util';
import stringWidth from 'string-width';
import y18n from 'y18n';
import Parser from 'yargs-parser';
import { version } from '../../dist/src/version.js';
import cliui from './lazy-cliui.mjs';

const bundleFolder = dirname(fileURLToPath(import.meta.url));
const packageJson = join(bundleFolder, '..', '..', 'package.json');
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
  // yargs looks for the nearest package.json once, only to guess a version (mailprobe sets its own): ours, whose
  // version is known when the bundle is built (readFileSync below answers for it without reading the file).
  findUp: () => packageJson,
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
  readFileSync: (file, encoding) =>
    file === packageJson
      ? JSON.stringify({ name: 'mailprobe', version: version() })
      : readFileSync(file, encoding),
  readdirSync,
  get require() {
    required ??= createRequire(import.meta.url);
    return required;
  },
  getCallerFile: () => {
    throw new Error('commandDir is not available in the mailprobe bundle');
  },
  stringWidth,
  y18n: translator(y18n({ directory: join(bundleFolder, 'locales'), updateFiles: false })),
};

/**
 * yargs' y18n, which reads the locale's file on the first message yargs builds (0.5-1 ms, with an exception when
 * the locale has none, as for LANG=C), and yargs builds some while it parses. Where the file could change
 * nothing (English, whose file repeats yargs' own words but for one, or a locale with no file) the words are
 * formatted here as y18n would and no file is read; other locales go to y18n.
 */
function translator(real) {
  let locale = 'en';
  let own = true;
  const english = { 'Implications failed:': 'Missing dependent arguments:' };
  const language = (name) => name.split('_')[0];
  const decide = () => {
    own =
      language(locale) === 'en' ||
      !(localeFiles.includes(locale) || (locale.includes('_') && localeFiles.includes(language(locale))));
  };
  return {
    ...real,
    __(...args) {
      if (!own || typeof args[0] !== 'string' || typeof args[args.length - 1] === 'function')
        return real.__(...args);
      const [text, ...rest] = args;
      const words = language(locale) === 'en' ? (english[text] ?? text) : text;
      // util.format with nothing to put in returns its text as it is.
      return rest.length === 0 ? words : format(words, ...rest);
    },
    __n(...args) {
      if (!own || typeof args[args.length - 1] === 'function') return real.__n(...args);
      const [singular, plural, quantity, ...rest] = args;
      const text = quantity === 1 ? singular : plural;
      return format(text, ...(text.includes('%d') ? [quantity] : []), ...rest);
    },
    setLocale(name) {
      locale = name;
      decide();
      real.setLocale(name);
    },
    updateLocale(strings) {
      own = false;
      real.updateLocale(strings);
    },
  };
}
