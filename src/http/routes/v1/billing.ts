import { Type, type Static } from '@sinclair/typebox';
import { AppError } from '../../../lib/errors.js';
import { TOPUP_METHODS, TOPUP_STATUSES } from '../../../modules/payments/types.js';
import { createTopup, topupOptions, topupView, type TopupDeps } from '../../../workflows/topups.js';
import type { App } from '../../app-type.js';
import { idempotencyKey } from '../../idempotency.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { IdParam, Pagination, Strict, pageLimit } from '../../schemas.js';

/**
 * Top-ups with an API key (issue 13, API.md §"Billing"): `POST /v1/billing/topups {method, amount}` creates an order
 * (amount in minor units of the price currency; credits fixed now), `GET /v1/billing/topups` lists the customer's
 * orders, `GET /v1/billing/topups/:id` shows one (its status moves by itself: the Stripe webhook and the chain
 * watchers), `GET /v1/billing/topup-options` tells which methods, limits and bonus tiers apply. Top-ups fund the
 * live wallet only, so they are live-key objects: a test key creates none and sees none (404, like any other mode's
 * object). A key needs the `keys` scope (account management).
 */
export const TopupMethodSchema = Type.Union(TOPUP_METHODS.map((method) => Type.Literal(method)));
const ReturnUrl = Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' });
export const CreateTopupBody = Type.Object(
  {
    method: TopupMethodSchema,
    amount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    success_url: Type.Optional(ReturnUrl),
    cancel_url: Type.Optional(ReturnUrl),
  },
  Strict,
);
export const TopupListQuery = Type.Composite([
  Pagination,
  Type.Object({ status: Type.Optional(Type.Union(TOPUP_STATUSES.map((status) => Type.Literal(status)))) }),
], Strict);

/** `after` is a top-up id (`top_…`): orders created before it. */
export function topupCursor(after: string | undefined): string | undefined {
  if (after !== undefined && !/^top_[0-9A-Za-z]{22}$/.test(after)) {
    throw new AppError('invalid_request', 'after must be a top-up id (top_…)', { param: 'after' });
  }
  return after;
}

export type BillingRouteDeps = ApiKeyAuthDeps & TopupDeps;

export function registerBillingRoutes(app: App, deps: BillingRouteDeps): void {
  const config = { face: 'v1' as const };
  const onRequest = apiKeyAuth(deps, 'keys');

  app.get('/v1/billing/topup-options', { config, onRequest, schema: { summary: 'Top-up methods, limits and bonus tiers' } }, async () => ({
    object: 'topup_options',
    ...(await topupOptions(deps)),
  }));

  app.post<{ Body: Static<typeof CreateTopupBody> }>(
    '/v1/billing/topups',
    { config, onRequest, schema: { body: CreateTopupBody, summary: 'Create a top-up order (Stripe Checkout or USDT)' } },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.mode !== 'live') {
        throw new AppError('invalid_request', 'Top-ups fund the live wallet: create them with a live key (test wallets are funded by sign-up credits and grants)');
      }
      const body = request.body;
      const { order, replay } = await createTopup(deps, {
        customerId: principal.customerId,
        createdBy: principal.keyId,
        method: body.method,
        amount: BigInt(body.amount),
        idempotencyKey: idempotencyKey(request, false),
        successUrl: body.success_url,
        cancelUrl: body.cancel_url,
      });
      if (replay) return reply.status(200).header('Idempotent-Replayed', 'true').send(topupView(order));
      return reply.status(201).header('Location', `/v1/billing/topups/${order.id}`).send(topupView(order));
    },
  );

  app.get<{ Querystring: Static<typeof TopupListQuery> }>(
    '/v1/billing/topups',
    { config, onRequest, schema: { querystring: TopupListQuery, summary: 'The customer\'s top-up orders, newest first' } },
    async (request) => {
      const principal = principalOf(request);
      const limit = pageLimit(request.query);
      const before = topupCursor(request.query.after);
      if (principal.mode !== 'live') return { object: 'list', data: [], has_more: false };
      const rows = await deps.topups.list({ customerId: principal.customerId, status: request.query.status, before, limit: limit + 1 });
      return { object: 'list', data: rows.slice(0, limit).map(topupView), has_more: rows.length > limit };
    },
  );

  app.get<{ Params: Static<typeof IdParam> }>(
    '/v1/billing/topups/:id',
    { config, onRequest, schema: { params: IdParam, summary: 'One top-up order' } },
    async (request) => {
      const principal = principalOf(request);
      if (principal.mode !== 'live') throw new AppError('not_found', 'No such top-up order');
      return topupView(await deps.topups.get(request.params.id, principal.customerId));
    },
  );
}
