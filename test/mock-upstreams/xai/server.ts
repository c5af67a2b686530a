import { makePng } from '../../../src/providers/sandbox/media.js';
import { videoDimensions } from '../../../src/lib/video-size.js';
import { startFamily, type Family, type MockContext, type MockOptions, type MockReply, type MockRequest, type MockRoute } from '../shared/harness.js';

/**
 * Mock of xAI Grok Imagine (PROVIDERS §3.1, §3.2, §11.3 `xai`), mounted at the family root: the channel base URL is
 * `<baseUrl>/v1`. Images are synchronous (`POST /v1/images/generations`, `/v1/images/edits`); video is create
 * (`POST /v1/videos/generations`, `/v1/videos/edits`) then poll (`GET /v1/videos/{request_id}`), no callbacks, no
 * cancel. Errors are `{"code":"<gRPC status text>","error":"<string>"}`. Quirks imitated: invalid image
 * `aspect_ratio`/`resolution`/`response_format` silently fall back to defaults with 200 (12), `resolution:"4k"` →
 * 503 (13), reference images on `/images/generations` silently ignored, image edits JSON-only (24), optional
 * `data:` prefix on `b64_json` (23), `done` + `respect_moderation:false` for blocked video (25).
 *
 * Scenarios (§11.2): success, invalid_param, moderation_input, moderation_output, moderation_output_once,
 * rate_limited;retry_after=N, unauthorized[;status=400] (400 is what xAI really sends for a wrong key),
 * quota_exhausted[;status=403] (429 "used all available credits", or 403 "no credits yet"), server_error,
 * overloaded, empty_200 (creates: task created and counted), expire, slow_queue;ms=N, slow_headers;ms=N, timeout,
 * conn_reset, status_synonyms (`queued`/`processing`, and a success without `status` as older responses had),
 * not_found[;ms=N] (polls answer 404, for good or for the first N ms), url_short_ttl;ms=N; family extras: fail_task
 * (video ends `failed`), b64_data_uri (`b64_json` with a `data:image/png;base64,` prefix).
 */
const CODE = {
  invalid: 'Client specified an invalid argument',
  denied: 'The caller does not have permission to execute the specified operation',
  exhausted: 'Some resource has been exhausted',
  notFound: 'Some requested entity (e.g., file or directory) was not found',
  internal: 'Internal error',
  unavailable: 'The service is currently unavailable',
};
const TEAM = '5f0c1e2a-7b3d-4c8e-9a10-b2c3d4e5f607';
const IMAGE_MODEL = /^(grok-imagine-image(-quality|-pro|-2\.0)?|grok-2-image(-\d+)?)$/;
const VIDEO_MODEL = /^grok-imagine-video(-1\.5(-lite|-preview)?)?$/;
const IMAGE_RATIOS = ['1:1', '16:9', '9:16', '4:3', '3:4', '3:2', '2:3', '2:1', '20:9', '19.5:9', '9:19.5', '9:20', '1:2'];
const VIDEO_RATIOS = ['1:1', '16:9', '9:16', '4:3', '3:4', '3:2', '2:3'];
/** Source clips are not inspected; an edit keeps "their" length, fixed here. */
const EDIT_SECONDS = 6;

function fail(status: number, code: string, error: string, headers?: Record<string, string>): MockReply {
  return { status, body: { code, error }, ...(headers ? { headers } : {}) };
}

/** The synchronous answers every create shares (§11.3 `xai`), or null. */
function scenarioError(context: MockContext, request: MockRequest, model: string): MockReply | null {
  if (context.has(request, 'invalid_param')) return fail(400, CODE.invalid, 'Argument not supported: duration must be between 1 and 15.');
  if (context.has(request, 'moderation_input')) {
    return fail(403, CODE.denied, `Content violates usage guidelines. Team: ${TEAM}, API key ID: ${TEAM}, Model: ${model}, Failed check: SAFETY_CHECK_TYPE_CSAM`);
  }
  const limited = context.has(request, 'rate_limited');
  if (limited) {
    return fail(429, CODE.exhausted, 'Too many requests: the requests-per-minute limit of this model was reached.', { 'retry-after': limited.options.retry_after ?? '1' });
  }
  const unauthorized = context.has(request, 'unauthorized');
  if (unauthorized?.options.status === '400') {
    return fail(400, CODE.invalid, 'Incorrect API key provided: xa***yz. You can obtain an API key from https://console.x.ai.');
  }
  if (unauthorized) return fail(401, CODE.invalid, 'Incorrect API key provided.');
  const quota = context.has(request, 'quota_exhausted');
  if (quota?.options.status === '403') {
    return fail(403, CODE.denied, `Your newly created team doesn't have any credits yet. You can purchase credits on https://console.x.ai/team/${TEAM}.`);
  }
  if (quota) {
    return fail(429, CODE.exhausted, `Your team ${TEAM} has either used all available credits or reached its monthly spending limit. To continue making API requests, please purchase more credits or raise your spending limit.`);
  }
  if (context.has(request, 'server_error')) return fail(500, CODE.internal, 'Internal server error.');
  if (context.has(request, 'overloaded')) return fail(503, CODE.unavailable, 'The service is currently unavailable. Please try again later.');
  return null;
}

/** The harness applies timeout/conn_reset only to routes named `create`; the other creates apply them here. */
function transport(context: MockContext, request: MockRequest): MockReply | null {
  if (context.has(request, 'conn_reset')) return { status: 0, behaviour: 'conn_reset' };
  if (context.has(request, 'timeout')) return { status: 0, behaviour: 'timeout' };
  return null;
}

function body(request: MockRequest): Record<string, any> | null {
  return request.json && typeof request.json === 'object' && !Array.isArray(request.json) ? request.json : null;
}

function idempotencyKey(request: MockRequest): string | null {
  const header = request.headers['idempotency-key'];
  return (Array.isArray(header) ? header[0] : header) ?? null;
}

function isUrlObject(value: unknown): boolean {
  return !!value && typeof value === 'object' && typeof (value as { url?: unknown }).url === 'string' && (value as { url: string }).url.length > 0;
}

export const xaiFamily: Family = (context) => {
  /** Prompts already blocked once by `moderation_output_once`. */
  const blockedOnce = new Set<string>();

  function blocked(request: MockRequest, prompt: string): boolean {
    if (context.has(request, 'moderation_output')) return true;
    if (!context.has(request, 'moderation_output_once') || blockedOnce.has(prompt)) return false;
    blockedOnce.add(prompt);
    return true;
  }

  function ttlMs(scenarios: MockRequest['scenarios'], readyAt: number): number {
    const short = scenarios.find((scenario) => scenario.id === 'url_short_ttl');
    const ttl = short ? Number(short.options.ms ?? 1000) : context.options.cdnTtlSeconds * 1000;
    return readyAt + ttl - context.now();
  }

  function images(request: MockRequest, edit: boolean): MockReply {
    const early = transport(context, request);
    if (early) return early;
    const json = body(request);
    if (edit && !String(request.headers['content-type'] ?? '').includes('application/json')) {
      return fail(400, CODE.invalid, 'Image edits take a JSON body, not multipart/form-data.');
    }
    if (!json) return fail(400, CODE.invalid, 'Request body must be a JSON object.');
    const model = String(json.model ?? '');
    const error = scenarioError(context, request, model);
    if (error) return error;
    if (!IMAGE_MODEL.test(model)) return fail(404, CODE.notFound, `The model ${model} does not exist or your team ${TEAM} does not have access to it.`);
    if (typeof json.prompt !== 'string' || json.prompt.trim() === '') return fail(400, CODE.invalid, 'prompt is required.');
    const n = json.n ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 10) return fail(400, CODE.invalid, 'n must be between 1 and 10.');
    if (String(json.resolution ?? '').toLowerCase() === '4k') return fail(503, CODE.unavailable, 'The service is currently unavailable.');
    if (edit && !isUrlObject(json.image) && !(Array.isArray(json.images) && json.images.length > 0 && json.images.every(isUrlObject))) {
      return fail(400, CODE.invalid, 'image.url is required for edits.');
    }
    if (edit && Array.isArray(json.images) && json.images.length > 3) return fail(400, CODE.invalid, 'At most 3 source images.');
    // Invalid values silently fall back to defaults with 200 (quirk 12); references on /generations are ignored.
    const effective = {
      aspect_ratio: IMAGE_RATIOS.includes(json.aspect_ratio) ? json.aspect_ratio : '1:1',
      resolution: json.resolution === '1k' || json.resolution === '2k' ? json.resolution : '1k',
      response_format: json.response_format === 'b64_json' ? 'b64_json' : 'url',
      n,
    };
    const ignored = edit ? [] : ['image', 'images', 'reference_images'].filter((field) => json[field] !== undefined);
    context.countCreate(request);
    const id = context.id('img_');
    const isBlocked = blocked(request, json.prompt);
    context.tasks.set(id, { kind: 'image', edit, body: json, effective, ignored, scenarios: request.scenarios, idempotencyKey: idempotencyKey(request), acceptedAt: context.now(), blocked: isBlocked });
    if (context.has(request, 'empty_200')) return { status: 200 };
    const [w, h] = effective.aspect_ratio.split(':').map(Number) as [number, number];
    const side = effective.resolution === '2k' ? 96 : 64;
    const width = Math.max(1, Math.round(w >= h ? side : (side * w) / h));
    const height = Math.max(1, Math.round(w >= h ? (side * h) / w : side));
    const prefix = context.has(request, 'b64_data_uri') ? 'data:image/png;base64,' : '';
    const data = Array.from({ length: n }, (_, index) => {
      const bytes = makePng(`${id}:${index}`, { width, height });
      const item: Record<string, unknown> = { mime_type: 'image/png', revised_prompt: json.prompt.replace(/\[\[scenario:[^\]]*\]\]/g, '').trim() };
      if (effective.response_format === 'b64_json') item.b64_json = `${prefix}${bytes.toString('base64')}`;
      else item.url = context.cdnUrl(`${id}-${index}.png`, bytes, 'image/png', ttlMs(request.scenarios, context.now()));
      if (isBlocked) item.respect_moderation = false;
      return item;
    });
    return { status: 200, body: { data } };
  }

  function videoCreate(request: MockRequest, edit: boolean): MockReply {
    const early = edit ? transport(context, request) : null;
    if (early) return early;
    const json = body(request);
    if (!json) return fail(400, CODE.invalid, 'Request body must be a JSON object.');
    const model = String(json.model ?? '');
    const error = scenarioError(context, request, model);
    if (error) return error;
    if (!VIDEO_MODEL.test(model)) return fail(404, CODE.notFound, `The model ${model} does not exist or your team ${TEAM} does not have access to it.`);
    if (typeof json.prompt !== 'string' || json.prompt.trim() === '') return fail(400, CODE.invalid, 'prompt is required.');
    if (json.prompt.length > 4096) return fail(400, CODE.invalid, 'prompt must be at most 4096 characters.');
    if (edit && !isUrlObject(json.video)) return fail(400, CODE.invalid, 'video.url is required.');
    if (!edit) {
      const references = json.reference_images;
      if (json.duration !== undefined && (!Number.isInteger(json.duration) || json.duration < 1 || json.duration > 15)) {
        return fail(400, CODE.invalid, 'duration must be an integer between 1 and 15.');
      }
      if (json.aspect_ratio !== undefined && !VIDEO_RATIOS.includes(json.aspect_ratio)) return fail(400, CODE.invalid, `Unsupported aspect_ratio ${json.aspect_ratio}.`);
      if (json.resolution !== undefined && json.resolution !== '480p' && json.resolution !== '720p') return fail(400, CODE.invalid, `Unsupported resolution ${json.resolution}.`);
      if (json.image !== undefined && !isUrlObject(json.image)) return fail(400, CODE.invalid, 'image.url is required.');
      if (references !== undefined) {
        if (!Array.isArray(references) || !references.every(isUrlObject)) return fail(400, CODE.invalid, 'reference_images must be a list of {url}.');
        if (references.length > 7) return fail(400, CODE.invalid, 'At most 7 reference images.');
        if (json.image !== undefined) return fail(400, CODE.invalid, 'image and reference_images cannot be combined.');
        if ((json.duration ?? 8) > 10) return fail(400, CODE.invalid, 'duration must be at most 10 with reference_images.');
      }
    }
    context.countCreate(request);
    const requestId = context.uuid();
    context.tasks.set(requestId, {
      kind: 'video', edit, body: json, model, scenarios: request.scenarios, idempotencyKey: idempotencyKey(request), acceptedAt: context.now(),
      duration: edit ? EDIT_SECONDS : (json.duration ?? 8), aspect_ratio: json.aspect_ratio ?? '16:9', resolution: json.resolution ?? '480p',
      blocked: blocked(request, json.prompt),
    });
    // The job exists and is billed, but the answer is empty (quirk 10).
    if (context.has(request, 'empty_200')) return { status: 200 };
    return { status: 200, body: { request_id: requestId } };
  }

  function videoQuery(id: string): MockReply {
    const task = context.tasks.get(id);
    if (!task || task.kind !== 'video' || context.notFound(task.scenarios, task.acceptedAt)) {
      return fail(404, CODE.notFound, `No video generation request found for id ${id}.`);
    }
    const scenarios = task.scenarios as MockRequest['scenarios'];
    const synonyms = scenarios.some((scenario) => scenario.id === 'status_synonyms');
    const slow = scenarios.find((scenario) => scenario.id === 'slow_queue');
    const queuedMs = slow ? Number(slow.options.ms ?? 60_000) : context.options.queuedMs;
    const phase = context.phase(task.acceptedAt, scenarios);
    if (phase === 'queued') return { status: 200, body: { status: synonyms ? 'queued' : 'pending', model: task.model, progress: 0 } };
    if (phase === 'running') {
      const elapsed = context.now() - task.acceptedAt - queuedMs;
      const progress = Math.min(99, 1 + Math.floor((98 * elapsed) / Math.max(1, context.options.runningMs)));
      return { status: 200, body: { status: synonyms ? 'processing' : 'pending', model: task.model, progress } };
    }
    if (scenarios.some((scenario) => scenario.id === 'expire')) return { status: 200, body: { status: 'expired', model: task.model } };
    if (scenarios.some((scenario) => scenario.id === 'fail_task')) {
      return { status: 200, body: { status: 'failed', model: task.model, error: { code: 'internal_error', message: `Video generation failed for team ${TEAM}.` } } };
    }
    if (!task.url) {
      const readyAt = task.acceptedAt + queuedMs + context.options.runningMs;
      const [width, height] = videoDimensions(task.aspect_ratio, task.resolution);
      const bytes = context.video(id, { width, height, seconds: task.duration, fps: 1 });
      task.url = context.cdnUrl(`${id}.mp4`, bytes, 'video/mp4', ttlMs(scenarios, readyAt));
    }
    const ticksPerSecond = task.resolution === '720p' ? 700_000_000 : 500_000_000;
    const result = {
      model: task.model,
      progress: 100,
      video: { url: task.url, duration: task.duration, respect_moderation: !task.blocked },
      usage: { cost_in_usd_ticks: task.duration * ticksPerSecond },
    };
    // Older responses carried no status at all, only the video (PROVIDERS §3.2 last row).
    return { status: 200, body: synonyms && !task.blocked ? result : { status: 'done', ...result } };
  }

  const routes: MockRoute[] = [
    { method: 'POST', path: /^\/v1\/images\/generations$/, name: 'image_create', handle: (request) => images(request, false) },
    { method: 'POST', path: /^\/v1\/images\/edits$/, name: 'image_edit', handle: (request) => images(request, true) },
    { method: 'POST', path: /^\/v1\/videos\/generations$/, name: 'create', handle: (request) => videoCreate(request, false) },
    { method: 'POST', path: /^\/v1\/videos\/edits$/, name: 'video_edit', handle: (request) => videoCreate(request, true) },
    { method: 'GET', path: /^\/v1\/videos\/([^/]+)$/, name: 'query', handle: (_request, match) => videoQuery(decodeURIComponent(match[1]!)) },
  ];
  return routes;
};

export function startXaiMock(options?: MockOptions) {
  return startFamily(xaiFamily, 'xai', options);
}
