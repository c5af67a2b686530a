import { createServer, type IncomingHttpHeaders } from 'node:http';
import OpenAI from 'openai';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { createOpenAIAdapter } from '../../src/providers/openai/index.js';
import { classifyError } from '../../src/providers/openai/openai-errors.js';
import { OPENAI_STATUSES } from '../../src/providers/openai/openai-status.js';
import { makePng } from '../../src/providers/sandbox/media.js';
import { sniffContentType } from '../../src/providers/shared/media-sniff.js';
import { sanitize } from '../../src/providers/shared/sanitize.js';
import { readStatus } from '../../src/providers/shared/status-table.js';
import type { UpstreamResponse } from '../../src/providers/shared/http.js';
import type { GenerationRequest, JsonValue, ProviderAdapter, ProviderContext, StartResult, StatusResult } from '../../src/providers/spec.js';
import type { MockContext } from '../mock-upstreams/shared/harness.js';
import { DEFAULT_WEBHOOK_SECRET, startOpenaiMock, type OpenaiMockImageCall, type OpenaiMockTask } from '../mock-upstreams/openai/server.js';
import { runConformance } from './conformance.js';

const PHASES = { queuedMs: 20, runningMs: 40 };
/**
 * Family tests move the mock clock explicitly, so phases are long enough that real time never crosses them (seconds
 * of real time between two reads on a loaded machine still leave a read in the phase it expects).
 */
const SLOW_PHASES = { queuedMs: 5_000, runningMs: 5_000 };

runConformance({
  name: 'openai images',
  adapter: createOpenAIAdapter,
  startMock: () => startOpenaiMock(PHASES),
  basePath: '/v1',
  request: { kind: 'image', model: 'gpt-image-2', size: '1024x1024', quality: 'low', n: 1, references: [] },
  upstreamModel: 'gpt-image-1',
  moderationInputAtSubmit: true,
  supportsModerationOutput: true,
  supportsExpire: false,
  supportsTaskNotFound: false,
});

runConformance({
  name: 'openai sora',
  adapter: createOpenAIAdapter,
  startMock: () => startOpenaiMock(PHASES),
  basePath: '/v1',
  request: { kind: 'video', model: 'sora-2', seconds: 4, ratio: '16:9', resolution: '720p', references: [] },
  upstreamModel: 'sora-2',
  moderationInputAtSubmit: true,
  supportsModerationOutput: true,
  // Sora's expiry is `expires_at` passing before the binary was copied: `/content` answers 404.
  supportsExpire: true,
});

type Mock = Awaited<ReturnType<typeof startOpenaiMock>>;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

let sequence = 0;
async function setup(options: Parameters<typeof startOpenaiMock>[0] = {}, settings: Record<string, unknown> = {}) {
  const mock: Mock = await startOpenaiMock({ ...SLOW_PHASES, ...options });
  cleanups.push(() => mock.close());
  const adapter = createOpenAIAdapter(settings);
  const context: ProviderContext = { clock: new ManualClock(), upstreamModel: 'gpt-image-1', baseUrl: `${mock.baseUrl}/v1`, credential: 'mock-key', settings, attempt: 1 };
  return { mock, adapter, context, control: mock.control };
}

function imageRequest(prompt: string, extra: Partial<GenerationRequest> = {}): GenerationRequest {
  sequence += 1;
  return { taskId: `task_openai_img${sequence}`, kind: 'image', model: 'gpt-image-2', prompt, size: '1024x1024', quality: 'low', n: 1, references: [], ...extra };
}

function videoRequest(prompt: string, extra: Partial<GenerationRequest> = {}): GenerationRequest {
  sequence += 1;
  return { taskId: `task_openai_vid${sequence}`, kind: 'video', model: 'sora-2', prompt, seconds: 4, ratio: '16:9', resolution: '720p', references: [], ...extra };
}

const video = (context: ProviderContext): ProviderContext => ({ ...context, upstreamModel: 'sora-2' });

function accepted(started: StartResult) {
  if (started.outcome !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(started)}`);
  return started;
}

/** Polls with the mock clock moving 1 s per read, keeping every replacement operation. */
async function poll(adapter: ProviderAdapter, context: ProviderContext, control: MockContext, operation: JsonValue, seen: string[] = []): Promise<StatusResult> {
  let current = operation;
  for (let step = 0; step < 40; step += 1) {
    const status = await adapter.status(current, context);
    seen.push(status.status);
    if (status.operation !== undefined) current = status.operation;
    if (status.status !== 'queued' && status.status !== 'running') return status;
    control.offsetMs += 1_000;
  }
  throw new Error('never finished');
}

function imageCall(control: MockContext, taskId: string): OpenaiMockImageCall {
  const call = [...control.tasks.values()].find((task) => task.kind === 'image' && task.idempotencyKey === taskId);
  if (!call) throw new Error('no recorded image call');
  return call;
}

async function post(mock: Mock, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${mock.baseUrl}${path}`, { method: 'POST', headers: { authorization: 'Bearer mock-key', 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('openai images (gpt-image, synchronous)', () => {
  it('sends JSON without response_format (quirk 14) and the Idempotency-Key; returns PNG bytes and token facts', async () => {
    const { adapter, context, control } = await setup();
    const request = imageRequest('a red kite over dunes');
    const started = accepted(await adapter.start(request, context));
    const call = imageCall(control, request.taskId);
    expect(call.endpoint).toBe('generations');
    expect(call.contentType).toContain('application/json');
    expect(call.fields).toEqual({ model: 'gpt-image-1', prompt: 'a red kite over dunes', n: 1, size: '1024x1024', quality: 'low' });
    expect(control.stats.creates[request.taskId]).toBe(1);
    const completed = started.completed!;
    expect(completed.status).toBe('succeeded');
    expect(sniffContentType(completed.outputs![0]!.bytes!)).toBe('image/png');
    expect(completed.outputs![0]).toMatchObject({ contentType: 'image/png', width: 256, height: 256 });
    expect(completed.usage).toMatchObject({ billable: true, image_count: 1, image_size: '1024x1024', image_quality: 'low', tokens_out: 272 });
    expect((completed.usage as unknown as Record<string, unknown>).tokens_in_text).toBeGreaterThan(0);
  });

  it('keeps the operation small and free of base64, credential and host; status() repeats the final answer', async () => {
    const { adapter, context, mock } = await setup();
    const started = accepted(await adapter.start(imageRequest('tiny'), context));
    const json = JSON.stringify(started.operation);
    expect(json.length).toBeLessThan(600);
    for (const secret of ['mock-key', '127.0.0.1', new URL(mock.baseUrl).host, 'b64', 'iVBOR']) expect(json).not.toContain(secret);
    expect(await adapter.status(started.operation, context)).toEqual(started.completed);
    // Another process (or a restart) no longer holds the bytes: success without outputs, nothing billable.
    const other = await createOpenAIAdapter({}).status(started.operation, context);
    expect(other).toMatchObject({ status: 'succeeded', outputs: [], usage: { billable: false, image_count: 1 } });
  });

  it('maps unsupported sizes to the closest accepted aspect and bills the echoed size', async () => {
    const { adapter, context, control } = await setup();
    const request = imageRequest('wide', { size: '1280x720', quality: 'high' });
    const started = accepted(await adapter.start(request, context));
    expect(imageCall(control, request.taskId).fields.size).toBe('1536x1024');
    expect(started.completed!.usage).toMatchObject({ image_size: '1536x1024', image_quality: 'high', tokens_out: 6240 });
  });

  it('asks dall-e for b64_json explicitly (it defaults to 60-minute URLs)', async () => {
    const { adapter, context, control } = await setup();
    const request = imageRequest('retro poster', { size: '1024x1024', quality: 'standard' });
    const started = accepted(await adapter.start(request, { ...context, upstreamModel: 'dall-e-3' }));
    expect(imageCall(control, request.taskId).fields).toMatchObject({ model: 'dall-e-3', response_format: 'b64_json' });
    expect(started.completed!.outputs![0]!.bytes).toBeInstanceOf(Buffer);
  });

  it('reference images go to /images/edits as multipart files (quirk 24)', async () => {
    const { adapter, context, control } = await setup();
    const reference = { type: 'image' as const, role: 'reference', bytes: makePng('ref', { width: 32, height: 32 }), contentType: 'image/png' };
    const request = imageRequest('make it blue', { references: [reference, { ...reference, bytes: makePng('ref2', { width: 16, height: 16 }) }] });
    const started = accepted(await adapter.start(request, context));
    const call = imageCall(control, request.taskId);
    expect(call.endpoint).toBe('edits');
    expect(call.contentType).toContain('multipart/form-data');
    expect(call.images.map((image) => [image.field, image.type])).toEqual([['image[]', 'image/png'], ['image[]', 'image/png']]);
    expect(call.fields).toMatchObject({ model: 'gpt-image-1', prompt: 'make it blue', n: '1' });
    expect(started.completed!.usage).toMatchObject({ billable: true, tokens_in_image: 646 });
  });

  it('output moderation is an accepted create that failed; moderation_output_once passes on resubmission', async () => {
    const { adapter, context } = await setup();
    const prompt = 'storm [[scenario:moderation_output_once]]';
    const first = accepted(await adapter.start(imageRequest(prompt), context));
    expect(first.completed).toMatchObject({ status: 'failed', error: { class: 'moderation_output' }, usage: { billable: false } });
    expect(await adapter.status(first.operation, context)).toEqual(first.completed);
    const second = accepted(await adapter.start(imageRequest(prompt), context));
    expect(second.completed?.status).toBe('succeeded');
  });

  it('an empty 200 is an unknown outcome although the mock counted the create', async () => {
    const { adapter, context, control } = await setup();
    const request = imageRequest('x [[scenario:empty_200]]');
    expect(await adapter.start(request, context)).toMatchObject({ outcome: 'unknown', error: { class: 'network' } });
    expect(control.stats.creates[request.taskId]).toBe(1);
  });

  it('overloaded (503) is unknown; 404 model_not_found is not_found', async () => {
    const { adapter, context } = await setup();
    expect(await adapter.start(imageRequest('x [[scenario:overloaded]]'), context)).toMatchObject({ outcome: 'unknown', error: { class: 'upstream_error' } });
    expect(await adapter.start(imageRequest('x'), { ...context, upstreamModel: 'gpt-image-9' })).toMatchObject({ outcome: 'rejected', error: { class: 'not_found' } });
  });

  it('rejects response_format for gpt-image and validates fields like the real API', async () => {
    const { mock } = await setup();
    const cases: Array<[Record<string, unknown>, string, string | null]> = [
      [{ model: 'gpt-image-1', prompt: 'x', response_format: 'url' }, 'unknown_parameter', 'response_format'],
      [{ model: 'gpt-image-1', prompt: 'x', size: '1792x1024' }, 'invalid_value', 'size'],
      [{ model: 'gpt-image-1', prompt: 'x', n: 11 }, 'integer_out_of_range', 'n'],
      [{ model: 'gpt-image-1', prompt: 'x', background: 'transparent', output_format: 'jpeg' }, 'invalid_value', 'background'],
      [{ model: 'gpt-image-1' }, 'missing_required_parameter', 'prompt'],
    ];
    for (const [body, code, param] of cases) {
      const response = await post(mock, '/v1/images/generations', body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: unknown }).error).toMatchObject({ type: 'invalid_request_error', code, param });
    }
  });

  it('dall-e URLs live on the signed CDN and expire (url_short_ttl) → 403', async () => {
    const { mock, control } = await setup();
    // A TTL of seconds: the link's expiry is in whole seconds (floored), so a 1 s TTL could end at once.
    const response = await post(mock, '/v1/images/generations', { model: 'dall-e-3', prompt: 'x', response_format: 'url' }, { 'x-mock-scenario': 'url_short_ttl;ms=5000' });
    const { data } = (await response.json()) as { data: Array<{ url: string }> };
    const url = data[0]!.url;
    expect(url).toMatch(/\/cdn\/.+\?expires=\d+&sig=/);
    const fresh = await fetch(url);
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('content-type')).toBe('image/png');
    control.offsetMs += 7_000;
    expect((await fetch(url)).status).toBe(403);
  });
});

describe('openai errors (§4.1)', () => {
  const response = (status: number, body: unknown, headers: Record<string, string> = {}): UpstreamResponse => ({ status, headers, text: JSON.stringify(body), bytes: Buffer.alloc(0), json: body });

  it('branches the two 429s on error.code (quirk 19) and reads retry hints', () => {
    expect(classifyError(response(429, { error: { type: 'insufficient_quota', code: 'insufficient_quota', message: 'quota' } }, { 'retry-after': '3' }))).toMatchObject({ class: 'upstream_quota' });
    expect(classifyError(response(429, { error: { type: 'requests', code: 'rate_limit_exceeded', message: 'x' } }, { 'retry-after-ms': '1500' }))).toMatchObject({ class: 'rate_limited', retryAfterSeconds: 2 });
    expect(classifyError(response(429, { error: { type: 'tokens', code: 'rate_limit_exceeded', message: 'Please try again in 1.2s.' } }))).toMatchObject({ retryAfterSeconds: 2 });
    expect(classifyError(response(429, { error: { code: 'rate_limit_exceeded', message: 'slow down' } }, { 'x-ratelimit-reset-requests': '6m0s' }))).toMatchObject({ retryAfterSeconds: 360 });
  });

  it('maps statuses to classes', () => {
    expect(classifyError(response(403, { error: { code: 'unsupported_country_region_territory' } })).class).toBe('auth');
    expect(classifyError(response(408, {})).class).toBe('network');
    expect(classifyError(response(409, {})).class).toBe('network');
    expect(classifyError(response(503, { error: { code: 'slow_down' } })).class).toBe('upstream_error');
    expect(classifyError(response(400, { error: { type: 'invalid_request_error', code: 'invalid_type', param: 'seconds' } })).class).toBe('invalid_request');
    expect(classifyError(response(400, { error: { code: 'moderation_blocked', moderation_details: { moderation_stage: 'output' } } })).class).toBe('moderation_output');
  });

  it('strips request ids and keys from operator messages', () => {
    const message = sanitize('Incorrect API key provided: sk-proj-abc***xyz. Request id: req_123abc (see req_456def) key mock-secret', { credential: 'mock-secret' });
    expect(message).not.toMatch(/req_|abc\*\*\*xyz|mock-secret/);
    expect(message).toContain('sk-***');
  });

  it('keeps the masked key of a real 401 out of the error', async () => {
    const { adapter, context } = await setup();
    const started = await adapter.start(imageRequest('x [[scenario:unauthorized]]'), context);
    expect(started).toMatchObject({ outcome: 'rejected', error: { class: 'auth' } });
    if (started.outcome !== 'accepted') expect(started.error.message).not.toContain('mock***');
  });

  it('answers carry x-request-id, openai-version and x-ratelimit headers, errors included', async () => {
    const { mock } = await setup();
    for (const [body, header] of [[{ model: 'gpt-image-1', prompt: 'x' }, undefined], [{ model: 'gpt-image-1', prompt: 'x' }, 'rate_limited;retry_after=4']] as const) {
      const answer = await post(mock, '/v1/images/generations', body, header ? { 'x-mock-scenario': header } : {});
      expect(answer.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
      expect(answer.headers.get('openai-version')).toBe('2020-10-01');
      expect(answer.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?(ms|s)$|^\d+m\d+s$/);
      if (header) expect(answer.headers.get('retry-after')).toBe('4');
    }
  });
});

describe('openai sora video', () => {
  it('sends multipart with string seconds (quirk 3), the mapped size and the Idempotency-Key', async () => {
    const { adapter, context, control } = await setup();
    const request = videoRequest('a fox in snow');
    const started = accepted(await adapter.start(request, video(context)));
    const task = control.tasks.get(started.providerTaskId) as OpenaiMockTask;
    expect(task.idempotencyKey).toBe(request.taskId);
    expect(task.request).toEqual({ contentType: 'multipart', fields: { prompt: 'a fox in snow', model: 'sora-2', seconds: '4', size: '1280x720' }, inputReference: null });
    expect(started.providerTaskId).toMatch(/^video_[0-9a-f]{32}$/);
    expect(JSON.stringify(started.operation)).not.toMatch(/mock-key|127\.0\.0\.1|Bearer/);
  });

  it('moves queued → running (progress) → succeeded with the downloaded MP4 and returned-duration facts', async () => {
    const { adapter, context, control } = await setup();
    const started = accepted(await adapter.start(videoRequest('waves', { seconds: 8, ratio: '9:16' }), video(context)));
    const seen: string[] = [];
    const final = await poll(adapter, video(context), control, started.operation, seen);
    expect(seen[0]).toBe('queued');
    expect(seen).toContain('running');
    expect(final.status).toBe('succeeded');
    const output = final.outputs![0]!;
    expect(output).toMatchObject({ contentType: 'video/mp4', width: 720, height: 1280, durationSeconds: 8 });
    expect(output.bytes!.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(final.usage).toMatchObject({ billable: true, video_seconds: 8, video_resolution: '720p', video_size: '720x1280', video_model: 'sora-2' });
  });

  it('never moves backwards: a queued read after running was seen stays running', async () => {
    const { adapter, context } = await setup();
    const started = accepted(await adapter.start(videoRequest('x [[scenario:slow_queue;ms=60000]]'), video(context)));
    const status = await adapter.status({ ...(started.operation as object), seen: 'running', progress: 40 } as JsonValue, video(context));
    expect(status).toMatchObject({ status: 'running', progress: 40 });
  });

  it('understands status synonyms (pending/processing/succeeded) and treats unknown ones as running', async () => {
    const { adapter, context, control, mock } = await setup();
    const started = accepted(await adapter.start(videoRequest('x [[scenario:status_synonyms]]'), video(context)));
    const raw = (await (await fetch(`${mock.baseUrl}/v1/videos/${started.providerTaskId}`, { headers: { authorization: 'Bearer mock-key' } })).json()) as { status: string };
    expect(raw.status).toBe('pending');
    const seen: string[] = [];
    expect((await poll(adapter, video(context), control, started.operation, seen)).status).toBe('succeeded');
    expect(seen).toContain('running');
    expect(readStatus(OPENAI_STATUSES, 'in-progress')).toEqual({ status: 'running', known: true });
    expect(readStatus(OPENAI_STATUSES, 'CANCELED')).toEqual({ status: 'cancelled', known: true });
    expect(readStatus(OPENAI_STATUSES, 'warming_up')).toEqual({ status: 'running', known: false });
  });

  it('a content download after expires_at (url_short_ttl) → expired, not billed', async () => {
    const { adapter, context, control } = await setup();
    const started = accepted(await adapter.start(videoRequest('x [[scenario:url_short_ttl;ms=500]]'), video(context)));
    control.offsetMs += 11_000;
    expect(await adapter.status(started.operation, video(context))).toMatchObject({ status: 'expired', usage: { billable: false } });
  });

  it('not_found on query → failed not_found; a 5xx read is transient (throws) and the next read works', async () => {
    const { adapter, context, control } = await setup();
    const lost = accepted(await adapter.start(videoRequest('x [[scenario:not_found]]'), video(context)));
    expect(await adapter.status(lost.operation, video(context))).toMatchObject({ status: 'failed', error: { class: 'not_found', kind: 'task_not_found' }, usage: { billable: false } });
    const started = accepted(await adapter.start(videoRequest('fine [[scenario:slow_queue;ms=60000]]'), video(context)));
    control.queueScenario('get', 'server_error', 1);
    await expect(adapter.status(started.operation, video(context))).rejects.toThrow(/server_error/);
    expect((await adapter.status(started.operation, video(context))).status).toBe('queued');
  });

  it('output moderation arrives as a failed video with error → moderation_output', async () => {
    const { adapter, context, control } = await setup();
    const started = accepted(await adapter.start(videoRequest('x [[scenario:moderation_output]]'), video(context)));
    const final = await poll(adapter, video(context), control, started.operation);
    expect(final).toMatchObject({ status: 'failed', error: { class: 'moderation_output' }, usage: { billable: false } });
    expect(final.error!.message).toContain('moderation_blocked');
  });

  it('input_reference is a file upload whose size must match; mismatches are invalid_request', async () => {
    const { adapter, context, control } = await setup();
    const bytes = makePng('ref', { width: 64, height: 36 });
    // The fixture generator caps sides at 1024 px; the mock reads only IHDR, so patch it to 1280x720.
    const matching = Buffer.from(bytes);
    matching.writeUInt32BE(1280, 16);
    matching.writeUInt32BE(720, 20);
    const request = videoRequest('from this frame', { references: [{ type: 'image', role: 'first_frame', bytes: matching, contentType: 'image/png' }] });
    const started = accepted(await adapter.start(request, video(context)));
    expect((control.tasks.get(started.providerTaskId) as OpenaiMockTask).request.inputReference).toEqual({ filename: 'reference.png', type: 'image/png', bytes: matching.length });
    const wrong = await adapter.start(videoRequest('y', { references: [{ type: 'image', role: 'first_frame', bytes, contentType: 'image/png' }] }), video(context));
    expect(wrong).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
  });

  it('validates durations and sizes locally, before any upstream call', async () => {
    const { adapter, context, control } = await setup();
    expect(await adapter.start(videoRequest('x', { seconds: 5 }), video(context))).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    expect(await adapter.start(videoRequest('x', { resolution: '1080p' }), video(context))).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    expect(await adapter.start(videoRequest('x', { references: [{ type: 'video', role: 'x', bytes: Buffer.from('v'), contentType: 'video/mp4' }] }), video(context))).toMatchObject({ outcome: 'rejected' });
    expect(control.stats.requests.create).toBeUndefined();
  });

  it('the mock enforces string seconds, file-only input_reference and per-model sizes', async () => {
    const { mock } = await setup();
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ prompt: 'x', seconds: 8 }, 'invalid_type', 'seconds'],
      [{ prompt: 'x', seconds: '5' }, 'invalid_value', 'seconds'],
      [{ prompt: 'x', input_reference: 'https://example.com/a.png' }, 'invalid_type', 'input_reference'],
      [{ prompt: 'x', model: 'sora-2', size: '1792x1024' }, 'invalid_value', 'size'],
      [{ prompt: 'x', n: 2 }, 'unknown_parameter', 'n'],
    ];
    for (const [body, code, param] of cases) {
      const response = await post(mock, '/v1/videos', body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: unknown }).error).toMatchObject({ code, param });
    }
  });

  it('empty 200 on create: the video exists and is counted, the outcome is unknown', async () => {
    const { adapter, context, control } = await setup();
    const request = videoRequest('x [[scenario:empty_200]]');
    expect(await adapter.start(request, video(context))).toMatchObject({ outcome: 'unknown', error: { class: 'network' } });
    expect(control.stats.creates[request.taskId]).toBe(1);
    expect([...control.tasks.values()].filter((task) => task.kind === 'video')).toHaveLength(1);
  });

  it('has no cancel; /content is binary only once completed; DELETE removes finished videos only', async () => {
    const { adapter, context, control, mock } = await setup();
    expect(adapter.capabilities.cancel).toBe(false);
    expect(adapter.cancel).toBeUndefined();
    const started = accepted(await adapter.start(videoRequest('x'), video(context)));
    const auth = { authorization: 'Bearer mock-key' };
    const early = await fetch(`${mock.baseUrl}/v1/videos/${started.providerTaskId}/content`, { headers: auth });
    expect(early.status).toBe(400);
    expect((await fetch(`${mock.baseUrl}/v1/videos/${started.providerTaskId}`, { method: 'DELETE', headers: auth })).status).toBe(400);
    control.offsetMs += 10_000;
    const content = await fetch(`${mock.baseUrl}/v1/videos/${started.providerTaskId}/content?variant=video`, { headers: auth });
    expect(content.headers.get('content-type')).toBe('video/mp4');
    expect(content.headers.get('x-request-id')).toMatch(/^req_/);
    const deleted = await fetch(`${mock.baseUrl}/v1/videos/${started.providerTaskId}`, { method: 'DELETE', headers: auth });
    expect((await deleted.json()) as unknown).toEqual({ id: started.providerTaskId, object: 'video.deleted', deleted: true });
    expect((await adapter.status(started.operation, video(context))).error?.class).toBe('not_found');
  });

  it('is driven by the official openai SDK (multipart create, retrieve, list, content, typed errors)', async () => {
    const { mock, control } = await setup();
    const client = new OpenAI({ apiKey: 'mock-key', baseURL: `${mock.baseUrl}/v1`, maxRetries: 0 });
    const created = await client.videos.create({ model: 'sora-2', prompt: 'sdk', seconds: '8', size: '1280x720' });
    expect(created).toMatchObject({ object: 'video', status: 'queued', seconds: '8' });
    control.offsetMs += 10_000;
    expect((await client.videos.retrieve(created.id)).status).toBe('completed');
    expect((await client.videos.list()).data.map((item) => item.id)).toContain(created.id);
    const content = await client.videos.downloadContent(created.id);
    expect(Buffer.from(await content.arrayBuffer()).subarray(4, 8).toString('latin1')).toBe('ftyp');
    const image = await client.images.generate({ model: 'gpt-image-1', prompt: 'sdk image' });
    expect(image.data?.[0]?.b64_json).toBeTruthy();
    const failure = await client.images.generate({ model: 'gpt-image-1', prompt: 'x [[scenario:quota_exhausted]]' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.RateLimitError);
    expect((failure as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('insufficient_quota');
  });
});

describe('openai project webhooks (optional accelerator)', () => {
  it('delivers signed video.completed events, twice under callback_duplicate; parseCallback names the video each time', async () => {
    const received: Array<{ body: string; headers: IncomingHttpHeaders }> = [];
    const receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: request.headers });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => receiver.close(() => resolve())));
    const address = receiver.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const { adapter, context } = await setup({ ...PHASES, webhookUrl: `http://127.0.0.1:${port}/hooks/openai` });
    const started = accepted(await adapter.start(videoRequest('x [[scenario:callback_duplicate]]'), video(context)));
    // Waits up to 10 s of real time (only a failure waits that long).
    for (const deadline = Date.now() + 10_000; received.length < 2 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toHaveLength(2);
    const verifier = new Webhook(DEFAULT_WEBHOOK_SECRET);
    for (const delivery of received) {
      const event = verifier.verify(delivery.body, delivery.headers as Record<string, string>) as { type: string };
      expect(event.type).toBe('video.completed');
      expect(adapter.parseCallback!(JSON.parse(delivery.body), delivery.headers)).toEqual({ providerTaskId: started.providerTaskId });
    }
    expect(received[0]!.headers['webhook-id']).toBe(received[1]!.headers['webhook-id']);
    expect(adapter.parseCallback!({ type: 'response.completed', data: { id: 'resp_1' } }, {})).toBeNull();
    expect(adapter.parseCallback!('nonsense', {})).toBeNull();
  });
});
