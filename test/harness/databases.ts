import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { openDb, type Db } from '../../src/db/pool.js';

/** Test databases: PGlite instances loaded from a migrated dump, PostgreSQL databases cloned from a template. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  db: Db;
  url: string | null;
  drop(): Promise<void>;
}

export type TestEngine = 'pglite' | 'postgres';

export function testEngine(): TestEngine {
  return process.env.GENRELAY_TEST_ENGINE === 'postgres' ? 'postgres' : 'pglite';
}

/**
 * `thread`: the embedded engine on a thread of its own (EMBEDDED_DB_THREAD); GENRELAY_TEST_PGLITE_THREAD=1 makes it
 * the default, to run the suite on it.
 */
export async function createTestDatabase(engine: TestEngine = testEngine(), poolSize = 10, thread = process.env.GENRELAY_TEST_PGLITE_THREAD === '1'): Promise<TestDatabase> {
  if (engine === 'pglite') {
    const dumpPath = process.env.GENRELAY_TEST_PGLITE_DUMP;
    if (!dumpPath) throw new Error('global setup did not prepare the PGlite dump');
    const db = await openDb({ databaseUrl: null, dataDir: '', pgliteDump: new Blob([readFileSync(dumpPath)]), thread });
    return { db, url: null, drop: () => db.close() };
  }
  const template = process.env.GENRELAY_TEST_PG_TEMPLATE;
  if (!template) throw new Error('global setup did not prepare the PostgreSQL template');
  const name = `gr_test_${randomBytes(6).toString('hex')}`;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${template}`);
      break;
    } catch (error) {
      // Two clones of one template at the same instant collide ("being accessed by other users").
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
  const url = databaseUrl(name);
  const db = await openDb({ databaseUrl: url, dataDir: '', poolSize });
  return {
    db,
    url,
    async drop() {
      await db.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
