import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { embeddedDb, openDb, type Db } from '../../src/db/pool.js';
import { loadMigrations, migrate, migrationsApplied } from '../../src/db/migrate.js';
import { adminQuery, databaseUrl } from '../harness/databases.js';

/** One set of migrations, identical on both engines (SEMANTICS D1, D2; checklist C39). */
// NOT NULL is compared through is_nullable: PostgreSQL 18 (PGlite) also lists it in pg_constraint, 15 does not.
const SCHEMA_QUERY = `
  SELECT 'column' AS kind, table_name || '.' || column_name || ':' || data_type || ':' || is_nullable AS item
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL
  SELECT 'constraint', conrelid::regclass::text || ':' || conname || ':' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype <> 'n'
  UNION ALL
  SELECT 'index', indexname || ':' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL
  SELECT 'trigger', tgrelid::regclass::text || ':' || tgname FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL
  SELECT 'function', proname || '(' || pg_get_function_arguments(oid) || ')' FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  ORDER BY 1, 2`;

async function schema(db: Db): Promise<string[]> {
  const result = await db.query<{ kind: string; item: string }>(SCHEMA_QUERY);
  return result.rows.map((row) => `${row.kind} ${row.item}`);
}

describe('migrations', () => {
  it('C39: apply on PGlite and on PostgreSQL and produce the same schema; a second run applies nothing', async () => {
    const lite = await PGlite.create();
    const embedded = embeddedDb(lite, () => lite.close());
    const name = `gr_migrate_${randomBytes(4).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const postgres = await openDb({ databaseUrl: databaseUrl(name), dataDir: '', poolSize: 2 });
    try {
      expect(await migrationsApplied(embedded)).toBe(false);
      const appliedEmbedded = await migrate(embedded);
      const appliedPostgres = await migrate(postgres);
      expect(appliedEmbedded).toEqual(appliedPostgres);
      expect(appliedEmbedded.length).toBeGreaterThan(0);
      expect(await migrate(embedded)).toEqual([]);
      expect(await migrationsApplied(postgres)).toBe(true);
      const embeddedSchema = await schema(embedded);
      expect(embeddedSchema.length).toBeGreaterThan(50);
      expect(await schema(postgres)).toEqual(embeddedSchema);
    } finally {
      await embedded.close();
      await postgres.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  it('a migration changed after it was applied is refused, except the listed comment-only edit, which is moved on', async () => {
    const lite = await PGlite.create();
    const db = embeddedDb(lite, () => lite.close());
    try {
      await migrate(db);
      const current = (await db.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE version = 1')).rows[0]!.checksum;
      // An install made before 0001's comment pointed into the repository.
      await db.query("UPDATE schema_migrations SET checksum = '7036c425ae69ec21ceb3d7e16938ac6033e407ea0f13938981779b64462896de' WHERE version = 1");
      expect(await migrate(db)).toEqual([]);
      expect((await db.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE version = 1')).rows[0]!.checksum).toBe(current);
      await db.query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2");
      await expect(migrate(db)).rejects.toThrow(/migration 2_hold_functions was changed after it was applied/);
    } finally {
      await db.close();
    }
  });

  it('an up-to-date database is checked with plain reads (no transaction, no lock); a pending migration still applies', async () => {
    const lite = await PGlite.create();
    const db = embeddedDb(lite, () => lite.close());
    const statements: string[] = [];
    let transactions = 0;
    const watched: Db = {
      ...db,
      query: (text, values) => (statements.push(text), db.query(text, values)),
      transaction: (work) => ((transactions += 1), db.transaction(work)),
    };
    try {
      const applied = await migrate(watched);
      expect(transactions).toBe(applied.length);
      statements.length = 0;
      transactions = 0;
      expect(await migrate(watched)).toEqual([]);
      expect(transactions).toBe(0);
      expect(statements).toHaveLength(2);
      expect(statements.join('\n')).not.toMatch(/advisory|INSERT|UPDATE/);
      // A release with one more migration: the database is behind, so the locked per-file path applies it.
      const next = { version: 9_999, name: 'fast_path_probe', sql: 'CREATE TABLE fast_path_probe (id int)', checksum: 'probe' };
      const withNext = [...loadMigrations(), next];
      expect(await migrationsApplied(db, withNext)).toBe(false);
      expect(await migrate(watched, withNext)).toEqual([9_999]);
      expect(transactions).toBe(withNext.length); // one locked transaction per file, as before the fast path
      expect(await migrationsApplied(db, withNext)).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('C39: a second pool on the one embedded database is a startup error', async () => {
    const lite = await PGlite.create();
    const db = embeddedDb(lite, () => lite.close());
    expect(() => embeddedDb(lite)).toThrow(/second pool/);
    await db.close();
  });
});
