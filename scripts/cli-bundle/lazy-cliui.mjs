// Stands in for cliui in the CLI bundle: yargs lays text out with it only for help, usage and some errors, never
// to parse a command line. The real one (dist/cli/cliui.cjs, with wrap-ansi and ansi-styles) is loaded on first
// use, so a probe does not set them up before its first socket.
import { createRequire } from 'node:module';

let real;

export default function cliui(options) {
  real ??= createRequire(import.meta.url)('./cliui.cjs');
  return real(options);
}
