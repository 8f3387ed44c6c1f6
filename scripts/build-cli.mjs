// Builds the CLI the package's bin runs (dist/cli/), as CommonJS bundles: cli.cjs (the command line: yargs,
// the commands, option checks) and engine.cjs (the engine, the report flows, ora), which cli.cjs requires only
// when a command probes; judge.cjs (the rules and the renderers: judging and rendering a probed host), which
// engine.cjs requires once the probe's first sockets are open; modes.cjs (batch, serve, egress, the demo servers), required only by those commands; published.cjs (discovery's published settings), which engine.cjs requires
// only then; dane.cjs (the TLSA lookup and dns-packet), which engine.cjs requires only for --dane; login.cjs (the login
// check and the round trip, sharing the engine's modules), which engine.cjs requires only for --login; ports.cjs (`mailprobe ports` with only its own flags, which the bin runs without cli.cjs);
// string-width.cjs and cliui.cjs, loaded only for non-ASCII text and for help layout; yargs' locales
// sit beside the bundles. Runs after tsc (it bundles dist/src/cli/entry.js and engine.js). The library (dist/src, the
// "exports" map) is tsc's output, unbundled. Why: start-up time; see README "Start-up".
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const out = join(root, 'dist/cli');
const here = join(root, 'scripts/cli-bundle');
const yargsDir = dirname(createRequire(import.meta.url).resolve('yargs/package.json'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // MAILPROBE_NO_MINIFY=1 keeps names readable in CPU profiles (CONTRIBUTING, "Profiling").
  minify: process.env.MAILPROBE_NO_MINIFY !== '1',
  logLevel: 'warning',
  legalComments: 'none',
};
// In CommonJS, import.meta.url is the bundle file's own URL.
const importMetaUrl = {
  define: { 'import.meta.url': '__bundle_url' },
  banner: { js: 'const __bundle_url = require("node:url").pathToFileURL(__filename).href;' },
};
// Bundles the engine loads on demand that use the engine's own modules (its errors, sessions, limits): each file
// here is in the bundle, and every other mailprobe module it imports is taken from engine.cjs (`__shared`), or from
// an earlier bundle of this list that holds it (modes.cjs takes the rules from judge.cjs), so there is one copy of
// each and an error class thrown in one bundle is the one checked with instanceof in the other. The importers
// listed load the file with a dynamic import, lowered to a require of the bundle.
const onDemand = [
  {
    name: 'judge.cjs',
    // Judging and rendering a probed host (the rules, the renderers), loaded while the probe's sockets are open.
    files: { 'dist/src/cli/finish.js': ['dist/src/cli/report.js'] },
  },
  {
    name: 'login.cjs',
    // The login check and the round trip (--login, --round-trip).
    files: {
      'dist/src/probe/login.js': ['dist/src/probe/host.js'],
      'dist/src/modes/roundtrip.js': ['dist/src/cli/report.js'],
    },
  },
  {
    name: 'modes.cjs',
    // batch, serve, egress and the demo servers, for their commands (and batch's worker processes).
    files: {
      'dist/src/cli/modes.js': [
        'batch-command',
        'batch-worker',
        'demo-command',
        'egress-command',
        'serve-command',
      ].map((command) => `dist/src/cli/${command}.js`),
    },
  },
];
let shimReplaced = 0;
let argsertReplaced = 0;
let spinnersTrimmed = 0;
const packageVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const cliFolder = join(root, 'dist/src/cli');
const plugins = [
  {
    name: 'mailprobe-cli',
    setup(b) {
      b.onResolve({ filter: /^string-width$/ }, () => ({ path: join(here, 'lazy-string-width.mjs') }));
      // The locale files yargs may read, listed when the bundle is built (yargs-shim.mjs, translator).
      b.onResolve({ filter: /^mailprobe:locale-files$/ }, () => ({
        path: 'locale-files',
        namespace: 'mailprobe',
      }));
      b.onLoad({ filter: /^locale-files$/, namespace: 'mailprobe' }, () => ({
        contents: `export default ${JSON.stringify(
          readdirSync(join(yargsDir, 'locales'))
            .filter((name) => name.endsWith('.json'))
            .map((name) => name.slice(0, -'.json'.length)),
        )};`,
        loader: 'js',
      }));
      b.onResolve({ filter: /^(node:)?module$/ }, () => ({ path: join(here, 'lazy-module.mjs') }));
      // yargs checks the types of the arguments of every call made to its API (`.option('x', {...})` and the like,
      // about 140 calls, 2 ms before a probe's first socket). Those calls are mailprobe's own, the same on every run:
      // the bundle leaves the check out. Nothing a user types goes through it; the unbundled CLI (dist/src/cli,
      // which the tests run) keeps it, and test/cli.test.ts runs every command's builder there.
      b.onLoad({ filter: /\/yargs\/build\/lib\/argsert\.js$/ }, () => {
        argsertReplaced++;
        return { contents: 'export function argsert() {}', loader: 'js' };
      });
      // ora picks `dots` (or `line` where the terminal has no Unicode) from cli-spinners' 90-odd spinners, and
      // mailprobe names none: the other 31 KB of the list would be read on every probe's start-up.
      b.onLoad({ filter: /\/cli-spinners\/spinners\.json$/ }, (args) => {
        spinnersTrimmed++;
        const { dots, line } = JSON.parse(readFileSync(args.path, 'utf8'));
        return { contents: JSON.stringify({ dots, line }), loader: 'json' };
      });
      // The version is known when the bundles are built: no package.json read at start-up.
      b.onLoad({ filter: /dist\/src\/version\.js$/ }, () => ({
        contents: `export function version() { return ${JSON.stringify(packageVersion)}; }`,
        loader: 'js',
      }));
      b.onResolve({ filter: /\/platform-shims\/esm\.mjs$/ }, (args) => {
        if (!args.importer.startsWith(yargsDir)) return undefined;
        shimReplaced++;
        return { path: join(here, 'yargs-shim.mjs') };
      });
      // Discovery's `import('./published/sources.js')` loads a bundle of its own (the public-suffix list and the
      // XML parser are most of its size), so a probe of one host never reads them.
      b.onResolve({ filter: /(^|\/)published\/sources\.js$/ }, (args) =>
        [join(root, 'dist/src/probe/domain.js'), join(root, 'dist/src/modes/serve-transport.js')].includes(
          args.importer,
        )
          ? { path: './published.cjs', external: true }
          : undefined,
      );
      // The HTML report (`--html`, serve's page) is a bundle of its own, loaded only when a page is made.
      b.onResolve({ filter: /(^|\/)render\/html\.js$/ }, (args) =>
        args.importer.startsWith(join(root, 'dist/src/')) && args.importer !== join(root, 'dist/src/index.js')
          ? { path: './html.cjs', external: true }
          : undefined,
      );
      // The probe's `import('../discovery/tlsa.js')` (--dane) loads a bundle of its own with the DNS wire-format
      // library (dns-packet), so a probe without --dane never reads it.
      b.onResolve({ filter: /(^|\/)discovery\/tlsa\.js$/ }, (args) =>
        args.importer === join(root, 'dist/src/probe/host.js')
          ? { path: './dane.cjs', external: true }
          : undefined,
      );
      // The library's index.js only re-exports: what the bundles use of it goes in, the rest (the modes, which
      // modes.cjs holds) stays out of engine.cjs.
      b.onResolve({ filter: /^\.\.?\// }, (args) =>
        args.importer === join(root, 'dist/src/index.js')
          ? { path: join(args.resolveDir, args.path), sideEffects: false }
          : undefined,
      );
      for (const { name, files } of onDemand)
        for (const [file, importers] of Object.entries(files))
          b.onResolve({ filter: new RegExp(`/${basename(file).replace('.', '\\.')}$`) }, (args) =>
            join(args.resolveDir, args.path) !== join(root, file)
              ? undefined
              : importers.some((importer) => args.importer === join(root, importer))
                ? { path: `./${name}`, external: true }
                : // Elsewhere (the library's index.js re-exports it) the file goes in only if something uses it.
                  { path: join(root, file), sideEffects: false },
          );
      // The commands' `import('./engine.js')` loads the other bundle (a require, with dynamic imports lowered).
      b.onResolve({ filter: /^\.\/engine\.js$/ }, (args) =>
        args.importer.startsWith(cliFolder) && args.importer !== join(cliFolder, 'engine.js')
          ? { path: './engine.cjs', external: true }
          : undefined,
      );
    },
  },
];
rmSync(out, { recursive: true, force: true });
const result = await build({
  ...common,
  ...importMetaUrl,
  entryPoints: [join(root, 'dist/src/cli/entry.js')],
  outfile: join(out, 'cli.cjs'),
  plugins,
  metafile: true,
  supported: { 'dynamic-import': false },
});
const engineOptions = {
  ...common,
  ...importMetaUrl,
  entryPoints: [join(root, 'dist/src/cli/engine.js')],
  outfile: join(out, 'engine.cjs'),
  plugins,
  metafile: true,
  supported: { 'dynamic-import': false },
};
// First without writing, to know which modules the engine holds; then each bundle on demand, in the list's order,
// which takes those from the engine and the ones an earlier bundle on demand holds from that bundle (modes.cjs
// takes the rules from judge.cjs); then the engine, and each bundle others take from, again, exporting what the
// others take as `__shared`.
const engineInputs = new Set(
  Object.entries(Object.values((await build({ ...engineOptions, write: false })).metafile.outputs)[0].inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path),
);
/** The bundle each module is taken from: the engine's, then each bundle on demand's own. */
const providers = new Map([...engineInputs].map((path) => [path, 'engine.cjs']));
/** What the other bundles take from each bundle: its `__shared` export. */
const sharedFrom = new Map();
function sharedExport(name) {
  const list = [...(sharedFrom.get(name) ?? [])].sort();
  return [
    ...list.map((path, i) => `import * as shared${i} from ${JSON.stringify(`./${path}`)};`),
    `export const __shared = {${list.map((path, i) => `${JSON.stringify(path)}: shared${i}`).join(', ')}};`,
  ];
}
function buildOnDemand({ name, files }) {
  return build({
    ...common,
    ...importMetaUrl,
    stdin: {
      contents: [
        ...Object.keys(files).map((file) => `export * from ${JSON.stringify(`./${file}`)};`),
        ...(sharedFrom.has(name) ? sharedExport(name) : []),
      ].join('\n'),
      resolveDir: root,
      sourcefile: name,
    },
    outfile: join(out, name),
    metafile: true,
    supported: { 'dynamic-import': false },
    plugins: [
      {
        name: 'engine-shared',
        setup(b) {
          b.onResolve({ filter: /^\.\/[a-z]+\.cjs$/, namespace: 'engine-shared' }, (args) => ({
            path: args.path,
            external: true,
          }));
          b.onResolve({ filter: /^\.\.?\// }, (args) => {
            const path = relative(root, join(args.resolveDir, args.path));
            const provider = providers.get(path);
            if (
              !args.importer.startsWith(join(root, 'dist/src/')) ||
              provider === undefined ||
              provider === name
            )
              return undefined;
            if (!sharedFrom.has(provider)) sharedFrom.set(provider, new Set());
            sharedFrom.get(provider).add(path);
            return { path: `${provider}:${path}`, namespace: 'engine-shared' };
          });
          b.onLoad({ filter: /.*/, namespace: 'engine-shared' }, (args) => {
            const [provider, path] = args.path.split(':');
            return {
              contents: `module.exports = require("./${provider}").__shared[${JSON.stringify(path)}];`,
              loader: 'js',
            };
          });
        },
      },
      ...plugins,
    ],
  });
}
const onDemandBuilt = [];
for (const lazy of onDemand) {
  const built = await buildOnDemand(lazy);
  onDemandBuilt.push([lazy.name, built]);
  for (const input of Object.keys(built.metafile.inputs))
    if (input.startsWith('dist/src/') && !providers.has(input)) providers.set(input, lazy.name);
}
for (const [index, [name]] of onDemandBuilt.entries())
  if (sharedFrom.has(name)) {
    const inputs = Object.keys(onDemandBuilt[index][1].metafile.inputs).sort().join();
    const built = await buildOnDemand(onDemand[index]);
    // Exporting what the others take must not change what the bundle holds.
    if (Object.keys(built.metafile.inputs).sort().join() !== inputs)
      throw new Error(`${name} holds other modules once it exports those the other bundles take from it`);
    onDemandBuilt[index][1] = built;
  }
const engine = await build({
  ...engineOptions,
  entryPoints: undefined,
  stdin: {
    contents: ["export * from './dist/src/cli/engine.js';", ...sharedExport('engine.cjs')].join('\n'),
    resolveDir: root,
    sourcefile: 'engine.js',
  },
});
// One copy of each module: none of a bundle on demand's own is in the engine, and it loads the engine's.
for (const [name, built] of onDemandBuilt) {
  const engineOutput = Object.values(engine.metafile.outputs)[0].inputs;
  const inside = Object.keys(built.metafile.inputs).filter(
    (input) => input.startsWith('dist/src/') && (engineOutput[input]?.bytesInOutput ?? 0) > 0,
  );
  if (inside.length > 0)
    throw new Error(`${inside.length} modules of ${name} are bundled into engine.cjs too, e.g. ${inside[0]}`);
  if (
    !['engine.cjs', 'cli.cjs'].some((loader) =>
      readFileSync(join(out, loader), 'utf8').includes(`"./${name}"`),
    )
  )
    throw new Error(`neither cli.cjs nor engine.cjs loads ${name}: its code was bundled into one of them`);
}
// The rules and renderers are judge.cjs's, loaded once the sockets are open: one imported from the probe's path
// would be taken from the engine instead, its code read before every probe's first socket.
{
  const early = Object.entries(Object.values(engine.metafile.outputs)[0].inputs).find(
    ([input, { bytesInOutput }]) => /^dist\/src\/(rules|render)\//.test(input) && bytesInOutput > 0,
  );
  if (early)
    throw new Error(
      `${early[0]} is inside engine.cjs: judging and rendering belong to judge.cjs (cli/finish.ts)`,
    );
}
// Nor is a module in two bundles on demand (each would have its own copy).
for (const [index, [name, built]] of onDemandBuilt.entries())
  for (const [other, otherBuilt] of onDemandBuilt.slice(index + 1)) {
    const both = Object.keys(built.metafile.inputs).filter(
      (input) => input.startsWith('dist/src/') && input in otherBuilt.metafile.inputs,
    );
    if (both.length > 0)
      throw new Error(`${name} and ${other} both bundle ${both[0]}: load it from one of them`);
  }
// `mailprobe ports` with only its own flags, which the bin runs without the CLI bundle.
await build({
  ...common,
  ...importMetaUrl,
  entryPoints: [join(root, 'dist/src/cli/ports-fast.js')],
  outfile: join(out, 'ports.cjs'),
  plugins,
  supported: { 'dynamic-import': false },
});
// The process `batch --workers N` starts N of: a stand-in that requires engine.cjs.
await build({
  ...common,
  entryPoints: [join(root, 'dist/src/cli/batch-worker.js')],
  outfile: join(out, 'batch-worker.cjs'),
  plugins,
});
// The HTML report: required by engine.cjs (and cli.cjs, for a failure page) only when a page is asked for.
await build({
  ...common,
  ...importMetaUrl,
  entryPoints: [join(root, 'dist/src/render/html.js')],
  outfile: join(out, 'html.cjs'),
  plugins,
});
const published = await build({
  ...common,
  ...importMetaUrl,
  entryPoints: [join(root, 'dist/src/discovery/published/sources.js')],
  outfile: join(out, 'published.cjs'),
  metafile: true,
});
for (const bundle of ['engine.cjs', 'cli.cjs', 'judge.cjs'])
  if (readFileSync(join(out, bundle), 'utf8').includes('Content-Security-Policy'))
    throw new Error(`the HTML report is inside ${bundle}: import it with import('../render/html.js')`);
const dane = await build({
  ...common,
  ...importMetaUrl,
  entryPoints: [join(root, 'dist/src/discovery/tlsa.js')],
  outfile: join(out, 'dane.cjs'),
  metafile: true,
});
if (!readFileSync(join(out, 'engine.cjs'), 'utf8').includes('"./dane.cjs"'))
  throw new Error('the engine bundle does not load dane.cjs: the TLSA lookup was bundled into it');
if (!readFileSync(join(out, 'engine.cjs'), 'utf8').includes('"./published.cjs"'))
  throw new Error(
    'the engine bundle does not load published.cjs: the published-settings code was bundled into it',
  );
// Node's crypto, tls, dns, dgram, http and child_process load on first use (process.getBuiltinModule): a static
// import of one in a file of the two start-up bundles loads it on every run (node:crypto costs about 1.5 ms).
for (const bundle of ['cli.cjs', 'engine.cjs']) {
  const loaded = /require\("node:(crypto|tls|dns|dns\/promises|dgram|http|https|child_process)"\)/.exec(
    readFileSync(join(out, bundle), 'utf8'),
  );
  if (loaded)
    throw new Error(
      `${bundle} loads node:${loaded[1]} at start-up: use process.getBuiltinModule('node:${loaded[1]}')`,
    );
}
// No input of a bundle loaded on demand (published, dane) may be inside the engine bundle as well: a new dynamic
// import of one from another file would otherwise put it back on every probe's start-up path.
for (const [name, lazy] of [
  ['published.cjs', published],
  ['dane.cjs', dane],
]) {
  const inside = Object.keys(lazy.metafile.inputs).filter(
    (input) => input.includes('node_modules/') && input in engine.metafile.inputs,
  );
  if (inside.length > 0)
    throw new Error(`${inside.length} inputs of ${name} are bundled into engine.cjs too, e.g. ${inside[0]}`);
}
// A yargs release that moves its shim would silently lose the locales: fail the build instead.
if (shimReplaced !== 1) throw new Error(`yargs' platform shim was replaced ${shimReplaced} times, not once`);
if (spinnersTrimmed === 0) throw new Error("cli-spinners' list was not trimmed: its file moved");
if (argsertReplaced !== 1) throw new Error(`yargs' argsert was left out ${argsertReplaced} times, not once`);
await build({
  ...common,
  stdin: { contents: "module.exports = require('string-width').default;", resolveDir: yargsDir },
  outfile: join(out, 'string-width.cjs'),
});
// cliui (help and usage layout) for the stand-in in yargs' shim, with the same lazy string-width.
const cliui = await build({
  ...common,
  ...importMetaUrl,
  stdin: { contents: "module.exports = require('cliui').default;", resolveDir: yargsDir },
  outfile: join(out, 'cliui.cjs'),
  plugins,
  metafile: true,
});
if (Object.keys(result.metafile.inputs).some((input) => /node_modules\/(cliui|wrap-ansi)\//.test(input)))
  throw new Error('cliui or wrap-ansi is still inside cli.cjs: the lazy stand-in was not used');
// The spinner (and ora with it) belongs to the engine: a command that imports it itself pulls it into cli.cjs.
if (
  Object.keys(result.metafile.inputs).some((input) =>
    /node_modules\/ora\/|src\/cli\/spinner\.js$/.test(input),
  )
)
  throw new Error('ora or the spinner is inside cli.cjs: import them through ./engine.js');
// The bin runs these with a code cache named after the build: a hash of the content on the first line, read
// from the source the bin reads anyway (bin/mailprobe.cjs).
for (const name of [
  'cli.cjs',
  'engine.cjs',
  'published.cjs',
  'dane.cjs',
  'ports.cjs',
  ...onDemand.map((lazy) => lazy.name),
]) {
  const file = join(out, name);
  const text = readFileSync(file, 'utf8');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  writeFileSync(file, `// mailprobe-build ${hash}\n${text}`);
}
mkdirSync(join(out, 'locales'));
cpSync(join(yargsDir, 'locales'), join(out, 'locales'), { recursive: true });
// The notices of the third-party code the bundle carries, one per package folder it took code from.
const folders = new Set();
for (const input of [
  result,
  engine,
  published,
  dane,
  cliui,
  ...onDemandBuilt.map(([, built]) => built),
].flatMap((built) => Object.keys(built.metafile.inputs))) {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match?.[1]) folders.add(join(root, match[1]));
}
const notices = [...folders].sort().map((dir) => {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = readdirSync(dir).find((name) => /^licen[cs]e/i.test(name));
  const license = file ? readFileSync(join(dir, file), 'utf8').trim() : '(no license file in the package)';
  return `${pkg.name}@${pkg.version} (${pkg.license})\n\n${license}\n`;
});
writeFileSync(join(out, 'THIRD-PARTY-NOTICES'), notices.join('\n---\n\n'));
