import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAllMocks } from '../mock-upstreams/all.js';
import { startChatMock } from '../mock-upstreams/openai-compatible/server.js';
import type { RunningMock } from '../mock-upstreams/shared/harness.js';
import { runLiveUntilDone, runUntilDone, testCustomer } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * Channel costs and margins (issue 10, SEMANTICS M11): the cost is recorded in the settling statement, the operator's
 * usage report and CSV are exact, and a customer's grouped usage never shows another customer's tasks nor any cost.
 */
const ctx = useTestApp();
let mocks: RunningMock;
let chat: Awaited<ReturnType<typeof startChatMock>>;

beforeAll(async () => {
  mocks = await startAllMocks(0, { queuedMs: 20, runningMs: 40 });
  chat = await startChatMock({});
});

afterAll(async () => {
  await mocks?.close();
  await chat?.close();
});

const VIDEO = 'seedance-2.0-fast'; // 1,200 credits per 720p second (the default resolution)
const COSTS = { [VIDEO]: { unit: 'second', credits: 500, credits_by: { '720p': 900 } } };

async function videoCustomer(costs: Record<string, unknown> | null = COSTS) {
  const group = `g-cost-${Math.random().toString(36).slice(2, 8)}`;
  const channel = await ctx.app.request('POST', '/api/admin/channels', {
    operator: true,
    body: { name: 'ark costs', provider: 'ark', base_url: `${mocks.baseUrl}/ark/api/v3`, models: { [VIDEO]: 'dreamina-seedance-2-0-fast-260128' }, group, ...(costs ? { costs } : {}) },
  });
  expect(channel.status, channel.text).toBe(201);
  await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.body.id, credential: 'mock-key' } });
  const customer = await ctx.app.createCustomer({ group });
  const key = await ctx.app.createKey(customer.id, { mode: 'live' });
  await ctx.app.grant(customer.id, 1_000_000, 'live');
  return { channel: channel.body, key: key.key as string, keyId: key.id as string, customerId: customer.id as string };
}

async function video(key: string, prompt: string) {
  const response = await ctx.app.request('POST', '/v1/videos', { key, body: { model: VIDEO, prompt, seconds: 5 } });
  expect(response.status, response.text).toBe(202);
  return runLiveUntilDone(ctx.app, response.body.id as string);
}

const report = (query: string, options: { key?: string; operator?: boolean } = { operator: true }) => ctx.app.request('GET', `/api/admin/reports/usage?${query}`, options);

describe('channel costs', () => {
  it('are stored on the channel, shown, and validated like prices (mapped models only, the model\'s unit and variants)', async () => {
    const { channel } = await videoCustomer();
    expect(channel.costs).toEqual(COSTS);
    const base = { name: 'x', provider: 'ark', base_url: `${mocks.baseUrl}/ark/api/v3`, models: { [VIDEO]: 'up' } };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ 'sora-2': { unit: 'second', credits: 1 } }, 'costs.sora-2'],
      [{ [VIDEO]: { unit: 'image', credits: 1 } }, `costs.${VIDEO}.unit`],
      [{ [VIDEO]: { unit: 'second', credits_by: { '4k': 1 } } }, `costs.${VIDEO}.credits_by.4k`],
    ];
    for (const [costs, param] of cases) {
      const response = await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { ...base, costs } });
      expect(response.status, response.text).toBe(400);
      expect(response.body.error.param).toBe(param);
    }
    for (const bad of [-1, 1.5, '3']) {
      const response = await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { ...base, costs: { [VIDEO]: { unit: 'second', credits: bad } } } });
      expect(response.status, response.text).toBe(400);
    }
    const patched = await ctx.app.request('PATCH', `/api/admin/channels/${channel.id}`, { operator: true, body: { costs: { [VIDEO]: { unit: 'second', credits: 700 } } } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.costs).toEqual({ [VIDEO]: { unit: 'second', credits: 700 } });
    // Unmapping a model that still has a cost is refused; nothing changes.
    const unmapped = await ctx.app.request('PATCH', `/api/admin/channels/${channel.id}`, { operator: true, body: { models: { 'sora-2': 'sora-2' } } });
    expect(unmapped.status).toBe(400);
    expect(unmapped.body.error.param).toBe(`costs.${VIDEO}`);
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${channel.id}`, { operator: true });
    expect(audit.body.data[0].after.costs).toEqual({ [VIDEO]: { unit: 'second', credits: 700 } });
  });
});

describe('cost recorded with the settlement', () => {
  it('a live video records its cost beside the charge; a failure records 0; the operator task view shows it', async () => {
    const { key } = await videoCustomer();
    const ok = await video(key, 'a quiet harbour at dawn');
    expect(ok).toMatchObject({ status: 'succeeded', charged: 6000n, cost_credits: 4500n });
    const failed = await video(key, 'x [[scenario:moderation_output]]');
    expect(failed).toMatchObject({ status: 'failed', charged: 0n, cost_credits: 0n });
    const view = await ctx.app.request('GET', `/api/admin/tasks/${ok.id}`, { operator: true });
    expect(view.body.credits).toEqual({ reserved: 6000, charged: 6000, cost: 4500 });
    const failedView = await ctx.app.request('GET', `/api/admin/tasks/${failed.id}`, { operator: true });
    expect(failedView.body.credits.cost).toBe(0);
  });

  it('a channel without a cost for the model, and a test-key sandbox task, record no cost (null)', async () => {
    const { key } = await videoCustomer(null);
    expect(await video(key, 'no cost set')).toMatchObject({ status: 'succeeded', charged: 6000n, cost_credits: null });
    const sandbox = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/videos', { key: sandbox.key, body: { model: VIDEO, prompt: 'sandbox', seconds: 5 } });
    expect(created.status, created.text).toBe(202);
    const done = await runUntilDone(ctx.app, created.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.cost_credits).toBeNull();
    const row = (await report(`group_by=customer&mode=test`)).body.data.find((entry: { key: string }) => entry.key === sandbox.customerId);
    expect(row).toMatchObject({ requests: 1, succeeded: 1, failed: 0, cost_credits: null, margin_credits: null });
  });

  it('a live chat request records its cost at the channel\'s token costs from the reported usage', async () => {
    const group = `g-chat-${Math.random().toString(36).slice(2, 8)}`;
    const channel = await ctx.app.request('POST', '/api/admin/channels', {
      operator: true,
      body: { name: 'chat', provider: 'openai-compatible', base_url: chat.baseUrl, models: { 'gpt-5-mini': 'mock-chat' }, group, costs: { 'gpt-5-mini': { unit: 'token', input_credits_per_million: 1000, output_credits_per_million: 10_000 } } },
    });
    expect(channel.status, channel.text).toBe(201);
    await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.body.id, credential: 'mock-key' } });
    const customer = await ctx.app.createCustomer({ group });
    const key = await ctx.app.createKey(customer.id, { mode: 'live' });
    await ctx.app.grant(customer.id, 1_000_000, 'live');
    const response = await ctx.app.request('POST', '/v1/chat/completions', { key: key.key, body: { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'one two three four five' }] } });
    expect(response.status, response.text).toBe(200);
    const { prompt_tokens: input, completion_tokens: output } = response.body.usage;
    const [task] = (await ctx.app.deps.tasks.listAll({ customerId: customer.id, limit: 1 }));
    expect(Number(task!.charged)).toBe(Math.ceil((input * 1750 + output * 14_000) / 1_000_000));
    expect(Number(task!.cost_credits)).toBe(Math.ceil((input * 1000 + output * 10_000) / 1_000_000));
  });
});

describe('GET /api/admin/reports/usage', () => {
  it('rows per customer, channel, model and day are exact, with margins; CSV answers the same rows', async () => {
    const { key, customerId, channel } = await videoCustomer();
    await video(key, 'one');
    await video(key, 'two');
    await video(key, 'x [[scenario:moderation_output]]');
    const expected = { requests: 3, succeeded: 2, failed: 1, credits_charged: 12_000, cost_credits: 9000, margin_credits: 3000 };
    const byCustomer = await report('group_by=customer');
    expect(byCustomer.status, byCustomer.text).toBe(200);
    expect(byCustomer.body).toMatchObject({ object: 'usage_report', group_by: 'customer', mode: 'live', has_more: false });
    expect(byCustomer.body.data.find((row: { key: string }) => row.key === customerId)).toEqual({ key: customerId, ...expected });
    const byChannel = await report('group_by=channel');
    expect(byChannel.body.data.find((row: { key: string }) => row.key === channel.id)).toEqual({ key: channel.id, ...expected });
    const byModel = (await report('group_by=model')).body.data.find((row: { key: string }) => row.key === VIDEO);
    expect(byModel.requests).toBeGreaterThanOrEqual(3);
    // Other tests' tasks of this model count too; the margin covers the successes whose cost is known.
    expect(byModel.cost_credits).toBeGreaterThanOrEqual(9000);
    expect(byModel.margin_credits).toBeLessThanOrEqual(byModel.credits_charged - byModel.cost_credits);
    const byDay = await report('');
    expect(byDay.body.group_by).toBe('day');
    expect(byDay.body.data.map((row: { key: string }) => row.key)).toContain(ctx.app.clock.now().toISOString().slice(0, 10));
    // A range that ends before the tasks were created has none of them.
    const before = await report(`group_by=customer&from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z`);
    expect(before.body.data).toEqual([]);
    // Pages: limit and after (the last key of the previous page).
    const all = (await report('group_by=customer')).body.data as Array<{ key: string }>;
    const first = await report('group_by=customer&limit=1');
    expect(first.body.data).toEqual([all[0]]);
    expect(first.body.has_more).toBe(all.length > 1);
    if (all.length > 1) expect((await report(`group_by=customer&limit=1&after=${all[0]!.key}`)).body.data).toEqual([all[1]]);

    const csv = await report('group_by=customer&format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('key,requests,succeeded,failed,credits_charged,cost_credits,margin_credits');
    expect(lines).toContain(`${customerId},3,2,1,12000,9000,3000`);
    expect(lines.length).toBe(all.length + 1);
  });

  it('refuses a missing key and customer keys (401), bad group_by, dates and limits (400 with param)', async () => {
    const { key } = await videoCustomer();
    for (const options of [{}, { key }]) {
      const response = await report('group_by=day', options);
      expect(response.status).toBe(401);
    }
    const cases: Array<[string, string]> = [
      ['group_by=key', 'group_by'], ['group_by=week', 'group_by'], ['from=yesterday', 'from'], ['to=2020-13-45T00:00:00Z', 'to'],
      ['from=2021-01-01T00:00:00Z&to=2020-01-01T00:00:00Z', 'to'], ['limit=1001', 'limit'], ['limit=0', 'limit'], ['format=xml', 'format'],
    ];
    for (const [query, param] of cases) {
      const response = await report(query);
      expect(response.status, query).toBe(400);
      expect(response.body.error.param, query).toBe(param);
    }
  });
});

describe('GET /v1/usage grouped', () => {
  it('groups the customer\'s own tasks by model, key and day, never another customer\'s, never a cost; CSV too', async () => {
    const mine = await videoCustomer();
    const other = await videoCustomer();
    await video(mine.key, 'mine');
    await video(other.key, 'theirs');
    await video(other.key, 'theirs again');
    const byModel = await ctx.app.request('GET', '/v1/usage?group_by=model', { key: mine.key });
    expect(byModel.status, byModel.text).toBe(200);
    expect(byModel.body).toMatchObject({ mode: 'live', group_by: 'model', has_more: false, creditsBalance: 1_000_000 - 6000 });
    expect(byModel.body.usage).toEqual([{ key: VIDEO, requests: 1, succeeded: 1, failed: 0, credits: 6000 }]);
    expect(byModel.text).not.toContain('cost');
    const byKey = await ctx.app.request('GET', '/v1/usage?group_by=key', { key: mine.key });
    expect(byKey.body.usage).toEqual([{ key: mine.keyId, requests: 1, succeeded: 1, failed: 0, credits: 6000 }]);
    const byDay = await ctx.app.request('GET', '/v1/usage?group_by=day', { key: mine.key });
    expect(byDay.body.usage).toHaveLength(1);
    expect(byDay.body.usage[0]).toMatchObject({ requests: 1, credits: 6000 });
    const csv = await ctx.app.request('GET', '/v1/usage?group_by=key&format=csv', { key: mine.key });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.text).toBe(`key,requests,succeeded,failed,credits\r\n${mine.keyId},1,1,0,6000\r\n`);
    // The other customer sees its own two tasks only.
    const theirs = await ctx.app.request('GET', '/v1/usage?group_by=model', { key: other.key });
    expect(theirs.body.usage).toEqual([{ key: VIDEO, requests: 2, succeeded: 2, failed: 0, credits: 12_000 }]);
    // Without group_by the answer is as before: settled usage per model.
    const plain = await ctx.app.request('GET', `/v1/usage?from=2020-01-01T00:00:00Z&to=${new Date(ctx.app.clock.now().getTime() + 1000).toISOString()}`, { key: mine.key });
    expect(plain.body.usage).toEqual([{ model: VIDEO, type: 'video', count: 1, credits: 6000 }]);
    expect(plain.body.group_by).toBeUndefined();
  });

  it('refuses channel/customer grouping, bad dates and format without group_by (400 with param)', async () => {
    const { key } = await videoCustomer();
    const cases: Array<[string, string]> = [
      ['group_by=channel', 'group_by'], ['group_by=customer', 'group_by'], ['group_by=model&from=yesterday', 'from'],
      ['group_by=model&from=2021-01-01T00:00:00Z&to=2020-01-01T00:00:00Z', 'to'], ['format=csv', 'format'],
    ];
    for (const [query, param] of cases) {
      const response = await ctx.app.request('GET', `/v1/usage?${query}`, { key });
      expect(response.status, query).toBe(400);
      expect(response.body.ok).toBe(false);
      expect(response.body.error.param, query).toBe(param);
    }
    expect((await ctx.app.request('GET', '/v1/usage?group_by=model')).status).toBe(401);
  });
});
