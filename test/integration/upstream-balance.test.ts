import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLiveUntilDone } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';
import { startNewapiMock, USD_PER_SECOND } from '../mock-upstreams/newapi/server.js';

/**
 * Upstream balances read from a real new-api-style upstream (the newapi mock's billing routes, PROVIDERS §8.1;
 * API.md §8 "Upstream balances"): the account test reads it and the account shows it; the sweeper reads it on its
 * schedule (injected clock); routing leaves an account read at 0 out while another account of the channel serves,
 * and a later positive reading brings it back. The mock bills each key as its tasks succeed.
 */
const ctx = useTestApp();
let upstream: Awaited<ReturnType<typeof startNewapiMock>>;

beforeAll(async () => {
  // Any key is accepted (as the CLI mock does), so each account has its own balance.
  upstream = await startNewapiMock({ key: null, queuedMs: 20, runningMs: 40 });
});

afterAll(async () => {
  await upstream?.close();
});

const MODEL = 'seedance-2.0-fast';
const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

async function setBalance(key: string, hard_limit_usd: number, used_usd = 0): Promise<void> {
  const response = await fetch(`${upstream.baseUrl}/__mock/balance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key, hard_limit_usd, used_usd }) });
  expect(response.status).toBe(200);
}

async function operator(method: string, path: string, body?: unknown) {
  return ctx.app.request(method, path, { operator: true, ...(body === undefined ? {} : { body }) });
}

/** A newapi channel with two accounts (`poor`, `rich`) in its own group, and a live customer of that group. */
async function setup(tag: string) {
  const group = `g-bal-${tag}`;
  const created = await operator('POST', '/api/admin/channels', { name: `balance ${tag}`, provider: 'newapi', base_url: `${upstream.baseUrl}/v1`, models: { [MODEL]: 'doubao-seedance-2-0-fast-260128' }, group });
  expect(created.status, created.text).toBe(201);
  const channelId = created.body.id as string;
  const account = async (credential: string) => {
    const response = await operator('POST', '/api/accounts', { channel_id: channelId, credential, label: credential });
    expect(response.status, response.text).toBe(201);
    return response.body.id as string;
  };
  const poor = await account(`poor-${tag}`);
  const rich = await account(`rich-${tag}`);
  const customer = await ctx.app.createCustomer({ group });
  const key = await ctx.app.createKey(customer.id, { mode: 'live' });
  await ctx.app.grant(customer.id, 1_000_000, 'live');
  return { channelId, poor, rich, key: key.key as string };
}

async function accountView(channelId: string, id: string) {
  const list = await operator('GET', `/api/accounts?channel_id=${channelId}`);
  expect(list.status).toBe(200);
  return list.body.data.find((account: { id: string }) => account.id === id);
}

async function runTask(key: string, prompt: string) {
  const response = await ctx.app.request('POST', '/v1/videos', { key, body: { model: MODEL, prompt, seconds: 5, resolution: '720p' } });
  expect(response.status, response.text).toBe(202);
  const task = await runLiveUntilDone(ctx.app, response.body.id);
  expect(task.status).toBe('succeeded');
  return task as { credential_id: string };
}

describe('upstream balance from a new-api upstream', () => {
  it('the account test reads it and the account view shows balance and balance_checked_at', async () => {
    const { channelId, rich, poor } = await setup('test');
    await setBalance('rich-test', 20);
    expect(await accountView(channelId, rich)).toMatchObject({ balance: null, balance_checked_at: null });
    const tested = await operator('POST', `/api/accounts/${rich}/test`, {});
    expect(tested.status, tested.text).toBe(200);
    // The test generation itself (4 s, the model's shortest) was billed upstream before the balance was read.
    expect(tested.body).toMatchObject({ ok: true, status: 'succeeded', balance: round(20 - 4 * USD_PER_SECOND) });
    expect(await accountView(channelId, rich)).toMatchObject({ balance: round(20 - 4 * USD_PER_SECOND), balance_checked_at: ctx.app.clock.now().toISOString() });
    // Reading one account reads nothing of the other.
    expect(await accountView(channelId, poor)).toMatchObject({ balance: null, balance_checked_at: null });
    const audit = await operator('GET', `/api/admin/audit?target_type=account&target_id=${rich}&action=account.test`);
    expect(audit.body.data).toHaveLength(1);
  });

  it('the sweeper reads on its schedule; an account at 0 is skipped while the other serves; a positive reading brings it back', async () => {
    const { channelId, poor, rich, key } = await setup('sweep');
    await setBalance('poor-sweep', 1, 1);
    await setBalance('rich-sweep', 10);

    const first = await ctx.app.worker.sweepOnce();
    expect(first.balancesRead).toBeGreaterThanOrEqual(2);
    const readAt = ctx.app.clock.now().toISOString();
    expect(await accountView(channelId, poor)).toMatchObject({ status: 'active', balance: 0, balance_checked_at: readAt });
    expect(await accountView(channelId, rich)).toMatchObject({ balance: 10, balance_checked_at: readAt });

    // Out of money: every task goes to the other account of the channel, which the upstream bills.
    for (const prompt of ['one', 'two', 'three']) expect((await runTask(key, prompt)).credential_id).toBe(rich);
    const billed = round(10 - 3 * 5 * USD_PER_SECOND);

    // Not read again before the interval, on the injected clock; read again after it.
    const sameRound = ctx.app.clock.now().toISOString();
    await ctx.app.worker.sweepOnce();
    expect((await accountView(channelId, rich)).balance).toBe(10);
    ctx.app.clock.advance(15 * 60_000 + 1);
    await ctx.app.worker.sweepOnce();
    const later = await accountView(channelId, rich);
    expect(later).toMatchObject({ balance: billed });
    expect(later.balance_checked_at > sameRound).toBe(true);
    expect((await accountView(channelId, poor)).balance).toBe(0);

    // Topped up upstream: the next reading is above 0 and routing uses the account again (least recently used first).
    await setBalance('poor-sweep', 5, 1);
    ctx.app.clock.advance(15 * 60_000 + 1);
    await ctx.app.worker.sweepOnce();
    expect((await accountView(channelId, poor)).balance).toBe(4);
    const served = [(await runTask(key, 'four')).credential_id, (await runTask(key, 'five')).credential_id];
    expect(served).toContain(poor);
  });

  it('both accounts at 0: the channel cannot serve, the request is refused with 503 and nothing is sent upstream', async () => {
    const { key } = await setup('empty');
    await setBalance('poor-empty', 2, 2);
    await setBalance('rich-empty', 0);
    await ctx.app.worker.sweepOnce();
    const creates = Object.keys(upstream.control.stats.creates).length;
    const response = await ctx.app.request('POST', '/v1/videos', { key, body: { model: MODEL, prompt: 'nobody pays', seconds: 5, resolution: '720p' } });
    expectV1Error(response, 503, 'provider_capacity_unavailable');
    expect(Object.keys(upstream.control.stats.creates).length).toBe(creates);
  });
});
