import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseScenarios, type Scenario } from '../../../src/providers/sandbox/scenario.js';
import type { MockRoute } from '../shared/harness.js';

/**
 * Mock OpenAI-compatible chat + embeddings upstream (PROVIDERS §4.2, §4.3, §7, §11). Its own node:http server
 * because the shared harness buffers replies and chat needs real, paced SSE. Conventions follow the harness:
 * 127.0.0.1:0, scenario by `x-mock-scenario` header or `[[scenario:…]]` token in messages/input, bearer key check
 * (default `mock-key`, OpenAI-shaped 401), `/__mock/stats` and `/__mock/reset`. Output is derived from the prompt:
 * every word of the last user message becomes one streamed content chunk (and one completion token). Routes:
 * `POST /v1/chat/completions` (streaming, with the usage chunk when `stream_options.include_usage`, or not),
 * `POST /v1/embeddings` (float or base64), `GET /v1/models`. The same handler is mounted on the combined
 * `genrelay mock-upstreams` server under `/openai` (test/mock-upstreams/all.ts), beside the OpenAI media routes.
 *
 * Scenarios: success, rate_limited;retry_after=N, quota_exhausted, unauthorized, server_error, invalid_param,
 * moderation_input, not_found, conn_reset, midstream_error[;after=N], midstream_disconnect[;after=N] (after N deltas,
 * default 2), no_usage, reasoning, slow;ms=N,
 * fragmented (each SSE event split over two writes), late_end;ms=N (the body's end N ms after `[DONE]`, default
 * 50), stream_options_rejected. Error scenarios accept
 * `shape=message|msg|string|text` for the non-OpenAI error bodies of §7.
 */
export interface ChatMockOptions {
  /** Accepted key; null accepts any non-empty key. */
  key?: string | null;
  /** Delay between streamed chunks (the `slow;ms=N` scenario overrides it per request). */
  chunkDelayMs?: number;
  /** Whether `completion_tokens` includes reasoning tokens (OpenAI) or excludes them (xAI). */
  reasoning?: 'included' | 'excluded';
}

export interface ChatMockRequestLog {
  route: string;
  scenarios: string[];
  stream: boolean;
  /** The client asked `stream_options.include_usage: true`. */
  includeUsage: boolean;
  /** The client closed the connection before the response finished. */
  aborted: boolean;
  /** The mock itself dropped the connection (conn_reset, midstream_disconnect); not counted as `aborted`. */
  dropped: boolean;
  finished: boolean;
}

export interface ChatMockStats {
  requests: Record<string, number>;
  creates: Record<string, number>;
  last_request_body: unknown;
  log: ChatMockRequestLog[];
}

const REASONING = ['Let', ' me', ' think', ' about', ' it.'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorBody(status: number, message: string, type: string, code: string | null, shape?: string): { body: string; json: boolean } {
  switch (shape) {
    case 'message':
      return { body: JSON.stringify({ message, code: status }), json: true };
    case 'msg':
      return { body: JSON.stringify({ msg: message, code: code ?? status }), json: true };
    case 'string':
      return { body: JSON.stringify({ code: code ?? String(status), error: message }), json: true };
    case 'text':
      return { body: message, json: false };
    default:
      return { body: JSON.stringify({ error: { message, type, param: null, code } }), json: true };
  }
}

function promptText(body: any): string {
  const parts: string[] = [];
  const content = (value: unknown) => {
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) for (const part of value) if (part && typeof part.text === 'string') parts.push(part.text);
  };
  if (Array.isArray(body?.messages)) for (const message of body.messages) content(message?.content);
  if (body?.input !== undefined) {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    for (const input of inputs) if (typeof input === 'string') parts.push(input);
  }
  return parts.join('\n');
}

function lastUserText(body: any): string {
  const messages = Array.isArray(body?.messages) ? body.messages : [];
  const user = [...messages].reverse().find((message: any) => message?.role === 'user');
  const text = user ? promptText({ messages: [user] }) : '';
  return text.replace(/\[\[scenario:[^\]]*\]\]/g, ' ');
}

/** Deterministic embedding values k/256: exact in float32, so base64 round-trips compare equal. */
function vector(input: string, dimensions: number): number[] {
  const digest = createHash('sha256').update(input).digest();
  return Array.from({ length: dimensions }, (_, index) => (digest[index % digest.length]! - 128) / 256);
}

function base64(values: number[]): string {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

export type ChatMockRoute = 'chat' | 'embeddings' | 'models';

/** The route a request names, or null (chat and embeddings are POST, the model list GET). */
export function chatMockRoute(method: string | undefined, path: string): ChatMockRoute | null {
  const trimmed = path.replace(/\/+$/, '');
  if (method === 'POST' && trimmed === '/v1/chat/completions') return 'chat';
  if (method === 'POST' && trimmed === '/v1/embeddings') return 'embeddings';
  if (method === 'GET' && trimmed === '/v1/models') return 'models';
  return null;
}

/** Models `GET /v1/models` lists; chat and embeddings accept any model name. */
export const CHAT_MOCK_MODELS = ['mock-chat', 'mock-embed'];

export interface ServeOptions {
  /** Check the bearer key here (the standalone server); false when the caller already did (the combined mock). */
  auth: boolean;
  /** Scenarios already read by the caller (header, prompt, queued); otherwise read from the header and prompt. */
  scenarios?: Scenario[];
}

/**
 * The chat mock's request handling, apart from any server: the standalone mock (`startChatMock`) and the combined
 * `genrelay mock-upstreams` server (mounted beside the OpenAI media routes, see `chatMockRoutes`) both answer with it.
 */
export function createChatHandler(options: ChatMockOptions = {}) {
  const key = options.key === undefined ? 'mock-key' : options.key;
  let counter = 0;
  let stats: ChatMockStats = { requests: {}, creates: {}, last_request_body: null, log: [] };
  const nextId = () => createHash('sha256').update(`openai-compatible:${++counter}`).digest('hex').slice(0, 24);

  function send(res: ServerResponse, status: number, body: string, json = true, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': json ? 'application/json' : 'text/plain', 'x-request-id': `req_${nextId()}`, ...headers });
    res.end(body);
  }

  /** Error scenarios shared by chat and embeddings; true when an answer was sent. */
  function errorScenario(res: ServerResponse, scenarios: Scenario[], body: any, drop: () => void): boolean {
    const find = (id: string) => scenarios.find((scenario) => scenario.id === id);
    const shape = scenarios.find((scenario) => scenario.options.shape)?.options.shape;
    const fail = (status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}) => {
      const reply = errorBody(status, message, type, code, shape);
      send(res, status, reply.body, reply.json, headers);
      return true;
    };
    const limited = find('rate_limited');
    if (limited) {
      const headers: Record<string, string> = {};
      if (limited.options.retry_after) headers['retry-after'] = limited.options.retry_after;
      if (limited.options.retry_after_ms) headers['retry-after-ms'] = limited.options.retry_after_ms;
      return fail(429, 'Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1.2s.', 'requests', 'rate_limit_exceeded', headers);
    }
    if (find('quota_exhausted')) return fail(429, 'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota');
    if (find('unauthorized')) return fail(401, 'Incorrect API key provided: mo***ey.', 'invalid_request_error', 'invalid_api_key');
    if (find('server_error')) return fail(500, 'The server had an error while processing your request. request id: req_0123abcd', 'server_error', 'server_error');
    if (find('invalid_param')) return fail(400, "Invalid value for 'temperature': expected a number.", 'invalid_request_error', 'invalid_value');
    if (find('moderation_input')) return fail(400, 'Your request was rejected by the content filter.', 'invalid_request_error', 'content_filter');
    if (find('not_found')) return fail(404, `The model \`${body?.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    if (find('stream_options_rejected') && body?.stream_options !== undefined) return fail(400, 'Unrecognized request argument supplied: stream_options', 'invalid_request_error', null);
    if (find('conn_reset')) {
      drop();
      return true;
    }
    return false;
  }

  async function chat(req: IncomingMessage, res: ServerResponse, body: any, scenarios: Scenario[], entry: ChatMockRequestLog) {
    const drop = () => {
      entry.dropped = true;
      res.socket?.destroy();
    };
    if (errorScenario(res, scenarios, body, drop)) return;
    const has = (id: string) => scenarios.some((scenario) => scenario.id === id);
    const slow = scenarios.find((scenario) => scenario.id === 'slow');
    const delay = slow?.options.ms ? Number(slow.options.ms) : (options.chunkDelayMs ?? 0);
    const words = lastUserText(body).split(/\s+/).filter(Boolean);
    const tokens = (words.length > 0 ? words : ['ok']).map((word, index) => (index === 0 ? word : ` ${word}`));
    const reasoning = has('reasoning') ? REASONING : [];
    const promptTokens = Math.ceil(promptText({ messages: body.messages }).length / 4);
    const completion = options.reasoning === 'excluded' ? tokens.length : tokens.length + reasoning.length;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completion,
      total_tokens: promptTokens + tokens.length + reasoning.length,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoning.length, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    const id = `chatcmpl-${nextId()}`;
    const created = 1_700_000_000 + counter;
    const model = typeof body.model === 'string' ? body.model : 'unknown';
    const base = { id, created, model, system_fingerprint: 'fp_mock' };

    if (!body.stream) {
      const message: Record<string, unknown> = { role: 'assistant', content: tokens.join(''), refusal: null, annotations: [] };
      if (reasoning.length) message.reasoning_content = reasoning.join('');
      const answer: Record<string, unknown> = { ...base, object: 'chat.completion', service_tier: 'default', choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop' }] };
      if (!has('no_usage')) answer.usage = usage;
      send(res, 200, JSON.stringify(answer));
      return;
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': `req_${nextId()}` });
    const fragmented = has('fragmented');
    const closed = () => res.destroyed || entry.aborted;
    // Resolves once the bytes are handed to the socket, so a later destroy() cannot swallow what was "sent".
    const flush = (data: string | Buffer) => new Promise<void>((resolve) => (closed() ? resolve() : res.write(data, () => resolve())));
    const write = async (text: string) => {
      if (fragmented && text.length > 4) {
        // Split mid-line (and mid multi-byte character where there is one) to exercise the incremental parser.
        const bytes = Buffer.from(text);
        const cut = Math.floor(bytes.length / 2);
        await flush(bytes.subarray(0, cut));
        await sleep(5);
        await flush(bytes.subarray(cut));
      } else await flush(text);
    };
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null })}\n\n`;

    await write(': keep-alive\n\n');
    await write(chunk({ role: 'assistant', content: '', refusal: null }));
    const deltas = [...reasoning.map((text) => ({ reasoning_content: text })), ...tokens.map((text) => ({ content: text }))];
    const breakAt = (id: string) => {
      const scenario = scenarios.find((item) => item.id === id);
      return scenario ? Number(scenario.options.after ?? 2) : -1;
    };
    const errorAt = breakAt('midstream_error');
    const dropAt = breakAt('midstream_disconnect');
    for (let index = 0; index < deltas.length; index += 1) {
      if (delay > 0) await sleep(delay);
      if (closed()) return;
      if (index === errorAt) {
        await write(`data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request. request id: req_9f8e7d', type: 'server_error', param: null, code: 'server_error' } })}\n\n`);
        res.end();
        return;
      }
      if (index === dropAt) {
        entry.dropped = true;
        res.socket?.destroy();
        return;
      }
      await write(chunk(deltas[index]!));
    }
    await write(chunk({}, 'stop'));
    if (body.stream_options?.include_usage === true && !has('no_usage')) {
      await write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
    }
    await write('data: [DONE]\n\n');
    const lateEnd = scenarios.find((item) => item.id === 'late_end');
    if (lateEnd) {
      // The chunked body's end in a later packet, as over a real network: a client that stops reading at [DONE]
      // and closes the connection shows up as `aborted`.
      await sleep(Number(lateEnd.options.ms ?? 50));
      if (closed()) return;
    }
    res.end();
  }

  function embeddings(res: ServerResponse, body: any, scenarios: Scenario[], entry: ChatMockRequestLog) {
    const drop = () => {
      entry.dropped = true;
      res.socket?.destroy();
    };
    if (errorScenario(res, scenarios, body, drop)) return;
    const inputs: unknown[] = Array.isArray(body.input) && body.input.some((item: unknown) => typeof item !== 'number') ? body.input : [body.input];
    const dimensions = Number.isInteger(body.dimensions) && body.dimensions > 0 ? body.dimensions : 8;
    let tokens = 0;
    const data = inputs.map((input, index) => {
      const text = typeof input === 'string' ? input : JSON.stringify(input ?? '');
      tokens += typeof input === 'string' ? Math.ceil(input.length / 4) : Array.isArray(input) ? input.length : 1;
      const values = vector(text, dimensions);
      return { object: 'embedding', index, embedding: body.encoding_format === 'base64' ? base64(values) : values };
    });
    send(res, 200, JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
  }

  /** Answers one chat, embeddings or model-list request whose body (`raw`) was already read. */
  async function serve(req: IncomingMessage, res: ServerResponse, route: ChatMockRoute, raw: string, serveOptions: ServeOptions): Promise<void> {
    stats.requests[route] = (stats.requests[route] ?? 0) + 1;
    /** The OpenAI-shaped 401 when this handler checks the key itself and it is missing or wrong; null when accepted. */
    const refusal = (): string | null => {
      if (!serveOptions.auth) return null;
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
      if (given && (key === null || given === key)) return null;
      const message = given ? `Incorrect API key provided: ${given.slice(0, 2)}***${given.slice(-2)}. You can find your API key at https://platform.openai.com/account/api-keys.` : "You didn't provide an API key.";
      return JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: given ? 'invalid_api_key' : null } });
    };
    if (route === 'models') {
      const refused = refusal();
      if (refused) return send(res, 401, refused);
      const data = CHAT_MOCK_MODELS.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'genrelay-mock' }));
      return send(res, 200, JSON.stringify({ object: 'list', data }));
    }
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 400, JSON.stringify({ error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: null } }));
    }
    stats.last_request_body = body;
    const header = req.headers['x-mock-scenario'];
    const scenarios = serveOptions.scenarios ?? [...(typeof header === 'string' ? parseScenarios(`[[scenario:${header}]]`) : []), ...parseScenarios(promptText(body))];
    const entry: ChatMockRequestLog = {
      route,
      scenarios: scenarios.map((scenario) => scenario.id),
      stream: body?.stream === true,
      includeUsage: body?.stream_options?.include_usage === true,
      aborted: false,
      dropped: false,
      finished: false,
    };
    stats.log.push(entry);
    res.on('finish', () => (entry.finished = true));
    res.on('close', () => {
      if (!res.writableFinished && !entry.dropped) entry.aborted = true;
    });
    const refused = refusal();
    if (refused) return send(res, 401, refused);
    if (route === 'chat') return chat(req, res, body, scenarios, entry);
    return embeddings(res, body, scenarios, entry);
  }

  return {
    serve,
    /** Answers anything else the standalone server is asked: its OpenAI-shaped 404. */
    notFound: (req: IncomingMessage, res: ServerResponse, path: string) =>
      send(res, 404, JSON.stringify({ error: { message: `Unknown request URL: ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } })),
    stats: (): ChatMockStats => stats,
    reset: () => {
      stats = { requests: {}, creates: {}, last_request_body: null, log: [] };
    },
  };
}

export type ChatHandler = ReturnType<typeof createChatHandler>;

/**
 * Chat, embeddings and the model list as harness routes, for a family mounted on the combined mock: the harness has
 * checked the key and read the scenarios (header, prompt, queued by route name `chat` / `embeddings`); the reply
 * takes over the response so chat streams for real. Place them before a family's catch-all 404.
 */
export function chatMockRoutes(handler: ChatHandler): MockRoute[] {
  const route = (method: string, path: RegExp, name: ChatMockRoute): MockRoute => ({
    method,
    path,
    name,
    handle: (request) => ({ status: 200, takeover: (req, res) => handler.serve(req, res, name, request.text, { auth: false, scenarios: request.scenarios }) }),
  });
  return [
    route('POST', /^\/v1\/chat\/completions\/?$/, 'chat'),
    route('POST', /^\/v1\/embeddings\/?$/, 'embeddings'),
    route('GET', /^\/v1\/models\/?$/, 'models'),
  ];
}

export async function startChatMock(options: ChatMockOptions = {}) {
  const handler = createChatHandler(options);
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    if (path === '/__mock/stats') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(handler.stats()));
    if (path === '/__mock/reset') {
      handler.reset();
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }
    const route = chatMockRoute(req.method, path);
    if (!route) return handler.notFound(req, res, path);
    return handler.serve(req, res, route, raw, { auth: true });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  return {
    baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    control: {
      stats: handler.stats,
      reset: handler.reset,
    },
  };
}
