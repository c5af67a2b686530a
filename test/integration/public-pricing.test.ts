import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { DEFAULT_CATALOG } from '../../src/modules/catalog/default-catalog.js';
import { decimal } from '../../src/modules/catalog/price-list.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * The public price list (issue 10, API.md §11): `GET /models` (HTML) and `GET /api/pricing` (JSON), no key. Every
 * enabled, priced model and nothing else; `?type=` filters; money in PRICE_CURRENCY at CREDITS_PER_CURRENCY_UNIT
 * (10 000 credits = 1 USD by default); `ETag` + `Cache-Control`, `If-None-Match` → 304.
 */
const ctx = useTestApp();

async function sql(text: string, params: unknown[] = []): Promise<void> {
  await ctx.app.deps.db.query(text, params);
  await ctx.app.deps.catalog.refresh();
}

/** A price change as the operator makes it (a new price version in force now). */
async function setPrice(id: string, pricing: Record<string, unknown>): Promise<void> {
  const response = await ctx.app.request('PATCH', `/api/admin/models/${id}`, { operator: true, body: { pricing } });
  expect(response.status, response.text.slice(0, 300)).toBe(200);
  await ctx.app.deps.catalog.refresh();
}

async function pricing(query = '') {
  const response = await ctx.app.request('GET', `/api/pricing${query}`);
  expect(response.status, response.text.slice(0, 300)).toBe(200);
  return response;
}

describe('public price list', () => {
  it('lists every enabled, priced model in HTML and JSON, without a key, in money and credits', async () => {
    const page = await ctx.app.request('GET', '/models');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
    expect(page.headers.get('x-request-id')).toMatch(/^req_/);
    expect(page.text).not.toMatch(/<script/i);
    for (const model of DEFAULT_CATALOG) {
      expect(page.text, model.id).toContain(`id="${model.id}"`);
      expect(page.text, model.id).toContain(model.display_name);
    }
    // Seedance 2.0 Fast 480p: 600 credits a second = $0.06 at 10 000 credits per USD.
    expect(page.text).toContain('$0.06');
    expect(page.text).toContain('600 credits');
    expect(page.text).toContain('10,000 credits = $1.00');
    expect(page.text).toContain('Duration 4–15 s');

    const json = (await pricing()).body;
    expect(json).toMatchObject({ object: 'list', currency: 'USD', credits_per_currency_unit: 10_000 });
    expect(json.data.map((entry: any) => entry.id)).toEqual(DEFAULT_CATALOG.map((model) => model.id));
    const fast = json.data.find((entry: any) => entry.id === 'seedance-2.0-fast');
    expect(fast).toMatchObject({
      name: 'Seedance 2.0 Fast',
      type: 'video',
      created: expect.any(Number),
      architecture: { modality: 'text+image+video+audio->video', output_modalities: ['video'] },
      limits: { durations: { min: 4, max: 15 }, resolutions: ['480p', '720p'] },
      pricing: { currency: 'USD', unit: 'second', second: '0.06' },
      prices: [
        { variant: '480p', unit: 'second', credits: 600, amount: '0.06', list_price: null, discount_percent: null },
        { variant: '720p', unit: 'second', credits: 1200, amount: '0.12', list_price: null, discount_percent: null },
      ],
    });
    expect(fast.limits).not.toHaveProperty('default_resolution');
    const mini = json.data.find((entry: any) => entry.id === 'gpt-5-mini');
    // OpenRouter's convention: per-token prices as decimal strings.
    expect(mini).toMatchObject({ context_length: 400_000, pricing: { unit: 'token', prompt: '0.000000175', completion: '0.0000014' } });
    expect(mini.prices.map((line: any) => [line.variant, line.unit, line.credits, line.amount, line.discount_percent])).toEqual([
      ['input', '1M tokens', 1_750, '0.175', 30],
      ['output', '1M tokens', 14_000, '1.4', 30],
    ]);
    const image = json.data.find((entry: any) => entry.id === 'gpt-image-2');
    // Every quality is priced, so the flat fallback price is not a line of its own.
    expect(image.prices.map((line: any) => line.variant)).toEqual(['low', 'medium', 'high']);
    expect(image.pricing.image).toBe('0.015');
  });

  it('the demo catalogue is priced below list: every model with a list price shows a positive "% below list"', async () => {
    const listed = DEFAULT_CATALOG.filter((model) => model.list_price !== null);
    expect(listed.map((model) => model.id)).toEqual(['sora-2', 'seedream-4.5', 'grok-4-fast', 'gpt-5-mini', 'text-embedding-3-small']);
    const json = (await pricing()).body;
    const page = await ctx.app.request('GET', '/models');
    for (const model of listed) {
      const entry = json.data.find((item: any) => item.id === model.id);
      expect(entry.list_price, model.id).toMatchObject({ amount: model.list_price!.amount, currency: 'USD' });
      expect(entry.discount_percent, model.id).toBeGreaterThan(0);
      for (const line of entry.prices) {
        // Every variant is below its own list price (per-direction amounts for tokens).
        expect(line.discount_percent, `${model.id} ${line.variant}`).toBeGreaterThan(0);
        expect(Number(line.amount), `${model.id} ${line.variant}`).toBeLessThan(line.list_price.amount);
      }
      // The model's section of the HTML page says how far below list it is.
      const start = page.text.indexOf(`id="${model.id}"`);
      const section = page.text.slice(start, page.text.indexOf('</section>', start));
      expect(section, model.id).toContain(`${entry.discount_percent} % below list`);
    }
    // The demo prices: 30 % below list throughout (10,000 credits = $1).
    expect(json.data.find((item: any) => item.id === 'sora-2').prices).toEqual([
      { variant: '720p', unit: 'second', credits: 700, amount: '0.07', list_price: { amount: 0.1, currency: 'USD', unit: 'second' }, discount_percent: 30 },
    ]);
    expect(json.data.find((item: any) => item.id === 'seedream-4.5').prices).toEqual([
      { variant: null, unit: 'image', credits: 280, amount: '0.028', list_price: { amount: 0.04, currency: 'USD', unit: 'image' }, discount_percent: 30 },
    ]);
    expect(json.data.find((item: any) => item.id === 'grok-4-fast').prices.map((line: any) => [line.variant, line.credits, line.list_price.amount, line.discount_percent])).toEqual([
      ['input', 1_400, 0.2, 30],
      ['output', 3_500, 0.5, 30],
    ]);
    expect(json.data.find((item: any) => item.id === 'text-embedding-3-small').prices.map((line: any) => [line.variant, line.credits, line.amount, line.discount_percent])).toEqual([
      ['input', 140, '0.014', 30],
    ]);
    // Models without a published list price show none and claim no discount.
    for (const model of DEFAULT_CATALOG.filter((item) => item.list_price === null)) {
      const entry = json.data.find((item: any) => item.id === model.id);
      expect(entry, model.id).toMatchObject({ list_price: null, discount_percent: null });
    }
  });

  it('a price change moves the "% below list"; at or above list none is shown', async () => {
    await setPrice('sora-2', { unit: 'second', credits_by: { '720p': 850 } });
    const sora = (await pricing('?type=video')).body.data.find((entry: any) => entry.id === 'sora-2');
    expect(sora.list_price).toMatchObject({ amount: 0.1, currency: 'USD', unit: 'second' });
    expect(sora.prices).toEqual([{ variant: '720p', unit: 'second', credits: 850, amount: '0.085', list_price: { amount: 0.1, currency: 'USD', unit: 'second' }, discount_percent: 15 }]);
    expect(sora.discount_percent).toBe(15);
    const page = await ctx.app.request('GET', '/models?type=video');
    expect(page.text).toContain('15 % below list');
    expect(page.text).toContain('$0.10');
    await setPrice('sora-2', { unit: 'second', credits_by: { '720p': 1000 } });
    const atList = (await pricing('?type=video')).body.data.find((entry: any) => entry.id === 'sora-2');
    expect(atList).toMatchObject({ discount_percent: null, prices: [{ credits: 1000, discount_percent: null }] });
    await setPrice('sora-2', { unit: 'second', credits_by: { '720p': 700 } });
  });

  it('never shows a disabled or unpriced model', async () => {
    await sql(`UPDATE models SET enabled = false WHERE id = 'happyhorse-1.0'`);
    // Enabled models without a usable price, written by hand: one with no price version, one whose rule prices nothing.
    const now = new Date();
    for (const [id, pricing] of [['unpriced-a', {}], ['unpriced-b', { unit: 'image' }]] as const) {
      await sql(
        `INSERT INTO models (id, type, category, display_name, capabilities, pricing, sort_order, created_at, updated_at)
         VALUES ($1, 'image', 'text-to-image', $1, '{}', $2, 99, $3, $3)`,
        [id, JSON.stringify(pricing), now],
      );
    }
    await sql(`INSERT INTO model_prices (model_id, version, pricing, effective_at, created_at) VALUES ('unpriced-b', 1, $1, $2, $2)`, [JSON.stringify({ unit: 'image' }), new Date(0)]);
    const page = await ctx.app.request('GET', '/models');
    expect(page.text).not.toContain('happyhorse-1.0');
    expect(page.text).not.toContain('HappyHorse');
    expect(page.text).not.toContain('unpriced-');
    expect(page.text).toContain('seedance-2.0-fast');
    const ids = (await pricing()).body.data.map((entry: any) => entry.id);
    expect(ids).not.toContain('happyhorse-1.0');
    expect(ids.filter((id: string) => id.startsWith('unpriced-'))).toEqual([]);
    expect(ids.length).toBe(DEFAULT_CATALOG.length - 1);
  });

  it('escapes catalogue text in the page', async () => {
    await sql(`UPDATE models SET display_name = $1 WHERE id = 'suno-v5'`, ['Suno <script>alert(1)</script> & co']);
    const page = await ctx.app.request('GET', '/models?type=music');
    expect(page.text).toContain('Suno &lt;script&gt;alert(1)&lt;/script&gt; &amp; co');
    expect(page.text).not.toMatch(/<script/i);
  });

  it('filters by type; an unknown type is 400 with the plain body', async () => {
    const videos = (await pricing('?type=video')).body.data;
    expect(videos.length).toBeGreaterThan(0);
    expect(new Set(videos.map((entry: any) => entry.type))).toEqual(new Set(['video']));
    const page = await ctx.app.request('GET', '/models?type=image');
    expect(page.text).toContain('gpt-image-2');
    expect(page.text).not.toContain('id="seedance-2.0-fast"');
    expect(page.text).not.toContain('id="gpt-5-mini"');
    // Tracking parameters on a shared link are ignored.
    expect((await ctx.app.request('GET', '/models?type=chat&utm_source=x')).status).toBe(200);
    for (const path of ['/models?type=bogus', '/api/pricing?type=bogus', '/models?type=video&type=image']) {
      const response = await ctx.app.request('GET', path);
      expectV1Error(response, 400, 'invalid_request');
      expect(Object.keys(response.body)).toEqual(['error']);
      expect(response.body.error.param, path).toBe('type');
    }
  });

  it('sends an ETag and Cache-Control; If-None-Match answers 304; a price change changes the tag', async () => {
    for (const path of ['/api/pricing', '/models']) {
      const first = await ctx.app.request('GET', path);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
      expect(first.headers.get('cache-control')).toBe('public, max-age=60');
      expect((await ctx.app.request('GET', path)).headers.get('etag')).toBe(etag);
      for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const cached = await ctx.app.request('GET', path, { headers: { 'if-none-match': header } });
        expect(cached.status, header).toBe(304);
        expect(cached.text).toBe('');
        expect(cached.headers.get('etag')).toBe(etag);
      }
      expect((await ctx.app.request('GET', path, { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);
    }
    const before = (await pricing()).headers.get('etag');
    await setPrice('grok-imagine-image', { unit: 'image', credits: 250 });
    const after = await pricing();
    expect(after.headers.get('etag')).not.toBe(before);
    expect(after.body.data.find((entry: any) => entry.id === 'grok-imagine-image').pricing.image).toBe('0.025');
  });

  it('shows the default group\'s prices (its price_percent applied to the catalogue price)', async () => {
    const patch = (percent: number) => ctx.app.request('PATCH', '/api/admin/groups/default', { operator: true, body: { price_percent: percent } });
    expect((await patch(80)).status).toBe(200);
    await ctx.app.deps.catalog.refresh();
    try {
      const fast = (await pricing('?type=video')).body.data.find((entry: any) => entry.id === 'seedance-2.0-fast');
      expect(fast.prices[0]).toMatchObject({ variant: '480p', credits: 480, amount: '0.048' });
    } finally {
      expect((await patch(100)).status).toBe(200);
      await ctx.app.deps.catalog.refresh();
    }
  });

  it('reads PRICE_CURRENCY and CREDITS_PER_CURRENCY_UNIT', () => {
    const base = { DATA_DIR: '/tmp/x' };
    expect(parseConfig(base)).toMatchObject({ priceCurrency: 'USD', creditsPerCurrencyUnit: 10_000 });
    expect(parseConfig({ ...base, PRICE_CURRENCY: 'eur', CREDITS_PER_CURRENCY_UNIT: '1000' })).toMatchObject({ priceCurrency: 'EUR', creditsPerCurrencyUnit: 1000 });
    expect(() => parseConfig({ ...base, PRICE_CURRENCY: 'EURO' })).toThrow(/PRICE_CURRENCY/);
    expect(() => parseConfig({ ...base, CREDITS_PER_CURRENCY_UNIT: '0' })).toThrow(/CREDITS_PER_CURRENCY_UNIT/);
    expect(decimal(1n, 3n)).toBe('0.333333333333');
    expect(decimal(2n, 3n, 2)).toBe('0.67');
    expect(decimal(600n, 10_000n)).toBe('0.06');
  });
});
