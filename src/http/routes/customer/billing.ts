import type { Static } from '@sinclair/typebox';
import QRCode from 'qrcode';
import type { TopupOrderRow } from '../../../modules/payments/types.js';
import { createTopup, receiptParty, topupOptions, topupView, type TopupDeps } from '../../../workflows/topups.js';
import type { App } from '../../app-type.js';
import { idempotencyKey } from '../../idempotency.js';
import { customerSession, customerUserOf, type CustomerSessionDeps } from '../../plugins/customer-session.js';
import { IdParam, pageLimit } from '../../schemas.js';
import { CreateTopupBody, TopupListQuery, topupCursor } from '../v1/billing.js';

/**
 * The customer console's top-ups (issue 13, API.md §13): the same workflow as `/v1/billing/topups`, for a signed-in
 * user of the customer (any role: paying in is not a privileged act). The console's order view adds a QR code of the
 * USDT address (an SVG data URL; the amount is shown beside it, since wallets read amounts from URIs inconsistently)
 * and, once paid, the receipt's fields.
 */
export type CustomerBillingRouteDeps = CustomerSessionDeps & TopupDeps;

async function consoleTopupView(row: TopupOrderRow, deps: CustomerBillingRouteDeps) {
  const view = topupView(row);
  const qr = view.pay_to && (row.status === 'pending' || row.status === 'confirming')
    ? await QRCode.toString(view.pay_to.address, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' })
    : null;
  const customer = row.status === 'paid' || row.status === 'refunded' ? await receiptParty(deps, row.customer_id) : null;
  return {
    ...view,
    qr_svg: qr ? `data:image/svg+xml;base64,${Buffer.from(qr).toString('base64')}` : null,
    receipt: customer
      ? { number: row.id, customer, payment_ref: row.payment_ref_id }
      : null,
  };
}

export function registerCustomerBillingRoutes(app: App, deps: CustomerBillingRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = customerSession(deps, { require: 'authenticated' });

  app.get('/console/api/billing/topup-options', { config, onRequest }, async () => topupOptions(deps));

  app.post<{ Body: Static<typeof CreateTopupBody> }>('/console/api/billing/topups', { config, onRequest, schema: { body: CreateTopupBody } }, async (request, reply) => {
    const user = customerUserOf(request);
    const body = request.body;
    const { order, replay } = await createTopup(deps, {
      customerId: user.customer_id,
      createdBy: user.id,
      method: body.method,
      amount: BigInt(body.amount),
      idempotencyKey: idempotencyKey(request, false),
      successUrl: body.success_url,
      cancelUrl: body.cancel_url,
      customerEmail: user.email,
    });
    return reply.status(replay ? 200 : 201).send(await consoleTopupView(order, deps));
  });

  app.get<{ Querystring: Static<typeof TopupListQuery> }>('/console/api/billing/topups', { config, onRequest, schema: { querystring: TopupListQuery } }, async (request) => {
    const user = customerUserOf(request);
    const limit = pageLimit(request.query);
    const rows = await deps.topups.list({ customerId: user.customer_id, status: request.query.status, before: topupCursor(request.query.after), limit: limit + 1 });
    return { data: rows.slice(0, limit).map(topupView), has_more: rows.length > limit };
  });

  app.get<{ Params: Static<typeof IdParam> }>('/console/api/billing/topups/:id', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const user = customerUserOf(request);
    return consoleTopupView(await deps.topups.get(request.params.id, user.customer_id), deps);
  });
}
