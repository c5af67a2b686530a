import { describe, expect, it } from 'vitest';
import { expectV1Error, useTestApp } from '../harness/setup.js';
import { runUntilDone, testCustomer } from '../harness/flows.js';
import { reserveInput } from '../harness/tasks.js';

/** Operator credits and the ledger (API.md §8, SEMANTICS M6, M7, D7; checklist C35–C37). */
const ctx = useTestApp();

const creditsPath = (id: string) => `/api/public/customers/${id}/credits`;

function reserveTask(customerId: string, keyId: string, cost: number, mode: 'live' | 'test' = 'live') {
  return ctx.app.deps.wallet.reserve(reserveInput(ctx.app, { customerId, keyId, cost, mode }));
}

describe('operator credits', () => {
  it('tops up the live wallet by default with a grant entry, visible in /v1/usage', async () => {
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id);
    const response = await ctx.app.request('POST', creditsPath(customer.id), { operator: true, body: { amount: 1000, reason: 'welcome' } });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ mode: 'live', balance: 1000, reserved: 0, available: 1000, entry: { kind: 'grant', amount: 1000, reason: 'welcome', mode: 'live' } });
    expect(response.body.entry.id).toMatch(/^le_\d+$/);
    const usage = await ctx.app.request('GET', '/v1/usage', { key: key.key });
    expect(usage.body).toEqual({ creditsBalance: 1000, creditsReserved: 0, creditsAvailable: 1000, mode: 'live' });
    const testKey = await ctx.app.createKey(customer.id, { mode: 'test' });
    const testUsage = await ctx.app.request('GET', '/v1/usage', { key: testKey.key });
    expect(testUsage.body.creditsBalance).toBe(0);
  });

  it('M6: a repeated reference returns the first entry and credits nothing', async () => {
    const customer = await ctx.app.createCustomer();
    const body = { amount: 500, reason: 'promo', reference: 'promo-2026-11', mode: 'test' };
    const first = await ctx.app.request('POST', creditsPath(customer.id), { operator: true, body });
    const second = await ctx.app.request('POST', creditsPath(customer.id), { operator: true, body: { ...body, amount: 900 } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body.entry).toEqual(first.body.entry);
    expect(second.body.balance).toBe(500);
    const ledger = await ctx.app.request('GET', `${creditsPath(customer.id)}?mode=test`, { operator: true });
    expect(ledger.body.entries).toHaveLength(1);
    expect(ledger.body.entries[0].reference).toBe('promo-2026-11');
    const audits = await ctx.app.request('GET', `/api/admin/audit?target_id=${customer.id}&action=credits.grant`, { operator: true });
    expect(audits.body.data).toHaveLength(1);
    // The same reference on another customer is a different credit.
    const other = await ctx.app.createCustomer();
    const otherCredit = await ctx.app.request('POST', creditsPath(other.id), { operator: true, body });
    expect(otherCredit.status).toBe(201);
  });

  it('C36: an adjustment under active reservations is refused with 409 and changes nothing', async () => {
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id);
    await ctx.app.grant(customer.id, 1000);
    expect((await reserveTask(customer.id, key.id, 700)).outcome).toBe('created');
    const refused = await ctx.app.request('POST', creditsPath(customer.id), { operator: true, body: { amount: -500, reason: 'chargeback' } });
    expectV1Error(refused, 409, 'balance_below_reserved');
    const state = await ctx.app.request('GET', creditsPath(customer.id), { operator: true });
    expect(state.body).toMatchObject({ balance: 1000, reserved: 700, available: 300 });
    expect(state.body.entries).toHaveLength(1);
    const applied = await ctx.app.request('POST', creditsPath(customer.id), { operator: true, body: { amount: -300, reason: 'correction' } });
    expect(applied.status).toBe(201);
    expect(applied.body).toMatchObject({ balance: 700, reserved: 700, available: 0, entry: { kind: 'adjustment', amount: -300 } });
  });

  it('C37: amounts must be JSON integers within ±(2^53−1), non-zero', async () => {
    const customer = await ctx.app.createCustomer();
    for (const amount of [1.5, 9007199254740992, '100', 0, null, true]) {
      const response = await ctx.app.request('POST', creditsPath(customer.id), { operator: true, body: { amount, reason: 'x' } });
      expectV1Error(response, 400, 'invalid_request');
      expect(response.body.error.param).toBe('amount');
    }
    const negative = await ctx.app.request('POST', creditsPath(customer.id), { operator: true, body: { amount: -10, reason: 'x' } });
    expectV1Error(negative, 409, 'balance_below_reserved');
    const extra = await ctx.app.request('POST', creditsPath(customer.id), { operator: true, body: { amount: 10, reason: 'x', wallet_id: 'w' } });
    expectV1Error(extra, 400, 'unknown_parameter');
    const badReference = await ctx.app.request('POST', creditsPath(customer.id), { operator: true, body: { amount: 10, reason: 'x', reference: 'has space' } });
    expectV1Error(badReference, 400, 'invalid_request');
    const state = await ctx.app.request('GET', creditsPath(customer.id), { operator: true });
    expect(state.body.balance).toBe(0);
    expect(state.body.entries).toHaveLength(0);
  });

  it('404s an unknown customer for both credit routes', async () => {
    expectV1Error(await ctx.app.request('POST', creditsPath('cus_nope'), { operator: true, body: { amount: 1, reason: 'x' } }), 404, 'not_found');
    expectV1Error(await ctx.app.request('GET', creditsPath('cus_nope'), { operator: true }), 404, 'not_found');
  });

  it('a charge in the ledger names the task it paid for (task_id), other entries carry null', async () => {
    const { key, customerId } = await testCustomer(ctx.app, 100_000);
    const created = await ctx.app.request('POST', '/v1/images/generations', { key, body: { model: 'gpt-image-2', prompt: 'ledger link', async: true } });
    expect(created.status, created.text).toBe(202);
    const taskId: string = created.body.id;
    expect(typeof taskId).toBe('string');
    expect((await runUntilDone(ctx.app, taskId)).status).toBe('succeeded');
    const ledger = await ctx.app.request('GET', `${creditsPath(customerId)}?mode=test`, { operator: true });
    const charge = ledger.body.entries.find((entry: { kind: string }) => entry.kind === 'charge');
    expect(charge).toMatchObject({ ref_type: 'reservation', task_id: taskId });
    expect(ledger.body.entries.find((entry: { kind: string }) => entry.kind === 'grant').task_id).toBeNull();
  });

  it('pages the ledger newest first', async () => {
    const customer = await ctx.app.createCustomer();
    for (let index = 1; index <= 5; index += 1) await ctx.app.grant(customer.id, index * 10);
    const first = await ctx.app.request('GET', `${creditsPath(customer.id)}?limit=2`, { operator: true });
    expect(first.body.entries.map((entry: any) => entry.amount)).toEqual([50, 40]);
    expect(first.body.has_more).toBe(true);
    const second = await ctx.app.request('GET', `${creditsPath(customer.id)}?limit=10&after=${first.body.entries[1].id}`, { operator: true });
    expect(second.body.entries.map((entry: any) => entry.amount)).toEqual([30, 20, 10]);
    expect(second.body.has_more).toBe(false);
    expect(second.body.balance).toBe(150);
    expectV1Error(await ctx.app.request('GET', `${creditsPath(customer.id)}?after=xyz`, { operator: true }), 400, 'invalid_request');
    expectV1Error(await ctx.app.request('GET', `${creditsPath(customer.id)}?mode=prod`, { operator: true }), 400, 'invalid_request');
  });
});

describe('ledger constraints (C35)', () => {
  it('rejects UPDATE, DELETE and TRUNCATE on ledger_entries with GR001', async () => {
    const customer = await ctx.app.createCustomer();
    await ctx.app.grant(customer.id, 10);
    const db = ctx.app.deps.db;
    await expect(db.query('UPDATE ledger_entries SET amount = amount + 1')).rejects.toMatchObject({ code: 'GR001' });
    await expect(db.query('DELETE FROM ledger_entries')).rejects.toMatchObject({ code: 'GR001' });
    await expect(db.query('TRUNCATE ledger_entries CASCADE')).rejects.toMatchObject({ code: 'GR001' });
  });

  it('rejects reserved above balance and below zero', async () => {
    const customer = await ctx.app.createCustomer();
    await ctx.app.grant(customer.id, 10);
    const db = ctx.app.deps.db;
    await expect(db.query('UPDATE wallets SET reserved = balance + 1 WHERE customer_id = $1', [customer.id])).rejects.toMatchObject({
      code: '23514',
      constraint: 'reserved_le_balance',
    });
    await expect(db.query('UPDATE wallets SET reserved = -1 WHERE customer_id = $1', [customer.id])).rejects.toMatchObject({
      code: '23514',
      constraint: 'reserved_nonneg',
    });
  });
});
