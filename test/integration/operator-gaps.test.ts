import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelProviderIds } from '../../src/providers/registry.js';
import { startAllMocks } from '../mock-upstreams/all.js';
import { startChatMock } from '../mock-upstreams/openai-compatible/server.js';
import type { RunningMock } from '../mock-upstreams/shared/harness.js';
import type { TestResponse } from '../harness/app.js';
import { enrolledAdmin, type EnrolledAdmin } from '../harness/console.js';
import { runLiveUntilDone } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * What the operator console found missing (issue 11): a task's result and an account test's output as signed links,
 * the provider registry as data, wiped accounts kept disabled, one channel with its pool counts, customer search,
 * and text requests recorded under the channel that served them.
 */
const ctx = useTestApp();

let mocks: RunningMock;
let chat: Awaited<ReturnType<typeof startChatMock>>;
let admin: EnrolledAdmin;
let videoChannel = '';
let videoAccount = '';
let chatChannel = '';
let chatAccount = '';
let customer: { id: string; key: string };
let liveTask = '';

function operator(method: string, path: string, body?: unknown): Promise<TestResponse> {
  return ctx.app.request(method, path, { operator: true, ...(body === undefined ? {} : { body }) });
}

async function created(response: TestResponse): Promise<any> {
  expect(response.status, response.text).toBeLessThan(300);
  return response.body;
}

async function auditActions(targetId: string): Promise<string[]> {
  const rows = await ctx.app.deps.db.query<{ action: string }>('SELECT action FROM audit_events WHERE target_id = $1 ORDER BY id', [targetId]);
  return rows.rows.map((row) => row.action);
}

/** A signed link answers without any key; its bytes are the stored file's. */
async function fetchLink(url: string): Promise<{ status: number; type: string | null; size: number }> {
  const link = new URL(url);
  expect(link.origin).toBe(ctx.app.baseUrl);
  expect(link.searchParams.get('sig')).toBeTruthy();
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get('content-type'), size: (await response.arrayBuffer()).byteLength };
}

function expectAuthRequired(paths: Array<[string, string]>): Promise<void[]> {
  return Promise.all(paths.map(async ([method, path]) => {
    for (const key of [undefined, customer.key]) {
      const response = await ctx.app.request(method, path, { ...(key === undefined ? {} : { key }), ...(method === 'GET' ? {} : { body: {} }) });
      expectV1Error(response, 401, 'invalid_api_key');
    }
  }));
}

beforeAll(async () => {
  mocks = await startAllMocks(0, { queuedMs: 20, runningMs: 40 });
  chat = await startChatMock({});
  const video = await created(await operator('POST', '/api/admin/channels', {
    name: 'gaps video', provider: 'ark', base_url: `${mocks.baseUrl}/ark/api/v3`, models: { 'seedance-2.0-fast': 'dreamina-seedance-2-0-fast-260128' },
  }));
  videoChannel = video.id;
  videoAccount = (await created(await operator('POST', '/api/accounts', { channel_id: videoChannel, credential: 'mock-key', label: 'video-a' }))).id;
  const text = await created(await operator('POST', '/api/admin/channels', {
    name: 'gaps chat', provider: 'openai-compatible', base_url: chat.baseUrl, models: { 'gpt-5-mini': 'mock-chat' },
  }));
  chatChannel = text.id;
  chatAccount = (await created(await operator('POST', '/api/accounts', { channel_id: chatChannel, credential: 'mock-key', label: 'chat-a' }))).id;
  const row = await ctx.app.createCustomer({ name: 'Gaps customer' });
  await ctx.app.grant(row.id, 1_000_000, 'live');
  customer = { id: row.id, key: (await ctx.app.createKey(row.id, { mode: 'live' })).key };
  liveTask = (await created(await ctx.app.request('POST', '/v1/videos', { key: customer.key, body: { model: 'seedance-2.0-fast', prompt: 'a heron', seconds: 5 } }))).id;
  expect((await runLiveUntilDone(ctx.app, liveTask)).status).toBe('succeeded');
  admin = await enrolledAdmin(ctx.app, 'viewer');
}, 240_000);

afterAll(async () => {
  await mocks?.close();
  await chat?.close();
});

describe('GET /api/admin/tasks/:id result', () => {
  it('a succeeded task carries the customer view\'s result: signed links an operator can open without a customer key', async () => {
    const task = await operator('GET', `/api/admin/tasks/${liveTask}`);
    expect(task.status, task.text).toBe(200);
    const { result, result_files: files } = task.body;
    expect(files).toHaveLength(1);
    expect(result).toMatchObject({ url: expect.stringContaining(`/v1/files/${files[0]}/content?expires=`), assets: [{ content_type: 'video/mp4' }] });
    expect(result.assets[0].url).toBe(result.url);
    // The same links the customer's own task view renders (one signer).
    const own = await ctx.app.request('GET', `/v1/tasks/${liveTask}`, { key: customer.key });
    expect(result).toEqual(own.body.result);
    const file = await fetchLink(result.url);
    expect(file).toMatchObject({ status: 200, type: 'video/mp4' });
    expect(file.size).toBeGreaterThan(0);
    // The console (an admin session under /admin/api, a viewer even) gets the same result and may open it.
    const viaConsole = await admin.client.request('GET', `/admin/api/admin/tasks/${liveTask}`);
    expect(viaConsole.status, viaConsole.text).toBe(200);
    expect(viaConsole.body.result).toEqual(result);
    // The list shows it too; a task without stored files has none.
    const listed = await operator('GET', `/api/admin/tasks?customer=${customer.id}&type=video`);
    expect(listed.body.data.find((row: any) => row.id === liveTask).result).toEqual(result);
    const open = await created(await ctx.app.request('POST', '/v1/videos', { key: customer.key, body: { model: 'seedance-2.0-fast', prompt: 'still queued', seconds: 5 } }));
    expect((await operator('GET', `/api/admin/tasks/${open.id}`)).body.result).toBeNull();
    expect((await operator('POST', `/api/admin/tasks/${open.id}/cancel`)).body).toMatchObject({ status: 'cancelled', result: null });
  });

  it('unknown id → 404, over-long id → 400 naming it, no key or a customer key → 401', async () => {
    expectV1Error(await operator('GET', '/api/admin/tasks/task_0000000000000000000000'), 404, 'not_found');
    const long = await operator('GET', `/api/admin/tasks/task_${'x'.repeat(60)}`);
    expectV1Error(long, 400, 'invalid_request');
    expect(long.body.error.param).toBe('id');
    await expectAuthRequired([['GET', `/api/admin/tasks/${liveTask}`]]);
  });
});

describe('POST /api/accounts/:id/test result', () => {
  it('the test generation\'s output is stored as a file of no customer and shown as a signed link', async () => {
    const tested = await operator('POST', `/api/accounts/${videoAccount}/test`, {});
    expect(tested.status, tested.text).toBe(200);
    expect(tested.body).toMatchObject({ ok: true, status: 'succeeded', error: null, result: { url: expect.any(String), assets: [{ content_type: 'video/mp4' }] } });
    expect(tested.body.result.assets[0].url).toBe(tested.body.result.url);
    expect(await fetchLink(tested.body.result.url)).toMatchObject({ status: 200, type: 'video/mp4' });
    const fileId = new URL(tested.body.result.url).pathname.split('/')[3]!;
    const file = await ctx.app.deps.media.get(fileId);
    expect(file).toMatchObject({ customer_id: null, task_id: null, purpose: 'account_test', mode: 'live' });
    // No customer key opens it without the signature, not even as "its own" file.
    expectV1Error(await ctx.app.request('GET', `/v1/files/${fileId}/content`, { key: customer.key }), 404, 'not_found');
    expect(await auditActions(videoAccount)).toContain('account.test');
    // Kept like an orphan file: the reaper deletes it an hour on, and the link then answers 404.
    const reaped = await ctx.app.deps.media.reapUnreferenced(new Date(ctx.app.clock.now().getTime() + 60_000));
    expect(reaped).toBeGreaterThanOrEqual(1);
    expect((await fetchLink(tested.body.result.url)).status).toBe(404);
  });

  it('a failed test has no result; unknown id → 404, bad model → 400, no key → 401', async () => {
    const bad = await created(await operator('POST', '/api/accounts', { channel_id: videoChannel, credential: 'wrong-key', label: 'bad' }));
    const failed = await operator('POST', `/api/accounts/${bad.id}/test`, {});
    expect(failed.body).toMatchObject({ ok: false, outcome: 'rejected', error: { class: 'auth' }, result: null });
    expectV1Error(await operator('POST', '/api/accounts/acc_0000000000000000000000/test', {}), 404, 'not_found');
    const model = await operator('POST', `/api/accounts/${videoAccount}/test`, { model: 'gpt-5-mini' });
    expectV1Error(model, 400, 'invalid_request');
    expect(model.body.error.param).toBe('model');
    await expectAuthRequired([['POST', `/api/accounts/${videoAccount}/test`]]);
  });

  it('an account whose credential was deleted cannot be tested (409)', async () => {
    const wiped = await created(await operator('POST', '/api/accounts', { channel_id: videoChannel, credential: 'mock-key', label: 'to wipe' }));
    await created(await operator('DELETE', `/api/accounts/${wiped.id}`));
    expectV1Error(await operator('POST', `/api/accounts/${wiped.id}/test`, {}), 409, 'conflict');
  });
});

describe('GET /api/admin/providers', () => {
  it('lists the registry\'s channel providers with their task types, capabilities and balance reads', async () => {
    const response = await operator('GET', '/api/admin/providers');
    expect(response.status, response.text).toBe(200);
    expect(response.body.object).toBe('list');
    const byId = new Map(response.body.data.map((row: any) => [row.id, row]));
    expect([...byId.keys()]).toEqual(channelProviderIds());
    expect(byId.has('sandbox')).toBe(false);
    for (const row of response.body.data) {
      expect(row).toMatchObject({ object: 'provider', types: expect.any(Array), capabilities: { callbacks: expect.any(Boolean), cancel: expect.any(Boolean), idempotent_creates: expect.any(Boolean) }, settings_keys: null });
      expect(row.types.length, row.id).toBeGreaterThan(0);
    }
    expect(byId.get('ark')).toMatchObject({ types: ['video', 'image'], capabilities: { callbacks: true, cancel: true }, reads_balance: false, balance_setting: false });
    expect(byId.get('openai-compatible')).toMatchObject({ types: ['chat', 'embedding'], reads_balance: false, balance_setting: true });
    expect(byId.get('newapi')).toMatchObject({ types: ['video'], reads_balance: true, balance_setting: true });
    expect(byId.get('suno')).toMatchObject({ types: ['music'] });
    const viaConsole = await admin.client.request('GET', '/admin/api/admin/providers');
    expect(viaConsole.body).toEqual(response.body);
  });

  it('no key or a customer key → 401', async () => {
    await expectAuthRequired([['GET', '/api/admin/providers']]);
  });
});

describe('PATCH /api/accounts/:id on a wiped account', () => {
  it('enabling without a new credential → 409 conflict (param status), nothing changed or audited; with one it is enabled', async () => {
    const account = await created(await operator('POST', '/api/accounts', { channel_id: videoChannel, credential: 'mock-key', label: 'wipe me' }));
    await created(await operator('DELETE', `/api/accounts/${account.id}`));
    const refused = await operator('PATCH', `/api/accounts/${account.id}`, { status: 'active' });
    expectV1Error(refused, 409, 'conflict');
    expect(refused.body.error.param).toBe('status');
    const refusedWithLabel = await operator('PATCH', `/api/accounts/${account.id}`, { status: 'active', label: 'x' });
    expectV1Error(refusedWithLabel, 409, 'conflict');
    expect(await auditActions(account.id)).toEqual(['account.create', 'account.delete']);
    const row = await ctx.app.deps.channels.credential(account.id);
    expect(row).toMatchObject({ status: 'disabled', disabled_reason: 'deleted by operator', credential_encrypted: '', label: 'wipe me' });
    // Relabelling a wiped account is still allowed; it stays disabled.
    expect((await operator('PATCH', `/api/accounts/${account.id}`, { label: 'relabelled' })).body).toMatchObject({ status: 'disabled', label: 'relabelled' });
    const revived = await operator('PATCH', `/api/accounts/${account.id}`, { status: 'active', credential: 'mock-key-2' });
    expect(revived.status, revived.text).toBe(200);
    expect(revived.body).toMatchObject({ status: 'active', disabled_reason: null });
    expect(await auditActions(account.id)).toEqual(['account.create', 'account.delete', 'account.update', 'account.rotate']);
    expect((await ctx.app.deps.channels.credential(account.id)).credential_encrypted).not.toBe('');
  });

  it('unknown id → 404; invalid status → 400 naming it', async () => {
    expectV1Error(await operator('PATCH', '/api/accounts/acc_0000000000000000000000', { status: 'active' }), 404, 'not_found');
    const invalid = await operator('PATCH', `/api/accounts/${videoAccount}`, { status: 'enabled' });
    expectV1Error(invalid, 400, 'invalid_request');
    expect(invalid.body.error.param).toBe('status');
  });
});

describe('GET /api/admin/channels/:id', () => {
  it('answers the list item of that channel, with its pool in counts', async () => {
    const channel = await created(await operator('POST', '/api/admin/channels', {
      name: 'gaps pool', provider: 'ark', base_url: `${mocks.baseUrl}/ark/api/v3`, models: { 'seedance-2.0-fast': 'up' }, enabled: false,
    }));
    const fresh = await operator('GET', `/api/admin/channels/${channel.id}`);
    expect(fresh.status, fresh.text).toBe(200);
    expect(fresh.body).toMatchObject({ id: channel.id, object: 'channel', name: 'gaps pool', enabled: false, accounts: { total: 0, active: 0, cooldown: 0, disabled: 0, deleted: 0 } });
    const ids: string[] = [];
    for (const label of ['one', 'two', 'three', 'four']) ids.push((await created(await operator('POST', '/api/accounts', { channel_id: channel.id, credential: `k-${label}`, label }))).id);
    await created(await operator('PATCH', `/api/accounts/${ids[1]}`, { status: 'disabled' }));
    await created(await operator('DELETE', `/api/accounts/${ids[2]}`));
    await ctx.app.deps.channels.coolDown(ids[3]!, 60);
    const response = await operator('GET', `/api/admin/channels/${channel.id}`);
    expect(response.body.accounts).toEqual({ total: 3, active: 1, cooldown: 1, disabled: 1, deleted: 1 });
    const list = await operator('GET', '/api/admin/channels');
    expect(list.body.data.find((row: any) => row.id === channel.id)).toEqual(response.body);
    expect((await admin.client.request('GET', `/admin/api/admin/channels/${channel.id}`)).body).toEqual(response.body);
  });

  it('unknown id → 404, over-long id → 400 naming it, no key or a customer key → 401', async () => {
    expectV1Error(await operator('GET', '/api/admin/channels/ch_0000000000000000000000'), 404, 'not_found');
    const long = await operator('GET', `/api/admin/channels/ch_${'x'.repeat(70)}`);
    expectV1Error(long, 400, 'invalid_request');
    expect(long.body.error.param).toBe('id');
    await expectAuthRequired([['GET', `/api/admin/channels/${videoChannel}`]]);
  });
});

describe('GET /api/public/customers?q=', () => {
  it('matches the exact id or a case-insensitive substring of name or email; wildcards match literally; pages', async () => {
    const tag = `q${Math.random().toString(36).slice(2, 8)}`;
    const make = async (name: string, email: string | null = null) => (await ctx.app.createCustomer({ name, ...(email ? { email } : {}) })).id as string;
    const widgets = await make(`${tag} Acme Widgets`);
    const corp = await make(`${tag} acme_corp`);
    const juice = await make(`${tag} 100% Juice`, `ops-${tag}@Example.ORG`);
    const slash = await make(`${tag} back\\slash`);
    const search = async (q: string, extra = '') => {
      const response = await operator('GET', `/api/public/customers?q=${encodeURIComponent(q)}${extra}`);
      expect(response.status, response.text).toBe(200);
      return response.body;
    };
    const ids = async (q: string) => (await search(q)).data.map((row: any) => row.id);
    // Newest first by id (ids made at one clock instant sort by their random part).
    const desc = (...list: string[]) => [...list].sort().reverse();
    expect(await ids(`${tag} ACME`)).toEqual(desc(corp, widgets));
    expect(await ids(`${tag} acme_`)).toEqual([corp]);
    expect(await ids(`${tag} a%e`)).toEqual([]);
    expect(await ids(`${tag} 100%`)).toEqual([juice]);
    expect(await ids(`OPS-${tag}@example`)).toEqual([juice]);
    expect(await ids(`back\\s`)).toEqual([slash]);
    expect(await ids(juice)).toEqual([juice]);
    expect(await ids(juice.slice(0, -1))).toEqual([]);
    const first = await search(tag, '&limit=2');
    expect(first).toMatchObject({ object: 'list', has_more: true });
    const all = desc(widgets, corp, juice, slash);
    expect(first.data.map((row: any) => row.id)).toEqual(all.slice(0, 2));
    const next = await search(tag, `&limit=2&after=${first.data[1].id}`);
    expect(next.data.map((row: any) => row.id)).toEqual(all.slice(2));
    expect(next.has_more).toBe(false);
    expect((await search(tag, '&status=suspended')).data).toEqual([]);
    expect((await admin.client.request('GET', `/admin/api/public/customers?q=${juice}`)).body.data[0].id).toBe(juice);
  });

  it('an empty or over-long q → 400 naming it; no key → 401', async () => {
    for (const q of ['', 'x'.repeat(255)]) {
      const response = await operator('GET', `/api/public/customers?q=${q}`);
      expectV1Error(response, 400, 'invalid_request');
      expect(response.body.error.param).toBe('q');
    }
    await expectAuthRequired([['GET', '/api/public/customers?q=acme']]);
  });
});

describe('text requests record their channel', () => {
  const ask = (content: string) => ctx.app.request('POST', '/v1/chat/completions', { key: customer.key, body: { model: 'gpt-5-mini', messages: [{ role: 'user', content }] } });
  const taskOf = (completionId: string) => `task_${completionId.slice('chatcmpl-'.length)}`;

  it('a chat request through a channel shows that channel and account in the task and in the usage report', async () => {
    const answer = await ask('one two three');
    expect(answer.status, answer.text).toBe(200);
    const task = await operator('GET', `/api/admin/tasks/${taskOf(answer.body.id)}`);
    expect(task.status, task.text).toBe(200);
    expect(task.body).toMatchObject({ type: 'chat', status: 'succeeded', channel_id: chatChannel, account_id: chatAccount, account_label: 'chat-a', provider: 'openai-compatible', result: null });
    expect(task.body.credits.charged).toBeGreaterThan(0);
    // A failure before output is recorded under the channel that failed, charged 0.
    expectV1Error(await ask('x [[scenario:server_error]]'), 502, 'provider_error');
    const [failed] = await ctx.app.deps.tasks.listAll({ customerId: customer.id, type: 'chat', status: ['failed'], limit: 1 });
    expect(failed).toMatchObject({ channel_id: chatChannel, credential_id: chatAccount, charged: 0n });
    const report = await operator('GET', '/api/admin/reports/usage?group_by=channel&mode=live');
    expect(report.status, report.text).toBe(200);
    expect(report.body.data.find((row: any) => row.key === chatChannel)).toMatchObject({ requests: 2, succeeded: 1, failed: 1 });
    const dashboard = await operator('GET', '/api/admin/dashboard?window=24h');
    expect(dashboard.body.channels.find((row: any) => row.id === chatChannel)).toMatchObject({ success_rate_24h: 0.5 });
  });

  it('a streamed chat request records its channel too', async () => {
    const raw = await fetch(`${ctx.app.baseUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${customer.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'stream me' }], stream: true }),
    });
    const text = await raw.text();
    const id = /"id":"(chatcmpl-[^"]+)"/.exec(text)?.[1];
    expect(id, text).toBeTruthy();
    let row = await ctx.app.deps.tasks.get(taskOf(id!));
    // The stream settles after the last event is written; wait for it without sleeping on a clock.
    for (let tries = 0; tries < 500 && row?.status === 'dispatching'; tries += 1) {
      await new Promise((resolve) => setImmediate(resolve));
      row = await ctx.app.deps.tasks.get(taskOf(id!));
    }
    expect(row).toMatchObject({ status: 'succeeded', channel_id: chatChannel, credential_id: chatAccount });
  });
});
