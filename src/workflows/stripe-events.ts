import type { Deps } from '../deps.js';
import type { Queryable } from '../db/pool.js';
import { AppError } from '../lib/errors.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import { deleteCustomerSessions } from '../modules/customer-auth/users.js';
import { sessionView, storableRef, storableText, type CheckoutSessionView } from '../modules/payments/stripe-gateway.js';
import { REF_TYPES, type TopupOrderRow } from '../modules/payments/types.js';

/**
 * Stripe events (issue 13, SEMANTICS P4–P6, P10). `receiveStripeEvent` verifies `Stripe-Signature` over the raw body
 * with the official SDK at the injected clock (tolerance 300 s; a failure stores nothing), then in ONE transaction
 * stores the event id (`stripe_events`, ON CONFLICT DO NOTHING: a duplicate delivery does nothing) and acts on it:
 *
 * - `checkout.session.completed` credits when `payment_status` is `paid` or `no_payment_required`; `unpaid` (an
 *   asynchronous method still clearing) moves the order to `confirming` and credits nothing;
 *   `checkout.session.async_payment_succeeded` credits; `…async_payment_failed` → order `failed`;
 *   `checkout.session.expired` → order `expired` (if still pending).
 * - Before crediting, the order named by `client_reference_id` must be the order holding this session id, and the
 *   session's `amount_total` and `currency` must equal the order's. Anything else is quarantined for the operator
 *   (never credited) and answered 200. Credits go through gr_credit_topup with the session id as reference, so the
 *   two events of one session, the reconciliation job and concurrent deliveries credit once between them.
 * - `charge.refunded` (cumulative `amount_refunded`) takes back credits in proportion; `charge.dispute.created` takes
 *   back the disputed amount's credits, `charge.dispute.closed` won gives back what the dispute took. A reversal the
 *   wallet cannot cover in full suspends the customer (same transaction) and files a `reversal_shortfall` exception;
 *   a won dispute lifts the suspension its own shortfall caused, unless another reversal or an operator holds it.
 * - Anything else is stored and ignored.
 *
 * The route answers 2xx only after the commit; any failure rolls everything back (the event id included) and answers
 * 500, so Stripe retries and the retry acts once.
 */
export type StripeEventDeps = Pick<Deps,
  'db' | 'clock' | 'logger' | 'metrics' | 'topups' | 'paymentExceptions' | 'stripe' | 'customers' | 'keyCache' | 'invalidation'>;

export const STRIPE_SIGNATURE_TOLERANCE_SECONDS = 300;
const STRIPE_ACTOR: AuditContext = { actor: 'system:stripe', ip: null, userAgent: null };
const PAID = new Set(['paid', 'no_payment_required']);
/** Ledger / exception reference types of reversals (the top-up itself is REF_TYPES.stripe, the session id). */
export const REVERSAL_REFS = { refund: 'stripe_refund', dispute: 'stripe_dispute', disputeWon: 'stripe_dispute_won' } as const;

export interface Applied {
  /** What became of the event: credited, duplicate, quarantined, awaiting_payment, failed, expired, reversed, ignored, … */
  outcome: string;
  orderId: string | null;
}

export interface StripeEventResult extends Applied {
  eventId: string;
  type: string;
  duplicate: boolean;
}

/** What to do once the transaction has committed (logs, key-cache evictions): never inside a retried transaction. */
export interface Effects {
  logs: Array<{ level: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; message: string }>;
  /** Customers whose status the transaction changed (suspended, or reactivated by a won dispute). */
  statusChanged: string[];
}

export function newEffects(): Effects {
  return { logs: [], statusChanged: [] };
}

export async function flushEffects(deps: Pick<Deps, 'logger' | 'keyCache' | 'invalidation'>, effects: Effects): Promise<void> {
  for (const line of effects.logs) deps.logger[line.level](line.fields, line.message);
  for (const customerId of effects.statusChanged) {
    deps.keyCache.evictCustomer(customerId);
    // Committed already: a failed broadcast must not turn the answer into a 500 (other processes' caches expire).
    await deps.invalidation.publish({ kind: 'customer', customerId }).catch((error: unknown) => {
      deps.logger.warn({ err: error, customerId }, 'key cache invalidation after a customer status change failed');
    });
  }
}

interface StripeEventShape {
  id: string;
  type: string;
  data: { object: Record<string, unknown> };
}

function integer(value: unknown): bigint | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : null;
}

/**
 * Verifies, stores and acts, as described above. A bad signature (or a stale timestamp) → 400 `invalid_request` with
 * `param: Stripe-Signature`, before anything is written.
 */
export async function receiveStripeEvent(deps: StripeEventDeps, raw: Buffer, signature: string | undefined): Promise<StripeEventResult> {
  if (!deps.stripe) throw new AppError('not_found', 'No such route');
  const receivedAt = deps.clock.now();
  let event: StripeEventShape;
  try {
    event = deps.stripe.verifyEvent(raw, signature ?? '', receivedAt) as unknown as StripeEventShape;
  } catch {
    deps.metrics.increment('genrelay_stripe_signature_failures_total', 'Stripe webhook deliveries refused: signature or timestamp did not verify');
    throw new AppError('invalid_request', `The Stripe-Signature header does not verify this body (or is older than ${STRIPE_SIGNATURE_TOLERANCE_SECONDS} seconds)`, { param: 'Stripe-Signature' });
  }
  const eventId = event && typeof event === 'object' ? storableText(event.id) : null;
  const eventType = event && typeof event === 'object' ? storableText(event.type) : null;
  if (!eventId || !eventType || !event.data || typeof event.data.object !== 'object' || event.data.object === null) {
    throw new AppError('invalid_request', 'The signed body is not a Stripe event');
  }
  event = { ...event, id: eventId, type: eventType };
  const effects = newEffects();
  const applied = await deps.db.transaction(async (tx) => {
    effects.logs.length = 0;
    effects.statusChanged.length = 0;
    const stored = await tx.query(
      `INSERT INTO stripe_events (id, type, order_id, outcome, received_at) VALUES ($1, $2, NULL, 'received', $3)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [event.id, event.type, receivedAt],
    );
    if (stored.rows.length === 0) return null;
    const result = await applyEvent(deps, tx, event, receivedAt, effects);
    await tx.query('UPDATE stripe_events SET outcome = $2, order_id = $3 WHERE id = $1', [event.id, result.outcome, result.orderId]);
    return result;
  });
  await flushEffects(deps, effects);
  if (!applied) return { eventId: event.id, type: event.type, outcome: 'duplicate', orderId: null, duplicate: true };
  return { eventId: event.id, type: event.type, ...applied, duplicate: false };
}

async function applyEvent(deps: StripeEventDeps, tx: Queryable, event: StripeEventShape, now: Date, effects: Effects): Promise<Applied> {
  const object = event.data.object;
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
      return settleSession(deps, tx, sessionView(object), now, effects, event.id);
    case 'checkout.session.async_payment_failed':
      return closeSession(deps, tx, sessionView(object), 'failed', now, effects, event.id);
    case 'checkout.session.expired':
      return closeSession(deps, tx, sessionView(object), 'expired', now, effects, event.id);
    case 'charge.refunded':
      return refundCharge(deps, tx, object, now, effects, event.id);
    case 'charge.dispute.created':
      return openDispute(deps, tx, object, now, effects, event.id);
    case 'charge.dispute.closed':
      return closeDispute(deps, tx, object, now, effects, event.id);
    default:
      return { outcome: 'ignored', orderId: null };
  }
}

/**
 * The order a session pays (P6): the one `client_reference_id` names, and it must hold this session id. Anything
 * else is quarantined (kind `unknown_order` or `session_mismatch`) and null is answered.
 */
async function orderOfSession(deps: StripeEventDeps, tx: Queryable, session: CheckoutSessionView, now: Date, effects: Effects, source: string): Promise<TopupOrderRow | null> {
  const named = session.client_reference_id ? await deps.topups.find(session.client_reference_id, tx) : null;
  if (named && named.stripe_session_id === session.id && named.method === 'stripe') return named;
  await quarantine(deps, tx, {
    kind: named ? 'session_mismatch' : 'unknown_order',
    order: null,
    customerId: named?.customer_id ?? null,
    refType: REF_TYPES.stripe,
    refId: session.id,
    amount: session.amount_total === null ? null : BigInt(session.amount_total),
    currency: session.currency,
    details: { source, client_reference_id: session.client_reference_id, order_session: named?.stripe_session_id ?? null, payment_status: session.payment_status },
  }, now, effects);
  return null;
}

/**
 * A completed (or asynchronously succeeded) session: the one crediting path of the webhook and the reconciliation
 * job. `source` is the event id or `reconcile`.
 */
export async function settleSession(deps: StripeEventDeps, tx: Queryable, session: CheckoutSessionView, now: Date, effects: Effects, source: string): Promise<Applied> {
  if (!session.id) throw new AppError('invalid_request', 'The event carries no Checkout Session id');
  const order = await orderOfSession(deps, tx, session, now, effects, source);
  if (!order) return { outcome: 'quarantined', orderId: null };
  if (session.payment_intent) await deps.topups.setPaymentIntent(order.id, session.payment_intent, now, tx);
  if (!PAID.has(session.payment_status)) {
    // Completed with an asynchronous method still clearing: nothing is credited until async_payment_succeeded.
    const moved = await deps.topups.transition(order.id, ['pending'], 'confirming', now, null, tx);
    effects.logs.push({ level: 'info', fields: { orderId: order.id, sessionId: session.id, source, paymentStatus: session.payment_status }, message: 'stripe session completed, payment not yet cleared' });
    return { outcome: moved ? 'awaiting_payment' : 'unchanged', orderId: order.id };
  }
  const mismatch = session.amount_total === null || BigInt(session.amount_total) !== BigInt(order.amount)
    ? 'amount_mismatch'
    : (session.currency ?? '').toLowerCase() !== order.currency.toLowerCase() ? 'currency_mismatch' : null;
  if (mismatch) {
    await quarantine(deps, tx, {
      kind: mismatch, order, customerId: order.customer_id, refType: REF_TYPES.stripe, refId: session.id,
      amount: session.amount_total === null ? null : BigInt(session.amount_total), currency: session.currency,
      details: { source, order_amount: Number(order.amount), order_currency: order.currency, payment_status: session.payment_status },
    }, now, effects);
    return { outcome: 'quarantined', orderId: order.id };
  }
  const credit = await deps.topups.credit(tx, order.id, REF_TYPES.stripe, session.id, now);
  if (credit.outcome === 'credited') {
    effects.logs.push({ level: 'info', fields: { orderId: order.id, sessionId: session.id, source, credits: credit.credits, ledgerId: credit.ledger_id }, message: 'stripe top-up credited' });
    return { outcome: 'credited', orderId: order.id };
  }
  if (credit.outcome === 'duplicate') return { outcome: 'already_credited', orderId: order.id };
  // The order was paid by something else (an operator's manual credit) or refunded: this payment is the operator's.
  await quarantine(deps, tx, {
    kind: credit.outcome === 'already_paid' ? 'order_already_paid' : 'order_not_creditable',
    order: null, customerId: order.customer_id, refType: REF_TYPES.stripe, refId: session.id,
    amount: BigInt(session.amount_total!), currency: session.currency, details: { source, order_id: order.id, order_status: order.status },
  }, now, effects);
  return { outcome: 'quarantined', orderId: order.id };
}

/** An asynchronous payment that failed, or a session that expired unpaid. */
export async function closeSession(deps: StripeEventDeps, tx: Queryable, session: CheckoutSessionView, to: 'failed' | 'expired', now: Date, effects: Effects, source: string): Promise<Applied> {
  const named = session.client_reference_id ? await deps.topups.find(session.client_reference_id, tx) : null;
  if (!named || named.stripe_session_id !== session.id) {
    // Nothing was paid: no exception to file, only a note.
    effects.logs.push({ level: 'warn', fields: { sessionId: session.id, source, clientReference: session.client_reference_id }, message: `stripe session ${to} for no order of ours` });
    return { outcome: 'ignored', orderId: null };
  }
  const from = to === 'failed' ? (['pending', 'confirming'] as const) : (['pending'] as const);
  const moved = await deps.topups.transition(named.id, from, to, now, to === 'failed' ? 'async_payment_failed' : 'checkout_expired', tx);
  effects.logs.push({ level: 'info', fields: { orderId: named.id, sessionId: session.id, source, moved: moved !== null }, message: `stripe session ${to}` });
  return { outcome: moved ? to : 'unchanged', orderId: named.id };
}

interface QuarantineInput {
  kind: string;
  /** The order this payment was for, when it is known and matched (it becomes `failed`: the operator decides). */
  order: TopupOrderRow | null;
  customerId: string | null;
  refType: string;
  refId: string;
  amount: bigint | null;
  currency: string | null;
  details: Record<string, unknown>;
}

async function quarantine(deps: StripeEventDeps, tx: Queryable, input: QuarantineInput, now: Date, effects: Effects): Promise<void> {
  await deps.paymentExceptions.open({
    queue: 'quarantine', kind: input.kind, method: 'stripe', orderId: input.order?.id ?? null, customerId: input.customerId,
    refType: input.refType, refId: input.refId, amount: input.amount, currency: input.currency, details: input.details, now,
  }, tx);
  if (input.order) await deps.topups.transition(input.order.id, ['pending', 'confirming'], 'failed', now, `payment_quarantined:${input.kind}`, tx);
  effects.logs.push({
    level: 'error',
    fields: { kind: input.kind, orderId: input.order?.id ?? null, customerId: input.customerId, refType: input.refType, refId: input.refId, amount: input.amount?.toString() ?? null, currency: input.currency, ...input.details },
    message: 'stripe payment quarantined for the operator: not credited',
  });
}

/** The order a charge or dispute belongs to (by its PaymentIntent), locked for the reversal arithmetic. */
async function orderOfIntent(deps: StripeEventDeps, tx: Queryable, intent: string | null): Promise<TopupOrderRow | null> {
  const order = intent ? await deps.topups.byPaymentIntent(intent, tx) : null;
  if (!order) return null;
  const locked = await tx.query<TopupOrderRow>('SELECT * FROM topup_orders WHERE id = $1 FOR UPDATE', [order.id]);
  return locked.rows[0] ?? null;
}

/** Credits bought by `amount` minor units of the order, rounded down (never more than the order's credits). */
function creditsFor(order: TopupOrderRow, amount: bigint): bigint {
  const price = BigInt(order.amount);
  const capped = amount > price ? price : amount < 0n ? 0n : amount;
  return (BigInt(order.credits) * capped) / price;
}

interface Reversal {
  refType: string;
  refId: string;
  credits: bigint;
  refundedAmount: bigint;
  /** Minor units refunded or disputed (the exception's amount). */
  amount: bigint;
}

async function reverse(deps: StripeEventDeps, tx: Queryable, order: TopupOrderRow, reversal: Reversal, now: Date, effects: Effects, source: string): Promise<Applied> {
  const result = await deps.topups.reverse(tx, order.id, reversal.refType, reversal.refId, reversal.credits, reversal.refundedAmount, now);
  if (result.outcome !== 'reversed') return { outcome: result.outcome === 'duplicate' ? 'already_reversed' : 'not_paid', orderId: order.id };
  const shortfall = BigInt(result.shortfall);
  effects.logs.push({ level: 'info', fields: { orderId: order.id, ref: `${reversal.refType}:${reversal.refId}`, requested: reversal.credits.toString(), applied: result.applied, shortfall: result.shortfall, source }, message: 'stripe reversal applied' });
  if (shortfall > 0n) {
    await suspendForShortfall(deps, tx, order, reversal, shortfall, BigInt(result.applied), now, effects, source);
    return { outcome: 'reversed_with_shortfall', orderId: order.id };
  }
  return { outcome: reversal.credits < 0n ? 'restored' : 'reversed', orderId: order.id };
}

/**
 * P10: a reversal the wallet could not cover suspends the customer (in the reversal's transaction, with an audit
 * entry; their console sessions end) and files a `reversal_shortfall` quarantine row: the operator's alert. The
 * reversal holds the suspension when it made it, or when the suspension was automatic already (another reversal's);
 * a suspension an operator set is left as theirs (no hold).
 */
async function suspendForShortfall(deps: StripeEventDeps, tx: Queryable, order: TopupOrderRow, reversal: Reversal, shortfall: bigint, applied: bigint, now: Date, effects: Effects, source: string): Promise<void> {
  const before = await deps.customers.get(order.customer_id, tx, true);
  const suspending = before.status !== 'suspended';
  if (suspending) {
    const after = await deps.customers.update(tx, before.id, { status: 'suspended' }, now);
    await deleteCustomerSessions(tx, before.id);
    await recordAudit(tx, STRIPE_ACTOR, { action: 'customer.update', targetType: 'customer', targetId: before.id, before, after }, now);
    effects.statusChanged.push(before.id);
  }
  const held = suspending || (await deps.customers.suspensionHeld(tx, before.id));
  if (held) await deps.customers.holdSuspension(tx, before.id, reversal.refType, reversal.refId, now);
  await deps.paymentExceptions.open({
    queue: 'quarantine', kind: 'reversal_shortfall', method: 'stripe', orderId: order.id, customerId: order.customer_id,
    refType: reversal.refType, refId: reversal.refId, amount: reversal.amount, currency: order.currency,
    details: {
      source, requested_credits: Number(reversal.credits), applied_credits: Number(applied), shortfall_credits: Number(shortfall),
      customer_suspended: true, suspension: suspending ? 'suspended' : held ? 'held' : 'operator',
    },
    now,
  }, tx);
  effects.logs.push({
    level: 'error',
    fields: { orderId: order.id, customerId: order.customer_id, ref: `${reversal.refType}:${reversal.refId}`, shortfall: shortfall.toString(), source },
    message: 'stripe reversal could not be covered: customer suspended, operator alerted',
  });
}

/** A charge whose order is unknown (or in another currency) is the operator's to look at. */
async function unknownCharge(deps: StripeEventDeps, tx: Queryable, kind: string, order: TopupOrderRow | null, refType: string, refId: string, amount: bigint | null, currency: string | null, now: Date, effects: Effects, source: string): Promise<Applied> {
  await quarantine(deps, tx, { kind, order: null, customerId: order?.customer_id ?? null, refType, refId, amount, currency, details: { source, order_id: order?.id ?? null } }, now, effects);
  return { outcome: 'quarantined', orderId: order?.id ?? null };
}

async function refundCharge(deps: StripeEventDeps, tx: Queryable, charge: Record<string, unknown>, now: Date, effects: Effects, source: string): Promise<Applied> {
  const chargeId = storableText(charge.id);
  const refunded = integer(charge.amount_refunded);
  if (!chargeId || refunded === null) throw new AppError('invalid_request', 'charge.refunded without a charge id or amount_refunded');
  const refId = `${chargeId}:${refunded}`;
  const currency = storableText(charge.currency);
  const order = await orderOfIntent(deps, tx, storableRef(charge.payment_intent));
  if (!order) return unknownCharge(deps, tx, 'unknown_charge', null, REVERSAL_REFS.refund, refId, refunded, currency, now, effects, source);
  if ((currency ?? '').toLowerCase() !== order.currency.toLowerCase()) {
    return unknownCharge(deps, tx, 'currency_mismatch', order, REVERSAL_REFS.refund, refId, refunded, currency, now, effects, source);
  }
  // Cumulative: the credits the refunded share bought, minus what was taken back already.
  const owed = creditsFor(order, refunded) - BigInt(order.reversed_credits);
  return reverse(deps, tx, order, {
    refType: REVERSAL_REFS.refund, refId, credits: owed > 0n ? owed : 0n, refundedAmount: refunded > BigInt(order.amount) ? BigInt(order.amount) : refunded, amount: refunded,
  }, now, effects, source);
}

async function openDispute(deps: StripeEventDeps, tx: Queryable, dispute: Record<string, unknown>, now: Date, effects: Effects, source: string): Promise<Applied> {
  const disputeId = storableText(dispute.id);
  const amount = integer(dispute.amount);
  if (!disputeId || amount === null) throw new AppError('invalid_request', 'charge.dispute.created without a dispute id or amount');
  const currency = storableText(dispute.currency);
  const order = await orderOfIntent(deps, tx, storableRef(dispute.payment_intent));
  if (!order) return unknownCharge(deps, tx, 'unknown_charge', null, REVERSAL_REFS.dispute, disputeId, amount, currency, now, effects, source);
  if ((currency ?? '').toLowerCase() !== order.currency.toLowerCase()) {
    return unknownCharge(deps, tx, 'currency_mismatch', order, REVERSAL_REFS.dispute, disputeId, amount, currency, now, effects, source);
  }
  return reverse(deps, tx, order, {
    refType: REVERSAL_REFS.dispute, refId: disputeId, credits: creditsFor(order, amount), refundedAmount: BigInt(order.refunded_amount), amount,
  }, now, effects, source);
}

async function closeDispute(deps: StripeEventDeps, tx: Queryable, dispute: Record<string, unknown>, now: Date, effects: Effects, source: string): Promise<Applied> {
  const disputeId = storableText(dispute.id);
  if (!disputeId) throw new AppError('invalid_request', 'charge.dispute.closed without a dispute id');
  const status = storableText(dispute.status);
  const order = await orderOfIntent(deps, tx, storableRef(dispute.payment_intent));
  if (!order) return { outcome: 'ignored', orderId: null };
  if (status !== 'won') {
    effects.logs.push({ level: 'info', fields: { orderId: order.id, disputeId, status, source }, message: 'stripe dispute closed; the reversal stands' });
    return { outcome: `dispute_${status ?? 'closed'}`, orderId: order.id };
  }
  // Won: give back exactly what the dispute took (its shortfall was never taken), and release its suspension hold.
  const taken = await tx.query<{ taken: string }>(
    'SELECT (-COALESCE(SUM(amount), 0))::text AS taken FROM ledger_entries WHERE ref_type = $1 AND ref_id = $2',
    [REVERSAL_REFS.dispute, disputeId],
  );
  const credits = BigInt(taken.rows[0]?.taken ?? '0');
  const restored: Applied = credits <= 0n
    ? { outcome: 'nothing_to_restore', orderId: order.id }
    : await reverse(deps, tx, order, {
      refType: REVERSAL_REFS.disputeWon, refId: disputeId, credits: -credits, refundedAmount: BigInt(order.refunded_amount), amount: integer(dispute.amount) ?? 0n,
    }, now, effects, source);
  await releaseDisputeHold(deps, tx, order.customer_id, disputeId, now, effects, source);
  return restored;
}

/**
 * A won dispute releases the hold its shortfall put on the customer's suspension; with no hold left (no other
 * reversal's shortfall still stands) the automatic suspension is lifted, audited as `customer.update` by
 * `system:stripe`. A suspension the dispute did not hold — an operator's, or one made before it by a refund or another
 * dispute and still held by it — stays. A second won event for the dispute finds no hold and changes nothing.
 */
async function releaseDisputeHold(deps: StripeEventDeps, tx: Queryable, customerId: string, disputeId: string, now: Date, effects: Effects, source: string): Promise<void> {
  const before = await deps.customers.get(customerId, tx, true);
  if (!(await deps.customers.releaseSuspensionHold(tx, customerId, REVERSAL_REFS.dispute, disputeId)) || before.status !== 'suspended') return;
  if (await deps.customers.suspensionHeld(tx, customerId)) {
    effects.logs.push({ level: 'info', fields: { customerId, disputeId, source }, message: 'stripe dispute won; the suspension is still held by another reversal' });
    return;
  }
  const after = await deps.customers.update(tx, customerId, { status: 'active' }, now);
  await recordAudit(tx, STRIPE_ACTOR, { action: 'customer.update', targetType: 'customer', targetId: customerId, before, after }, now);
  effects.statusChanged.push(customerId);
  effects.logs.push({ level: 'info', fields: { customerId, disputeId, source }, message: 'stripe dispute won: the suspension it caused is lifted' });
}
