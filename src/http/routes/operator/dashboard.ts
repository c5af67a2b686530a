import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../../app-type.js';
import { operatorDashboard, type DashboardDeps } from '../../../workflows/dashboard.js';
import { operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { Strict } from '../../schemas.js';

/**
 * `GET /api/admin/dashboard?window=24h|7d|30d` (API.md §8 "Dashboard"): live traffic in hourly (24h) or daily
 * buckets, by model and in total, with charged credits, upstream cost and margin; open tasks; channel health; and
 * the accounts that need attention.
 */
const Query = Type.Object({ window: Type.Optional(Type.Union([Type.Literal('24h'), Type.Literal('7d'), Type.Literal('30d')])) }, Strict);

/** What the dashboard route uses: operator auth and the dashboard workflow (database, clock). */
export type DashboardRouteDeps = OperatorAuthDeps & DashboardDeps;

export function registerDashboardRoutes(app: App, deps: DashboardRouteDeps): void {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/admin/dashboard',
    { config: { face: 'operator' }, onRequest: operatorAuth(deps), schema: { querystring: Query, summary: 'Operator dashboard: traffic, revenue, cost, open tasks, channel health' } },
    async (request) => operatorDashboard(deps, request.query.window ?? '24h'),
  );
}
