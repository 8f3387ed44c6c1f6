// Runs inside a network namespace of the test's own (test/published-documents.test.ts): web servers on a
// "public" address (198.51.100.30, TEST-NET-2, which mailprobe does not count as private) and on loopback ones,
// and published-settings fetches between them. Prints one JSON object: each fetch's fact and the requests the
// internal server saw.
import http from 'node:http';

const root = new URL('../../', import.meta.url);
const { webFetch } = await import(new URL('dist/src/discovery/published/fetch.js', root).href);
const { Dns } = await import(new URL('dist/src/net/dns.js', root).href);

const internalHits = [];
const listen = (address, port, handler) =>
  new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(port, address, () => resolve(server));
  });
const redirect = (to) => (_request, response) => {
  response.writeHead(302, { location: to });
  response.end();
};
const servers = [
  // The internal service a hostile public server points at (a cloud metadata service, an admin page).
  await listen('127.0.0.2', 8081, (request, response) => {
    internalHits.push(request.url);
    response.writeHead(200, { 'content-type': 'text/xml' });
    response.end('<clientConfig/>');
  }),
  await listen('198.51.100.30', 8080, (request, response) => {
    if (request.url === '/to-public')
      return redirect('http://198.51.100.31:8082/config.xml')(request, response);
    return redirect('http://127.0.0.2:8081/latest/meta-data/')(request, response);
  }),
  await listen('198.51.100.31', 8082, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/xml' });
    response.end('<clientConfig/>');
  }),
  // A web server that is private from the start: its redirects to other private addresses are followed.
  await listen('127.0.0.3', 8080, redirect('http://127.0.0.2:8081/private-from-the-start')),
];
const dns = new Dns();
const fetches = {};
for (const [name, url] of Object.entries({
  publicToLoopback: 'http://198.51.100.30:8080/config.xml',
  publicToPublic: 'http://198.51.100.30:8080/to-public',
  privateFromTheStart: 'http://127.0.0.3:8080/config.xml',
}))
  fetches[name] = (await webFetch(url, { dns, timeoutMs: 5000 })).fact;
for (const server of servers) server.close();
process.stdout.write(JSON.stringify({ fetches, internalHits }));
