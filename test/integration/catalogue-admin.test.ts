import { describe, expect, it } from 'vitest';
import { runUntilDone, testCustomer } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * The catalogue run from the operator API (issue 10; API.md §8 "Models, prices and groups"; SEMANTICS M9): models,
 * capabilities checked per type, complete prices before enabling, price versions with effective dates, a task charged
 * at the version it was reserved under, model_in_use and unknown_model.
 */
const ctx = useTestApp();
const op = (method: string, path: string, body?: unknown) => ctx.app.request(method, path, { operator: true, ...(body === undefined ? {} : { body }) });

const VIDEO_CAPS = {
  durations: { min: 2, max: 10, default: 5 }, resolutions: ['480p', '720p'], default_resolution: '720p', ratios: ['16:9', '9:16'], default_ratio: '16:9',
};

function videoModel(id: string, extra: Record<string, unknown> = {}) {
  return { id, type: 'video', display_name: `Model ${id}`, capabilities: VIDEO_CAPS, pricing: { unit: 'second', credits_by: { '480p': 100, '720p': 200 } }, enabled: true, ...extra };
}

async function auditOf(targetId: string, action: string) {
  const audit = await op('GET', `/api/admin/audit?target_type=model&target_id=${encodeURIComponent(targetId)}&action=${action}`);
  expect(audit.status).toBe(200);
  return audit.body.data as any[];
}

describe('catalogue: authentication', () => {
  it('every model route refuses no key and customer keys with 401', async () => {
    const owner = await testCustomer(ctx.app);
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/admin/models'], ['POST', '/api/admin/models', videoModel('auth-model')], ['GET', '/api/admin/models/sora-2'],
      ['PATCH', '/api/admin/models/sora-2', { sort_order: 1 }], ['DELETE', '/api/admin/models/sora-2'], ['GET', '/api/admin/models/sora-2/prices'],
    ];
    for (const [method, path, body] of routes) {
      for (const key of [undefined, owner.key]) {
        const response = await ctx.app.request(method, path, { ...(key ? { key } : {}), ...(body ? { body } : {}) });
        expectV1Error(response, 401, 'invalid_api_key');
      }
    }
    expect((await op('GET', '/api/admin/models/sora-2')).status).toBe(200);
  });
});

describe('catalogue: models', () => {
  it('lists every model, disabled included; a disabled model is not offered to customers', async () => {
    const created = await op('POST', '/api/admin/models', videoModel('hidden-video', { enabled: false, description: 'staged' }));
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get('location')).toBe('/api/admin/models/hidden-video');
    expect(created.body).toMatchObject({
      id: 'hidden-video', object: 'model', type: 'video', category: 'video', description: 'staged', enabled: false, price_version: 1,
      pricing: { unit: 'second', credits_by: { '480p': 100, '720p': 200 } }, list_price: null, scheduled_prices: [],
    });
    const list = await op('GET', '/api/admin/models');
    const ids = list.body.data.map((model: any) => model.id);
    expect(ids).toEqual(expect.arrayContaining(['hidden-video', 'sora-2', 'gpt-5-mini']));
    expect(list.body.data.find((model: any) => model.id === 'sora-2').list_price).toEqual({ amount: 0.1, currency: 'USD', unit: 'second' });
    const owner = await testCustomer(ctx.app);
    const visible = await ctx.app.request('GET', '/v1/models', { key: owner.key });
    expect(visible.body.data.map((model: any) => model.id)).not.toContain('hidden-video');
    expectV1Error(await ctx.app.request('GET', '/v1/models/hidden-video', { key: owner.key }), 404, 'not_found');
    // Enabled: offered at once (this process refreshes its catalogue copy on the change).
    const enabled = await op('PATCH', '/api/admin/models/hidden-video', { enabled: true });
    expect(enabled.status, enabled.text).toBe(200);
    expect((await ctx.app.request('GET', '/v1/models/hidden-video', { key: owner.key })).body.pricing).toEqual({ unit: 'second', credits_by: { '480p': 100, '720p': 200 } });
    const [audit] = await auditOf('hidden-video', 'model.create');
    expect(audit).toMatchObject({ actor: 'operator-key', after: { id: 'hidden-video', enabled: false, price_version: 1 } });
    const [update] = await auditOf('hidden-video', 'model.update');
    expect(update).toMatchObject({ before: { enabled: false }, after: { enabled: true } });
  });

  it('unknown ids → 404 on every model route; a duplicate id → 409', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/admin/models/no-such-model'], ['PATCH', '/api/admin/models/no-such-model', { sort_order: 2 }],
      ['DELETE', '/api/admin/models/no-such-model'], ['GET', '/api/admin/models/no-such-model/prices'],
    ] as Array<[string, string, unknown?]>) {
      expectV1Error(await op(method, path, body), 404, 'not_found');
    }
    const duplicate = await op('POST', '/api/admin/models', videoModel('sora-2'));
    expectV1Error(duplicate, 409, 'conflict');
    expect(duplicate.body.error.param).toBe('id');
  });

  it('invalid input → 400 naming the field: capabilities per type, prices as non-negative integer credits, list prices', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [videoModel('bad-1', { capabilities: { ...VIDEO_CAPS, durations: undefined } }), 'invalid_request', 'capabilities.durations'],
      [videoModel('bad-2', { capabilities: { ...VIDEO_CAPS, default_resolution: '1080p' } }), 'invalid_request', 'capabilities.default_resolution'],
      [videoModel('bad-3', { capabilities: { ...VIDEO_CAPS, durations: { min: 9, max: 4, default: 5 } } }), 'invalid_request', 'capabilities.durations'],
      [videoModel('bad-4', { capabilities: { ...VIDEO_CAPS, sizes: ['1024x1024'] } }), 'invalid_request', 'capabilities.sizes'],
      [videoModel('bad-5', { capabilities: { ...VIDEO_CAPS, resolutions: [] } }), 'invalid_request', 'capabilities.resolutions'],
      [videoModel('bad-6', { pricing: { unit: 'image', credits: 5 } }), 'invalid_request', 'pricing.unit'],
      [videoModel('bad-7', { pricing: { unit: 'second', credits: -1 } }), 'invalid_request', 'pricing.credits'],
      [videoModel('bad-8', { pricing: { unit: 'second', credits: 1.5 } }), 'invalid_request', 'pricing.credits'],
      [videoModel('bad-9', { pricing: { unit: 'second', credits: '100' } }), 'invalid_request', 'pricing.credits'],
      [videoModel('bad-10', { pricing: { unit: 'second', credits_by: { '4k': 10, '480p': 1, '720p': 2 } } }), 'invalid_request', 'pricing.credits_by.4k'],
      [videoModel('bad-11', { pricing: { unit: 'second', credits: 5, input_credits_per_million: 5 } }), 'invalid_request', 'pricing.input_credits_per_million'],
      [videoModel('bad-12', { type: 'chat', capabilities: { context_window: 1000 }, pricing: { unit: 'token', input_credits_per_million: 1, output_credits_per_million: 1 } }), 'invalid_request', 'capabilities.max_output_tokens'],
      [videoModel('bad-13', { type: 'rocket' }), 'invalid_request', 'type'],
      [videoModel('bad-14', { list_price: { amount: -1, currency: 'USD', unit: 'second' } }), 'invalid_request', 'list_price.amount'],
      [videoModel('bad-15', { list_price: { amount: 1, currency: 'USD', unit: 'image' } }), 'invalid_request', 'list_price.unit'],
      [videoModel('bad 16'), 'invalid_request', 'id'],
      [videoModel('bad-17', { colour: 'red' }), 'unknown_parameter', 'colour'],
    ];
    for (const [body, code, param] of cases) {
      const response = await op('POST', '/api/admin/models', body);
      expectV1Error(response, 400, code);
      expect(response.body.error.param, `${JSON.stringify(body).slice(0, 160)} → ${response.text}`).toBe(param);
    }
    const patch = await op('PATCH', '/api/admin/models/sora-2', { type: 'image' });
    expectV1Error(patch, 400, 'unknown_parameter');
    const stray = await op('PATCH', '/api/admin/models/sora-2', { effective_at: new Date(ctx.app.clock.now().getTime() + 60_000).toISOString() });
    expectV1Error(stray, 400, 'invalid_request');
    expect(stray.body.error.param).toBe('effective_at');
    expect((await op('GET', '/api/admin/models')).body.data.some((model: any) => model.id.startsWith('bad'))).toBe(false);
  });

  it('price_incomplete: a model is enabled only with a price for every variant its capabilities allow', async () => {
    const partial = await op('POST', '/api/admin/models', videoModel('partial-video', { pricing: { unit: 'second', credits_by: { '480p': 100 } } }));
    expectV1Error(partial, 400, 'price_incomplete');
    expect(partial.body.error.message).toContain('720p');
    expectV1Error(await op('POST', '/api/admin/models', videoModel('unpriced-video', { pricing: undefined })), 400, 'price_incomplete');
    // A flat credits price covers every resolution; the same partial price is fine while disabled.
    expect((await op('POST', '/api/admin/models', videoModel('flat-video', { pricing: { unit: 'second', credits: 150 } }))).status).toBe(201);
    expect((await op('POST', '/api/admin/models', videoModel('staged-video', { enabled: false, pricing: { unit: 'second', credits_by: { '480p': 100 } } }))).status).toBe(201);
    expectV1Error(await op('PATCH', '/api/admin/models/staged-video', { enabled: true }), 400, 'price_incomplete');
    // Adding a resolution to an enabled model needs its price in the same change.
    const wider = { ...VIDEO_CAPS, resolutions: ['480p', '720p', '1080p'] };
    expectV1Error(await op('PATCH', '/api/admin/models/hidden-video', { capabilities: wider }), 400, 'price_incomplete');
    const priced = await op('PATCH', '/api/admin/models/hidden-video', { capabilities: wider, pricing: { unit: 'second', credits_by: { '480p': 100, '720p': 200, '1080p': 400 } } });
    expect(priced.status, priced.text).toBe(200);
    expect(priced.body).toMatchObject({ price_version: 2, capabilities: { resolutions: ['480p', '720p', '1080p'] } });
    // Image: every quality × size; chat: input and output; embeddings: input.
    const image = {
      id: 'img-model', type: 'image', display_name: 'Img', enabled: true,
      capabilities: { sizes: ['1024x1024', '1536x1024'], default_size: '1024x1024', qualities: ['low', 'high'], default_quality: 'low', max_images: 2 },
    };
    const missingHigh = await op('POST', '/api/admin/models', { ...image, pricing: { unit: 'image', credits_by: { low: 10 } } });
    expectV1Error(missingHigh, 400, 'price_incomplete');
    expect(missingHigh.body.error.message).toContain('quality high');
    expect((await op('POST', '/api/admin/models', { ...image, pricing: { unit: 'image', credits_by: { low: 10, high: 40 } } })).status).toBe(201);
    const chat = { id: 'chat-model', type: 'chat', display_name: 'Chat', enabled: true, capabilities: { context_window: 8000, max_output_tokens: 1000 } };
    expectV1Error(await op('POST', '/api/admin/models', { ...chat, pricing: { unit: 'token', input_credits_per_million: 10 } }), 400, 'price_incomplete');
    expect((await op('POST', '/api/admin/models', { ...chat, pricing: { unit: 'token', input_credits_per_million: 10, output_credits_per_million: 0 } })).status).toBe(201);
  });
});

describe('catalogue: price versions', () => {
  it('a price change is a new version; an open task is charged at the version it was reserved under and shows it', async () => {
    const owner = await testCustomer(ctx.app);
    const body = { model: 'seedance-1.5-pro', prompt: 'a lighthouse', seconds: 5, resolution: '720p' };
    const first = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body });
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({ price_version: 1, credits: { reserved: 5000 } });

    const changed = await op('PATCH', '/api/admin/models/seedance-1.5-pro', { pricing: { unit: 'second', credits_by: { '480p': 700, '720p': 2000, '1080p': 3000 } } });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({ price_version: 2, pricing: { credits_by: { '720p': 2000 } } });
    const [audit] = await auditOf('seedance-1.5-pro', 'model.price');
    expect(audit.after).toMatchObject({ version: 2, pricing: { credits_by: { '720p': 2000 } }, scheduled: false });

    const prices = await op('GET', '/api/admin/models/seedance-1.5-pro/prices');
    expect(prices.body).toMatchObject({ object: 'list', model: 'seedance-1.5-pro', price_version: 2 });
    expect(prices.body.data.map((row: any) => [row.version, row.in_force, row.pricing.credits_by['720p']])).toEqual([[1, false, 1000], [2, true, 2000]]);

    const done = await runUntilDone(ctx.app, first.body.id);
    expect(done.status).toBe('succeeded');
    expect(Number(done.charged)).toBe(5000);
    expect(done.price_version).toBe(1);
    const view = await ctx.app.request('GET', `/v1/tasks/${first.body.id}`, { key: owner.key });
    expect(view.body).toMatchObject({ price_version: 1, credits: { reserved: 5000, charged: 5000 } });

    const second = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body });
    expect(second.body).toMatchObject({ price_version: 2, credits: { reserved: 10_000 } });
    expect(Number((await runUntilDone(ctx.app, second.body.id)).charged)).toBe(10_000);
  });

  it('a version effective later is scheduled: quotes keep the old price until then; past dates are refused', async () => {
    const owner = await testCustomer(ctx.app);
    const quote = () => ctx.app.request('POST', '/v1/quotes', { key: owner.key, body: { model: 'seedance-2.0', seconds: 5, resolution: '480p' } });
    expect((await quote()).body).toMatchObject({ credits: 4500, price_version: 1 });
    const now = ctx.app.clock.now().getTime();
    const past = await op('PATCH', '/api/admin/models/seedance-2.0', { pricing: { unit: 'second', credits: 1 }, effective_at: new Date(now - 60_000).toISOString() });
    expectV1Error(past, 400, 'invalid_request');
    expect(past.body.error.param).toBe('effective_at');
    const bad = await op('PATCH', '/api/admin/models/seedance-2.0', { pricing: { unit: 'second', credits: 1 }, effective_at: 'tomorrow' });
    expect(bad.body.error.param).toBe('effective_at');
    const later = new Date(now + 3_600_000).toISOString();
    const scheduled = await op('PATCH', '/api/admin/models/seedance-2.0', { pricing: { unit: 'second', credits_by: { '480p': 500, '720p': 1000, '1080p': 2000 } }, effective_at: later });
    expect(scheduled.status, scheduled.text).toBe(200);
    expect(scheduled.body).toMatchObject({ price_version: 1, scheduled_prices: [{ version: 2, effective_at: later, scheduled: true }] });
    expect((await quote()).body).toMatchObject({ credits: 4500, price_version: 1 });
    ctx.app.clock.advance(3_600_000);
    expect((await quote()).body).toMatchObject({ credits: 2500, price_version: 2 });
    const prices = await op('GET', '/api/admin/models/seedance-2.0/prices');
    expect(prices.body.data.map((row: any) => [row.version, row.in_force, row.scheduled])).toEqual([[1, false, false], [2, true, false]]);
  });

  it('a version scheduled seconds ahead is in force from its time on, also between two reads of the catalogue', async () => {
    const owner = await testCustomer(ctx.app);
    const quote = () => ctx.app.request('POST', '/v1/quotes', { key: owner.key, body: { model: 'seedance-2.0', seconds: 5, resolution: '480p' } });
    const before = (await quote()).body as { credits: number; price_version: number };
    const soon = new Date(ctx.app.clock.now().getTime() + 2_000).toISOString();
    const scheduled = await op('PATCH', '/api/admin/models/seedance-2.0', { pricing: { unit: 'second', credits_by: { '480p': 700, '720p': 1400, '1080p': 2800 } }, effective_at: soon });
    expect(scheduled.status, scheduled.text).toBe(200);
    expect(before.credits).not.toBe(3500);
    // The process keeps its copy of the catalogue for 5 s: the price in force changes inside that copy, at its time.
    expect((await quote()).body).toMatchObject(before);
    ctx.app.clock.advance(1_999);
    expect((await quote()).body).toMatchObject(before);
    ctx.app.clock.advance(1);
    expect((await quote()).body).toMatchObject({ credits: 3500, price_version: before.price_version + 1 });
  });
});

describe('catalogue: deleting models and channel mappings', () => {
  it('model_in_use while a channel maps it or a task of it is open; then deleted with its history, audited', async () => {
    expect((await op('POST', '/api/admin/models', videoModel('doomed-video'))).status).toBe(201);
    const channel = await op('POST', '/api/admin/channels', { name: 'Doomed', provider: 'dashscope', base_url: 'http://127.0.0.1:1/api/v1', models: { 'doomed-video': 'upstream-doomed' } });
    expect(channel.status, channel.text).toBe(201);
    const mapped = await op('DELETE', '/api/admin/models/doomed-video');
    expectV1Error(mapped, 409, 'model_in_use');
    expect(mapped.body.error.message).toContain(channel.body.id);
    expect((await op('PATCH', `/api/admin/channels/${channel.body.id}`, { models: {} })).status).toBe(200);

    const owner = await testCustomer(ctx.app);
    const task = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body: { model: 'doomed-video', prompt: 'soon gone', seconds: 4 } });
    expect(task.status, task.text).toBe(202);
    const open = await op('DELETE', '/api/admin/models/doomed-video');
    expectV1Error(open, 409, 'model_in_use');
    expect(open.body.error.message).toContain('open');
    expect((await runUntilDone(ctx.app, task.body.id)).status).toBe('succeeded');

    const deleted = await op('DELETE', '/api/admin/models/doomed-video');
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body).toEqual({ id: 'doomed-video', object: 'model', deleted: true });
    expectV1Error(await op('GET', '/api/admin/models/doomed-video'), 404, 'not_found');
    const [audit] = await auditOf('doomed-video', 'model.delete');
    expect(audit).toMatchObject({ before: { id: 'doomed-video', price_version: 1 }, after: null });
    // The finished task stays readable with its charge.
    expect((await ctx.app.request('GET', `/v1/tasks/${task.body.id}`, { key: owner.key })).body).toMatchObject({ status: 'succeeded', credits: { charged: 800 } });
  });

  it('unknown_model: a channel may map only models the catalogue has (disabled ones count)', async () => {
    const base = { name: 'Mapper', provider: 'dashscope', base_url: 'http://127.0.0.1:1/api/v1' };
    const created = await op('POST', '/api/admin/channels', { ...base, models: { 'happyhorse-1.0': 'hh', 'no-such-model': 'x' } });
    expectV1Error(created, 400, 'unknown_model');
    expect(created.body.error.param).toBe('models.no-such-model');
    expect((await op('POST', '/api/admin/models', videoModel('parked-video', { enabled: false }))).status).toBe(201);
    const ok = await op('POST', '/api/admin/channels', { ...base, models: { 'happyhorse-1.0': 'hh', 'parked-video': 'pv' } });
    expect(ok.status, ok.text).toBe(201);
    const patched = await op('PATCH', `/api/admin/channels/${ok.body.id}`, { models: { 'ghost-model': 'g' } });
    expectV1Error(patched, 400, 'unknown_model');
    expect(patched.body.error.param).toBe('models.ghost-model');
    const unchanged = (await op('GET', '/api/admin/channels')).body.data.find((row: any) => row.id === ok.body.id);
    expect(unchanged.models).toEqual({ 'happyhorse-1.0': 'hh', 'parked-video': 'pv' });
  });
});
