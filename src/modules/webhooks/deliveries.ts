import type { Queryable } from '../../db/pool.js';
import type { DeliveryRow } from './service.js';

/**
 * Reading the delivery outbox and its attempt log (API.md §9 "Deliveries"), and the customer's manual retry. Lists
 * are newest first by id; a customer's are scoped to its customer and mode (K11), the operator's are not.
 */
export interface DeliveryFilter {
  customerId?: string;
  mode?: string;
  taskId?: string;
  endpointId?: string;
  status?: DeliveryRow['status'];
  limit: number;
  after?: string | null;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  attempted_at: Date;
  response_status: number | null;
  error: string | null;
  duration_ms: number;
}

export async function listDeliveries(db: Queryable, filter: DeliveryFilter): Promise<DeliveryRow[]> {
  const result = await db.query<DeliveryRow>(
    `SELECT * FROM webhook_deliveries
      WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR mode = $2) AND ($3::text IS NULL OR task_id = $3)
        AND ($4::text IS NULL OR endpoint_id = $4) AND ($5::text IS NULL OR status = $5) AND ($6::text IS NULL OR id < $6)
      ORDER BY id DESC LIMIT $7`,
    [filter.customerId ?? null, filter.mode ?? null, filter.taskId ?? null, filter.endpointId ?? null, filter.status ?? null, filter.after ?? null, filter.limit],
  );
  return result.rows;
}

/** Attempts of the given deliveries, oldest first within each. */
export async function attemptsOf(db: Queryable, deliveryIds: string[]): Promise<Map<string, AttemptRow[]>> {
  const byDelivery = new Map<string, AttemptRow[]>(deliveryIds.map((id) => [id, []]));
  if (deliveryIds.length === 0) return byDelivery;
  const result = await db.query<AttemptRow>(
    `SELECT delivery_id, attempt, attempted_at, response_status, error, duration_ms FROM webhook_attempts
      WHERE delivery_id = ANY($1::text[]) ORDER BY delivery_id, id`,
    [deliveryIds],
  );
  for (const row of result.rows) byDelivery.get(row.delivery_id)?.push(row);
  return byDelivery;
}

/** One delivery of a customer and mode, or null (another customer's, the other mode's, unknown: the same, E3). */
export async function ownedDelivery(db: Queryable, id: string, customerId: string, mode: string): Promise<DeliveryRow | null> {
  const result = await db.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = $1 AND customer_id = $2 AND mode = $3', [id, customerId, mode]);
  return result.rows[0] ?? null;
}

/**
 * A failed or cancelled delivery goes back to `pending`, due now, keeping its webhook-id and stored body (H1, H5).
 * Its attempt count is kept: the retry resumes the H10 schedule where it stopped, and once the schedule is used up
 * a retry is one more single attempt. Answers the row, or null when it was not failed or cancelled any more.
 */
export async function requeueDelivery(db: Queryable, id: string, now: Date): Promise<DeliveryRow | null> {
  const result = await db.query<DeliveryRow>(
    `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, completed_at = NULL,
            lease_owner = NULL, lease_token = NULL, lease_until = NULL
      WHERE id = $1 AND status IN ('failed', 'cancelled') RETURNING *`,
    [id, now],
  );
  return result.rows[0] ?? null;
}

/** Whether a registered endpoint still takes deliveries (a retry to a disabled or deleted one is refused). */
export async function endpointStatus(db: Queryable, endpointId: string): Promise<string | null> {
  const result = await db.query<{ status: string }>('SELECT status FROM webhook_endpoints WHERE id = $1', [endpointId]);
  return result.rows[0]?.status ?? null;
}
