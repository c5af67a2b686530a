import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAllMocks } from '../mock-upstreams/all.js';
import { startChatMock } from '../mock-upstreams/openai-compatible/server.js';
import type { RunningMock } from '../mock-upstreams/shared/harness.js';
import { enrolledAdmin } from '../harness/console.js';
import { runLiveUntilDone, runUntilDone, testCustomer } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * The operator dashboard (issue 11, API.md §8 "Dashboard"): live tasks and text requests made through the real
 * flows at known prices and channel costs, placed in known hours with the manual clock, give exact buckets, per-model
 * figures and totals; test-mode traffic is not revenue; open tasks, channel health and the accounts that need the
 * operator come from the real task and account state. This file's database is its own, and each test works in its
 * own stretch of (future) time, so the figures are exact.
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

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const VIDEO = 'seedance-2.0-fast';
const CHAT = 'gpt-5-mini';
// Known prices and costs: a 5 s 720p video is charged 5,000 and costs 3,500 upstream.
const VIDEO_PRICE = { unit: 'second', credits_by: { '480p': 500, '720p': 1000 } };
const VIDEO_COST = { unit: 'second', credits_by: { '480p': 300, '720p': 700 } };
const CHAT_PRICE = { unit: 'token', input_credits_per_million: 200_000, output_credits_per_million: 1_600_000 };
const CHAT_COST = { unit: 'token', input_credits_per_million: 100_000, output_credits_per_million: 700_000 };

const dashboard = (query = '', options: { key?: string; operator?: boolean } = { operator: true }) =>
  ctx.app.request('GET', `/api/admin/dashboard${query}`, options);

async function setPrices() {
  for (const [model, pricing] of [[VIDEO, VIDEO_PRICE], [CHAT, CHAT_PRICE]] as const) {
    const response = await ctx.app.request('PATCH', `/api/admin/models/${model}`, { operator: true, body: { pricing } });
    expect(response.status, response.text).toBe(200);
  }
}

async function channel(body: Record<string, unknown>, accounts = 1) {
  const response = await ctx.app.request('POST', '/api/admin/channels', { operator: true, body });
  expect(response.status, response.text).toBe(201);
  const ids: string[] = [];
  for (let index = 0; index < accounts; index += 1) {
    // The mocks accept the credential `mock-key`; the others are never used upstream.
    const credential = index === 0 ? 'mock-key' : `mock-key-${index}`;
    const account = await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: response.body.id, credential, label: `acct ${index}` } });
    expect(account.status, account.text).toBe(201);
    ids.push(account.body.id);
  }
  return { id: response.body.id as string, accounts: ids };
}

/** A live customer of a fresh group with a video channel (ark mock) and a chat channel, both with costs. */
async function liveSetup() {
  const group = `g-dash-${Math.random().toString(36).slice(2, 8)}`;
  const video = await channel({ name: 'ark video', provider: 'ark', base_url: `${mocks.baseUrl}/ark/api/v3`, models: { [VIDEO]: 'dreamina-seedance-2-0-fast-260128' }, group, costs: { [VIDEO]: VIDEO_COST } });
  const text = await channel({ name: 'chat', provider: 'openai-compatible', base_url: chat.baseUrl, models: { [CHAT]: 'mock-chat' }, group, costs: { [CHAT]: CHAT_COST } });
  const customer = await ctx.app.createCustomer({ group });
  const key = await ctx.app.createKey(customer.id, { mode: 'live' });
  await ctx.app.grant(customer.id, 1_000_000, 'live');
  return { video, text, key: key.key as string };
}

async function video(key: string, prompt: string) {
  const response = await ctx.app.request('POST', '/v1/videos', { key, body: { model: VIDEO, prompt, seconds: 5 } });
  expect(response.status, response.text).toBe(202);
  return runLiveUntilDone(ctx.app, response.body.id as string);
}

/** A live chat completion; its charge and cost from the usage the upstream reported, at the known token prices. */
async function chatRequest(key: string) {
  const response = await ctx.app.request('POST', '/v1/chat/completions', { key, body: { model: CHAT, messages: [{ role: 'user', content: 'one two three four five' }] } });
  expect(response.status, response.text).toBe(200);
  const { prompt_tokens: input, completion_tokens: output } = response.body.usage;
  const charged = Math.ceil((input * 200_000 + output * 1_600_000) / 1_000_000);
  const cost = Math.ceil((input * 100_000 + output * 700_000) / 1_000_000);
  expect(charged).toBeGreaterThan(cost);
  return { charged, cost };
}

const zero = { requests: 0, succeeded: 0, failed: 0, charged: 0, cost: 0, margin: 0 };

describe('GET /api/admin/dashboard', () => {
  it('live traffic in continuous hourly and daily buckets, by model and in total, exact; test mode is not revenue', async () => {
    const H = Date.UTC(2032, 0, 15, 12); // an hour boundary; "now" will be H + 30 min
    ctx.app.clock.set(H - 26 * HOUR);
    await setPrices();
    const { video: videoChannel, text: textChannel, key } = await liveSetup();

    // Before the 24 h window (inside the 7 d one): one success.
    expect(await video(key, 'an old harbour')).toMatchObject({ status: 'succeeded', charged: 5000n, cost_credits: 3500n });
    // Hour H−3: a success and a failure (released: charged 0, cost 0).
    ctx.app.clock.set(H - 3 * HOUR + 10 * 60_000);
    expect(await video(key, 'a quiet harbour at dawn')).toMatchObject({ status: 'succeeded', charged: 5000n, cost_credits: 3500n });
    ctx.app.clock.set(H - 3 * HOUR + 20 * 60_000);
    expect(await video(key, 'x [[scenario:moderation_output]]')).toMatchObject({ status: 'failed', charged: 0n, cost_credits: 0n });
    // Hour H−1: a chat request (a text request is a task too).
    ctx.app.clock.set(H - HOUR + 5 * 60_000);
    const text = await chatRequest(key);
    // Hour H (the current one): a success.
    ctx.app.clock.set(H + 15 * 60_000);
    expect(await video(key, 'a second harbour')).toMatchObject({ status: 'succeeded', charged: 5000n });
    // A test key's sandbox task in the window: finished and charged in test credits, but not revenue.
    ctx.app.clock.set(H + 20 * 60_000);
    const sandbox = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/videos', { key: sandbox.key, body: { model: VIDEO, prompt: 'sandbox', seconds: 5 } });
    expect(created.status, created.text).toBe(202);
    expect(await runUntilDone(ctx.app, created.body.id)).toMatchObject({ status: 'succeeded', charged: 5000n });

    ctx.app.clock.set(H + 30 * 60_000);
    const day = await dashboard('?window=24h');
    expect(day.status, day.text).toBe(200);
    expect(day.body).toMatchObject({ window: '24h', bucket: 'hour', from: new Date(H - 23 * HOUR).toISOString(), to: new Date(H + HOUR).toISOString() });
    const series = day.body.series as Array<Record<string, unknown>>;
    expect(series).toHaveLength(24);
    series.forEach((entry, index) => expect(entry.at).toBe(new Date(H - 23 * HOUR + index * HOUR).toISOString()));
    const videoBucket = { requests: 1, succeeded: 1, failed: 0, charged: 5000, cost: 3500, margin: 1500 };
    const expected = series.map((entry, index) => ({
      at: entry.at,
      ...(index === 20 ? { requests: 2, succeeded: 1, failed: 1, charged: 5000, cost: 3500, margin: 1500 }
        : index === 22 ? { requests: 1, succeeded: 1, failed: 0, charged: text.charged, cost: text.cost, margin: text.charged - text.cost }
          : index === 23 ? videoBucket : zero),
    }));
    expect(series).toEqual(expected);
    expect(day.body.by_model).toEqual([
      { model: VIDEO, requests: 3, failed: 1, failure_rate: 0.3333, charged: 10_000, cost: 7000, margin: 3000 },
      { model: CHAT, requests: 1, failed: 0, failure_rate: 0, charged: text.charged, cost: text.cost, margin: text.charged - text.cost },
    ]);
    expect(day.body.totals).toEqual({ requests: 4, failed: 1, charged: 10_000 + text.charged, cost: 7000 + text.cost, margin: 3000 + text.charged - text.cost });

    // Channel health: the live tasks created on each channel in the last 24 h (the old success is older).
    const channels = day.body.channels as Array<Record<string, unknown>>;
    expect(channels.find((entry) => entry.id === videoChannel.id)).toEqual({
      id: videoChannel.id, name: 'ark video', enabled: true, accounts_total: 1, accounts_active: 1, accounts_cooling: 0, accounts_disabled: 0, success_rate_24h: 0.6667,
    });
    expect(channels.find((entry) => entry.id === textChannel.id)).toMatchObject({ name: 'chat', accounts_total: 1, accounts_active: 1 });

    // Seven days: daily buckets; the old success lands on the day before.
    const week = await dashboard('?window=7d');
    expect(week.status, week.text).toBe(200);
    const today = Date.UTC(2032, 0, 15);
    expect(week.body).toMatchObject({ window: '7d', bucket: 'day', from: new Date(today - 6 * DAY).toISOString(), to: new Date(today + DAY).toISOString() });
    expect(week.body.series.map((entry: { at: string }) => entry.at)).toEqual(Array.from({ length: 7 }, (_, index) => new Date(today - (6 - index) * DAY).toISOString()));
    expect(week.body.series[5]).toEqual({ at: new Date(today - DAY).toISOString(), ...videoBucket });
    expect(week.body.series[6]).toEqual({
      at: new Date(today).toISOString(), requests: 4, succeeded: 3, failed: 1, charged: 10_000 + text.charged, cost: 7000 + text.cost, margin: 3000 + text.charged - text.cost,
    });
    for (const entry of week.body.series.slice(0, 5)) expect(entry).toMatchObject(zero);
    expect(week.body.totals).toEqual({ requests: 5, failed: 1, charged: 15_000 + text.charged, cost: 10_500 + text.cost, margin: 4500 + text.charged - text.cost });
    expect(week.body.by_model[0]).toEqual({ model: VIDEO, requests: 4, failed: 1, failure_rate: 0.25, charged: 15_000, cost: 10_500, margin: 4500 });

    const month = await dashboard('?window=30d');
    expect(month.body.series).toHaveLength(30);
    expect(month.body.from).toBe(new Date(today - 29 * DAY).toISOString());
    expect(month.body.totals).toEqual(week.body.totals);
    // The default window is 24 h.
    expect((await dashboard('')).body).toEqual(day.body);

    // A day later nothing is in the current hour's window any more: every bucket is present, with zeros.
    ctx.app.clock.set(H + 3 * DAY);
    const later = await dashboard('?window=24h');
    expect(later.body.series).toHaveLength(24);
    for (const entry of later.body.series) expect(entry).toMatchObject(zero);
    expect(later.body.by_model).toEqual([]);
    expect(later.body.totals).toEqual({ requests: 0, failed: 0, charged: 0, cost: 0, margin: 0 });
    expect(later.body.channels.find((entry: { id: string }) => entry.id === videoChannel.id).success_rate_24h).toBeNull();
  });

  it('in_flight counts open tasks of both modes by the status customers see', async () => {
    ctx.app.clock.set(Date.UTC(2032, 3, 1, 8));
    const before = (await dashboard()).body.in_flight;
    expect(before).toEqual({ queued: 0, running: 0, total: 0 });
    const sandbox = await testCustomer(ctx.app);
    const ids: string[] = [];
    for (const prompt of ['one', 'two', 'three']) {
      const created = await ctx.app.request('POST', '/v1/videos', { key: sandbox.key, body: { model: VIDEO, prompt, seconds: 5 } });
      expect(created.status, created.text).toBe(202);
      ids.push(created.body.id);
    }
    expect((await dashboard()).body.in_flight).toEqual({ queued: 3, running: 0, total: 3 });
    // The worker takes them to the sandbox; past its queue time they run (SANDBOX_QUEUE_MS 1000, SANDBOX_RUN_MS 1000).
    await ctx.app.worker.drain();
    ctx.app.clock.advance(1200);
    await ctx.app.worker.drain();
    const statuses = await Promise.all(ids.map(async (id) => (await ctx.app.deps.tasks.get(id))!.status));
    const running = statuses.filter((status) => status === 'running').length;
    expect(running).toBeGreaterThan(0);
    expect((await dashboard()).body.in_flight).toEqual({ queued: 3 - running, running, total: 3 });
    for (const id of ids) expect((await runUntilDone(ctx.app, id)).status).toBe('succeeded');
    expect((await dashboard()).body.in_flight).toEqual({ queued: 0, running: 0, total: 0 });
  });

  it('accounts_attention lists disabled, cooling and low-balance accounts; channel counts leave deleted accounts out', async () => {
    const now = Date.UTC(2032, 5, 1, 8);
    ctx.app.clock.set(now);
    const base = { provider: 'ark', base_url: `${mocks.baseUrl}/ark/api/v3`, models: { [VIDEO]: 'dreamina-seedance-2-0-fast-260128' }, group: `g-att-${Math.random().toString(36).slice(2, 8)}` };
    const plain = await channel({ ...base, name: 'plain' }, 7);
    const [fine, low, empty, cooling, cooled, disabled, deleted] = plain.accounts as [string, string, string, string, string, string, string];
    const strict = await channel({ ...base, name: 'strict', settings: { low_balance_threshold: 1000 } }, 2);
    const [strictLow, strictFine] = strict.accounts as [string, string];
    const { channels } = ctx.app.deps;
    await channels.recordBalance(fine, 500, ctx.app.clock.now());
    await channels.recordBalance(low, 3.5, ctx.app.clock.now());
    await channels.recordBalance(empty, 0, ctx.app.clock.now());
    await channels.coolDown(cooling, 600);
    await channels.coolDown(cooled, 10);
    await channels.disable(disabled, 'upstream rejected the credential');
    await channels.recordBalance(disabled, 1, ctx.app.clock.now());
    expect((await ctx.app.request('DELETE', `/api/accounts/${deleted}`, { operator: true })).status).toBe(200);
    await channels.recordBalance(strictLow, 500, ctx.app.clock.now());
    await channels.recordBalance(strictFine, 1000, ctx.app.clock.now());
    const operatorOff = await ctx.app.request('PATCH', `/api/accounts/${strictFine}`, { operator: true, body: { status: 'disabled' } });
    expect(operatorOff.status, operatorOff.text).toBe(200);
    ctx.app.clock.advance(60_000); // `cooled` is back; `cooling` still rests for 9 minutes

    const response = await dashboard('?window=7d');
    expect(response.status, response.text).toBe(200);
    const mine = (response.body.accounts_attention as Array<{ channel_id: string }>).filter((entry) => entry.channel_id === plain.id || entry.channel_id === strict.id);
    const order = (id: string) => [plain.id, strict.id].sort().indexOf(id);
    const byIds = <T extends { channel_id: string; id: string }>(rows: T[]) => [...rows].sort((a, b) => order(a.channel_id) - order(b.channel_id) || (a.id < b.id ? -1 : 1));
    expect(mine).toEqual([
      ...byIds([
        { id: disabled, channel_id: plain.id, label: 'acct 5', state: 'disabled', reason: 'upstream rejected the credential', until: null, balance: 1 },
        { id: strictFine, channel_id: strict.id, label: 'acct 1', state: 'disabled', reason: 'disabled by operator', until: null, balance: 1000 },
      ]),
      { id: cooling, channel_id: plain.id, label: 'acct 3', state: 'cooling', reason: 'rate limited by the upstream', until: new Date(now + 600_000).toISOString(), balance: null },
      ...byIds([
        { id: low, channel_id: plain.id, label: 'acct 1', state: 'low_balance', reason: 'upstream balance below 10', until: null, balance: 3.5 },
        { id: empty, channel_id: plain.id, label: 'acct 2', state: 'low_balance', reason: 'upstream balance exhausted: routing skips this account', until: null, balance: 0 },
        { id: strictLow, channel_id: strict.id, label: 'acct 0', state: 'low_balance', reason: 'upstream balance below 1000', until: null, balance: 500 },
      ]),
    ]);
    const counts = (id: string) => response.body.channels.find((entry: { id: string }) => entry.id === id);
    expect(counts(plain.id)).toEqual({ id: plain.id, name: 'plain', enabled: true, accounts_total: 6, accounts_active: 4, accounts_cooling: 1, accounts_disabled: 1, success_rate_24h: null });
    expect(counts(strict.id)).toMatchObject({ accounts_total: 2, accounts_active: 1, accounts_cooling: 0, accounts_disabled: 1 });
    // Once the cooldown has passed, the account is no longer listed.
    ctx.app.clock.advance(10 * 60_000);
    const after = await dashboard();
    expect(after.body.accounts_attention.map((entry: { id: string }) => entry.id)).not.toContain(cooling);
    expect(after.body.channels.find((entry: { id: string }) => entry.id === plain.id)).toMatchObject({ accounts_active: 5, accounts_cooling: 0 });
  });

  it('refuses a missing key, a wrong key and customer keys (401); a bad window or unknown parameter → 400 with param', async () => {
    const sandbox = await testCustomer(ctx.app);
    const live = await ctx.app.createKey(sandbox.customerId, { mode: 'live' });
    for (const options of [{}, { key: 'not-the-operator-key-0123456789' }, { key: sandbox.key }, { key: live.key }]) {
      const response = await dashboard('?window=24h', options);
      expect(response.status, response.text).toBe(401);
      expect(response.body.error.code).toBe('invalid_api_key');
      expect(response.text).not.toContain('series');
    }
    for (const [query, param] of [['?window=1h', 'window'], ['?window=', 'window'], ['?window=24H', 'window'], ['?window=24h&window=7d', 'window'], ['?from=2030-01-01T00:00:00Z', 'from']] as const) {
      const response = await dashboard(query);
      expect(response.status, `${query}: ${response.text}`).toBe(400);
      expect(response.body.error.param, query).toBe(param);
    }
  });

  it('answers the same figures to a console session (a viewer may read it) and 401 without one', async () => {
    const viewer = await enrolledAdmin(ctx.app, 'viewer');
    const fromConsole = await viewer.client.request('GET', '/admin/api/admin/dashboard?window=7d');
    expect(fromConsole.status, fromConsole.text).toBe(200);
    expect(fromConsole.body).toEqual((await dashboard('?window=7d')).body);
    const bad = await viewer.client.request('GET', '/admin/api/admin/dashboard?window=90d');
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('window');
    const anonymous = await ctx.app.request('GET', '/admin/api/admin/dashboard');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('unauthenticated');
  });
});
