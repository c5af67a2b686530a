/**
 * The floor of `npm run bench:peers`: a minimal reverse proxy on node:http that only pipes bytes (no parsing, no
 * auth, no billing) to one upstream over kept-alive connections. Any gateway pays at least this. Prints
 * `ready <url>` once it listens on a free loopback port; SIGTERM stops it.
 *
 *   node --import tsx bench/peers-proxy.ts http://127.0.0.1:PORT
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const target = new URL(process.argv[2] ?? '');
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

const server = createServer((incoming, outgoing) => {
  const upstream = request(
    { host: target.hostname, port: target.port, path: incoming.url, method: incoming.method, headers: incoming.headers, agent },
    (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(outgoing);
    },
  );
  upstream.on('error', () => {
    if (!outgoing.headersSent) outgoing.writeHead(502);
    outgoing.end();
  });
  incoming.pipe(upstream);
});

server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ready http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
