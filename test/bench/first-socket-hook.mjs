// Loaded with `node --import`: writes performance.now() (ms since the process started) to the file named by
// FIRST_SOCKET_FILE when the process creates its first client socket.

import diagnostics from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';

let seen = false;
diagnostics.subscribe('net.client.socket', () => {
  if (seen) return;
  seen = true;
  if (process.env.FIRST_SOCKET_FILE) appendFileSync(process.env.FIRST_SOCKET_FILE, `${performance.now()}\n`);
});
