import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { runUntilDone, testWallet } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * Customer groups and the customer's own price (issue 10; SEMANTICS M10): each unit price is
 * ceil(unit × price_percent / 100) in integers, applied alike to /v1/models, /v1/quotes, holds and charges; a task
 * keeps the percent it was reserved under.
 */
const ctx = useTestApp();
const op = (method: string, path: string, body?: unknown) => ctx.app.request(method, path, { operator: true, ...(body === undefined ? {} : { body }) });

async function customerIn(group: string) {
  const customer = await op('POST', '/api/public/customers', { name: `In ${group}`, group });
  expect(customer.status, customer.text).toBe(201);
  const key = await ctx.app.createKey(customer.body.id, { mode: 'test' });
  await ctx.app.grant(customer.body.id, 1_000_000, 'test');
  return { customerId: customer.body.id as string, key: key.key };
}

async function charges(customerId: string): Promise<number[]> {
  const rows = await ctx.app.deps.db.query<{ amount: bigint }>(
    "SELECT l.amount FROM ledger_entries l JOIN wallets w ON w.id = l.wallet_id WHERE w.customer_id = $1 AND l.kind = 'charge' ORDER BY l.id",
    [customerId],
  );
  return rows.rows.map((row) => -Number(row.amount));
}

describe('groups: the operator routes', () => {
  it('refuse no key and customer keys with 401', async () => {
    const owner = await customerIn('default');
    for (const [method, path, body] of [
      ['GET', '/api/admin/groups'], ['POST', '/api/admin/groups', { id: 'x1', price_percent: 90 }], ['PATCH', '/api/admin/groups/default', { name: 'D' }],
    ] as Array<[string, string, unknown?]>) {
      for (const key of [undefined, owner.key]) {
        expectV1Error(await ctx.app.request(method, path, { ...(key ? { key } : {}), ...(body ? { body } : {}) }), 401, 'invalid_api_key');
      }
    }
    expect((await op('GET', '/api/admin/groups')).body.data.map((group: any) => group.id)).not.toContain('x1');
  });

  it('the default group exists at 100 %; create and update are audited; unknown ids 404; bad input 400 with param', async () => {
    const list = await op('GET', '/api/admin/groups');
    expect(list.body.data.find((group: any) => group.id === 'default')).toMatchObject({ object: 'group', name: 'Default', price_percent: 100 });
    const created = await op('POST', '/api/admin/groups', { id: 'resellers', name: 'Resellers', price_percent: 80 });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ id: 'resellers', object: 'group', name: 'Resellers', price_percent: 80 });
    expect(created.headers.get('location')).toBe('/api/admin/groups/resellers');
    const patched = await op('PATCH', '/api/admin/groups/resellers', { price_percent: 75 });
    expect(patched.body).toMatchObject({ id: 'resellers', name: 'Resellers', price_percent: 75 });
    const audit = await op('GET', '/api/admin/audit?target_type=group&target_id=resellers');
    expect(audit.body.data.map((row: any) => row.action)).toEqual(['group.update', 'group.create']);
    expect(audit.body.data[0]).toMatchObject({ actor: 'operator-key', before: { price_percent: 80 }, after: { price_percent: 75 } });

    expectV1Error(await op('PATCH', '/api/admin/groups/no-such-group', { price_percent: 90 }), 404, 'not_found');
    expectV1Error(await op('POST', '/api/admin/groups', { id: 'resellers' }), 409, 'conflict');
    for (const [body, code, param] of [
      [{ id: 'g1', price_percent: 0 }, 'invalid_request', 'price_percent'],
      [{ id: 'g1', price_percent: 80.5 }, 'invalid_request', 'price_percent'],
      [{ id: 'g1', price_percent: '80' }, 'invalid_request', 'price_percent'],
      [{ id: 'g1', price_percent: 1001 }, 'invalid_request', 'price_percent'],
      [{ id: 'bad group' }, 'invalid_request', 'id'],
      [{ name: 'no id' }, 'invalid_request', 'id'],
      [{ id: 'g1', discount: 5 }, 'unknown_parameter', 'discount'],
    ] as Array<[Record<string, unknown>, string, string]>) {
      const response = await op('POST', '/api/admin/groups', body);
      expectV1Error(response, 400, code);
      expect(response.body.error.param, JSON.stringify(body)).toBe(param);
    }
    const badPatch = await op('PATCH', '/api/admin/groups/resellers', { price_percent: -5 });
    expect(badPatch.body.error.param).toBe('price_percent');
  });

  it('a customer must be in an existing group: create and update answer 400 param group otherwise', async () => {
    const created = await op('POST', '/api/public/customers', { name: 'Lost', group: 'nowhere' });
    expectV1Error(created, 400, 'invalid_request');
    expect(created.body.error.param).toBe('group');
    const customer = await op('POST', '/api/public/customers', { name: 'Found' });
    expect(customer.body.group).toBe('default');
    const moved = await op('PATCH', `/api/public/customers/${customer.body.id}`, { group: 'nowhere' });
    expectV1Error(moved, 400, 'invalid_request');
    expect(moved.body.error.param).toBe('group');
    expect((await op('GET', `/api/public/customers/${customer.body.id}`)).body.group).toBe('default');
  });
});

describe('groups: the customer pays its own price', () => {
  it('73 %: /v1/models, /v1/quotes, the hold and the charge use ceil(unit × 73 / 100) exactly', async () => {
    expect((await op('POST', '/api/admin/groups', { id: 'p73', price_percent: 73 })).status).toBe(201);
    const owner = await customerIn('p73');
    const list = await ctx.app.request('GET', '/v1/models', { key: owner.key });
    const image = list.body.data.find((model: any) => model.id === 'gpt-image-2');
    // gpt-image-2: 500 flat, low 150, medium 500, high 2000 → 365, 110 (109.5 rounded up), 365, 1460.
    expect(image.pricing).toMatchObject({ unit: 'image', credits: 365, credits_by: { low: 110, medium: 365, high: 1460 } });
    const chat = list.body.data.find((model: any) => model.id === 'grok-4-fast');
    // grok-4-fast: 1,400 / 3,500 per million tokens → 1022, 2555.
    expect(chat.pricing).toMatchObject({ input_credits_per_million: 1022, output_credits_per_million: 2555 });
    expect((await ctx.app.request('GET', '/v1/models/seedance-2.0-fast', { key: owner.key })).body.pricing.credits_by).toEqual({ '480p': 438, '720p': 876 });

    const quote = await ctx.app.request('POST', '/v1/quotes', { key: owner.key, body: { model: 'gpt-image-2', quality: 'low', n: 2 } });
    expect(quote.body).toMatchObject({ credits: 220, breakdown: [{ item: 'image', quantity: 2, unit_credits: 110, credits: 220 }] });
    const created = await ctx.app.request('POST', '/v1/images/generations', { key: owner.key, body: { model: 'gpt-image-2', prompt: 'two cats', quality: 'low', n: 2, async: true } });
    expect(created.status, created.text).toBe(202);
    expect((await testWallet(ctx.app, owner.customerId)).reserved).toBe(220);
    const done = await runUntilDone(ctx.app, created.body.id);
    expect(done.status).toBe('succeeded');
    expect(Number(done.charged)).toBe(220);
    expect(done.price_percent).toBe(73);

    const videoQuote = await ctx.app.request('POST', '/v1/quotes', { key: owner.key, body: { model: 'seedance-2.0-fast', seconds: 5, resolution: '720p' } });
    expect(videoQuote.body.credits).toBe(4380);
    const video = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body: { model: 'seedance-2.0-fast', prompt: 'waves', seconds: 5, resolution: '720p' } });
    expect(video.body.credits).toEqual({ reserved: 4380, charged: 0 });
    expect(Number((await runUntilDone(ctx.app, video.body.id)).charged)).toBe(4380);
    expect(await charges(owner.customerId)).toEqual([220, 4380]);

    // Tokens: per-million prices scaled the same way, then the usual ceil over the usage.
    const client = new OpenAI({ apiKey: owner.key, baseURL: `${ctx.app.baseUrl}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'Hello there.' }] });
    const usage = completion.usage!;
    const expected = Math.ceil((usage.prompt_tokens * 1022 + usage.completion_tokens * 2555) / 1_000_000);
    expect((await charges(owner.customerId)).at(-1)).toBe(expected);

    // The same requests at list price for a customer of the default group.
    const list100 = await customerIn('default');
    expect((await ctx.app.request('POST', '/v1/quotes', { key: list100.key, body: { model: 'gpt-image-2', quality: 'low', n: 2 } })).body.credits).toBe(300);
  });

  it('a percent change applies to new tasks; an open task keeps the percent it was reserved under', async () => {
    expect((await op('POST', '/api/admin/groups', { id: 'shifting', price_percent: 50 })).status).toBe(201);
    const owner = await customerIn('shifting');
    const body = { model: 'suno-v5', prompt: 'a calm tune', instrumental: true };
    const first = await ctx.app.request('POST', '/v1/music/generations', { key: owner.key, body });
    expect(first.status, first.text).toBe(202);
    expect(first.body.credits.reserved).toBe(750);
    expect((await op('PATCH', '/api/admin/groups/shifting', { price_percent: 90 })).status).toBe(200);
    const second = await ctx.app.request('POST', '/v1/music/generations', { key: owner.key, body });
    expect(second.body.credits.reserved).toBe(1350);
    expect(Number((await runUntilDone(ctx.app, first.body.id)).charged)).toBe(750);
    expect(Number((await runUntilDone(ctx.app, second.body.id)).charged)).toBe(1350);
  });
});
