import type { CheckoutSessionView } from '../modules/payments/stripe-gateway.js';
import type { TopupOrderRow } from '../modules/payments/types.js';
import { closeSession, flushEffects, newEffects, settleSession, type Applied, type StripeEventDeps } from './stripe-events.js';

/**
 * Stripe reconciliation (issue 13: "a reconciliation job re-reads stale pending sessions"). A webhook can be lost
 * (endpoint down for longer than Stripe retries, a secret rotated badly): every `STRIPE_RECONCILE_INTERVAL` the worker
 * takes Stripe orders still `pending`/`confirming` whose row has not moved for `STRIPE_RECONCILE_STALE_MS`, reads
 * each session from Stripe and applies what it finds through the webhook's own code (stripe-events.ts): a complete
 * and paid session is settled by `settleSession` — the same checks (order ↔ session, amount, currency) and the same
 * ledger reference (the session id), so the job and the webhook credit once between them in any order — and an
 * expired session expires its order. A session still open (or complete and clearing) only has its order's
 * `updated_at` touched, so the next round reads the next orders instead of the same ones.
 */
export type StripeReconcileDeps = StripeEventDeps;

/** An order untouched this long is re-read from Stripe. */
export const STRIPE_RECONCILE_STALE_MS = 10 * 60_000;
/** Sessions read per round. */
export const STRIPE_RECONCILE_BATCH = 50;

export interface ReconcileReport {
  checked: number;
  credited: number;
  expired: number;
  quarantined: number;
  /** Sessions Stripe did not answer for (retried next round). */
  errors: number;
  /** Orders that changed state this round (the worker runs again at once while there are any). */
  moved: number;
}

export async function reconcileStripe(deps: StripeReconcileDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, credited: 0, expired: 0, quarantined: 0, errors: 0, moved: 0 };
  if (!deps.stripe) return report;
  const cutoff = new Date(deps.clock.now().getTime() - STRIPE_RECONCILE_STALE_MS);
  const orders = await deps.topups.stalePending(cutoff, STRIPE_RECONCILE_BATCH);
  for (const order of orders) {
    report.checked += 1;
    let session: CheckoutSessionView;
    try {
      session = await deps.stripe.retrieveSession(order.stripe_session_id!);
    } catch (error) {
      report.errors += 1;
      deps.logger.warn({ err: error, orderId: order.id, sessionId: order.stripe_session_id }, 'stripe reconciliation could not read a session');
      continue;
    }
    try {
      const applied = await reconcileOrder(deps, order, session);
      if (applied.outcome === 'credited') report.credited += 1;
      if (applied.outcome === 'expired') report.expired += 1;
      if (applied.outcome === 'quarantined') report.quarantined += 1;
      if (!['touched', 'unchanged', 'already_credited'].includes(applied.outcome)) report.moved += 1;
    } catch (error) {
      report.errors += 1;
      deps.logger.error({ err: error, orderId: order.id, sessionId: session.id }, 'stripe reconciliation failed for an order');
    }
  }
  return report;
}

async function reconcileOrder(deps: StripeReconcileDeps, order: TopupOrderRow, session: CheckoutSessionView): Promise<Applied> {
  const effects = newEffects();
  const applied = await deps.db.transaction(async (tx) => {
    effects.logs.length = 0;
    effects.statusChanged.length = 0;
    const now = deps.clock.now();
    if (session.status === 'complete' && (session.payment_status === 'paid' || session.payment_status === 'no_payment_required')) {
      return settleSession(deps, tx, session, now, effects, 'reconcile');
    }
    if (session.status === 'expired') return closeSession(deps, tx, session, 'expired', now, effects, 'reconcile');
    if (session.status === 'complete' && order.status === 'pending') {
      // Completed with the payment still clearing, and the event was missed: the order shows it.
      const moved = await deps.topups.transition(order.id, ['pending'], 'confirming', now, null, tx);
      return { outcome: moved ? 'awaiting_payment' : 'unchanged', orderId: order.id };
    }
    // Still open (or clearing): look again after the others.
    await deps.topups.transition(order.id, [order.status], order.status, now, null, tx);
    return { outcome: 'touched', orderId: order.id };
  });
  await flushEffects(deps, effects);
  return applied;
}
