import { prepared, type Queryable } from '../../db/pool.js';

/**
 * One query per ledger invariant (SEMANTICS §5.2), each returning the violating rows. Test suites run them after
 * every test (all in one statement, `findInvariantViolations`); operators can run them on a schedule. They never
 * repair anything.
 */
export const INVARIANT_QUERIES: Record<string, string> = {
  L1_balance_equals_ledger: `
    SELECT w.id, w.balance, COALESCE(SUM(l.amount), 0) AS ledger_sum
      FROM wallets w LEFT JOIN ledger_entries l ON l.wallet_id = w.id
     GROUP BY w.id, w.balance HAVING w.balance <> COALESCE(SUM(l.amount), 0)`,
  // Credit leases (migration 0024) are reserved credit like holds.
  L2_reserved_equals_held: `
    SELECT v.* FROM (
      SELECT w.id, w.reserved,
             COALESCE((SELECT SUM(r.amount) FROM reservations r WHERE r.wallet_id = w.id AND r.status = 'held'), 0) AS held,
             COALESCE((SELECT SUM(l.amount) FROM credit_leases l WHERE l.wallet_id = w.id), 0) AS leased
        FROM wallets w) v
     WHERE v.reserved <> v.held + v.leased`,
  L3_reserved_within_balance: `SELECT id FROM wallets WHERE reserved < 0 OR reserved > balance`,
  L4_one_charge_per_reservation: `
    SELECT ref_id FROM ledger_entries WHERE kind = 'charge' AND ref_type = 'reservation'
     GROUP BY ref_id HAVING COUNT(*) > 1
    UNION ALL
    SELECT r.id FROM reservations r
     WHERE r.status <> 'settled'
       AND EXISTS (SELECT 1 FROM ledger_entries l WHERE l.kind = 'charge' AND l.ref_type = 'reservation' AND l.ref_id = r.id)`,
  L5_settled_within_hold: `SELECT id FROM reservations WHERE settled_amount < 0 OR settled_amount > amount`,
  L6_charges_match_tasks: `
    SELECT t.id FROM tasks t JOIN reservations r ON r.task_id = t.id
      LEFT JOIN ledger_entries l ON l.kind = 'charge' AND l.ref_type = 'reservation' AND l.ref_id = r.id
     WHERE (t.status IN ('failed', 'cancelled', 'expired') AND (t.charged <> 0 OR l.id IS NOT NULL))
        OR (t.status = 'succeeded' AND t.charged > 0 AND (l.id IS NULL OR l.amount <> -t.charged))
        OR (t.status = 'succeeded' AND t.charged = 0 AND l.id IS NOT NULL)`,
  L10_task_hold_states: `
    SELECT t.id FROM tasks t LEFT JOIN reservations r ON r.task_id = t.id
     WHERE r.id IS NULL
        OR (t.status IN ('queued', 'dispatching', 'submitted', 'running') AND r.status <> 'held')
        OR (t.status = 'succeeded' AND r.status <> 'settled')
        OR (t.status IN ('failed', 'cancelled', 'expired') AND r.status <> 'released')`,
  L10_inflight_equals_held: `
    SELECT k.id, k.inflight, COUNT(r.id) AS held FROM api_keys k
      LEFT JOIN reservations r ON r.api_key_id = k.id AND r.status = 'held'
     GROUP BY k.id, k.inflight HAVING k.inflight <> COUNT(r.id)`,
  // Migration 0028 dropped the foreign keys of the rows every billed request writes (their writers take the parents
  // from rows they read and lock); this is the check that stayed: no task, reservation or ledger entry without its
  // customer, task, wallet or key.
  L11_references_exist: `
    SELECT 'task ' || t.id AS row FROM tasks t WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = t.customer_id)
    UNION ALL
    SELECT 'reservation ' || r.id FROM reservations r
     WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = r.task_id)
        OR NOT EXISTS (SELECT 1 FROM wallets w WHERE w.id = r.wallet_id)
        OR NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.id = r.api_key_id)
    UNION ALL
    SELECT 'ledger entry ' || l.id FROM ledger_entries l WHERE NOT EXISTS (SELECT 1 FROM wallets w WHERE w.id = l.wallet_id)`,
  // Issue 13 (SEMANTICS P1): a paid (or refunded) order has exactly one top-up entry, in its customer's live wallet,
  // for its credits, under the reference that paid it; every top-up entry belongs to exactly one such order; top-ups
  // never reach a test wallet.
  P1_paid_orders_credited_once: `
    SELECT o.id FROM topup_orders o
     WHERE o.status IN ('paid', 'refunded')
       AND (SELECT COUNT(*) FROM ledger_entries l JOIN wallets w ON w.id = l.wallet_id
             WHERE l.kind = 'topup' AND l.ref_type = o.payment_ref_type AND l.ref_id = o.payment_ref_id
               AND l.amount = o.credits AND w.customer_id = o.customer_id AND w.mode = 'live') <> 1
    UNION ALL
    SELECT l.ref_id FROM ledger_entries l
     WHERE l.kind = 'topup'
       AND (SELECT COUNT(*) FROM topup_orders o WHERE o.payment_ref_type = l.ref_type AND o.payment_ref_id = l.ref_id
               AND o.status IN ('paid', 'refunded')) <> 1
    UNION ALL
    SELECT l.ref_id FROM ledger_entries l JOIN wallets w ON w.id = l.wallet_id WHERE l.kind = 'topup' AND w.mode <> 'live'`,
  P2_unpaid_orders_uncredited: `
    SELECT o.id FROM topup_orders o
     WHERE o.status NOT IN ('paid', 'refunded') AND (o.payment_ref_id IS NOT NULL OR o.paid_at IS NOT NULL)`,
};

/** L8 depends on the sweep interval, so it takes the tolerance as a parameter. */
export const L8_QUERY = `
  SELECT id FROM reservations
   WHERE status = 'held' AND (expires_at < $1::timestamptz - make_interval(secs => $2)
                              OR hard_deadline < $1::timestamptz - make_interval(secs => $2))`;

/**
 * Every invariant in one statement, each one's violating rows as a JSON array under its name: one round trip and
 * one snapshot for all of them (the wallet model test runs them after every step). Row values come back as JSON.
 */
const ALL_INVARIANTS = prepared('gr_invariants', `SELECT ${Object.entries(INVARIANT_QUERIES)
  .map(([name, sql]) => `(SELECT COALESCE(jsonb_agg(to_jsonb(v)), '[]'::jsonb) FROM (${sql}) v) AS "${name}"`)
  .join(',\n       ')}`);

export async function findInvariantViolations(db: Queryable): Promise<Record<string, unknown[]>> {
  const result = await db.query<Record<string, unknown[]>>(ALL_INVARIANTS);
  const row = result.rows[0] ?? {};
  const violations: Record<string, unknown[]> = {};
  for (const name of Object.keys(INVARIANT_QUERIES)) {
    const rows = row[name];
    if (Array.isArray(rows) && rows.length > 0) violations[name] = rows;
  }
  return violations;
}
