// Stands in for every copy of string-width in the CLI bundle (yargs', cliui's, wrap-ansi's, ora's). Printable
// ASCII is as wide as it is long, which is what string-width returns too; anything else (non-ASCII, escape
// sequences) goes to the real one, loaded on first use: its emoji regex and Intl.Segmenter cost ~18 ms at start.
import { createRequire } from 'node:module';

const printableAscii = /^[\x20-\x7e]*$/;
let real;

export default function stringWidth(text, options) {
  if (typeof text === 'string' && printableAscii.test(text)) return text.length;
  real ??= createRequire(import.meta.url)('./string-width.cjs');
  return real(text, options);
}
