import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { makeMp4, makePng } from '../../../src/providers/sandbox/media.js';
import { mediaDimensions } from '../../../src/providers/shared/media-sniff.js';
import type { Scenario } from '../../../src/providers/sandbox/scenario.js';
import { startFamily, type Family, type MockContext, type MockOptions, type MockReply, type MockRequest, type MockRoute } from '../shared/harness.js';

/**
 * Mock of OpenAI's image and Sora video APIs (PROVIDERS §4.1, §4.4, §4.5, §11.3 `openai`). Paths include `/v1`,
 * so a channel base URL is `<mock>/v1`. Every answer carries `x-request-id`, `openai-*` and `x-ratelimit-*`
 * headers; errors use `{"error":{message,type,param,code}}`.
 *
 * - `POST /v1/images/generations` (JSON) and `POST /v1/images/edits` (multipart): synchronous; gpt-image answers
 *   base64 only and rejects `response_format` (quirk 14); dall-e answers 60-minute CDN URLs unless `b64_json`.
 * - `POST /v1/videos` (multipart or JSON), `GET /v1/videos[/{id}]`, `GET /v1/videos/{id}/content` (binary, only
 *   when completed and before `expires_at`), `DELETE /v1/videos/{id}`, `POST /v1/videos/{id}/remix`.
 *   Lifecycle `queued → in_progress` (progress 0→99) `→ completed` in mock time; no cancel, no per-request callback.
 *
 * Create scenarios (images and videos): unauthorized (401 invalid_api_key), rate_limited;retry_after=N (429
 * rate_limit_exceeded + retry-after), quota_exhausted (429 insufficient_quota), server_error (500), overloaded
 * (503 server_is_overloaded), invalid_param (400 invalid_value), moderation_input (400 moderation_blocked, stage
 * input), empty_200 (the job is created and counted, empty body), moderation_output / moderation_output_once
 * (images: 400 moderation_blocked stage output; videos: `failed` with `error`), conn_reset / timeout /
 * slow_headers (harness for the video `create` route; here for the image routes). Video task scenarios (stick to
 * the task): success, slow_queue;ms=N, status_synonyms (`pending`/`processing`/`succeeded`), expire (`expires_at`
 * = completion, so `/content` is already gone), url_short_ttl;ms=N (`expires_at` N ms after completion; dall-e
 * CDN URLs expire after N ms), not_found[;ms=N] (reads of the task answer 404, for good or for the first N ms),
 * callback_duplicate (project webhook delivered twice). Reads accept their own unauthorized / rate_limited / server_error / overloaded / empty_200 /
 * not_found (header, or queued for route `get` / `content`). Sora has no non-terminal webhook, so
 * callback_out_of_order does not apply.
 *
 * Project webhooks (Standard Webhooks signed, `video.completed` / `video.failed`) are sent only when configured
 * with `configureOpenaiMock(control, { webhookUrl })`: OpenAI configures them per project, not per request.
 */
const IMAGE_GENERATIONS = /^\/v1\/images\/generations$/;
const IMAGE_EDITS = /^\/v1\/images\/edits$/;
const VIDEOS = /^\/v1\/videos$/;
const VIDEO = /^\/v1\/videos\/([^/]+)$/;
const CONTENT = /^\/v1\/videos\/([^/]+)\/content$/;
const REMIX = /^\/v1\/videos\/([^/]+)\/remix$/;

interface ImageRules { sizes: string[]; qualities: string[]; maxN: number; maxPrompt: number; gpt: boolean; params: string[] }
const GPT_IMAGE: ImageRules = {
  sizes: ['1024x1024', '1536x1024', '1024x1536', 'auto'], qualities: ['low', 'medium', 'high', 'auto'], maxN: 10, maxPrompt: 32_000, gpt: true,
  params: ['model', 'prompt', 'n', 'size', 'quality', 'background', 'output_format', 'output_compression', 'moderation', 'user', 'stream', 'partial_images', 'input_fidelity'],
};
const IMAGE_MODELS: Record<string, ImageRules> = {
  'gpt-image-1': GPT_IMAGE, 'gpt-image-1-mini': GPT_IMAGE, 'gpt-image-1.5': GPT_IMAGE, 'gpt-image-2': GPT_IMAGE,
  'dall-e-3': { sizes: ['1024x1024', '1792x1024', '1024x1792'], qualities: ['standard', 'hd'], maxN: 1, maxPrompt: 4000, gpt: false, params: ['model', 'prompt', 'n', 'size', 'quality', 'response_format', 'style', 'user'] },
  'dall-e-2': { sizes: ['256x256', '512x512', '1024x1024'], qualities: ['standard'], maxN: 10, maxPrompt: 1000, gpt: false, params: ['model', 'prompt', 'n', 'size', 'quality', 'response_format', 'user'] },
};
/** gpt-image-1 output tokens per image by quality and shape (square / rectangular). */
const OUTPUT_TOKENS: Record<string, [number, number]> = { low: [272, 408], medium: [1056, 1584], high: [4160, 6240] };
const VIDEO_MODEL = /^sora-2(-pro)?(-\d{4}-\d{2}-\d{2})?$/;
const VIDEO_SIZES: Record<string, string[]> = { 'sora-2': ['720x1280', '1280x720'], 'sora-2-pro': ['720x1280', '1280x720', '1024x1792', '1792x1024'] };
const VIDEO_SECONDS = ['4', '8', '12'];
const VIDEO_PARAMS = ['prompt', 'model', 'seconds', 'size', 'input_reference'];
const DALLE_URL_TTL_MS = 60 * 60_000;
/** Spellings under `status_synonyms`, as OpenAI-style relays emit them. */
const SYNONYMS: Record<string, string> = { queued: 'pending', in_progress: 'processing', completed: 'succeeded', failed: 'failed' };

export interface OpenaiMockTask {
  kind: 'video';
  id: string;
  model: string;
  prompt: string;
  seconds: string;
  size: string;
  acceptedAt: number;
  scenarios: Scenario[];
  outcome: 'success' | 'moderation_output';
  idempotencyKey: string | undefined;
  /** What the client sent: encoding, fields (files summarised). */
  request: { contentType: string; fields: Record<string, string>; inputReference: { filename: string; type: string; bytes: number } | null };
  remixedFrom: string | null;
  deleted: boolean;
}

export interface OpenaiMockImageCall {
  kind: 'image';
  endpoint: 'generations' | 'edits';
  requestId: string;
  idempotencyKey: string | undefined;
  contentType: string;
  fields: Record<string, unknown>;
  images: Array<{ field: string; filename: string; type: string; bytes: number }>;
}

export interface OpenaiMockExtras {
  /** Project webhook receiver; unset means no webhooks (the default, as in a project without one). */
  webhookUrl?: string;
  /** Standard Webhooks secret (`whsec_…`). */
  webhookSecret?: string;
}

const extras = new WeakMap<MockContext, OpenaiMockExtras>();

export function configureOpenaiMock(control: MockContext, options: OpenaiMockExtras): void {
  extras.set(control, { ...extras.get(control), ...options });
}

export const DEFAULT_WEBHOOK_SECRET = `whsec_${Buffer.from('genrelay-openai-mock-webhook').toString('base64')}`;

const first = (request: MockRequest, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Go-style duration as in `x-ratelimit-reset-*` (`12ms`, `1s`, `6m0s`). */
function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10}s`;
  return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1000)}s`;
}

type Fields = { fields: Record<string, unknown>; files: Array<{ field: string; file: File }>; contentType: string };

/** JSON or multipart body → fields (multipart text parts are strings, files kept apart). */
async function readFields(request: MockRequest): Promise<Fields | null> {
  const contentType = first(request, 'content-type') ?? '';
  if (contentType.includes('application/json')) {
    return request.json && typeof request.json === 'object' && !Array.isArray(request.json) ? { fields: request.json, files: [], contentType: 'json' } : null;
  }
  if (!contentType.includes('multipart/form-data')) return null;
  try {
    const form = await new Response(request.raw, { headers: { 'content-type': contentType } }).formData();
    const parsed: Fields = { fields: {}, files: [], contentType: 'multipart' };
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') parsed.fields[field] = value;
      else parsed.files.push({ field, file: value as File });
    }
    return parsed;
  } catch {
    return null;
  }
}

export const openaiFamily: Family = (context: MockContext) => {
  let requestCounter = 0;
  const promptsSeen = new Set<string>();
  const contentBytes = new Map<string, Buffer>();
  const minute = { start: 0, count: 0 };

  /** The headers every OpenAI answer carries (§4.1), with a per-minute request budget. */
  function headers(extra: Record<string, string> = {}): Record<string, string> {
    requestCounter += 1;
    const now = context.now();
    if (now - minute.start >= 60_000) Object.assign(minute, { start: now - (now % 60_000), count: 0 });
    minute.count += 1;
    const reset = goDuration(minute.start + 60_000 - now);
    return {
      'x-request-id': `req_${createHash('sha256').update(`openai-request:${requestCounter}`).digest('hex').slice(0, 32)}`,
      'openai-processing-ms': String(20 + (requestCounter % 50)),
      'openai-organization': 'org-mock',
      'openai-version': '2020-10-01',
      'x-ratelimit-limit-requests': '500',
      'x-ratelimit-remaining-requests': String(Math.max(0, 500 - minute.count)),
      'x-ratelimit-reset-requests': reset,
      'x-ratelimit-limit-tokens': '100000',
      'x-ratelimit-remaining-tokens': '99000',
      'x-ratelimit-reset-tokens': '600ms',
      ...extra,
    };
  }
  const error = (status: number, type: string, message: string, code: string | null, param: string | null = null, more: Record<string, unknown> = {}, extra?: Record<string, string>): MockReply => ({
    status, headers: headers(extra), body: { error: { message, type, param, code, ...more } },
  });
  const invalid = (message: string, param: string | null, code = 'invalid_value') => error(400, 'invalid_request_error', message, code, param);
  const ok = (body: unknown): MockReply => ({ status: 200, headers: headers(), body });
  const has = (scenarios: Scenario[], id: string) => scenarios.find((scenario) => scenario.id === id);

  /** Error scenarios shared by creates and reads (§11.3 `openai`). */
  function scenarioError(scenarios: Scenario[], kind: 'image' | 'video' | 'read'): MockReply | null {
    if (has(scenarios, 'unauthorized')) return error(401, 'invalid_request_error', 'Incorrect API key provided: sk-mock***-key. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_api_key');
    const limited = has(scenarios, 'rate_limited');
    if (limited) {
      const after = limited.options.retry_after ?? '1';
      return error(429, 'requests', `Rate limit reached for ${kind === 'image' ? 'images' : 'requests'} in organization org-mock on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in ${after}s.`, 'rate_limit_exceeded', null, {}, { 'retry-after': after, 'x-ratelimit-remaining-requests': '0' });
    }
    if (has(scenarios, 'quota_exhausted')) return error(429, 'insufficient_quota', 'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota');
    if (has(scenarios, 'server_error')) return error(500, 'server_error', 'The server had an error while processing your request. Sorry about that!', null);
    if (has(scenarios, 'overloaded')) return error(503, 'service_unavailable_error', 'The server is overloaded or not ready yet.', 'server_is_overloaded');
    if (kind === 'read') return null;
    if (has(scenarios, 'invalid_param')) return invalid(kind === 'image' ? "Invalid value: 'size'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'." : "Invalid value: 'seconds'. Supported values are: '4', '8', and '12'.", kind === 'image' ? 'size' : 'seconds');
    if (has(scenarios, 'moderation_input')) return moderationBlocked(kind, 'input');
    return null;
  }

  function moderationBlocked(kind: 'image' | 'video', stage: 'input' | 'output'): MockReply {
    if (kind === 'video') return error(400, 'invalid_request_error', 'Your request was blocked by our moderation system.', 'moderation_blocked');
    return error(400, 'image_generation_user_error', 'Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com.', 'moderation_blocked', null, { moderation_details: { moderation_stage: stage, categories: ['violence'] } });
  }

  /** The image routes are not named `create`, so transport scenarios are applied here (§11.2). */
  function transport(request: MockRequest): MockReply | null {
    const scenario = request.scenarios.find((entry) => entry.id === 'conn_reset' || entry.id === 'timeout');
    return scenario ? { status: 0, behaviour: scenario.id as 'conn_reset' | 'timeout' } : null;
  }

  function unknownParameter(fields: Record<string, unknown>, allowed: string[]): MockReply | null {
    const unknown = Object.keys(fields).find((name) => !allowed.includes(name.replace(/\[\]$/, '')));
    return unknown ? invalid(`Unknown parameter: '${unknown}'.`, unknown, 'unknown_parameter') : null;
  }

  async function images(request: MockRequest, endpoint: 'generations' | 'edits'): Promise<MockReply> {
    const cut = transport(request) ?? scenarioError(request.scenarios, 'image');
    if (cut) return cut;
    const parsed = await readFields(request);
    if (!parsed || (endpoint === 'generations' && parsed.contentType !== 'json') || (endpoint === 'edits' && parsed.contentType !== 'multipart')) {
      return invalid(endpoint === 'edits' ? 'Invalid content type. multipart/form-data is required.' : 'We could not parse the JSON body of your request.', null, 'invalid_request');
    }
    const { fields, files } = parsed;
    const model = String(fields.model ?? (endpoint === 'edits' ? 'gpt-image-1' : 'dall-e-2'));
    const rules = IMAGE_MODELS[model];
    if (!rules || (endpoint === 'edits' && model === 'dall-e-3')) return error(404, 'invalid_request_error', `The model '${model}' does not exist or you do not have access to it.`, 'model_not_found', 'model');
    const unknown = unknownParameter(fields, rules.gpt && endpoint === 'edits' ? [...rules.params, 'image', 'mask'] : rules.params);
    if (unknown) return unknown;
    const prompt = fields.prompt;
    if (typeof prompt !== 'string' || prompt === '') return invalid("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
    if (prompt.length > rules.maxPrompt) return invalid(`Invalid 'prompt': string too long. Expected a string with maximum length ${rules.maxPrompt}, but got a string with length ${prompt.length} instead.`, 'prompt', 'string_above_max_length');
    const n = fields.n === undefined ? 1 : Number(fields.n);
    if (parsed.contentType === 'json' && fields.n !== undefined && typeof fields.n !== 'number') return invalid("Invalid type for 'n': expected an integer, but got a string instead.", 'n', 'invalid_type');
    if (!Number.isInteger(n) || n < 1 || n > rules.maxN) return invalid(`Invalid 'n': integer ${n} is out of range [1, ${rules.maxN}].`, 'n', 'integer_out_of_range');
    const size = String(fields.size ?? (rules.gpt ? 'auto' : '1024x1024'));
    if (!rules.sizes.includes(size)) return invalid(`Invalid value: '${size}'. Supported values are: ${rules.sizes.map((value) => `'${value}'`).join(', ')}.`, 'size');
    const quality = String(fields.quality ?? (rules.gpt ? 'auto' : 'standard'));
    if (!rules.qualities.includes(quality)) return invalid(`Invalid value: '${quality}'. Supported values are: ${rules.qualities.map((value) => `'${value}'`).join(', ')}.`, 'quality');
    const format = String(fields.output_format ?? 'png');
    if (rules.gpt && !['png', 'jpeg', 'webp'].includes(format)) return invalid(`Invalid value: '${format}'. Supported values are: 'png', 'jpeg', and 'webp'.`, 'output_format');
    const background = String(fields.background ?? 'auto');
    if (rules.gpt && !['transparent', 'opaque', 'auto'].includes(background)) return invalid(`Invalid value: '${background}'.`, 'background');
    if (background === 'transparent' && format === 'jpeg') return invalid('Transparent background requires output_format png or webp.', 'background');
    const responseFormat = String(fields.response_format ?? 'url');
    if (!rules.gpt && !['url', 'b64_json'].includes(responseFormat)) return invalid(`Invalid value: '${responseFormat}'. Supported values are: 'url' and 'b64_json'.`, 'response_format');
    const inputs = files.filter((entry) => entry.field === 'image' || entry.field === 'image[]');
    if (endpoint === 'edits') {
      if (inputs.length === 0) return invalid("Missing required parameter: 'image'.", 'image', 'missing_required_parameter');
      if (inputs.length > (rules.gpt ? 16 : 1)) return invalid(`Invalid 'image': too many images (${inputs.length}).`, 'image', 'invalid_value');
      const bad = inputs.find((entry) => !['image/png', 'image/jpeg', 'image/webp'].includes(entry.file.type) || entry.file.size > 50 * 1024 * 1024);
      if (bad) return invalid(`Invalid file '${bad.field}': unsupported mimetype ('${bad.file.type}'). Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.`, bad.field, 'invalid_image_format');
    }

    context.countCreate(request);
    const requestId = `imgcall_${createHash('sha256').update(`${request.text}:${requestCounter}`).digest('hex').slice(0, 16)}`;
    const call: OpenaiMockImageCall = {
      kind: 'image', endpoint, requestId, idempotencyKey: first(request, 'idempotency-key'), contentType: first(request, 'content-type') ?? '',
      fields, images: files.map((entry) => ({ field: entry.field, filename: entry.file.name, type: entry.file.type, bytes: entry.file.size })),
    };
    context.tasks.set(requestId, call);
    if (has(request.scenarios, 'empty_200')) return { status: 200, headers: headers({ 'content-length': '0' }), body: undefined };
    const once = has(request.scenarios, 'moderation_output_once');
    if (has(request.scenarios, 'moderation_output') || (once && !promptsSeen.has(prompt))) {
      promptsSeen.add(prompt);
      return moderationBlocked('image', 'output');
    }
    const effective = size === 'auto' ? '1024x1024' : size;
    const [width, height] = effective.split('x').map(Number) as [number, number];
    // Tiny fixtures: the long side is 256 px, the aspect is the requested one.
    const scale = 256 / Math.max(width, height);
    const ttl = has(request.scenarios, 'url_short_ttl');
    const data = Array.from({ length: n }, (_, index) => {
      const bytes = makePng(`${requestId}:${index}`, { width: Math.round(width * scale), height: Math.round(height * scale) });
      if (rules.gpt || responseFormat === 'b64_json') return { b64_json: bytes.toString('base64'), ...(model === 'dall-e-3' ? { revised_prompt: prompt } : {}) };
      return { url: context.cdnUrl(`${requestId}-${index}.png`, bytes, 'image/png', ttl ? Number(ttl.options.ms ?? 1000) : DALLE_URL_TTL_MS, '&sp=r&rsct=image%2Fpng'), ...(model === 'dall-e-3' ? { revised_prompt: prompt } : {}) };
    });
    const created = Math.floor(context.now() / 1000);
    if (!rules.gpt) return ok({ created, data });
    const effectiveQuality = quality === 'auto' ? 'medium' : quality;
    const perImage = OUTPUT_TOKENS[effectiveQuality]![width === height ? 0 : 1];
    const textTokens = Math.ceil(prompt.length / 4);
    const imageTokens = endpoint === 'edits' ? 323 * inputs.length : 0;
    return ok({
      created, data, background: background === 'auto' ? 'opaque' : background, output_format: format, quality: effectiveQuality, size: effective,
      usage: { input_tokens: textTokens + imageTokens, input_tokens_details: { text_tokens: textTokens, image_tokens: imageTokens }, output_tokens: perImage * n, total_tokens: textTokens + imageTokens + perImage * n },
    });
  }

  /** Mock-time milestones of a video: when it finishes, and until when `/content` is served. */
  function timeline(task: OpenaiMockTask): { doneAt: number; expiresAt: number } {
    const slow = has(task.scenarios, 'slow_queue');
    const doneAt = task.acceptedAt + (slow ? Number(slow.options.ms ?? 60_000) : context.options.queuedMs) + context.options.runningMs;
    const short = has(task.scenarios, 'url_short_ttl');
    const ttl = has(task.scenarios, 'expire') ? 0 : short ? Number(short.options.ms ?? 1000) : context.options.cdnTtlSeconds * 1000;
    return { doneAt, expiresAt: doneAt + ttl };
  }

  function videoObject(task: OpenaiMockTask) {
    const phase = context.phase(task.acceptedAt, task.scenarios);
    const { doneAt, expiresAt } = timeline(task);
    let status = phase === 'queued' ? 'queued' : phase === 'running' ? 'in_progress' : task.outcome === 'success' ? 'completed' : 'failed';
    const runStart = doneAt - context.options.runningMs;
    const progress = status === 'completed' ? 100 : status === 'in_progress' ? Math.min(99, Math.floor((100 * (context.now() - runStart)) / Math.max(1, context.options.runningMs))) : 0;
    const finished = status === 'completed' || status === 'failed';
    if (has(task.scenarios, 'status_synonyms')) status = SYNONYMS[status] ?? status;
    return {
      id: task.id, object: 'video', model: task.model, status, progress,
      created_at: Math.floor(task.acceptedAt / 1000),
      completed_at: finished ? Math.floor(doneAt / 1000) : null,
      expires_at: finished && task.outcome === 'success' ? Math.floor(expiresAt / 1000) : null,
      seconds: task.seconds, size: task.size, prompt: task.prompt, remixed_from_video_id: task.remixedFrom,
      error: finished && task.outcome !== 'success' ? { code: 'moderation_blocked', message: 'The generated video was blocked by our moderation system.' } : null,
    };
  }

  function accept(request: MockRequest, fields: { prompt: string; model: string; seconds: string; size: string }, recorded: OpenaiMockTask['request'], remixedFrom: string | null, scenarios: Scenario[]): MockReply {
    context.countCreate(request);
    const once = has(scenarios, 'moderation_output_once');
    const outcome = has(scenarios, 'moderation_output') || (once && !promptsSeen.has(fields.prompt)) ? 'moderation_output' : 'success';
    if (once) promptsSeen.add(fields.prompt);
    const task: OpenaiMockTask = {
      kind: 'video', id: context.id('video_', 32), ...fields, acceptedAt: context.now(), scenarios, outcome,
      idempotencyKey: first(request, 'idempotency-key'), request: recorded, remixedFrom, deleted: false,
    };
    context.tasks.set(task.id, task);
    watchForWebhook(task);
    if (has(scenarios, 'empty_200')) return { status: 200, headers: headers({ 'content-length': '0' }), body: undefined };
    return ok(videoObject(task));
  }

  async function createVideo(request: MockRequest): Promise<MockReply> {
    const cut = scenarioError(request.scenarios, 'video');
    if (cut) return cut;
    const parsed = await readFields(request);
    if (!parsed) return invalid('Invalid content type. Use multipart/form-data (or application/json without files).', null, 'invalid_request');
    const { fields, files } = parsed;
    const unknown = unknownParameter({ ...fields, ...Object.fromEntries(files.map((entry) => [entry.field, true])) }, VIDEO_PARAMS);
    if (unknown) return unknown;
    if (typeof fields.prompt !== 'string' || fields.prompt.trim() === '') return invalid("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
    const model = String(fields.model ?? 'sora-2');
    if (!VIDEO_MODEL.test(model)) return invalid(`Invalid value: '${model}'. Supported values are: 'sora-2' and 'sora-2-pro'.`, 'model');
    // `seconds` is a string in this API (quirk 3): a JSON number is a type error, not a value to coerce.
    if (fields.seconds !== undefined && typeof fields.seconds !== 'string') return invalid(`Invalid type for 'seconds': expected one of '4', '8', or '12', but got ${typeof fields.seconds} instead.`, 'seconds', 'invalid_type');
    const seconds = (fields.seconds as string | undefined) ?? '4';
    if (!VIDEO_SECONDS.includes(seconds)) return invalid(`Invalid value: '${seconds}'. Supported values are: '4', '8', and '12'.`, 'seconds');
    const size = String(fields.size ?? '720x1280');
    const sizes = VIDEO_SIZES[model.startsWith('sora-2-pro') ? 'sora-2-pro' : 'sora-2']!;
    if (!sizes.includes(size)) return invalid(`Invalid value: '${size}'. Supported values are: ${sizes.map((value) => `'${value}'`).join(', ')}.`, 'size');
    if (fields.input_reference !== undefined) return invalid("Invalid type for 'input_reference': expected a file, but got a string instead.", 'input_reference', 'invalid_type');
    const reference = files.find((entry) => entry.field === 'input_reference')?.file;
    if (reference) {
      if (!['image/png', 'image/jpeg', 'image/webp'].includes(reference.type)) return invalid(`Invalid file 'input_reference': unsupported mimetype ('${reference.type}').`, 'input_reference', 'invalid_image_format');
      const dimensions = mediaDimensions(new Uint8Array(await reference.arrayBuffer()));
      if (dimensions && `${dimensions.width}x${dimensions.height}` !== size) return invalid(`Inpaint image must match the requested width and height (${size}), got ${dimensions.width}x${dimensions.height}.`, 'input_reference');
    }
    const recorded: OpenaiMockTask['request'] = {
      contentType: parsed.contentType,
      fields: Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, String(value)])),
      inputReference: reference ? { filename: reference.name, type: reference.type, bytes: reference.size } : null,
    };
    return accept(request, { prompt: fields.prompt, model, seconds, size }, recorded, null, request.scenarios);
  }

  /** A live, visible task, or the read's 404 (unknown id, deleted, or the task's `not_found` scenario). */
  function lookup(id: string): OpenaiMockTask | MockReply {
    const task = context.tasks.get(id) as OpenaiMockTask | OpenaiMockImageCall | undefined;
    if (!task || task.kind !== 'video' || task.deleted || context.notFound(task.scenarios, task.acceptedAt)) {
      return error(404, 'invalid_request_error', `Video with id '${id}' not found.`, null, 'video_id');
    }
    return task;
  }
  const isReply = (value: OpenaiMockTask | MockReply): value is MockReply => 'status' in value && !('kind' in value);

  function readError(request: MockRequest): MockReply | null {
    const cut = scenarioError(request.scenarios, 'read');
    if (cut) return cut;
    if (has(request.scenarios, 'empty_200')) return { status: 200, headers: headers({ 'content-length': '0' }), body: undefined };
    if (has(request.scenarios, 'not_found')) return error(404, 'invalid_request_error', 'Video not found.', null, 'video_id');
    return null;
  }

  function content(request: MockRequest, id: string): MockReply {
    const found = readError(request) ?? lookup(id);
    if (isReply(found)) return found;
    const variant = request.query.get('variant') ?? 'video';
    if (!['video', 'thumbnail', 'spritesheet'].includes(variant)) return invalid(`Invalid value: '${variant}'. Supported values are: 'video', 'thumbnail', and 'spritesheet'.`, 'variant');
    const { doneAt, expiresAt } = timeline(found);
    if (context.now() < doneAt || found.outcome !== 'success') return invalid('Video is not ready yet, use GET /v1/videos/{video_id} to check status.', null, 'video_not_ready');
    if (context.now() >= expiresAt) return error(404, 'invalid_request_error', 'Video content has expired and is no longer available.', null, 'video_id');
    const [width, height] = found.size.split('x').map(Number) as [number, number];
    if (variant !== 'video') return { status: 200, headers: headers({ 'content-type': 'image/png' }), bytes: makePng(`${found.id}:${variant}`, { width: width / 8, height: height / 8 }) };
    const key = found.id;
    if (!contentBytes.has(key)) contentBytes.set(key, makeMp4(key, { width, height, seconds: Number(found.seconds) }));
    return { status: 200, headers: headers({ 'content-type': 'video/mp4' }), bytes: contentBytes.get(key)! };
  }

  function list(request: MockRequest): MockReply {
    const cut = readError(request);
    if (cut) return cut;
    const order = request.query.get('order') ?? 'desc';
    const limit = Math.min(100, Math.max(1, Number(request.query.get('limit') ?? 20) || 20));
    const all = [...context.tasks.values()].filter((task): task is OpenaiMockTask => task.kind === 'video' && !task.deleted);
    all.sort((a, b) => (order === 'asc' ? a.acceptedAt - b.acceptedAt : b.acceptedAt - a.acceptedAt));
    const after = request.query.get('after');
    const start = after ? all.findIndex((task) => task.id === after) + 1 : 0;
    const page = all.slice(start, start + limit).map(videoObject);
    return ok({ object: 'list', data: page, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: start + limit < all.length });
  }

  function remove(request: MockRequest, id: string): MockReply {
    const found = readError(request) ?? lookup(id);
    if (isReply(found)) return found;
    if (context.now() < timeline(found).doneAt) return invalid('Video is still being processed and cannot be deleted.', null, 'video_not_finished');
    found.deleted = true;
    return ok({ id, object: 'video.deleted', deleted: true });
  }

  function remix(request: MockRequest, id: string): MockReply {
    const cut = scenarioError(request.scenarios, 'video');
    if (cut) return cut;
    const found = lookup(id);
    if (isReply(found)) return found;
    if (context.now() < timeline(found).doneAt || found.outcome !== 'success') return invalid('Only completed videos can be remixed.', null, 'video_not_ready');
    const prompt = request.json?.prompt;
    if (typeof prompt !== 'string' || prompt === '') return invalid("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
    const recorded = { contentType: 'json', fields: { prompt }, inputReference: null };
    return accept(request, { prompt, model: found.model, seconds: found.seconds, size: found.size }, recorded, found.id, request.scenarios);
  }

  /** Project webhook once the video is terminal in mock time; `callback_duplicate` delivers it twice. */
  function watchForWebhook(task: OpenaiMockTask): void {
    const config = extras.get(context);
    if (!config?.webhookUrl) return;
    const url = config.webhookUrl;
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
      if (ticks > 3000) return void clearInterval(timer);
      if (context.phase(task.acceptedAt, task.scenarios) !== 'done') return;
      clearInterval(timer);
      const event = {
        id: `evt_${createHash('sha256').update(`event:${task.id}`).digest('hex').slice(0, 24)}`, object: 'event',
        type: task.outcome === 'success' ? 'video.completed' : 'video.failed', created_at: Math.floor(context.now() / 1000), data: { id: task.id },
      };
      const times = has(task.scenarios, 'callback_duplicate') ? 2 : 1;
      void (async () => {
        for (let copy = 0; copy < times; copy += 1) await deliver(url, config.webhookSecret ?? DEFAULT_WEBHOOK_SECRET, event);
      })();
    }, 10);
    timer.unref();
  }

  async function deliver(url: string, secret: string, event: { id: string }): Promise<void> {
    const payload = JSON.stringify(event);
    for (let attempt = 0; attempt <= 3; attempt += 1) {
      const timestamp = new Date(context.now());
      const signature = new Webhook(secret).sign(event.id, timestamp, payload);
      let status: number | null = null;
      try {
        const response = await fetch(url, {
          method: 'POST', body: payload, signal: AbortSignal.timeout(5000),
          headers: { 'content-type': 'application/json', 'webhook-id': event.id, 'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)), 'webhook-signature': signature },
        });
        status = response.status;
      } catch {
        status = null;
      }
      context.stats.callbacks.push({ url, status, body: event, at: context.now() });
      if (status !== null && status >= 200 && status < 300) return;
      await new Promise((resolve) => setTimeout(resolve, context.options.callbackRetryMs));
    }
  }

  const routes: MockRoute[] = [
    { method: 'POST', path: IMAGE_GENERATIONS, name: 'images.create', handle: (request) => images(request, 'generations') },
    { method: 'POST', path: IMAGE_EDITS, name: 'images.edit', handle: (request) => images(request, 'edits') },
    { method: 'POST', path: VIDEOS, name: 'create', handle: (request) => createVideo(request) },
    { method: 'GET', path: VIDEOS, name: 'list', handle: (request) => list(request) },
    { method: 'GET', path: CONTENT, name: 'content', handle: (request, match) => content(request, decodeURIComponent(match[1]!)) },
    { method: 'POST', path: REMIX, name: 'remix', handle: (request, match) => remix(request, decodeURIComponent(match[1]!)) },
    {
      method: 'GET', path: VIDEO, name: 'get',
      handle: (request, match) => {
        const found = readError(request) ?? lookup(decodeURIComponent(match[1]!));
        return isReply(found) ? found : ok(videoObject(found));
      },
    },
    { method: 'DELETE', path: VIDEO, name: 'delete', handle: (request, match) => remove(request, decodeURIComponent(match[1]!)) },
  ];
  // Anything else answers OpenAI's own 404 shape rather than the harness default.
  for (const method of ['GET', 'POST', 'DELETE', 'PUT', 'PATCH']) {
    routes.push({ method, path: /^\/.*$/, name: 'unknown', handle: (request) => error(404, 'invalid_request_error', `Invalid URL (${method} ${request.path})`, null) });
  }
  return routes;
};

export async function startOpenaiMock(options: MockOptions & OpenaiMockExtras = {}) {
  const { webhookUrl, webhookSecret, ...rest } = options;
  const mock = await startFamily(openaiFamily, 'openai', rest);
  configureOpenaiMock(mock.control, { ...(webhookUrl ? { webhookUrl } : {}), ...(webhookSecret ? { webhookSecret } : {}) });
  return mock;
}
