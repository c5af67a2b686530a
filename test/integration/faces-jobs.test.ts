import { describe, expect, it } from 'vitest';
import { sniffContentType } from '../../src/providers/shared/media-sniff.js';
import { JOB_ID, faceChecks, idem, pngDataUrl, stripeOk } from '../harness/faces.js';
import { runUntilDone, testCustomer, testWallet } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * The jobs face onto the one task core (API.md §5): `POST /v1/videos/generate` and `/v1/images/generate` with a
 * required Idempotency-Key, `GET /v1/jobs/:jobId` and `/result`, errors with `ok:false`; each rejection storing
 * nothing (I8). Split from faces.test.ts (issue 9); the other faces are in faces-*.test.ts.
 */
const ctx = useTestApp();
const { FILE_URL, expectNothingStored } = faceChecks(ctx);

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
      ['sora-2', '16:9_SMALL', '720p', 4 * 700],
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
