import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/pool.js';
import { findInvariantViolations, INVARIANT_QUERIES } from '../../src/modules/wallet/invariants.js';
import { useTestApp } from '../harness/setup.js';
import { reserveTask } from '../harness/tasks.js';

/**
 * The ledger invariants (SEMANTICS §5.2) are what every other test ends on, so each one must be able to fail: here
 * each is broken on purpose, inside a transaction that is rolled back, and must be reported under its own name. The
 * checks run as one statement (findInvariantViolations), so a query that never returns a row would pass every test.
 */
const ctx = useTestApp();
const ROLLBACK = new Error('rolled back on purpose');

/** Runs `corrupt` with triggers off (the ledger refuses changes), reads the invariants, and rolls everything back. */
async function violationsAfter(corrupt: (tx: Queryable) => Promise<void>): Promise<Record<string, unknown[]>> {
  let found: Record<string, unknown[]> = {};
  await ctx.app.deps.db.transaction(async (tx) => {
    await tx.query('SET LOCAL session_replication_role = replica');
    await corrupt(tx);
    found = await findInvariantViolations(tx);
    throw ROLLBACK;
  }).catch((error) => {
    if (error !== ROLLBACK) throw error;
  });
  return found;
}

/** A customer with a settled, a released and a held task, and a paid and a pending top-up order. */
async function scene() {
  const customer = await ctx.app.createCustomer();
  const key = await ctx.app.createKey(customer.id);
  await ctx.app.grant(customer.id, 10_000);
  const owner = { customerId: customer.id as string, keyId: key.id as string };
  const now = ctx.app.clock.now();
  const settled = await reserveTask(ctx.app, { ...owner, cost: 300 });
  await ctx.app.deps.wallet.settle(settled.taskId, 200n, now);
  const released = await reserveTask(ctx.app, { ...owner, cost: 100 });
  await ctx.app.deps.wallet.release(released.taskId, 'failed', 'provider_error', now);
  const held = await reserveTask(ctx.app, { ...owner, cost: 50 });
  const reservation = async (taskId: string) =>
    (await ctx.app.deps.db.query<{ id: string }>('SELECT id FROM reservations WHERE task_id = $1', [taskId])).rows[0]!.id;
  return {
    ...owner,
    settled: { taskId: settled.taskId, reservationId: await reservation(settled.taskId) },
    released: { taskId: released.taskId, reservationId: await reservation(released.taskId) },
    held: { taskId: held.taskId, reservationId: await reservation(held.taskId) },
  };
}

async function insertOrder(tx: Queryable, customerId: string, status: string, ref: string | null): Promise<string> {
  const id = ctx.app.deps.ids('ord');
  const now = ctx.app.clock.now();
  await tx.query(
    `INSERT INTO topup_orders (id, customer_id, method, status, amount, currency, credits, created_at, expires_at, updated_at,
                               payment_ref_type, payment_ref_id, paid_at)
     VALUES ($1, $2, 'stripe', $3, 500, 'usd', 5000, $4, $4, $4, $5, $6, $7)`,
    [id, customerId, status, now, ref ? 'stripe_checkout' : null, ref, ref ? now : null],
  );
  return id;
}

async function walletOf(tx: Queryable, customerId: string): Promise<string> {
  return (await tx.query<{ id: string }>(`SELECT id FROM wallets WHERE customer_id = $1 AND mode = 'live'`, [customerId])).rows[0]!.id;
}

describe('ledger invariants', () => {
  it('hold on a scene with every kind of hold outcome', async () => {
    await scene();
    expect(await findInvariantViolations(ctx.app.deps.db)).toEqual({});
  });

  it('each invariant reports its own violation, by name, with the offending rows', async () => {
    const s = await scene();
    const cases: Array<[string, (tx: Queryable) => Promise<void>]> = [
      ['L1_balance_equals_ledger', async (tx) => void (await tx.query(`UPDATE wallets SET balance = balance + 1 WHERE customer_id = $1 AND mode = 'live'`, [s.customerId]))],
      ['L2_reserved_equals_held', async (tx) => void (await tx.query(`UPDATE wallets SET reserved = reserved + 1 WHERE customer_id = $1 AND mode = 'live'`, [s.customerId]))],
      // L3 and L5 are CHECK constraints too (the queries are the second line of defence): dropped here, rolled back.
      ['L3_reserved_within_balance', async (tx) => {
        await tx.query('ALTER TABLE wallets DROP CONSTRAINT reserved_le_balance');
        await tx.query(`UPDATE wallets SET reserved = balance + 1 WHERE customer_id = $1 AND mode = 'live'`, [s.customerId]);
      }],
      ['L4_one_charge_per_reservation', async (tx) => {
        // A charge for the released hold (a second one for the same hold is refused by the ledger's unique key).
        await tx.query(
          `INSERT INTO ledger_entries (wallet_id, amount, kind, ref_type, ref_id, created_at) VALUES ($1, -1, 'charge', 'reservation', $2, $3)`,
          [await walletOf(tx, s.customerId), s.released.reservationId, ctx.app.clock.now()],
        );
      }],
      ['L5_settled_within_hold', async (tx) => {
        await tx.query('ALTER TABLE reservations DROP CONSTRAINT settled_within_hold');
        await tx.query('UPDATE reservations SET settled_amount = amount + 1 WHERE id = $1', [s.settled.reservationId]);
      }],
      ['L6_charges_match_tasks', async (tx) => void (await tx.query('UPDATE tasks SET charged = charged + 1 WHERE id = $1', [s.settled.taskId]))],
      ['L10_task_hold_states', async (tx) => void (await tx.query(`UPDATE tasks SET status = 'queued' WHERE id = $1`, [s.released.taskId]))],
      ['L10_inflight_equals_held', async (tx) => void (await tx.query('UPDATE api_keys SET inflight = inflight + 1 WHERE id = $1', [s.keyId]))],
      // No foreign key stops these since migration 0028 (and with triggers off none would): an entry of no wallet.
      ['L11_references_exist', async (tx) => {
        await tx.query(
          `INSERT INTO ledger_entries (wallet_id, amount, kind, ref_type, ref_id, created_at) VALUES ('wal_gone', -1, 'adjustment', 'operator_credit', 'orphan', $1)`,
          [ctx.app.clock.now()],
        );
      }],
      // A paid order without its top-up entry.
      ['P1_paid_orders_credited_once', async (tx) => void (await insertOrder(tx, s.customerId, 'paid', 'cs_missing_entry'))],
      ['P2_unpaid_orders_uncredited', async (tx) => void (await insertOrder(tx, s.customerId, 'pending', 'cs_not_paid'))],
    ];
    // Every invariant is exercised here.
    expect(cases.map(([name]) => name).sort()).toEqual(Object.keys(INVARIANT_QUERIES).sort());
    for (const [name, corrupt] of cases) {
      const found = await violationsAfter(corrupt);
      expect(Object.keys(found), name).toContain(name);
      expect(found[name]!.length, name).toBeGreaterThan(0);
    }
    // The rows name what is wrong: the wallet and both sums for L1.
    const l1 = (await violationsAfter(cases[0]![1])).L1_balance_equals_ledger as Array<Record<string, unknown>>;
    expect(l1).toEqual([{ id: await walletOf(ctx.app.deps.db, s.customerId), balance: 9_801, ledger_sum: 9_800 }]);
    // And nothing of it stayed.
    expect(await findInvariantViolations(ctx.app.deps.db)).toEqual({});
  });
});
