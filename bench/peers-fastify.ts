/**
 * A framework's floor for `npm run bench:peers`: a Fastify server that forwards `POST /v1/chat/completions` to one
 * upstream with undici over kept-alive connections — the two libraries genrelay is built on — parsing the request's
 * JSON and, for a JSON answer, the upstream's, and serialising what it answers (a stream is piped through as it
 * comes). No authentication, no routing, no validation, no billing, no logging: what a Node gateway built this way
 * pays before it does anything a gateway is for. Prints `ready <url>` once it listens on a free loopback port;
 * SIGTERM stops it.
 *
 *   node --import tsx bench/peers-fastify.ts http://127.0.0.1:PORT/v1
 */
import Fastify from 'fastify';
import { Agent, request } from 'undici';

const base = process.argv[2] ?? '';
const agent = new Agent({ connections: 1024, keepAliveTimeout: 60_000 });
const app = Fastify({ logger: false });

app.post('/v1/chat/completions', async (incoming, reply) => {
  const body = incoming.body as { stream?: boolean };
  const upstream = await request(`${base}/chat/completions`, {
    method: 'POST', dispatcher: agent, body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', authorization: incoming.headers.authorization ?? '' },
  });
  reply.code(upstream.statusCode);
  if (body.stream === true) {
    reply.header('content-type', upstream.headers['content-type'] ?? 'text/event-stream');
    return reply.send(upstream.body);
  }
  return reply.send(await upstream.body.json());
});

const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`ready ${url}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
