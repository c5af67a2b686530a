import { prepared, type Queryable } from '../../db/pool.js';
import type { GroupRunner } from '../../db/group-commit.js';
import type { JsonValue } from '../../providers/spec.js';

/**
 * Group commit of the two writes every task makes in the worker (issue 14): its acceptance (`markSubmitted`, T4) and
 * each unfinished status read (`observe`). Like the wallet's groups (db/group-commit.ts), the writes that arrive while
 * one group commits form the next, one statement and one WAL flush for all of them, and each caller is answered only
 * after that commit. Every item is decided exactly as its single statement decides it alone (the same guards: the
 * lease for an acceptance, an open status for an observation): the group's function (migration 0022) updates its
 * items one by one by primary key, in task id order (the order the rows are normally locked in, D6), inside the one
 * statement; a group holding one task twice, or failing for any reason (a deadlock included), runs its items one by
 * one, each its own statement. An operation travels wrapped (`{"v": …}`), so a
 * JSON null stays a JSON null, as in the single statements, and an absent one keeps the stored value.
 */

export interface SubmittedItem {
  id: string;
  owner: string;
  provider: string;
  channelId: string | null;
  credentialId: string | null;
  providerTaskId: string;
  operation: JsonValue;
  nextPollAt: Date;
  now: Date;
}

export interface ObserveItem {
  id: string;
  status: 'submitted' | 'running';
  progress: number;
  /** Undefined keeps the stored operation. */
  operation?: JsonValue;
  nextPollAt: Date;
  now: Date;
}

const MARK_SUBMITTED = prepared('gr_mark_submitted',
  `UPDATE tasks SET status = 'submitted', provider = $3, channel_id = $4, provider_task_id = $5, operation = $6,
                    lease_owner = NULL, lease_until = NULL, next_action_at = $7, submitted_at = $8, updated_at = $8,
                    credential_id = $9
    WHERE id = $1 AND status = 'dispatching' AND lease_owner = $2`);
/** The group's statement (migration 0022: planned as primary-key lookups whatever the statistics say). */
const MARK_SUBMITTED_GROUP = prepared('gr_mark_submitted_group', 'SELECT item FROM gr_mark_submitted_group($1::jsonb)');
const OBSERVE = prepared('gr_observe',
  `UPDATE tasks SET status = CASE WHEN status = 'submitted' AND $2 = 'running' THEN 'running' ELSE status END,
                    progress = GREATEST(progress, $3), operation = COALESCE($4::jsonb, operation),
                    next_action_at = $5, updated_at = $6
    WHERE id = $1 AND status IN ('submitted', 'running')`);
const OBSERVE_GROUP = prepared('gr_observe_group', 'SELECT task_id FROM gr_observe_group($1::jsonb)');

/**
 * A group naming a task twice is run one by one (GroupCommitter's fallback): in arrival order, where the group's
 * function would take them in id order.
 */
function distinct(ids: string[]): void {
  if (new Set(ids).size !== ids.length) throw new Error('a task appears twice in one group');
}

async function markOne(db: Queryable, item: SubmittedItem): Promise<boolean> {
  const result = await db.query(MARK_SUBMITTED, [
    item.id, item.owner, item.provider, item.channelId, item.providerTaskId, JSON.stringify(item.operation), item.nextPollAt, item.now,
    item.credentialId,
  ]);
  return result.rowCount === 1;
}

async function observeOne(db: Queryable, item: ObserveItem): Promise<boolean> {
  const result = await db.query(OBSERVE, [
    item.id, item.status, item.progress, item.operation === undefined ? null : JSON.stringify(item.operation), item.nextPollAt, item.now,
  ]);
  return result.rowCount === 1;
}

/** Acceptances: each answers whether it was recorded (false: this worker's lease was gone, T4). */
export function submittedRunner(db: Queryable): GroupRunner<SubmittedItem, boolean> {
  return {
    async run(inputs) {
      if (inputs.length === 1) return [await markOne(db, inputs[0]!)];
      distinct(inputs.map((input) => input.id));
      const items = inputs.map((input, index) => ({
        item: index, id: input.id, owner: input.owner, provider: input.provider, channel_id: input.channelId,
        credential_id: input.credentialId, provider_task_id: input.providerTaskId, operation: { v: input.operation },
        next_poll_at: input.nextPollAt.toISOString(), at: input.now.toISOString(),
      }));
      const result = await db.query<{ item: number }>(MARK_SUBMITTED_GROUP, [JSON.stringify(items)]);
      const recorded = new Array<boolean>(inputs.length).fill(false);
      for (const row of result.rows) recorded[Number(row.item)] = true;
      return recorded;
    },
    wrote: (recorded) => recorded,
  };
}

/** Non-terminal observations: each answers whether it applied (false: the task had ended meanwhile). */
export function observeRunner(db: Queryable): GroupRunner<ObserveItem, boolean> {
  return {
    async run(inputs) {
      if (inputs.length === 1) return [await observeOne(db, inputs[0]!)];
      distinct(inputs.map((input) => input.id));
      const items = inputs.map((input) => ({
        id: input.id, status: input.status, progress: input.progress, operation: input.operation === undefined ? null : { v: input.operation },
        next_poll_at: input.nextPollAt.toISOString(), at: input.now.toISOString(),
      }));
      const result = await db.query<{ task_id: string }>(OBSERVE_GROUP, [JSON.stringify(items)]);
      const applied = new Set(result.rows.map((row) => row.task_id));
      return inputs.map((input) => applied.has(input.id));
    },
    wrote: (applied) => applied,
  };
}
