import { prepared, type Db } from '../../db/pool.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/secret-box.js';
import { FAILING_AFTER, blockMs } from './fairness.js';
import { generateWebhookSecret } from './signing.js';

/**
 * Customer callback secrets (H3, H4) and the delivery outbox (H7–H10). Delivery rows are inserted by
 * gr_resolve_hold with the terminal transition; this service claims (with fair caps and a renewable lease, issue 8)
 * and records them.
 */
export const ROTATION_GRACE_MS = 24 * 3600_000;

export interface DeliveryRow {
  id: string;
  message_id: string | null;
  customer_id: string;
  mode: string;
  task_id: string | null;
  endpoint_id: string | null;
  url: string;
  event_type: string;
  body: string | null;
  status: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempts: number;
  next_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  completed_at: Date | null;
  /** The registered endpoint, or the customer's callback server (migration 0006): unit of the per-target cap. */
  target_key: string;
  lease_owner: string | null;
  lease_token: string | null;
  lease_until: Date | null;
}

export interface ClaimOptions {
  /** Worker id of the claiming sender (recorded on the rows). */
  owner: string;
  /** Fences this claim: only a holder of the token may renew it or record the attempt. */
  token: string;
  leaseMs: number;
  /** How many rows this sender takes at most (its free slots). */
  limit: number;
  perTarget: number;
  perCustomer: number;
  /** Deliveries this process is still sending (never claimed twice by it, even if its lease ran out). */
  excludeIds: string[];
}

/** Serialises claims of all processes, so the in-flight counts a claim reads are not stale (caps hold globally). */
const CLAIM_LOCK_ID = 7_341_006;

/**
 * Due, unleased deliveries of unblocked targets, ranked within their target and then within their customer after
 * what is already in flight (live leases of every process); a failing target gets one slot (a probe). The winners
 * are taken least-loaded customer first, then oldest first. The UPDATE re-checks its conditions on rows changed
 * meanwhile (a sender whose lease had lapsed may just have recorded its attempt).
 */
const CLAIM_SQL = `
WITH flying AS (
  SELECT target_key, customer_id FROM webhook_deliveries WHERE status = 'pending' AND lease_until > $1::timestamptz
),
per_target AS (SELECT target_key, count(*) AS n FROM flying GROUP BY target_key),
per_customer AS (SELECT customer_id, count(*) AS n FROM flying GROUP BY customer_id),
due AS (
  SELECT d.id, d.customer_id, d.next_attempt_at,
         row_number() OVER (PARTITION BY d.target_key ORDER BY d.next_attempt_at, d.id) + COALESCE(pt.n, 0) AS target_slot,
         CASE WHEN COALESCE(t.consecutive_failures, 0) >= $8::int THEN 1 ELSE $6::int END AS target_cap
    FROM webhook_deliveries d
    LEFT JOIN webhook_targets t ON t.target_key = d.target_key
    LEFT JOIN per_target pt ON pt.target_key = d.target_key
   WHERE d.status = 'pending' AND d.next_attempt_at <= $1::timestamptz
     AND (d.lease_until IS NULL OR d.lease_until <= $1::timestamptz)
     AND (t.blocked_until IS NULL OR t.blocked_until <= $1::timestamptz)
     AND NOT (d.id = ANY ($9::text[]))
),
fair AS (
  SELECT due.id, due.next_attempt_at,
         row_number() OVER (PARTITION BY due.customer_id ORDER BY due.next_attempt_at, due.id) + COALESCE(pc.n, 0) AS customer_slot
    FROM due LEFT JOIN per_customer pc ON pc.customer_id = due.customer_id
   WHERE due.target_slot <= due.target_cap
),
chosen AS (
  SELECT id FROM fair WHERE customer_slot <= $7::int ORDER BY customer_slot, next_attempt_at, id LIMIT $5::int
)
UPDATE webhook_deliveries d SET lease_owner = $2, lease_token = $3, lease_until = $4::timestamptz
  FROM chosen
 WHERE d.id = chosen.id AND d.status = 'pending' AND d.next_attempt_at <= $1::timestamptz
   AND (d.lease_until IS NULL OR d.lease_until <= $1::timestamptz)
RETURNING d.*`;

/** Whether any delivery is due (webhook_deliveries_due_idx); prepared once per connection (pool.ts). */
const DUE_SQL = prepared('gr_webhooks_due',
  `SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1::timestamptz) AS due`);

interface SecretRow {
  secret_encrypted: string;
  previous_encrypted: string | null;
  previous_valid_until: Date | null;
}

export class WebhookService {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** The customer's callback secret for a mode, created on first use. */
  async secret(customerId: string, mode: string): Promise<string> {
    const existing = await this.db.query<SecretRow>('SELECT * FROM webhook_secrets WHERE customer_id = $1 AND mode = $2', [customerId, mode]);
    if (existing.rows[0]) return this.box.open(existing.rows[0].secret_encrypted);
    await this.db.query(
      `INSERT INTO webhook_secrets (customer_id, mode, secret_encrypted, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (customer_id, mode) DO NOTHING`,
      [customerId, mode, this.box.seal(generateWebhookSecret()), this.clock.now()],
    );
    return this.secret(customerId, mode);
  }

  /** Secrets to sign with now: the current one, plus the previous one during its 24 h grace (H4). */
  async signingSecrets(customerId: string, mode: string): Promise<string[]> {
    const current = await this.secret(customerId, mode);
    const row = (await this.db.query<SecretRow>('SELECT * FROM webhook_secrets WHERE customer_id = $1 AND mode = $2', [customerId, mode])).rows[0];
    const secrets = [current];
    if (row?.previous_encrypted && row.previous_valid_until && row.previous_valid_until.getTime() > this.clock.now().getTime()) {
      secrets.push(this.box.open(row.previous_encrypted));
    }
    return secrets;
  }

  async rotate(customerId: string, mode: string): Promise<string> {
    await this.secret(customerId, mode);
    const next = generateWebhookSecret();
    const now = this.clock.now();
    await this.db.query(
      `UPDATE webhook_secrets SET previous_encrypted = secret_encrypted, previous_valid_until = $3, secret_encrypted = $4,
              rotated_at = $5 WHERE customer_id = $1 AND mode = $2`,
      [customerId, mode, new Date(now.getTime() + ROTATION_GRACE_MS), this.box.seal(next), now],
    );
    return next;
  }

  /**
   * Claims due deliveries under a short lease (any number of senders may run): at most `perTarget` in flight per
   * target and `perCustomer` per customer over all processes, none of a blocked target, one of a failing one.
   */
  async claimDue(options: ClaimOptions): Promise<DeliveryRow[]> {
    if (options.limit <= 0) return [];
    const now = this.clock.now();
    // Nothing due at all (the usual answer when the sender is woken by a resolved task that had no webhook): one
    // index probe, without the claim lock's transaction. A row committed after it wakes the sender again.
    const due = await this.db.query<{ due: boolean }>(DUE_SQL, [now]);
    if (!due.rows[0]?.due) return [];
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [CLAIM_LOCK_ID]);
      const result = await tx.query<DeliveryRow>(CLAIM_SQL, [
        now, options.owner, options.token, new Date(now.getTime() + options.leaseMs), options.limit,
        options.perTarget, options.perCustomer, FAILING_AFTER, options.excludeIds,
      ]);
      return result.rows;
    });
  }

  /** Heartbeat: pushes the leases of the claims still in flight `leaseMs` ahead. */
  async renewLeases(tokens: string[], leaseMs: number): Promise<number> {
    if (tokens.length === 0) return 0;
    const until = new Date(this.clock.now().getTime() + leaseMs);
    const result = await this.db.query(
      `UPDATE webhook_deliveries SET lease_until = $2 WHERE lease_token = ANY ($1::text[]) AND status = 'pending'`,
      [tokens, until],
    );
    return result.rowCount ?? 0;
  }

  /** Stores the body and message id on the first attempt, so every attempt sends the same bytes (H1, H5). */
  async fixBody(id: string, messageId: string, body: string): Promise<{ messageId: string; body: string }> {
    const result = await this.db.query<{ message_id: string; body: string }>(
      `UPDATE webhook_deliveries SET message_id = COALESCE(message_id, $2), body = COALESCE(body, $3)
        WHERE id = $1 RETURNING message_id, body`,
      [id, messageId, body],
    );
    return { messageId: result.rows[0]!.message_id, body: result.rows[0]!.body };
  }

  /**
   * Records an attempt and its outcome and releases the lease, only if this sender still holds the claim (its
   * `lease_token`): a sender whose lease ran out (and whose delivery another process may already have re-sent)
   * changes nothing and gets false. A delivery cancelled while in flight keeps its status. In the same transaction
   * the target's failure streak is cleared by a 2xx, or extended by a failure (blocking the target once it is
   * failing, fairness.ts); a 410 leaves it alone. Answers whether it recorded and the target's failure streak.
   */
  async recordAttempt(
    delivery: DeliveryRow,
    attempt: { status: number | null; error: string | null; durationMs: number },
    outcome: { status: DeliveryRow['status']; nextAttemptAt: Date | null },
  ): Promise<{ recorded: boolean; failures: number }> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const updated = await tx.query(
        `UPDATE webhook_deliveries
            SET attempts = attempts + 1, last_status = $4, last_error = $5,
                status = CASE WHEN status = 'pending' THEN $2 ELSE status END,
                next_attempt_at = CASE WHEN status = 'pending' THEN $3::timestamptz ELSE next_attempt_at END,
                completed_at = CASE WHEN status <> 'pending' THEN completed_at
                                    WHEN $2 = 'pending' THEN NULL ELSE $6::timestamptz END,
                lease_owner = NULL, lease_token = NULL, lease_until = NULL
          WHERE id = $1 AND lease_token = $7`,
        [delivery.id, outcome.status, outcome.nextAttemptAt, attempt.status, attempt.error, now, delivery.lease_token],
      );
      if (updated.rowCount === 0) return { recorded: false, failures: 0 };
      await tx.query(
        `INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, response_status, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [delivery.id, delivery.attempts + 1, now, attempt.status, attempt.error, attempt.durationMs],
      );
      if (outcome.status === 'delivered') {
        if (delivery.endpoint_id) await tx.query('UPDATE webhook_endpoints SET last_success_at = $2 WHERE id = $1', [delivery.endpoint_id, now]);
        await tx.query('DELETE FROM webhook_targets WHERE target_key = $1', [delivery.target_key]);
      } else if (outcome.status !== 'cancelled') {
        const streak = await tx.query<{ consecutive_failures: number }>(
          `INSERT INTO webhook_targets AS t (target_key, consecutive_failures, updated_at) VALUES ($1, 1, $2)
           ON CONFLICT (target_key) DO UPDATE SET consecutive_failures = t.consecutive_failures + 1, updated_at = $2
           RETURNING consecutive_failures`,
          [delivery.target_key, now],
        );
        const failures = streak.rows[0]!.consecutive_failures;
        const block = blockMs(failures);
        if (block !== null) {
          await tx.query(
            `UPDATE webhook_targets SET blocked_until = GREATEST(COALESCE(blocked_until, $2::timestamptz), $3::timestamptz)
              WHERE target_key = $1`,
            [delivery.target_key, now, new Date(now.getTime() + block)],
          );
        }
        return { recorded: true, failures };
      }
      return { recorded: true, failures: 0 };
    });
  }

  /** The failure streak and block of a target (operators, tests). */
  async target(targetKey: string): Promise<{ consecutive_failures: number; blocked_until: Date | null } | null> {
    const result = await this.db.query<{ consecutive_failures: number; blocked_until: Date | null }>(
      'SELECT consecutive_failures, blocked_until FROM webhook_targets WHERE target_key = $1',
      [targetKey],
    );
    return result.rows[0] ?? null;
  }

  /** H9: 410 from an endpoint disables it and cancels its pending deliveries. */
  async disableEndpoint(endpointId: string, reason: string): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, updated_at = $3 WHERE id = $1`, [endpointId, reason, now]);
      await tx.query(`UPDATE webhook_deliveries SET status = 'cancelled', completed_at = $2 WHERE endpoint_id = $1 AND status = 'pending'`, [endpointId, now]);
    });
  }

  /**
   * H10: an endpoint without a single success for 5 days is disabled, its pending deliveries cancelled; the reason
   * is shown on the endpoint. Returns true when this call disabled it.
   */
  async disableIfSilent(endpointId: string): Promise<boolean> {
    const now = this.clock.now();
    const result = await this.db.query(
      `UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'no successful delivery for 5 days', updated_at = $2
        WHERE id = $1 AND status = 'enabled' AND COALESCE(last_success_at, created_at) < $2::timestamptz - interval '5 days'`,
      [endpointId, now],
    );
    if (result.rowCount === 0) return false;
    await this.db.query(`UPDATE webhook_deliveries SET status = 'cancelled', completed_at = $2 WHERE endpoint_id = $1 AND status = 'pending'`, [endpointId, now]);
    return true;
  }

  async deliveriesOf(taskId: string): Promise<DeliveryRow[]> {
    return (await this.db.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE task_id = $1 ORDER BY id', [taskId])).rows;
  }
}
