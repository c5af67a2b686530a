import { Type, type Static } from '@sinclair/typebox';
import { AppError } from '../../../lib/errors.js';
import type { PaymentExceptionRow } from '../../../modules/payments/types.js';
import { TOPUP_STATUSES } from '../../../modules/payments/types.js';
import { resolvePaymentException, type PaymentExceptionDeps } from '../../../workflows/payment-exceptions.js';
import { operatorTopupView } from '../../../workflows/topups.js';
import type { App } from '../../app-type.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { IdParam, Pagination, Strict, pageLimit, parseTimestamp } from '../../schemas.js';
import { TopupMethodSchema, topupCursor } from '../v1/billing.js';

/**
 * Operator API for payments (issue 13, API.md §8 "Top-ups"): every customer's orders with filters, and the two
 * queues of payments that were not credited automatically — `quarantine` (Stripe payments that do not fit their order,
 * reversals a wallet could not cover) and `unmatched` (chain transfers no open order accounts for) — each resolved by
 * hand: credit a customer, or mark refunded / dismissed, audited in the same transaction.
 */
const TopupQuery = Type.Composite([
  Pagination,
  Type.Object({
    status: Type.Optional(Type.Union(TOPUP_STATUSES.map((status) => Type.Literal(status)))),
    method: Type.Optional(TopupMethodSchema),
    customer_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    from: Type.Optional(Type.String({ maxLength: 64 })),
    to: Type.Optional(Type.String({ maxLength: 64 })),
  }),
], Strict);
const ExceptionQuery = Type.Composite([
  Pagination,
  Type.Object({
    queue: Type.Optional(Type.Union([Type.Literal('quarantine'), Type.Literal('unmatched')])),
    status: Type.Optional(Type.Union(['open', 'credited', 'refunded', 'dismissed'].map((status) => Type.Literal(status)))),
  }),
], Strict);
const ResolveBody = Type.Object(
  {
    action: Type.Union([Type.Literal('credit'), Type.Literal('refunded'), Type.Literal('dismissed')]),
    customer_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    credits: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    note: Type.String({ minLength: 1, maxLength: 500 }),
  },
  Strict,
);

function exceptionView(row: PaymentExceptionRow) {
  return {
    id: row.id,
    object: 'payment_exception',
    queue: row.queue,
    kind: row.kind,
    method: row.method,
    status: row.status,
    order_id: row.order_id,
    customer_id: row.customer_id,
    reference: { type: row.ref_type, id: row.ref_id },
    amount: row.amount === null ? null : Number(row.amount),
    currency: row.currency,
    details: row.details,
    resolution: row.resolution,
    resolved_by: row.resolved_by,
    resolved_at: row.resolved_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}

function exceptionCursor(after: string | undefined): string | undefined {
  if (after !== undefined && !/^pex_[0-9A-Za-z]{22}$/.test(after)) throw new AppError('invalid_request', 'after must be a payment exception id (pex_…)', { param: 'after' });
  return after;
}

export type TopupAdminRouteDeps = PaymentExceptionDeps & OperatorAuthDeps & ClientIpDeps;

export function registerTopupAdminRoutes(app: App, deps: TopupAdminRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = operatorAuth(deps);

  app.get<{ Querystring: Static<typeof TopupQuery> }>('/api/admin/topups', { config, onRequest, schema: { querystring: TopupQuery, summary: 'Every customer\'s top-up orders, newest first' } }, async (request) => {
    const query = request.query;
    const limit = pageLimit(query);
    const rows = await deps.topups.list({
      customerId: query.customer_id, status: query.status, method: query.method,
      from: query.from === undefined ? undefined : parseTimestamp(query.from, 'from'),
      to: query.to === undefined ? undefined : parseTimestamp(query.to, 'to'),
      before: topupCursor(query.after), limit: limit + 1,
    });
    return { object: 'list', data: rows.slice(0, limit).map(operatorTopupView), has_more: rows.length > limit };
  });

  app.get<{ Params: Static<typeof IdParam> }>('/api/admin/topups/:id', { config, onRequest, schema: { params: IdParam, summary: 'One top-up order' } }, async (request) =>
    operatorTopupView(await deps.topups.get(request.params.id, null)));

  app.get<{ Querystring: Static<typeof ExceptionQuery> }>('/api/admin/payment-exceptions', { config, onRequest, schema: { querystring: ExceptionQuery, summary: 'Payments waiting for the operator (quarantine, unmatched)' } }, async (request) => {
    const limit = pageLimit(request.query);
    const rows = await deps.paymentExceptions.list({ queue: request.query.queue, status: request.query.status as PaymentExceptionRow['status'] | undefined, before: exceptionCursor(request.query.after), limit: limit + 1 });
    return { object: 'list', data: rows.slice(0, limit).map(exceptionView), has_more: rows.length > limit };
  });

  app.get<{ Params: Static<typeof IdParam> }>('/api/admin/payment-exceptions/:id', { config, onRequest, schema: { params: IdParam, summary: 'One payment exception' } }, async (request) =>
    exceptionView(await deps.paymentExceptions.get(request.params.id)));

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof ResolveBody> }>(
    '/api/admin/payment-exceptions/:id/resolve',
    { config, onRequest, schema: { params: IdParam, body: ResolveBody, summary: 'Resolve a payment exception: credit a customer, or mark it refunded or dismissed (audited)' } },
    async (request) => {
      const body = request.body;
      if (body.action !== 'credit' && (body.customer_id !== undefined || body.credits !== undefined)) {
        throw new AppError('invalid_request', 'customer_id and credits go with action credit only', { param: body.customer_id !== undefined ? 'customer_id' : 'credits' });
      }
      const result = await resolvePaymentException(
        deps,
        request.params.id,
        body.action === 'credit' ? { action: 'credit', customerId: body.customer_id, credits: body.credits, note: body.note } : { action: body.action, note: body.note },
        auditContext(deps, request, operatorActor(request)),
      );
      return { ...exceptionView(result.exception), order: result.order ? operatorTopupView(result.order) : null };
    },
  );
}
