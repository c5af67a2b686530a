import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import { noteCommit, noteStatement } from './commit-tracker.js';
import { createEmbeddedInChild } from './pglite-create.js';
import { PgliteStatements } from './pglite-statements.mjs';
import { openThreadedEmbedded } from './pglite-thread-client.js';
import { once, toQueryResult } from './handle-parts.js';
import { takeEarlyPgliteModule } from './pglite-early.js';

/**
 * The one database handle (SEMANTICS D1–D3). Embedded mode is one PGlite instance (one session, every query and
 * transaction serialised on it), shared by everything in the process; DATABASE_URL switches to a normal PostgreSQL pool. The rest of
 * the code sees only `Db` and never knows which engine runs.
 */
export type Engine = 'pglite' | 'postgres';

export interface Queryable {
  query<Row extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<Row>>;
}

export interface Db extends Queryable {
  readonly engine: Engine;
  /**
   * Every statement runs on this thread and blocks it (the embedded engine in the server's thread): nothing arrives
   * while one runs, so group commit gathers a group from what two turns of the event loop read (group-commit.ts).
   */
  readonly blocksThread?: boolean;
  /** Runs `work` in one READ COMMITTED transaction; retried up to 3 times on deadlock/serialization (D6). */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** A dedicated connection for LISTEN (PostgreSQL only; embedded mode is one process and needs none, D2). */
  listenClient(): Promise<pg.Client | null>;
  close(): Promise<void>;
}

export interface DbOptions {
  databaseUrl: string | null;
  dataDir: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
  /** Tests start embedded databases from a migrated dump instead of running initdb each time. */
  pgliteDump?: Blob;
  /** Embedded engine: PGlite on a worker thread of its own (EMBEDDED_DB_THREAD, pglite-thread-client.ts). */
  thread?: boolean;
}

// int8 comes back as BigInt on both engines (D7); everything else keeps node-postgres' parsers.
function bigintTypes(postgres: typeof pg) {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === 20) return (value: string) => BigInt(value);
      return postgres.types.getTypeParser(oid, format);
    },
  };
}

const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Hot statements PostgreSQL parses once per connection instead of on every call (issue 14: the parse was a tenth of a
 * millisecond of server time on each billing statement). A module declares one with `prepared(name, text)` and passes
 * the returned text to `query` as usual; the pool recognises it. Only fixed texts belong here: each name is one
 * prepared statement on every pooled connection. The embedded engine has one session and no use for it.
 */
const PREPARED = new Map<string, string>();

export function prepared(name: string, text: string): string {
  const known = PREPARED.get(text);
  if (known !== undefined && known !== name) throw new Error(`statement already prepared as ${known}`);
  for (const [other, otherName] of PREPARED) {
    if (otherName === name && other !== text) throw new Error(`prepared statement name ${name} is taken by another text`);
  }
  PREPARED.set(text, name);
  return text;
}

/**
 * The embedded engine's start parameters: PGlite's own, with a 16 MB buffer cache instead of initdb's 128 MB (issue
 * 14). The buffers live in the process's WebAssembly memory, which never shrinks, and PostgreSQL zeroes all of its
 * shared memory when it starts (in WebAssembly, about 4 ms per MB); pages beyond them are read back through the
 * operating system's file cache. Against 128 MB this takes about 130 MB off the resident size and a third off the
 * warm start; against 32 MB, 18 MB and 60 ms, with no lower task creation rate at 10,000 tasks
 * (bench/embedded-footprint.ts).
 *
 * `max_wal_size` 64 MB and `min_wal_size` 32 MB: how much WAL a checkpoint leaves in pg_wal for reuse. Single-user
 * PostgreSQL never checkpoints for WAL volume by itself — the worker's upkeep does (db/upkeep.ts) — and at the default
 * 1 GB a stopped 100,000-task database kept 961 MiB of WAL files. `default_statistics_target` 10: ANALYZE samples
 * 3,000 rows instead of 30,000; the upkeep analyzes on the one session everything else waits for, and at 100,000
 * tasks the default sample took 0.8–1.0 s of it, this one 65 ms.
 */
const EMBEDDED_START_PARAMS = [
  ...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB', '-c', 'max_wal_size=64MB', '-c', 'min_wal_size=32MB', '-c', 'default_statistics_target=10',
];
const openedEmbedded = new WeakSet<PGlite>();

export async function openDb(options: DbOptions): Promise<Db> {
  if (options.databaseUrl) {
    // node-postgres is loaded only for PostgreSQL: the embedded default starts without it.
    const { default: postgres } = await import('pg');
    const types = bigintTypes(postgres);
    const pool = new postgres.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 20,
      types,
    } as pg.PoolConfig);
    return wrapPool('postgres', pool, async () => {
      const client = new postgres.Client({ connectionString: options.databaseUrl!, types } as pg.ClientConfig);
      await client.connect();
      return client;
    });
  }
  const startParams = EMBEDDED_START_PARAMS;
  if (options.pgliteDump) {
    if (options.thread) return openThreadedEmbedded({ dump: new Uint8Array(await options.pgliteDump.arrayBuffer()), startParams });
    const lite = await PGlite.create({ loadDataDir: options.pgliteDump, startParams });
    return embeddedDb(lite, () => lite.close());
  }
  mkdirSync(options.dataDir, { recursive: true });
  const early = takeEarlyPgliteModule();
  // A new database is created in a child process, which takes initdb's garbage with it (pglite-create.ts).
  const dataDir = `${options.dataDir}/pglite`;
  await createEmbeddedInChild(dataDir, startParams);
  const wasmModule = await early;
  // On a thread of its own (EMBEDDED_DB_THREAD, pglite-thread-client.ts), or in this one.
  if (options.thread) return openThreadedEmbedded({ dataDir, startParams, ...(wasmModule ? { wasmModule } : {}) });
  const lite = await PGlite.create(dataDir, { startParams, ...(wasmModule ? { pgliteWasmModule: wasmModule } : {}) });
  return embeddedDb(lite, () => lite.close());
}

/**
 * Wraps an existing PGlite instance; a second handle on the same instance is a startup error (D2, C39).
 * PGlite's own API is used rather than its node-postgres bridge: the bridge desynchronises its protocol stream
 * after some server errors (a trigger raising on TRUNCATE, a function raising in a simple query), which would hand
 * one statement's answer to the next. PGlite serialises every query and transaction on its one session.
 */
export function embeddedDb(lite: PGlite, closeLite: () => Promise<void> = async () => {}): Db {
  if (openedEmbedded.has(lite)) {
    throw new Error('embedded database already has its pool: a second pool on one PGlite instance is not allowed');
  }
  openedEmbedded.add(lite);
  const statements = new PgliteStatements(lite, embeddedParsers);
  const run = async <Row extends pg.QueryResultRow>(
    target: Pick<PGlite, 'exec'>,
    inTransaction: boolean,
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<Row>> => {
    if (values === undefined || values.length === 0) {
      // Simple protocol, like node-postgres without parameters: allows several statements (migrations).
      const results = await target.exec(text, { parsers: embeddedParsers });
      const last = results.at(-1);
      return toQueryResult<Row>((last?.rows ?? []) as Row[], last?.affectedRows);
    }
    const result = await statements.run(text, values, inTransaction);
    return toQueryResult(result.rows as Row[], result.affectedRows);
  };
  return {
    engine: 'pglite',
    blocksThread: true,
    async query<Row extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      const result = await run<Row>(lite, false, text, values);
      noteStatement(text);
      return result;
    },
    async transaction(work) {
      const result = await lite.transaction(async (tx) => {
        // Statements run on the session under the transaction's lock: one used after its transaction ended would
        // run outside it, so it is refused, as PGlite's own transaction object refuses it.
        let open = true;
        const query = async <Row extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
          if (!open) throw new Error('transaction is closed');
          return run<Row>(tx, true, text, values);
        };
        try {
          return await work({ query });
        } finally {
          open = false;
        }
      });
      noteCommit();
      return result;
    },
    listenClient: async () => null,
    close: once(closeLite),
  };
}

const embeddedParsers = { 20: (value: string) => BigInt(value) };

function wrapPool(engine: Engine, pool: pg.Pool, listenClient: () => Promise<pg.Client | null>): Db {
  // An idle client dropped by the server (restart, failover) is discarded by the pool; without a listener the
  // 'error' event would end the process.
  pool.on('error', () => {});
  return {
    engine,
    async query<Row extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      const name = PREPARED.get(text);
      const result = name === undefined ? await pool.query<Row>(text, values) : await pool.query<Row>({ name, text, values });
      noteStatement(text);
      return result;
    },
    async transaction(work) {
      for (let attempt = 1; ; attempt += 1) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const result = await work(client);
          await client.query('COMMIT');
          noteCommit();
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          if (attempt < 3 && RETRYABLE.has((error as { code?: string }).code ?? '')) continue;
          throw error;
        } finally {
          client.release();
        }
      }
    },
    listenClient,
    close: once(() => pool.end()),
  };
}

/** SQLSTATE of a database error, if any. */
export function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}
