// Stands in for node:module in the CLI bundles, whose code uses only createRequire, and only to load a file later
// (string-width, cliui, a yargs config file). Loading the public node:module (source maps, ESM hooks) before the
// first socket is paid on every run; here it loads when such a require is first made.
let real;

export function createRequire(from) {
  let made;
  const own = () => {
    real ??= process.getBuiltinModule('node:module');
    made ??= real.createRequire(from);
    return made;
  };
  const required = (id) => own()(id);
  required.resolve = (id, options) => own().resolve(id, options);
  return required;
}

export default { createRequire };
