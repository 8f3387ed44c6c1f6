// Serves, on 127.0.0.1, a TLS port whose every handshake ends in an alert from the server (it demands a client
// certificate) and a working implicit-TLS IMAP fixture; prints their ports as JSON. Ends when stdin closes.
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { startFixture, tlsFile } = await import(`${root}dist/src/demo/servers.js`);
const alert = tls.createServer(
  {
    key: tlsFile('server.key'),
    cert: tlsFile('server.pem'),
    maxVersion: 'TLSv1.2',
    requestCert: true,
    rejectUnauthorized: true,
  },
  (socket) => socket.end(),
);
alert.on('tlsClientError', () => {});
await new Promise((resolve) => alert.listen(0, '127.0.0.1', resolve));
const good = await startFixture({ protocol: 'imap', tls: 'implicit' });
process.stdout.write(`${JSON.stringify({ alert: alert.address().port, good: good.port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
