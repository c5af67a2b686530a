import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { makeMp4, type VideoOptions } from '../../../src/providers/sandbox/media.js';
import { parseScenarios, type Scenario } from '../../../src/providers/sandbox/scenario.js';

/**
 * Common harness of every mock upstream (PROVIDERS §11.1): a real node:http server on 127.0.0.1, a control plane
 * under `/__mock/`, create counting by Idempotency-Key, scenario selection by header or prompt token (§11.2), a
 * manual clock, deterministic ids, a signed expiring CDN, and recorded callbacks. A family is a function from the
 * harness context to its routes; several families can be mounted under prefixes on one server (the CLI).
 */
export interface MockRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  text: string;
  json: any;
  scenarios: Scenario[];
}

export interface MockReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Raw bytes instead of JSON. */
  bytes?: Buffer;
  /** Harness behaviours: never answer, reset the socket, or hold headers (PROVIDERS §11.2). */
  behaviour?: 'timeout' | 'conn_reset';
  delayMs?: number;
  /** The route answers on the response itself (a real, paced SSE stream); `status` and `body` are then unused. */
  takeover?: (incoming: IncomingMessage, response: ServerResponse) => Promise<void>;
}

export interface MockRoute {
  method: string;
  path: RegExp;
  /** Route name for stats and queued scenarios, e.g. "create". */
  name: string;
  /** A family's own control route (under `/__mock/`): no API key, not counted in stats. */
  control?: true;
  handle: (request: MockRequest, match: RegExpMatchArray) => MockReply | Promise<MockReply>;
}

export interface MockOptions {
  /** Accepted API key; null accepts any non-empty key (the CLI default). */
  key?: string | null;
  queuedMs?: number;
  runningMs?: number;
  /** CDN URL lifetime in seconds. */
  cdnTtlSeconds?: number;
  callbackRetryMs?: number;
  /**
   * Benchmarks: render each result video once per shape and serve those bytes for every task of that shape, as a
   * real upstream renders on its own machines, not on the cores of the gateway it is measured against. Off (one
   * video per task, seeded by its id) unless set.
   */
  sharedMedia?: boolean;
}

export interface Stats {
  creates: Record<string, number>;
  requests: Record<string, number>;
  callbacks: Array<{ url: string; status: number | null; body: unknown; at: number }>;
}

export class MockContext {
  offsetMs = 0;
  stats: Stats = { creates: {}, requests: {}, callbacks: [] };
  private counter = 0;
  private readonly queued = new Map<string, Scenario[][]>();
  readonly tasks = new Map<string, any>();
  private readonly files = new Map<string, { bytes: Buffer; contentType: string }>();
  private readonly resetters: Array<() => void> = [];
  private readonly sharedVideos = new Map<string, Buffer>();
  baseUrl = '';

  constructor(
    readonly family: string,
    readonly options: Required<MockOptions>,
  ) {}

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** A task's result video: its own (seeded by `seed`), or with `sharedMedia` one per shape. */
  video(seed: string, options: VideoOptions): Buffer {
    if (!this.options.sharedMedia) return makeMp4(seed, options);
    const shape = `${options.width}x${options.height}x${options.seconds}x${options.fps ?? ''}`;
    let bytes = this.sharedVideos.get(shape);
    if (!bytes) this.sharedVideos.set(shape, (bytes = makeMp4(shape, options)));
    return bytes;
  }

  /** Deterministic ids from a counter, in the upstream's format. */
  id(prefix: string, width = 12): string {
    this.counter += 1;
    const digits = createHash('sha256').update(`${this.family}:${this.counter}`).digest('hex').slice(0, width);
    return `${prefix}${digits}`;
  }

  uuid(): string {
    const hex = this.id('', 32);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  countCreate(request: MockRequest): void {
    const header = request.headers['idempotency-key'];
    const key = (Array.isArray(header) ? header[0] : header) ?? createHash('sha256').update(request.raw).digest('hex');
    this.stats.creates[key] = (this.stats.creates[key] ?? 0) + 1;
  }

  has(request: MockRequest, id: string): Scenario | undefined {
    return request.scenarios.find((scenario) => scenario.id === id);
  }

  /**
   * The sticky `not_found` scenario of a task: its reads answer the family's "task not found" — for good, or, with
   * `not_found;ms=N`, only for the first N ms of mock time after acceptance, or with `not_found;reads=N` only for its
   * first N reads (an upstream that does not know a task for a moment after accepting it), then the task reads
   * normally, its lifecycle counted from acceptance.
   */
  notFound(scenarios: Scenario[], acceptedAt: number): Scenario | undefined {
    const scenario = scenarios.find((candidate) => candidate.id === 'not_found');
    if (!scenario) return undefined;
    const reads = scenario.options.reads;
    if (reads !== undefined && reads !== '') {
      const seen = this.notFoundReads.get(scenario) ?? 0;
      this.notFoundReads.set(scenario, seen + 1);
      return seen < Number(reads) ? scenario : undefined;
    }
    const lagMs = scenario.options.ms;
    if (lagMs === undefined || lagMs === '') return scenario;
    return this.now() - acceptedAt < Number(lagMs) ? scenario : undefined;
  }

  /** Reads answered so far per task's `not_found;reads=N` scenario. */
  private readonly notFoundReads = new WeakMap<Scenario, number>();

  /** Lifecycle phase of a task accepted at `acceptedAt`, in mock time; `slow_queue;ms=N` stretches the queue. */
  phase(acceptedAt: number, scenarios: Scenario[]): 'queued' | 'running' | 'done' {
    const slow = scenarios.find((scenario) => scenario.id === 'slow_queue');
    const queuedMs = slow ? Number(slow.options.ms ?? 60_000) : this.options.queuedMs;
    const elapsed = this.now() - acceptedAt;
    if (elapsed < queuedMs) return 'queued';
    if (elapsed < queuedMs + this.options.runningMs) return 'running';
    return 'done';
  }

  /** Publishes bytes on the mock CDN; the URL expires after `ttlSeconds` (or `url_short_ttl;ms=N`). */
  cdnUrl(name: string, bytes: Buffer, contentType: string, ttlMs = this.options.cdnTtlSeconds * 1000, extraQuery = ''): string {
    this.files.set(name, { bytes, contentType });
    const expires = Math.floor((this.now() + ttlMs) / 1000);
    const sig = createHmac('sha256', 'mock-cdn').update(`${name}.${expires}`).digest('hex').slice(0, 32);
    return `${this.baseUrl}/cdn/${name}?expires=${expires}&sig=${sig}${extraQuery}`;
  }

  serveCdn(name: string, query: URLSearchParams): MockReply {
    const file = this.files.get(name);
    const expires = Number(query.get('expires'));
    const sig = createHmac('sha256', 'mock-cdn').update(`${name}.${expires}`).digest('hex').slice(0, 32);
    if (!file || sig !== query.get('sig') || expires * 1000 < this.now()) return { status: 403, body: { error: 'AccessDenied' } };
    return { status: 200, bytes: file.bytes, headers: { 'content-type': file.contentType } };
  }

  /** POSTs a callback with retries on non-2xx (time-compressed), recording every delivery. */
  async callback(url: string, body: unknown, retries = 3): Promise<void> {
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      let status: number | null = null;
      try {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
        status = response.status;
      } catch {
        status = null;
      }
      this.stats.callbacks.push({ url, status, body, at: this.now() });
      if (status !== null && status >= 200 && status < 300) return;
      await new Promise((resolve) => setTimeout(resolve, this.options.callbackRetryMs));
    }
  }

  queueScenario(route: string, scenario: string, count: number): void {
    const list = this.queued.get(route) ?? [];
    for (let index = 0; index < count; index += 1) list.push(parseScenarios(`[[scenario:${scenario}]]`));
    this.queued.set(route, list);
  }

  takeQueued(route: string): Scenario[] {
    return this.queued.get(route)?.shift() ?? [];
  }

  reset(): void {
    this.stats = { creates: {}, requests: {}, callbacks: [] };
    this.queued.clear();
    this.tasks.clear();
    this.offsetMs = 0;
    for (const reset of this.resetters) reset();
  }

  /** State a family keeps itself (e.g. new-api balances) is cleared by `/__mock/reset` too. */
  onReset(reset: () => void): void {
    this.resetters.push(reset);
  }
}

export type Family = (context: MockContext) => MockRoute[];

export interface MountedFamily {
  prefix: string;
  context: MockContext;
  routes: MockRoute[];
}

function authorized(context: MockContext, request: MockRequest): boolean {
  const header = request.headers.authorization;
  const key = typeof header === 'string' ? header.replace(/^Bearer\s+/i, '').trim() : '';
  if (!key) return false;
  return context.options.key === null || key === context.options.key;
}

export function mount(prefix: string, family: Family, familyName: string, options: MockOptions = {}): MountedFamily {
  const context = new MockContext(familyName, {
    key: options.key === undefined ? 'mock-key' : options.key,
    queuedMs: options.queuedMs ?? 30,
    runningMs: options.runningMs ?? 60,
    cdnTtlSeconds: options.cdnTtlSeconds ?? 86_400,
    callbackRetryMs: options.callbackRetryMs ?? 20,
    sharedMedia: options.sharedMedia ?? false,
  });
  return { prefix, context, routes: family(context) };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function control(mounted: MountedFamily, request: MockRequest): Promise<MockReply | null> {
  const { context } = mounted;
  if (request.path === '/__mock/stats') return { status: 200, body: context.stats };
  if (request.path === '/__mock/reset') {
    context.reset();
    return { status: 200, body: { ok: true } };
  }
  if (request.path === '/__mock/clock/advance') {
    context.offsetMs += Number(request.json?.ms ?? 0);
    return { status: 200, body: { now: context.now() } };
  }
  if (request.path === '/__mock/scenario') {
    context.queueScenario(String(request.json?.route), String(request.json?.scenario), Number(request.json?.count ?? 1));
    return { status: 200, body: { ok: true } };
  }
  if (request.path === '/__mock/callbacks') return { status: 200, body: context.stats.callbacks };
  const task = /^\/__mock\/tasks\/(.+)$/.exec(request.path);
  if (task) return { status: 200, body: context.tasks.get(task[1]!) ?? null };
  const cdn = /^\/cdn\/(.+)$/.exec(request.path);
  if (cdn) return context.serveCdn(cdn[1]!, request.query);
  return null;
}

async function dispatch(families: MountedFamily[], incoming: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(incoming.url ?? '/', 'http://mock');
  const mounted = families.find((family) => url.pathname.startsWith(`${family.prefix}/`) || url.pathname === family.prefix);
  const raw = await readBody(incoming);
  const send = (reply: MockReply) => {
    if (reply.behaviour === 'conn_reset') return void incoming.socket.destroy();
    if (reply.behaviour === 'timeout') return; // never answer; the client's timeout decides
    const write = () => {
      if (reply.takeover) {
        return void reply.takeover(incoming, response).catch((error: unknown) => {
          if (response.headersSent) return void response.destroy();
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: String(error) }));
        });
      }
      if (reply.bytes) {
        response.writeHead(reply.status, { 'content-length': String(reply.bytes.length), ...reply.headers });
        return void response.end(reply.bytes);
      }
      const text = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      response.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...reply.headers });
      response.end(text);
    };
    if (reply.delayMs) setTimeout(write, reply.delayMs);
    else write();
  };
  if (!mounted) return send({ status: 404, body: { error: 'no such mock family' } });
  const path = url.pathname.slice(mounted.prefix.length) || '/';
  const text = raw.toString('utf8');
  let json: unknown;
  try {
    json = text && (incoming.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const headerScenario = incoming.headers['x-mock-scenario'];
  const scenarios = [
    ...parseScenarios(typeof headerScenario === 'string' ? `[[scenario:${headerScenario}]]` : ''),
    ...parseScenarios(text),
  ];
  const request: MockRequest = { method: incoming.method ?? 'GET', path, query: url.searchParams, headers: incoming.headers, raw, text, json, scenarios };
  const controlled = await control(mounted, request);
  if (controlled) return send(controlled);
  for (const route of mounted.routes) {
    const match = route.method === request.method ? route.path.exec(path) : null;
    if (!match) continue;
    if (route.control) return send(await route.handle(request, match));
    mounted.context.stats.requests[route.name] = (mounted.context.stats.requests[route.name] ?? 0) + 1;
    request.scenarios.push(...mounted.context.takeQueued(route.name));
    if (!authorized(mounted.context, request)) return send(unauthorized(mounted.context.family));
    // Transport scenarios apply to creates of every family (§11.2); families handle the rest.
    const transport = route.name === 'create' ? request.scenarios.find((scenario) => scenario.id === 'conn_reset' || scenario.id === 'timeout') : undefined;
    if (transport) return send({ status: 0, behaviour: transport.id as 'conn_reset' | 'timeout' });
    const slow = request.scenarios.find((scenario) => scenario.id === 'slow_headers');
    const reply = await route.handle(request, match);
    return send(slow ? { ...reply, delayMs: Number(slow.options.ms ?? 1000) } : reply);
  }
  send({ status: 404, body: { error: 'not found' } });
}

/** The family's own 401 body shapes (PROVIDERS §11.1). */
function unauthorized(family: string): MockReply {
  switch (family) {
    case 'ark':
      return { status: 401, body: { error: { code: 'AuthenticationError', message: 'The API key is missing or invalid.', param: '', type: '' } } };
    case 'xai':
      return { status: 401, body: { code: 'Client specified an invalid argument', error: 'Incorrect API key provided.' } };
    case 'dashscope':
      return { status: 401, body: { code: 'InvalidApiKey', message: 'Invalid API-key provided.', request_id: 'mock' } };
    case 'suno':
      return { status: 200, body: { code: 401, msg: 'Unauthorized', data: null } };
    default:
      return { status: 401, body: { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } };
  }
}

export interface RunningMock {
  baseUrl: string;
  families: MountedFamily[];
  server: Server;
  close(): Promise<void>;
}

export async function startMockServer(families: MountedFamily[], port = 0): Promise<RunningMock> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((incoming, response) => {
    dispatch(families, incoming, response).catch((error) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: String(error) }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
  for (const family of families) family.context.baseUrl = `${baseUrl}${family.prefix}`;
  return {
    baseUrl,
    families,
    server,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** One family on its own server: `{ baseUrl, close, control }` (PROVIDERS §11.1). */
export async function startFamily(family: Family, name: string, options: MockOptions = {}) {
  const mounted = mount('', family, name, options);
  const running = await startMockServer([mounted]);
  return { baseUrl: running.baseUrl, close: () => running.close(), control: mounted.context };
}
