import type { Deps } from '../deps.js';
import { migrationsApplied } from '../db/migrate.js';
import type { Engine } from '../db/pool.js';

/** `/readyz`: the database answers and every migration is applied. A database that does not answer throws. */
export type ReadinessDeps = Pick<Deps, 'db'>;

export type Readiness = { ready: true; database: Engine } | { ready: false; reason: 'migrations_pending' };

export async function readiness(deps: ReadinessDeps): Promise<Readiness> {
  if (!(await migrationsApplied(deps.db))) return { ready: false, reason: 'migrations_pending' };
  return { ready: true, database: deps.db.engine };
}
