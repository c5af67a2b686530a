import { describe, expect, it } from 'vitest';
import { makePng } from '../../src/providers/sandbox/media.js';
import { sniffContentType } from '../../src/providers/shared/media-sniff.js';
import { startTestApp } from '../harness/app.js';
import { TASK_ID, faceChecks, idem, pngDataUrl } from '../harness/faces.js';
import { runUntilDone, testCustomer, testWallet } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * The native `/v1` routes onto the one task core (API.md §4): images (async and synchronous), music, models, quotes,
 * tasks (list, read, cancel, ownership), strict validation (E4) and reference checks made at submission (SEMANTICS
 * S2–S5), each rejection storing nothing (I8). Split from faces.test.ts (issue 9).
 */
const ctx = useTestApp();
const { FILE_URL, expectNothingStored } = faceChecks(ctx);

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
