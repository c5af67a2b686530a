import { Type, type Static } from '@sinclair/typebox';
import { AppError } from '../../../lib/errors.js';
import { isoOrNull } from '../../../lib/time.js';
import type { SafeFetch } from '../../../providers/shared/safe-fetch.js';
import { EVENT_TYPES, type EndpointRow, type EndpointService } from '../../../modules/webhooks/endpoints.js';
import type { WebhookService } from '../../../modules/webhooks/service.js';
import { confirmPassword, type CustomerAuthDeps } from '../../../workflows/customer-auth.js';
import { listDeliveryViews, retryDelivery, type WebhookDeliveriesDeps } from '../../../workflows/webhook-deliveries.js';
import type { App } from '../../app-type.js';
import { customerAudit, customerClient, customerSession, customerUserOf, type CustomerSessionDeps } from '../../plugins/customer-session.js';
import { IdParam, ModeSchema, Pagination, Strict, pageLimit } from '../../schemas.js';
import { DeliveryStatus } from '../v1/webhook-deliveries.js';

/**
 * Webhooks in the customer console (API.md §13), on the same services and workflows as `/v1/webhook-endpoints`,
 * `/api/v1/webhook-secret` and `/v1/webhook-deliveries`: the signing secret of a mode (owners only, after the password
 * is entered again), the registered endpoints of both modes, and the deliveries log with its retry. An endpoint or
 * delivery id is looked up among the caller's customer's objects of either mode; anyone else's answers 404.
 */
const SecretBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }), mode: Type.Optional(ModeSchema) }, Strict);
const EndpointBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    mode: Type.Optional(ModeSchema),
    events: Type.Optional(Type.Array(Type.Union(EVENT_TYPES.map((event) => Type.Literal(event))), { maxItems: 5 })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  Strict,
);
const DeliveryQuery = Type.Composite([
  Pagination,
  Type.Object({
    mode: Type.Optional(ModeSchema),
    task_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    endpoint_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    status: Type.Optional(DeliveryStatus),
  }),
], Strict);
const MODES = ['live', 'test'] as const;

export type CustomerWebhookRouteDeps = CustomerSessionDeps & CustomerAuthDeps & WebhookDeliveriesDeps & {
  safeFetch: SafeFetch; endpoints: EndpointService; webhooks: WebhookService;
};

function endpointView(row: EndpointRow, secret?: string | null) {
  return {
    id: row.id, url: row.url, events: row.events.length > 0 ? row.events : [...EVENT_TYPES], description: row.description, status: row.status,
    mode: row.mode, created_at: isoOrNull(row.created_at), ...(secret ? { secret } : {}),
  };
}

/** Runs `action` with the mode the caller's object has (live, then test); the last 404 when it is in neither. */
async function inEitherMode<T>(action: (mode: 'live' | 'test') => Promise<T>): Promise<T> {
  let missing: unknown = null;
  for (const mode of MODES) {
    try {
      return await action(mode);
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'not_found') throw error;
      missing = error;
    }
  }
  throw missing;
}

export function registerCustomerWebhookRoutes(app: App, deps: CustomerWebhookRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = customerSession(deps, { require: 'authenticated' });

  app.post<{ Body: Static<typeof SecretBody> }>('/console/api/webhooks/secret', { config, onRequest: customerSession(deps, { require: 'authenticated', role: 'owner' }), schema: { body: SecretBody } }, async (request) => {
    const user = customerUserOf(request);
    await confirmPassword(deps, user, request.body.password, customerClient(deps, request), 'password');
    const mode = request.body.mode ?? 'live';
    return { mode, secret: await deps.webhooks.secret(user.customer_id, mode) };
  });

  app.get('/console/api/webhooks/endpoints', { config, onRequest }, async (request) => {
    const user = customerUserOf(request);
    const rows = (await Promise.all(MODES.map((mode) => deps.endpoints.list(user.customer_id, mode)))).flat();
    return { data: rows.map((row) => endpointView(row)) };
  });

  app.post<{ Body: Static<typeof EndpointBody> }>('/console/api/webhooks/endpoints', { config, onRequest, schema: { body: EndpointBody } }, async (request, reply) => {
    const user = customerUserOf(request);
    const body = request.body;
    try {
      deps.safeFetch.validateUrl(body.url, 'webhook');
    } catch (error) {
      throw new AppError('invalid_request', `url is not allowed: ${(error as Error).message}`, { param: 'url' });
    }
    const created = await deps.endpoints.create({
      customerId: user.customer_id, mode: body.mode ?? 'live', url: body.url, events: [...new Set(body.events ?? [])],
      description: body.description ?? null, idempotencyKey: null, fingerprint: null,
    });
    return reply.status(201).send(endpointView(created.row, created.secret));
  });

  app.delete<{ Params: Static<typeof IdParam> }>('/console/api/webhooks/endpoints/:id', { config, onRequest, schema: { params: IdParam } }, async (request, reply) => {
    const user = customerUserOf(request);
    await inEitherMode(async (mode) => {
      await deps.endpoints.get(request.params.id, user.customer_id, mode);
      await deps.endpoints.delete(request.params.id, user.customer_id, mode);
    });
    return reply.status(204).send();
  });

  app.post<{ Params: Static<typeof IdParam> }>('/console/api/webhooks/endpoints/:id/rotate-secret', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const user = customerUserOf(request);
    const secret = await inEitherMode((mode) => deps.endpoints.rotateSecret(request.params.id, user.customer_id, mode));
    return { id: request.params.id, secret };
  });

  app.get<{ Querystring: Static<typeof DeliveryQuery> }>('/console/api/webhooks/deliveries', { config, onRequest, schema: { querystring: DeliveryQuery } }, async (request) => {
    const user = customerUserOf(request);
    const query = request.query;
    const page = await listDeliveryViews(deps, {
      customerId: user.customer_id,
      mode: query.mode ?? 'live',
      ...(query.task_id ? { taskId: query.task_id } : {}),
      ...(query.endpoint_id ? { endpointId: query.endpoint_id } : {}),
      ...(query.status ? { status: query.status } : {}),
      limit: pageLimit(query),
      after: query.after ?? null,
    });
    return { data: page.data, has_more: page.has_more };
  });

  app.post<{ Params: Static<typeof IdParam> }>('/console/api/webhooks/deliveries/:id/retry', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const user = customerUserOf(request);
    const audit = customerAudit(deps, request);
    return inEitherMode((mode) => retryDelivery(deps, request.params.id, { customerId: user.customer_id, mode }, audit));
  });
}
