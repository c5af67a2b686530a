import { prepared, sqlState, type Queryable } from '../../db/pool.js';
import type { GroupRunner } from '../../db/group-commit.js';
import { AppError } from '../../lib/errors.js';
import { FILE_INSERT_COLUMNS, FILE_RECORD, fileRecords, type FileItem } from '../media/file-groups.js';
import type { TaskRow } from '../tasks/types.js';
import type { ReserveInput, ResolveResult } from './types.js';

/**
 * The two group-commit statements of the wallet (issue 14, migration 0017): `gr_reserve_group` decides many
 * reservations and `gr_resolve_group` many settlements and releases, each item exactly as gr_create_task and
 * gr_resolve_hold decide it alone, in one statement (one transaction, one WAL flush).
 */

/** One reservation's outcome: the task row (created, or the one that owns the idempotency key) or a refusal. */
export type ReserveRow =
  | { outcome: 'created' | 'existing'; task: TaskRow }
  | { outcome: 'GR402' | 'GR429'; task: null };

/** One settlement or release; `route` records the route that served a text request in the same transaction. */
export interface ResolveItem {
  taskId: string;
  outcome: 'settled' | 'released';
  finalStatus: string;
  actual: bigint;
  errorCode: string | null;
  now: Date;
  onlyIfStatus: string | null;
  result: unknown;
  cost: bigint | null;
  route?: { provider: string; channelId: string | null; credentialId: string | null; triedChannels: string[] } | null;
  /** A settled task's result files (bytes already stored): their rows are written only if this item settles. */
  files?: FileItem[];
}

/** The task columns that are not JSON-native (timestamptz → Date, bigint → BigInt); checked against the table by a test. */
export const TASK_DATE_COLUMNS = ['submitted_at', 'lease_until', 'next_action_at', 'created_at', 'updated_at', 'completed_at'] as const;
export const TASK_BIGINT_COLUMNS = ['hold_amount', 'charged', 'cost_credits'] as const;

/** A task row from `to_jsonb(tasks)` in the same shape `SELECT * FROM tasks` gives (D7: int8 as BigInt). */
export function taskFromJson(json: Record<string, unknown>): TaskRow {
  const row: Record<string, unknown> = { ...json };
  for (const column of TASK_DATE_COLUMNS) {
    const value = row[column];
    if (typeof value === 'string') row[column] = new Date(value);
  }
  for (const column of TASK_BIGINT_COLUMNS) {
    const value = row[column];
    if (typeof value === 'number' || typeof value === 'string') row[column] = BigInt(value);
  }
  return row as unknown as TaskRow;
}

function iso(value: Date | null | undefined): string | null {
  return value ? value.toISOString() : null;
}

export function reserveRunner(db: Queryable): GroupRunner<ReserveInput, ReserveRow> {
  return {
    async run(inputs) {
      if (inputs.length === 1) return [await reserveOne(db, inputs[0]!)];
      const items = inputs.map((input) => ({
        id: input.taskId, customer: input.customerId, mode: input.mode, key: input.apiKeyId,
        max_concurrency: input.maxConcurrency, idem: input.idempotencyKey, fp: input.fingerprint, cost: String(input.cost),
        now: iso(input.now), expires: iso(input.expiresAt), deadline: iso(input.hardDeadline), type: input.type,
        model: input.model, request: input.request ?? {}, reservation_id: input.reservationId,
        status: input.initialStatus ?? 'queued', lease_owner: input.leaseOwner ?? null, lease_until: iso(input.leaseUntil),
        face: input.face ?? 'native', callback_url: input.callbackUrl ?? null, metadata: input.metadata ?? null,
        price_version: input.priceVersion ?? null, price_percent: input.pricePercent ?? null,
      }));
      const result = await retrying(() => db.query<ReserveResult>(RESERVE_GROUP, [JSON.stringify(items)]));
      const rows: ReserveRow[] = new Array(inputs.length);
      for (const row of result.rows) {
        rows[Number(row.item) - 1] = row.task
          ? { outcome: row.outcome as 'created' | 'existing', task: taskFromJson(row.task) }
          : { outcome: row.outcome as 'GR402' | 'GR429', task: null };
      }
      return rows;
    },
    wrote: (row) => row.outcome === 'created',
  };
}

// The billing statements every request makes, parsed once per connection on PostgreSQL (db/pool.ts `prepared`).
const RESERVE_GROUP = prepared('gr_reserve_group', 'SELECT item, outcome, task FROM gr_reserve_group($1::jsonb)');
const CREATE_TASK = prepared('gr_create_task',
  'SELECT * FROM gr_create_task($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)');
const RESOLVE_GROUP = prepared('gr_resolve_group', 'SELECT item, outcome, charged, overage FROM gr_resolve_group($1::jsonb)');
/**
 * The same group when some of its items carry result files: the rows of the items that settled are inserted in the
 * same statement, so a result's rows commit with its settlement (one round trip and one flush for both) and exist only
 * if it settled. The function runs first (a CTE with a volatile function is computed once, before what reads it).
 */
const RESOLVE_GROUP_WITH_FILES = prepared('gr_resolve_group_files',
  `WITH r AS (SELECT item, outcome, charged, overage FROM gr_resolve_group($1::jsonb)),
        f AS (INSERT INTO files (${FILE_INSERT_COLUMNS})
              SELECT ${FILE_INSERT_COLUMNS}
                FROM jsonb_to_recordset($2::jsonb) AS x(item integer, ${FILE_RECORD})
                JOIN r ON r.item = x.item AND r.outcome = 'settled'
               ORDER BY x.id)
   SELECT item, outcome, charged, overage FROM r`);

type ReserveResult = { item: number; outcome: ReserveRow['outcome']; task: Record<string, unknown> | null };

/**
 * A reservation alone: gr_create_task (0009), a few guarded statements, cheaper than the group's set-based path for
 * one item. It raises GR402/GR429 (rolling its statement back) where the group answers with an outcome.
 */
async function reserveOne(db: Queryable, input: ReserveInput): Promise<ReserveRow> {
  try {
    const result = await retrying(() => db.query<TaskRow>(
      CREATE_TASK,
      [
        input.taskId, input.customerId, input.mode, input.apiKeyId, input.maxConcurrency, input.idempotencyKey,
        input.fingerprint, input.cost, input.now, input.expiresAt, input.hardDeadline, input.type, input.model,
        JSON.stringify(input.request ?? {}), input.reservationId, input.initialStatus ?? 'queued', input.leaseOwner ?? null,
        input.leaseUntil ?? null, input.face ?? 'native', input.callbackUrl ?? null,
        input.metadata === undefined || input.metadata === null ? null : JSON.stringify(input.metadata),
        input.priceVersion ?? null, input.pricePercent ?? null,
      ],
    ));
    const task = result.rows[0];
    // The key's owner vanished between the conflict and the read (an idempotency key released meanwhile): rare; retry.
    if (!task) throw new AppError('conflict', 'The Idempotency-Key was released while this request ran; retry');
    return { outcome: task.id === input.taskId ? 'created' : 'existing', task };
  } catch (error) {
    const state = sqlState(error);
    if (state === 'GR402' || state === 'GR429') return { outcome: state, task: null };
    throw error;
  }
}

/**
 * GR409: a twin request with one of the group's idempotency keys committed while the group ran (the group wrote
 * nothing): run again, the group sees that twin's task and answers with it. A deadlock with another writer (40P01)
 * or a serialization failure (40001) rolled the statement back too, and is retried the same way (D6).
 */
const RETRY = new Set(['GR409', '40P01', '40001']);
async function retrying<T>(statement: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await statement();
    } catch (error) {
      if (attempt >= 3 || !RETRY.has(sqlState(error) ?? '')) throw error;
    }
  }
}

export function resolveRunner(db: Queryable): GroupRunner<ResolveItem, ResolveResult> {
  return {
    async run(inputs) {
      const items = inputs.map((input) => ({
        task: input.taskId, outcome: input.outcome, final_status: input.finalStatus, actual: String(input.actual),
        error_code: input.errorCode, now: iso(input.now), only_if_status: input.onlyIfStatus,
        result: input.result === null || input.result === undefined ? null : input.result,
        cost: input.cost === null ? null : String(input.cost),
        route_provider: input.route?.provider ?? null, route_channel: input.route?.channelId ?? null,
        route_credential: input.route?.credentialId ?? null, route_tried: input.route?.triedChannels ?? null,
      }));
      const files = inputs.flatMap((input, index) => fileRecords(input.files ?? [], { item: index + 1 }));
      const result = await retrying(() => files.length === 0
        ? db.query<ResolveResult & { item: number }>(RESOLVE_GROUP, [JSON.stringify(items)])
        : db.query<ResolveResult & { item: number }>(RESOLVE_GROUP_WITH_FILES, [JSON.stringify(items), JSON.stringify(files)]));
      const rows: ResolveResult[] = new Array(inputs.length);
      for (const row of result.rows) rows[Number(row.item) - 1] = { outcome: row.outcome, charged: row.charged, overage: row.overage };
      return rows;
    },
    wrote: (row) => row.outcome === 'settled' || row.outcome === 'released',
  };
}
