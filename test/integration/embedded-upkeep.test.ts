import { describe, expect, it } from 'vitest';
import { chooseUpkeep, tableActivity, walSinceCheckpoint } from '../../src/db/upkeep.js';
import { testEngine } from '../harness/databases.js';
import { useTestApp } from '../harness/setup.js';

/**
 * The embedded engine's upkeep (db/upkeep.ts): PGlite is single-user PostgreSQL, with no autovacuum and no
 * checkpointer, so the worker's upkeep round vacuums and analyzes the table that needs it most and checkpoints once
 * enough WAL has been written. On PostgreSQL the worker leaves all of it to the server.
 */
const ctx = useTestApp();
const embedded = testEngine() === 'pglite';

interface ProbeStats {
  dead: bigint;
  vacuums: bigint;
  analyzes: bigint;
  reltuples: number;
}

/** The session's statistics reach the shared counters at the end of the next statement (forced, not on a timer). */
async function flushStats(): Promise<void> {
  await ctx.app.deps.db.query('SELECT pg_stat_force_next_flush()');
  await ctx.app.deps.db.query('SELECT 1');
}

async function probe(): Promise<ProbeStats> {
  await flushStats();
  const { rows } = await ctx.app.deps.db.query<ProbeStats>(
    `SELECT s.n_dead_tup AS dead, s.vacuum_count AS vacuums, s.analyze_count AS analyzes, c.reltuples::float8 AS reltuples
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = 'upkeep_probe'`,
  );
  return rows[0]!;
}

describe('embedded engine upkeep', () => {
  it.runIf(!embedded)('on PostgreSQL the worker leaves vacuum, analyze and checkpoints to the server', async () => {
    expect(await ctx.app.worker.upkeepOnce()).toBeNull();
    expect(await ctx.app.worker.upkeepOnce({ checkpointBytes: 1 })).toBeNull();
  });

  it.runIf(embedded)('rounds vacuum and analyze the tables that need it, most urgent first, until none does', async () => {
    const db = ctx.app.deps.db;
    await db.query('CREATE TABLE upkeep_probe (id int PRIMARY KEY, v int NOT NULL)');
    await db.query('INSERT INTO upkeep_probe SELECT g, 0 FROM generate_series(1, 400) g');
    await db.query('UPDATE upkeep_probe SET v = v + 1');
    const before = await probe();
    expect(before).toMatchObject({ dead: 400n, vacuums: 0n, analyzes: 0n, reltuples: -1 });

    const treated: string[] = [];
    for (let round = 0; round < 100; round += 1) {
      await flushStats();
      const done = await ctx.app.worker.upkeepOnce({ checkpointBytes: Number.MAX_SAFE_INTEGER });
      expect(done!.checkpoint).toBeNull();
      if (!done!.table) break;
      treated.push(done!.table.name);
      expect(done!.table.ms).toBeGreaterThanOrEqual(0);
    }
    // Each table once: a VACUUM (with ANALYZE where due) brings every counter under its threshold.
    expect(treated).toContain('upkeep_probe');
    const metrics = ctx.app.deps.metrics;
    expect(metrics.value('genrelay_embedded_vacuums_total') + metrics.value('genrelay_embedded_analyzes_total')).toBeGreaterThanOrEqual(treated.length);
    expect(metrics.value('genrelay_embedded_checkpoints_total')).toBe(0);
    expect(new Set(treated).size).toBe(treated.length);
    await flushStats();
    expect(chooseUpkeep(await tableActivity(db))).toBeNull();
    const after = await probe();
    expect(after).toMatchObject({ dead: 0n, vacuums: 1n, analyzes: 1n, reltuples: 400 });
    // The dead versions' space is free for new rows: 400 more fit without the table growing.
    const size = async () => Number((await db.query<{ bytes: bigint }>(`SELECT pg_relation_size('upkeep_probe') AS bytes`)).rows[0]!.bytes);
    const pages = await size();
    await db.query('UPDATE upkeep_probe SET v = v + 1');
    expect(await size()).toBe(pages);
  });

  it.runIf(embedded)('a round checkpoints once the WAL since the last checkpoint reaches the budget, and not before', async () => {
    const db = ctx.app.deps.db;
    await db.query('CREATE TABLE upkeep_wal (id int PRIMARY KEY, pad text NOT NULL)');
    await db.query(`INSERT INTO upkeep_wal SELECT g, md5(g::text) FROM generate_series(1, 2000) g`);
    const written = await walSinceCheckpoint(db);
    expect(written).toBeGreaterThan(100_000);

    const early = await ctx.app.worker.upkeepOnce({ checkpointBytes: written + 10_000_000 });
    expect(early!.checkpoint).toBeNull();
    expect(await walSinceCheckpoint(db)).toBeGreaterThanOrEqual(written);

    const due = await ctx.app.worker.upkeepOnce({ checkpointBytes: written });
    expect(due!.checkpoint!.walBytes).toBeGreaterThanOrEqual(written);
    expect(ctx.app.deps.metrics.value('genrelay_embedded_checkpoints_total')).toBe(1);
    // The new checkpoint's redo point is where the WAL stood: what a crash would replay starts there.
    expect(await walSinceCheckpoint(db)).toBeLessThan(written / 10);
  });
});
