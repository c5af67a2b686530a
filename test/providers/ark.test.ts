import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import type { ArkVideoOperation } from '../../src/providers/ark/ark-api-types.js';
import { classifyCode } from '../../src/providers/ark/ark-errors.js';
import { ARK_STATUSES } from '../../src/providers/ark/ark-status.js';
import { returnedSeconds } from '../../src/providers/ark/ark-video-result.js';
import { createArkAdapter } from '../../src/providers/ark/index.js';
import { makePng } from '../../src/providers/sandbox/media.js';
import { sniffContentType } from '../../src/providers/shared/media-sniff.js';
import { sanitize } from '../../src/providers/shared/sanitize.js';
import { forward, readStatus } from '../../src/providers/shared/status-table.js';
import { taskNotFound } from '../../src/providers/shared/task-not-found.js';
import type { GenerationRequest, ProviderAdapter, ProviderContext, ReferenceInput, StartResult, StatusResult } from '../../src/providers/spec.js';
import type { MockContext, MockOptions } from '../mock-upstreams/shared/harness.js';
import { startArkMock, type ArkMockSettings } from '../mock-upstreams/ark/server.js';
import { runConformance } from './conformance.js';

const BASE = '/api/v3';
const VIDEO_MODEL = 'dreamina-seedance-2-0-260128';
const IMAGE_MODEL = 'seedream-4-0-250828';

runConformance({
  name: 'ark (Seedance video)',
  adapter: createArkAdapter,
  startMock: () => startArkMock(),
  basePath: BASE,
  request: { kind: 'video', model: 'seedance-2.0', seconds: 5, ratio: '16:9', resolution: '720p', generate_audio: true, references: [] },
  upstreamModel: VIDEO_MODEL,
  moderationInputAtSubmit: true,
  supportsModerationOutput: true,
  supportsExpire: true,
});

runConformance({
  name: 'ark (Seedream image)',
  adapter: createArkAdapter,
  startMock: () => startArkMock(),
  basePath: BASE,
  request: { kind: 'image', model: 'seedream-4.0', size: '2048x2048', n: 1, references: [] },
  upstreamModel: IMAGE_MODEL,
  moderationInputAtSubmit: true,
  supportsModerationOutput: true,
  supportsExpire: false,
  supportsTaskNotFound: false,
});

interface Harness {
  adapter: ProviderAdapter;
  context: ProviderContext;
  mock: MockContext;
  baseUrl: string;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(options: MockOptions & ArkMockSettings = {}, overrides: Partial<ProviderContext> = {}): Promise<Harness> {
  // Phases of 5 s of mock time: tests move `offsetMs`, so real time spent in HTTP calls (seconds on a loaded machine)
  // never flips a phase.
  const running = await startArkMock({ queuedMs: 5_000, runningMs: 5_000, ...options });
  cleanups.push(running.close);
  const settings = overrides.settings ?? {};
  return {
    adapter: createArkAdapter(settings),
    context: { clock: new ManualClock(), upstreamModel: VIDEO_MODEL, baseUrl: `${running.baseUrl}${BASE}`, credential: 'mock-key', settings, attempt: 1, ...overrides },
    mock: running.control,
    baseUrl: running.baseUrl,
  };
}

let sequence = 0;
function video(prompt: string, extra: Partial<GenerationRequest> = {}): GenerationRequest {
  sequence += 1;
  return { taskId: `task_ark${sequence}`, kind: 'video', model: 'seedance-2.0', prompt, seconds: 5, ratio: '16:9', resolution: '720p', generate_audio: true, references: [], ...extra };
}
function image(prompt: string, extra: Partial<GenerationRequest> = {}): GenerationRequest {
  return video(prompt, { kind: 'image', model: 'seedream-4.0', size: '2048x2048', n: 1, seconds: undefined, ratio: undefined, resolution: undefined, generate_audio: undefined, ...extra });
}
function png(role: string, url?: string): ReferenceInput {
  return { type: 'image', role, bytes: makePng(role, { width: 8, height: 8 }), contentType: 'image/png', ...(url ? { url } : {}) };
}

function accepted(started: StartResult) {
  if (started.outcome !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(started)}`);
  return started;
}

async function settle(h: Harness, started: StartResult): Promise<StatusResult> {
  const { completed } = accepted(started);
  if (completed) return completed;
  let operation = accepted(started).operation;
  for (let step = 0; step < 80; step += 1) {
    const status = await h.adapter.status(operation, h.context);
    if (status.operation !== undefined) operation = status.operation;
    if (!['queued', 'running'].includes(status.status)) return status;
    h.mock.offsetMs += 500;
  }
  throw new Error('never finished');
}

async function call(h: Harness, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${h.baseUrl}${path}`, {
    method,
    headers: { authorization: 'Bearer mock-key', 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text && text.startsWith('{') ? JSON.parse(text) : undefined };
}

const taskOf = (h: Harness, id: string) => h.mock.tasks.get(id);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ark: requests the adapter sends', () => {
  it.each([VIDEO_MODEL, 'doubao-seedance-2-0-260128'])('video create for %s: model as is, body fields only, explicit watermark/audio, Idempotency-Key', async (model) => {
    const h = await setup({}, { upstreamModel: model, callbackUrl: 'http://127.0.0.1:9/hooks/ark/tok123' });
    const request = video('a red kite');
    const started = accepted(await h.adapter.start(request, h.context));
    const task = taskOf(h, started.providerTaskId);
    expect(started.providerTaskId).toMatch(/^cgt-\d{14}-[0-9a-f]{5}$/);
    expect(task.request).toEqual({
      model, content: [{ type: 'text', text: 'a red kite' }], resolution: '720p', ratio: '16:9', duration: 5,
      watermark: false, generate_audio: true, callback_url: 'http://127.0.0.1:9/hooks/ark/tok123',
    });
    expect(task.idempotencyKey).toBe(request.taskId);
    expect(h.mock.stats.creates).toEqual({ [request.taskId]: 1 });
  });

  it('frame references become image_url items with roles; inline bytes travel as data URIs', async () => {
    const h = await setup();
    const started = accepted(await h.adapter.start(video('', { references: [png('first_frame'), png('last_frame', 'https://files.example/last.png')], generate_audio: false }), h.context));
    const { content, generate_audio } = taskOf(h, started.providerTaskId).request;
    expect(generate_audio).toBe(false);
    expect(content).toHaveLength(2);
    expect(content[0]).toMatchObject({ type: 'image_url', role: 'first_frame' });
    expect(content[0].image_url.url).toMatch(/^data:image\/png;base64,iVBOR/);
    expect(content[1]).toEqual({ type: 'image_url', image_url: { url: 'https://files.example/last.png' }, role: 'last_frame' });
  });

  it.each([
    ['first frame mixed with a reference image', [png('first_frame'), png('reference_image')]],
    ['a last frame without a first frame', [png('last_frame')]],
    ['a reference video without a URL (no base64 video)', [{ type: 'video', role: 'reference_video', bytes: Buffer.from('x'), contentType: 'video/mp4' }]],
    ['reference audio alone', [{ type: 'audio', role: 'reference_audio', bytes: Buffer.from('x'), contentType: 'audio/wav', url: 'https://a.example/a.wav' }]],
  ] as Array<[string, ReferenceInput[]]>)('refuses %s locally (quirk 18), without calling Ark', async (_, references) => {
    const h = await setup();
    const started = await h.adapter.start(video('x', { references }), h.context);
    expect(started).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    expect(h.mock.stats.requests.create).toBeUndefined();
  });

  it('no credential → rejected auth before anything is sent', async () => {
    const h = await setup();
    const { credential: _, ...context } = h.context;
    expect(await h.adapter.start(video('x'), context)).toMatchObject({ outcome: 'rejected', error: { class: 'auth' } });
    expect(await h.adapter.start(image('x'), context)).toMatchObject({ outcome: 'rejected', error: { class: 'auth' } });
    expect(h.mock.stats.requests).toEqual({});
  });

  it('operations carry no credential, no upstream host and no base64 (video and image)', async () => {
    const h = await setup();
    const host = new URL(h.baseUrl).host;
    for (const request of [video('x'), image('x', { references: [png('reference_image')] })]) {
      const context = { ...h.context, upstreamModel: request.kind === 'video' ? VIDEO_MODEL : IMAGE_MODEL };
      const started = accepted(await h.adapter.start(request, context));
      const text = JSON.stringify(started.operation);
      for (const forbidden of ['mock-key', host, '127.0.0.1', 'base64']) expect(text).not.toContain(forbidden);
    }
  });
});

describe('ark: the mock validates like Ark', () => {
  const text = { type: 'text', text: 'a dog' };
  const first = { type: 'image_url', image_url: { url: 'https://i.example/a.png' }, role: 'first_frame' };
  const reference = { type: 'image_url', image_url: { url: 'https://i.example/b.png' }, role: 'reference_image' };
  it.each([
    ['1080p on 2.0 fast', { model: 'dreamina-seedance-2-0-fast-260128', content: [text], resolution: '1080p' }],
    ['uppercase resolution', { model: VIDEO_MODEL, content: [text], resolution: '1080P' }],
    ['out-of-range duration', { model: VIDEO_MODEL, content: [text], duration: 20 }],
    ['mixed modes', { model: VIDEO_MODEL, content: [text, first, reference] }],
    ['base64 video', { model: VIDEO_MODEL, content: [text, { type: 'video_url', video_url: { url: 'data:video/mp4;base64,AAAA' }, role: 'reference_video' }] }],
    ['audio only', { model: VIDEO_MODEL, content: [text, { type: 'audio_url', audio_url: { url: 'https://a.example/a.wav' }, role: 'reference_audio' }] }],
    ['an unknown field', { model: VIDEO_MODEL, content: [text], fps: 30 }],
    ['frames on 2.0', { model: VIDEO_MODEL, content: [text], frames: 121 }],
    ['camera_fixed on 2.x', { model: VIDEO_MODEL, content: [text], camera_fixed: true }],
  ])('400 InvalidParameter for %s, nothing counted', async (_, body) => {
    const h = await setup();
    const answer = await call(h, 'POST', `${BASE}/contents/generations/tasks`, body);
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('InvalidParameter');
    expect(answer.json.error.message).toMatch(/Request id: 0217/);
    expect(h.mock.stats.creates).toEqual({});
  });

  it('unknown model → 404 InvalidEndpointOrModel.NotFound (adapter: not_found)', async () => {
    const h = await setup({}, { upstreamModel: 'no-such-model' });
    expect(await h.adapter.start(video('x'), h.context)).toMatchObject({ outcome: 'rejected', error: { class: 'not_found' } });
  });

  it('trailing prompt flags are a fallback for absent body fields, echoed by the query', async () => {
    const h = await setup();
    const created = await call(h, 'POST', `${BASE}/contents/generations/tasks`, { model: 'doubao-seedance-1-0-pro-250528', content: [{ type: 'text', text: 'a cat --rs 480p --rt 1:1 --dur 6' }], ratio: '4:3' });
    const task = await call(h, 'GET', `${BASE}/contents/generations/tasks/${created.json.id}`);
    expect(task.json).toMatchObject({ resolution: '480p', ratio: '4:3', duration: 6, framespersecond: 24, generate_audio: false, status: 'queued' });
  });
});

describe('ark: lifecycle, statuses and results', () => {
  it('bills the RETURNED duration and ratio (quirk 2) with the §12 facts; result on the TOS-flavoured CDN', async () => {
    const h = await setup();
    const status = await settle(h, await h.adapter.start(video('a wave', { seconds: -1, ratio: 'adaptive' }), h.context));
    expect(status.status).toBe('succeeded');
    expect(status.usage).toMatchObject({
      billable: true, video_seconds: 8, video_resolution: '720p', video_ratio: '16:9', video_size: '1280x720', video_audio: true, web_search_calls: 0,
    });
    expect((status.usage as { upstream_tokens?: number }).upstream_tokens).toBe(Math.floor((8 * 1280 * 720 * 24) / 1024));
    const [output] = status.outputs!;
    expect(output).toMatchObject({ contentType: 'video/mp4', durationSeconds: 8, width: 1280, height: 720 });
    expect(output!.url).toContain('X-Tos-Expires=86400');
    const download = await fetch(output!.url!);
    expect(download.status).toBe(200);
    expect(sniffContentType(new Uint8Array(await download.arrayBuffer()))).toBe('video/mp4');
  });

  it('reads frames without underscore in framespersecond (quirk 1)', () => {
    expect(returnedSeconds({ frames: 121, framespersecond: 24 })).toBe(5);
    expect(returnedSeconds({ duration: 7, frames: 121 })).toBe(7);
  });

  it('status_synonyms: pending/processing are queued/running', async () => {
    const h = await setup();
    const started = accepted(await h.adapter.start(video('x [[scenario:status_synonyms]]'), h.context));
    const path = `${BASE}/contents/generations/tasks/${started.providerTaskId}`;
    expect((await call(h, 'GET', path)).json.status).toBe('pending');
    expect((await h.adapter.status(started.operation, h.context)).status).toBe('queued');
    h.mock.offsetMs += 5_000;
    expect((await call(h, 'GET', path)).json.status).toBe('processing');
    expect((await h.adapter.status(started.operation, h.context)).status).toBe('running');
    expect((await settle(h, started)).status).toBe('succeeded');
  });

  it('never moves backwards; unknown statuses are non-terminal running', async () => {
    const h = await setup();
    const started = accepted(await h.adapter.start(video('x'), h.context));
    h.mock.offsetMs += 5_000;
    const running = await h.adapter.status(started.operation, h.context);
    expect(running.status).toBe('running');
    expect((running.operation as unknown as ArkVideoOperation).seen).toBe('running');
    taskOf(h, started.providerTaskId).startAt = h.mock.now() + 10_000; // the upstream now claims `queued`
    expect((await h.adapter.status(running.operation!, h.context)).status).toBe('running');
    expect(readStatus(ARK_STATUSES, 'Processing')).toEqual({ status: 'running', known: true });
    expect(readStatus(ARK_STATUSES, 'reticulating')).toEqual({ status: 'running', known: false });
    expect(forward('running', 'queued')).toBe('running');
  });

  it('moderation_output_once fails the first create and passes the resubmission (quirk 32)', async () => {
    const h = await setup();
    const first = await settle(h, await h.adapter.start(video('a duck [[scenario:moderation_output_once]]'), h.context));
    expect(first).toMatchObject({ status: 'failed', error: { class: 'moderation_output' }, usage: { billable: false } });
    expect(first.error!.message).toContain('OutputVideoSensitiveContentDetected.PolicyViolation');
    expect(first.error!.message).not.toMatch(/Request id/i);
    const second = await settle(h, await h.adapter.start(video('a duck [[scenario:moderation_output_once]]'), h.context));
    expect(second.status).toBe('succeeded');
  });

  it('not_found on query (404 ResourceNotFound) → the shared "task not found" answer; nothing to cancel', async () => {
    const h = await setup();
    const started = accepted(await h.adapter.start(video('x [[scenario:not_found]]'), h.context));
    const status = await h.adapter.status(started.operation, h.context);
    expect(status).toEqual(taskNotFound(status.error!.message));
    expect(status.error!.message).toContain('ResourceNotFound');
    expect(await h.adapter.cancel!(started.operation, h.context)).toEqual({ cancelled: false });
  });

  it('url_short_ttl: the CDN link answers 403 once expired', async () => {
    const h = await setup();
    // A TTL of seconds (the link's expiry is whole seconds, floored): the first download is surely within it.
    const status = await settle(h, await h.adapter.start(video('x [[scenario:url_short_ttl;ms=5000]]'), h.context));
    const url = status.outputs![0]!.url!;
    expect((await fetch(url)).status).toBe(200);
    h.mock.offsetMs += 7_000;
    expect((await fetch(url)).status).toBe(403);
  });

  it('concurrency cap keeps extra tasks queued; expiry after execution_expires_after (scaled)', async () => {
    // Phases (and the scaled hour) of 10 s: every read below lands 5 s inside its expected phase.
    const h = await setup({ concurrency: 1, queuedMs: 10_000, runningMs: 10_000 });
    const a = accepted(await h.adapter.start(video('a'), h.context));
    const b = accepted(await h.adapter.start(video('b'), h.context));
    const short = { ...h.context, settings: { executionExpiresAfter: 3600 } };
    const c = accepted(await h.adapter.start(video('c'), short));
    expect(taskOf(h, c.providerTaskId).request.execution_expires_after).toBe(3600);
    h.mock.offsetMs += 15_000;
    expect((await h.adapter.status(a.operation, h.context)).status).toBe('running');
    expect((await h.adapter.status(b.operation, h.context)).status).toBe('queued');
    expect((await h.adapter.status(c.operation, h.context)).status).toBe('expired');
    h.mock.offsetMs += 10_000;
    expect((await h.adapter.status(b.operation, h.context)).status).toBe('running');
  });
});

describe('ark: create errors', () => {
  it.each([
    ['overloaded', 'rejected', 'rate_limited', 'ServerOverloaded'],
    ['rate_limited;retry_after=3', 'rejected', 'rate_limited', 'RateLimitExceeded.EndpointRPMExceeded'],
    ['quota_exhausted', 'rejected', 'upstream_quota', 'AccountOverdueError'],
    ['server_error', 'unknown', 'upstream_error', 'InternalServiceError'],
  ])('[[scenario:%s]] → %s %s, message keeps the code and drops the request id', async (scenario, outcome, errorClass, code) => {
    const h = await setup();
    const started = await h.adapter.start(video(`x [[scenario:${scenario}]]`), h.context);
    expect(started).toMatchObject({ outcome, error: { class: errorClass } });
    if (started.outcome === 'accepted') throw new Error('accepted');
    expect(started.error.message).toContain(code);
    expect(started.error.message).not.toMatch(/Request id|0217/);
  });

  it('image-variant input moderation → moderation_input', async () => {
    const h = await setup();
    const started = await h.adapter.start(video('x [[scenario:moderation_input]]', { references: [png('first_frame')] }), h.context);
    expect(started).toMatchObject({ outcome: 'rejected', error: { class: 'moderation_input' } });
    if (started.outcome !== 'accepted') expect(started.error.message).toContain('InputImageSensitiveContentDetected.PrivacyInformation');
  });

  it('empty_200 on create → unknown (network), and the task WAS created and counted (quirk 10)', async () => {
    const h = await setup();
    const request = video('x [[scenario:empty_200]]');
    expect(await h.adapter.start(request, h.context)).toMatchObject({ outcome: 'unknown', error: { class: 'network' } });
    expect(h.mock.stats.creates[request.taskId]).toBe(1);
    expect([...h.mock.tasks.values()].filter((task) => task.kind === 'video')).toHaveLength(1);
  });

  it('classifies codes by code first, HTTP status second (quirk 20)', () => {
    expect(classifyCode('QuotaExceeded', 429)).toBe('upstream_quota');
    expect(classifyCode('ModelLoadingError', 429)).toBe('rate_limited');
    expect(classifyCode('ModelAccountTpmRateLimitExceeded', 429)).toBe('rate_limited');
    expect(classifyCode('AccessDenied', 403)).toBe('auth');
    expect(classifyCode('ModelNotOpen', 400)).toBe('auth');
    expect(classifyCode('AccountOverdueError', 403)).toBe('upstream_quota');
    expect(classifyCode('UnsupportedModel', 404)).toBe('not_found');
    expect(classifyCode('InputTextSensitiveContentDetected.PolicyViolation', 400)).toBe('moderation_input');
    expect(classifyCode('OutputImageRiskDetection', 200)).toBe('moderation_output');
    expect(classifyCode(undefined, 418)).toBe('invalid_request');
    expect(sanitize('The request failed. Request id: 0217abc-def')).toBe('The request failed.');
  });
});

describe('ark: cancel (quirk 16)', () => {
  it('DELETE only while queued; running and succeeded tasks are read, never deleted', async () => {
    const h = await setup();
    const queued = accepted(await h.adapter.start(video('x [[scenario:slow_queue;ms=10000]]'), h.context));
    expect(await h.adapter.cancel!(queued.operation, h.context)).toEqual({ cancelled: true });
    expect((await h.adapter.status(queued.operation, h.context)).status).toBe('cancelled');
    expect(h.mock.stats.requests.cancel).toBe(1);

    const running = accepted(await h.adapter.start(video('y'), h.context));
    h.mock.offsetMs += 5_000;
    expect(await h.adapter.cancel!(running.operation, h.context)).toEqual({ cancelled: false });
    const done = await settle(h, running);
    expect(done.status).toBe('succeeded');
    expect(await h.adapter.cancel!(running.operation, h.context)).toEqual({ cancelled: false });
    expect((await h.adapter.status(running.operation, h.context)).status).toBe('succeeded');
    expect(h.mock.stats.requests.cancel).toBe(1);
  });

  it('mock: DELETE refuses a running task and deletes a terminal record (then 404)', async () => {
    const h = await setup();
    const started = accepted(await h.adapter.start(video('x'), h.context));
    const path = `${BASE}/contents/generations/tasks/${started.providerTaskId}`;
    h.mock.offsetMs += 5_000;
    expect((await call(h, 'DELETE', path)).status).toBe(400);
    h.mock.offsetMs += 5_100;
    expect((await call(h, 'DELETE', path)).status).toBe(200);
    expect((await call(h, 'GET', path)).status).toBe(404);
  });
});

describe('ark: callbacks (§2.4)', () => {
  async function receiver(failSucceeded = 0) {
    const bodies: any[] = [];
    let failures = 0;
    const server: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const fail = body.status === 'succeeded' && failures < failSucceeded;
        if (fail) failures += 1;
        else bodies.push(body);
        response.writeHead(fail ? 500 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const address = server.address();
    return { bodies, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks/ark/t0k3n` };
  }

  /** Moves mock time past every stage (250 ms a step, up to 15 s) until `until` holds; real time only bounds a failure. */
  async function drive(h: Harness, until: () => boolean) {
    for (const deadline = Date.now() + 15_000; !until() && Date.now() < deadline; ) {
      if (h.mock.offsetMs < 15_000) h.mock.offsetMs += 250;
      await sleep(10);
    }
    await sleep(50);
  }

  it('one callback per change, GET-shaped, parsed by task id', async () => {
    const hook = await receiver();
    const h = await setup({}, { callbackUrl: hook.url });
    const started = accepted(await h.adapter.start(video('x'), h.context));
    await drive(h, () => hook.bodies.some((body) => body.status === 'succeeded'));
    expect(hook.bodies.map((body) => body.status)).toEqual(['queued', 'running', 'succeeded']);
    for (const body of hook.bodies) expect(h.adapter.parseCallback!(body, {})).toEqual({ providerTaskId: started.providerTaskId });
    expect(hook.bodies[2]).toMatchObject({ id: started.providerTaskId, content: { video_url: expect.stringContaining('/cdn/') }, framespersecond: 24 });
    expect(h.adapter.parseCallback!({ hello: 'world' }, {})).toBeNull();
    expect(h.adapter.parseCallback!('cgt-1', {})).toBeNull();
  });

  it('duplicates and out-of-order deliveries are harmless: status() re-reads the task', async () => {
    const hook = await receiver();
    const h = await setup({}, { callbackUrl: hook.url });
    const started = accepted(await h.adapter.start(video('x [[scenario:callback_duplicate,callback_out_of_order]]'), h.context));
    await drive(h, () => hook.bodies.filter((body) => body.status === 'running').length >= 3);
    expect(hook.bodies.map((body) => body.status)).toEqual(['queued', 'queued', 'running', 'running', 'succeeded', 'succeeded', 'running']);
    expect(new Set(hook.bodies.map((body) => h.adapter.parseCallback!(body, {})?.providerTaskId))).toEqual(new Set([started.providerTaskId]));
    expect((await h.adapter.status(started.operation, h.context)).status).toBe('succeeded');
  });

  it('terminal callbacks are retried when the receiver fails (callback_fail)', async () => {
    const hook = await receiver(2);
    const h = await setup({ callbackRetryMs: 5 }, { callbackUrl: hook.url });
    await h.adapter.start(video('x [[scenario:callback_fail;times=2]]'), h.context);
    const terminalRecords = () => h.mock.stats.callbacks.filter((delivery) => (delivery.body as { status: string }).status === 'succeeded');
    // The receiver sees the body before the mock has read the 200 back and recorded it: wait for the record too.
    await drive(h, () => hook.bodies.some((body) => body.status === 'succeeded') && terminalRecords().length >= 3);
    const terminal = terminalRecords();
    expect(terminal.map((delivery) => delivery.status)).toEqual([500, 500, 200]);
  });
});

describe('ark: Seedream images', () => {
  it('n fans out into n creates keyed by the task id; body without n; status() repeats the final answer', async () => {
    const h = await setup({}, { upstreamModel: IMAGE_MODEL });
    const request = image('three apples', { n: 3, references: [png('reference_image', 'https://i.example/r.png')] });
    const started = accepted(await h.adapter.start(request, h.context));
    expect(h.mock.stats.creates).toEqual({ [request.taskId]: 3 });
    const bodies = [...h.mock.tasks.values()].filter((task) => task.kind === 'image').map((task) => task.request);
    expect(bodies).toHaveLength(3);
    for (const body of bodies) {
      expect(body).toEqual({ model: IMAGE_MODEL, prompt: 'three apples', response_format: 'url', watermark: false, size: '2048x2048', image: 'https://i.example/r.png' });
    }
    const completed = started.completed!;
    expect(completed).toMatchObject({ status: 'succeeded', usage: { billable: true, image_count: 3, image_size: '2048x2048', input_image_count: 1 } });
    expect(completed.outputs).toHaveLength(3);
    expect(await h.adapter.status(started.operation, h.context)).toEqual(completed);
    const download = await fetch(completed.outputs![0]!.url!);
    expect(sniffContentType(new Uint8Array(await download.arrayBuffer()))).toBe('image/png');
  });

  it('per-item failures are a partial success: only produced images are billed (quirk 7)', async () => {
    const h = await setup({}, { upstreamModel: IMAGE_MODEL });
    const started = accepted(await h.adapter.start(image('pears [[scenario:moderation_output_once]]', { n: 2 }), h.context));
    expect(started.completed).toMatchObject({ status: 'succeeded', usage: { billable: true, image_count: 1 } });
    expect(started.completed!.outputs).toHaveLength(1);
    const set = await call(h, 'POST', `${BASE}/images/generations`, {
      model: IMAGE_MODEL, prompt: 'a set [[scenario:moderation_output]]', sequential_image_generation: 'auto', sequential_image_generation_options: { max_images: 3 },
    });
    expect(set.json.data.map((item: any) => (item.url ? 'url' : item.error.code))).toEqual(['url', 'url', 'OutputImageSensitiveContentDetected']);
    expect(set.json.usage).toEqual({ generated_images: 2, output_tokens: (2 * 2048 * 2048) / 256, total_tokens: (2 * 2048 * 2048) / 256 });
  });

  it('size tiers are re-cased per model from settings (quirk 9)', async () => {
    const h = await setup({}, { upstreamModel: 'seedream-5-0-260128' });
    expect(await h.adapter.start(image('x', { size: '2K' }), h.context)).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    const lower = { ...h.context, settings: { imageSizeCase: 'lower' } };
    const started = accepted(await h.adapter.start(image('x', { size: '2K' }), lower));
    expect(started.completed?.status).toBe('succeeded');
    expect([...h.mock.tasks.values()].find((task) => task.kind === 'image').request.size).toBe('2k');
  });

  it('mock: no n, SSE events with stream:true, empty_200 counted', async () => {
    const h = await setup();
    expect((await call(h, 'POST', `${BASE}/images/generations`, { model: IMAGE_MODEL, prompt: 'x', n: 2 })).json.error.code).toBe('InvalidParameter');
    const streamed = await call(h, 'POST', `${BASE}/images/generations`, { model: IMAGE_MODEL, prompt: 'x', stream: true });
    expect(streamed.headers.get('content-type')).toBe('text/event-stream');
    expect(streamed.text).toContain('image_generation.partial_succeeded');
    expect(streamed.text).toContain('image_generation.completed');
    const empty = await call(h, 'POST', `${BASE}/images/generations`, { model: IMAGE_MODEL, prompt: 'x' }, { 'x-mock-scenario': 'empty_200', 'idempotency-key': 'k1' });
    expect([empty.status, empty.text]).toEqual([200, '']);
    expect(h.mock.stats.creates.k1).toBe(1);
  });
});

describe('ark: mock list endpoint', () => {
  it('filters by status and ids, and enforces 1 QPS', async () => {
    const h = await setup();
    const a = accepted(await h.adapter.start(video('a'), h.context));
    accepted(await h.adapter.start(video('b [[scenario:slow_queue;ms=100000]]'), h.context));
    h.mock.offsetMs += 5_000;
    const running = await call(h, 'GET', `${BASE}/contents/generations/tasks?page_num=1&page_size=20&filter.status=running`);
    expect(running.json.items.map((item: any) => item.id)).toEqual([a.providerTaskId]);
    // The 1 QPS window is a second of mock time: held back a minute, the next call is within it however long real
    // time the first one took; then a second past it.
    h.mock.offsetMs -= 60_000;
    expect((await call(h, 'GET', `${BASE}/contents/generations/tasks`)).status).toBe(429);
    h.mock.offsetMs += 61_000;
    const byId = await call(h, 'GET', `${BASE}/contents/generations/tasks?filter.task_ids=${a.providerTaskId}&filter.task_ids=cgt-x`);
    expect(byId.json.total).toBe(1);
  });
});
