import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../lib/errors.js';
import { runTextRequest, type TextKind, type TextRequestDeps } from '../../../workflows/text-request.js';
import type { App } from '../../app-type.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';

/**
 * `POST /v1/chat/completions` and `POST /v1/embeddings` (API.md §4). OpenAI fields genrelay does not read are
 * forwarded to the upstream (SEMANTICS E4); server-owned fields are still refused. Streams are relayed event by
 * event as they arrive and end with `data: [DONE]`.
 */
const SERVER_OWNED = ['customer_id', 'customer', 'mode', 'cost', 'credits', 'hold', 'charged', 'status', 'provider', 'reservation', 'channel', 'api_key_id'];
const TEXT_BODY_LIMIT = 64 * 1024 * 1024;

/**
 * A message is an object with a role; its content is text, an array of content parts, or null (assistant tool calls).
 * Other message fields (name, tool_calls, tool_call_id, …) are forwarded as they are.
 */
const ChatMessage = Type.Object(
  {
    role: Type.String({ minLength: 1, maxLength: 64 }),
    content: Type.Optional(Type.Union([Type.String(), Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 1_000 }), Type.Null()])),
  },
  { additionalProperties: true },
);
/** OpenAI's four input shapes: a string, strings, a token array, token arrays. */
const EmbeddingInput = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Array(Type.String(), { minItems: 1, maxItems: 2048 }),
  Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 1_000_000 }),
  Type.Array(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 1_000_000 }), { minItems: 1, maxItems: 2048 }),
]);

const ChatBody = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 128 }),
    messages: Type.Array(ChatMessage, { minItems: 1, maxItems: 10_000 }),
    stream: Type.Optional(Type.Boolean()),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
    max_completion_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
    stream_options: Type.Optional(Type.Object({ include_usage: Type.Optional(Type.Boolean()) })),
    n: Type.Optional(Type.Integer({ minimum: 1, maximum: 1 })),
  },
  { additionalProperties: true },
);
const EmbeddingBody = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 128 }),
    input: EmbeddingInput,
    encoding_format: Type.Optional(Type.Union([Type.Literal('float'), Type.Literal('base64')])),
    dimensions: Type.Optional(Type.Integer({ minimum: 1, maximum: 8192 })),
  },
  { additionalProperties: true },
);

function refuseServerOwned(body: Record<string, unknown>): void {
  const field = SERVER_OWNED.find((name) => name in body);
  if (field) throw new AppError('unknown_parameter', `Unknown parameter: ${field}`, { param: field });
}

async function handle(deps: TextRequestDeps, kind: TextKind, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
  const body = request.body as Record<string, unknown>;
  refuseServerOwned(body);
  const stream = kind === 'chat' && body.stream === true;
  const answer = await runTextRequest(deps, { principal: principalOf(request), kind, body, stream });
  if (!answer.stream) return reply.status(200).send(answer.body);
  // Stream: take over the socket, keep the headers already set (request id, rate limits).
  // The response's 'close' before it finished means the client went away: stop the upstream at once (issue 5).
  let clientGone = false;
  reply.raw.on('close', () => {
    if (reply.raw.writableFinished) return;
    clientGone = true;
    answer.abort();
  });
  // Shutdown past its grace (http/shutdown.ts): stop reading the upstream, settle what was produced, say so.
  let cutOff = false;
  const stopListening = request.server.inflight.onCutOff(() => {
    cutOff = true;
    answer.abort();
  });
  reply.hijack();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = String(value);
  reply.raw.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  // The events that came with the upstream's end wait for the settlement and go out with [DONE], in one write: one
  // write (and one wake-up of the client) fewer per stream, and whoever reads the final chunk finds the charge made.
  let tail = '';
  try {
    for await (const batch of answer.events) {
      if (clientGone || cutOff) break;
      let text = '';
      for (const data of batch) text += `data: ${data}\n\n`;
      if (answer.ended()) tail += text;
      else reply.raw.write(text);
    }
  } finally {
    stopListening();
    // Settle before the final [DONE], so a client that reads its balance right after the stream sees the charge. A
    // stream cut off by shutdown is settled like one whose client left: at the usage produced so far.
    await answer.finish(clientGone || cutOff).catch((error) => request.log.error({ err: error }, 'settling a text request failed'));
  }
  if (clientGone) return;
  if (cutOff) tail += `data: ${JSON.stringify({ error: { message: 'The server is shutting down; the answer was cut off.', type: 'capacity_error', code: 'shutting_down' } })}\n\n`;
  reply.raw.end(`${tail}data: [DONE]\n\n`);
}

/** What the text routes use: the text request workflow and API-key auth. */
export type TextRouteDeps = TextRequestDeps & ApiKeyAuthDeps;

export function registerTextRoutes(app: App, deps: TextRouteDeps): void {
  const config = { face: 'v1' as const };
  const onRequest = apiKeyAuth(deps, 'text');
  app.post('/v1/chat/completions', { config, onRequest, bodyLimit: TEXT_BODY_LIMIT, schema: { body: ChatBody } }, (request, reply) => handle(deps, 'chat', request, reply));
  app.post('/v1/embeddings', { config, onRequest, bodyLimit: TEXT_BODY_LIMIT, schema: { body: EmbeddingBody } }, (request, reply) => handle(deps, 'embedding', request, reply));
}
