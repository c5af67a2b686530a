import { createServer } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { sniffContentType } from '../../src/providers/shared/media-sniff.js';
import { taskNotFound } from '../../src/providers/shared/task-not-found.js';
import { createSunoAdapter } from '../../src/providers/suno/index.js';
import { decodeCallback, decodeRecordInfo, parseMaybeJson } from '../../src/providers/suno/suno-decode.js';
import { PLACEHOLDER_CALLBACK_URL } from '../../src/providers/suno/suno-request.js';
import { SUNO_STATUSES } from '../../src/providers/suno/suno-status.js';
import { sanitize } from '../../src/providers/shared/sanitize.js';
import { readStatus } from '../../src/providers/shared/status-table.js';
import type { GenerationRequest, JsonValue, ProviderAdapter, ProviderContext, StartResult, StatusResult } from '../../src/providers/spec.js';
import { startSunoMock, SUNO_CDN_TTL_SECONDS, type SunoMockTask } from '../mock-upstreams/suno/server.js';
import { runConformance } from './conformance.js';

runConformance({
  name: 'suno',
  adapter: createSunoAdapter,
  startMock: () => startSunoMock(),
  basePath: '/api/v1',
  request: { kind: 'music', model: 'suno-v4.5', references: [], instrumental: false },
  upstreamModel: 'V4_5',
  // Suno accepts the task and fails it later with SENSITIVE_WORD_ERROR; it has no output moderation or expiry.
  moderationInputAtSubmit: false,
  supportsModerationOutput: false,
  supportsExpire: false,
});

type Mock = Awaited<ReturnType<typeof startSunoMock>>;
/** Mock-time phases far longer than a test's real run time, so only `offsetMs` moves tasks forward. */
const PHASES = { queuedMs: 5_000, runningMs: 10_000 };
const STEP_MS = 2_500;
let sequence = 0;

function music(prompt: string, extra: Partial<GenerationRequest> = {}): GenerationRequest {
  sequence += 1;
  return { taskId: `task_suno${sequence}`, kind: 'music', model: 'suno-v4.5', prompt, references: [], ...extra };
}

function contextFor(mock: Mock, extra: Partial<ProviderContext> = {}): ProviderContext {
  return { clock: new ManualClock(), upstreamModel: 'V4_5', baseUrl: `${mock.baseUrl}/api/v1`, credential: 'mock-key', settings: {}, attempt: 1, ...extra };
}

function accepted(started: StartResult): { operation: JsonValue; providerTaskId: string } {
  if (started.outcome !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(started)}`);
  return started;
}

/** Polls to a terminal status, moving mock time in small steps; returns every status seen. */
async function drive(adapter: ProviderAdapter, context: ProviderContext, mock: Mock, operation: JsonValue): Promise<StatusResult[]> {
  const seen: StatusResult[] = [];
  for (let step = 0; step < 60; step += 1) {
    const status = await adapter.status(operation, context);
    seen.push(status);
    if (status.operation !== undefined) operation = status.operation;
    if (!['queued', 'running'].includes(status.status)) return seen;
    mock.control.offsetMs += STEP_MS;
  }
  throw new Error('task never finished');
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A loopback callback receiver recording every body it gets. */
async function receiver() {
  const bodies: unknown[] = [];
  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/hooks/suno/tok123`, bodies, close: () => new Promise((resolve) => server.close(resolve)) };
}

const typeOf = (body: unknown) => (body as { data: { callbackType: string } }).data.callbackType;

describe('suno adapter: family specifics', () => {
  let mock: Mock;
  const adapter = createSunoAdapter({});
  beforeEach(async () => {
    mock = await startSunoMock(PHASES);
  });
  afterEach(async () => {
    await mock.close();
  });

  it('sends the documented create body, Idempotency-Key, and a placeholder callBackUrl when none is offered', async () => {
    const simple = music('a sea shanty about routers');
    const first = accepted(await adapter.start(simple, contextFor(mock)));
    const task = mock.control.tasks.get(first.providerTaskId) as SunoMockTask;
    expect(task.body).toEqual({ customMode: false, instrumental: false, model: 'V4_5', callBackUrl: PLACEHOLDER_CALLBACK_URL, prompt: 'a sea shanty about routers' });
    expect(mock.control.stats.creates[simple.taskId]).toBe(1);

    const custom = music('[Verse]\nPackets in the night', { style: 'synthwave', title: 'Latency', instrumental: false });
    const second = accepted(await adapter.start(custom, contextFor(mock, { callbackUrl: 'https://hooks.example/cb/1' })));
    expect((mock.control.tasks.get(second.providerTaskId) as SunoMockTask).body).toEqual({
      customMode: true, instrumental: false, model: 'V4_5', callBackUrl: 'https://hooks.example/cb/1',
      style: 'synthwave', title: 'Latency', prompt: '[Verse]\nPackets in the night',
    });
  });

  it('keeps the credential and the upstream host out of the operation', async () => {
    const started = accepted(await adapter.start(music('x'), contextFor(mock, { credential: 'mock-key' })));
    const json = JSON.stringify(started.operation);
    expect(json).not.toContain('mock-key');
    expect(json).not.toContain('127.0.0.1');
    expect(json).not.toContain(mock.baseUrl);
    const [running] = await drive(adapter, contextFor(mock), mock, started.operation);
    expect(JSON.stringify(running?.operation ?? {})).not.toContain('127.0.0.1');
  });

  it('reads PENDING → TEXT_SUCCESS → FIRST_SUCCESS → SUCCESS, two tracks, §12 usage facts', async () => {
    const context = contextFor(mock);
    const started = accepted(await adapter.start(music('a lighthouse at dusk'), context));
    const seen = await drive(adapter, context, mock, started.operation);
    // Steps of 2.5 s over 5 s PENDING, 5 s TEXT_SUCCESS, 5 s FIRST_SUCCESS.
    expect(seen.map((status) => status.status)).toEqual(['queued', 'queued', 'running', 'running', 'running', 'running', 'succeeded']);
    expect(seen.map((status) => status.progress)).toEqual([0, 0, 40, 40, 70, 70, 100]);
    const final = seen.at(-1)!;
    const task = mock.control.tasks.get(started.providerTaskId) as SunoMockTask;
    expect(final.outputs).toEqual(task.tracks.map((track) => ({ url: track.audioUrl, contentType: 'audio/wav', durationSeconds: track.duration })));
    const total = Math.round((task.tracks[0]!.duration + task.tracks[1]!.duration) * 100) / 100;
    expect(final.usage).toEqual({ music_tracks: 2, music_seconds: total, generations: 1, billable: true });
    const download = await fetch(final.outputs![0]!.url!);
    expect(download.status).toBe(200);
    expect(sniffContentType(new Uint8Array(await download.arrayBuffer()))).toBe('audio/wav');
    // The record carries the request as a JSON string (quirk 27).
    expect(JSON.parse(task.param)).toMatchObject({ model: 'V4_5' });
  });

  it('never moves a status backwards (PENDING after running is ignored)', async () => {
    const context = contextFor(mock);
    const started = accepted(await adapter.start(music('x [[scenario:slow_queue;ms=60000]]'), context));
    const claimed = { ...(started.operation as Record<string, JsonValue>), seen: 'running', progress: 40 };
    expect(await adapter.status(claimed, context)).toMatchObject({ status: 'running', progress: 40 });
    expect(await adapter.status(started.operation, context)).toMatchObject({ status: 'queued' });
  });

  it('maps status synonyms and unknown statuses', async () => {
    const context = contextFor(mock);
    const started = accepted(await adapter.start(music('x [[scenario:status_synonyms]]'), context));
    const raw = await fetch(`${mock.baseUrl}/api/v1/generate/record-info?taskId=${started.providerTaskId}`, { headers: { authorization: 'Bearer mock-key' } });
    expect(((await raw.json()) as { data: { status: string } }).data.status).toBe('submitted');
    const seen = await drive(adapter, context, mock, started.operation);
    expect(seen[0]!.status).toBe('queued');
    expect(seen.some((status) => status.status === 'running')).toBe(true);
    expect(seen.at(-1)).toMatchObject({ status: 'succeeded', usage: { music_tracks: 2, billable: true } });
    for (const [spelling, status] of [
      ['PENDING', 'queued'], ['queuing', 'queued'], ['text-success', 'running'], ['First_Success', 'running'], ['streaming', 'running'],
      ['complete', 'succeeded'], ['SUCCESS', 'succeeded'], ['CREATE_TASK_FAILED', 'failed'], ['CALLBACK_EXCEPTION', 'failed'],
      ['canceled', 'cancelled'], ['EXPIRED', 'expired'], ['SOMETHING_NEW', 'running'],
    ] as const) {
      expect(readStatus(SUNO_STATUSES, spelling).status).toBe(status);
    }
    expect(readStatus(SUNO_STATUSES, 'SOMETHING_NEW').known).toBe(false);
  });

  it('survives a double-encoded response (quirk 27)', async () => {
    const context = contextFor(mock);
    const started = accepted(await adapter.start(music('x [[scenario:double_encoded]]'), context));
    expect((await drive(adapter, context, mock, started.operation)).at(-1)).toMatchObject({ status: 'succeeded', usage: { music_tracks: 2 } });
    expect(parseMaybeJson(JSON.stringify(JSON.stringify({ a: 1 })))).toEqual({ a: 1 });
  });

  it('errors arrive inside HTTP 200 bodies (quirk 6) and map to classes', async () => {
    const raw = await fetch(`${mock.baseUrl}/api/v1/generate`, {
      method: 'POST', headers: { authorization: 'Bearer mock-key', 'content-type': 'application/json', 'x-mock-scenario': 'rate_limited;retry_after=3' }, body: '{}',
    });
    expect(raw.status).toBe(200);
    expect(await raw.json()).toMatchObject({ code: 429 });
    const context = contextFor(mock);
    expect(await adapter.start(music('x [[scenario:overloaded]]'), context)).toMatchObject({ outcome: 'rejected', error: { class: 'upstream_error' } });
    const serverError = await adapter.start(music('x [[scenario:server_error]]'), context);
    expect(serverError).toMatchObject({ outcome: 'unknown', error: { class: 'upstream_error' } });
    if (serverError.outcome !== 'accepted') expect(serverError.error.message).not.toMatch(/request id|mock-req/i);
    expect(await adapter.start(music('x'), { ...context, credential: undefined })).toMatchObject({ outcome: 'rejected', error: { class: 'auth' } });
    expect(Object.keys(mock.control.stats.creates)).toHaveLength(0);
  });

  it('empty 200 on create → unknown (network), though the task was created and counted', async () => {
    const generation = music('x [[scenario:empty_200]]');
    expect(await adapter.start(generation, contextFor(mock))).toMatchObject({ outcome: 'unknown', error: { class: 'network' } });
    expect(mock.control.stats.creates[generation.taskId]).toBe(1);
    expect(mock.control.tasks.size).toBe(1);
  });

  it('the mock enforces the documented validation; the adapter maps 422 → invalid_request', async () => {
    const context = contextFor(mock);
    expect(await adapter.start(music('y'.repeat(501)), context)).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    const longTitle = music('lyrics', { style: 'folk', title: 't'.repeat(81) });
    expect(await adapter.start(longTitle, { ...context, upstreamModel: 'V4' })).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    expect(await adapter.start(music('lyrics'), { ...context, upstreamModel: 'V3' })).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    // Refused locally, without a call: only one of style/title, references, non-music kinds.
    const requests = mock.control.stats.requests.create;
    expect(await adapter.start(music('l', { style: 'folk' }), context)).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    expect(await adapter.start(music('l', { kind: 'video' }), context)).toMatchObject({ outcome: 'rejected', error: { class: 'invalid_request' } });
    expect(mock.control.stats.requests.create).toBe(requests);
    expect(Object.keys(mock.control.stats.creates)).toHaveLength(0);
  });

  it('a connection refused before sending → rejected (network)', async () => {
    const closed = await startSunoMock();
    const baseUrl = `${closed.baseUrl}/api/v1`;
    await closed.close();
    expect(await adapter.start(music('x'), { ...contextFor(mock), baseUrl })).toMatchObject({ outcome: 'rejected', error: { class: 'network' } });
  });

  it('a late generation failure (GENERATE_AUDIO_FAILED, errorCode 501) → failed upstream_error, not billable', async () => {
    const context = contextFor(mock);
    const started = accepted(await adapter.start(music('x [[scenario:server_error;stage=task]]'), context));
    const final = (await drive(adapter, context, mock, started.operation)).at(-1)!;
    expect(final).toMatchObject({ status: 'failed', usage: { billable: false }, error: { class: 'upstream_error' } });
    expect(final.error?.message).toContain('501');
  });

  it('read errors keep the last status; a task the upstream does not know is "task not found" at once', async () => {
    // The grace for a task unknown right after its create is the engine's (shared/task-not-found.ts), not the adapter's.
    const context = contextFor(mock, { settings: { notFoundGraceMs: 60_000 } });
    const started = accepted(await adapter.start(music('x [[scenario:not_found]]'), context));
    const missing = await adapter.status(started.operation, context);
    expect(missing).toEqual(taskNotFound(missing.error!.message));
    expect(missing.error!.message).toContain('code 404');
    // kie's spelling: HTTP 200, body code 422 "recordInfo is null".
    const kie = accepted(await adapter.start(music('x [[scenario:not_found;shape=kie]]'), context));
    const recordNull = await adapter.status(kie.operation, context);
    expect(recordNull).toEqual(taskNotFound(recordNull.error!.message));
    expect(recordNull.error!.message).toContain('recordInfo is null');

    const other = accepted(await adapter.start(music('x'), context));
    mock.control.queueScenario('query', 'rate_limited;retry_after=4', 1);
    expect(await adapter.status(other.operation, context)).toMatchObject({ status: 'queued', error: { class: 'rate_limited', retryAfterSeconds: 4 } });
  });

  it('expired CDN links answer 403; default links live 14 days', async () => {
    const context = contextFor(mock);
    const started = accepted(await adapter.start(music('x [[scenario:url_short_ttl;ms=10000]]'), context));
    const final = (await drive(adapter, context, mock, started.operation)).at(-1)!;
    const url = final.outputs![0]!.url!;
    expect((await fetch(url)).status).toBe(200);
    mock.control.offsetMs += 15_000;
    expect((await fetch(url)).status).toBe(403);

    const normal = accepted(await adapter.start(music('y'), context));
    const done = (await drive(adapter, context, mock, normal.operation)).at(-1)!;
    const expires = Number(new URL(done.outputs![0]!.url!).searchParams.get('expires'));
    expect(expires * 1000 - mock.control.now()).toBeGreaterThan((SUNO_CDN_TTL_SECONDS - 60) * 1000);
  });

  it('sends staged snake_case callbacks that parse to the task, including an error callback', async () => {
    const hooks = await receiver();
    try {
      const context = contextFor(mock, { callbackUrl: hooks.url });
      const started = accepted(await adapter.start(music('x'), context));
      mock.control.offsetMs += 20_000;
      await until(() => hooks.bodies.length >= 3);
      expect(hooks.bodies.map(typeOf)).toEqual(['text', 'first', 'complete']);
      const complete = hooks.bodies[2] as { data: { data: Array<Record<string, unknown>> } };
      expect(complete.data.data).toHaveLength(2);
      expect(complete.data.data[0]).toHaveProperty('audio_url');
      expect(complete.data.data[0]).not.toHaveProperty('audioUrl');
      for (const body of hooks.bodies) expect(adapter.parseCallback!(body, {})).toEqual({ providerTaskId: started.providerTaskId });
      expect(adapter.parseCallback!(JSON.stringify(hooks.bodies[0]), {})).toEqual({ providerTaskId: started.providerTaskId });
      expect(adapter.parseCallback!({ hello: 'world' }, {})).toBeNull();
      expect(adapter.parseCallback!('not json', {})).toBeNull();

      // Quirk 5: the snake_case callback and the camelCase record decode to the same tracks.
      const record = await fetch(`${mock.baseUrl}/api/v1/generate/record-info?taskId=${started.providerTaskId}`, { headers: { authorization: 'Bearer mock-key' } });
      const decoded = decodeRecordInfo(((await record.json()) as { data: unknown }).data);
      expect(decodeCallback(complete)?.tracks).toEqual(decoded?.tracks);

      const moderated = accepted(await adapter.start(music('bad [[scenario:moderation_input]]'), context));
      mock.control.offsetMs += 20_000;
      await until(() => hooks.bodies.length >= 4);
      const error = hooks.bodies[3] as { code: number };
      expect(typeOf(error)).toBe('error');
      expect(error.code).not.toBe(200);
      expect(adapter.parseCallback!(error, {})).toEqual({ providerTaskId: moderated.providerTaskId });
      expect(await adapter.status(moderated.operation, context)).toMatchObject({ status: 'failed', error: { class: 'moderation_input' } });
    } finally {
      await hooks.close();
    }
  });

  it('duplicate and out-of-order callbacks are only hints: the re-read status stays succeeded', async () => {
    const hooks = await receiver();
    try {
      const context = contextFor(mock, { callbackUrl: hooks.url });
      const duplicated = accepted(await adapter.start(music('x [[scenario:callback_duplicate]]'), context));
      mock.control.offsetMs += 20_000;
      await until(() => hooks.bodies.length >= 6);
      expect(hooks.bodies.map(typeOf)).toEqual(['text', 'text', 'first', 'first', 'complete', 'complete']);
      expect(new Set(hooks.bodies.map((body) => adapter.parseCallback!(body, {})?.providerTaskId))).toEqual(new Set([duplicated.providerTaskId]));

      hooks.bodies.length = 0;
      const shuffled = accepted(await adapter.start(music('x [[scenario:callback_out_of_order]]'), context));
      mock.control.offsetMs += 20_000;
      await until(() => hooks.bodies.length >= 3);
      expect(hooks.bodies.map(typeOf)).toEqual(['text', 'complete', 'first']);
      expect(adapter.parseCallback!(hooks.bodies[2], {})).toEqual({ providerTaskId: shuffled.providerTaskId });
      expect(await adapter.status(shuffled.operation, context)).toMatchObject({ status: 'succeeded' });
    } finally {
      await hooks.close();
    }
  });

  it('strips request ids from operator messages', () => {
    expect(sanitize('Internal error. Request id: 0217abc-99')).toBe('Internal error.');
    expect(sanitize('boom (request_id=xyz)')).toBe('boom');
  });
});
