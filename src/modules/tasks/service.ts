import type { Db, Queryable } from '../../db/pool.js';
import { GroupCommitter, type GroupCommitOptions } from '../../db/group-commit.js';
import { AppError } from '../../lib/errors.js';
import type { JsonValue } from '../../providers/spec.js';
import type { TaskRow, TaskStatus } from './types.js';
import { observeRunner, submittedRunner, type ObserveItem, type SubmittedItem } from './write-groups.js';
import { usageByModel, usageReport, type UsageReportFilter, type UsageReportRow, type UsageRow } from './usage.js';

/**
 * Task rows outside the two hot-path functions: reads scoped to a customer and mode (other customers' and other
 * modes' tasks are 404, SEMANTICS K11/E3), and the worker's guarded transitions (each one UPDATE … WHERE <state>).
 * Terminal transitions happen only in gr_resolve_hold (T8).
 */
export interface TaskFilter {
  customerId: string;
  mode: string;
  status?: string[];
  type?: string;
  limit: number;
  after?: string | null;
}

/** The operator's task list (`GET /api/admin/tasks`): every customer and mode, each filter optional. */
export interface OperatorTaskFilter {
  customerId?: string;
  mode?: string;
  model?: string;
  status?: string[];
  type?: string;
  from?: Date;
  to?: Date;
  limit: number;
  after?: string | null;
}

export class TaskService {
  /** Acceptances and non-terminal observations are committed in groups (write-groups.ts, issue 14). */
  readonly submittedGroups: GroupCommitter<SubmittedItem, boolean>;
  readonly observeGroups: GroupCommitter<ObserveItem, boolean>;

  constructor(
    private readonly db: Db,
    private readonly leaseMs = 60_000,
    // One group of each kind at a time (they touch distinct rows, so more would only add connections); embedded, the
    // group forms from the writes read in two turns of the event loop, as the wallet's (wallet/service.ts).
    groups: GroupCommitOptions = { maxGroup: 256, maxInFlight: 1, deferSend: db.blocksThread === true },
  ) {
    this.submittedGroups = new GroupCommitter(submittedRunner(db), groups);
    this.observeGroups = new GroupCommitter(observeRunner(db), groups);
  }

  async get(id: string, db: Queryable = this.db): Promise<TaskRow | null> {
    const result = await db.query<TaskRow>('SELECT * FROM tasks WHERE id = $1', [id]);
    return result.rows[0] ?? null;
  }

  /** Settled usage per model of one customer and mode in [from, to) (`GET /v1/usage?from=&to=`). */
  async usageByModel(customerId: string, mode: string, from: Date, to: Date): Promise<UsageRow[]> {
    return usageByModel(this.db, customerId, mode, from, to);
  }

  /** One page of a grouped usage report (`GET /api/admin/reports/usage`, `GET /v1/usage?group_by=`). */
  async usageReport(filter: UsageReportFilter): Promise<UsageReportRow[]> {
    return usageReport(this.db, filter);
  }

  async getOwned(id: string, customerId: string, mode: string): Promise<TaskRow> {
    const result = await this.db.query<TaskRow>('SELECT * FROM tasks WHERE id = $1 AND customer_id = $2 AND mode = $3', [
      id,
      customerId,
      mode,
    ]);
    if (!result.rows[0]) throw new AppError('not_found', 'No such task');
    return result.rows[0];
  }

  async list(filter: TaskFilter): Promise<TaskRow[]> {
    const result = await this.db.query<TaskRow>(
      `SELECT * FROM tasks WHERE customer_id = $1 AND mode = $2
          AND ($3::text[] IS NULL OR status = ANY($3::text[])) AND ($4::text IS NULL OR type = $4)
          AND ($5::text IS NULL OR id < $5)
        ORDER BY id DESC LIMIT $6`,
      [filter.customerId, filter.mode, filter.status ?? null, filter.type ?? null, filter.after ?? null, filter.limit],
    );
    return result.rows;
  }

  /** Newest first by id (ids sort by creation time); `from` inclusive, `to` exclusive on `created_at`. */
  async listAll(filter: OperatorTaskFilter): Promise<TaskRow[]> {
    const result = await this.db.query<TaskRow>(
      `SELECT * FROM tasks WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR mode = $2)
          AND ($3::text IS NULL OR model = $3) AND ($4::text[] IS NULL OR status = ANY($4::text[])) AND ($5::text IS NULL OR type = $5)
          AND ($6::timestamptz IS NULL OR created_at >= $6) AND ($7::timestamptz IS NULL OR created_at < $7)
          AND ($8::text IS NULL OR id < $8)
        ORDER BY id DESC LIMIT $9`,
      [filter.customerId ?? null, filter.mode ?? null, filter.model ?? null, filter.status ?? null, filter.type ?? null,
        filter.from ?? null, filter.to ?? null, filter.after ?? null, filter.limit],
    );
    return result.rows;
  }

  /**
   * T2: claim due queued tasks, and dispatching ones whose lease expired (T6), for this worker. `busy` are tasks this
   * worker is still dispatching: a lease of its own that ran out is not taken again by itself (another worker may).
   */
  async claimForDispatch(owner: string, now: Date, limit: number, busy: string[] = [], holdAfterMs = 0): Promise<TaskRow[]> {
    // Status checks before new work (issue 14): while a model's running tasks have a status check overdue by more than
    // `holdAfterMs`, its queued tasks wait; a lease-expired dispatch (recovery) is never held. One function planned as
    // index lookups (migration 0022): its cost follows the tasks it claims, not the tasks that are open.
    const result = await this.db.query<TaskRow>(
      'SELECT * FROM gr_claim_dispatch($1, $2, $3, $4, $5::text[], $6)',
      [owner, new Date(now.getTime() + this.leaseMs), now, limit, busy, holdAfterMs > 0 ? new Date(now.getTime() - holdAfterMs) : null],
    );
    return result.rows;
  }

  /** T4: record acceptance, only while this worker still holds the lease. */
  async markSubmitted(
    id: string,
    owner: string,
    values: { provider: string; channelId: string | null; credentialId: string | null; providerTaskId: string; operation: JsonValue; nextPollAt: Date },
    now: Date,
  ): Promise<boolean> {
    return this.submittedGroups.submit({ id, owner, ...values, now });
  }

  /** T5: a create that surely did not land goes back to the queue with backoff. */
  async requeue(id: string, owner: string, nextAttemptAt: Date, upstreamError: JsonValue, now: Date, triedChannel: string | null = null): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE tasks SET status = 'queued', lease_owner = NULL, lease_until = NULL, next_action_at = $3,
                        upstream_error = $4, updated_at = $5,
                        tried_channels = CASE WHEN $6::text IS NULL THEN tried_channels ELSE array_append(tried_channels, $6::text) END
        WHERE id = $1 AND status = 'dispatching' AND lease_owner = $2`,
      [id, owner, nextAttemptAt, JSON.stringify(upstreamError), now, triedChannel],
    );
    return result.rowCount === 1;
  }

  /**
   * A text request's serving route (provider, channel, account, channels failed over from), written in the
   * transaction that settles or releases it (workflows/text-request.ts), while the task is still open.
   */
  async recordTextRoute(
    id: string,
    route: { provider: string; channelId: string | null; credentialId: string | null; triedChannels: string[] },
    db: Queryable = this.db,
  ): Promise<void> {
    await db.query(
      `UPDATE tasks SET provider = $2, channel_id = $3, credential_id = $4, tried_channels = $5::text[]
        WHERE id = $1 AND status = 'dispatching' AND type IN ('chat', 'embedding')`,
      [id, route.provider, route.channelId, route.credentialId, route.triedChannels],
    );
  }

  async recordUpstreamError(id: string, upstreamError: JsonValue): Promise<void> {
    await this.db.query('UPDATE tasks SET upstream_error = $2 WHERE id = $1', [id, JSON.stringify(upstreamError)]);
  }

  /**
   * Claims submitted/running tasks due for a status check by pushing their next check a lease ahead; `busy` are tasks
   * this worker is still checking (a check slower than the lease is not started twice by the same worker).
   */
  async claimForPoll(now: Date, limit: number, busy: string[] = []): Promise<TaskRow[]> {
    const result = await this.db.query<TaskRow>(
      'SELECT * FROM gr_claim_poll($1, $2, $3, $4::text[])',
      [now, new Date(now.getTime() + this.leaseMs), limit, busy],
    );
    return result.rows;
  }

  /** A non-terminal observation: running/progress, operation updates and the next check time. */
  async observe(
    id: string,
    values: { status: 'submitted' | 'running'; progress: number; operation?: JsonValue; nextPollAt: Date },
    now: Date,
  ): Promise<void> {
    await this.observeGroups.submit({ id, ...values, now });
  }

  /** The task a provider callback is about (channel + upstream task id). */
  async byProviderTask(channelId: string, providerTaskId: string): Promise<TaskRow | null> {
    const result = await this.db.query<TaskRow>('SELECT * FROM tasks WHERE channel_id = $1 AND provider_task_id = $2', [channelId, providerTaskId]);
    return result.rows[0] ?? null;
  }

  private readonly waiting = new Map<string, { read: Promise<number>; taken: number; at: number }>();

  /**
   * Tasks of a model waiting for a worker (R6), read at most once a second per model; each call counts itself in,
   * so a burst inside the second is still bounded. Calls that arrive while the count is being read share that read:
   * a burst of creates at the start of a second asks once, not once per request (the count grows with the queue).
   */
  async waitingCount(model: string, nowMs: number): Promise<number> {
    let entry = this.waiting.get(model);
    if (!entry || nowMs - entry.at > 1000) {
      const read = this.db
        .query<{ count: bigint }>("SELECT COUNT(*) AS count FROM tasks WHERE model = $1 AND status IN ('queued', 'dispatching')", [model])
        .then((result) => Number(result.rows[0]!.count));
      const fresh = { read, taken: 0, at: nowMs };
      this.waiting.set(model, fresh);
      // A failed read is not kept: the next call asks again.
      read.catch(() => {
        if (this.waiting.get(model) === fresh) this.waiting.delete(model);
      });
      entry = fresh;
    }
    const count = (await entry.read) + entry.taken;
    entry.taken += 1;
    return count;
  }

  /** Status counts for operators and tests. */
  async countByStatus(): Promise<Record<TaskStatus, number>> {
    const result = await this.db.query<{ status: TaskStatus; count: bigint }>('SELECT status, COUNT(*) AS count FROM tasks GROUP BY status');
    return Object.fromEntries(result.rows.map((row) => [row.status, Number(row.count)])) as Record<TaskStatus, number>;
  }

  /** I9: forget idempotency keys older than the retention; the tasks stay readable. */
  async reapIdempotencyKeys(olderThan: Date): Promise<number> {
    const result = await this.db.query(
      `UPDATE tasks SET idempotency_key = NULL
        WHERE id IN (SELECT id FROM tasks WHERE idempotency_key IS NOT NULL AND created_at < $1 ORDER BY created_at LIMIT 1000)`,
      [olderThan],
    );
    return result.rowCount ?? 0;
  }
}
