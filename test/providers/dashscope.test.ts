import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { createDashscopeAdapter, type DashscopeOperation } from '../../src/providers/dashscope/index.js';
import { classifyCode, DashscopeReadError, operatorMessage } from '../../src/providers/dashscope/dashscope-errors.js';
import { resolutionFromSr, upstreamState } from '../../src/providers/dashscope/dashscope-status.js';
import { forward } from '../../src/providers/shared/status-table.js';
import type { GenerationRequest, JsonValue, ProviderAdapter, ProviderContext, StartResult, StatusResult } from '../../src/providers/spec.js';
import { isTaskNotFound, taskNotFound } from '../../src/providers/shared/task-not-found.js';
import type { MockContext, MockOptions } from '../mock-upstreams/shared/harness.js';
import { startDashscopeMock, type DashscopeMockTask } from '../mock-upstreams/dashscope/server.js';
import { runConformance } from './conformance.js';

runConformance({
  name: 'dashscope',
  adapter: createDashscopeAdapter,
  // Phases long enough in mock time that the first poll surely sees PENDING even on a loaded machine.
  startMock: () => startDashscopeMock({ queuedMs: 200, runningMs: 400 }),
  basePath: '/api/v1',
  request: { kind: 'video', model: 'happyhorse-video', seconds: 5, resolution: '1080p', ratio: '16:9', references: [] },
  upstreamModel: 'happyhorse-1.0-t2v',
  moderationInputAtSubmit: true,
  supportsModerationOutput: true,
  // DashScope has no expiry state: a purged task reads UNKNOWN (the mock's `expire`), i.e. "task not found".
  supportsExpire: false,
});

describe('dashscope adapter: family specifics', () => {
  let closeMock: (() => Promise<void>) | undefined;
  let sequence = 0;
  afterEach(async () => {
    await closeMock?.();
    closeMock = undefined;
  });

  /** Phases of 100 ms mock time: tests move `control.offsetMs` instead of sleeping, real time barely matters. */
  async function setup(options: MockOptions = {}, settings: Record<string, unknown> = {}) {
    const mock = await startDashscopeMock({ queuedMs: 100, runningMs: 100, ...options });
    closeMock = mock.close;
    const adapter = createDashscopeAdapter(settings);
    const clock = new ManualClock();
    const context: ProviderContext = {
      clock, upstreamModel: 'happyhorse-1.0-t2v', baseUrl: `${mock.baseUrl}/api/v1`, credential: 'mock-key', settings, attempt: 1,
    };
    return { adapter, context, clock, control: mock.control, baseUrl: mock.baseUrl };
  }

  function video(prompt: string, extra: Partial<GenerationRequest> = {}): GenerationRequest {
    sequence += 1;
    return { taskId: `task_ds${sequence}`, kind: 'video', model: 'happyhorse-video', prompt, seconds: 5, resolution: '1080p', ratio: '16:9', references: [], ...extra };
  }

  function accepted(started: StartResult): { operation: JsonValue; providerTaskId: string } {
    if (started.outcome !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(started)}`);
    return started;
  }

  /** Polls to a terminal status, moving mock time forward `stepMs` a read (never sleeping); returns every status seen. */
  async function run(adapter: ProviderAdapter, context: ProviderContext, control: MockContext, operation: JsonValue, stepMs = 25): Promise<StatusResult[]> {
    const seen: StatusResult[] = [];
    for (let step = 0; step < 40; step += 1) {
      const status = await adapter.status(operation, context);
      seen.push(status);
      if (status.operation !== undefined) operation = status.operation;
      if (!['queued', 'running'].includes(status.status)) return seen;
      control.offsetMs += stepMs;
    }
    throw new Error('never finished');
  }

  it('sends the HappyHorse body: uppercase 1080P, explicit watermark, async header, Idempotency-Key', async () => {
    const { adapter, context, control } = await setup();
    const request = video('a red kite over dunes', { seed: 42 });
    const { providerTaskId } = accepted(await adapter.start(request, context));
    const task = control.tasks.get(providerTaskId) as DashscopeMockTask;
    expect(task.body).toEqual({
      model: 'happyhorse-1.0-t2v',
      input: { prompt: 'a red kite over dunes' },
      parameters: { resolution: '1080P', ratio: '16:9', duration: 5, watermark: false, seed: 42 },
    });
    expect(task.headers).toEqual({ async: 'enable', idempotencyKey: request.taskId, contentType: 'application/json' });
    expect(control.stats.creates[request.taskId]).toBe(1);
  });

  it('maps references per mode: i2v first_frame without ratio, video-edit video + reference_image + audio_setting', async () => {
    const { adapter, context, control } = await setup();
    const image = { type: 'image' as const, role: 'first_frame', bytes: Buffer.alloc(0), contentType: 'image/png', url: 'https://files.example/a.png' };
    const i2v = accepted(await adapter.start(video('wave', { resolution: '720p', references: [image] }), { ...context, upstreamModel: 'happyhorse-1.0-i2v' }));
    expect((control.tasks.get(i2v.providerTaskId) as DashscopeMockTask).body).toEqual({
      model: 'happyhorse-1.0-i2v',
      input: { prompt: 'wave', media: [{ type: 'first_frame', url: 'https://files.example/a.png' }] },
      parameters: { resolution: '720P', duration: 5, watermark: false },
    });
    const clip = { type: 'video' as const, role: 'source', bytes: Buffer.alloc(0), contentType: 'video/mp4', url: 'https://files.example/v.mp4' };
    const edit = accepted(
      await adapter.start(video('make it snow', { references: [clip, { ...image, role: 'reference' }], generate_audio: false }), { ...context, upstreamModel: 'happyhorse-1.0-video-edit' }),
    );
    const body = (control.tasks.get(edit.providerTaskId) as DashscopeMockTask).body;
    expect(body.input.media).toEqual([{ type: 'video', url: 'https://files.example/v.mp4' }, { type: 'reference_image', url: 'https://files.example/a.png' }]);
    expect(body.parameters).toMatchObject({ audio_setting: 'origin' });
    expect(body.parameters.ratio).toBeUndefined();
  });

  it('the mock enforces the family rules: lowercase 1080p and synchronous calls are refused', async () => {
    const { baseUrl, control } = await setup();
    const post = (headers: Record<string, string>, resolution: string) =>
      fetch(`${baseUrl}/api/v1/services/aigc/video-generation/video-synthesis`, {
        method: 'POST',
        headers: { authorization: 'Bearer mock-key', 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'happyhorse-1.0-t2v', input: { prompt: 'x' }, parameters: { resolution } }),
      });
    const lower = await post({ 'x-dashscope-async': 'enable' }, '1080p');
    expect(lower.status).toBe(400);
    expect(await lower.json()).toMatchObject({ code: 'InvalidParameter' });
    const sync = await post({}, '1080P');
    expect(sync.status).toBe(403);
    expect(await sync.json()).toMatchObject({ code: 'AccessDenied', message: 'current user api does not support synchronous calls' });
    expect(control.stats.creates).toEqual({});
  });

  it('a lowercase resolution configured for the channel is refused upstream as invalid_request', async () => {
    const { adapter, context, control } = await setup({}, { resolutionCase: 'lower' });
    const started = await adapter.start(video('x'), context);
    expect(started).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    expect(control.stats.creates).toEqual({});
  });

  it('validates locally before spending a create', async () => {
    const { adapter, context, control } = await setup();
    const noUrl = { type: 'image' as const, role: 'first_frame', bytes: Buffer.from('x'), contentType: 'image/png' };
    const cases: Array<[GenerationRequest, ProviderContext]> = [
      [video('x', { seconds: 20 }), context],
      [video('x', { resolution: '4k' }), context],
      [video('x', { ratio: '21:9' }), context],
      [video('x', { seed: -1 }), context],
      [video('x', { kind: 'image' }), context],
      [video('x'), { ...context, upstreamModel: 'happyhorse-1.0-i2v' }],
      [video('x', { references: [noUrl] }), { ...context, upstreamModel: 'happyhorse-1.0-i2v' }],
    ];
    for (const [request, ctx] of cases) expect(await adapter.start(request, ctx)).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    expect(control.stats.requests.create).toBeUndefined();
    expect(await adapter.start(video('x'), { ...context, credential: undefined })).toMatchObject({ outcome: 'rejected', error: { class: 'auth' } });
    expect(control.stats.requests.create).toBeUndefined();
  });

  it('create failures: quirk 8 codes inside a 200, overload, empty 200, unknown model', async () => {
    const { adapter, context, control } = await setup();
    expect(await adapter.start(video('x [[scenario:error_in_200]]'), context)).toMatchObject({ outcome: 'rejected', error: { class: 'upstream_quota' } });
    expect(await adapter.start(video('x [[scenario:error_in_200;code=InternalError]]'), context)).toMatchObject({ outcome: 'unknown', error: { class: 'upstream_error' } });
    expect(await adapter.start(video('x [[scenario:overloaded]]'), context)).toMatchObject({ outcome: 'unknown', error: { class: 'upstream_error' } });
    const empty = video('x [[scenario:empty_200]]');
    expect(await adapter.start(empty, context)).toMatchObject({ outcome: 'unknown', error: { class: 'network' } });
    expect(control.stats.creates[empty.taskId]).toBe(1);
    expect(await adapter.start(video('x'), { ...context, upstreamModel: 'happyhorse-9-t2v' })).toMatchObject({ outcome: 'rejected', error: { class: 'not_found' } });
    const limited = await adapter.start(video('x [[scenario:rate_limited;retry_after=3]]'), context);
    expect(limited).toMatchObject({ outcome: 'rejected', error: { class: 'rate_limited', retryAfterSeconds: 3 } });
  });

  it('success: video URL on the signed OSS-style CDN, usage facts from usage.*, URL expires after its TTL', async () => {
    const { adapter, context, control } = await setup();
    // A TTL of seconds: the link's expiry is in whole seconds (floored), so the first download is surely within it.
    const { operation } = accepted(await adapter.start(video('a lighthouse [[scenario:url_short_ttl;ms=5000]]'), context));
    const final = (await run(adapter, context, control, operation)).at(-1)!;
    expect(final.status).toBe('succeeded');
    expect(final.usage).toEqual({ video_seconds: 5, video_resolution: '1080p', video_count: 1, video_mode: 't2v', billable: true });
    const output = final.outputs![0]!;
    expect(output).toMatchObject({ contentType: 'video/mp4', durationSeconds: 5, width: 1920, height: 1080 });
    expect(output.url).toContain('OSSAccessKeyId=');
    const download = await fetch(output.url!);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).subarray(4, 8).toString('ascii')).toBe('ftyp');
    control.offsetMs += 7_000;
    expect((await fetch(output.url!)).status).toBe(403);
    // A re-read of the finished task answers the same final facts.
    const again = await adapter.status(operation, context);
    expect(again).toMatchObject({ status: 'succeeded', outputs: [{ url: output.url }] });
  });

  it('status synonyms map to canonical statuses, in order', async () => {
    // Phases of 5 s moved 1 s a read: however slow the machine, the reads see PENDING, then RUNNING.
    const { adapter, context, control } = await setup({ queuedMs: 5_000, runningMs: 5_000 });
    const { operation } = accepted(await adapter.start(video('x [[scenario:status_synonyms]]'), context));
    const statuses = (await run(adapter, context, control, operation, 1_000)).map((status) => status.status);
    expect(statuses.at(-1)).toBe('succeeded');
    expect(statuses).toContain('queued');
    expect(statuses).toContain('running');
    expect(statuses.indexOf('running')).toBeGreaterThan(statuses.lastIndexOf('queued'));
  });

  it('never moves backwards: PENDING after RUNNING stays running', async () => {
    const { adapter, context, control } = await setup({ queuedMs: 5_000, runningMs: 5_000 });
    let { operation } = accepted(await adapter.start(video('x'), context));
    control.offsetMs += 6_000;
    const running = await adapter.status(operation, context);
    expect(running.status).toBe('running');
    operation = running.operation!;
    control.offsetMs = 0; // the mock now answers PENDING again
    expect((await adapter.status(operation, context)).status).toBe('running');
  });

  it('output moderation: FAILED with output.code → moderation_output, not billable, no request id in the message', async () => {
    const { adapter, context, control } = await setup();
    const { operation } = accepted(await adapter.start(video('x [[scenario:moderation_output]]'), context));
    const final = (await run(adapter, context, control, operation)).at(-1)!;
    expect(final).toMatchObject({ status: 'failed', error: { class: 'moderation_output' }, usage: { billable: false } });
    expect(final.error!.message).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it('UNKNOWN and 404 are "task not found" at once, whether or not a read saw the task before (no adapter grace)', async () => {
    // Phases of 5 s moved 1 s a read: the first reads surely come before the purge, however slow the machine.
    const { adapter, context, control } = await setup({ queuedMs: 5_000, runningMs: 5_000 });
    // The purge after a seen task (the mock's `expire`): the same answer as a task never seen.
    const { operation } = accepted(await adapter.start(video('x [[scenario:expire]]'), context));
    const reads = await run(adapter, context, control, operation, 1_000);
    expect(reads.some((read) => read.status === 'queued' || read.status === 'running')).toBe(true);
    expect(isTaskNotFound(reads.at(-1))).toBe(true);

    const missing = accepted(await adapter.start(video('x [[scenario:not_found]]'), context));
    const unknown = await adapter.status(missing.operation, context);
    expect(unknown).toEqual(taskNotFound(unknown.error!.message));
    expect(unknown.error!.message).toContain('UNKNOWN');
    // A 404 `NotFound` on the query is the same fact.
    control.queueScenario('query', 'not_found;status=404', 1);
    const gone = await adapter.status(missing.operation, context);
    expect(gone).toEqual(taskNotFound(gone.error!.message));
    expect(gone.error!.message).toContain('404');
  });

  it('transient read failures throw (the engine retries the read) and leave the task intact', async () => {
    const { adapter, context, control } = await setup();
    const { operation } = accepted(await adapter.start(video('x [[scenario:slow_queue;ms=60000]]'), context));
    control.queueScenario('query', 'server_error', 1);
    await expect(adapter.status(operation, context)).rejects.toBeInstanceOf(DashscopeReadError);
    control.queueScenario('query', 'rate_limited;retry_after=4', 1);
    await expect(adapter.status(operation, context)).rejects.toMatchObject({ error: { class: 'rate_limited', retryAfterSeconds: 4 } });
    control.queueScenario('query', 'empty_200', 1);
    await expect(adapter.status(operation, context)).rejects.toMatchObject({ error: { class: 'network' } });
    await expect(adapter.status(operation, { ...context, credential: 'wrong-key' })).rejects.toMatchObject({ error: { class: 'auth' } });
    expect((await adapter.status(operation, context)).status).toBe('queued');
  });

  it('cancel works only while PENDING', async () => {
    const { adapter, context, control } = await setup();
    const slow = accepted(await adapter.start(video('x [[scenario:slow_queue;ms=5000]]'), context));
    expect(await adapter.cancel!(slow.operation, context)).toEqual({ cancelled: true });
    expect(await adapter.status(slow.operation, context)).toMatchObject({ status: 'cancelled', usage: { billable: false } });
    expect(await adapter.cancel!(slow.operation, context)).toEqual({ cancelled: false });
    const done = accepted(await adapter.start(video('x'), context));
    control.offsetMs += 150;
    expect(await adapter.cancel!(done.operation, context)).toEqual({ cancelled: false });
    const gone = accepted(await adapter.start(video('x [[scenario:not_found]]'), context));
    expect(await adapter.cancel!(gone.operation, context)).toEqual({ cancelled: false });
  });

  it('the operation carries no credential, host or port', async () => {
    const { adapter, context, baseUrl } = await setup();
    const { operation } = accepted(await adapter.start(video('x'), context));
    const text = JSON.stringify(operation);
    expect(text).not.toContain('mock-key');
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain(new URL(baseUrl).port);
    expect(text).not.toContain('http');
    expect((operation as unknown as DashscopeOperation).mode).toBe('t2v');
  });
});

describe('dashscope adapter: tables', () => {
  it('status synonyms and unknown spellings', () => {
    expect(['PENDING', 'SUSPENDED', 'queued'].map(upstreamState)).toEqual(['queued', 'queued', 'queued']);
    expect(['RUNNING', 'running', 'processing', 'in-progress'].map(upstreamState)).toEqual(['running', 'running', 'running', 'running']);
    expect(['SUCCEEDED', 'SUCCESS', 'completed'].map(upstreamState)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(['CANCELED', 'CANCELLED'].map(upstreamState)).toEqual(['cancelled', 'cancelled']);
    expect(upstreamState('UNKNOWN')).toBe('unknown_task');
    expect(upstreamState('WARMING_UP')).toBe('unrecognised');
    expect(upstreamState(undefined)).toBe('unrecognised');
    expect(forward('running', 'queued')).toBe('running');
  });

  it('error codes → classes, moderation by stage', () => {
    expect(classifyCode('DataInspectionFailed', 400, 'submit')).toBe('moderation_input');
    expect(classifyCode('data_inspection_failed', 200, 'task')).toBe('moderation_output');
    expect(classifyCode('IPInfringementSuspect', 400, 'task')).toBe('moderation_output');
    expect(classifyCode('Arrearage', 400, 'submit')).toBe('upstream_quota');
    expect(classifyCode('AccessDenied.Unpurchased', 403, 'submit')).toBe('auth');
    expect(classifyCode('Throttling.AllocationQuota', 429, 'submit')).toBe('rate_limited');
    expect(classifyCode('InvalidFile.DownloadFailed', 400, 'submit')).toBe('invalid_request');
    expect(classifyCode('BadRequest.TooLarge', 413, 'submit')).toBe('invalid_request');
    expect(classifyCode('RequestTimeOut', 408, 'submit')).toBe('network');
    expect(classifyCode('InternalError.Algo', 500, 'task')).toBe('upstream_error');
    expect(classifyCode('SomethingNew', 429, 'submit')).toBe('rate_limited');
    expect(resolutionFromSr(1080)).toBe('1080p');
    expect(resolutionFromSr('720P')).toBe('720p');
  });

  it('operator messages strip request ids', () => {
    const message = operatorMessage('InternalError', 'boom, request id: 7c1a2b3c-0d4e-4f5a-8b6c-7d8e9f0a1b2c', 'x');
    expect(message).toBe('dashscope InternalError: boom');
    expect(operatorMessage(undefined, 'failed (RequestId=abc-123)', 'HTTP 500')).toBe('dashscope HTTP 500: failed');
  });
});
