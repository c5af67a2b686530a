import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMp4, makePng, makeWav, sniffContentType } from '../../src/providers/sandbox/media.js';
import { startTestApp } from '../harness/app.js';
import { runUntilDone, testCustomer, testWallet } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * The API faces onto the one task core (API.md §2–§6): the jobs face, the new-api face, the native routes (images,
 * music, models, quotes, tasks), key policy (SEMANTICS K10, K11, R5, M2, R7), strict validation (E4) and reference
 * checks made at submission (API.md §4, SEMANTICS S2–S5), each rejection storing nothing (I8).
 */
const ctx = useTestApp();

const FILE_URL = () => new RegExp(`^${ctx.app.baseUrl}/v1/files/file_[0-9A-Za-z]+/content\\?expires=\\d+&sig=`);
const JOB_ID = /^job_[0-9A-Za-z]{22}$/;
const TASK_ID = /^task_[0-9A-Za-z]{22}$/;

/** Reference media on loopback (127.0.0.1 is a trusted host in tests, SEMANTICS S11), with a hit log. */
const fixtures: Record<string, [string, Buffer]> = {
  '/a.png': ['image/png', makePng('fixture', { width: 64, height: 36 })],
  '/ref.mp4': ['video/mp4', makeMp4('fixture', { width: 320, height: 180, seconds: 3 })],
  '/ref.wav': ['audio/wav', makeWav('fixture', { seconds: 2 })],
};
const fixtureHits: string[] = [];
let fixtureServer: Server;
let fixtureBase = '';
beforeAll(async () => {
  fixtureServer = createServer((request, response) => {
    fixtureHits.push(request.url ?? '');
    const fixture = fixtures[request.url ?? ''];
    if (!fixture) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': fixture[0], 'content-length': String(fixture[1].length) }).end(fixture[1]);
  });
  await new Promise<void>((resolve) => fixtureServer.listen(0, '127.0.0.1', resolve));
  fixtureBase = `http://127.0.0.1:${(fixtureServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => fixtureServer.close(() => resolve()));
});

let idemCounter = 0;
function idem(): Record<string, string> {
  idemCounter += 1;
  return { 'idempotency-key': `faces-${process.pid}-${idemCounter}` };
}

function pngDataUrl(seed = 'ref', size = 32): string {
  return `data:image/png;base64,${makePng(seed, { width: size, height: size }).toString('base64')}`;
}

async function taskCount(customerId: string): Promise<number> {
  const result = await ctx.app.deps.db.query<{ count: string | bigint }>('SELECT COUNT(*) AS count FROM tasks WHERE customer_id = $1', [customerId]);
  return Number(result.rows[0]!.count);
}

async function fileCount(customerId: string): Promise<number> {
  const result = await ctx.app.deps.db.query<{ count: string | bigint }>('SELECT COUNT(*) AS count FROM files WHERE customer_id = $1', [customerId]);
  return Number(result.rows[0]!.count);
}

/** I8: no task row, no file, no reservation — checked in the database and through the customer's own reads. */
async function expectNothingStored(customerId: string, readKey: string, balance: number): Promise<void> {
  expect(await taskCount(customerId)).toBe(0);
  expect(await fileCount(customerId)).toBe(0);
  const list = await ctx.app.request('GET', '/v1/tasks', { key: readKey });
  expect(list.status).toBe(200);
  expect(list.body.data).toEqual([]);
  const usage = await ctx.app.request('GET', '/v1/usage', { key: readKey });
  expect(usage.body).toMatchObject({ creditsBalance: balance, creditsReserved: 0, creditsAvailable: balance });
}

function stripeOk(body: any) {
  expect(body.ok).toBe(false);
}

describe('jobs face (API.md §5)', () => {
  it('POST /v1/videos/generate: a processing job, readable by job_ and task_ ids, completed with a durable result', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/videos/generate', {
      key: owner.key,
      headers: idem(),
      body: { prompt: 'drone shot over rice fields', size: '16:9_SMALL', duration: 5, motionHasAudio: true },
    });
    expect(created.status, created.text).toBe(202);
    // Default model seedance-2.0-fast; 16:9_SMALL = 16:9 at its smallest resolution (480p, 600 credits/s).
    expect(created.body).toEqual({
      ok: true, jobId: expect.stringMatching(JOB_ID), status: 'processing', type: 'video', chargedCredits: 3000,
      createdAt: expect.any(String), updatedAt: expect.any(String),
    });
    const jobId: string = created.body.jobId;
    const taskId = `task_${jobId.slice(4)}`;
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 3000 });

    const task = await ctx.app.request('GET', `/v1/tasks/${taskId}`, { key: owner.key });
    expect(task.status).toBe(200);
    expect(task.body).toMatchObject({
      id: taskId, type: 'video', model: 'seedance-2.0-fast', status: 'queued',
      request: { prompt: 'drone shot over rice fields', seconds: 5, ratio: '16:9', resolution: '480p', generate_audio: true, references: [] },
      credits: { reserved: 3000, charged: 0 }, mode: 'test',
    });

    for (const id of [jobId, taskId]) {
      const job = await ctx.app.request('GET', `/v1/jobs/${id}`, { key: owner.key });
      expect(job.status).toBe(200);
      expect(job.body).toMatchObject({ ok: true, jobId, status: 'processing', type: 'video', chargedCredits: 3000 });
      expect(job.body.error).toBeUndefined();
      const notReady = await ctx.app.request('GET', `/v1/jobs/${id}/result`, { key: owner.key });
      expectV1Error(notReady, 409, 'not_ready');
      stripeOk(notReady.body);
    }

    const done = await runUntilDone(ctx.app, taskId);
    expect(done.status).toBe('succeeded');
    const job = await ctx.app.request('GET', `/v1/jobs/${jobId}`, { key: owner.key });
    expect(job.body).toMatchObject({ ok: true, jobId, status: 'completed', type: 'video', chargedCredits: 3000 });
    expect(Date.parse(job.body.updatedAt)).toBeGreaterThan(Date.parse(job.body.createdAt));
    for (const id of [jobId, taskId]) {
      const result = await ctx.app.request('GET', `/v1/jobs/${id}/result`, { key: owner.key });
      expect(result.status).toBe(200);
      expect(result.body).toEqual({ ok: true, jobId, type: 'video', url: expect.stringMatching(FILE_URL()), urls: [result.body.url] });
    }
    const result = await ctx.app.request('GET', `/v1/jobs/${jobId}/result`, { key: owner.key });
    const download = await fetch(result.body.url);
    expect(download.status).toBe(200);
    expect(sniffContentType(new Uint8Array(await download.arrayBuffer()))).toBe('video/mp4');
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000 - 3000, reserved: 0 });
  });

  it('POST /v1/images/generate: quality and R_SMALL size map onto the image model; the job completes with one PNG', async () => {
    const owner = await testCustomer(ctx.app);
    const cases: Array<[string, string]> = [['16:9_SMALL', '1280x720'], ['9:16_SMALL', '720x1280'], ['2:3_SMALL', '1024x1536'], ['1:1_SMALL', '1024x1024']];
    const ids: string[] = [];
    for (const [size, pixels] of cases) {
      const created = await ctx.app.request('POST', '/v1/images/generate', {
        key: owner.key, headers: idem(), body: { prompt: 'cinematic product photo', quality: 'LOW', size },
      });
      expect(created.status, created.text).toBe(202);
      // gpt-image-2 (the image default) at quality low: 150 credits per image.
      expect(created.body).toMatchObject({ ok: true, jobId: expect.stringMatching(JOB_ID), status: 'processing', type: 'image', chargedCredits: 150 });
      const taskId = `task_${created.body.jobId.slice(4)}`;
      const task = await ctx.app.request('GET', `/v1/tasks/${taskId}`, { key: owner.key });
      expect(task.body).toMatchObject({ model: 'gpt-image-2', type: 'image', request: { size: pixels, quality: 'low', n: 1 }, credits: { reserved: 150 } });
      ids.push(taskId);
    }
    const medium = await ctx.app.request('POST', '/v1/images/generate', { key: owner.key, headers: idem(), body: { prompt: 'medium', quality: 'MEDIUM' } });
    expect(medium.body.chargedCredits).toBe(500);
    ids.push(`task_${medium.body.jobId.slice(4)}`);
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 4 * 150 + 500 });

    const done = await runUntilDone(ctx.app, ids[0]!);
    expect(done.status).toBe('succeeded');
    const jobId = `job_${ids[0]!.slice(5)}`;
    expect((await ctx.app.request('GET', `/v1/jobs/${jobId}`, { key: owner.key })).body).toMatchObject({ status: 'completed', chargedCredits: 150, type: 'image' });
    const result = await ctx.app.request('GET', `/v1/jobs/${jobId}/result`, { key: owner.key });
    expect(result.body).toEqual({ ok: true, jobId, type: 'image', url: expect.stringMatching(FILE_URL()), urls: [result.body.url] });
    const bytes = new Uint8Array(await (await fetch(result.body.url)).arrayBuffer());
    expect(sniffContentType(bytes)).toBe('image/png');
    for (const id of ids.slice(1)) await runUntilDone(ctx.app, id);
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000 - 4 * 150 - 500, reserved: 0 });
  });

  it('size R_SMALL picks the named model\'s smallest resolution; model may be given', async () => {
    const owner = await testCustomer(ctx.app);
    const cases: Array<[string, string, string, number]> = [
      ['seedance-2.0', '9:16_SMALL', '480p', 4 * 900],
      ['happyhorse-1.0', '1:1_SMALL', '720p', 4 * 1400],
      ['sora-2', '16:9_SMALL', '720p', 4 * 1000],
    ];
    for (const [model, size, resolution, price] of cases) {
      const created = await ctx.app.request('POST', '/v1/videos/generate', { key: owner.key, headers: idem(), body: { prompt: 'p', model, size, duration: 4 } });
      expect(created.status, created.text).toBe(202);
      expect(created.body.chargedCredits).toBe(price);
      const task = await ctx.app.request('GET', `/v1/tasks/${created.body.jobId}`, { key: owner.key });
      expect(task.body).toMatchObject({ model, request: { ratio: size.replace('_SMALL', ''), resolution, seconds: 4 } });
    }
    // Without size, the model's own defaults apply (720p, 16:9).
    const plain = await ctx.app.request('POST', '/v1/videos/generate', { key: owner.key, headers: idem(), body: { prompt: 'p', duration: 15 } });
    expect(plain.body.chargedCredits).toBe(15 * 1200);
    const task = await ctx.app.request('GET', `/v1/tasks/${plain.body.jobId}`, { key: owner.key });
    expect(task.body.request).toMatchObject({ ratio: '16:9', resolution: '720p', seconds: 15 });
  });

  it('referenceImage: a PNG data URL is stored as a file reference (first_frame / reference_image), an https URL as a URL', async () => {
    const owner = await testCustomer(ctx.app);
    const video = await ctx.app.request('POST', '/v1/videos/generate', {
      key: owner.key, headers: idem(),
      body: { prompt: 'animate this', size: '16:9_SMALL', duration: 5, referenceImage: { imageUrl: pngDataUrl('frame', 48), strength: 'HIGH' } },
    });
    expect(video.status, video.text).toBe(202);
    const videoTaskId = `task_${video.body.jobId.slice(4)}`;
    const videoTask = await ctx.app.request('GET', `/v1/tasks/${videoTaskId}`, { key: owner.key });
    expect(videoTask.body.request.references).toEqual([{ type: 'image', role: 'first_frame', file_id: expect.stringMatching(/^file_/), strength: 'high' }]);
    const fileId: string = videoTask.body.request.references[0].file_id;
    const file = await ctx.app.deps.db.query<{ task_id: string; purpose: string; content_type: string; customer_id: string }>(
      'SELECT task_id, purpose, content_type, customer_id FROM files WHERE id = $1', [fileId],
    );
    expect(file.rows[0]).toEqual({ task_id: videoTaskId, purpose: 'reference', content_type: 'image/png', customer_id: owner.customerId });
    // The owner can download the stored reference with the key; its bytes are the PNG that was sent.
    const content = await ctx.app.request('GET', `/v1/files/${fileId}/content`, { key: owner.key });
    expect(content.status).toBe(200);
    expect(content.headers.get('content-type')).toBe('image/png');

    const image = await ctx.app.request('POST', '/v1/images/generate', {
      key: owner.key, headers: idem(),
      body: { prompt: 'restyle', referenceImage: { imageUrl: 'https://example.com/ref.png', strength: 'MID' } },
    });
    expect(image.status, image.text).toBe(202);
    const imageTask = await ctx.app.request('GET', `/v1/tasks/${image.body.jobId}`, { key: owner.key });
    expect(imageTask.body.request.references).toEqual([{ type: 'image', role: 'reference_image', url: 'https://example.com/ref.png', strength: 'mid' }]);

    const task = await runUntilDone(ctx.app, videoTaskId);
    expect(task.status).toBe('succeeded');
  });

  it('a failed job: status failed with its error, result 409 with the task\'s own code, charged 0', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/videos/generate', {
      key: owner.key, headers: idem(), body: { prompt: 'forbidden [[scenario:moderation_output]]', duration: 5 },
    });
    expect(created.status).toBe(202);
    const task = await runUntilDone(ctx.app, `task_${created.body.jobId.slice(4)}`);
    expect(task.status).toBe('failed');
    const job = await ctx.app.request('GET', `/v1/jobs/${created.body.jobId}`, { key: owner.key });
    expect(job.body).toMatchObject({
      ok: true, jobId: created.body.jobId, status: 'failed', type: 'video', chargedCredits: 0,
      error: { code: 'content_policy_violation', message: expect.any(String) },
    });
    const result = await ctx.app.request('GET', `/v1/jobs/${created.body.jobId}/result`, { key: owner.key });
    expectV1Error(result, 409, 'content_policy_violation');
    expect(result.body.error.type).toBe('conflict_error');
    stripeOk(result.body);
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 0 });
  });

  it('a cancelled job shows cancelled and its result answers 409 cancelled', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/images/generate', { key: owner.key, headers: idem(), body: { prompt: 'cancel' } });
    const cancelled = await ctx.app.request('POST', `/v1/tasks/${created.body.jobId}/cancel`, { key: owner.key });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await ctx.app.request('GET', `/v1/jobs/${created.body.jobId}`, { key: owner.key })).body).toMatchObject({ status: 'cancelled', chargedCredits: 0 });
    expectV1Error(await ctx.app.request('GET', `/v1/jobs/${created.body.jobId}/result`, { key: owner.key }), 409, 'cancelled');
  });

  it('Idempotency-Key is required on both generate routes: 400 idempotency_key_missing with ok:false, nothing stored', async () => {
    const owner = await testCustomer(ctx.app);
    for (const [path, body] of [['/v1/videos/generate', { prompt: 'p' }], ['/v1/images/generate', { prompt: 'p' }]] as const) {
      const response = await ctx.app.request('POST', path, { key: owner.key, body });
      expectV1Error(response, 400, 'idempotency_key_missing');
      expect(response.body.error.param).toBe('Idempotency-Key');
      expect(response.body.error.type).toBe('invalid_request_error');
      stripeOk(response.body);
    }
    await expectNothingStored(owner.customerId, owner.key, 1_000_000);
  });

  it('jobs-face validation: unknown fields, bad enum values and durations are 400 with ok:false', async () => {
    const owner = await testCustomer(ctx.app);
    // param is checked where the face field and the native field share a name; mapped fields (duration → seconds,
    // referenceImage → references.0) are reported under their native names today.
    const cases: Array<[string, Record<string, unknown>, string, string | null]> = [
      ['/v1/videos/generate', { prompt: 'p', customer_id: 'cus_x' }, 'unknown_parameter', 'customer_id'],
      ['/v1/images/generate', { prompt: 'p', cost: 0 }, 'unknown_parameter', 'cost'],
      ['/v1/videos/generate', { prompt: 'p', status: 'completed' }, 'unknown_parameter', 'status'],
      ['/v1/images/generate', { prompt: 'p', referenceImage: { imageUrl: 'https://example.com/a.png', weight: 1 } }, 'unknown_parameter', 'referenceImage.weight'],
      ['/v1/images/generate', { prompt: 'p', size: '16:9_LARGE' }, 'invalid_request', 'size'],
      ['/v1/images/generate', { prompt: 'p', quality: 'HIGH' }, 'invalid_request', 'quality'],
      ['/v1/images/generate', { prompt: '' }, 'invalid_request', 'prompt'],
      ['/v1/videos/generate', { prompt: 'p', duration: 99 }, 'invalid_request', null],
      ['/v1/videos/generate', { prompt: 'p', duration: 0 }, 'invalid_request', 'duration'],
      ['/v1/videos/generate', { prompt: 'p', referenceImage: { imageUrl: 'file:///etc/passwd' } }, 'invalid_reference', null],
      ['/v1/videos/generate', { prompt: 'p', referenceImage: { imageUrl: 'https://169.254.169.254/' } }, 'invalid_reference', null],
      ['/v1/videos/generate', { prompt: 'p', model: 'gpt-image-2' }, 'invalid_request', 'model'],
      ['/v1/images/generate', { prompt: 'p', model: 'seedance-2.0' }, 'invalid_request', 'model'],
    ];
    for (const [path, body, code, param] of cases) {
      const response = await ctx.app.request('POST', path, { key: owner.key, headers: idem(), body });
      expectV1Error(response, 400, code);
      if (param !== null) expect(response.body.error.param, JSON.stringify(body)).toBe(param);
      stripeOk(response.body);
    }
    await expectNothingStored(owner.customerId, owner.key, 1_000_000);
  });
});

describe('new-api face (API.md §6)', () => {
  it('POST /v1/video/generations with metadata options and content references → submitted; GET → succeeded with a genrelay URL', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/video/generations', {
      key: owner.key,
      body: {
        model: 'seedance-2.0', prompt: 'a lighthouse at dusk', seconds: '10',
        images: [`${fixtureBase}/a.png`],
        metadata: {
          ratio: '9:16', resolution: '1080p', generate_audio: false, callback_url: 'https://example.com/hook', order: 'A-1',
          content: [
            { type: 'image_url', image_url: { url: pngDataUrl('content') }, role: 'first_frame' },
            { type: 'video_url', video_url: { url: `${fixtureBase}/ref.mp4` }, role: 'reference_video' },
            { type: 'audio_url', audio_url: { url: `${fixtureBase}/ref.wav` }, role: 'reference_audio' },
          ],
        },
      },
    });
    expect(created.status, created.text).toBe(200); // new-api answers 200 (API.md §6 names no status)
    expect(created.body).toEqual({ task_id: expect.stringMatching(TASK_ID), status: 'submitted' });
    const taskId: string = created.body.task_id;
    // seedance-2.0, 10 s at 1080p = 40 000 credits.
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 40_000 });
    const native = await ctx.app.request('GET', `/v1/tasks/${taskId}`, { key: owner.key });
    expect(native.body).toMatchObject({
      model: 'seedance-2.0', callback_url: 'https://example.com/hook',
      request: { seconds: 10, ratio: '9:16', resolution: '1080p', generate_audio: false },
      credits: { reserved: 40_000, charged: 0 },
    });
    expect(native.body.request.references).toEqual([
      { type: 'image', role: 'reference_image', url: `${fixtureBase}/a.png` },
      { type: 'image', role: 'first_frame', file_id: expect.stringMatching(/^file_/) },
      { type: 'video', role: 'reference_video', url: `${fixtureBase}/ref.mp4` },
      { type: 'audio', role: 'reference_audio', url: `${fixtureBase}/ref.wav` },
    ]);
    fixtureHits.length = 0;

    const pending = await ctx.app.request('GET', `/v1/video/generations/${taskId}`, { key: owner.key });
    expect(pending.status).toBe(200);
    expect(pending.body).toMatchObject({ task_id: taskId, status: 'submitted', url: '', format: 'mp4' });
    expect(pending.body.metadata).toMatchObject({ order: 'A-1', ratio: '9:16', resolution: '1080p' });
    expect(pending.body.error).toBeUndefined();

    const task = await runUntilDone(ctx.app, taskId);
    expect(task.status, task.error_code).toBe('succeeded');
    // The worker fetched each URL reference (the inline one came from storage).
    expect([...fixtureHits].sort()).toEqual(['/a.png', '/ref.mp4', '/ref.wav']);
    const done = await ctx.app.request('GET', `/v1/video/generations/${taskId}`, { key: owner.key });
    expect(done.body).toMatchObject({ task_id: taskId, status: 'succeeded', format: 'mp4', url: expect.stringMatching(FILE_URL()) });
    const bytes = new Uint8Array(await (await fetch(done.body.url)).arrayBuffer());
    expect(sniffContentType(bytes)).toBe('video/mp4');
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000 - 40_000, reserved: 0 });
  });

  it('a failed new-api task reports failed with its error code', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/video/generations', {
      key: owner.key, body: { model: 'seedance-2.0-fast', prompt: 'bad [[scenario:moderation_output]]', duration: 5 },
    });
    const task = await runUntilDone(ctx.app, created.body.task_id);
    expect(task.status).toBe('failed');
    const view = await ctx.app.request('GET', `/v1/video/generations/${created.body.task_id}`, { key: owner.key });
    expect(view.body).toMatchObject({ status: 'failed', url: '', error: { code: 'content_policy_violation' } });
  });

  it('new-api validation: unknown top-level field, bad ratio, private URLs → 400, nothing stored', async () => {
    const owner = await testCustomer(ctx.app);
    const base = { model: 'seedance-2.0', prompt: 'p' };
    // Options under metadata are reported under their native names (ratio, references.N, callback_url).
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ ...base, status: 'succeeded' }, 'unknown_parameter', 'status'],
      [{ ...base, customer_id: 'cus_x' }, 'unknown_parameter', 'customer_id'],
      [{ ...base, seconds: '99' }, 'invalid_request', 'seconds'],
      [{ ...base, metadata: { ratio: '5:4' } }, 'invalid_request', 'ratio'],
      [{ ...base, metadata: { resolution: '4k' } }, 'invalid_request', 'resolution'],
      [{ ...base, images: ['https://10.1.2.3/a.png'] }, 'invalid_reference', 'references.0'],
      [{ ...base, metadata: { content: [{ type: 'image_url', image_url: { url: 'https://localhost/a.png' } }] } }, 'invalid_reference', 'references.0'],
      [{ ...base, images: Array.from({ length: 9 }, (_, i) => `https://example.com/${i}.png`), metadata: { content: [{ type: 'image_url', image_url: { url: 'https://example.com/10.png' } }] } }, 'invalid_reference', 'references.9'],
      [{ ...base, metadata: { callback_url: 'https://192.168.0.1/hook' } }, 'invalid_request', 'callback_url'],
    ];
    for (const [body, code, param] of cases) {
      const response = await ctx.app.request('POST', '/v1/video/generations', { key: owner.key, body });
      expectV1Error(response, 400, code);
      expect(response.body.error.param, JSON.stringify(body)).toBe(param);
      expect(response.body.ok).toBeUndefined();
    }
    await expectNothingStored(owner.customerId, owner.key, 1_000_000);
  });
});

describe('native routes', () => {
  it('POST /v1/images/generations async variants answer 202 with the native task', async () => {
    const owner = await testCustomer(ctx.app);
    const body = { model: 'gpt-image-2', prompt: 'a cat', size: '1536x1024', quality: 'high', n: 2 };
    const variants: Array<[Record<string, unknown>, Record<string, string>]> = [
      [{ ...body, async: true }, {}],
      [body, { prefer: 'respond-async' }],
      [{ ...body, callback_url: 'https://example.com/hook', metadata: { ref: 7 } }, {}],
    ];
    for (const [payload, headers] of variants) {
      const created = await ctx.app.request('POST', '/v1/images/generations', { key: owner.key, body: payload, headers });
      expect(created.status, created.text).toBe(202);
      expect(created.headers.get('location')).toBe(`/v1/tasks/${created.body.id}`);
      expect(created.body).toMatchObject({
        id: expect.stringMatching(TASK_ID), object: 'task', type: 'image', model: 'gpt-image-2', status: 'queued', progress: 0,
        request: { prompt: 'a cat', size: '1536x1024', quality: 'high', n: 2 }, result: null, error: null,
        credits: { reserved: 4000, charged: 0 }, mode: 'test',
      });
    }
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 3 * 4000 });
    const list = await ctx.app.request('GET', '/v1/tasks?type=image', { key: owner.key });
    expect(list.body.data).toHaveLength(3);
    const withCallback = list.body.data.find((task: any) => task.callback_url !== null);
    expect(withCallback).toMatchObject({ callback_url: 'https://example.com/hook', metadata: { ref: 7 } });
    const task = await runUntilDone(ctx.app, withCallback.id);
    expect(task.status).toBe('succeeded');
    const done = await ctx.app.request('GET', `/v1/tasks/${withCallback.id}`, { key: owner.key });
    expect(done.body.result.assets).toHaveLength(2);
    expect(done.body.result.assets.map((asset: any) => asset.content_type)).toEqual(['image/png', 'image/png']);
    expect(done.body.credits).toEqual({ reserved: 4000, charged: 4000 });
  });

  it('POST /v1/images/generations is synchronous by default (worker running): 200 with URLs or b64_json; moderation → 400', async () => {
    const app = await startTestApp({ env: { SANDBOX_QUEUE_MS: '0', SANDBOX_RUN_MS: '0', WORKER_INTERVAL_MS: '20', POLL_INTERVAL_MS: '0' } });
    try {
      app.worker.start();
      const customer = await app.createCustomer();
      const key = (await app.createKey(customer.id, { mode: 'test' })).key;
      await app.grant(customer.id, 10_000, 'test');
      const sync = await app.request('POST', '/v1/images/generations', { key, body: { prompt: 'a sync cat', quality: 'low', size: '1024x1024' } });
      expect(sync.status, sync.text).toBe(200);
      expect(sync.body).toEqual({
        created: expect.any(Number),
        data: [{ url: expect.stringMatching(new RegExp(`^${app.baseUrl}/v1/files/file_[0-9A-Za-z]+/content\\?expires=\\d+&sig=`)) }],
        usage: { images: 1, credits: 150 },
      });
      expect(sniffContentType(new Uint8Array(await (await fetch(sync.body.data[0].url)).arrayBuffer()))).toBe('image/png');

      const b64 = await app.request('POST', '/v1/images/generations', { key, body: { prompt: 'b64', quality: 'low', response_format: 'b64_json' } });
      expect(b64.status, b64.text).toBe(200);
      expect(sniffContentType(Buffer.from(b64.body.data[0].b64_json, 'base64'))).toBe('image/png');

      const moderated = await app.request('POST', '/v1/images/generations', { key, body: { prompt: 'no [[scenario:moderation_output]]', quality: 'low' } });
      expectV1Error(moderated, 400, 'content_policy_violation');
      const balance = await app.deps.wallet.balance(customer.id, 'test');
      expect({ balance: Number(balance.balance), reserved: Number(balance.reserved) }).toEqual({ balance: 10_000 - 300, reserved: 0 });
      await app.worker.stop();
      expect(await app.invariants()).toEqual({});
    } finally {
      await app.close();
    }
  });

  it('POST /v1/music/generations → 202; succeeds with two audio/wav assets and is charged the track price', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/music/generations', {
      key: owner.key, body: { prompt: 'lofi beat', style: 'lofi', title: 'Rain', instrumental: true },
    });
    expect(created.status, created.text).toBe(202);
    expect(created.headers.get('location')).toBe(`/v1/tasks/${created.body.id}`);
    expect(created.body).toMatchObject({
      object: 'task', type: 'music', model: 'suno-v5', status: 'queued',
      request: { prompt: 'lofi beat', style: 'lofi', title: 'Rain', instrumental: true }, credits: { reserved: 1500, charged: 0 },
    });
    const task = await runUntilDone(ctx.app, created.body.id);
    expect(task.status).toBe('succeeded');
    const done = await ctx.app.request('GET', `/v1/tasks/${created.body.id}`, { key: owner.key });
    expect(done.body.credits).toEqual({ reserved: 1500, charged: 1500 });
    expect(done.body.result.assets).toHaveLength(2);
    for (const asset of done.body.result.assets) {
      expect(asset).toMatchObject({ content_type: 'audio/wav', url: expect.stringMatching(FILE_URL()), duration_seconds: expect.any(Number) });
      expect(sniffContentType(new Uint8Array(await (await fetch(asset.url)).arrayBuffer()))).toBe('audio/wav');
    }
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000 - 1500, reserved: 0 });
  });

  it('GET /v1/models lists the demo catalog; an allow-listed key sees only its models; GET /v1/models/:id and 404s', async () => {
    const owner = await testCustomer(ctx.app);
    const list = await ctx.app.request('GET', '/v1/models', { key: owner.key });
    expect(list.status).toBe(200);
    expect(list.body.object).toBe('list');
    expect(list.body.data.map((model: any) => model.id)).toEqual([
      'seedance-2.0', 'seedance-2.0-fast', 'seedance-1.5-pro', 'happyhorse-1.0', 'grok-imagine-video', 'sora-2',
      'gpt-image-2', 'grok-imagine-image', 'seedream-4.5', 'grok-4-fast', 'gpt-5-mini', 'text-embedding-3-small', 'suno-v5',
    ]);
    for (const model of list.body.data) {
      expect(model).toMatchObject({ object: 'model', owned_by: 'genrelay', created: expect.any(Number), type: expect.stringMatching(/^(video|image|music|chat|embedding)$/), capabilities: expect.any(Object), pricing: { unit: expect.any(String) } });
    }
    const seedance = list.body.data[0];
    expect(seedance).toMatchObject({
      type: 'video', category: 'text-to-video',
      capabilities: { durations: { min: 4, max: 15, default: 5 }, resolutions: ['480p', '720p', '1080p'], max_reference_images: 9 },
      pricing: { unit: 'second', credits_by: { '480p': 900, '720p': 1800, '1080p': 4000 } },
    });
    expect(list.body.data.find((model: any) => model.id === 'suno-v5').pricing).toEqual({ unit: 'track', credits: 1500 });
    expect(list.body.data.find((model: any) => model.id === 'sora-2').pricing.list_price).toEqual({ amount: 0.1, currency: 'USD', unit: 'second' });

    const one = await ctx.app.request('GET', '/v1/models/gpt-image-2', { key: owner.key });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(list.body.data.find((model: any) => model.id === 'gpt-image-2'));
    expectV1Error(await ctx.app.request('GET', '/v1/models/no-such-model', { key: owner.key }), 404, 'not_found');

    const narrow = await ctx.app.createKey(owner.customerId, { mode: 'test', allowed_models: ['gpt-image-2', 'suno-v5'] });
    const narrowList = await ctx.app.request('GET', '/v1/models', { key: narrow.key });
    expect(narrowList.body.data.map((model: any) => model.id)).toEqual(['gpt-image-2', 'suno-v5']);
    expect((await ctx.app.request('GET', '/v1/models/suno-v5', { key: narrow.key })).status).toBe(200);
    const hidden = await ctx.app.request('GET', '/v1/models/seedance-2.0', { key: narrow.key });
    expectV1Error(hidden, 404, 'not_found');
    // A disallowed model looks exactly like an unknown one (E3).
    const unknown = await ctx.app.request('GET', '/v1/models/no-such-model', { key: narrow.key });
    expect({ ...hidden.body.error, request_id: null }).toEqual({ ...unknown.body.error, request_id: null });
  });

  it('POST /v1/quotes prices like the catalog and reserves nothing', async () => {
    const owner = await testCustomer(ctx.app);
    const cases: Array<[Record<string, unknown>, number, Array<Record<string, unknown>>]> = [
      [{ model: 'seedance-2.0', seconds: 10, resolution: '1080p' }, 40_000, [{ item: 'video 1080p second', quantity: 10, unit_credits: 4000, credits: 40_000 }]],
      [{ model: 'seedance-2.0-fast', seconds: '5' }, 6000, [{ quantity: 5, unit_credits: 1200, credits: 6000 }]],
      [{ model: 'seedance-1.5-pro', size: '1920x1080', seconds: 4 }, 8800, [{ quantity: 4, unit_credits: 2200 }]],
      [{ model: 'gpt-image-2', quality: 'high', n: 2 }, 4000, [{ item: 'image', quantity: 2, unit_credits: 2000, credits: 4000 }]],
      [{ model: 'grok-imagine-image' }, 300, [{ quantity: 1, unit_credits: 300 }]],
      [{ model: 'suno-v5' }, 1500, [{ quantity: 1, unit_credits: 1500, credits: 1500 }]],
    ];
    for (const [body, credits, breakdown] of cases) {
      const quote = await ctx.app.request('POST', '/v1/quotes', { key: owner.key, body });
      expect(quote.status, quote.text).toBe(200);
      expect(quote.body).toMatchObject({ model: body.model, credits });
      expect(quote.body.breakdown).toHaveLength(breakdown.length);
      breakdown.forEach((line, index) => expect(quote.body.breakdown[index]).toMatchObject(line));
    }
    // The quote equals the hold a real create takes.
    const created = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body: { model: 'seedance-2.0', prompt: 'p', seconds: 10, resolution: '1080p' } });
    expect(created.body.credits.reserved).toBe(40_000);
    await ctx.app.request('POST', `/v1/tasks/${created.body.id}/cancel`, { key: owner.key });

    const fresh = await testCustomer(ctx.app, 100);
    const quote = await ctx.app.request('POST', '/v1/quotes', { key: fresh.key, body: { model: 'seedance-2.0', seconds: 10, resolution: '1080p' } });
    expect(quote.body.credits).toBe(40_000); // a quote is not a reservation: 100 credits are enough to ask
    expectV1Error(await ctx.app.request('POST', '/v1/quotes', { key: fresh.key, body: { model: 'seedance-2.0', resolution: '4k' } }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('POST', '/v1/quotes', { key: fresh.key, body: { model: 'nope' } }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('POST', '/v1/quotes', { key: fresh.key, body: { model: 'suno-v5', cost: 1 } }), 400, 'unknown_parameter');
    await expectNothingStored(fresh.customerId, fresh.key, 100);
  });

  it('GET /v1/tasks paginates newest first and filters by status and type', async () => {
    const owner = await testCustomer(ctx.app);
    const ids: string[] = [];
    const create = async (path: string, body: Record<string, unknown>) => {
      ctx.app.clock.advance(5);
      const response = await ctx.app.request('POST', path, { key: owner.key, body });
      expect(response.status, response.text).toBe(202);
      ids.push(response.body.id);
      return response.body.id as string;
    };
    // The others wait upstream (slow queue) while the music task runs to completion.
    const slow = '[[scenario:slow_queue;ms=3600000]]';
    const v1 = await create('/v1/videos', { model: 'seedance-2.0-fast', prompt: `v1 ${slow}` });
    const i1 = await create('/v1/images/generations', { prompt: `i1 ${slow}`, async: true });
    const m1 = await create('/v1/music/generations', { prompt: 'm1' });
    const v2 = await create('/v1/videos', { model: 'seedance-2.0-fast', prompt: `v2 ${slow}` });
    const v3 = await create('/v1/videos', { model: 'seedance-2.0-fast', prompt: `v3 ${slow}` });
    expect((await runUntilDone(ctx.app, m1)).status).toBe('succeeded');
    await ctx.app.request('POST', `/v1/tasks/${v2}/cancel`, { key: owner.key });

    const pages: string[][] = [];
    let after: string | null = null;
    let hasMore = true;
    while (hasMore) {
      const page: any = await ctx.app.request('GET', `/v1/tasks?limit=2${after ? `&after=${after}` : ''}`, { key: owner.key });
      expect(page.status).toBe(200);
      expect(page.body.object).toBe('list');
      const pageIds = page.body.data.map((task: any) => task.id);
      pages.push(pageIds);
      hasMore = page.body.has_more;
      after = pageIds[pageIds.length - 1];
    }
    expect(pages).toEqual([[v3, v2], [m1, i1], [v1]]);

    const byType = async (query: string) => (await ctx.app.request('GET', `/v1/tasks?${query}`, { key: owner.key })).body.data.map((task: any) => task.id);
    expect(await byType('type=video')).toEqual([v3, v2, v1]);
    expect(await byType('type=image')).toEqual([i1]);
    expect(await byType('type=music')).toEqual([m1]);
    expect(await byType('status=succeeded')).toEqual([m1]);
    expect(await byType('status=cancelled')).toEqual([v2]);
    expect(await byType('status=queued')).toEqual([v3, i1, v1]);
    expect(await byType('status=queued&type=video')).toEqual([v3, v1]);
    expect(await byType('status=failed')).toEqual([]);
    expectV1Error(await ctx.app.request('GET', '/v1/tasks?status=done', { key: owner.key }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('GET', '/v1/tasks?limit=0', { key: owner.key }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('GET', '/v1/tasks?customer_id=x', { key: owner.key }), 400, 'unknown_parameter');
    // Another customer's list never shows these tasks.
    const stranger = await testCustomer(ctx.app);
    expect((await ctx.app.request('GET', '/v1/tasks', { key: stranger.key })).body.data).toEqual([]);
    for (const id of [v1, i1, v3]) await ctx.app.request('POST', `/v1/tasks/${id}/cancel`, { key: owner.key });
  });

  it('another customer\'s ids answer 404 on every read and cancel route, identical to an unknown id', async () => {
    const owner = await testCustomer(ctx.app);
    const stranger = await testCustomer(ctx.app);
    const job = await ctx.app.request('POST', '/v1/videos/generate', { key: owner.key, headers: idem(), body: { prompt: 'mine' } });
    const taskId = `task_${job.body.jobId.slice(4)}`;
    const done = await runUntilDone(ctx.app, taskId);
    const fileId: string = done.result.files[0].id;
    const pending = await ctx.app.request('POST', '/v1/video/generations', { key: owner.key, body: { model: 'seedance-2.0-fast', prompt: 'queued' } });
    const pendingId: string = pending.body.task_id;
    const routes = (id: string, jid: string, file: string): Array<[string, string]> => [
      ['GET', `/v1/tasks/${id}`], ['GET', `/v1/videos/${id}`], ['GET', `/v1/videos/${id}/content`], ['GET', `/v1/jobs/${jid}`],
      ['GET', `/v1/jobs/${id}`], ['GET', `/v1/jobs/${jid}/result`], ['GET', `/v1/video/generations/${id}`],
      ['GET', `/v1/files/${file}/content`], ['POST', `/v1/tasks/${id}/cancel`], ['DELETE', `/v1/videos/${id}`],
    ];
    const unknownTask = 'task_0000000000000000000000';
    const foreign = [...routes(taskId, job.body.jobId, fileId), ['POST', `/v1/tasks/${pendingId}/cancel`] as [string, string], ['DELETE', `/v1/videos/${pendingId}`] as [string, string]];
    const unknown = [...routes(unknownTask, 'job_0000000000000000000000', 'file_0000000000000000000000'), ['POST', `/v1/tasks/${unknownTask}/cancel`] as [string, string], ['DELETE', `/v1/videos/${unknownTask}`] as [string, string]];
    for (const [index, [method, path]] of foreign.entries()) {
      const response = await ctx.app.request(method, path, { key: stranger.key });
      expectV1Error(response, 404, 'not_found');
      const never = await ctx.app.request(unknown[index]![0], unknown[index]![1], { key: stranger.key });
      expectV1Error(never, 404, 'not_found');
      expect({ ...response.body, error: { ...response.body.error, request_id: null } }, path).toEqual({ ...never.body, error: { ...never.body.error, request_id: null } });
    }
    // Nothing the stranger did touched the owner's tasks.
    expect((await ctx.app.deps.tasks.get(pendingId))!.status).toBe('queued');
    expect((await ctx.app.request('GET', `/v1/jobs/${job.body.jobId}/result`, { key: owner.key })).status).toBe(200);
    await ctx.app.request('POST', `/v1/tasks/${pendingId}/cancel`, { key: owner.key });
  });
});

describe('key policy: every denial stores nothing (I8)', () => {
  it('allowed_models: a video model on an image-only key → 403 model_not_allowed, param model, on every face', async () => {
    const owner = await testCustomer(ctx.app, 1_000_000, { allowed_models: ['gpt-image-2'] });
    const attempts: Array<[string, Record<string, unknown>, Record<string, string>]> = [
      ['/v1/videos', { model: 'seedance-2.0', prompt: 'p' }, {}],
      ['/v1/videos/generate', { prompt: 'p' }, idem()],
      ['/v1/video/generations', { model: 'seedance-2.0', prompt: 'p' }, {}],
      ['/v1/images/generations', { model: 'seedream-4.5', prompt: 'p', async: true }, {}],
      ['/v1/music/generations', { prompt: 'p' }, {}],
      ['/v1/quotes', { model: 'seedance-2.0' }, {}],
    ];
    for (const [path, body, headers] of attempts) {
      const response = await ctx.app.request('POST', path, { key: owner.key, body, headers });
      expectV1Error(response, 403, 'model_not_allowed');
      expect(response.body.error.param).toBe('model');
      expect(response.body.error.type).toBe('permission_error');
    }
    await expectNothingStored(owner.customerId, owner.key, 1_000_000);
    // The allowed model works.
    const ok = await ctx.app.request('POST', '/v1/images/generate', { key: owner.key, headers: idem(), body: { prompt: 'p' } });
    expect(ok.status).toBe(202);
    await ctx.app.request('POST', `/v1/tasks/${ok.body.jobId}/cancel`, { key: owner.key });
  });

  it('scopes: an images-only key gets 403 scope_not_allowed on the video and music routes of every face', async () => {
    const owner = await testCustomer(ctx.app);
    const scoped = await ctx.app.createKey(owner.customerId, { mode: 'test', scopes: ['images'] });
    const attempts: Array<[string, string, Record<string, unknown> | undefined, Record<string, string>]> = [
      ['POST', '/v1/videos', { model: 'seedance-2.0', prompt: 'p' }, {}],
      ['POST', '/v1/videos/generate', { prompt: 'p' }, idem()],
      ['POST', '/v1/video/generations', { model: 'seedance-2.0', prompt: 'p' }, {}],
      ['POST', '/v1/music/generations', { prompt: 'p' }, {}],
      ['GET', '/v1/tasks', undefined, {}],
    ];
    for (const [method, path, body, headers] of attempts) {
      const response = await ctx.app.request(method, path, { key: scoped.key, body, headers });
      expectV1Error(response, 403, 'scope_not_allowed');
      if (path === '/v1/videos/generate') stripeOk(response.body);
    }
    await expectNothingStored(owner.customerId, owner.key, 1_000_000);
    // Images, models and quotes need no other scope.
    expect((await ctx.app.request('GET', '/v1/models', { key: scoped.key })).status).toBe(200);
    expect((await ctx.app.request('POST', '/v1/quotes', { key: scoped.key, body: { model: 'seedance-2.0' } })).status).toBe(200);
    const image = await ctx.app.request('POST', '/v1/images/generate', { key: scoped.key, headers: idem(), body: { prompt: 'p' } });
    expect(image.status).toBe(202);
    await ctx.app.request('POST', `/v1/tasks/${image.body.jobId}/cancel`, { key: owner.key });
  });

  it('max_concurrency 1: the second create is 429 concurrency_limited with Retry-After and stores nothing', async () => {
    const owner = await testCustomer(ctx.app, 1_000_000, { max_concurrency: 1 });
    const first = await ctx.app.request('POST', '/v1/videos/generate', { key: owner.key, headers: idem(), body: { prompt: 'one' } });
    expect(first.status).toBe(202);
    for (const [path, body, headers] of [
      ['/v1/videos/generate', { prompt: 'two' }, idem()],
      ['/v1/video/generations', { model: 'seedance-2.0-fast', prompt: 'two' }, {}],
      ['/v1/images/generations', { prompt: 'two', async: true }, {}],
    ] as Array<[string, Record<string, unknown>, Record<string, string>]>) {
      const second = await ctx.app.request('POST', path, { key: owner.key, headers, body });
      expectV1Error(second, 429, 'concurrency_limited');
      expect(second.body.error.type).toBe('rate_limit_error');
      expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(await taskCount(owner.customerId)).toBe(1);
    const listed = await ctx.app.request('GET', '/v1/tasks', { key: owner.key });
    expect(listed.body.data.map((task: any) => task.id)).toEqual([`task_${first.body.jobId.slice(4)}`]);
    expect((await ctx.app.request('GET', '/v1/usage', { key: owner.key })).body).toMatchObject({ creditsReserved: 5 * 1200 });
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 5 * 1200 });
    // The slot comes back when the first task ends.
    await runUntilDone(ctx.app, `task_${first.body.jobId.slice(4)}`);
    const third = await ctx.app.request('POST', '/v1/videos/generate', { key: owner.key, headers: idem(), body: { prompt: 'three' } });
    expect(third.status).toBe(202);
    await ctx.app.request('POST', `/v1/tasks/${third.body.jobId}/cancel`, { key: owner.key });
  });

  it('insufficient test credits → 402 insufficient_credits, nothing stored', async () => {
    const owner = await testCustomer(ctx.app, 2999);
    for (const [path, body, headers] of [
      ['/v1/videos/generate', { prompt: 'p' }, idem()], // 5 s at 720p: 6000
      ['/v1/videos', { model: 'seedance-2.0', prompt: 'p', seconds: 4, resolution: '480p' }, {}], // 3600
      ['/v1/video/generations', { model: 'seedance-2.0', prompt: 'p', seconds: '10' }, {}],
    ] as Array<[string, Record<string, unknown>, Record<string, string>]>) {
      const response = await ctx.app.request('POST', path, { key: owner.key, headers, body });
      expectV1Error(response, 402, 'insufficient_credits');
      expect(response.body.error.type).toBe('billing_error');
    }
    await expectNothingStored(owner.customerId, owner.key, 2999);
    // Exactly affordable is fine: 1500 for a track.
    const music = await ctx.app.request('POST', '/v1/music/generations', { key: owner.key, body: { prompt: 'p' } });
    expect(music.status).toBe(202);
    await ctx.app.request('POST', `/v1/tasks/${music.body.id}/cancel`, { key: owner.key });
  });

  it('a live key has no upstream channel: 503 provider_capacity_unavailable with Retry-After, nothing stored', async () => {
    const customer = await ctx.app.createCustomer();
    const live = await ctx.app.createKey(customer.id, { mode: 'live' });
    await ctx.app.grant(customer.id, 1_000_000, 'live');
    for (const [path, body, headers] of [
      ['/v1/videos', { model: 'seedance-2.0', prompt: 'p' }, {}],
      ['/v1/videos/generate', { prompt: 'p' }, idem()],
      ['/v1/images/generate', { prompt: 'p' }, idem()],
      ['/v1/video/generations', { model: 'seedance-2.0', prompt: 'p' }, {}],
      ['/v1/images/generations', { prompt: 'p' }, {}],
      ['/v1/music/generations', { prompt: 'p' }, {}],
    ] as Array<[string, Record<string, unknown>, Record<string, string>]>) {
      const response = await ctx.app.request('POST', path, { key: live.key, headers, body });
      expectV1Error(response, 503, 'provider_capacity_unavailable');
      expect(response.body.error.type).toBe('capacity_error');
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    await expectNothingStored(customer.id, live.key, 1_000_000);
  });
});

describe('validation: 400 and nothing stored (E4, API.md §4)', () => {
  it('unknown and server-owned fields → unknown_parameter with param, on every creating route', async () => {
    const owner = await testCustomer(ctx.app);
    const routes: Array<[string, Record<string, unknown>, Record<string, string>]> = [
      ['/v1/videos', { model: 'seedance-2.0', prompt: 'p' }, {}],
      ['/v1/videos/generate', { prompt: 'p' }, idem()],
      ['/v1/images/generate', { prompt: 'p' }, idem()],
      ['/v1/video/generations', { model: 'seedance-2.0', prompt: 'p' }, {}],
      ['/v1/images/generations', { prompt: 'p', async: true }, {}],
      ['/v1/music/generations', { prompt: 'p' }, {}],
    ];
    for (const [path, body, headers] of routes) {
      for (const [field, value] of [['customer_id', 'cus_other'], ['cost', 0], ['status', 'succeeded']] as const) {
        const response = await ctx.app.request('POST', path, { key: owner.key, headers, body: { ...body, [field]: value } });
        expectV1Error(response, 400, 'unknown_parameter');
        expect(response.body.error.param, `${path} ${field}`).toBe(field);
      }
    }
    await expectNothingStored(owner.customerId, owner.key, 1_000_000);
  });

  it('bad seconds, unsupported resolution/ratio, unknown model, empty prompt, image model on the video route', async () => {
    const owner = await testCustomer(ctx.app);
    const base = { model: 'seedance-2.0-fast', prompt: 'p' };
    const cases: Array<[string, Record<string, unknown>, string, string]> = [
      ['seconds 0', { ...base, seconds: 0 }, 'invalid_request', 'seconds'],
      ['seconds 99', { ...base, seconds: 99 }, 'invalid_request', 'seconds'],
      ['seconds "abc"', { ...base, seconds: 'abc' }, 'invalid_request', 'seconds'],
      ['seconds 3 (model min 4)', { ...base, seconds: 3 }, 'invalid_request', 'seconds'],
      ['seconds 4.5', { ...base, seconds: 4.5 }, 'invalid_request', 'seconds'],
      ['1080p on the fast model', { ...base, resolution: '1080p' }, 'invalid_request', 'resolution'],
      ['resolution 4k', { ...base, resolution: '4k' }, 'invalid_request', 'resolution'],
      ['ratio 5:4', { ...base, ratio: '5:4' }, 'invalid_request', 'ratio'],
      ['unknown size', { ...base, size: '999x333' }, 'invalid_request', 'size'],
      ['unknown model', { ...base, model: 'no-such-model' }, 'invalid_request', 'model'],
      ['empty prompt', { ...base, prompt: '' }, 'invalid_request', 'prompt'],
      ['blank prompt', { ...base, prompt: '   ' }, 'invalid_request', 'prompt'],
      ['missing prompt', { model: 'seedance-2.0' }, 'invalid_request', 'prompt'],
      ['image model', { ...base, model: 'gpt-image-2' }, 'invalid_request', 'model'],
      ['music model', { ...base, model: 'suno-v5' }, 'invalid_request', 'model'],
      ['metadata of 17 keys', { ...base, metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])) }, 'invalid_request', 'metadata'],
    ];
    for (const [name, body, code, param] of cases) {
      const response = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body });
      expectV1Error(response, 400, code);
      expect(response.body.error.param, name).toBe(param);
      expect(response.body.error.type).toBe('invalid_request_error');
    }
    // Image-route counterparts.
    for (const [body, param] of [
      [{ model: 'seedance-2.0', prompt: 'p', async: true }, 'model'],
      [{ prompt: 'p', size: '333x333', async: true }, 'size'],
      [{ prompt: 'p', quality: 'ultra', async: true }, 'quality'],
      [{ prompt: 'p', n: 5, async: true }, 'n'],
    ] as Array<[Record<string, unknown>, string]>) {
      const response = await ctx.app.request('POST', '/v1/images/generations', { key: owner.key, body });
      expectV1Error(response, 400, 'invalid_request');
      expect(response.body.error.param).toBe(param);
    }
    const notJson = await ctx.app.request('POST', '/v1/videos', { key: owner.key, rawBody: '{"model":', headers: { 'content-type': 'application/json' } });
    expectV1Error(notJson, 400, 'invalid_request');
    await expectNothingStored(owner.customerId, owner.key, 1_000_000);
  });

  it('references: counts, schemes, private hosts, non-image data and bare base64 video → 400 invalid_reference', async () => {
    const owner = await testCustomer(ctx.app);
    const image = (url: string) => ({ type: 'image', url });
    const tenImages = Array.from({ length: 10 }, (_, i) => image(`https://example.com/${i}.png`));
    const notAnImage = `data:image/png;base64,${Buffer.from('definitely not a png, just text').toString('base64')}`;
    const cases: Array<[string, unknown[], string]> = [
      ['10 images for seedance (max 9)', tenImages, 'references.9'],
      ['file scheme', [image('file:///etc/passwd')], 'references.0'],
      ['private IPv4', [image('https://10.1.2.3/a.png')], 'references.0'],
      ['metadata address', [image('https://169.254.169.254/')], 'references.0'],
      ['localhost', [image('https://localhost/a.png')], 'references.0'],
      ['plain http', [image('http://example.com/a.png')], 'references.0'],
      ['userinfo', [image('https://user:pw@example.com/a.png')], 'references.0'],
      ['later reference is checked too', [image('https://example.com/ok.png'), image('https://192.168.1.1/x.png')], 'references.1'],
      ['not image bytes', [image(notAnImage)], 'references.0'],
      ['bare base64 video', [{ type: 'video', url: Buffer.from('fake video bytes').toString('base64') }], 'references.0'],
      ['data URL video that is a PNG', [{ type: 'video', url: pngDataUrl().replace('image/png', 'video/mp4') }], 'references.0'],
      ['wrong role', [{ type: 'image', url: 'https://example.com/a.png', role: 'reference_audio' }], 'references.0'],
      ['4 videos (max 3)', Array.from({ length: 4 }, (_, i) => ({ type: 'video', url: `https://example.com/${i}.mp4` })), 'references.3'],
    ];
    for (const [name, references, param] of cases) {
      const response = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body: { model: 'seedance-2.0', prompt: 'p', references } });
      expectV1Error(response, 400, 'invalid_reference');
      expect(response.body.error.param, name).toBe(param);
      // No internal detail leaks, but the message says what is wrong.
      expect(response.body.error.message.length).toBeGreaterThan(0);
    }
    const soraTwo = await ctx.app.request('POST', '/v1/videos', {
      key: owner.key, body: { model: 'sora-2', prompt: 'p', references: [image('https://example.com/1.png'), image('https://example.com/2.png')] },
    });
    expectV1Error(soraTwo, 400, 'invalid_reference');
    expect(soraTwo.body.error.param).toBe('references.1');

    const callback = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body: { model: 'seedance-2.0', prompt: 'p', callback_url: 'https://192.168.0.1/hook' } });
    expectV1Error(callback, 400, 'invalid_request');
    expect(callback.body.error.param).toBe('callback_url');
    for (const url of ['http://example.com/hook', 'https://localhost/hook', 'ftp://example.com/hook']) {
      const response = await ctx.app.request('POST', '/v1/music/generations', { key: owner.key, body: { prompt: 'p', callback_url: url } });
      expectV1Error(response, 400, 'invalid_request');
      expect(response.body.error.param).toBe('callback_url');
    }
    await expectNothingStored(owner.customerId, owner.key, 1_000_000);

    // Exactly 9 images (the limit) and a valid inline PNG are accepted.
    const nine = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body: { model: 'seedance-2.0', prompt: 'p', references: tenImages.slice(0, 9) } });
    expect(nine.status, nine.text).toBe(202);
    expect(nine.body.request.references).toHaveLength(9);
    const bare = await ctx.app.request('POST', '/v1/videos', {
      key: owner.key, body: { model: 'seedance-2.0', prompt: 'p', references: [{ type: 'image', url: makePng('bare', { width: 8, height: 8 }).toString('base64') }] },
    });
    expect(bare.status, bare.text).toBe(202);
    expect(bare.body.request.references).toEqual([{ type: 'image', role: 'reference_image', file_id: expect.stringMatching(/^file_/) }]);
    for (const id of [nine.body.id, bare.body.id]) await ctx.app.request('POST', `/v1/tasks/${id}/cancel`, { key: owner.key });
  });
});

describe('authentication on every face route', () => {
  it('a missing key → 401 invalid_api_key with the /v1 error body; jobs-face routes add ok:false', async () => {
    const id = 'task_0000000000000000000000';
    const routes: Array<[string, string, boolean]> = [
      ['POST', '/v1/videos/generate', true],
      ['POST', '/v1/images/generate', true],
      ['GET', `/v1/jobs/job_0000000000000000000000`, true],
      ['GET', `/v1/jobs/job_0000000000000000000000/result`, true],
      ['GET', '/v1/usage', true],
      ['POST', '/v1/video/generations', false],
      ['GET', `/v1/video/generations/${id}`, false],
      ['POST', '/v1/videos', false],
      ['GET', '/v1/videos', false],
      ['GET', `/v1/videos/${id}`, false],
      ['DELETE', `/v1/videos/${id}`, false],
      ['POST', '/v1/images/generations', false],
      ['POST', '/v1/music/generations', false],
      ['GET', '/v1/models', false],
      ['GET', '/v1/models/seedance-2.0', false],
      ['POST', '/v1/quotes', false],
      ['GET', '/v1/tasks', false],
      ['GET', `/v1/tasks/${id}`, false],
      ['POST', `/v1/tasks/${id}/cancel`, false],
      ['GET', '/v1/files/file_0000000000000000000000/content', false],
    ];
    let first: any = null;
    for (const [method, path, jobs] of routes) {
      const body = method === 'POST' ? { prompt: 'p', model: 'seedance-2.0' } : undefined;
      const response = await ctx.app.request(method, path, { body, headers: { 'idempotency-key': 'k' } });
      expectV1Error(response, 401, 'invalid_api_key');
      expect(response.body.error.type).toBe('authentication_error');
      expect(response.body.error.param).toBeUndefined();
      if (jobs) expect(response.body).toEqual({ ok: false, error: expect.any(Object) });
      else expect(Object.keys(response.body)).toEqual(['error']);
      const { request_id: _id, ...rest } = response.body.error;
      first ??= rest;
      expect(rest, path).toEqual(first);
    }
    // A malformed key reads the same as a missing one.
    const malformed = await ctx.app.request('GET', '/v1/jobs/job_x', { key: 'ak_test_nope' });
    expectV1Error(malformed, 401, 'invalid_api_key');
    expect(malformed.body.ok).toBe(false);
  });
});
