import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { createNewapiAdapter, parseCallback } from '../../src/providers/newapi/index.js';
import { isTaskMissing } from '../../src/providers/newapi/newapi-errors.js';
import { NEWAPI_STATUSES } from '../../src/providers/newapi/newapi-status.js';
import { readStatus } from '../../src/providers/shared/status-table.js';
import { taskNotFound } from '../../src/providers/shared/task-not-found.js';
import type { GenerationRequest, JsonValue, ProviderAdapter, ProviderContext, StartResult, StatusResult } from '../../src/providers/spec.js';
import { startNewapiMock, type NewapiMockTask } from '../mock-upstreams/newapi/server.js';
import { startFamily, type Family, type MockContext } from '../mock-upstreams/shared/harness.js';
import { runConformance } from './conformance.js';

const UPSTREAM_MODEL = 'doubao-seedance-2-0-260128';
const BASE_REQUEST: Omit<GenerationRequest, 'taskId' | 'prompt'> = {
  kind: 'video', model: 'seedance-2.0', seconds: 5, ratio: '16:9', resolution: '720p', generate_audio: false, references: [],
};

runConformance({
  name: 'newapi',
  adapter: createNewapiAdapter,
  startMock: () => startNewapiMock(),
  basePath: '/v1',
  request: BASE_REQUEST,
  upstreamModel: UPSTREAM_MODEL,
  moderationInputAtSubmit: true,
  supportsModerationOutput: true,
  supportsExpire: true,
});

type Mock = Awaited<ReturnType<typeof startNewapiMock>>;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

let sequence = 0;
function generation(prompt: string, extra: Partial<GenerationRequest> = {}): GenerationRequest {
  sequence += 1;
  return { ...BASE_REQUEST, taskId: `task_newapi${sequence}`, prompt, ...extra };
}

async function setup(settings: Record<string, unknown> = {}, extra: Partial<ProviderContext> = {}, options: Parameters<typeof startNewapiMock>[0] = {}) {
  const mock: Mock = await startNewapiMock(options);
  cleanups.push(() => mock.close());
  const adapter = createNewapiAdapter(settings);
  const context: ProviderContext = {
    clock: new ManualClock(), upstreamModel: UPSTREAM_MODEL, baseUrl: `${mock.baseUrl}/v1`, credential: 'mock-key', settings, attempt: 1, ...extra,
  };
  return { mock, adapter, context, control: mock.control };
}

function accepted(started: StartResult): Extract<StartResult, { outcome: 'accepted' }> {
  expect(started.outcome).toBe('accepted');
  if (started.outcome !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(started)}`);
  return started;
}

/** Polls to a terminal status, moving mock time instead of sleeping; returns every status seen. */
async function finish(adapter: ProviderAdapter, context: ProviderContext, control: MockContext, operation: JsonValue, stepMs = 15) {
  const seen: StatusResult[] = [];
  for (let step = 0; step < 60; step += 1) {
    const status = await adapter.status(operation, context);
    seen.push(status);
    if (status.operation !== undefined) operation = status.operation;
    if (!['queued', 'running'].includes(status.status)) return { final: status, seen, operation };
    control.offsetMs += stepMs;
  }
  throw new Error('task never finished');
}

async function waitFor<T>(probe: () => T | undefined, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A callback receiver on loopback; answers 500 to the first `failures` deliveries. */
async function receiver(failures = 0) {
  const bodies: unknown[] = [];
  let calls = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      calls += 1;
      if (calls <= failures) return void response.writeHead(500).end();
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks/newapi`, bodies };
}

async function post(mock: Mock, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${mock.baseUrl}${path}`, {
    method: 'POST', headers: { authorization: 'Bearer mock-key', 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as any };
}

describe('newapi adapter: request body', () => {
  it('sends seconds as a string, options and callback_url inside metadata, and the task id as Idempotency-Key', async () => {
    const { adapter, context, control } = await setup({}, { callbackUrl: 'https://gateway.example/v1/provider-callbacks/newapi' });
    const request = generation('a fox in the snow', { seed: 42 });
    const started = accepted(await adapter.start(request, context));
    const task = control.tasks.get(started.providerTaskId) as NewapiMockTask;
    expect(task.idempotencyKey).toBe(request.taskId);
    expect(task.request).toEqual({
      model: UPSTREAM_MODEL,
      prompt: 'a fox in the snow',
      seconds: '5',
      metadata: {
        ratio: '16:9', resolution: '720p', generate_audio: false, watermark: false, seed: 42,
        callback_url: 'https://gateway.example/v1/provider-callbacks/newapi',
      },
    });
    expect(task.request.callback_url).toBeUndefined();
    expect(task.callbackUrl).toBe('https://gateway.example/v1/provider-callbacks/newapi');
    expect(started.providerTaskId).toMatch(/^task_[0-9a-f]{24}$/);
  });

  it('keeps the credential and the upstream host out of the operation', async () => {
    const { adapter, context, mock } = await setup({}, { callbackUrl: 'https://gateway.example/cb' });
    const started = accepted(await adapter.start(generation('x'), context));
    const text = JSON.stringify(started.operation);
    expect(text).not.toContain('mock-key');
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain(new URL(mock.baseUrl).host);
    expect(started.operation).toEqual({ v: 1, dialect: 'newapi', id: started.providerTaskId, seconds: 5, resolution: '720p' });
  });

  it('puts plain reference images in `images`, roles and other media in metadata.content', async () => {
    const { adapter, context, control } = await setup();
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const plain = accepted(await adapter.start(generation('x', {
      references: [{ type: 'image', role: 'reference_image', bytes: png, contentType: 'image/png', url: 'https://media.example/a.png' }],
    }), context));
    expect((control.tasks.get(plain.providerTaskId) as NewapiMockTask).request.images).toEqual(['https://media.example/a.png']);

    const mixed = accepted(await adapter.start(generation('x', {
      references: [
        { type: 'image', role: 'first_frame', bytes: png, contentType: 'image/png' },
        { type: 'video', role: 'reference_video', bytes: Buffer.alloc(4), contentType: 'video/mp4', url: 'https://media.example/v.mp4' },
      ],
    }), context));
    const body = (control.tasks.get(mixed.providerTaskId) as NewapiMockTask).request;
    expect(body.images).toBeUndefined();
    expect(body.metadata.content).toEqual([
      { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` }, role: 'first_frame' },
      { type: 'video_url', video_url: { url: 'https://media.example/v.mp4' }, role: 'reference_video' },
    ]);
  });

  it('rejects locally what the reseller would refuse or silently change, without creating anything', async () => {
    const { adapter, context, control } = await setup();
    const image = { type: 'image' as const, role: 'reference_image', bytes: Buffer.alloc(8), contentType: 'image/png', url: 'https://m.example/i.png' };
    const cases: Array<Partial<GenerationRequest>> = [
      { resolution: '4k' },
      { seconds: 5.5 },
      { references: Array.from({ length: 10 }, () => image) },
      { references: [{ type: 'video', role: 'reference_video', bytes: Buffer.alloc(8), contentType: 'video/mp4' }] },
    ];
    for (const extra of cases) {
      expect(await adapter.start(generation('x', extra), context)).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    }
    expect(await adapter.start(generation('x', { kind: 'image' }), context)).toMatchObject({ outcome: 'rejected', error: { class: 'unsupported' } });
    expect(control.stats.requests.create ?? 0).toBe(0);
  });

  it('lowercases the resolution (§10 #9); the mock refuses uppercase and numeric seconds like the reseller', async () => {
    const { adapter, context, control, mock } = await setup();
    const started = accepted(await adapter.start(generation('x', { resolution: '1080P' }), context));
    expect((control.tasks.get(started.providerTaskId) as NewapiMockTask).request.metadata.resolution).toBe('1080p');
    const upper = await post(mock, '/v1/video/generations', { model: UPSTREAM_MODEL, prompt: 'x', metadata: { resolution: '1080P' } });
    expect(upper.status).toBe(400);
    const numeric = await post(mock, '/v1/video/generations', { model: UPSTREAM_MODEL, prompt: 'x', seconds: 5 });
    expect(numeric).toMatchObject({ status: 400, body: { code: 'invalid_request', data: null } });
    expect(numeric.body.message).toContain('of type string');
  });

  it('the mock ignores a top-level callback_url (§10 #30) and strips metadata.model', async () => {
    const { mock, control } = await setup();
    const hook = await receiver();
    const created = await post(mock, '/v1/video/generations', { model: UPSTREAM_MODEL, prompt: 'x', callback_url: hook.url, metadata: { model: 'cheaper' } });
    expect(created).toMatchObject({ status: 200, body: { status: 'submitted' } });
    const task = control.tasks.get(created.body.task_id) as NewapiMockTask;
    expect(task).toMatchObject({ callbackUrl: null, ignoredCallbackUrl: hook.url, forwarded: {} });
    control.offsetMs += 1000;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(control.stats.callbacks).toEqual([]);
  });
});

describe('newapi adapter: lifecycle and statuses', () => {
  it('maps every synonym of the §8 table, and unknown spellings to running', () => {
    const table: Record<string, string> = {
      submitted: 'queued', queued: 'queued', pending: 'queued', waiting: 'queued', queuing: 'queued',
      running: 'running', processing: 'running', in_progress: 'running', generating: 'running',
      succeeded: 'succeeded', success: 'succeeded', completed: 'succeeded', done: 'succeeded',
      failed: 'failed', failure: 'failed', fail: 'failed', error: 'failed',
      cancelled: 'cancelled', canceled: 'cancelled', expired: 'expired', SUCCESS: 'succeeded',
    };
    for (const [raw, canonical] of Object.entries(table)) expect(readStatus(NEWAPI_STATUSES, raw)).toEqual({ status: canonical, known: true });
    expect(readStatus(NEWAPI_STATUSES, 'rendering')).toEqual({ status: 'running', known: false });
  });

  it('status_synonyms: the mock speaks synonyms, the adapter still ends succeeded without moving backwards', async () => {
    // Phases of seconds, moved by mock time: the first read is queued however slow the machine is.
    const { adapter, context, control, mock } = await setup({}, {}, { queuedMs: 5_000, runningMs: 5_000 });
    const started = accepted(await adapter.start(generation('x [[scenario:status_synonyms]]'), context));
    const raw = await fetch(`${mock.baseUrl}/v1/video/generations/${started.providerTaskId}`, { headers: { authorization: 'Bearer mock-key' } });
    expect(['pending', 'queuing', 'waiting', 'queued']).toContain(((await raw.json()) as { status: string }).status);
    const { final, seen } = await finish(adapter, context, control, started.operation, 1_000);
    expect(final.status).toBe('succeeded');
    const order = { queued: 0, running: 1, succeeded: 2 } as Record<string, number>;
    const ranks = seen.map((status) => order[status.status]!);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(seen.some((status) => status.status === 'running')).toBe(true);
  });

  it('success: a URL output with the family content type and requested usage facts (§12)', async () => {
    const { adapter, context, control } = await setup();
    const started = accepted(await adapter.start(generation('x', { seconds: 8, resolution: '1080p' }), context));
    const { final } = await finish(adapter, context, control, started.operation);
    expect(final).toMatchObject({ status: 'succeeded', progress: 100, usage: { video_seconds: 8, video_resolution: '1080p', billable: true } });
    expect(final.outputs).toHaveLength(1);
    expect(final.outputs![0]).toMatchObject({ contentType: 'video/mp4', durationSeconds: 8 });
    const download = await fetch(final.outputs![0]!.url!);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).toString('latin1', 4, 8)).toBe('ftyp');
  });

  it('output moderation: failed moderation_output, not billable, request id stripped from the message', async () => {
    const { adapter, context, control } = await setup();
    const started = accepted(await adapter.start(generation('x [[scenario:moderation_output]]'), context));
    const { final } = await finish(adapter, context, control, started.operation);
    expect(final).toMatchObject({ status: 'failed', error: { class: 'moderation_output' }, usage: { billable: false } });
    expect(final.error!.message).toContain('OutputVideoSensitiveContentDetected');
    expect(final.error!.message).not.toMatch(/request id/i);
  });

  it('moderation_output_once: the resubmission of the same prompt succeeds', async () => {
    const { adapter, context, control } = await setup();
    const prompt = 'x [[scenario:moderation_output_once]]';
    const first = await finish(adapter, context, control, accepted(await adapter.start(generation(prompt), context)).operation);
    expect(first.final.error?.class).toBe('moderation_output');
    const second = await finish(adapter, context, control, accepted(await adapter.start(generation(prompt), context)).operation);
    expect(second.final.status).toBe('succeeded');
  });

  it('slow_queue keeps the task queued at progress 0 until its time', async () => {
    const { adapter, context, control } = await setup();
    // Seconds of slack on each side: a slow machine's real time cannot move the task past either read.
    const started = accepted(await adapter.start(generation('x [[scenario:slow_queue;ms=60000]]'), context));
    control.offsetMs += 50_000;
    expect(await adapter.status(started.operation, context)).toMatchObject({ status: 'queued', progress: 0 });
    control.offsetMs += 10_100;
    expect((await adapter.status(started.operation, context)).status).not.toBe('queued');
  });

  it('task_not_exist (new-api: HTTP 400; other forks: 404) → the shared "task not found" answer', async () => {
    const { adapter, context } = await setup();
    for (const scenario of ['not_found', 'not_found;status=404']) {
      const started = accepted(await adapter.start(generation(`x [[scenario:${scenario}]]`), context));
      const status = await adapter.status(started.operation, context);
      expect(status).toEqual(taskNotFound(status.error!.message));
      expect(status.error!.message).toContain(scenario === 'not_found' ? 'HTTP 400' : 'HTTP 404');
    }
  });

  it('only 404 or task_not_exist means "not found"; other 4xx query answers stay transient reads', () => {
    expect(isTaskMissing(400, { code: 'task_not_exist', message: 'task_not_exist', data: null }, '')).toBe(true);
    expect(isTaskMissing(404, undefined, 'Not Found')).toBe(true);
    expect(isTaskMissing(400, { code: 'invalid_request', message: 'bad id' }, '')).toBe(false);
    expect(isTaskMissing(500, { code: 'task_not_exist' }, '')).toBe(false);
  });

  it('url_short_ttl: the CDN link works, then answers 403 once expired; a bad signature is 403', async () => {
    const { adapter, context, control } = await setup();
    const started = accepted(await adapter.start(generation('x [[scenario:url_short_ttl;ms=5000]]'), context));
    const { final } = await finish(adapter, context, control, started.operation);
    const link = final.outputs![0]!.url!;
    expect(link).toContain('X-Tos-Expires=5');
    expect((await fetch(link)).status).toBe(200);
    expect((await fetch(link.replace(/sig=[0-9a-f]+/, 'sig=00'))).status).toBe(403);
    control.offsetMs += 7000;
    expect((await fetch(link)).status).toBe(403);
  });
});

describe('newapi adapter: create errors', () => {
  it.each([
    ['empty_200', 'unknown', 'network'],
    ['overloaded', 'unknown', 'upstream_error'],
    ['model_not_found', 'rejected', 'not_found'],
    ['moderation_input', 'rejected', 'moderation_input'],
  ])('[[scenario:%s]] → %s %s', async (scenario, outcome, errorClass) => {
    const { adapter, context, control } = await setup();
    const request = generation(`x [[scenario:${scenario}]]`);
    const started = await adapter.start(request, context);
    expect(started).toMatchObject({ outcome, error: { class: errorClass } });
    if (started.outcome !== 'accepted') expect(started.error.message).not.toMatch(/request id/i);
    // empty_200: the task was created upstream and counted, which is why the outcome is unknown.
    expect(control.stats.creates[request.taskId] ?? 0).toBe(scenario === 'empty_200' ? 1 : 0);
  });

  it('slow headers past the adapter timeout → unknown network (the create may have landed)', async () => {
    const { adapter, context } = await setup({ timeoutMs: 150 });
    expect(await adapter.start(generation('x [[scenario:slow_headers;ms=4000]]'), context)).toMatchObject({ outcome: 'unknown', error: { class: 'network' } });
  });

  it('a channel without a credential is refused before any request', async () => {
    const { adapter, context, control } = await setup();
    const { credential: _credential, ...rest } = context;
    expect(await adapter.start(generation('x'), rest)).toMatchObject({ outcome: 'rejected', error: { class: 'auth' } });
    expect(control.stats.requests.create ?? 0).toBe(0);
  });
});

describe('newapi adapter: callbacks', () => {
  it('declares callbacks and no cancel; only the newapi dialect takes callbacks', () => {
    const adapter = createNewapiAdapter({});
    expect(adapter.capabilities).toEqual({ kinds: ['video'], callbacks: true, cancel: false, idempotentCreates: false });
    expect(adapter.cancel).toBeUndefined();
    expect(createNewapiAdapter({ dialect: 'apimart' }).capabilities.callbacks).toBe(false);
  });

  it('the final state is POSTed to metadata.callback_url and parses to the upstream task id', async () => {
    const hook = await receiver();
    const { adapter, context, control } = await setup({}, { callbackUrl: hook.url });
    const started = accepted(await adapter.start(generation('x'), context));
    control.offsetMs += 500;
    const body = await waitFor(() => hook.bodies[0]);
    expect(body).toMatchObject({ task_id: started.providerTaskId, status: 'succeeded', format: 'mp4' });
    expect(adapter.parseCallback!(body, {})).toEqual({ providerTaskId: started.providerTaskId });
    expect(adapter.parseCallback!(Buffer.from(JSON.stringify(body)), {})).toEqual({ providerTaskId: started.providerTaskId });
  });

  it('duplicates and a running after the final state parse to the same id; status stays succeeded', async () => {
    const hook = await receiver();
    const { adapter, context, control } = await setup({}, { callbackUrl: hook.url });
    const started = accepted(await adapter.start(generation('x [[scenario:callback_duplicate,callback_out_of_order]]'), context));
    control.offsetMs += 500;
    await waitFor(() => (hook.bodies.length >= 3 ? true : undefined));
    expect(hook.bodies.map((body) => (body as { status: string }).status)).toEqual(['succeeded', 'succeeded', 'running']);
    for (const body of hook.bodies) expect(adapter.parseCallback!(body, {})).toEqual({ providerTaskId: started.providerTaskId });
    expect((await adapter.status(started.operation, context)).status).toBe('succeeded');
  });

  it('callback_fail: the mock retries until the receiver accepts, recording every delivery', async () => {
    const hook = await receiver(2);
    const { adapter, context, control } = await setup({}, { callbackUrl: hook.url });
    accepted(await adapter.start(generation('x [[scenario:callback_fail;times=2]]'), context));
    control.offsetMs += 500;
    await waitFor(() => hook.bodies[0]);
    // The receiver sees the body before the mock has read the 200 back and recorded it: wait for the record.
    await waitFor(() => (control.stats.callbacks.length >= 3 ? true : undefined));
    expect(control.stats.callbacks.map((delivery) => delivery.status)).toEqual([500, 500, 200]);
  });

  it('parseCallback refuses bodies that are not task callbacks', () => {
    for (const body of [null, {}, 'not json', { task_id: 'task_1' }, { status: 'succeeded' }, [1, 2]]) expect(parseCallback(body)).toBeNull();
  });
});

describe('newapi adapter: other dialects', () => {
  it('apimart: data array on create, body-code errors inside HTTP 200 (§10 #6, #28), URL arrays in results', async () => {
    const { adapter, context, control } = await setup({ dialect: 'apimart' });
    const request = generation('x');
    const started = accepted(await adapter.start(request, context));
    expect((control.tasks.get(started.providerTaskId) as NewapiMockTask).request).toEqual({
      model: UPSTREAM_MODEL, prompt: 'x', duration: 5, resolution: '720p', aspect_ratio: '16:9',
    });
    const { final } = await finish(adapter, context, control, started.operation);
    expect(final).toMatchObject({ status: 'succeeded', usage: { video_seconds: 5, billable: true } });
    expect(final.outputs![0]!.url).toContain(`/cdn/${started.providerTaskId}.mp4`);
    expect(await adapter.start(generation('x [[scenario:invalid_param]]'), context)).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    expect(await adapter.start(generation('x [[scenario:quota_exhausted]]'), context)).toMatchObject({ outcome: 'rejected', error: { class: 'upstream_quota' } });
    expect(await adapter.start(generation('x [[scenario:moderation_input]]'), context)).toMatchObject({ outcome: 'rejected', error: { class: 'moderation_input' } });
    expect(await adapter.start(generation('x [[scenario:rate_limited;retry_after=3]]'), context)).toMatchObject({
      outcome: 'rejected', error: { class: 'rate_limited', retryAfterSeconds: 3 },
    });
  });

  it('openai-videos: string seconds and size, result fetched as bytes from /content (§10 #15)', async () => {
    const { adapter, context, control } = await setup({ dialect: 'openai-videos' });
    const started = accepted(await adapter.start(generation('x'), context));
    const body = (control.tasks.get(started.providerTaskId) as NewapiMockTask).request;
    expect(body).toMatchObject({ model: UPSTREAM_MODEL, seconds: '5', size: '1280x720' });
    const { final } = await finish(adapter, context, control, started.operation);
    expect(final.status).toBe('succeeded');
    const output = final.outputs![0]!;
    expect(output.url).toBeUndefined();
    expect(output.contentType).toBe('video/mp4');
    expect(output.bytes!.toString('latin1', 4, 8)).toBe('ftyp');
    expect(await adapter.start(generation('x [[scenario:unauthorized]]'), context)).toMatchObject({ outcome: 'rejected', error: { class: 'auth' } });
  });
});

describe('newapi adapter: lenient reading of odd resellers', () => {
  /** A scripted reseller: each GET answers the next body in the list. */
  async function scripted(answers: unknown[]) {
    const family: Family = () => [
      { method: 'POST', path: /^\/v1\/video\/generations$/, name: 'create', handle: () => ({ status: 200, body: { id: 'task_odd', status: 'queued' } }) },
      { method: 'GET', path: /^\/v1\/video\/generations\/task_odd$/, name: 'query', handle: () => ({ status: 200, body: answers.shift() }) },
    ];
    const mock = await startFamily(family, 'newapi');
    cleanups.push(() => mock.close());
    const adapter = createNewapiAdapter({});
    const context: ProviderContext = { clock: new ManualClock(), upstreamModel: UPSTREAM_MODEL, baseUrl: `${mock.baseUrl}/v1`, credential: 'mock-key', settings: {}, attempt: 1 };
    return { adapter, context, started: accepted(await adapter.start(generation('x'), context)) };
  }

  it('unknown status → running (kept for operators), never backwards, "50%" progress, wrapped data and string errors', async () => {
    const { adapter, context, started } = await scripted([
      { task_id: 'task_odd', status: 'rendering', progress: '50%' },
      { task_id: 'task_odd', status: 'queued' },
      { code: 'success', message: '', data: { task_id: 'task_odd', status: 'FAILURE', fail_reason: 'content moderation rejected the output' } },
    ]);
    const first = await adapter.status(started.operation, context);
    expect(first).toMatchObject({ status: 'running', progress: 50, operation: { seen: 1, unknownStatus: 'rendering' } });
    const second = await adapter.status(first.operation!, context);
    expect(second.status).toBe('running');
    const third = await adapter.status(first.operation!, context);
    expect(third).toMatchObject({ status: 'failed', error: { class: 'moderation_output' }, usage: { billable: false } });
  });

  it('succeeded without a URL is a failure, not a billable success', async () => {
    const { adapter, context, started } = await scripted([{ task_id: 'task_odd', status: 'success' }]);
    expect(await adapter.status(started.operation, context)).toMatchObject({ status: 'failed', usage: { billable: false } });
  });

  it('a 5xx or unreadable query is a transient read (thrown), not a terminal status', async () => {
    const { adapter, context, started } = await scripted(['<html>bad gateway</html>']);
    await expect(adapter.status(started.operation, context)).rejects.toThrow(/unreadable/);
  });
});
