import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './pool.js';

/**
 * Plain numbered `.sql` migrations, identical on PGlite and PostgreSQL (D1). Each file runs in its own
 * transaction under an advisory lock, so several instances starting together apply each migration once.
 */
const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
const LOCK_ID = 7_341_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export function loadMigrations(directory = MIGRATIONS_DIR): Migration[] {
  return readdirSync(directory)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(directory, file), 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

/**
 * Checksums a released migration had before a comment-only edit (issue 9: a comment pointed outside the repository).
 * An install that applied the earlier text is moved to the current checksum; any other difference is still refused.
 */
const EARLIER_CHECKSUMS: Record<number, readonly string[]> = {
  1: ['7036c425ae69ec21ceb3d7e16938ac6033e407ea0f13938981779b64462896de'],
};

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;

export async function migrate(db: Db, migrations = loadMigrations()): Promise<number[]> {
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
      await tx.query(CREATE_TABLE);
      const existing = await tx.query<{ checksum: string }>(
        'SELECT checksum FROM schema_migrations WHERE version = $1',
        [migration.version],
      );
      if (existing.rows[0]) {
        const stored = existing.rows[0].checksum;
        if (stored === migration.checksum) return false;
        if (EARLIER_CHECKSUMS[migration.version]?.includes(stored)) {
          await tx.query('UPDATE schema_migrations SET checksum = $2 WHERE version = $1', [migration.version, migration.checksum]);
          return false;
        }
        throw new Error(`migration ${migration.version}_${migration.name} was changed after it was applied`);
      }
      await tx.query(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}

/** True when every known migration is applied (used by /readyz). */
export async function migrationsApplied(db: Db, migrations = loadMigrations()): Promise<boolean> {
  const exists = await db.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  );
  if (!exists.rows[0]?.present) return false;
  const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  const versions = new Set(rows.rows.map((row) => row.version));
  return migrations.every((migration) => versions.has(migration.version));
}
