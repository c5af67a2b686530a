import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { DATABASE_THREAD, openThreadedEmbedded } from '../../src/db/pglite-thread-client.js';
import { openDb, type Db } from '../../src/db/pool.js';

/**
 * The embedded engine on a thread of its own (EMBEDDED_DB_THREAD, src/db/pglite-thread-client.ts and
 * pglite-thread.mjs): what crosses between the threads must arrive as the in-thread engine gives it — values of every
 * type the code uses, errors with their SQLSTATE and PostgreSQL's fields — and the thread's life (start, failure,
 * close) must never leave a caller waiting. The statement and transaction semantics both engines share are tested in
 * pglite-statements.test.ts, the races in test/concurrency/wallet-races.test.ts.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The migrated database global setup dumped (loading it is faster than an initdb per test). */
function dump(): Uint8Array {
  const path = process.env.GENRELAY_TEST_PGLITE_DUMP;
  if (!path) throw new Error('global setup did not prepare the PGlite dump');
  return new Uint8Array(readFileSync(path));
}

describe('the embedded engine on its own thread', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openThreadedEmbedded({ dump: dump(), startParams: PGlite.defaultStartParams });
    await db.query(`CREATE TABLE kinds (id int8 PRIMARY KEY, at timestamptz, doc jsonb, tags text[], bytes bytea, flag boolean, note text)`);
    await db.query(`CREATE FUNCTION refuse() RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'not enough' USING ERRCODE = 'GR402'; END $$`);
  });
  afterAll(async () => {
    await db.close();
  });

  it('passes values of every type the code uses both ways, int8 as BigInt', async () => {
    const at = new Date('2026-12-05T08:00:00.123Z');
    const bytes = new Uint8Array([0, 1, 254, 255]);
    await db.query('INSERT INTO kinds (id, at, doc, tags, bytes, flag, note) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [9_007_199_254_740_993n, at, JSON.stringify({ a: [1, 'two'], b: null }), ['x', 'y, z'], bytes, true, null]);
    const { rows } = await db.query('SELECT * FROM kinds WHERE id = $1', [9_007_199_254_740_993n]);
    expect(rows[0]).toEqual({ id: 9_007_199_254_740_993n, at, doc: { a: [1, 'two'], b: null }, tags: ['x', 'y, z'], bytes, flag: true, note: null });
    expect((await db.query('UPDATE kinds SET note = $1 WHERE id = $2', ['seen', 9_007_199_254_740_993n])).rowCount).toBe(1);
    // Several statements without parameters: the last one's rows.
    expect((await db.query('SELECT 1 AS one; SELECT 2::int8 AS two')).rows).toEqual([{ two: 2n }]);
  });

  it('keeps an error\'s SQLSTATE and PostgreSQL\'s fields', async () => {
    await db.query('INSERT INTO kinds (id) VALUES ($1)', [1n]);
    const duplicate = await db.query('INSERT INTO kinds (id) VALUES ($1)', [1n]).catch((error: unknown) => error);
    expect(duplicate).toBeInstanceOf(Error);
    expect(duplicate).toMatchObject({ code: '23505', constraint: 'kinds_pkey', table: 'kinds', message: expect.stringMatching(/duplicate key/) });
    await expect(db.query('SELECT refuse()')).rejects.toMatchObject({ code: 'GR402', message: 'not enough' });
    await expect(db.query('SELECT refuse() WHERE $1', [true])).rejects.toMatchObject({ code: 'GR402' });
    await expect(db.query('SELEC 1')).rejects.toMatchObject({ code: '42601' });
  });

  it('rolls back when the work throws and rethrows the very error', async () => {
    const thrown = new Error('work failed');
    await expect(db.transaction(async (tx) => {
      await tx.query('INSERT INTO kinds (id) VALUES ($1)', [2n]);
      throw thrown;
    })).rejects.toBe(thrown);
    expect((await db.query('SELECT count(*)::int AS n FROM kinds WHERE id = $1', [2n])).rows).toEqual([{ n: 0 }]);
    const answered = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO kinds (id) VALUES ($1)', [2n]);
      return (await tx.query('SELECT count(*)::int AS n FROM kinds WHERE id = $1', [2n])).rows[0];
    });
    expect(answered).toEqual({ n: 1 });
  });

  it('a failed COMMIT reaches the caller', async () => {
    await db.query('CREATE TABLE deferred (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED)');
    await expect(db.transaction(async (tx) => {
      await tx.query('INSERT INTO deferred (id) VALUES ($1)', [1]);
      await tx.query('INSERT INTO deferred (id) VALUES ($1)', [1]);
    })).rejects.toMatchObject({ code: '23505' });
    expect((await db.query('SELECT count(*)::int AS n FROM deferred')).rows).toEqual([{ n: 0 }]);
  });
});

describe('the database thread\'s life', () => {
  it('opens a dump through openDb, as the tests do', async () => {
    const db = await openDb({ databaseUrl: null, dataDir: '', pgliteDump: new Blob([dump()]), thread: true });
    try {
      expect(db.engine).toBe('pglite');
      expect(db.blocksThread).toBe(false);
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0]!.n).toBeGreaterThan(20);
    } finally {
      await db.close();
    }
  });

  it('opens a data directory, which keeps what was committed when opened again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-thread-'));
    const first = await openDb({ databaseUrl: null, dataDir, thread: true });
    await first.query('CREATE TABLE kept (v text)');
    await first.query('INSERT INTO kept (v) VALUES ($1)', ['committed']);
    await first.close();
    const again = await openDb({ databaseUrl: null, dataDir, thread: true });
    try {
      expect((await again.query('SELECT v FROM kept')).rows).toEqual([{ v: 'committed' }]);
    } finally {
      await again.close();
    }
  });

  it('a thread that cannot open its database fails the open instead of hanging', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'genrelay-thread-')), 'not-a-directory');
    writeFileSync(file, 'x');
    await expect(openThreadedEmbedded({ dataDir: file, startParams: PGlite.defaultStartParams })).rejects.toBeInstanceOf(Error);
  });

  it('a thread that dies under an open database fails what waits and what comes, and reports the loss once', async () => {
    const losses: Error[] = [];
    const db = await openThreadedEmbedded({ dump: dump(), startParams: PGlite.defaultStartParams, onLost: (error) => losses.push(error) });
    const thread = (db as unknown as Record<symbol, Worker>)[DATABASE_THREAD]!;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const waiting = db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await gate;
      await tx.query('SELECT 2');
    });
    await thread.terminate();
    release();
    await expect(waiting).rejects.toThrow(/database thread exited/);
    await expect(db.query('SELECT 1')).rejects.toThrow(/database thread exited/);
    expect(losses).toHaveLength(1);
    await db.close();
    expect(losses).toHaveLength(1);
  });

  it('after close, a statement is refused at once; closing twice is harmless', async () => {
    const db = await openThreadedEmbedded({ dump: dump(), startParams: PGlite.defaultStartParams });
    expect((await db.query('SELECT 1::int AS one')).rows).toEqual([{ one: 1 }]);
    await db.close();
    await db.close();
    await expect(db.query('SELECT 1')).rejects.toThrow(/database thread/);
  });

  it('by default a lost thread ends the process, so a supervisor restarts it', () => {
    const client = pathToFileURL(join(ROOT, 'src', 'db', 'pglite-thread-client.ts')).href;
    const script = join(mkdtempSync(join(tmpdir(), 'genrelay-thread-')), 'lose.mts');
    writeFileSync(script, `
      import { DATABASE_THREAD, openThreadedEmbedded } from ${JSON.stringify(client)};
      const db = await openThreadedEmbedded({ startParams: ${JSON.stringify(PGlite.defaultStartParams)} });
      setInterval(() => {}, 1000);
      await db[DATABASE_THREAD].terminate();`);
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(child.status).toBe(1);
    expect(child.stderr).toMatch(/the database thread exited/);
  });
});
