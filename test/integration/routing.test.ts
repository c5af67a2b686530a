import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDashscopeMock } from '../mock-upstreams/dashscope/server.js';
import { runLiveUntilDone } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/** Live routing over real adapters and mock upstreams (API.md §8; issue: routing and the credential pool). */
const ctx = useTestApp();
let mock: Awaited<ReturnType<typeof startDashscopeMock>>;
const PRICE = 5 * 1400; // happyhorse-1.0 at 720p

beforeAll(async () => {
  mock = await startDashscopeMock({ queuedMs: 20, runningMs: 40 });
});

afterAll(async () => {
  await mock?.close();
});

async function channel(body: Record<string, unknown>, credential = 'mock-key') {
  const created = await ctx.app.request('POST', '/api/admin/channels', {
    operator: true,
    body: { name: 'HappyHorse', provider: 'dashscope', base_url: `${mock.baseUrl}/api/v1`, models: { 'happyhorse-1.0': 'happyhorse-1.0-t2v' }, ...body },
  });
  expect(created.status, created.text).toBe(201);
  const account = await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: created.body.id, credential, label: 'main' } });
  expect(account.status, account.text).toBe(201);
  return { channel: created.body, account: account.body };
}

async function liveCustomer(group: string) {
  const customer = await ctx.app.createCustomer({ group });
  const key = await ctx.app.createKey(customer.id, { mode: 'live' });
  await ctx.app.grant(customer.id, 1_000_000, 'live');
  return { customerId: customer.id as string, key: key.key as string };
}

const finish = (taskId: string) => runLiveUntilDone(ctx.app, taskId);

function video(key: string, prompt = 'a horse on a beach') {
  return ctx.app.request('POST', '/v1/videos', { key, body: { model: 'happyhorse-1.0', prompt, seconds: 5, resolution: '720p' } });
}

describe('live routing', () => {
  it('serves a live key through a channel: result copied to genrelay storage, the price charged, no upstream detail leaks', async () => {
    const { channel: row, account } = await channel({ group: 'g-success' });
    const owner = await liveCustomer('g-success');
    const created = await video(owner.key);
    expect(created.status, created.text).toBe(202);
    const task = await finish(created.body.id);
    expect(task.status).toBe('succeeded');
    expect(task.channel_id).toBe(row.id);
    expect(Number(task.charged)).toBe(PRICE);
    expect(mock.control.stats.creates[created.body.id]).toBe(1);
    const view = await ctx.app.request('GET', `/v1/videos/${created.body.id}`, { key: owner.key });
    expect(view.body.status).toBe('completed');
    const text = view.text;
    expect(text).not.toContain(mock.baseUrl.replace('http://', ''));
    expect(text).not.toContain(task.provider_task_id!);
    expect(text).not.toContain('mock-key');
    expect(text).not.toContain(row.id);
    const download = await fetch(view.body.result.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).subarray(4, 8).toString('ascii')).toBe('ftyp');
    const accounts = await ctx.app.request('GET', `/api/accounts?channel_id=${row.id}`, { operator: true });
    expect(accounts.body.data[0]).toMatchObject({ id: account.id, status: 'active', uses: 1 });
    expect(accounts.text).not.toContain('mock-key');
  });

  it('a rejected credential is disabled and the task fails over to the next channel', async () => {
    const first = await channel({ group: 'g-auth', priority: 10 }, 'wrong-key');
    const second = await channel({ group: 'g-auth', priority: 5 });
    const owner = await liveCustomer('g-auth');
    const created = await video(owner.key);
    const task = await finish(created.body.id);
    expect(task.status).toBe('succeeded');
    expect(task.channel_id).toBe(second.channel.id);
    expect(task.tried_channels).toEqual([first.channel.id]);
    const account = await ctx.app.request('GET', `/api/accounts?channel_id=${first.channel.id}`, { operator: true });
    expect(account.body.data[0]).toMatchObject({ status: 'disabled', disabled_reason: expect.stringContaining('credential') });
    expect(mock.control.stats.creates[created.body.id]).toBe(1);
  });

  it('a 429 cools the credential down (honouring Retry-After) and fails over', async () => {
    const first = await channel({ group: 'g-429', priority: 10 });
    const second = await channel({ group: 'g-429', priority: 5 });
    const owner = await liveCustomer('g-429');
    mock.control.queueScenario('create', 'rate_limited;retry_after=120', 1);
    const created = await video(owner.key);
    const task = await finish(created.body.id);
    expect(task.status).toBe('succeeded');
    expect(task.channel_id).toBe(second.channel.id);
    const account = await ctx.app.request('GET', `/api/accounts?channel_id=${first.channel.id}`, { operator: true });
    expect(account.body.data[0].status).toBe('cooldown');
    const until = Date.parse(account.body.data[0].cooldown_until) - ctx.app.clock.now().getTime();
    expect(until).toBeGreaterThan(60_000);
    expect(until).toBeLessThanOrEqual(120_000);
  });

  it('a channel whose upstream keeps failing leaves rotation (503 before anything is reserved) and is probed back', async () => {
    const created = await ctx.app.request('POST', '/api/admin/channels', {
      operator: true,
      body: { name: 'Dead', provider: 'dashscope', base_url: 'http://127.0.0.1:1/api/v1', models: { 'happyhorse-1.0': 'happyhorse-1.0-t2v' }, group: 'g-dead' },
    });
    await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: created.body.id, credential: 'k' } });
    const owner = await liveCustomer('g-dead');
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await video(owner.key, `try ${attempt}`);
      if (response.status !== 202) break;
      await finish(response.body.id);
    }
    const channels = await ctx.app.request('GET', '/api/admin/channels', { operator: true });
    expect(channels.body.data.find((row: any) => row.id === created.body.id).health).toBe('open');
    const refused = await video(owner.key, 'after open');
    expectV1Error(refused, 503, 'provider_capacity_unavailable');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    ctx.app.clock.advance(61_000);
    ctx.app.deps.channels.invalidate();
    expect((await video(owner.key, 'probe')).status).toBe(202);
  });
});

describe('operator API for channels and accounts', () => {
  it('rejects bad auth and invalid bodies, 404s unknown ids, never returns a credential', async () => {
    expectV1Error(await ctx.app.request('GET', '/api/admin/channels'), 401, 'invalid_api_key');
    expectV1Error(await ctx.app.request('POST', '/api/accounts', { body: {} }), 401, 'invalid_api_key');
    const base = { name: 'x', provider: 'dashscope', base_url: 'https://dashscope.example/api/v1', models: { 'happyhorse-1.0': 'u' } };
    expectV1Error(await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { ...base, provider: 'nope' } }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { ...base, sandbox: true } }), 400, 'unknown_parameter');
    expectV1Error(await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: { ...base, weight: 0 } }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('PATCH', '/api/admin/channels/ch_missing', { operator: true, body: { enabled: false } }), 404, 'not_found');
    expectV1Error(await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: 'ch_missing', credential: 'k' } }), 404, 'not_found');
    expectV1Error(await ctx.app.request('PATCH', '/api/accounts/acc_missing', { operator: true, body: { status: 'active' } }), 404, 'not_found');
    const created = await ctx.app.request('POST', '/api/admin/channels', { operator: true, body: base });
    const account = await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: created.body.id, credential: 'super-secret-upstream-key' } });
    expect(account.text).not.toContain('super-secret-upstream-key');
    const stored = await ctx.app.deps.db.query<{ credential_encrypted: string }>('SELECT credential_encrypted FROM upstream_credentials WHERE id = $1', [account.body.id]);
    expect(stored.rows[0]!.credential_encrypted).not.toContain('super-secret');
    const rotated = await ctx.app.request('PATCH', `/api/accounts/${account.body.id}`, { operator: true, body: { credential: 'another-secret' } });
    expect(rotated.status).toBe(200);
    expect(rotated.text).not.toContain('another-secret');
    // Opened credentials are remembered per sealed value: the rotated one is what requests use from now on.
    const sealed = async () => (await ctx.app.deps.db.query<any>('SELECT * FROM upstream_credentials WHERE id = $1', [account.body.id])).rows[0];
    expect(ctx.app.deps.channels.secretOf(await sealed())).toBe('another-secret');
    await ctx.app.request('PATCH', `/api/accounts/${account.body.id}`, { operator: true, body: { credential: 'super-secret-upstream-key' } });
    expect(ctx.app.deps.channels.secretOf(await sealed())).toBe('super-secret-upstream-key');
    const disabled = await ctx.app.request('PATCH', `/api/admin/channels/${created.body.id}`, { operator: true, body: { enabled: false } });
    expect(disabled.body.enabled).toBe(false);
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${account.body.id}`, { operator: true });
    expect(audit.body.data.map((row: any) => row.action).sort()).toEqual(['account.create', 'account.rotate', 'account.rotate']);
    expect(audit.text).not.toContain('secret');
  });
});

describe('account test generation', () => {
  it('runs one small generation on exactly that credential, charging no one; a bad key is disabled', async () => {
    const good = await channel({ group: 'g-test' });
    const result = await ctx.app.request('POST', `/api/accounts/${good.account.id}/test`, { operator: true, body: {} });
    expect(result.status, result.text).toBe(200);
    expect(result.body).toMatchObject({ ok: true, model: 'happyhorse-1.0', status: 'succeeded' });
    const bad = await channel({ group: 'g-test-bad' }, 'wrong-key');
    const failed = await ctx.app.request('POST', `/api/accounts/${bad.account.id}/test`, { operator: true, body: {} });
    expect(failed.body).toMatchObject({ ok: false, outcome: 'rejected', error: { class: 'auth' } });
    const account = await ctx.app.request('GET', `/api/accounts?channel_id=${bad.channel.id}`, { operator: true });
    expect(account.body.data[0].status).toBe('disabled');
    expectV1Error(await ctx.app.request('POST', '/api/accounts/acc_missing/test', { operator: true, body: {} }), 404, 'not_found');
    expectV1Error(await ctx.app.request('POST', `/api/accounts/${good.account.id}/test`, { operator: true, body: { model: 'sora-2' } }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('POST', `/api/accounts/${good.account.id}/test`, { body: {} }), 401, 'invalid_api_key');
  });
});

describe('routing groups are cached per customer (issue 14)', () => {
  it('a dispatch reads the customer’s group from the cache, and a group change takes effect on the next dispatch', async () => {
    const { channel: first } = await channel({ name: 'group one', group: 'g-cache-one' });
    const { channel: second } = await channel({ name: 'group two', group: 'g-cache-two' });
    await liveCustomer('g-cache-two');
    const owner = await liveCustomer('g-cache-one');
    const reads = vi.spyOn(ctx.app.deps.customers, 'get');
    const one = await video(owner.key, 'first, group one');
    expect((await finish(one.body.id)).channel_id).toBe(first.id);
    const two = await video(owner.key, 'second, group one');
    expect((await finish(two.body.id)).channel_id).toBe(first.id);
    // Two dispatches (within the cache's 30 s on the manual clock), one read of the customer row for the group.
    expect(reads.mock.calls.filter(([id]) => id === owner.customerId)).toHaveLength(1);
    reads.mockRestore();

    const moved = await ctx.app.request('PATCH', `/api/public/customers/${owner.customerId}`, { operator: true, body: { group: 'g-cache-two' } });
    expect(moved.status, moved.text).toBe(200);
    const three = await video(owner.key, 'third, group two');
    expect((await finish(three.body.id)).channel_id).toBe(second.id);
  });
});
