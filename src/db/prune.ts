import type { Queryable } from './pool.js';

/** Rows one pruning statement deletes at most (the sweeper's retention, ARCHITECTURE "Data retention"). */
export const PRUNE_BATCH = 5000;

/**
 * Deletes at most `limit` rows of `table` (a fixed name, never from input) matching `where` (SQL over the table's own
 * columns, `$n` from `params`), so one statement never locks more than a batch; the same SQL on PostgreSQL and PGlite.
 * The sub-select locks the rows it picks (`FOR UPDATE`, which re-checks `where` on a row another transaction changed
 * meanwhile, so a row that stopped matching is left alone), skips rows a request in flight holds (they wait for the
 * next round), and hands their `ctid`s to the DELETE (a TID scan: the table is not read again; a locked row cannot move).
 * Answers how many rows went.
 */
export async function pruneBatch(db: Queryable, table: string, where: string, params: unknown[], limit = PRUNE_BATCH): Promise<number> {
  const result = await db.query(
    `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM ${table} WHERE ${where} LIMIT ${Math.trunc(limit)} FOR UPDATE SKIP LOCKED))`,
    params,
  );
  return result.rowCount ?? 0;
}
