import type pg from 'pg';

/** Pieces every `Db` handle shares (pool.ts's two engines and the database thread's, pglite-thread-client.ts). */

/** A `close` that does its work the first time only; later calls resolve at once. */
export function once(close: () => Promise<void>): () => Promise<void> {
  let closed = false;
  return async () => {
    if (closed) return;
    closed = true;
    await close();
  };
}

/** An embedded statement's rows in node-postgres' result shape (`rowCount`: the rows it changed, else returned). */
export function toQueryResult<Row extends pg.QueryResultRow>(rows: Row[], affected: number | undefined): pg.QueryResult<Row> {
  return { rows, rowCount: affected ?? rows.length, command: '', oid: 0, fields: [] };
}
