import type { App } from '../../app-type.js';
import type { Deps } from '../../../deps.js';
import { migrationsApplied } from '../../../db/migrate.js';

/** `/healthz`: the process answers. `/readyz`: the database answers and every migration is applied. */
export function registerHealthRoutes(app: App, deps: Deps): void {
  app.get('/healthz', { config: { face: 'plain' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { face: 'plain' } }, async (request, reply) => {
    try {
      if (!(await migrationsApplied(deps.db))) {
        return reply.status(503).send({ status: 'unavailable', reason: 'migrations_pending' });
      }
      return { status: 'ready', database: deps.db.engine };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      return reply.status(503).send({ status: 'unavailable', reason: 'database_unreachable' });
    }
  });

  app.get('/metrics', { config: { face: 'plain' } }, async (request, reply) =>
    reply.type('text/plain; version=0.0.4').send(deps.metrics.render()),
  );
}
