import type { Queryable } from './pool.js';

/**
 * The background processes' work, for the embedded engine. PGlite runs PostgreSQL as one backend in single-user mode:
 * there is no checkpointer and no autovacuum.
 *
 * - Without a checkpointer, nothing checkpoints while the process runs (single-user PostgreSQL requests no checkpoint
 *   for WAL volume; only a clean shutdown makes one): the WAL grew for as long as the server ran — about 7 KB per video
 *   task — and a crash replayed all of it at the next start.
 * - Without autovacuum, nothing vacuums or analyzes: a task's superseded versions are only pruned inside their page,
 *   free space is never recorded for new rows (bench:embedded: 3 KB of heap per task against 1.5 with vacuums), no
 *   page is marked all-visible or frozen, and the planner keeps the estimates of an empty table.
 *
 * The worker (worker/worker.ts, `upkeep` loop, embedded engine only) calls `upkeepOnce` every `UPKEEP_INTERVAL_MS`. A
 * round checkpoints once `CHECKPOINT_WAL_BYTES` of WAL have been written since the last checkpoint, then treats the one
 * table that needs it most, with autovacuum's own default thresholds read from the statistics PostgreSQL keeps anyway:
 * one table per round, as everything else waits while it runs on the engine's one session.
 */
export const UPKEEP_INTERVAL_MS = 15_000;

/** Half the embedded engine's `max_wal_size` (db/pool.ts): what a checkpoint then leaves in pg_wal covers it. */
export const CHECKPOINT_WAL_BYTES = 32 * 1024 * 1024;

/** autovacuum's defaults (`autovacuum_vacuum_threshold`, `…_scale_factor`, `…_insert_…`, `…_analyze_…`). */
const VACUUM_BASE = 50;
const VACUUM_SCALE = 0.2;
const INSERT_BASE = 1000;
const INSERT_SCALE = 0.2;
const ANALYZE_BASE = 50;
const ANALYZE_SCALE = 0.1;

export interface TableActivity {
  table: string;
  /** pg_class.reltuples: -1 until the table's first VACUUM or ANALYZE. */
  reltuples: number;
  deadRows: number;
  insertedSinceVacuum: number;
  modifiedSinceAnalyze: number;
}

export interface UpkeepChoice {
  table: string;
  vacuum: boolean;
  analyze: boolean;
  /** How far past its threshold the table is (the largest of its ratios); the largest goes first. */
  urgency: number;
}

/** What one round did, each step with the time the engine was busy with it; null for a step not needed. */
export interface UpkeepResult {
  checkpoint: { walBytes: number; ms: number } | null;
  table: { name: string; vacuum: boolean; analyze: boolean; ms: number } | null;
}

/** The table that most needs a VACUUM (dead rows, or rows inserted since the last one) or an ANALYZE; null if none. */
export function chooseUpkeep(tables: readonly TableActivity[]): UpkeepChoice | null {
  let best: UpkeepChoice | null = null;
  for (const table of tables) {
    const rows = Math.max(0, table.reltuples);
    const dead = table.deadRows / (VACUUM_BASE + VACUUM_SCALE * rows);
    const inserted = table.insertedSinceVacuum / (INSERT_BASE + INSERT_SCALE * rows);
    const modified = table.modifiedSinceAnalyze / (ANALYZE_BASE + ANALYZE_SCALE * rows);
    const vacuum = dead > 1 || inserted > 1;
    const analyze = modified > 1;
    if (!vacuum && !analyze) continue;
    const urgency = Math.max(dead, inserted, modified);
    if (!best || urgency > best.urgency) best = { table: table.table, vacuum, analyze, urgency };
  }
  return best;
}

function quoted(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

/** The statistics of the public schema's tables (the counters PostgreSQL keeps in every mode, single-user included). */
export async function tableActivity(db: Queryable): Promise<TableActivity[]> {
  const { rows } = await db.query<{ table: string; reltuples: number; dead: bigint; inserted: bigint; modified: bigint }>(
    `SELECT s.relname AS table, c.reltuples::float8 AS reltuples, s.n_dead_tup AS dead,
            s.n_ins_since_vacuum AS inserted, s.n_mod_since_analyze AS modified
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.schemaname = 'public'`,
    [],
  );
  return rows.map((row) => ({
    table: row.table, reltuples: Number(row.reltuples), deadRows: Number(row.dead),
    insertedSinceVacuum: Number(row.inserted), modifiedSinceAnalyze: Number(row.modified),
  }));
}

/** Bytes of WAL written since the last checkpoint began (its redo point). */
export async function walSinceCheckpoint(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ bytes: string }>(
    `SELECT (pg_current_wal_insert_lsn() - (SELECT redo_lsn FROM pg_control_checkpoint()))::text AS bytes`,
    [],
  );
  return Number(rows[0]?.bytes ?? 0);
}

/**
 * One round: a checkpoint when `checkpointBytes` of WAL have been written since the last one, then the table that
 * needs it most is vacuumed (with ANALYZE when that is due too) or analyzed. VACUUM and CHECKPOINT cannot run in a
 * transaction: each is a statement of its own on the session. `now` is the stopwatch (milliseconds).
 */
export async function upkeepOnce(
  db: Queryable,
  options: { checkpointBytes?: number; now?: () => number } = {},
): Promise<UpkeepResult> {
  const now = options.now ?? (() => performance.now());
  const result: UpkeepResult = { checkpoint: null, table: null };
  const walBytes = await walSinceCheckpoint(db);
  if (walBytes >= (options.checkpointBytes ?? CHECKPOINT_WAL_BYTES)) {
    const started = now();
    await db.query('CHECKPOINT');
    result.checkpoint = { walBytes, ms: Math.round(now() - started) };
  }
  const choice = chooseUpkeep(await tableActivity(db));
  if (choice) {
    const started = now();
    const target = quoted(choice.table);
    await db.query(choice.vacuum ? `VACUUM (ANALYZE ${choice.analyze ? 'true' : 'false'}) ${target}` : `ANALYZE ${target}`);
    result.table = { name: choice.table, vacuum: choice.vacuum, analyze: choice.analyze, ms: Math.round(now() - started) };
  }
  return result;
}
