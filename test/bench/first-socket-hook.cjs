// Preloaded with `node --require`: writes performance.now() (ms since the process started) to the file named by
// FIRST_SOCKET_FILE when the process creates its first client socket. A CommonJS preload, not an `--import` one:
// `--import` makes Node load a CommonJS main entry (the package's bin) through its ESM loader and
// cjs-module-lexer, about 4 ms that no real run pays.
const diagnostics = require('node:diagnostics_channel');
const { appendFileSync } = require('node:fs');

let seen = false;
diagnostics.subscribe('net.client.socket', () => {
  if (seen) return;
  seen = true;
  if (process.env.FIRST_SOCKET_FILE) appendFileSync(process.env.FIRST_SOCKET_FILE, `${performance.now()}\n`);
});
