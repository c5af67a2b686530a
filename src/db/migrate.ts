import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../lib/package-root.js';
import type { Db } from './pool.js';

/**
 * Plain numbered `.sql` migrations, identical on PGlite and PostgreSQL (D1). Each file runs in its own
 * transaction under an advisory lock, so several instances starting together apply each migration once.
 */
const LOCK_ID = 7_341_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export function loadMigrations(directory = join(packageRoot(), 'src', 'db', 'migrations')): Migration[] {
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

/** The package's migrations, read once per process (the files do not change under a running process). */
let known: Migration[] | undefined;
function knownMigrations(): Migration[] {
  known ??= loadMigrations();
  return known;
}

export async function migrate(db: Db, migrations = knownMigrations()): Promise<number[]> {
  // Every start runs this: when each migration is recorded with its current checksum, one read answers (no lock, no
  // transaction per migration). Anything else (a new database, a pending or an edited migration) takes the path below.
  if (await allRecorded(db, migrations)) return [];
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

/** The applied versions and their checksums; null before the first migration created the table. */
async function recorded(db: Db): Promise<Map<number, string> | null> {
  const exists = await db.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  );
  if (!exists.rows[0]?.present) return null;
  const rows = await db.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migrations');
  return new Map(rows.rows.map((row) => [row.version, row.checksum]));
}

async function allRecorded(db: Db, migrations: Migration[]): Promise<boolean> {
  const versions = await recorded(db);
  return versions !== null && migrations.every((migration) => versions.get(migration.version) === migration.checksum);
}

/** True when every known migration is applied (used by /readyz). */
export async function migrationsApplied(db: Db, migrations = knownMigrations()): Promise<boolean> {
  const versions = await recorded(db);
  return versions !== null && migrations.every((migration) => versions.has(migration.version));
}
