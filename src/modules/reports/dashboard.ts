import type { Queryable } from '../../db/pool.js';

/**
 * The figures behind the operator dashboard (API.md §8 "Dashboard"). Every read is bounded: traffic and channel
 * outcomes scan tasks by `created_at` range (tasks_created_at_idx, migration 0010), open tasks are read through the
 * open-status indexes (tasks_open_model_idx, migration 0023; tasks_poll_idx), and the account list is capped.
 */
export interface TrafficFilter {
  from: Date;
  to: Date;
  /** Bucket width in milliseconds; `from` is the start of bucket 0. */
  bucketMs: number;
}

/** One aggregate of live tasks: a bucket (`bucket` set), a model (`model` set) or the whole window (neither). */
export interface TrafficRow {
  bucket: number | null;
  model: string | null;
  requests: bigint;
  succeeded: bigint;
  failed: bigint;
  charged: bigint;
  cost: bigint;
  margin: bigint;
}

/**
 * Live tasks created in [from, to), aggregated per bucket, per model and in all, in one scan (GROUPING SETS).
 * `charged` counts every task (only settled ones carry a charge); `cost` and `margin` (charged − cost) cover the
 * succeeded tasks whose upstream cost is known (SEMANTICS M11), 0 when there is none. Test-mode (sandbox) tasks
 * are left out: their credits are not revenue and their upstream is the built-in sandbox.
 */
export async function liveTraffic(db: Queryable, filter: TrafficFilter): Promise<TrafficRow[]> {
  const result = await db.query<TrafficRow & { grouping: number }>(
    `SELECT GROUPING(bucket, model)::int AS grouping, bucket, model,
            COUNT(*)::bigint AS requests,
            COUNT(*) FILTER (WHERE status = 'succeeded')::bigint AS succeeded,
            COUNT(*) FILTER (WHERE status = 'failed')::bigint AS failed,
            COALESCE(SUM(charged), 0)::bigint AS charged,
            COALESCE(SUM(cost_credits) FILTER (WHERE status = 'succeeded'), 0)::bigint AS cost,
            COALESCE(SUM(charged - cost_credits) FILTER (WHERE status = 'succeeded'), 0)::bigint AS margin
       FROM (SELECT floor(extract(epoch FROM (created_at - $1::timestamptz)) * 1000 / $3)::int AS bucket,
                    model COLLATE "C" AS model, status, charged, cost_credits
               FROM tasks
              WHERE created_at >= $1 AND created_at < $2 AND mode = 'live') live
      GROUP BY GROUPING SETS ((bucket), (model), ())`,
    [filter.from, filter.to, filter.bucketMs],
  );
  return result.rows.map((row) => ({
    bucket: row.grouping === 1 ? row.bucket : null,
    model: row.grouping === 2 ? row.model : null,
    requests: row.requests, succeeded: row.succeeded, failed: row.failed, charged: row.charged, cost: row.cost, margin: row.margin,
  }));
}

/** Open tasks of both modes by the status customers see: queued (queued, dispatching, submitted) and running. */
export async function openTasks(db: Queryable): Promise<{ queued: bigint; running: bigint }> {
  const result = await db.query<{ queued: bigint; running: bigint }>(
    `SELECT COUNT(*) FILTER (WHERE status <> 'running')::bigint AS queued,
            COUNT(*) FILTER (WHERE status = 'running')::bigint AS running
       FROM tasks WHERE status IN ('queued', 'dispatching', 'submitted', 'running')`,
  );
  return result.rows[0] ?? { queued: 0n, running: 0n };
}

export interface ChannelHealthRow {
  id: string;
  name: string;
  enabled: boolean;
  accounts_total: bigint;
  accounts_active: bigint;
  accounts_cooling: bigint;
  accounts_disabled: bigint;
  /** Live tasks created on the channel in the range that ended succeeded, and that ended succeeded, failed or expired. */
  succeeded: bigint;
  finished: bigint;
}

/**
 * Every channel with its account counts (deleted accounts, whose secret is wiped, are not counted) and the outcomes
 * of the live tasks that ran on it and were created in [since, until].
 */
export async function channelHealth(db: Queryable, now: Date, since: Date): Promise<ChannelHealthRow[]> {
  const result = await db.query<ChannelHealthRow>(
    `WITH accounts AS (
       SELECT channel_id,
              COUNT(*)::bigint AS total,
              COUNT(*) FILTER (WHERE status = 'active' AND (cooldown_until IS NULL OR cooldown_until <= $1))::bigint AS active,
              COUNT(*) FILTER (WHERE status = 'active' AND cooldown_until > $1)::bigint AS cooling,
              COUNT(*) FILTER (WHERE status = 'disabled')::bigint AS disabled
         FROM upstream_credentials WHERE credential_encrypted <> '' GROUP BY channel_id
     ), outcomes AS (
       SELECT channel_id,
              COUNT(*) FILTER (WHERE status = 'succeeded')::bigint AS succeeded,
              COUNT(*) FILTER (WHERE status IN ('succeeded', 'failed', 'expired'))::bigint AS finished
         FROM tasks
        WHERE created_at >= $2 AND created_at <= $1 AND mode = 'live' AND channel_id IS NOT NULL
        GROUP BY channel_id
     )
     SELECT c.id, c.name, c.enabled,
            COALESCE(a.total, 0)::bigint AS accounts_total, COALESCE(a.active, 0)::bigint AS accounts_active,
            COALESCE(a.cooling, 0)::bigint AS accounts_cooling, COALESCE(a.disabled, 0)::bigint AS accounts_disabled,
            COALESCE(o.succeeded, 0)::bigint AS succeeded, COALESCE(o.finished, 0)::bigint AS finished
       FROM channels c
       LEFT JOIN accounts a ON a.channel_id = c.id
       LEFT JOIN outcomes o ON o.channel_id = c.id
      ORDER BY c.priority DESC, c.id`,
    [now, since],
  );
  return result.rows;
}

export type AttentionState = 'disabled' | 'cooling' | 'low_balance';

export interface AttentionRow {
  id: string;
  channel_id: string;
  label: string | null;
  state: AttentionState;
  disabled_reason: string | null;
  cooldown_until: Date | null;
  /** The upstream-reported balance as a number (null when never read or not a number). */
  balance: string | null;
  /** The threshold the balance was compared with (the channel's `settings.low_balance_threshold` or the default). */
  threshold: string;
}

/** A number as PostgreSQL `numeric` accepts it; anything else in `remaining_balance` is treated as no reading. */
const NUMERIC = `'^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$'`;

/**
 * Accounts that need the operator: disabled, cooling down, or (active and not cooling) with an upstream-reported
 * balance below the channel's `settings.low_balance_threshold` (a number in the upstream's own unit, else
 * `defaultThreshold`). One row per account, in its most severe state (disabled, then cooling, then low balance),
 * then by channel and id; deleted accounts never appear; at most `limit` rows.
 */
export async function accountsNeedingAttention(db: Queryable, now: Date, defaultThreshold: number, limit: number): Promise<AttentionRow[]> {
  const result = await db.query<AttentionRow>(
    `SELECT id, channel_id, label, state, disabled_reason, cooldown_until, balance::text AS balance, threshold::text AS threshold
       FROM (SELECT u.id, u.channel_id, u.label, u.disabled_reason, u.cooldown_until,
                    CASE WHEN u.remaining_balance ~ ${NUMERIC} THEN u.remaining_balance::numeric END AS balance,
                    COALESCE(CASE WHEN jsonb_typeof(c.settings -> 'low_balance_threshold') = 'number'
                                  THEN (c.settings ->> 'low_balance_threshold')::numeric END, $2::numeric) AS threshold,
                    CASE WHEN u.status = 'disabled' THEN 'disabled'
                         WHEN u.cooldown_until > $1 THEN 'cooling'
                         ELSE 'low_balance' END AS state
               FROM upstream_credentials u JOIN channels c ON c.id = u.channel_id
              WHERE u.credential_encrypted <> '') accounts
      WHERE state <> 'low_balance' OR balance < threshold
      ORDER BY CASE state WHEN 'disabled' THEN 0 WHEN 'cooling' THEN 1 ELSE 2 END, channel_id, id
      LIMIT $3`,
    [now, defaultThreshold, limit],
  );
  return result.rows;
}
