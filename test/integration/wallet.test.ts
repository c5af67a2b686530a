import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/errors.js';
import { useTestApp } from '../harness/setup.js';
import { reserveTask, walletState } from '../harness/tasks.js';

/** The wallet's holds on real task rows (SEMANTICS §5, checklist C28–C30, C32–C34 at the wallet level). */
const ctx = useTestApp();

async function funded(amount: number, keyBody: Record<string, unknown> = {}) {
  const customer = await ctx.app.createCustomer();
  const key = await ctx.app.createKey(customer.id, keyBody);
  if (amount > 0) await ctx.app.grant(customer.id, amount);
  return { customerId: customer.id, keyId: key.id as string };
}

async function task(id: string) {
  const result = await ctx.app.deps.db.query<any>('SELECT status, charged, error_code, completed_at FROM tasks WHERE id = $1', [id]);
  return result.rows[0];
}

async function inflight(keyId: string) {
  const result = await ctx.app.deps.db.query<{ inflight: number }>('SELECT inflight FROM api_keys WHERE id = $1', [keyId]);
  return result.rows[0]!.inflight;
}

describe('reserve', () => {
  it('M2: raises reserved by the hold, takes a slot and inserts a queued task', async () => {
    const owner = await funded(1000);
    const created = await reserveTask(ctx.app, { ...owner, cost: 300 });
    expect(created.outcome).toBe('created');
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 1000, reserved: 300, available: 700 });
    expect((await task(created.taskId)).status).toBe('queued');
    expect(await inflight(owner.keyId)).toBe(1);
  });

  it('M2/I8: insufficient credits → 402 and nothing stored', async () => {
    const owner = await funded(100);
    const taskId = ctx.app.deps.ids('task');
    await expect(reserveTask(ctx.app, { ...owner, cost: 101, taskId })).rejects.toMatchObject({ code: 'insufficient_credits', status: 402 });
    expect(await task(taskId)).toBeUndefined();
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 100, reserved: 0, available: 100 });
    expect(await inflight(owner.keyId)).toBe(0);
  });

  it('R5: the concurrency limit is enforced in the same statement and stores nothing when hit', async () => {
    const owner = await funded(1000);
    await reserveTask(ctx.app, { ...owner, cost: 1, maxConcurrency: 2 });
    await reserveTask(ctx.app, { ...owner, cost: 1, maxConcurrency: 2 });
    const taskId = ctx.app.deps.ids('task');
    const error = await reserveTask(ctx.app, { ...owner, cost: 1, maxConcurrency: 2, taskId }).catch((caught) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('concurrency_limited');
    expect(await task(taskId)).toBeUndefined();
    expect(await inflight(owner.keyId)).toBe(2);
    expect((await walletState(ctx.app, owner.customerId)).reserved).toBe(2);
  });

  it('I5/I6: the idempotency key is claimed by the task row: replay, conflict, and per-customer scope', async () => {
    const owner = await funded(1000);
    const first = await reserveTask(ctx.app, { ...owner, cost: 100, idempotencyKey: 'k-1', fingerprint: 'fp-a' });
    const replay = await reserveTask(ctx.app, { ...owner, cost: 100, idempotencyKey: 'k-1', fingerprint: 'fp-a' });
    const conflict = await reserveTask(ctx.app, { ...owner, cost: 100, idempotencyKey: 'k-1', fingerprint: 'fp-b' });
    const otherMode = await reserveTask(ctx.app, { ...owner, cost: 0, idempotencyKey: 'k-1', fingerprint: 'fp-a', mode: 'test' });
    expect(first.outcome).toBe('created');
    expect(replay).toMatchObject({ outcome: 'replay', taskId: first.taskId });
    expect(conflict).toMatchObject({ outcome: 'conflict', taskId: first.taskId });
    expect(otherMode.outcome).toBe('conflict');
    expect((await walletState(ctx.app, owner.customerId)).reserved).toBe(100);
    expect(await inflight(owner.keyId)).toBe(1);
    const stranger = await funded(1000);
    expect((await reserveTask(ctx.app, { ...stranger, cost: 100, idempotencyKey: 'k-1', fingerprint: 'fp-a' })).outcome).toBe('created');
  });

  it('I8: a 402 leaves the idempotency key free for a retry after a top-up', async () => {
    const owner = await funded(50);
    await expect(reserveTask(ctx.app, { ...owner, cost: 100, idempotencyKey: 'retry-me', fingerprint: 'f' })).rejects.toMatchObject({ status: 402 });
    await ctx.app.grant(owner.customerId, 50);
    expect((await reserveTask(ctx.app, { ...owner, cost: 100, idempotencyKey: 'retry-me', fingerprint: 'f' })).outcome).toBe('created');
  });
});

describe('settle and release', () => {
  it('C28: settle charges the actual cost below the hold with one charge entry', async () => {
    const owner = await funded(1000);
    const { taskId } = await reserveTask(ctx.app, { ...owner, cost: 100 });
    const result = await ctx.app.deps.wallet.settle(taskId, 80n, ctx.app.clock.now());
    expect(result).toEqual({ outcome: 'settled', charged: 80n, overage: 0n });
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 920, reserved: 0, available: 920 });
    expect(await task(taskId)).toMatchObject({ status: 'succeeded', charged: 80n, error_code: null });
    const entries = await ctx.app.deps.db.query<any>("SELECT amount FROM ledger_entries WHERE kind = 'charge' AND ref_id = (SELECT id FROM reservations WHERE task_id = $1)", [taskId]);
    expect(entries.rows.map((row) => row.amount)).toEqual([-80n]);
    expect(await inflight(owner.keyId)).toBe(0);
  });

  it('C30/M3: an actual cost above the hold charges the hold and reports the overage', async () => {
    const owner = await funded(1000);
    const { taskId } = await reserveTask(ctx.app, { ...owner, cost: 100 });
    expect(await ctx.app.deps.wallet.settle(taskId, 130n, ctx.app.clock.now())).toEqual({ outcome: 'settled', charged: 100n, overage: 30n });
    expect((await walletState(ctx.app, owner.customerId)).balance).toBe(900);
  });

  it('C29/M4: release returns the whole hold, writes no ledger entry, and the task is failed with charged 0', async () => {
    const owner = await funded(1000);
    for (const [status, code] of [['failed', 'provider_error'], ['failed', 'content_policy_violation'], ['cancelled', 'cancelled'], ['expired', 'expired']] as const) {
      const { taskId } = await reserveTask(ctx.app, { ...owner, cost: 100 });
      const result = await ctx.app.deps.wallet.release(taskId, status, code, ctx.app.clock.now());
      expect(result.outcome).toBe('released');
      expect(await task(taskId)).toMatchObject({ status, charged: 0n, error_code: code });
    }
    expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 1000, reserved: 0, available: 1000 });
    const charges = await ctx.app.deps.db.query("SELECT 1 FROM ledger_entries l JOIN wallets w ON w.id = l.wallet_id WHERE w.customer_id = $1 AND l.kind = 'charge'", [owner.customerId]);
    expect(charges.rows).toHaveLength(0);
  });

  it('M5/L4: a hold resolves exactly once; repeats report already_resolved and change nothing', async () => {
    const owner = await funded(1000);
    const { taskId } = await reserveTask(ctx.app, { ...owner, cost: 100 });
    const now = ctx.app.clock.now();
    expect((await ctx.app.deps.wallet.settle(taskId, 50n, now)).outcome).toBe('settled');
    expect((await ctx.app.deps.wallet.settle(taskId, 50n, now)).outcome).toBe('already_resolved');
    expect((await ctx.app.deps.wallet.release(taskId, 'failed', 'provider_error', now)).outcome).toBe('already_resolved');
    expect(await task(taskId)).toMatchObject({ status: 'succeeded', charged: 50n });
    expect((await walletState(ctx.app, owner.customerId)).balance).toBe(950);
    expect((await ctx.app.deps.wallet.settle('task_unknown', 1n, now)).outcome).toBe('not_found');
  });

  it('a resolution guarded by task status is skipped when the task moved on', async () => {
    const owner = await funded(1000);
    const { taskId } = await reserveTask(ctx.app, { ...owner, cost: 100 });
    await ctx.app.deps.db.query("UPDATE tasks SET status = 'submitted' WHERE id = $1", [taskId]);
    const skipped = await ctx.app.deps.wallet.release(taskId, 'failed', 'expired_before_dispatch', ctx.app.clock.now(), 'queued');
    expect(skipped.outcome).toBe('skipped');
    expect((await walletState(ctx.app, owner.customerId)).reserved).toBe(100);
    await ctx.app.deps.wallet.release(taskId, 'failed', 'provider_error', ctx.app.clock.now());
  });

  it('rejects a mismatched outcome and final status', async () => {
    const owner = await funded(1000);
    const { taskId } = await reserveTask(ctx.app, { ...owner, cost: 100 });
    await expect(ctx.app.deps.db.query("SELECT * FROM gr_resolve_hold($1, 'settled', 'failed', 1, null, now())", [taskId])).rejects.toMatchObject({ code: '22023' });
    await ctx.app.deps.wallet.release(taskId, 'failed', 'provider_error', ctx.app.clock.now());
  });
});

describe('sweep and extend', () => {
  it('T10a: an expired hold of a queued task is released as expired_before_dispatch; others are handed back', async () => {
    const owner = await funded(1000);
    const now = ctx.app.clock.now();
    const queued = await reserveTask(ctx.app, { ...owner, cost: 100, expiresAt: new Date(now.getTime() + 1000) });
    const submitted = await reserveTask(ctx.app, { ...owner, cost: 100, expiresAt: new Date(now.getTime() + 1000) });
    const fresh = await reserveTask(ctx.app, { ...owner, cost: 100, expiresAt: new Date(now.getTime() + 60_000) });
    await ctx.app.deps.db.query("UPDATE tasks SET status = 'submitted' WHERE id = $1", [submitted.taskId]);
    ctx.app.clock.advance(2000);
    const sweep = await ctx.app.deps.wallet.sweepExpired(ctx.app.clock.now());
    expect(sweep.released).toContain(queued.taskId);
    expect(sweep.released).not.toContain(fresh.taskId);
    expect(sweep.needsProvider).toContainEqual({ task_id: submitted.taskId, status: 'submitted' });
    expect(await task(queued.taskId)).toMatchObject({ status: 'failed', error_code: 'expired_before_dispatch', charged: 0n });
    expect((await task(fresh.taskId)).status).toBe('queued');
    expect((await ctx.app.deps.wallet.sweepExpired(ctx.app.clock.now())).released).not.toContain(queued.taskId);
    // Extend never goes past the hard deadline.
    const extended = await ctx.app.deps.wallet.extend(submitted.taskId, ctx.app.clock.now(), 10 * 3600_000);
    const deadline = await ctx.app.deps.db.query<any>('SELECT hard_deadline FROM reservations WHERE task_id = $1', [submitted.taskId]);
    expect(extended).toEqual(deadline.rows[0].hard_deadline);
    await ctx.app.deps.wallet.release(submitted.taskId, 'failed', 'timeout', ctx.app.clock.now());
    await ctx.app.deps.wallet.release(fresh.taskId, 'cancelled', 'cancelled', ctx.app.clock.now());
    expect(await inflight(owner.keyId)).toBe(0);
  });
});
