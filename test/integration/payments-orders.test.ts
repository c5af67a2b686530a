import { describe, expect, it } from 'vitest';
import { signedUpUser } from '../harness/customer-console.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * Top-up orders (issue 13): created with an API key or from the console, with the price, credits, limits and bonus
 * tiers fixed at creation; USDT orders get exact amounts no other open order on the address shares; the operator
 * lists every order and resolves the payment queues by hand, audited; gr_credit_topup credits an order exactly once.
 * The Stripe and chain flows themselves are in payments-stripe.test.ts and payments-usdt.test.ts.
 */
const TRON_A = 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8';
const TRON_B = 'TXLAQ63Xg1NAzckPwKHvzw7CSEmLMEqcdj';
const EVM_A = '0x1111111111111111111111111111111111111111';
const ctx = useTestApp({
  env: { USDT_TRON_ADDRESSES: `${TRON_A},${TRON_B}`, USDT_EVM_ADDRESSES: EVM_A, EVM_RPC_URL: 'http://127.0.0.1:9/evm', EVM_CONFIRMATIONS: '12' },
});

async function liveCustomer() {
  const customer = await ctx.app.createCustomer();
  const key = await ctx.app.createKey(customer.id, { mode: 'live' });
  return { customer, key: key.key, testKey: (await ctx.app.createKey(customer.id, { mode: 'test' })).key };
}

const topup = (key: string, body: unknown, headers: Record<string, string> = {}) =>
  ctx.app.request('POST', '/v1/billing/topups', { key, body, headers });

describe('top-up orders with an API key', () => {
  it('options name the enabled methods, the currency, limits and the window', async () => {
    const { key } = await liveCustomer();
    const options = await ctx.app.request('GET', '/v1/billing/topup-options', { key });
    expect(options.status, options.text).toBe(200);
    expect(options.body).toMatchObject({
      object: 'topup_options', methods: ['usdt_tron', 'usdt_evm'], currency: 'USD', credits_per_currency_unit: 10_000,
      min_amount: 500, max_amount: 1_000_000, bonus_tiers: [], window_seconds: 1800,
    });
  });

  it('a USDT order fixes its credits and an exact amount to send; the same amount again gets another exact amount', async () => {
    const { key } = await liveCustomer();
    const first = await topup(key, { method: 'usdt_tron', amount: 1234 });
    expect(first.status, first.text).toBe(201);
    expect(first.headers.get('location')).toBe(`/v1/billing/topups/${first.body.id}`);
    expect(first.body).toMatchObject({
      object: 'topup', method: 'usdt_tron', status: 'pending', amount: 1234, currency: 'USD', credits: 123_400, bonus_credits: 0,
      checkout_url: null, confirmations: { seen: 0, required: 19 }, paid_at: null,
    });
    expect(first.body.expires_at - first.body.created_at).toBe(1800);
    expect(first.body.pay_to).toMatchObject({ network: 'tron', token: 'USDT' });
    expect([TRON_A, TRON_B]).toContain(first.body.pay_to.address);
    const seen = new Set([`${first.body.pay_to.address}|${first.body.pay_to.amount}`]);
    const again = await topup(key, { method: 'usdt_tron', amount: 1234 });
    expect(again.status, again.text).toBe(201);
    const pair = `${again.body.pay_to.address}|${again.body.pay_to.amount}`;
    expect(seen.has(pair)).toBe(false);
    expect(['12.34', '12.3401']).toContain(again.body.pay_to.amount);
    const evm = await topup(key, { method: 'usdt_evm', amount: 2000 });
    expect(evm.body).toMatchObject({ pay_to: { address: EVM_A, amount: '20', network: 'ethereum' }, confirmations: { seen: 0, required: 12 } });
  });

  it('bonus tiers and limits set by the operator apply at creation', async () => {
    const { key } = await liveCustomer();
    const settings = await ctx.app.request('PATCH', '/api/admin/settings', {
      operator: true, body: { topup_min_amount: 1000, topup_max_amount: 100_000, topup_bonus_tiers: [{ min_amount: 5000, bonus_percent: 10 }] },
    });
    expect(settings.status, settings.text).toBe(200);
    try {
      const bonus = await topup(key, { method: 'usdt_evm', amount: 5000 });
      expect(bonus.body).toMatchObject({ credits: 550_000, bonus_credits: 50_000 });
      const below = await topup(key, { method: 'usdt_evm', amount: 999 });
      expectV1Error(below, 400, 'invalid_request');
      expect(below.body.error.param).toBe('amount');
      const above = await topup(key, { method: 'usdt_evm', amount: 100_001 });
      expectV1Error(above, 400, 'invalid_request');
      expect(above.body.error.param).toBe('amount');
    } finally {
      await ctx.app.request('PATCH', '/api/admin/settings', { operator: true, body: { topup_min_amount: 500, topup_max_amount: 1_000_000, topup_bonus_tiers: [] } });
    }
  });

  it('Idempotency-Key replays the order; the same key for another order is 409', async () => {
    const { key } = await liveCustomer();
    const first = await topup(key, { method: 'usdt_evm', amount: 700 }, { 'idempotency-key': 'order-1' });
    const replay = await topup(key, { method: 'usdt_evm', amount: 700 }, { 'idempotency-key': 'order-1' });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    expectV1Error(await topup(key, { method: 'usdt_evm', amount: 800 }, { 'idempotency-key': 'order-1' }), 409, 'idempotency_key_reused');
  });

  it('a customer holds at most 5 open USDT orders (each reserves an exact amount)', async () => {
    const { key } = await liveCustomer();
    for (let index = 0; index < 5; index += 1) expect((await topup(key, { method: 'usdt_tron', amount: 600 + index })).status).toBe(201);
    expectV1Error(await topup(key, { method: 'usdt_tron', amount: 700 }), 429, 'rate_limited');
  });

  it('the sweeper expires orders past their window and frees their exact amount', async () => {
    const { key } = await liveCustomer();
    const order = await topup(key, { method: 'usdt_evm', amount: 4321 });
    ctx.app.clock.advance(31 * 60_000);
    const report = await ctx.app.worker.sweepOnce();
    expect(report?.topupsExpired).toBeGreaterThanOrEqual(1);
    const read = await ctx.app.request('GET', `/v1/billing/topups/${order.body.id}`, { key });
    expect(read.body.status).toBe('expired');
    const again = await topup(key, { method: 'usdt_evm', amount: 4321 });
    expect(again.body.pay_to.amount).toBe(order.body.pay_to.amount);
  });

  it('lists newest first with a cursor and a status filter', async () => {
    const { key } = await liveCustomer();
    const ids: string[] = [];
    for (const amount of [510, 520, 530]) {
      ids.push((await topup(key, { method: 'usdt_evm', amount })).body.id);
      ctx.app.clock.advance(1000);
    }
    const page = await ctx.app.request('GET', '/v1/billing/topups?limit=2', { key });
    expect(page.body.data.map((row: { id: string }) => row.id)).toEqual([ids[2], ids[1]]);
    expect(page.body.has_more).toBe(true);
    const next = await ctx.app.request('GET', `/v1/billing/topups?limit=2&after=${ids[1]}`, { key });
    expect(next.body.data.map((row: { id: string }) => row.id)).toEqual([ids[0]]);
    expect((await ctx.app.request('GET', '/v1/billing/topups?status=paid', { key })).body.data).toEqual([]);
  });

  it('refuses bad input, missing keys, test keys, disabled methods and other customers\' orders', async () => {
    const { key, testKey } = await liveCustomer();
    const other = await liveCustomer();
    const order = await topup(other.key, { method: 'usdt_evm', amount: 900 });
    expectV1Error(await ctx.app.request('POST', '/v1/billing/topups', { body: { method: 'usdt_evm', amount: 900 } }), 401, 'invalid_api_key');
    expectV1Error(await ctx.app.request('GET', '/v1/billing/topups'), 401, 'invalid_api_key');
    expectV1Error(await ctx.app.request('GET', `/v1/billing/topups/${order.body.id}`), 401, 'invalid_api_key');
    expectV1Error(await ctx.app.request('GET', `/v1/billing/topups/${order.body.id}`, { key }), 404, 'not_found');
    expectV1Error(await ctx.app.request('GET', `/v1/billing/topups/${order.body.id}`, { key: other.testKey }), 404, 'not_found');
    expect((await ctx.app.request('GET', '/v1/billing/topups', { key: other.testKey })).body.data).toEqual([]);
    expectV1Error(await topup(testKey, { method: 'usdt_evm', amount: 900 }), 400, 'invalid_request');
    const stripe = await topup(key, { method: 'stripe', amount: 900 });
    expectV1Error(stripe, 400, 'invalid_request');
    expect(stripe.body.error.param).toBe('method');
    for (const [body, param] of [
      [{ method: 'paypal', amount: 900 }, 'method'],
      [{ method: 'usdt_evm', amount: '900' }, 'amount'],
      [{ method: 'usdt_evm', amount: 9.5 }, 'amount'],
      [{ method: 'usdt_evm', amount: 0 }, 'amount'],
      [{ method: 'usdt_evm', amount: 2 ** 60 }, 'amount'],
      [{ method: 'usdt_evm' }, 'amount'],
      [{ method: 'usdt_evm', amount: 900, currency: 'EUR' }, 'currency'],
      [{ method: 'usdt_evm', amount: 900, success_url: 'javascript:alert(1)' }, 'success_url'],
    ] as const) {
      const response = await topup(key, body);
      expectV1Error(response, 400, param === 'currency' ? 'unknown_parameter' : 'invalid_request');
      expect(response.body.error.param, JSON.stringify(body)).toBe(param);
    }
    expectV1Error(await ctx.app.request('GET', '/v1/billing/topups?after=nope', { key }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('GET', '/v1/billing/topups?status=done', { key }), 400, 'invalid_request');
  });
});

describe('top-ups in the customer console', () => {
  it('a signed-in user creates, lists and reads the customer\'s orders, with a QR code for the address', async () => {
    const owner = await signedUpUser(ctx.app);
    const stranger = await signedUpUser(ctx.app);
    const options = await owner.client.request('GET', '/console/api/billing/topup-options');
    expect(options.body.methods).toEqual(['usdt_tron', 'usdt_evm']);
    expect(options.body.networks).toEqual({ usdt_tron: 'tron', usdt_evm: 'ethereum' });
    const created = await owner.client.request('POST', '/console/api/billing/topups', { body: { method: 'usdt_tron', amount: 2500 } });
    expect(created.status, created.text).toBe(201);
    expect(created.body.qr_svg).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from(created.body.qr_svg.split(',')[1], 'base64').toString()).toContain('<svg');
    expect(created.body.receipt).toBeNull();
    const list = await owner.client.request('GET', '/console/api/billing/topups');
    expect(list.body.data.map((row: { id: string }) => row.id)).toEqual([created.body.id]);
    expect((await owner.client.request('GET', `/console/api/billing/topups/${created.body.id}`)).body.id).toBe(created.body.id);
    const foreign = await stranger.client.request('GET', `/console/api/billing/topups/${created.body.id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    expect((await stranger.client.request('GET', '/console/api/billing/topups')).body.data).toEqual([]);
    const anonymous = await ctx.app.request('GET', '/console/api/billing/topups');
    expect(anonymous.status).toBe(401);
    const bad = await owner.client.request('POST', '/console/api/billing/topups', { body: { method: 'usdt_tron', amount: -5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('amount');
    const noCsrf = await owner.client.request('POST', '/console/api/billing/topups', { body: { method: 'usdt_tron', amount: 2500 }, csrf: false });
    expect(noCsrf.status).toBe(403);
    // Paid: the receipt is made out to the customer, with its owner's email (a signed-up customer has no billing email).
    await ctx.app.deps.db.transaction((tx) => ctx.app.deps.topups.credit(tx, created.body.id, 'tron_trc20', `receipt-${created.body.id}:0`, ctx.app.clock.now()));
    const paid = await owner.client.request('GET', `/console/api/billing/topups/${created.body.id}`);
    expect(paid.body).toMatchObject({ status: 'paid', qr_svg: null, receipt: { number: created.body.id, customer: { id: owner.customerId, email: owner.email }, payment_ref: `receipt-${created.body.id}:0` } });
  });
});

describe('operator: orders and the payment queues', () => {
  it('lists every customer\'s orders with filters; customer keys and no key get 401; unknown ids 404', async () => {
    const a = await liveCustomer();
    const order = await topup(a.key, { method: 'usdt_evm', amount: 1500 });
    const list = await ctx.app.request('GET', `/api/admin/topups?customer_id=${a.customer.id}&method=usdt_evm&status=pending`, { operator: true });
    expect(list.status, list.text).toBe(200);
    expect(list.body.data.map((row: { id: string }) => row.id)).toEqual([order.body.id]);
    expect(list.body.data[0]).toMatchObject({ customer_id: a.customer.id, created_by: expect.stringMatching(/^key_/), payment_ref: null });
    const one = await ctx.app.request('GET', `/api/admin/topups/${order.body.id}`, { operator: true });
    expect(one.body.id).toBe(order.body.id);
    expect((await ctx.app.request('GET', '/api/admin/topups?from=1970-01-01T00:00:00Z&to=1970-01-02T00:00:00Z', { operator: true })).body.data).toEqual([]);
    expect((await ctx.app.request('GET', '/api/admin/topups', { key: a.key })).status).toBe(401);
    expect((await ctx.app.request('GET', '/api/admin/topups')).status).toBe(401);
    expect((await ctx.app.request('GET', '/api/admin/topups/top_0000000000000000000000', { operator: true })).status).toBe(404);
    expect((await ctx.app.request('GET', '/api/admin/topups?from=yesterday', { operator: true })).status).toBe(400);
    expect((await ctx.app.request('GET', '/api/admin/payment-exceptions/pex_0000000000000000000000', { operator: true })).status).toBe(404);
    expect((await ctx.app.request('POST', '/api/admin/payment-exceptions/pex_0000000000000000000000/resolve', { operator: true, body: { action: 'dismissed', note: 'x' } })).status).toBe(404);
  });

  it('an unmatched transfer is credited to a customer by hand exactly once, audited, and shows as a paid order', async () => {
    const a = await liveCustomer();
    const now = ctx.app.clock.now();
    const filed = await ctx.app.deps.paymentExceptions.open({
      queue: 'unmatched', kind: 'wrong_amount', method: 'usdt_tron', orderId: null, customerId: null,
      refType: 'tron_trc20', refId: `manual-test-${a.customer.id}:0`, amount: 12_345_600n, currency: 'USDT',
      details: { to: TRON_A, network: 'tron', txid: 'abc' }, now,
    });
    const queue = await ctx.app.request('GET', '/api/admin/payment-exceptions?queue=unmatched&status=open', { operator: true });
    expect(queue.body.data.map((row: { id: string }) => row.id)).toContain(filed!.id);
    const path = `/api/admin/payment-exceptions/${filed!.id}/resolve`;
    const revenue = async () => (await ctx.app.request('GET', '/api/admin/dashboard?window=24h', { operator: true })).body.topups.revenue[0] ?? { amount: 0, orders: 0, credits: 0 };
    const before = await revenue();
    for (const [body, param] of [
      [{ action: 'credit', note: 'no customer named' }, 'customer_id'],
      [{ action: 'credit', customer_id: 'cus_nope', note: 'x' }, 'customer_id'],
      [{ action: 'refunded', customer_id: a.customer.id, note: 'x' }, 'customer_id'],
      [{ action: 'pay', note: 'x' }, 'action'],
      [{ action: 'credit', customer_id: a.customer.id }, 'note'],
    ] as const) {
      const response = await ctx.app.request('POST', path, { operator: true, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.param, JSON.stringify(body)).toBe(param);
    }
    expect((await ctx.app.request('POST', path, { key: a.key, body: { action: 'dismissed', note: 'x' } })).status).toBe(401);
    const resolved = await ctx.app.request('POST', path, { operator: true, body: { action: 'credit', customer_id: a.customer.id, note: 'sent 12.3456 for a 12.34 order' } });
    expect(resolved.status, resolved.text).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'credited', resolved_by: expect.any(String), order: { status: 'paid', customer_id: a.customer.id, credits: 123_456, amount: 1234 } });
    const again = await ctx.app.request('POST', path, { operator: true, body: { action: 'credit', customer_id: a.customer.id, note: 'twice' } });
    expect(again.status).toBe(409);
    const balance = await ctx.app.request('GET', `/api/public/customers/${a.customer.id}`, { operator: true });
    expect(JSON.stringify(balance.body)).toContain('123456');
    const orders = await ctx.app.request('GET', '/v1/billing/topups?status=paid', { key: a.key });
    expect(orders.body.data).toHaveLength(1);
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${filed!.id}`, { operator: true });
    expect(audit.body.data.map((row: { action: string }) => row.action)).toEqual(['payment_exception.credit']);
    const after = await revenue();
    expect(after).toEqual({ currency: 'USD', amount: before.amount + 1234, orders: before.orders + 1, credits: before.credits + 123_456 });
  });

  it('gr_credit_topup credits an order once under concurrent calls with the same payment, and never with another', async () => {
    const a = await liveCustomer();
    const order = await topup(a.key, { method: 'usdt_evm', amount: 3000 });
    const now = ctx.app.clock.now();
    const outcomes = await Promise.all(Array.from({ length: 10 }, () =>
      ctx.app.deps.db.transaction((tx) => ctx.app.deps.topups.credit(tx, order.body.id, 'evm_erc20', `0xtx-${order.body.id}:3`, now))));
    expect(outcomes.filter((outcome) => outcome.outcome === 'credited')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.outcome === 'duplicate')).toHaveLength(9);
    const other = await ctx.app.deps.db.transaction((tx) => ctx.app.deps.topups.credit(tx, order.body.id, 'evm_erc20', `0xtx-${order.body.id}:4`, now));
    expect(other.outcome).toBe('already_paid');
    const ledger = await ctx.app.deps.db.query("SELECT COUNT(*)::int AS n FROM ledger_entries WHERE kind = 'topup' AND ref_id LIKE $1", [`0xtx-${order.body.id}%`]);
    expect(ledger.rows[0]).toEqual({ n: 1 });
  });
});
