import { Type, type Static } from '@sinclair/typebox';
import { listDeliveryViews, type WebhookDeliveriesDeps } from '../../../workflows/webhook-deliveries.js';
import type { App } from '../../app-type.js';
import { operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { ModeSchema, Pagination, Strict, pageLimit } from '../../schemas.js';
import { DeliveryStatus } from '../v1/webhook-deliveries.js';

/** `GET /api/admin/webhook-deliveries`: every customer's deliveries with their attempts (API.md §8), newest first. */
const Query = Type.Composite(
  [
    Pagination,
    Type.Object({
      customer: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      mode: Type.Optional(ModeSchema),
      task_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      endpoint_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      status: Type.Optional(DeliveryStatus),
    }),
  ],
  Strict,
);

export type OperatorDeliveryRouteDeps = Pick<WebhookDeliveriesDeps, 'db'> & OperatorAuthDeps;

export function registerOperatorDeliveryRoutes(app: App, deps: OperatorDeliveryRouteDeps): void {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/admin/webhook-deliveries',
    { config: { face: 'operator' }, onRequest: operatorAuth(deps), schema: { querystring: Query } },
    async (request) => {
      const query = request.query;
      return listDeliveryViews(deps, {
        ...(query.customer ? { customerId: query.customer } : {}),
        ...(query.mode ? { mode: query.mode } : {}),
        ...(query.task_id ? { taskId: query.task_id } : {}),
        ...(query.endpoint_id ? { endpointId: query.endpoint_id } : {}),
        ...(query.status ? { status: query.status } : {}),
        limit: pageLimit(query),
        after: query.after ?? null,
      }, true);
    },
  );
}
