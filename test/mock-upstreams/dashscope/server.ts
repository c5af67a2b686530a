import { createHash } from 'node:crypto';
import { videoDimensions } from '../../../src/lib/video-size.js';
import type { Scenario } from '../../../src/providers/sandbox/scenario.js';
import { startFamily, type Family, type MockContext, type MockOptions, type MockReply, type MockRequest } from '../shared/harness.js';

/**
 * Mock of Alibaba DashScope's async video API for HappyHorse (PROVIDERS §5, §11.3 `dashscope`). Paths include the
 * `/api/v1` version prefix, so a channel base URL is `<mock>/api/v1`. Lifecycle PENDING → RUNNING → SUCCEEDED in
 * mock time; no callbacks; cancel only while PENDING; results on the signed CDN (24 h † unless
 * `url_short_ttl;ms=N`) in OSS URL flavour. Errors in DashScope's shape `{code, message, request_id}`.
 *
 * Create scenarios: unauthorized (401 InvalidApiKey), rate_limited;retry_after=N (429 Throttling.RateQuota),
 * quota_exhausted (400 Arrearage), server_error (500 InternalError), overloaded (503 ServiceUnavailable †),
 * invalid_param (400 InvalidParameter), moderation_input (400 DataInspectionFailed), empty_200 (task created and
 * counted, empty body), error_in_200[;code=C] (quirk 8: HTTP 200 carrying a top-level code, default Arrearage);
 * conn_reset / timeout / slow_headers come from the harness. Task scenarios (stick to the task): success,
 * moderation_output, moderation_output_once, expire (queries answer UNKNOWN once done), slow_queue;ms=N,
 * status_synonyms, url_short_ttl;ms=N, not_found[;ms=N] (queries answer UNKNOWN, cancel 404; for good or for the first
 * N ms). Scenarios sent with a
 * query itself (header or queued for route `query`): unauthorized, rate_limited, server_error, overloaded,
 * empty_200, error_in_200, not_found[;status=404].
 */
const ROOT = '/api/v1';
const CREATE = new RegExp(`^${ROOT}/services/aigc/video-generation/video-synthesis$`);
const QUERY = new RegExp(`^${ROOT}/tasks/([^/]+)$`);
const CANCEL = new RegExp(`^${ROOT}/tasks/([^/]+)/cancel$`);

type Mode = 't2v' | 'i2v' | 'r2v' | 'edit';
const MODELS: Record<string, Mode> = {
  'happyhorse-1.0-t2v': 't2v', 'happyhorse-1.0-i2v': 'i2v', 'happyhorse-1.0-r2v': 'r2v', 'happyhorse-1.0-video-edit': 'edit',
  'happyhorse-1.1-t2v': 't2v', 'happyhorse-1.1-i2v': 'i2v', 'happyhorse-1.1-r2v': 'r2v',
};
const RATIOS = new Set(['16:9', '9:16', '1:1', '4:3', '3:4']);
/** Spellings used under `status_synonyms`: DashScope's own SUSPENDED/CANCELLED variants and reseller relays. */
const SYNONYMS: Record<string, string> = { PENDING: 'SUSPENDED', RUNNING: 'running', SUCCEEDED: 'SUCCESS', CANCELED: 'CANCELLED', FAILED: 'failed' };

export interface DashscopeMockTask {
  id: string;
  acceptedAt: number;
  scenarios: Scenario[];
  outcome: 'success' | 'moderation_output' | 'expire';
  model: string;
  mode: Mode;
  body: any;
  headers: { async: string | undefined; idempotencyKey: string | undefined; contentType: string | undefined };
  canceledAt?: number;
  videoUrl?: string;
}

const header = (request: MockRequest, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** `YYYY-MM-DD HH:mm:ss.SSS`, no zone, in China time like the real service (PROVIDERS §5, quirk 29). */
function upstreamTime(ms: number): string {
  return new Date(ms + 8 * 3_600_000).toISOString().replace('T', ' ').replace('Z', '');
}

export const dashscopeFamily: Family = (context: MockContext) => {
  let requestCounter = 0;
  const promptCreates = new Map<string, number>();
  // Request ids come from their own counter so error answers never shift the task ids tests may rely on.
  const requestId = () => {
    requestCounter += 1;
    const hex = createHash('sha256').update(`dashscope-request:${requestCounter}`).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  };
  const fail = (status: number, code: string, message: string, headers?: Record<string, string>): MockReply => ({
    status, ...(headers ? { headers } : {}), body: { code, message, request_id: requestId() },
  });
  const scenario = (scenarios: Scenario[], id: string) => scenarios.find((entry) => entry.id === id);

  /** Errors any call may answer with, chosen by scenario (create scenarios, or the query's own). */
  function scenarioError(scenarios: Scenario[]): MockReply | null {
    if (scenario(scenarios, 'unauthorized')) return fail(401, 'InvalidApiKey', 'Invalid API-key provided.');
    const limited = scenario(scenarios, 'rate_limited');
    if (limited) {
      const after = limited.options.retry_after ?? '1';
      return fail(429, 'Throttling.RateQuota', 'Requests rate limit exceeded, please try again later.', { 'retry-after': after });
    }
    if (scenario(scenarios, 'quota_exhausted')) return fail(400, 'Arrearage', 'Access denied, please make sure your account is in good standing.');
    if (scenario(scenarios, 'server_error')) return fail(500, 'InternalError', 'An internal error has occured, please try again later.');
    if (scenario(scenarios, 'overloaded')) return fail(503, 'ServiceUnavailable', 'The service is overloaded, please try again later.');
    const inBody = scenario(scenarios, 'error_in_200');
    if (inBody) return fail(200, inBody.options.code || 'Arrearage', 'Failure reported inside a 200 answer.');
    return null;
  }

  /** The real service's important create rules (PROVIDERS §5 field table); null when the body is acceptable. */
  function validate(body: any): MockReply | null {
    if (!body || typeof body !== 'object') return fail(400, 'InvalidParameter', 'The request body is not valid JSON.');
    if (typeof body.model !== 'string' || !body.model) return fail(400, 'BadRequest.EmptyModel', 'Required parameter "model" missing from request.');
    const mode = MODELS[body.model];
    if (!mode) return fail(404, 'ModelNotFound', 'Model not exist.');
    if (!body.input || typeof body.input !== 'object') return fail(400, 'BadRequest.EmptyInput', 'Required input parameter missing from request.');
    const prompt = body.input.prompt;
    if (prompt !== undefined && typeof prompt !== 'string') return fail(400, 'InvalidParameter', 'input.prompt must be a string.');
    if (mode === 't2v' && !prompt?.trim()) return fail(400, 'BadRequest.EmptyInput', 'Required input "prompt" missing from request.');
    const parameters = body.parameters ?? {};
    if (typeof parameters !== 'object') return fail(400, 'InvalidParameter', 'parameters must be an object.');
    // Quirk 9: uppercase P only; `1080p` is refused.
    if (parameters.resolution !== undefined && !['720P', '1080P'].includes(parameters.resolution)) {
      return fail(400, 'InvalidParameter', `The resolution "${String(parameters.resolution)}" is invalid, supported: 720P, 1080P.`);
    }
    const duration = parameters.duration;
    if (duration !== undefined && (!Number.isInteger(duration) || duration < 3 || duration > 15)) return fail(400, 'InvalidParameter', 'duration must be an integer in [3, 15].');
    if (parameters.ratio !== undefined && !RATIOS.has(parameters.ratio)) return fail(400, 'InvalidParameter', `The ratio "${String(parameters.ratio)}" is invalid.`);
    if (parameters.watermark !== undefined && typeof parameters.watermark !== 'boolean') return fail(400, 'InvalidParameter', 'watermark must be a boolean.');
    const seed = parameters.seed;
    if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 2_147_483_647)) return fail(400, 'InvalidParameter', 'seed must be in [0, 2147483647].');
    if (parameters.audio_setting !== undefined && (mode !== 'edit' || !['auto', 'origin'].includes(parameters.audio_setting))) {
      return fail(400, 'InvalidParameter', 'audio_setting is only accepted by video-edit models, as auto or origin.');
    }
    const media: any[] = body.input.media ?? [];
    if (!Array.isArray(media)) return fail(400, 'InvalidParameter', 'input.media must be an array.');
    for (const item of media) {
      if (!item || !['first_frame', 'reference_image', 'video'].includes(item.type)) return fail(400, 'InvalidParameter', 'Unknown media type.');
      if (typeof item.url !== 'string' || !/^https?:\/\//.test(item.url)) return fail(400, 'InvalidURL', 'The media url is invalid.');
    }
    const count = (type: string) => media.filter((item) => item.type === type).length;
    const rules: Record<Mode, boolean> = {
      t2v: media.length === 0,
      i2v: count('first_frame') === 1 && media.length === 1,
      r2v: count('reference_image') >= 1 && count('reference_image') <= 9 && media.length === count('reference_image'),
      edit: count('video') === 1 && count('reference_image') <= 5 && count('first_frame') === 0,
    };
    if (!rules[mode]) return fail(400, 'InvalidParameter', `input.media does not fit model ${body.model}.`);
    return null;
  }

  function create(request: MockRequest): MockReply {
    const early = scenario(request.scenarios, 'unauthorized') ? scenarioError(request.scenarios) : null;
    if (early) return early;
    if (header(request, 'x-dashscope-async') !== 'enable') return fail(403, 'AccessDenied', 'current user api does not support synchronous calls');
    const error = scenarioError(request.scenarios);
    if (error) return error;
    if (scenario(request.scenarios, 'invalid_param')) return fail(400, 'InvalidParameter', 'The parameter is invalid (scenario).');
    if (scenario(request.scenarios, 'moderation_input')) return fail(400, 'DataInspectionFailed', 'Input data may contain inappropriate content.');
    const invalid = validate(request.json);
    if (invalid) return invalid;

    context.countCreate(request);
    const body = request.json;
    const promptKey = createHash('sha256').update(String(body.input.prompt ?? '')).digest('hex');
    const seenPrompt = promptCreates.get(promptKey) ?? 0;
    promptCreates.set(promptKey, seenPrompt + 1);
    const outcome: DashscopeMockTask['outcome'] =
      scenario(request.scenarios, 'moderation_output') || (scenario(request.scenarios, 'moderation_output_once') && seenPrompt === 0)
        ? 'moderation_output'
        : scenario(request.scenarios, 'expire') ? 'expire' : 'success';
    const task: DashscopeMockTask = {
      id: context.uuid(),
      acceptedAt: context.now(),
      scenarios: request.scenarios,
      outcome,
      model: body.model,
      mode: MODELS[body.model]!,
      body,
      headers: { async: header(request, 'x-dashscope-async'), idempotencyKey: header(request, 'idempotency-key'), contentType: header(request, 'content-type') },
    };
    context.tasks.set(task.id, task);
    if (scenario(request.scenarios, 'empty_200')) return { status: 200, headers: { 'content-length': '0' } };
    return { status: 200, body: { output: { task_id: task.id, task_status: 'PENDING' }, request_id: requestId() } };
  }

  const unknown = (id: string): MockReply => ({ status: 200, body: { request_id: requestId(), output: { task_id: id, task_status: 'UNKNOWN' } } });

  function doneAt(task: DashscopeMockTask): number {
    const slow = scenario(task.scenarios, 'slow_queue');
    return task.acceptedAt + (slow ? Number(slow.options.ms ?? 60_000) : context.options.queuedMs) + context.options.runningMs;
  }

  /** Signs the result once, at first read; the TTL counts from the moment the task finished. */
  function videoUrl(task: DashscopeMockTask): string {
    if (task.videoUrl) return task.videoUrl;
    const short = scenario(task.scenarios, 'url_short_ttl');
    const ttlMs = short ? Number(short.options.ms ?? 1000) : context.options.cdnTtlSeconds * 1000;
    const parameters = task.body.parameters ?? {};
    const resolution = String(parameters.resolution ?? '1080P').toLowerCase();
    const [width, height] = videoDimensions(parameters.ratio ?? '16:9', resolution);
    const bytes = context.video(task.id, { width, height, seconds: parameters.duration ?? 5, fps: 1 });
    task.videoUrl = context.cdnUrl(`${task.id}.mp4`, bytes, 'video/mp4', Math.max(0, ttlMs - (context.now() - doneAt(task))), '&OSSAccessKeyId=LTAI5tMockKeyId');
    return task.videoUrl;
  }

  function view(task: DashscopeMockTask): MockReply {
    if (context.notFound(task.scenarios, task.acceptedAt)) return unknown(task.id);
    const synonyms = scenario(task.scenarios, 'status_synonyms');
    const spell = (status: string) => (synonyms ? SYNONYMS[status] ?? status : status);
    const base = { task_id: task.id, submit_time: upstreamTime(task.acceptedAt) };
    if (task.canceledAt !== undefined) {
      return { status: 200, body: { request_id: requestId(), output: { ...base, task_status: spell('CANCELED'), end_time: upstreamTime(task.canceledAt) } } };
    }
    const phase = context.phase(task.acceptedAt, task.scenarios);
    const finished = doneAt(task);
    const scheduled = { scheduled_time: upstreamTime(finished - context.options.runningMs) };
    if (phase === 'queued') return { status: 200, body: { request_id: requestId(), output: { ...base, task_status: spell('PENDING') } } };
    if (phase === 'running') return { status: 200, body: { request_id: requestId(), output: { ...base, ...scheduled, task_status: spell('RUNNING') } } };
    // The record is purged once an expiring task is over: the family's expiry signal is UNKNOWN.
    if (task.outcome === 'expire') return unknown(task.id);
    const ended = { ...base, ...scheduled, end_time: upstreamTime(finished) };
    if (task.outcome === 'moderation_output') {
      return {
        status: 200,
        body: { request_id: requestId(), output: { ...ended, task_status: spell('FAILED'), code: 'DataInspectionFailed', message: 'Output data may contain inappropriate content.' } },
      };
    }
    const parameters = task.body.parameters ?? {};
    const usage = { video_duration: parameters.duration ?? 5, video_count: 1, SR: parameters.resolution === '720P' ? 720 : 1080 };
    const output = { ...ended, task_status: spell('SUCCEEDED'), video_url: videoUrl(task), orig_prompt: task.body.input.prompt ?? '' };
    return { status: 200, body: { request_id: requestId(), output, usage } };
  }

  function query(request: MockRequest, match: RegExpMatchArray): MockReply {
    const error = scenarioError(request.scenarios);
    if (error) return error;
    if (scenario(request.scenarios, 'empty_200')) return { status: 200, headers: { 'content-length': '0' } };
    const task = context.tasks.get(decodeURIComponent(match[1]!)) as DashscopeMockTask | undefined;
    const missing = scenario(request.scenarios, 'not_found');
    // `not_found;status=404` (header or queued): a 404 body instead of UNKNOWN, as a proxy or another region answers.
    if (missing?.options.status === '404') return fail(404, 'NotFound', 'The task does not exist.');
    if (!task || missing) return unknown(decodeURIComponent(match[1]!));
    return view(task);
  }

  function cancel(request: MockRequest, match: RegExpMatchArray): MockReply {
    const error = scenarioError(request.scenarios);
    if (error) return error;
    const task = context.tasks.get(decodeURIComponent(match[1]!)) as DashscopeMockTask | undefined;
    if (!task || scenario(request.scenarios, 'not_found') || context.notFound(task.scenarios, task.acceptedAt)) return fail(404, 'NotFound', 'The task does not exist.');
    if (task.canceledAt !== undefined || context.phase(task.acceptedAt, task.scenarios) !== 'queued') {
      return fail(400, 'UnsupportedOperation', 'Failed to cancel the task, please confirm if the task is in PENDING status.');
    }
    task.canceledAt = context.now();
    return { status: 200, body: { request_id: requestId() } };
  }

  return [
    { method: 'POST', path: CREATE, name: 'create', handle: create },
    { method: 'GET', path: QUERY, name: 'query', handle: query },
    { method: 'POST', path: CANCEL, name: 'cancel', handle: cancel },
  ];
};

export function startDashscopeMock(options?: MockOptions) {
  return startFamily(dashscopeFamily, 'dashscope', options);
}
