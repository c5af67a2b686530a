import type { Db } from '../../db/pool.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/secret-box.js';
import { generateWebhookSecret } from './signing.js';

/**
 * Customer callback secrets (H3, H4) and the delivery outbox (H7–H10). Delivery rows are inserted by
 * gr_resolve_hold with the terminal transition; this service claims and records them.
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
}

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

  /** Claims due deliveries by pushing their next attempt a lease ahead (any number of senders may run). */
  async claimDue(limit: number): Promise<DeliveryRow[]> {
    const now = this.clock.now();
    const result = await this.db.query<DeliveryRow>(
      `UPDATE webhook_deliveries SET next_attempt_at = $2
        WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
                      ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [now, new Date(now.getTime() + 60_000), limit],
    );
    return result.rows;
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

  async recordAttempt(
    delivery: DeliveryRow,
    attempt: { status: number | null; error: string | null; durationMs: number },
    outcome: { status: DeliveryRow['status']; nextAttemptAt: Date | null },
  ): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, response_status, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [delivery.id, delivery.attempts + 1, now, attempt.status, attempt.error, attempt.durationMs],
      );
      await tx.query(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2, next_attempt_at = $3, last_status = $4,
                last_error = $5, completed_at = CASE WHEN $2 = 'pending' THEN NULL ELSE $6::timestamptz END
          WHERE id = $1`,
        [delivery.id, outcome.status, outcome.nextAttemptAt, attempt.status, attempt.error, now],
      );
      if (delivery.endpoint_id && outcome.status === 'delivered') {
        await tx.query('UPDATE webhook_endpoints SET last_success_at = $2 WHERE id = $1', [delivery.endpoint_id, now]);
      }
    });
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
