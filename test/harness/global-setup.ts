import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { embeddedDb, openDb } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrate.js';
import { adminQuery, databaseUrl } from './databases.js';

/**
 * Runs once per `vitest run`: migrates one PGlite instance and dumps it (each test file loads the dump instead of
 * paying initdb), and one PostgreSQL template database (each test file clones it).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const directory = mkdtempSync(join(tmpdir(), 'genrelay-test-'));
  const lite = await PGlite.create();
  const embedded = embeddedDb(lite, () => lite.close());
  await migrate(embedded);
  const dump = await lite.dumpDataDir('none');
  const dumpPath = join(directory, 'pglite.tar');
  writeFileSync(dumpPath, Buffer.from(await dump.arrayBuffer()));
  await embedded.close();
  process.env.GENRELAY_TEST_PGLITE_DUMP = dumpPath;

  const template = `gr_template_${process.pid}`;
  await adminQuery(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${template}`);
  const db = await openDb({ databaseUrl: databaseUrl(template), dataDir: '', poolSize: 1 });
  await migrate(db);
  await db.close();
  process.env.GENRELAY_TEST_PG_TEMPLATE = template;

  return async () => {
    await adminQuery(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => {});
    rmSync(directory, { recursive: true, force: true });
  };
}
