import { describe, expect, it } from 'vitest';
import type { TestAppOptions } from '../harness/app.js';
import { useTestApp } from '../harness/setup.js';
import { walletState } from '../harness/tasks.js';
import { CreditLeases, recordRunner, sweepExpiredLeases, type AdmittedRequest, type LeaseAdmission, type RequestEnding } from '../../src/modules/wallet/leases.js';
import { groupOptions } from '../../src/modules/wallet/service.js';
import { returnIdleLeases } from '../harness/flows.js';

/**
 * Credit leases (issue 14, migration 0024): chat and embeddings requests admitted on a per-instance lease of the
 * wallet's credit and written once. Races, the end of a balance, a lease that outlives its instance and an instance
 * that outlives its lease, on PostgreSQL and on both embedded engines. After every test the ledger invariants hold
 * (L2 counts leases as reserved credit).
 */
const ENGINES: Array<[string, TestAppOptions]> = [
  ['PostgreSQL', { engine: 'postgres', poolSize: 45 }],
  ['the embedded engine', { engine: 'pglite' }],
  ['the embedded engine on its own thread', { engine: 'pglite', thread: true }],
];

describe.each(ENGINES)('on %s', (_name, options) => {
  const ctx = useTestApp(options);
  const leases = () => ctx.app.deps.leases!;

  async function funded(amount: number, mode: 'live' | 'test' = 'live') {
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id, { mode });
    if (amount > 0) await ctx.app.grant(customer.id, amount, mode);
    return { customerId: customer.id as string, keyId: key.id as string, key: key.key };
  }

  /** A request of `owner`'s live key admitted now, and how it ended: the arguments of CreditLeases.record after the admission. */
  function item(owner: { customerId: string; keyId: string }, outcome: 'settled' | 'released', actual: bigint): [AdmittedRequest, RequestEnding] {
    const now = ctx.app.clock.now();
    return [
      {
        taskId: ctx.app.deps.ids('task'), reservationId: ctx.app.deps.ids('res'), customerId: owner.customerId, mode: 'live',
        apiKeyId: owner.keyId, type: 'chat', model: 'grok-4-fast', request: {}, now, expiresAt: new Date(now.getTime() + 600_000),
        hardDeadline: new Date(now.getTime() + 660_000), priceVersion: null, pricePercent: 100,
      },
      {
        outcome, finalStatus: outcome === 'settled' ? 'succeeded' : 'failed', actual, errorCode: outcome === 'settled' ? null : 'provider_error',
        cost: null, now, route: null,
      },
    ];
  }

  async function leaseRows(customerId: string) {
    const rows = await ctx.app.deps.db.query<{ id: string; amount: bigint; owner: string }>(
      'SELECT l.id, l.amount, l.owner FROM credit_leases l JOIN wallets w ON w.id = l.wallet_id WHERE w.customer_id = $1', [customerId]);
    return rows.rows.map((row) => ({ ...row, amount: Number(row.amount) }));
  }

  it('100 parallel admissions of 100 against 1000 → exactly 10 admitted, each written once at its charge', async () => {
    const owner = await funded(1000);
    const admissions = await Promise.all(Array.from({ length: 100 }, () => leases().admit(owner.customerId, 'live', 100n)));
    const admitted = admissions.filter((admission): admission is LeaseAdmission => admission !== null);
    expect(admitted).toHaveLength(10);
    // The whole balance is reserved, and all of it by this instance's lease.
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 1000, reserved: 1000, available: 0 });
    expect((await leaseRows(owner.customerId)).map((row) => row.amount)).toEqual([1000]);
    // Eight settle at 60 (one asks for more than its hold and is charged the hold), two are released.
    const results = await Promise.all(admitted.map((admission, index) =>
      leases().record(admission, ...item(owner, index < 8 ? 'settled' : 'released', index === 0 ? 150n : 60n))));
    expect(results.map((result) => [result.outcome, Number(result.charged), Number(result.overage)])).toEqual([
      ['settled', 100, 50], ...Array.from({ length: 7 }, () => ['settled', 60, 0]), ['released', 0, 0], ['released', 0, 0],
    ]);
    const charged = 100 + 7 * 60;
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 1000 - charged, reserved: 1000 - charged, available: 0 });
    const tasks = await ctx.app.deps.db.query<{ status: string; charged: bigint; lease_id: string }>(
      'SELECT t.status, t.charged, r.lease_id FROM tasks t JOIN reservations r ON r.task_id = t.id WHERE t.customer_id = $1', [owner.customerId]);
    expect(tasks.rows).toHaveLength(10);
    expect(new Set(tasks.rows.map((row) => row.lease_id)).size).toBe(1);
    // Idle, the lease goes back: the customer's free credit is what was not charged.
    await returnIdleLeases(ctx.app);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 1000 - charged, reserved: 0, available: 1000 - charged });
    expect(await leaseRows(owner.customerId)).toEqual([]);
  });

  it('a lease grows with the requests it admits; a second instance gets its own, up to the free credit, and leaves the first alone', async () => {
    const owner = await funded(100_000);
    const first = await leases().admit(owner.customerId, 'live', 100n);
    expect(first).not.toBeNull();
    // The first take asks for twice the request's hold.
    expect((await leaseRows(owner.customerId)).map((row) => row.amount)).toEqual([200]);
    // A second instance sharing the wallet, and 1,000 requests at once on it: 998 fit the credit left.
    const other = new CreditLeases(ctx.app.deps.db, ctx.app.deps.ids, ctx.app.clock, { owner: 'ins_other', ttlMs: 60_000, idleMs: 2000 }, groupOptions(ctx.app.deps.db));
    const burst = await Promise.all(Array.from({ length: 1000 }, () => other.admit(owner.customerId, 'live', 100n)));
    expect(burst.filter((admission) => admission !== null)).toHaveLength(998);
    const rows = await leaseRows(owner.customerId);
    expect(rows.find((row) => row.owner === 'ins_other')!.amount).toBe(99_800);
    expect(rows.find((row) => row.owner !== 'ins_other')!.amount).toBe(200);
    // Taken in a few steps, not one per request.
    expect(other.stats.takes).toBeLessThan(40);
    await Promise.all(burst.map((admission) => admission && other.record(admission, ...item(owner, 'released', 0n))));
    await other.close();
    await leases().record(first!, ...item(owner, 'released', 0n));
    await returnIdleLeases(ctx.app);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 100_000, reserved: 0, available: 100_000 });
  });

  it('when the wallet cannot cover a request, nothing is leased and the chat request answers 402 as before', async () => {
    const owner = await funded(1, 'test');
    const response = await ctx.app.request('POST', '/v1/chat/completions', {
      key: owner.key, body: { model: 'grok-4-fast', messages: [{ role: 'user', content: 'hello' }], max_tokens: 1000 } });
    expect(response.status).toBe(402);
    expect(response.body.error.code).toBe('insufficient_credits');
    expect(await leaseRows(owner.customerId)).toEqual([]);
    expect(await walletState(ctx.app, owner.customerId, 'test')).toEqual({ balance: 1, reserved: 0, available: 1 });
  });

  it('a key with a concurrency limit makes a hold of its own per request (the limit counts held rows across instances)', async () => {
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id, { mode: 'test', max_concurrency: 2 });
    await ctx.app.grant(customer.id, 100_000, 'test');
    const response = await ctx.app.request('POST', '/v1/chat/completions', {
      key: key.key, body: { model: 'grok-4-fast', messages: [{ role: 'user', content: 'hello' }] } });
    expect(response.status).toBe(200);
    const holds = await ctx.app.deps.db.query<{ lease_id: string | null; status: string }>(
      'SELECT r.lease_id, r.status FROM reservations r JOIN tasks t ON t.id = r.task_id WHERE t.customer_id = $1', [customer.id]);
    expect(holds.rows).toEqual([{ lease_id: null, status: 'settled' }]);
    expect(await leaseRows(customer.id)).toEqual([]);
  });

  it('near the end of a balance a lease goes back as soon as it is idle, not after the idle time', async () => {
    const owner = await funded(300);
    const admission = await leases().admit(owner.customerId, 'live', 100n);
    // It wanted 200, the wallet had 300 free: half of it is 150, so the take was cut short.
    expect((await leaseRows(owner.customerId)).map((row) => row.amount)).toEqual([150]);
    await leases().record(admission!, ...item(owner, 'settled', 40n));
    await leases().maintain();
    expect(await leaseRows(owner.customerId)).toEqual([]);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 260, reserved: 0, available: 260 });
  });

  it('an instance that dies leaves its lease until it expires; the sweeper gives it back and nothing in flight is charged', async () => {
    const owner = await funded(10_000);
    const dead = new CreditLeases(ctx.app.deps.db, ctx.app.deps.ids, ctx.app.clock, { owner: 'ins_dead', ttlMs: 60_000, idleMs: 2000 }, groupOptions(ctx.app.deps.db));
    const inFlight = await Promise.all(Array.from({ length: 5 }, () => dead.admit(owner.customerId, 'live', 100n)));
    expect(inFlight.every((admission) => admission !== null)).toBe(true);
    const leased = (await leaseRows(owner.customerId))[0]!.amount;
    expect(leased).toBeGreaterThanOrEqual(500);
    // The process is gone (its object is simply dropped): before the expiry the credit stays reserved.
    expect(await sweepExpiredLeases(ctx.app.deps.db, new Date(ctx.app.clock.now().getTime() + 59_000))).toEqual({ leases: 0, credit: 0n });
    expect((await walletState(ctx.app, owner.customerId)).reserved).toBe(leased);
    expect(await sweepExpiredLeases(ctx.app.deps.db, new Date(ctx.app.clock.now().getTime() + 61_000))).toEqual({ leases: 1, credit: BigInt(leased) });
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 10_000, reserved: 0, available: 10_000 });
    const tasks = await ctx.app.deps.db.query('SELECT id FROM tasks WHERE customer_id = $1', [owner.customerId]);
    expect(tasks.rows).toEqual([]);
  });

  it('an instance that stalled past its lease still records its requests: charged from free credit, never below zero', async () => {
    const owner = await funded(1000);
    const stalled = new CreditLeases(ctx.app.deps.db, ctx.app.deps.ids, ctx.app.clock, { owner: 'ins_stalled', ttlMs: 60_000, idleMs: 2000 }, groupOptions(ctx.app.deps.db));
    const first = await stalled.admit(owner.customerId, 'live', 100n);
    const second = await stalled.admit(owner.customerId, 'live', 100n);
    ctx.app.clock.advance(61_000);
    expect((await sweepExpiredLeases(ctx.app.deps.db, ctx.app.clock.now())).leases).toBe(1);
    // Meanwhile the customer's other requests hold all but 30 of the balance.
    await ctx.app.deps.db.query("UPDATE wallets SET reserved = 970 WHERE customer_id = $1 AND mode = 'live'", [owner.customerId]);
    await ctx.app.deps.db.query(
      `INSERT INTO tasks (id, customer_id, mode, api_key_id, type, model, status, hold_amount, created_at, updated_at)
       VALUES ('task_other', $1, 'live', $2, 'chat', 'grok-4-fast', 'dispatching', 970, now(), now())`, [owner.customerId, owner.keyId]);
    await ctx.app.deps.db.query(
      `INSERT INTO reservations (id, task_id, wallet_id, api_key_id, amount, status, expires_at, hard_deadline, created_at)
       SELECT 'res_other', 'task_other', w.id, $2, 970, 'held', now() + interval '1 hour', now() + interval '2 hours', now()
         FROM wallets w WHERE w.customer_id = $1 AND w.mode = 'live'`, [owner.customerId, owner.keyId]);
    await ctx.app.deps.db.query('UPDATE api_keys SET inflight = inflight + 1 WHERE id = $1', [owner.keyId]);
    const one = await stalled.record(first!, ...item(owner, 'settled', 20n));
    const two = await stalled.record(second!, ...item(owner, 'settled', 20n));
    // The lease is gone: the first is charged its 20 from the 30 free, the second only the 10 left.
    expect([one, two].map((result) => [Number(result.charged), Number(result.fromLease), result.leaseLeft])).toEqual([[20, 0, null], [10, 0, null]]);
    expect(stalled.stats.lost).toBe(1);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 970, reserved: 970, available: 0 });
    await ctx.app.deps.wallet.release('task_other', 'failed', 'provider_error', ctx.app.clock.now());
    await stalled.close();
  });

  it('a record heard twice (a group run again after its commit) is written once', async () => {
    const owner = await funded(1000);
    const admission = await leases().admit(owner.customerId, 'live', 100n);
    const once = item(owner, 'settled', 30n);
    // Written once without the lease, as by a group whose commit was not heard …
    const [first] = await recordRunner(ctx.app.deps.db).run([{ request: once[0], ending: once[1], hold: 100n, leaseId: null }]);
    expect([first!.outcome, Number(first!.charged)]).toEqual(['settled', 30]);
    // … then again, from the lease it was admitted on.
    const again = await leases().record(admission!, ...once);
    expect(again.outcome).toBe('already_resolved');
    expect(Number(again.charged)).toBe(0);
    const charges = await ctx.app.deps.db.query("SELECT 1 FROM ledger_entries l JOIN wallets w ON w.id = l.wallet_id WHERE w.customer_id = $1 AND l.kind = 'charge'", [owner.customerId]);
    expect(charges.rows).toHaveLength(1);
    await returnIdleLeases(ctx.app);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 970, reserved: 0, available: 970 });
  });

  it('an operator adjustment and a refund take leased credit back before they call it reserved', async () => {
    const owner = await funded(0);
    // A paid Stripe top-up of 1,000 credits (P1: the one crediting function).
    const order = ctx.app.deps.ids('top');
    const now = ctx.app.clock.now();
    await ctx.app.deps.db.query(
      `INSERT INTO topup_orders (id, customer_id, method, amount, currency, credits, created_at, expires_at, updated_at)
       VALUES ($1, $2, 'stripe', 1000, 'USD', 1000, $3, $3, $3)`, [order, owner.customerId, now]);
    await ctx.app.deps.db.transaction((tx) => ctx.app.deps.topups.credit(tx, order, 'stripe_session', `cs_${order}`, now));
    const admission = await leases().admit(owner.customerId, 'live', 100n);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 1000, reserved: 200, available: 800 });
    // Taking back 850: more than is free, less than the balance. The lease goes back first; nothing is refused.
    const adjusted = await ctx.app.request('POST', `/api/public/customers/${owner.customerId}/credits`, {
      operator: true, body: { amount: -850, reason: 'leases are the customer\'s credit' } });
    expect(adjusted.status, JSON.stringify(adjusted.body)).toBe(201);
    expect(await leaseRows(owner.customerId)).toEqual([]);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 150, reserved: 0, available: 150 });
    // The request admitted on the lease ends: charged from the free credit, and its instance takes a new lease next.
    const recorded = await leases().record(admission!, ...item(owner, 'settled', 60n));
    expect([Number(recorded.charged), Number(recorded.fromLease), recorded.leaseLeft]).toEqual([60, 0, null]);
    expect(leases().stats.lost).toBeGreaterThanOrEqual(1);
    // A refund of the whole top-up with a new lease out: the lease goes back, and only what is truly gone is short.
    const again = await leases().admit(owner.customerId, 'live', 40n);
    expect((await walletState(ctx.app, owner.customerId)).reserved).toBeGreaterThan(0);
    const reversed = await ctx.app.deps.db.transaction((tx) => ctx.app.deps.topups.reverse(tx, order, 'stripe_refund', `re_${order}`, 1000n, 1000n, ctx.app.clock.now()));
    expect([reversed.outcome, Number(reversed.applied), Number(reversed.shortfall)]).toEqual(['reversed', 90, 910]);
    expect(await leaseRows(owner.customerId)).toEqual([]);
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 0, reserved: 0, available: 0 });
    const last = await leases().record(again!, ...item(owner, 'settled', 40n));
    expect(Number(last.charged)).toBe(0);
  });
});
