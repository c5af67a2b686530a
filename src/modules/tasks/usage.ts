import type { Queryable } from '../../db/pool.js';

export interface UsageRow {
  model: string;
  type: string;
  count: bigint;
  credits: bigint;
}

/** Settled usage per model in a time range, for `GET /v1/usage?from=&to=`. */
export async function usageByModel(
  db: Queryable,
  customerId: string,
  mode: string,
  from: Date,
  to: Date,
): Promise<UsageRow[]> {
  const result = await db.query<UsageRow>(
    `SELECT model, type, COUNT(*) AS count, COALESCE(SUM(charged), 0)::bigint AS credits FROM tasks
      WHERE customer_id = $1 AND mode = $2 AND status = 'succeeded' AND completed_at >= $3 AND completed_at < $4
      GROUP BY model, type ORDER BY model`,
    [customerId, mode, from, to],
  );
  return result.rows;
}
