#!/usr/bin/env node
'use strict';
// mailprobe's command. Runs the CLI bundle (dist/cli/cli.cjs) with a V8 code cache, which is what
// module.enableCompileCache() does on Node >= 22.1, done here with vm.Script for Node 20. One cache file per kind
// of run in the user's own cache folder (XDG_CACHE_HOME, ~/.cache, %LOCALAPPDATA%), written at exit after a run
// that had none or whose cache V8 refused. Every failure to read or write it is ignored: the cache only speeds
// start-up. MAILPROBE_NO_CACHE=1 turns it off. See README "Start-up".
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const bundle = path.join(__dirname, '..', 'dist', 'cli', 'cli.cjs');
const source = fs.readFileSync(bundle, 'utf8');
const argv = process.argv.slice(2);

function cacheFile() {
  if (process.env.MAILPROBE_NO_CACHE) return undefined;
  const base =
    process.env.XDG_CACHE_HOME ||
    (process.platform === 'win32'
      ? process.env.LOCALAPPDATA
      : process.env.HOME && path.join(process.env.HOME, '.cache'));
  if (!base) return undefined;
  const kind = argv.some((arg) => arg === '--help' || arg === '-h')
    ? 'help'
    : ['ports', 'demo', 'egress', '--version', '-V'].includes(argv[0])
      ? argv[0].replace(/^-+/, '')
      : 'probe';
  return path.join(base, 'mailprobe', `v8-${process.versions.v8}-${process.arch}`, `${source.length}-${kind}.bin`);
}

// One level at a time: `recursive: true` spins forever where mkdir answers ENOENT under a parent that exists
// (a path in /proc, a dangling symlink, a stale mount).
function makeFolders(dir, levels) {
  const chain = [];
  for (let folder = dir; chain.length < levels; folder = path.dirname(folder)) chain.unshift(folder);
  for (const folder of chain) {
    try {
      fs.mkdirSync(folder, { mode: 0o700 });
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
  }
}

const file = cacheFile();
let cachedData;
if (file) {
  try {
    cachedData = fs.readFileSync(file);
  } catch {
    // no cache yet
  }
}
const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
if (file && (cachedData === undefined || script.cachedDataRejected)) {
  // At exit (yargs ends --help with process.exit), so the cache holds every function this run compiled.
  process.once('exit', () => {
    try {
      makeFolders(path.dirname(file), 3);
      const temporary = `${file}.${process.pid}`;
      fs.writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(temporary, file);
    } catch {
      // a read-only or missing cache folder only costs speed
    }
  });
}
const cli = { exports: {} };
script
  .runInThisContext()
  .call(cli.exports, cli.exports, Module.createRequire(bundle), cli, bundle, path.dirname(bundle));
cli.exports.main(argv);
