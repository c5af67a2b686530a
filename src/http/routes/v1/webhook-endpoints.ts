import { Type, type Static } from '@sinclair/typebox';
import type { SafeFetch } from '../../../providers/shared/safe-fetch.js';
import { AppError } from '../../../lib/errors.js';
import { EVENT_TYPES, type EndpointRow, type EndpointService } from '../../../modules/webhooks/endpoints.js';
import type { App } from '../../app-type.js';
import { fingerprint, idempotencyKey } from '../../idempotency.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { IdParam } from '../../schemas.js';

/** Registered webhook endpoints (API.md §9): events for all of the customer's tasks in the key's mode. */
const Body = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    events: Type.Optional(Type.Array(Type.Union(EVENT_TYPES.map((event) => Type.Literal(event))), { maxItems: 5 })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

function view(row: EndpointRow, secret?: string | null) {
  return {
    id: row.id,
    object: 'webhook_endpoint',
    url: row.url,
    events: row.events.length > 0 ? row.events : [...EVENT_TYPES],
    description: row.description,
    status: row.status,
    mode: row.mode,
    created_at: Math.floor(row.created_at.getTime() / 1000),
    ...(secret ? { secret } : {}),
  };
}

/** What the webhook endpoint routes use: API-key auth, the URL policy (safe fetch) and the endpoint service. */
export type WebhookEndpointRouteDeps = ApiKeyAuthDeps & { safeFetch: SafeFetch; endpoints: EndpointService };

export function registerWebhookEndpointRoutes(app: App, deps: WebhookEndpointRouteDeps): void {
  const config = { face: 'v1' as const };
  const onRequest = apiKeyAuth(deps, 'keys');

  app.post('/v1/webhook-endpoints', { config, onRequest, schema: { body: Body } }, async (request, reply) => {
    const principal = principalOf(request);
    const body = request.body;
    try {
      deps.safeFetch.validateUrl(body.url, 'webhook');
    } catch (error) {
      throw new AppError('invalid_request', `url is not allowed: ${(error as Error).message}`, { param: 'url' });
    }
    const key = idempotencyKey(request, false);
    const created = await deps.endpoints.create({
      customerId: principal.customerId,
      mode: principal.mode,
      url: body.url,
      events: [...new Set(body.events ?? [])],
      description: body.description ?? null,
      idempotencyKey: key,
      fingerprint: key ? fingerprint('POST', '/v1/webhook-endpoints', body) : null,
    });
    if (created.replay) return reply.status(200).header('Idempotent-Replayed', 'true').send(view(created.row));
    return reply.status(201).header('Location', `/v1/webhook-endpoints/${created.row.id}`).send(view(created.row, created.secret));
  });

  app.get('/v1/webhook-endpoints', { config, onRequest }, async (request) => {
    const principal = principalOf(request);
    return { object: 'list', data: (await deps.endpoints.list(principal.customerId, principal.mode)).map((row) => view(row)) };
  });

  app.get<{ Params: Static<typeof IdParam> }>('/v1/webhook-endpoints/:id', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const principal = principalOf(request);
    return view(await deps.endpoints.get(request.params.id, principal.customerId, principal.mode));
  });

  app.delete<{ Params: Static<typeof IdParam> }>('/v1/webhook-endpoints/:id', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const principal = principalOf(request);
    await deps.endpoints.delete(request.params.id, principal.customerId, principal.mode);
    return { id: request.params.id, object: 'webhook_endpoint', deleted: true };
  });

  app.post<{ Params: Static<typeof IdParam> }>('/v1/webhook-endpoints/:id/rotate-secret', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const principal = principalOf(request);
    const secret = await deps.endpoints.rotateSecret(request.params.id, principal.customerId, principal.mode);
    return { id: request.params.id, object: 'webhook_endpoint', secret };
  });
}
