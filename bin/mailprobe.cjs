#!/usr/bin/env node
'use strict';
// mailprobe's command. Runs the CLI bundle (dist/cli/cli.cjs, and dist/cli/engine.cjs when a command probes) with
// a V8 code cache, which is what module.enableCompileCache() does on Node >= 22.1, done here with vm.Script for
// Node 20. The cache files live in the user's own cache folder (XDG_CACHE_HOME, ~/.cache, %LOCALAPPDATA%), one
// per bundle and kind of run, written at exit after a run that had none or whose cache V8 refused. A cache is
// code that runs, so it is trusted only from a folder that is the user's own and writable by no one else, only
// as a regular file of bounded size opened without following links, and only when its first line names the
// bundle's build (a hash of the bundle's bytes, checked against them when the cache is written, its size and
// time); anything else is ignored, and replaced when the folder is safe. Every failure to read or write is
// ignored: the cache only speeds start-up. MAILPROBE_NO_CACHE=1 turns it off.
// `--version` alone is answered from package.json, before any bundle is read; `ports` with only its own flags
// from dist/cli/ports.cjs, without the CLI bundle; `--help` text is kept in the same
// cache folder (helpFromCache). See CONTRIBUTING "Start-up and speed".
const fs = require('node:fs');
const path = require('node:path');

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V'))
  printOut(`${JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version}\n`);
else start();

/**
 * Writes to fd 1 itself: making process.stdout (a stream) costs more than the rest of a `--version` run. A reader
 * that has gone (EPIPE) ends it quietly; a non-blocking stdout that is full (EAGAIN) gets the stream for the rest;
 * any other error (a full disk, `> /dev/full`) is one line and exit 74 (EX_IOERR), as in the CLI (src/cli/stdout.ts).
 */
function printOut(text) {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  let done = 0;
  try {
    while (done < bytes.length) done += fs.writeSync(1, bytes, done, bytes.length - done);
  } catch (error) {
    if (error.code === 'EAGAIN') {
      process.stdout.on('error', (late) => late.code === 'EPIPE' || writeFailed(late));
      process.stdout.write(bytes.subarray(done));
    } else if (error.code !== 'EPIPE') writeFailed(error);
  }
}

function writeFailed(error) {
  process.stderr.write(`mailprobe: cannot write to stdout (${error.code || 'error'})\n`);
  process.exit(74);
}

function start() {
  const vm = require('node:vm');
  // The CommonJS loader's class, without loading the public node:module (its source maps and ESM hooks).
  const Module = module.constructor;
  const folder = path.join(__dirname, '..', 'dist', 'cli');

  function cacheFolder() {
    if (process.env.MAILPROBE_NO_CACHE) return undefined;
    const base =
      process.env.XDG_CACHE_HOME ||
      (process.platform === 'win32'
        ? process.env.LOCALAPPDATA
        : process.env.HOME && path.join(process.env.HOME, '.cache'));
    return base ? path.join(base, 'mailprobe', `v8-${process.versions.v8}-${process.arch}`) : undefined;
  }
  const cache = cacheFolder();
  // The user the cache must belong to (none on Windows, where %LOCALAPPDATA% is the user's own).
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  // A code cache is a few hundred KB, a help text a few KB: anything larger is not one of ours.
  const maxCodeCache = 16 * 1024 * 1024;
  const maxHelp = 256 * 1024;

  /**
   * Whether the cache folder may be trusted: it and mailprobe/ are real folders (not links) owned by this user and
   * writable by no one else, and the folder above them belongs to this user or root and is not writable by others
   * (or is sticky, as /tmp is, where no one can rename another's entries). Otherwise the cache is neither read nor
   * written: another user could have planted code in it, or could swap it.
   */
  function cacheTrusted() {
    if (uid === undefined) return true;
    try {
      const own = path.dirname(cache);
      const above = fs.statSync(path.dirname(own));
      if (
        !above.isDirectory() ||
        (above.uid !== uid && above.uid !== 0) ||
        ((above.mode & 0o022) !== 0 && (above.mode & 0o1000) === 0)
      )
        return false;
      for (const dir of [own, cache]) {
        const stat = fs.lstatSync(dir);
        if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o022) !== 0) return false;
      }
      return true;
    } catch {
      return false;
    }
  }
  let trusted;
  function cacheUsable() {
    if (trusted === undefined) trusted = cacheTrusted();
    return trusted;
  }

  /**
   * A cache file's bytes: a regular file of this user's, of at most `max` bytes, opened without following a link
   * and without waiting on a FIFO, read by its size; undefined for anything else (a link to /dev/zero, a FIFO, a
   * file another user planted, one that is too large).
   */
  function readCacheFile(file, max) {
    let fd;
    try {
      fd = fs.openSync(
        file,
        fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0),
      );
    } catch {
      return undefined;
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile() || (uid !== undefined && stat.uid !== uid) || stat.size === 0 || stat.size > max)
        return undefined;
      const bytes = Buffer.allocUnsafe(stat.size);
      for (let done = 0; done < bytes.length; ) {
        const read = fs.readSync(fd, bytes, done, bytes.length - done, done);
        if (read === 0) return undefined;
        done += read;
      }
      return bytes;
    } catch {
      return undefined;
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Writes a cache file at exit: the folders made 0700 if missing, and only into a trusted folder, through a new
   * temporary file renamed over the name (which replaces whatever was there, a link or a FIFO included).
   */
  function writeCacheFile(file, bytes) {
    makeFolders(cache, 3);
    trusted = undefined;
    if (!cacheUsable()) return false;
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(temporary, bytes, { mode: 0o600, flag: 'wx' });
      fs.renameSync(temporary, file);
      return true;
    } catch (error) {
      try {
        fs.unlinkSync(temporary);
      } catch {
        // never made
      }
      throw error;
    }
  }

  /**
   * The build a bundle's first line names, checked against the bundle's bytes: a cache is written only for a
   * bundle whose hash is its own (an edit by hand that kept the line, or a bundle without it, gets none). Done
   * when a cache is written, at exit, not at start-up: loading node:crypto costs about 4 ms.
   */
  function hashMatches(source) {
    const newline = source.indexOf('\n');
    const marker = '// mailprobe-build ';
    if (!source.startsWith(marker) || newline !== marker.length + 16) return false;
    const hash = require('node:crypto')
      .createHash('sha256')
      .update(source.slice(newline + 1))
      .digest('hex');
    return hash.slice(0, 16) === source.slice(marker.length, newline);
  }
  const kind = argv.some((arg) => arg === '--help' || arg === '-h')
    ? 'help'
    : ['ports', 'demo', 'egress', 'batch', 'serve', 'publish'].includes(argv[0])
      ? argv[0]
      : 'probe';

  // One level at a time: `recursive: true` spins forever where mkdir answers ENOENT under a parent that exists
  // (a path in /proc, a dangling symlink, a stale mount).
  function makeFolders(dir, levels) {
    const chain = [];
    for (let at = dir; chain.length < levels; at = path.dirname(at)) chain.unshift(at);
    for (const at of chain) {
      try {
        fs.mkdirSync(at, { mode: 0o700 });
      } catch (error) {
        if (error.code !== 'EEXIST') throw error;
      }
    }
  }

  /**
   * Which build of a bundle this is: the hash of its content that scripts/build-cli.mjs writes on its first line
   * (the version is compiled into the bundle), its size and its modification time. V8 checks a code cache against
   * the source's length only, so a changed bundle of the same length must not find the old cache (its functions
   * would run in place of the new ones): a rebuild changes the hash, an edit by hand the time. npm gives every
   * packaged file the same time, hence the hash. The help cache uses the same tag (its text changes with the
   * build). A bundle without the line (not built by the script) has the package version in its place.
   */
  let packageVersion;
  const tags = new Map();
  function buildTag(file, source) {
    const known = tags.get(file);
    if (known) return known;
    const stat = fs.statSync(file);
    // The first line, read without a regular expression (the first one a process runs costs about 0.3 ms).
    const head = source ?? firstLine(file);
    const marker = '// mailprobe-build ';
    let build =
      head.startsWith(marker) && head.charCodeAt(marker.length + 16) === 10
        ? head.slice(marker.length, marker.length + 16)
        : undefined;
    if (build === undefined) {
      if (packageVersion === undefined) {
        try {
          packageVersion = JSON.parse(
            fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'),
          ).version;
        } catch {
          packageVersion = 'unknown';
        }
      }
      build = String(packageVersion).replace(/[^0-9A-Za-z.]/g, '');
    }
    const tag = `${stat.size}.${Math.floor(stat.mtimeMs)}.${build}`;
    tags.set(file, tag);
    return tag;
  }

  function firstLine(file) {
    const head = Buffer.alloc(64);
    const fd = fs.openSync(file, 'r');
    try {
      return head.toString('latin1', 0, fs.readSync(fd, head, 0, head.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Compiles and runs one CommonJS bundle in `module`, with its code cache. */
  function run(module, file) {
    const source = fs.readFileSync(file, 'utf8');
    const tag = buildTag(file, source);
    const name = `${path.basename(file, '.cjs')}-${tag}-${kind}.bin`;
    const cacheFile = cache && path.join(cache, name);
    // The file's first line names the build it was made from: a file renamed, copied or left by another build
    // is not taken for this one.
    const header = Buffer.from(`mailprobe-cache ${name}\n`);
    let cachedData;
    if (cacheFile && cacheUsable()) {
      const bytes = readCacheFile(cacheFile, maxCodeCache);
      if (bytes && bytes.length > header.length && bytes.subarray(0, header.length).equals(header))
        cachedData = bytes.subarray(header.length);
    }
    const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
    if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
      // At exit (yargs ends --help with process.exit), so the cache holds every function this run compiled.
      process.once('exit', () => {
        try {
          if (!hashMatches(source)) return;
          if (!writeCacheFile(cacheFile, Buffer.concat([header, script.createCachedData()]))) return;
          // Caches of other builds of this bundle are dead weight after an upgrade or a rebuild.
          const prefix = `${path.basename(file, '.cjs')}-`;
          for (const other of fs.readdirSync(cache))
            if (
              other.endsWith('.bin') &&
              (other.startsWith(prefix)
                ? !other.startsWith(`${prefix}${tag}-`)
                : !/^(cli|engine|judge|published|dane|login|modes|ports)-/.test(other))
            )
              fs.unlinkSync(path.join(cache, other));
        } catch {
          // a read-only or missing cache folder only costs speed
        }
      });
    }
    script
      .runInThisContext()
      .call(module.exports, module.exports, bundleRequire(file), module, file, path.dirname(file));
  }

  /**
   * The `require` a bundle runs with: the other bundles by their path (no resolution, which walks folders for
   * package.json files), everything else as Node would.
   */
  function bundleRequire(file) {
    const own = Module.createRequire(file);
    const direct = (id) => {
      const target = id.startsWith('./') && path.join(folder, id.slice(2));
      if (!target || !bundles.has(target)) return own(id);
      const cached = Module._cache[target];
      if (cached) return cached.exports;
      const child = new Module(target, module);
      child.filename = target;
      child.paths = Module._nodeModulePaths(folder);
      Module._cache[target] = child;
      try {
        run(child, target);
      } catch (error) {
        delete Module._cache[target];
        throw error;
      }
      child.loaded = true;
      return child.exports;
    };
    return Object.assign(direct, {
      resolve: own.resolve,
      cache: own.cache,
      main: own.main,
      extensions: own.extensions,
    });
  }

  // The engine bundle is required by the CLI bundle when a command probes, the modes (batch, serve, egress,
  // demo) by their commands, and the engine's bundles on demand (judge, published, dane, login) by it: give them
  // their caches too.
  const bundles = new Set(
    ['engine.cjs', 'judge.cjs', 'published.cjs', 'dane.cjs', 'login.cjs', 'modes.cjs'].map((name) =>
      path.join(folder, name),
    ),
  );
  const loadJs = Module._extensions['.js'];
  Module._extensions['.js'] = function load(module, filename) {
    if (bundles.has(filename)) return run(module, filename);
    return loadJs.call(this, module, filename);
  };
  const cliFile = path.join(folder, 'cli.cjs');
  if (kind === 'help' && cache && helpFromCache(cliFile)) return;
  if (kind === 'ports') {
    // `ports` with only its own flags prints the table from a small bundle of its own; any other line is the CLI's.
    const ports = { exports: {} };
    run(ports, path.join(folder, 'ports.cjs'));
    ports.exports.portsFast(argv).then(
      (done) => done || runCli(),
      (error) => {
        process.stderr.write(`mailprobe: internal error: ${error?.message ?? error}\n`);
        process.exitCode = 70;
      },
    );
  } else runCli();

  function runCli() {
    const cli = { exports: {} };
    run(cli, cliFile);
    cli.exports.main(argv);
  }

  /**
   * `mailprobe [COMMAND] --help` prints a text that depends only on the build, the terminal's width and the
   * locale (yargs translates it): kept beside the code cache after the first run, keyed by all three, and
   * printed from there. Laying the help out with yargs costs more than starting Node does.
   */
  function helpFromCache(file) {
    const last = argv[argv.length - 1];
    if (
      !(argv.length === 1 || (argv.length === 2 && /^[a-z]+$/.test(argv[0]))) ||
      (last !== '--help' && last !== '-h')
    )
      return false;
    let size;
    try {
      size = buildTag(file);
    } catch {
      return false;
    }
    const locale = [process.env.LC_ALL, process.env.LC_MESSAGES, process.env.LANG, process.env.LANGUAGE]
      .map((value) => (value || '').replace(/[^A-Za-z0-9_.@-]/g, ''))
      .join('+');
    const name = `help-${size}-${argv.join('_').replace(/[^a-z_-]/g, '')}-${process.stdout.columns || 'pipe'}-${locale}.txt`;
    const helpFile = path.join(cache, name);
    const cached = cacheUsable() ? readCacheFile(helpFile, maxHelp) : undefined;
    if (cached) {
      printOut(cached);
      return true;
    }
    // Not cached yet (or not a file to trust): run, keep what was printed, and save it when the run ends well.
    const chunks = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk, ...rest) => {
      chunks.push(Buffer.from(chunk));
      return write(chunk, ...rest);
    };
    process.once('exit', (code) => {
      if (code !== 0 || chunks.length === 0) return;
      try {
        const text = Buffer.concat(chunks);
        if (text.length > maxHelp || !hashMatches(fs.readFileSync(file, 'utf8'))) return;
        if (!writeCacheFile(helpFile, text)) return;
        for (const other of fs.readdirSync(cache))
          if (other.startsWith('help-') && !other.startsWith(`help-${size}-`))
            fs.unlinkSync(path.join(cache, other));
      } catch {
        // a read-only or missing cache folder only costs speed
      }
    });
    return false;
  }
}
