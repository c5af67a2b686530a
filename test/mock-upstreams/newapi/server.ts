import { parseVideoSize, videoDimensions } from '../../../src/lib/video-size.js';
import type { Scenario } from '../../../src/providers/sandbox/scenario.js';
import { startFamily, type Family, type MockContext, type MockOptions, type MockReply, type MockRequest, type MockRoute } from '../shared/harness.js';

/**
 * Mock of another gateway in the new-api style (PROVIDERS §8, §11.3 `newapi`). All three dialects are served at once
 * because their paths never collide, so a channel's `dialect` setting alone picks one:
 * - `newapi`: `POST /v1/video/generations`, `GET /v1/video/generations/{task_id}`, final-state callback to
 *   `metadata.callback_url` (a top-level `callback_url` is ignored, §10 #30);
 * - `openai-videos`: `POST /v1/videos`, `GET /v1/videos/{id}`, `GET /v1/videos/{id}/content` (binary only);
 * - `apimart`: `POST /v1/videos/generations` (`data` array), `GET /v1/tasks/{id}`, errors as body `code` (§10 #6).
 * Paths are relative to the family root; the channel base URL is `{mock}/v1` (or `{all}/newapi/v1`).
 *
 * Billing (PROVIDERS §8.1), answered to API keys as new-api does: `GET /v1/dashboard/billing/subscription` →
 * `{hard_limit_usd, …}` and `GET /v1/dashboard/billing/usage?start_date&end_date` → `{total_usage}` in US cents (the
 * dates are required in `YYYY-MM-DD` form, as OpenAI's original contract had them, and otherwise ignored, as new-api
 * does). Every key starts with $100 and nothing used; each succeeded task bills its key `USD_PER_SECOND` × seconds.
 * Control: `POST /__mock/balance {key, hard_limit_usd?, used_usd?}` sets a key's figures, `GET /__mock/balance?key=`
 * reads them; `/__mock/reset` restores the defaults. Scenarios `server_error` and `unauthorized` apply to both reads.
 */
type Dialect = 'newapi' | 'openai-videos' | 'apimart';
type Phase = 'queued' | 'running' | 'succeeded' | 'failed' | 'expired';
type State = { status: Phase; url?: string; error?: { code: string; message: string } };

export interface NewapiMockTask {
  id: string;
  dialect: Dialect;
  acceptedAt: number;
  scenarios: Scenario[];
  idempotencyKey: string | null;
  /** The create body exactly as received, for tests. */
  request: any;
  model: string;
  prompt: string;
  seconds: number;
  resolution: string;
  ratio: string;
  /** What the reseller forwards upstream: `metadata` minus `model` (it strips it) and minus `callback_url`. */
  forwarded: Record<string, unknown>;
  callbackUrl: string | null;
  ignoredCallbackUrl: string | null;
  outcome: 'success' | 'moderation_output' | 'expire';
  /** The API key that created it, billed once when it succeeds. */
  key: string;
  billed: boolean;
  polls: number;
  resultUrl?: string;
  callbackStarted: boolean;
}

const RESOLUTIONS = ['480p', '720p', '1080p'];
const RATIOS = ['16:9', '4:3', '1:1', '3:4', '9:16', '21:9', 'adaptive'];
const LIMITS = { image_url: 9, video_url: 3, audio_url: 3 } as const;
const NATIVE: Record<Dialect, Record<Phase, string>> = {
  newapi: { queued: 'submitted', running: 'running', succeeded: 'succeeded', failed: 'failed', expired: 'expired' },
  'openai-videos': { queued: 'queued', running: 'in_progress', succeeded: 'completed', failed: 'failed', expired: 'expired' },
  apimart: { queued: 'submitted', running: 'processing', succeeded: 'completed', failed: 'failed', expired: 'expired' },
};
/** `status_synonyms`: the §8 spellings, rotated per poll so one task shows several. */
const SYNONYMS: Record<Phase, string[]> = {
  queued: ['pending', 'queuing', 'waiting', 'queued'],
  running: ['processing', 'in_progress', 'generating'],
  succeeded: ['success', 'completed', 'done'],
  failed: ['failure', 'fail', 'error'],
  expired: ['expired'],
};
const MODELS = ['doubao-seedance-2-0-260128', 'doubao-seedance-2-0-fast-260128', 'doubao-seedance-2-0-1080p', 'doubao-seedance-1-5-pro-251215'];
const REQUEST_ID = 'Request id: 0217180000000000000000000000000000000000000abcd';
/** Callback watchers stop after this much real time (a slow_queue task nobody advances). */
const WATCH_LIMIT_MS = 120_000;
/** A key's quota before anyone sets it, and what one generated second costs it. */
export const DEFAULT_HARD_LIMIT_USD = 100;
export const USD_PER_SECOND = 0.05;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

interface Balance {
  hard_limit_usd: number;
  used_usd: number;
}

const isObject = (value: unknown): value is Record<string, any> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Error bodies: new-api's task errors `{code,message,data}`, its middleware (401/429/503) and openai-videos OpenAI-shaped, APIMart body codes. */
function fail(dialect: Dialect, status: number, code: string, message: string, headers?: Record<string, string>): MockReply {
  if (dialect === 'apimart') {
    // §10 #6: client errors arrive inside HTTP 200 with the real code in the body.
    const http = status === 429 || status >= 500 ? status : 200;
    return { status: http, ...(headers ? { headers } : {}), body: { code: status, error: { message, type: code } } };
  }
  const openai = dialect === 'openai-videos' || status === 401 || status === 429 || status === 503;
  const body = openai ? { error: { message, type: 'new_api_error', param: null, code } } : { code, message, data: null };
  return { status, ...(headers ? { headers } : {}), body };
}

function validateNewapi(body: unknown, dialect: Dialect): string | undefined {
  if (!isObject(body)) return 'request body must be a JSON object';
  if (typeof body.model !== 'string' || body.model === '') return 'model is required';
  if (typeof body.prompt !== 'string' || body.prompt.trim() === '') return 'prompt is required';
  if (body.seconds !== undefined) {
    // §10 #3: `seconds` is a Go string field; a JSON number fails to unmarshal.
    if (typeof body.seconds !== 'string') return 'json: cannot unmarshal number into Go struct field TaskSubmitReq.seconds of type string';
    if (!/^\d+$/.test(body.seconds) || Number(body.seconds) < 2 || Number(body.seconds) > 15) return 'seconds must be between 2 and 15';
  }
  if (body.images !== undefined && (!Array.isArray(body.images) || !body.images.every((item: unknown) => typeof item === 'string'))) return 'images must be an array of URLs';
  if (body.size !== undefined && (dialect !== 'openai-videos' || !/^\d+x\d+$/.test(String(body.size)))) return 'invalid size';
  const metadata = body.metadata ?? {};
  if (!isObject(metadata)) return 'metadata must be an object';
  // §10 #9: Seedance behind the reseller wants lowercase resolutions.
  if (metadata.resolution !== undefined && !RESOLUTIONS.includes(metadata.resolution)) return `resolution must be one of ${RESOLUTIONS.join(', ')}`;
  if (metadata.ratio !== undefined && !RATIOS.includes(metadata.ratio)) return 'invalid ratio';
  if (metadata.callback_url !== undefined && !/^https?:\/\//.test(String(metadata.callback_url))) return 'invalid callback_url';
  const content = metadata.content ?? [];
  if (!Array.isArray(content)) return 'metadata.content must be an array';
  const counts: Record<string, number> = { image_url: (body.images ?? []).length, video_url: 0, audio_url: 0 };
  for (const item of content) {
    const type = isObject(item) ? item.type : undefined;
    if (type === 'text') continue;
    if (!(type in LIMITS) || typeof item[type]?.url !== 'string') return 'invalid content item';
    if (type === 'video_url' && item[type].url.startsWith('data:')) return 'base64 video is not supported'; // §10 #18
    counts[type]! += 1;
  }
  for (const [type, limit] of Object.entries(LIMITS)) if (counts[type]! > limit) return `at most ${limit} ${type} items`;
  return undefined;
}

function validateApimart(body: unknown): string | undefined {
  if (!isObject(body)) return 'request body must be a JSON object';
  if (typeof body.model !== 'string' || body.model === '') return 'model is required';
  if (typeof body.prompt !== 'string' || body.prompt.trim() === '') return 'prompt is required';
  if (body.duration !== undefined && (!Number.isInteger(body.duration) || body.duration < 2 || body.duration > 15)) return 'duration must be an integer between 2 and 15';
  if (body.resolution !== undefined && !RESOLUTIONS.includes(body.resolution)) return 'invalid resolution';
  if (body.aspect_ratio !== undefined && !RATIOS.includes(body.aspect_ratio)) return 'invalid aspect_ratio';
  if (body.image_urls !== undefined && (!Array.isArray(body.image_urls) || body.image_urls.length > 9)) return 'image_urls must be an array of at most 9 URLs';
  return undefined;
}

function bearer(request: MockRequest): string {
  const header = request.headers.authorization;
  return typeof header === 'string' ? header.replace(/^Bearer\s+/i, '').trim() : '';
}

export const newapiFamily: Family = (context: MockContext): MockRoute[] => {
  const moderatedOnce = new Set<string>();
  const balances = new Map<string, Balance>();
  context.onReset(() => balances.clear());
  const balanceOf = (key: string): Balance => {
    let balance = balances.get(key);
    if (!balance) balances.set(key, (balance = { hard_limit_usd: DEFAULT_HARD_LIMIT_USD, used_usd: 0 }));
    return balance;
  };
  /** Cents without float noise: the figure new-api reports is a decimal. */
  const cents = (usd: number) => Math.round(usd * 100 * 1e6) / 1e6;
  const option = (scenarios: Scenario[], id: string) => scenarios.find((scenario) => scenario.id === id);
  const queuedMs = (task: NewapiMockTask) => {
    const slow = option(task.scenarios, 'slow_queue');
    return slow ? Number(slow.options.ms ?? 60_000) : context.options.queuedMs;
  };
  const successAt = (task: NewapiMockTask) => task.acceptedAt + queuedMs(task) + context.options.runningMs;
  const ttlMs = (task: NewapiMockTask) => {
    const short = option(task.scenarios, 'url_short_ttl');
    return short ? Number(short.options.ms ?? 1000) : context.options.cdnTtlSeconds * 1000;
  };
  const video = (task: NewapiMockTask) => {
    const [width, height] = videoDimensions(task.ratio, task.resolution);
    return context.video(task.id, { width, height, seconds: task.seconds, fps: 1 });
  };

  function state(task: NewapiMockTask): State {
    const phase = context.phase(task.acceptedAt, task.scenarios);
    if (phase !== 'done') return { status: phase };
    if (task.outcome === 'expire') return { status: 'expired' };
    if (task.outcome === 'moderation_output') {
      const message = `The request failed because the output video may contain sensitive information. ${REQUEST_ID}`;
      return { status: 'failed', error: { code: 'OutputVideoSensitiveContentDetected', message } };
    }
    if (!task.resultUrl) {
      // The pass-through Ark/TOS link, valid for the upstream's TTL counted from success (Seedance: 24 h).
      const ttl = ttlMs(task);
      task.resultUrl = context.cdnUrl(`${task.id}.mp4`, video(task), 'video/mp4', successAt(task) + ttl - context.now(), `&X-Tos-Expires=${Math.max(1, Math.round(ttl / 1000))}`);
    }
    if (!task.billed) {
      task.billed = true;
      balanceOf(task.key).used_usd += USD_PER_SECOND * task.seconds;
    }
    return { status: 'succeeded', url: task.resultUrl };
  }

  function spell(task: NewapiMockTask, phase: Phase): string {
    if (!option(task.scenarios, 'status_synonyms')) return NATIVE[task.dialect][phase];
    const list = SYNONYMS[phase];
    return list[task.polls % list.length]!;
  }

  function progress(task: NewapiMockTask, s: State): number {
    if (s.status === 'queued') return 0;
    if (s.status !== 'running') return 100;
    return Math.min(99, Math.floor((100 * (context.now() - task.acceptedAt - queuedMs(task))) / context.options.runningMs));
  }

  function newapiView(task: NewapiMockTask, s: State, status = spell(task, s.status)) {
    const { content: _content, ...echoed } = task.forwarded;
    const metadata = { ...echoed, duration: task.seconds };
    return { task_id: task.id, status, ...(s.url ? { url: s.url, format: 'mp4' } : {}), metadata, ...(s.error ? { error: s.error } : {}) };
  }

  function openaiView(task: NewapiMockTask, s: State) {
    const [width, height] = videoDimensions(task.ratio, task.resolution);
    const done = s.status === 'succeeded' ? Math.floor(successAt(task) / 1000) : null;
    return {
      id: task.id, object: 'video', model: task.model, status: spell(task, s.status), progress: progress(task, s),
      created_at: Math.floor(task.acceptedAt / 1000), completed_at: done, expires_at: done === null ? null : Math.floor((successAt(task) + ttlMs(task)) / 1000),
      seconds: String(task.seconds), size: `${width}x${height}`, prompt: task.prompt, remixed_from_video_id: null, error: s.error ?? null,
    };
  }

  function apimartView(task: NewapiMockTask, s: State) {
    const data = {
      id: task.id, status: spell(task, s.status), progress: progress(task, s), duration: task.seconds, resolution: task.resolution,
      ...(s.url ? { result: { videos: [{ url: [s.url] }] }, cost: 0.35 } : {}),
      ...(s.error ? { error: { message: s.error.message, code: s.error.code } } : {}),
    };
    return { code: 200, data };
  }

  /** The final state, POSTed unsigned to `metadata.callback_url` with retries (§8); scenario variants of §11.2. */
  function deliverIfFinal(task: NewapiMockTask): void {
    if (!task.callbackUrl || task.callbackStarted) return;
    const s = state(task);
    if (s.status === 'queued' || s.status === 'running') return;
    task.callbackStarted = true;
    const url = task.callbackUrl;
    const body = newapiView(task, s);
    const retries = Math.max(3, Number(option(task.scenarios, 'callback_fail')?.options.times ?? 0));
    void (async () => {
      await context.callback(url, body, retries);
      if (option(task.scenarios, 'callback_duplicate')) await context.callback(url, body, retries);
      if (option(task.scenarios, 'callback_out_of_order')) await context.callback(url, newapiView(task, { status: 'running' }), retries);
    })();
  }

  /** Mock time moves by `offsetMs` as well as the wall clock, so the final state is looked for on a short tick. */
  function watch(task: NewapiMockTask): void {
    const started = Date.now();
    const tick = () => {
      if (context.tasks.get(task.id) !== task || task.callbackStarted || Date.now() - started > WATCH_LIMIT_MS) return;
      deliverIfFinal(task);
      if (!task.callbackStarted) setTimeout(tick, 10).unref();
    };
    setTimeout(tick, 10).unref();
  }

  function accept(request: MockRequest, dialect: Dialect): NewapiMockTask {
    const body = request.json;
    const metadata: Record<string, unknown> = { ...(body.metadata ?? {}) };
    // §8: the reseller strips `metadata.model` and keeps `callback_url` for itself.
    delete metadata.model;
    const callbackUrl = dialect === 'newapi' && typeof metadata.callback_url === 'string' ? metadata.callback_url : null;
    delete metadata.callback_url;
    const prompt: string = body.prompt;
    let outcome: NewapiMockTask['outcome'] = 'success';
    if (context.has(request, 'moderation_output')) outcome = 'moderation_output';
    else if (context.has(request, 'moderation_output_once') && !moderatedOnce.has(prompt)) {
      moderatedOnce.add(prompt);
      outcome = 'moderation_output';
    } else if (context.has(request, 'expire')) outcome = 'expire';
    const header = request.headers['idempotency-key'];
    const size = typeof body.size === 'string' ? parseVideoSize(body.size) : null;
    const task: NewapiMockTask = {
      id: context.id('task_', 24), dialect, acceptedAt: context.now(), scenarios: request.scenarios,
      idempotencyKey: (Array.isArray(header) ? header[0] : header) ?? null, request: body, model: body.model, prompt,
      seconds: Number(body.seconds ?? body.duration ?? 5),
      resolution: String(metadata.resolution ?? body.resolution ?? size?.resolution ?? '720p'),
      ratio: String(metadata.ratio ?? body.aspect_ratio ?? size?.ratio ?? '16:9'),
      forwarded: metadata, callbackUrl, ignoredCallbackUrl: typeof body.callback_url === 'string' ? body.callback_url : null,
      outcome, key: bearer(request), billed: false, polls: 0, callbackStarted: false,
    };
    context.countCreate(request);
    context.tasks.set(task.id, task);
    if (callbackUrl) watch(task);
    return task;
  }

  function create(dialect: Dialect) {
    return (request: MockRequest): MockReply => {
      const has = (id: string) => context.has(request, id);
      const model = String(request.json?.model ?? '');
      if (has('invalid_param')) return fail(dialect, 400, 'invalid_request', 'invalid_param: the parameter seconds specified in the request is not valid');
      if (has('moderation_input')) {
        return fail(dialect, 400, 'InputTextSensitiveContentDetected', `The request failed because the input text may contain sensitive information. ${REQUEST_ID}`);
      }
      const rate = context.has(request, 'rate_limited');
      if (rate) return fail(dialect, 429, 'rate_limit_exceeded', 'Rate limit reached for requests', { 'retry-after': String(rate.options.retry_after ?? 1) });
      if (has('unauthorized')) return fail(dialect, 401, 'invalid_api_key', 'Invalid token');
      if (has('quota_exhausted')) return fail(dialect, 403, 'insufficient_user_quota', 'user quota is not enough, remaining quota: 0');
      if (has('server_error')) return fail(dialect, 500, 'do_request_failed', `upstream request failed. ${REQUEST_ID}`);
      if (has('overloaded')) return fail(dialect, 503, 'service_unavailable', 'The upstream service is overloaded, please try again later');
      if (has('model_not_found')) return fail(dialect, 503, 'model_not_found', `No available channel for model ${model} under group default`);
      const problem = dialect === 'apimart' ? validateApimart(request.json) : validateNewapi(request.json, dialect);
      if (problem) return fail(dialect, 400, 'invalid_request', problem);
      const task = accept(request, dialect);
      // The task exists and is counted, but the answer is lost (§10 #10).
      if (has('empty_200')) return { status: 200 };
      if (dialect === 'apimart') return { status: 200, body: { code: 200, data: [{ status: 'submitted', task_id: task.id }] } };
      if (dialect === 'openai-videos') return { status: 200, body: openaiView(task, { status: 'queued' }) };
      return { status: 200, body: { task_id: task.id, status: 'submitted' } };
    };
  }

  /**
   * The task, or the reseller's "task not found": new-api's own fetch (`/v1/video/generations/{id}`, `/v1/videos/{id}`)
   * answers HTTP 400 `task_not_exist`; `not_found;status=404` gives the 404 other forks (and new-api's Doubao fetch)
   * answer; APIMart puts 404 in the body code; the content route answers 404. `not_found;ms=N`: only for N ms.
   */
  function find(request: MockRequest, id: string, dialect: Dialect, route: 'query' | 'content' = 'query'): NewapiMockTask | MockReply {
    const task = context.tasks.get(id) as NewapiMockTask | undefined;
    const scenario = context.has(request, 'not_found') ?? (task ? context.notFound(task.scenarios, task.acceptedAt) : undefined);
    if (!task || task.dialect !== dialect || scenario) {
      if (dialect === 'apimart' || route === 'content') return fail(dialect, 404, 'not_found', `task ${id} not found`);
      return fail(dialect, scenario?.options.status === '404' ? 404 : 400, 'task_not_exist', 'task_not_exist');
    }
    return task;
  }

  function query(dialect: Dialect) {
    return (request: MockRequest, match: RegExpMatchArray): MockReply => {
      const task = find(request, decodeURIComponent(match[1]!), dialect);
      if ('status' in task) return task;
      const s = state(task);
      deliverIfFinal(task);
      const body = dialect === 'newapi' ? newapiView(task, s) : dialect === 'apimart' ? apimartView(task, s) : openaiView(task, s);
      task.polls += 1;
      return { status: 200, body };
    };
  }

  /** new-api's billing reads: OpenAI-shaped errors; `server_error` for a failing read. */
  function billing(read: (balance: Balance, request: MockRequest) => MockReply) {
    return (request: MockRequest): MockReply => {
      if (context.has(request, 'server_error')) return fail('openai-videos', 500, 'get_quota_failed', 'failed to get quota');
      return read(balanceOf(bearer(request)), request);
    };
  }

  function setBalance(request: MockRequest): MockReply {
    const body = isObject(request.json) ? request.json : {};
    if (typeof body.key !== 'string' || body.key === '') return { status: 400, body: { error: 'key is required' } };
    const balance = balanceOf(body.key);
    for (const field of ['hard_limit_usd', 'used_usd'] as const) {
      if (body[field] === undefined) continue;
      if (typeof body[field] !== 'number' || !Number.isFinite(body[field])) return { status: 400, body: { error: `${field} must be a number` } };
      balance[field] = body[field];
    }
    return { status: 200, body: { key: body.key, ...balance, remaining_usd: balance.hard_limit_usd - balance.used_usd } };
  }

  return [
    {
      method: 'GET',
      path: /^\/v1\/dashboard\/billing\/subscription$/,
      name: 'billing_subscription',
      handle: billing((balance) => ({
        status: 200,
        body: {
          object: 'billing_subscription', has_payment_method: true, soft_limit_usd: balance.hard_limit_usd, hard_limit_usd: balance.hard_limit_usd,
          system_hard_limit_usd: balance.hard_limit_usd, access_until: 0,
        },
      })),
    },
    {
      method: 'GET',
      path: /^\/v1\/dashboard\/billing\/usage$/,
      name: 'billing_usage',
      handle: billing((balance, request) => {
        const [start, end] = [request.query.get('start_date') ?? '', request.query.get('end_date') ?? ''];
        if (!DATE.test(start) || !DATE.test(end) || start > end) return fail('openai-videos', 400, 'invalid_request', 'start_date and end_date (YYYY-MM-DD) are required');
        return { status: 200, body: { object: 'list', total_usage: cents(balance.used_usd) } };
      }),
    },
    { method: 'POST', path: /^\/__mock\/balance$/, name: 'balance', control: true, handle: setBalance },
    {
      method: 'GET',
      path: /^\/__mock\/balance$/,
      name: 'balance',
      control: true,
      handle: (request) => {
        const key = request.query.get('key') ?? '';
        const balance = balanceOf(key);
        return { status: 200, body: { key, ...balance, remaining_usd: balance.hard_limit_usd - balance.used_usd } };
      },
    },
    { method: 'POST', path: /^\/v1\/video\/generations$/, name: 'create', handle: create('newapi') },
    { method: 'GET', path: /^\/v1\/video\/generations\/([^/]+)$/, name: 'query', handle: query('newapi') },
    { method: 'POST', path: /^\/v1\/videos\/generations$/, name: 'create', handle: create('apimart') },
    { method: 'GET', path: /^\/v1\/tasks\/([^/]+)$/, name: 'query', handle: query('apimart') },
    { method: 'POST', path: /^\/v1\/videos$/, name: 'create', handle: create('openai-videos') },
    { method: 'GET', path: /^\/v1\/videos\/([^/]+)$/, name: 'query', handle: query('openai-videos') },
    {
      method: 'GET',
      path: /^\/v1\/videos\/([^/]+)\/content$/,
      name: 'content',
      handle: (request, match) => {
        const task = find(request, decodeURIComponent(match[1]!), 'openai-videos', 'content');
        if ('status' in task) return task;
        // Binary only while completed and before `expires_at` (§4.5, §10 #15).
        if (state(task).status !== 'succeeded' || context.now() > successAt(task) + ttlMs(task)) return fail('openai-videos', 404, 'not_found', 'video content is not available');
        return { status: 200, bytes: video(task), headers: { 'content-type': 'video/mp4' } };
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/models$/,
      name: 'models',
      handle: () => ({ status: 200, body: { object: 'list', data: MODELS.map((id) => ({ id, object: 'model', owned_by: 'newapi' })) } }),
    },
  ];
};

export function startNewapiMock(options?: MockOptions) {
  return startFamily(newapiFamily, 'newapi', options);
}
