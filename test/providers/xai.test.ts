import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { createXaiAdapter } from '../../src/providers/xai/index.js';
import type { XaiVideoOperation } from '../../src/providers/xai/xai-operation.js';
import { mapVideoStatus } from '../../src/providers/xai/xai-video-status.js';
import { sniffContentType } from '../../src/providers/shared/media-sniff.js';
import type { GenerationRequest, ProviderAdapter, ProviderContext, StartResult, StatusResult } from '../../src/providers/spec.js';
import type { MockContext } from '../mock-upstreams/shared/harness.js';
import { startXaiMock } from '../mock-upstreams/xai/server.js';
import { runConformance } from './conformance.js';

/** PROVIDERS §3 (xAI Grok Imagine): conformance for video and image, then the family's own quirks. */
const PHASES = { queuedMs: 20, runningMs: 40 };

runConformance({
  name: 'xai video',
  adapter: createXaiAdapter,
  startMock: () => startXaiMock(PHASES),
  basePath: '/v1',
  request: { kind: 'video', model: 'grok-imagine-video', seconds: 5, ratio: '16:9', resolution: '480p', references: [] },
  upstreamModel: 'grok-imagine-video',
  moderationInputAtSubmit: true,
  supportsModerationOutput: true,
  supportsExpire: true,
});

runConformance({
  name: 'xai image',
  adapter: createXaiAdapter,
  startMock: () => startXaiMock(PHASES),
  basePath: '/v1',
  request: { kind: 'image', model: 'grok-imagine-image', n: 2, ratio: '1:1', resolution: '1k', references: [] },
  upstreamModel: 'grok-imagine-image',
  moderationInputAtSubmit: true,
  // Blocked image items (`respect_moderation:false`, †) are the synchronous stage-output error.
  supportsModerationOutput: true,
  supportsExpire: false,
  supportsTaskNotFound: false,
});

describe('xai adapter: family specifics', () => {
  let mock: Awaited<ReturnType<typeof startXaiMock>>;
  let control: MockContext;
  let adapter: ProviderAdapter;
  let context: ProviderContext;
  let sequence = 0;

  beforeAll(async () => {
    // Phases of a second, moved by mock time: a slow machine cannot skip a status the tests expect to see.
    mock = await startXaiMock({ queuedMs: 1_000, runningMs: 1_000 });
    control = mock.control;
  });
  afterAll(() => mock.close());
  beforeEach(() => {
    control.reset();
    adapter = createXaiAdapter({});
    context = { clock: new ManualClock(), upstreamModel: 'grok-imagine-video', baseUrl: `${mock.baseUrl}/v1`, credential: 'mock-key', settings: {}, attempt: 1 };
  });

  function video(prompt: string, extra: Partial<GenerationRequest> = {}): GenerationRequest {
    sequence += 1;
    return { taskId: `task_xai${sequence}`, kind: 'video', model: 'grok-video', prompt, seconds: 5, ratio: '16:9', resolution: '480p', references: [], ...extra };
  }
  function image(prompt: string, extra: Partial<GenerationRequest> = {}): GenerationRequest {
    sequence += 1;
    return { taskId: `task_xai${sequence}`, kind: 'image', model: 'grok-image', prompt, n: 1, references: [], ...extra };
  }
  const imageContext = () => ({ ...context, upstreamModel: 'grok-imagine-image' });
  const png = Buffer.from('89504e470d0a1a0a', 'hex');

  function accepted(started: StartResult) {
    if (started.outcome !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(started)}`);
    return started;
  }

  /** Polls to a terminal status, advancing mock time; returns every status seen. */
  async function drive(operation: unknown, ctx = context): Promise<StatusResult[]> {
    const seen: StatusResult[] = [];
    let current = operation as never;
    for (let step = 0; step < 40; step += 1) {
      const status = await adapter.status(current, ctx);
      seen.push(status);
      if (status.operation !== undefined) current = status.operation as never;
      if (!['queued', 'running'].includes(status.status)) return seen;
      control.offsetMs += 250;
    }
    throw new Error('never finished');
  }

  it('video: sends the documented body with the task id as Idempotency-Key, bills the returned duration', async () => {
    const request = video('a red fox', { seed: 42 });
    const started = accepted(await adapter.start(request, context));
    const task = control.tasks.get(started.providerTaskId);
    expect(task.body).toEqual({ model: 'grok-imagine-video', prompt: 'a red fox', duration: 5, resolution: '480p', aspect_ratio: '16:9' });
    expect(task.idempotencyKey).toBe(request.taskId);
    const statuses = await drive(started.operation);
    expect(statuses.map((status) => status.status)).toEqual(expect.arrayContaining(['queued', 'running', 'succeeded']));
    const final = statuses.at(-1)!;
    expect(final.usage).toEqual({ video_seconds: 5, video_resolution: '480p', billable: true });
    expect(final.outputs?.[0]).toMatchObject({ contentType: 'video/mp4', durationSeconds: 5 });
    const download = await fetch(final.outputs![0]!.url!);
    expect(download.status).toBe(200);
    expect(sniffContentType(new Uint8Array(await download.arrayBuffer()))).toBe('video/mp4');
  });

  it('video: defaults sent explicitly; first frame and reference images mapped; exclusive modes refused locally', async () => {
    const reference = { type: 'image' as const, bytes: png, contentType: 'image/png' };
    const first = accepted(await adapter.start(video('x', { seconds: undefined, resolution: undefined, ratio: undefined, references: [{ ...reference, role: 'first_frame' }] }), context));
    expect(control.tasks.get(first.providerTaskId).body).toEqual({
      model: 'grok-imagine-video', prompt: 'x', duration: 8, resolution: '480p', image: { url: `data:image/png;base64,${png.toString('base64')}` },
    });
    const refs = accepted(await adapter.start(video('x', { references: [{ ...reference, role: 'reference_image', url: 'https://cdn.example/a.png' }] }), context));
    expect(control.tasks.get(refs.providerTaskId).body.reference_images).toEqual([{ url: 'https://cdn.example/a.png' }]);
    const before = control.stats.requests.create;
    for (const bad of [
      video('x', { references: [{ ...reference, role: 'first_frame' }, { ...reference, role: 'reference_image' }] }),
      video('x', { seconds: 12, references: [{ ...reference, role: 'reference_image' }] }),
      video('x', { references: [{ ...reference, role: 'last_frame' }] }),
      video('x', { resolution: '1080p' }),
      video('x', { resolution: '720P', seconds: 16 }),
      video('x', { ratio: '21:9' }),
      video('x', { seconds: 2.5 }),
    ]) {
      expect(await adapter.start(bad, context)).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    }
    expect(control.stats.requests.create).toBe(before);
    const upper = accepted(await adapter.start(video('x', { resolution: '720P' }), context));
    expect(control.tasks.get(upper.providerTaskId).body.resolution).toBe('720p');
  });

  it('video edit: a reference video goes to /videos/edits without duration, ratio or resolution', async () => {
    const started = accepted(await adapter.start(video('make it snow', { references: [{ type: 'video', role: 'reference_video', bytes: Buffer.alloc(8), contentType: 'video/mp4', url: 'https://cdn.example/in.mp4' }] }), context));
    const task = control.tasks.get(started.providerTaskId);
    expect(task.edit).toBe(true);
    expect(task.body).toEqual({ model: 'grok-imagine-video', prompt: 'make it snow', video: { url: 'https://cdn.example/in.mp4' } });
    const final = (await drive(started.operation)).at(-1)!;
    expect(final.status).toBe('succeeded');
    expect(final.usage).toEqual({ video_seconds: 6, billable: true });
  });

  it('status synonyms and older status-less successes map to canonical statuses', async () => {
    const started = accepted(await adapter.start(video('x [[scenario:status_synonyms]]'), context));
    const statuses = await drive(started.operation);
    expect(statuses.map((status) => status.status)).toEqual(expect.arrayContaining(['queued', 'running', 'succeeded']));
    expect(statuses.at(-1)!.outputs).toHaveLength(1);

    const operation: XaiVideoOperation = { v: 1, kind: 'video', requestId: 'r', mode: 'generate', seconds: 4, resolution: '720p' };
    const unknown: string[] = [];
    const map = (body: object) => mapVideoStatus(body, operation, (status) => unknown.push(status));
    expect(map({ status: 'pending', progress: 0 }).status).toBe('queued');
    expect(map({ status: 'pending', progress: 30 })).toMatchObject({ status: 'running', progress: 30 });
    expect(map({ status: 'in_progress' }).status).toBe('running');
    expect(map({ status: 'PROCESSING' }).status).toBe('running');
    expect(map({ status: 'completed', video: { url: 'https://v/x.mp4', duration: 3 } })).toMatchObject({ status: 'succeeded', usage: { video_seconds: 3, video_resolution: '720p', billable: true } });
    expect(map({ status: 'succeeded', video: { url: 'https://v/x.mp4' } }).usage?.video_seconds).toBe(4);
    expect(map({ status: 'canceled' }).status).toBe('cancelled');
    expect(map({ status: 'expired' })).toMatchObject({ status: 'expired', usage: { billable: false } });
    expect(map({ status: 'failed', error: { code: 'content_moderation', message: 'output blocked' } }).error?.class).toBe('moderation_output');
    expect(map({ status: 'brewing', progress: 10 }).status).toBe('running');
    expect(unknown).toEqual(['brewing']);
    // Quirk 25: done but blocked is a failure, and the file is never delivered.
    const blocked = map({ status: 'done', video: { url: 'https://v/x.mp4', duration: 8, respect_moderation: false } });
    expect(blocked).toMatchObject({ status: 'failed', error: { class: 'moderation_output' }, usage: { billable: false } });
    expect(blocked.outputs).toBeUndefined();
  });

  it('status never moves backwards, and a terminal answer is repeated without another request', async () => {
    const started = accepted(await adapter.start(video('x [[scenario:slow_queue;ms=100000]]'), context));
    const ahead = { ...(started.operation as object), seen: { status: 'running', progress: 40 } };
    expect(await adapter.status(ahead as never, context)).toMatchObject({ status: 'running', progress: 40 });
    control.offsetMs += 200_000;
    const statuses = await drive(started.operation);
    const final = statuses.at(-1)!;
    const polls = control.stats.requests.query;
    expect(await adapter.status(final.operation!, context)).toMatchObject({ status: 'succeeded', outputs: final.outputs });
    expect(control.stats.requests.query).toBe(polls);
  });

  it('poll failures: 404 fails the task; reads that fail transiently keep the last status', async () => {
    const gone = accepted(await adapter.start(video('x [[scenario:not_found]]'), context));
    expect(await adapter.status(gone.operation, context)).toMatchObject({ status: 'failed', error: { class: 'not_found', kind: 'task_not_found' }, usage: { billable: false } });
    const started = accepted(await adapter.start(video('x'), context));
    expect(await adapter.status(started.operation, { ...context, credential: 'rotated' })).toMatchObject({ status: 'queued', error: { class: 'auth' } });
    expect(await adapter.status(started.operation, { ...context, baseUrl: 'http://127.0.0.1:9/v1' })).toMatchObject({ status: 'queued', error: { class: 'network' } });
  });

  it('failed video tasks keep the class; ids are stripped from operator messages', async () => {
    const started = accepted(await adapter.start(video('x [[scenario:fail_task]]'), context));
    const final = (await drive(started.operation)).at(-1)!;
    expect(final).toMatchObject({ status: 'failed', error: { class: 'upstream_error' }, usage: { billable: false } });
    expect(final.error!.message).not.toMatch(/5f0c1e2a/);
    const moderated = await adapter.start(video('x [[scenario:moderation_input]]'), context);
    expect(moderated).toMatchObject({ outcome: 'rejected', error: { class: 'moderation_input' } });
    if (moderated.outcome === 'rejected') expect(moderated.error.message).not.toMatch(/5f0c1e2a/);
  });

  it.each([
    ['unauthorized;status=400', 'rejected', 'auth'],
    ['quota_exhausted', 'rejected', 'upstream_quota'],
    ['quota_exhausted;status=403', 'rejected', 'upstream_quota'],
    ['overloaded', 'unknown', 'upstream_error'],
    ['empty_200', 'unknown', 'network'],
  ])('video create with [[scenario:%s]] → %s %s', async (scenario, outcome, errorClass) => {
    const request = video(`x [[scenario:${scenario}]]`);
    const started = await adapter.start(request, context);
    expect(started).toMatchObject({ outcome, error: { class: errorClass } });
    if (started.outcome !== 'accepted') expect(started.error.retryAfterSeconds).toBeUndefined();
    // An empty 200 did create (and bill) a job upstream: exactly one counted create.
    if (scenario === 'empty_200') expect(control.stats.creates[request.taskId]).toBe(1);
  });

  it('a create that never answers → unknown network within the adapter timeout', async () => {
    const quick = createXaiAdapter({ timeoutMs: 200 });
    const started = await quick.start(video('x [[scenario:timeout]]'), context);
    expect(started).toMatchObject({ outcome: 'unknown', error: { class: 'network' } });
    const refused = await quick.start(video('x'), { ...context, baseUrl: 'http://127.0.0.1:9/v1' });
    expect(refused).toMatchObject({ outcome: 'rejected', error: { class: 'network' } });
  });

  it('image: validated locally (4k, ratios, n), sent explicitly, size mapped to a ratio', async () => {
    for (const bad of [image('x', { resolution: '4k' }), image('x', { resolution: '4K' }), image('x', { ratio: '5:4' }), image('x', { n: 11 })]) {
      expect(await adapter.start(bad, imageContext())).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    }
    expect(control.stats.requests.image_create).toBeUndefined();
    const request = image('a cat', { size: '1536x1024', resolution: '2K' });
    const started = accepted(await adapter.start(request, imageContext()));
    const [task] = [...control.tasks.values()];
    expect(task.body).toEqual({ model: 'grok-imagine-image', prompt: 'a cat', n: 1, response_format: 'url', resolution: '2k', aspect_ratio: '3:2' });
    expect(task.idempotencyKey).toBe(request.taskId);
    expect(control.stats.creates[request.taskId]).toBe(1);
    expect(started.completed).toMatchObject({ status: 'succeeded', usage: { image_count: 1, image_size: '2k', billable: true } });
  });

  it('image: status() of the synchronous operation repeats the answer; no key or host in the operation', async () => {
    const started = accepted(await adapter.start(image('x', { n: 3 }), imageContext()));
    expect(started.completed?.outputs).toHaveLength(3);
    expect(await adapter.status(started.operation, imageContext())).toEqual(started.completed);
    // The channel's API base URL and key come from the context on every call; an accepted video operation holds no
    // host at all. A finished image operation holds only its result links (on xAI's CDN host, here the mock's).
    const videoOperation = JSON.stringify(accepted(await adapter.start(video('x'), context)).operation);
    expect(videoOperation).not.toContain('mock-key');
    expect(videoOperation).not.toContain('127.0.0.1');
    const imageOperation = JSON.stringify(started.operation);
    expect(imageOperation).not.toContain('mock-key');
    expect(imageOperation).not.toContain(`${mock.baseUrl}/v1`);
    expect(imageOperation.match(/http:\/\/[^"]+/g)).toEqual(started.completed!.outputs!.map((output) => output.url));
  });

  it('image b64_json with a data: prefix is stripped to bytes and kept out of the operation', async () => {
    const inline = createXaiAdapter({ imageResponseFormat: 'b64_json' });
    const started = accepted(await inline.start(image('x [[scenario:b64_data_uri]]', { n: 2 }), imageContext()));
    const outputs = started.completed!.outputs!;
    expect(outputs).toHaveLength(2);
    for (const output of outputs) {
      expect(output.contentType).toBe('image/png');
      expect(output.bytes!.subarray(0, 8)).toEqual(png);
    }
    expect(JSON.stringify(started.operation).length).toBeLessThan(400);
    expect(await inline.status(started.operation, imageContext())).toMatchObject({ status: 'failed', usage: { billable: false } });
  });

  it('image: moderation_output_once blocks the first create only; empty 200 and resets are unknown', async () => {
    const first = accepted(await adapter.start(image('x [[scenario:moderation_output_once]]'), imageContext()));
    expect(first.completed).toMatchObject({ status: 'failed', error: { class: 'moderation_output' }, usage: { billable: false } });
    expect(first.completed!.outputs).toBeUndefined();
    const second = accepted(await adapter.start(image('x [[scenario:moderation_output_once]]'), imageContext()));
    expect(second.completed?.status).toBe('succeeded');
    const empty = image('x [[scenario:empty_200]]');
    expect(await adapter.start(empty, imageContext())).toMatchObject({ outcome: 'unknown', error: { class: 'network' } });
    expect(control.stats.creates[empty.taskId]).toBe(1);
    expect(await adapter.start(image('x [[scenario:conn_reset]]'), imageContext())).toMatchObject({ outcome: 'unknown', error: { class: 'network' } });
  });

  it('image edits: references go to /images/edits as JSON; the mock refuses multipart', async () => {
    const source = { type: 'image' as const, role: 'reference_image', bytes: png, contentType: 'image/png' };
    const started = accepted(await adapter.start(image('add a hat', { references: [source] }), imageContext()));
    const [task] = [...control.tasks.values()];
    expect(task.edit).toBe(true);
    expect(task.body.image).toEqual({ url: `data:image/png;base64,${png.toString('base64')}` });
    expect(started.completed?.status).toBe('succeeded');
    const multipart = await fetch(`${mock.baseUrl}/v1/images/edits`, { method: 'POST', headers: { authorization: 'Bearer mock-key', 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--' });
    expect(multipart.status).toBe(400);
    expect(await multipart.json()).toMatchObject({ code: 'Client specified an invalid argument', error: expect.any(String) });
  });

  it('mock fidelity: invalid image values silently fall back with 200; 4k answers 503; errors are string-shaped', async () => {
    const post = (body: object) => fetch(`${mock.baseUrl}/v1/images/generations`, { method: 'POST', headers: { authorization: 'Bearer mock-key', 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const fallback = await post({ model: 'grok-imagine-image', prompt: 'x', aspect_ratio: '7:5', resolution: '8k', response_format: 'png', image: { url: 'https://x/y.png' } });
    expect(fallback.status).toBe(200);
    const [task] = [...control.tasks.values()];
    expect(task.effective).toMatchObject({ aspect_ratio: '1:1', resolution: '1k', response_format: 'url' });
    expect(task.ignored).toEqual(['image']);
    expect((await post({ model: 'grok-imagine-image', prompt: 'x', resolution: '4k' })).status).toBe(503);
    const unauthorized = await fetch(`${mock.baseUrl}/v1/videos/nope`, { headers: { authorization: 'Bearer other' } });
    expect(unauthorized.status).toBe(401);
    expect(typeof ((await unauthorized.json()) as { error: unknown }).error).toBe('string');
  });

  it('an expired CDN URL answers 403 (url_short_ttl)', async () => {
    const started = accepted(await adapter.start(video('x [[scenario:url_short_ttl;ms=6000]]'), context));
    const final = (await drive(started.operation)).at(-1)!;
    const url = final.outputs![0]!.url!;
    expect((await fetch(url)).status).toBe(200);
    control.offsetMs += 8_000;
    expect((await fetch(url)).status).toBe(403);
  });

  it('no credential, other kinds, cancel and callbacks', async () => {
    expect(await adapter.start(video('x'), { ...context, credential: undefined })).toMatchObject({ outcome: 'rejected', error: { class: 'auth' } });
    expect(control.stats.requests.create).toBeUndefined();
    expect(await adapter.start({ ...video('x'), kind: 'music' }, context)).toMatchObject({ outcome: 'rejected', error: { class: 'unsupported' } });
    expect(adapter.capabilities).toMatchObject({ kinds: ['video', 'image'], cancel: false, idempotentCreates: false });
    expect(adapter.cancel).toBeUndefined();
    expect(adapter.parseCallback).toBeUndefined();
  });
});
