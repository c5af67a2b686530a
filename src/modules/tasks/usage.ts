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

/** What a usage report groups by (API.md §8 reports, §3 `/v1/usage`). */
export type UsageGroup = 'day' | 'customer' | 'model' | 'channel' | 'key';

export interface UsageReportFilter {
  from: Date;
  to: Date;
  groupBy: UsageGroup;
  customerId?: string;
  mode?: string;
  /** The last key of the previous page: groups with a greater key follow (keys sort bytewise). */
  after?: string | null;
  limit: number;
}

export interface UsageReportRow {
  key: string;
  requests: bigint;
  succeeded: bigint;
  failed: bigint;
  charged: bigint;
  cost: bigint | null;
  margin: bigint | null;
}

/** The grouping expressions; never built from input. A task without a channel (sandbox) groups under ''. */
const GROUP_KEY: Record<UsageGroup, string> = {
  day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  customer: 'customer_id',
  model: 'model',
  channel: `COALESCE(channel_id, '')`,
  key: 'api_key_id',
};

/**
 * Tasks created in [from, to) grouped by one key (SEMANTICS M11): requests, succeeded, failed, credits charged, and
 * the upstream cost and margin of the succeeded tasks whose cost is known (0 when the group has no success, null
 * when none of its successes has a known cost). One bounded page of at most `limit` groups (D5), in key order.
 */
export async function usageReport(db: Queryable, filter: UsageReportFilter): Promise<UsageReportRow[]> {
  const key = `(${GROUP_KEY[filter.groupBy]}) COLLATE "C"`;
  const result = await db.query<UsageReportRow>(
    `SELECT ${key} AS key, COUNT(*)::bigint AS requests,
            COUNT(*) FILTER (WHERE status = 'succeeded')::bigint AS succeeded,
            COUNT(*) FILTER (WHERE status = 'failed')::bigint AS failed,
            COALESCE(SUM(charged), 0)::bigint AS charged,
            COALESCE(SUM(cost_credits) FILTER (WHERE status = 'succeeded'),
                     CASE WHEN COUNT(*) FILTER (WHERE status = 'succeeded') = 0 THEN 0 END)::bigint AS cost,
            COALESCE(SUM(charged - cost_credits) FILTER (WHERE status = 'succeeded'),
                     CASE WHEN COUNT(*) FILTER (WHERE status = 'succeeded') = 0 THEN 0 END)::bigint AS margin
       FROM tasks
      WHERE created_at >= $1 AND created_at < $2
        AND ($3::text IS NULL OR customer_id = $3) AND ($4::text IS NULL OR mode = $4)
        AND ($5::text IS NULL OR ${key} > $5)
      GROUP BY 1 ORDER BY 1 LIMIT $6`,
    [filter.from, filter.to, filter.customerId ?? null, filter.mode ?? null, filter.after ?? null, filter.limit],
  );
  return result.rows;
}
