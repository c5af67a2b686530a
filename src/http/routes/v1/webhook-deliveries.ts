import { Type, type Static } from '@sinclair/typebox';
import { listDeliveryViews, retryDelivery, type WebhookDeliveriesDeps } from '../../../workflows/webhook-deliveries.js';
import type { App } from '../../app-type.js';
import { apiKeyAuth, auditContext, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { IdParam, Pagination, Strict, pageLimit } from '../../schemas.js';

/**
 * The customer's webhook deliveries (API.md §9 "Deliveries"), scoped to the key's customer and mode: each with its
 * attempts (time, target host, status code, duration), and the retry of a failed or cancelled one.
 */
export const DeliveryStatus = Type.Union(['pending', 'delivered', 'failed', 'cancelled'].map((status) => Type.Literal(status as 'pending' | 'delivered' | 'failed' | 'cancelled')));
const Query = Type.Composite(
  [
    Pagination,
    Type.Object({
      task_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      endpoint_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      status: Type.Optional(DeliveryStatus),
    }),
  ],
  Strict,
);

export type DeliveryRouteDeps = WebhookDeliveriesDeps & ApiKeyAuthDeps;

export function registerWebhookDeliveryRoutes(app: App, deps: DeliveryRouteDeps): void {
  const config = { face: 'v1' as const };
  const onRequest = apiKeyAuth(deps, 'keys');

  app.get<{ Querystring: Static<typeof Query> }>('/v1/webhook-deliveries', { config, onRequest, schema: { querystring: Query } }, async (request) => {
    const principal = principalOf(request);
    const query = request.query;
    return listDeliveryViews(deps, {
      customerId: principal.customerId,
      mode: principal.mode,
      ...(query.task_id ? { taskId: query.task_id } : {}),
      ...(query.endpoint_id ? { endpointId: query.endpoint_id } : {}),
      ...(query.status ? { status: query.status } : {}),
      limit: pageLimit(query),
      after: query.after ?? null,
    });
  });

  app.post<{ Params: Static<typeof IdParam> }>('/v1/webhook-deliveries/:id/retry', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const principal = principalOf(request);
    return retryDelivery(deps, request.params.id, principal, auditContext(deps, request, `api_key:${principal.keyId}`));
  });
}
