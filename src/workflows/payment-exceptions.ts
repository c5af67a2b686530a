import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import { currencyExponent, quoteCredits } from '../modules/payments/pricing.js';
import { REF_TYPES, type PaymentExceptionRow, type TopupOrderRow } from '../modules/payments/types.js';
import { readSettings } from '../modules/settings/service.js';

/**
 * The operator resolves a payment that was not credited automatically (issue 13): a quarantined Stripe payment or an
 * unmatched chain transfer. `credit` pays a customer by hand: a paid order is recorded for them (so it shows in their
 * history and receipts) and credited through gr_credit_topup with the exception as the payment reference, so one
 * payment can never be credited twice; `refunded` (the money went back outside genrelay) and `dismissed` close it.
 * The audit row, the order, the ledger entry and the resolution are one transaction.
 */
export type PaymentExceptionDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'topups' | 'paymentExceptions' | 'customers'>;

export type ResolveAction =
  | { action: 'credit'; customerId: string | undefined; credits: number | undefined; note: string }
  | { action: 'refunded' | 'dismissed'; note: string };

/** What the payment is worth in minor units of the price currency (USDT at par), when it can be told. */
function priceAmount(row: PaymentExceptionRow, priceCurrency: string): bigint | null {
  if (row.amount === null || row.currency === null) return null;
  if (row.currency === 'USDT') return BigInt(row.amount) / 10n ** BigInt(6 - currencyExponent(priceCurrency));
  return row.currency.toUpperCase() === priceCurrency ? BigInt(row.amount) : null;
}

export async function resolvePaymentException(
  deps: PaymentExceptionDeps,
  id: string,
  input: ResolveAction,
  audit: AuditContext,
): Promise<{ exception: PaymentExceptionRow; order: TopupOrderRow | null }> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const row = await deps.paymentExceptions.get(id, tx, true);
    if (row.status !== 'open') throw new AppError('conflict', 'This payment exception is already resolved');
    if (input.action !== 'credit') {
      await recordAudit(tx, audit, { action: `payment_exception.${input.action}`, targetType: 'payment_exception', targetId: id, after: { note: input.note } }, now);
      return { exception: await deps.paymentExceptions.resolve(tx, id, input.action, { note: input.note }, audit.actor, now), order: null };
    }
    const customerId = input.customerId ?? row.customer_id;
    if (!customerId) throw new AppError('invalid_request', 'Name the customer to credit', { param: 'customer_id' });
    try {
      await deps.customers.get(customerId, tx);
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') throw new AppError('invalid_request', 'No such customer', { param: 'customer_id' });
      throw error;
    }
    const amount = priceAmount(row, deps.config.priceCurrency);
    let credits: bigint;
    if (input.credits !== undefined) credits = BigInt(input.credits);
    else if (amount !== null && amount > 0n) {
      const micro = row.currency === 'USDT' && row.amount !== null ? BigInt(row.amount) : null;
      credits = quoteCredits(amount, deps.config.priceCurrency, deps.config.creditsPerCurrencyUnit, (await readSettings(tx)).topup_bonus_tiers, micro).credits;
    } else throw new AppError('invalid_request', 'The payment\'s value is not known in the price currency: give credits', { param: 'credits' });
    const auditId = await recordAudit(tx, audit, {
      action: 'payment_exception.credit', targetType: 'payment_exception', targetId: id,
      after: { customer_id: customerId, credits: credits.toString(), note: input.note },
    }, now);
    const details = row.details as { to?: string; network?: string };
    const order = await deps.topups.insertManual(tx, {
      customerId, method: row.method, amount: amount !== null && amount > 0n ? amount : 1n, currency: deps.config.priceCurrency,
      credits, bonusCredits: 0n, createdBy: `operator:${audit.actor}`, idempotencyKey: null, now, expiresAt: now,
    }, row.method === 'stripe' ? null : { address: details.to ?? 'unknown', micro: BigInt(row.amount ?? 1), network: details.network ?? row.method });
    const outcome = await deps.topups.credit(tx, order.id, REF_TYPES.manual, row.id, now, auditId);
    if (outcome.outcome !== 'credited') throw new AppError('conflict', `This payment was already credited (${outcome.outcome})`);
    const exception = await deps.paymentExceptions.resolve(tx, id, 'credited', {
      note: input.note, customer_id: customerId, credits: credits.toString(), order_id: order.id, ledger_id: outcome.ledger_id === null ? null : String(outcome.ledger_id),
    }, audit.actor, now);
    return { exception, order: await deps.topups.get(order.id, null, tx) };
  });
}
