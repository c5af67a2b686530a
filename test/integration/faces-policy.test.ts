import { describe, expect, it } from 'vitest';
import { faceChecks, idem, stripeOk } from '../harness/faces.js';
import { runUntilDone, testCustomer, testWallet } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * What every face shares (API.md §2–§6): key policy (SEMANTICS K10, K11, R5, M2, R7) — allowed models, scopes,
 * concurrency, credits, a live key without a channel — each denial storing nothing (I8), and the 401 body of a
 * missing key on every face. Split from faces.test.ts (issue 9); route-sweep.test.ts covers every registered route.
 */
const ctx = useTestApp();
const { taskCount, expectNothingStored } = faceChecks(ctx);

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

  it('max_concurrency 1: the second create (media or text) is 429 concurrency_limited with Retry-After and stores nothing', async () => {
    const owner = await testCustomer(ctx.app, 1_000_000, { max_concurrency: 1 });
    const first = await ctx.app.request('POST', '/v1/videos/generate', { key: owner.key, headers: idem(), body: { prompt: 'one' } });
    expect(first.status).toBe(202);
    for (const [path, body, headers] of [
      ['/v1/videos/generate', { prompt: 'two' }, idem()],
      ['/v1/video/generations', { model: 'seedance-2.0-fast', prompt: 'two' }, {}],
      ['/v1/images/generations', { prompt: 'two', async: true }, {}],
      ['/v1/chat/completions', { model: 'grok-4-fast', messages: [{ role: 'user', content: 'two' }] }, {}],
      ['/v1/chat/completions', { model: 'grok-4-fast', messages: [{ role: 'user', content: 'two' }], stream: true }, {}],
      ['/v1/embeddings', { model: 'text-embedding-3-small', input: 'two' }, {}],
    ] as Array<[string, Record<string, unknown>, Record<string, string>]>) {
      const second = await ctx.app.request('POST', path, { key: owner.key, headers, body });
      expectV1Error(second, 429, 'concurrency_limited');
      expect(second.body.error.type).toBe('rate_limit_error');
      // CONCURRENCY_RETRY_AFTER_SECONDS (5 by default) on every route that takes a slot.
      expect(second.headers.get('retry-after'), path).toBe('5');
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
