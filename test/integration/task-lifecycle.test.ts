import { describe, expect, it } from 'vitest';
import { mediaDurationSeconds, sniffContentType } from '../../src/providers/shared/media-sniff.js';
import { runUntilDone, testCustomer, testWallet } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/** A video task through the sandbox, every sandbox scenario with its charge (PROVIDERS §11.4, SEMANTICS L6). */
const ctx = useTestApp();
const PRICE_5S_720P = 5 * 1200; // seedance-2.0-fast, 720p

async function createVideo(key: string, prompt: string, extra: Record<string, unknown> = {}) {
  return ctx.app.request('POST', '/v1/videos', { key, body: { model: 'seedance-2.0-fast', prompt, seconds: 5, resolution: '720p', ...extra } });
}

describe('video task lifecycle', () => {
  it('queued → running → succeeded: the result is a durable MP4 and exactly the price is charged', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await createVideo(owner.key, 'a red fox in snow', { ratio: '16:9', metadata: { order: 42 } });
    expect(created.status).toBe(202);
    expect(created.headers.get('location')).toBe(`/v1/videos/${created.body.id}`);
    expect(created.body).toMatchObject({
      object: 'video', status: 'queued', model: 'seedance-2.0-fast', seconds: '5', size: '1280x720', task_id: created.body.id,
      credits: { reserved: PRICE_5S_720P, charged: 0 }, metadata: { order: 42 }, mode: 'test', type: 'video',
    });
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: PRICE_5S_720P });

    await ctx.app.worker.drain();
    const queued = await ctx.app.request('GET', `/v1/tasks/${created.body.id}`, { key: owner.key });
    expect(queued.body.status).toBe('queued');
    ctx.app.clock.advance(1500);
    await ctx.app.worker.drain();
    const running = await ctx.app.request('GET', `/v1/videos/${created.body.id}`, { key: owner.key });
    expect(running.body.status).toBe('in_progress');
    expect(running.body.progress).toBeGreaterThan(0);

    const task = await runUntilDone(ctx.app, created.body.id);
    expect(task.status).toBe('succeeded');
    const done = await ctx.app.request('GET', `/v1/tasks/${created.body.id}`, { key: owner.key });
    expect(done.body).toMatchObject({ status: 'succeeded', progress: 100, error: null, credits: { reserved: PRICE_5S_720P, charged: PRICE_5S_720P } });
    expect(done.body.result.url).toMatch(new RegExp(`^${ctx.app.baseUrl}/v1/files/file_[0-9A-Za-z]+/content\\?expires=\\d+&sig=`));
    expect(done.body.result.assets[0]).toMatchObject({ content_type: 'video/mp4', width: 1280, height: 720, duration_seconds: 5 });
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000 - PRICE_5S_720P, reserved: 0 });

    // The signed link works without a key; the bytes are a real MP4 of the right length.
    const download = await fetch(done.body.result.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('video/mp4');
    const bytes = new Uint8Array(await download.arrayBuffer());
    expect(sniffContentType(bytes)).toBe('video/mp4');
    expect(mediaDurationSeconds(bytes)).toBe(5);
    const content = await ctx.app.request('GET', `/v1/videos/${created.body.id}/content`, { key: owner.key, headers: { range: 'bytes=0-99' } });
    expect(content.status).toBe(206);
    expect(content.headers.get('content-range')).toBe(`bytes 0-99/${bytes.length}`);
  });

  it('another customer, another mode and a tampered link all get 404', async () => {
    const owner = await testCustomer(ctx.app);
    const stranger = await testCustomer(ctx.app);
    const created = await createVideo(owner.key, 'private');
    const task = await runUntilDone(ctx.app, created.body.id);
    const fileId = task.result.files[0].id;
    for (const path of [`/v1/tasks/${created.body.id}`, `/v1/videos/${created.body.id}`, `/v1/videos/${created.body.id}/content`, `/v1/files/${fileId}/content`, `/v1/video/generations/${created.body.id}`, `/v1/jobs/${created.body.id}`]) {
      expectV1Error(await ctx.app.request('GET', path, { key: stranger.key }), 404, 'not_found');
    }
    expectV1Error(await ctx.app.request('POST', `/v1/tasks/${created.body.id}/cancel`, { key: stranger.key }), 404, 'not_found');
    const liveKey = await ctx.app.createKey(owner.customerId, { mode: 'live' });
    expectV1Error(await ctx.app.request('GET', `/v1/tasks/${created.body.id}`, { key: liveKey.key }), 404, 'not_found');
    const done = await ctx.app.request('GET', `/v1/tasks/${created.body.id}`, { key: owner.key });
    // One character of the signature changed (to another one: a signature may start with any base64url character).
    const tampered = done.body.result.url.replace(/sig=(.)/, (_: string, first: string) => `sig=${first === 'x' ? 'y' : 'x'}`);
    expect((await fetch(tampered)).status).toBe(404);
  });
});

describe('sandbox scenarios end in the right state with the right charge', () => {
  const cases: Array<[string, string, string | null, number]> = [
    ['success', 'succeeded', null, PRICE_5S_720P],
    ['moderation_input', 'failed', 'content_policy_violation', 0],
    ['invalid_param', 'failed', 'invalid_request', 0],
    ['moderation_output', 'failed', 'content_policy_violation', 0],
    ['expire', 'expired', 'expired', 0],
    ['server_error', 'failed', 'provider_error', 0],
    ['server_error;times=2', 'succeeded', null, PRICE_5S_720P],
  ];
  it.each(cases)('[[scenario:%s]] → %s', async (scenario, status, code, charged) => {
    const owner = await testCustomer(ctx.app);
    const created = await createVideo(owner.key, `scene [[scenario:${scenario}]]`);
    expect(created.status).toBe(202);
    const task = await runUntilDone(ctx.app, created.body.id, 20_000, 60);
    expect(task.status).toBe(status);
    expect(task.error_code).toBe(code);
    expect(Number(task.charged)).toBe(charged);
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000 - charged, reserved: 0 });
    const view = await ctx.app.request('GET', `/v1/tasks/${created.body.id}`, { key: owner.key });
    expect(view.body.credits.charged).toBe(charged);
    if (code) expect(view.body.error).toEqual({ code, message: expect.any(String) });
    expect(JSON.stringify(view.body)).not.toMatch(/sbx_|sandbox/);
  });

  it('[[scenario:timeout]] → failed timeout at the hard deadline, charged 0', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await createVideo(owner.key, 'never [[scenario:timeout]]');
    await runUntilDone(ctx.app, created.body.id, 1000, 5);
    ctx.app.clock.advance(71 * 60_000);
    const firstSweep = await ctx.app.worker.sweepOnce();
    expect(firstSweep!.extended).toBeGreaterThanOrEqual(1);
    ctx.app.clock.advance(120 * 60_000);
    await ctx.app.worker.sweepOnce();
    const task = await ctx.app.deps.tasks.get(created.body.id);
    expect(task).toMatchObject({ status: 'failed', error_code: 'timeout', charged: 0n });
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 0 });
  });

  it('[[scenario:slow_queue]] cancelled while queued upstream → cancelled, charged 0; a finished task is not cancellable', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await createVideo(owner.key, 'wait [[scenario:slow_queue;ms=60000]]');
    await ctx.app.worker.drain();
    expect((await ctx.app.deps.tasks.get(created.body.id))!.status).toBe('submitted');
    const cancelled = await ctx.app.request('POST', `/v1/tasks/${created.body.id}/cancel`, { key: owner.key });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' }, credits: { charged: 0 } });
    expectV1Error(await ctx.app.request('POST', `/v1/tasks/${created.body.id}/cancel`, { key: owner.key }), 409, 'task_not_cancellable');
    const video = await ctx.app.request('GET', `/v1/videos/${created.body.id}`, { key: owner.key });
    expect(video.body).toMatchObject({ status: 'failed', error: { code: 'cancelled' } });
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 0 });
  });

  it('a queued task is cancelled at once, and DELETE /v1/videos/:id cancels or deletes', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await createVideo(owner.key, 'cancel me');
    const deleted = await ctx.app.request('DELETE', `/v1/videos/${created.body.id}`, { key: owner.key });
    expect(deleted.body).toEqual({ id: created.body.id, object: 'video.deleted', deleted: true });
    expect((await ctx.app.deps.tasks.get(created.body.id))!.status).toBe('cancelled');
    const finished = await createVideo(owner.key, 'keep then delete');
    const task = await runUntilDone(ctx.app, finished.body.id);
    const fileUrl = (await ctx.app.request('GET', `/v1/tasks/${finished.body.id}`, { key: owner.key })).body.result.url;
    expect((await ctx.app.request('DELETE', `/v1/videos/${finished.body.id}`, { key: owner.key })).status).toBe(200);
    expect((await fetch(fileUrl)).status).toBe(404);
    expect(task.status).toBe('succeeded');
  });
});

describe('orphaned inline references (SEMANTICS R8)', () => {
  it('a rejected request\'s inline file is reaped by the sweeper after an hour; attached files stay', async () => {
    const { makePng } = await import('../../src/providers/sandbox/media.js');
    const poor = await testCustomer(ctx.app, 10);
    const dataUrl = `data:image/png;base64,${makePng('orphan', { width: 32, height: 32 }).toString('base64')}`;
    const rejected = await createVideo(poor.key, 'too expensive', { references: [{ type: 'image', url: dataUrl }] });
    expectV1Error(rejected, 402, 'insufficient_credits');
    const orphans = async () => (await ctx.app.deps.db.query("SELECT id FROM files WHERE customer_id = $1 AND task_id IS NULL AND deleted_at IS NULL", [poor.customerId])).rows.length;
    expect(await orphans()).toBe(1);
    const rich = await testCustomer(ctx.app);
    const accepted = await createVideo(rich.key, 'with a reference', { references: [{ type: 'image', url: dataUrl }] });
    expect(accepted.status).toBe(202);
    await ctx.app.worker.sweepOnce();
    expect(await orphans()).toBe(1);
    ctx.app.clock.advance(61 * 60_000);
    const report = await ctx.app.worker.sweepOnce();
    expect(report!.filesReaped).toBeGreaterThanOrEqual(1);
    expect(await orphans()).toBe(0);
    const attached = await ctx.app.deps.db.query('SELECT deleted_at FROM files WHERE task_id = $1', [accepted.body.id]);
    expect(attached.rows).toEqual([{ deleted_at: null }]);
    await ctx.app.request('POST', `/v1/tasks/${accepted.body.id}/cancel`, { key: rich.key });
  });
});

describe('queue depth (SEMANTICS R6)', () => {
  it('a model with too many waiting tasks answers 429 queue_full before anything is stored', async () => {
    await ctx.app.deps.db.query(`UPDATE models SET capabilities = capabilities || '{"max_queued": 2}'::jsonb WHERE id = 'seedance-1.5-pro'`);
    await ctx.app.deps.catalog.refresh();
    ctx.app.clock.advance(2000);
    const owner = await testCustomer(ctx.app);
    const body = { model: 'seedance-1.5-pro', prompt: 'queued', seconds: 5 };
    expect((await ctx.app.request('POST', '/v1/videos', { key: owner.key, body })).status).toBe(202);
    expect((await ctx.app.request('POST', '/v1/videos', { key: owner.key, body })).status).toBe(202);
    const full = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body, headers: { 'idempotency-key': 'full-1' } });
    expectV1Error(full, 429, 'queue_full');
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 2 * 5 * 1000 });
    // Once the queue drains, the same Idempotency-Key is free (I8).
    await ctx.app.worker.drain();
    ctx.app.clock.advance(2000);
    expect((await ctx.app.request('POST', '/v1/videos', { key: owner.key, body, headers: { 'idempotency-key': 'full-1' } })).status).toBe(202);
    await ctx.app.deps.db.query(`UPDATE models SET capabilities = capabilities - 'max_queued' WHERE id = 'seedance-1.5-pro'`);
    await ctx.app.deps.catalog.refresh();
  });

  it('a burst of creates arriving together is bounded too: they share one count and each counts itself in', async () => {
    await ctx.app.deps.db.query(`UPDATE models SET capabilities = capabilities || '{"max_queued": 3}'::jsonb WHERE id = 'seedance-1.5-pro'`);
    await ctx.app.deps.catalog.refresh();
    await ctx.app.worker.drain();
    ctx.app.clock.advance(2000);
    const owner = await testCustomer(ctx.app);
    const body = { model: 'seedance-1.5-pro', prompt: 'burst', seconds: 5 };
    const answers = await Promise.all(Array.from({ length: 8 }, () => ctx.app.request('POST', '/v1/videos', { key: owner.key, body })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([202, 202, 202, 429, 429, 429, 429, 429]);
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 3 * 5 * 1000 });
    await ctx.app.worker.drain();
    await ctx.app.deps.db.query(`UPDATE models SET capabilities = capabilities - 'max_queued' WHERE id = 'seedance-1.5-pro'`);
    await ctx.app.deps.catalog.refresh();
  });
});
