import type { App } from '../../app-type.js';
import type { Metrics } from '../../../lib/metrics.js';
import { readiness, type ReadinessDeps } from '../../../workflows/readiness.js';

/** What the health routes use: the readiness workflow and the metrics registry. */
export type HealthRouteDeps = ReadinessDeps & { metrics: Metrics };

/** `/healthz`: the process answers. `/readyz`: the database answers and every migration is applied. */
export function registerHealthRoutes(app: App, deps: HealthRouteDeps): void {
  app.get('/healthz', { config: { face: 'plain' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { face: 'plain' } }, async (request, reply) => {
    try {
      const state = await readiness(deps);
      if (!state.ready) return reply.status(503).send({ status: 'unavailable', reason: state.reason });
      return { status: 'ready', database: state.database };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      return reply.status(503).send({ status: 'unavailable', reason: 'database_unreachable' });
    }
  });

  app.get('/metrics', { config: { face: 'plain' } }, async (request, reply) =>
    reply.type('text/plain; version=0.0.4').send(deps.metrics.render()),
  );
}
