import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { formatUsdt, quoteCredits, usdtMicroFor } from '../modules/payments/pricing.js';
import type { TopupOrderRow, TopupMethod } from '../modules/payments/types.js';
import { USDT_NETWORK } from '../modules/payments/types.js';
import { readSettings, type BonusTier } from '../modules/settings/service.js';

/**
 * Top-up orders (issue 13, SEMANTICS P2/P3/P9): a signed-in customer (console) or an API key creates one with a method
 * and an amount in minor units of the price currency; the credits it buys are fixed now. Card: a Stripe Checkout
 * Session priced by genrelay, with the order id as client reference and idempotency key. USDT: a watch-only address
 * and an exact amount that no other open order on that address has, for the payment window.
 */
export type TopupDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'topups' | 'stripe'>;

export interface CreateTopupInput {
  customerId: string;
  /** A console user id or an API key id. */
  createdBy: string;
  method: TopupMethod;
  amount: bigint;
  idempotencyKey: string | null;
  /** Where Stripe sends the payer back (defaults: the console's order page). */
  successUrl?: string | undefined;
  cancelUrl?: string | undefined;
  customerEmail?: string | null | undefined;
}

/** Stripe refuses Checkout Sessions that expire in under 30 minutes; a minute of margin. */
const STRIPE_MIN_WINDOW_MS = 31 * 60_000;
/** Open USDT orders one customer may hold at once (each holds an exact amount on an address). */
const MAX_OPEN_USDT_ORDERS = 5;

export function availableMethods(config: TopupDeps['config'], stripe: TopupDeps['stripe']): TopupMethod[] {
  const methods: TopupMethod[] = [];
  if (stripe) methods.push('stripe');
  if (config.usdtTronAddresses.length > 0) methods.push('usdt_tron');
  if (config.usdtEvmAddresses.length > 0 && config.evmRpcUrl) methods.push('usdt_evm');
  return methods;
}

export interface TopupOptions {
  methods: TopupMethod[];
  currency: string;
  credits_per_currency_unit: number;
  min_amount: number;
  max_amount: number;
  bonus_tiers: BonusTier[];
  window_seconds: number;
  /** The network each USDT method pays on (`tron`, or the EVM chain's name). */
  networks: Partial<Record<TopupMethod, string>>;
}

export async function topupOptions(deps: TopupDeps): Promise<TopupOptions> {
  const settings = await readSettings(deps.db);
  return {
    methods: availableMethods(deps.config, deps.stripe),
    currency: deps.config.priceCurrency,
    credits_per_currency_unit: deps.config.creditsPerCurrencyUnit,
    min_amount: settings.topup_min_amount,
    max_amount: settings.topup_max_amount,
    bonus_tiers: settings.topup_bonus_tiers,
    window_seconds: Math.floor(deps.config.topupWindowMs / 1000),
    networks: { usdt_tron: USDT_NETWORK.usdt_tron, usdt_evm: deps.config.evmNetwork },
  };
}

/**
 * Who a paid order's receipt is made out to: the customer's name and billing email, or, for a customer who signed up
 * in the console (no billing email on the customer), its first owner's email.
 */
export async function receiptParty(deps: Pick<Deps, 'db'>, customerId: string): Promise<{ id: string; name: string; email: string | null }> {
  const result = await deps.db.query<{ id: string; name: string; email: string | null }>(
    `SELECT c.id, c.name, COALESCE(c.email, (SELECT u.email FROM customer_users u WHERE u.customer_id = c.id AND u.role = 'owner'
       ORDER BY u.created_at LIMIT 1)) AS email FROM customers c WHERE c.id = $1`,
    [customerId],
  );
  if (!result.rows[0]) throw new AppError('not_found', 'No such customer');
  return result.rows[0];
}

export async function createTopup(deps: TopupDeps, input: CreateTopupInput): Promise<{ order: TopupOrderRow; replay: boolean }> {
  if (input.idempotencyKey) {
    const existing = await deps.topups.byIdempotencyKey(input.customerId, input.idempotencyKey);
    if (existing) {
      if (existing.method !== input.method || BigInt(existing.amount) !== input.amount) {
        throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used for a different top-up', { param: 'Idempotency-Key' });
      }
      return { order: existing, replay: true };
    }
  }
  if (!availableMethods(deps.config, deps.stripe).includes(input.method)) {
    throw new AppError('invalid_request', `Top-ups by ${input.method} are not enabled on this gateway`, { param: 'method' });
  }
  const settings = await readSettings(deps.db);
  if (input.amount < BigInt(settings.topup_min_amount) || input.amount > BigInt(settings.topup_max_amount)) {
    throw new AppError('invalid_request', `amount must be between ${settings.topup_min_amount} and ${settings.topup_max_amount} (minor units of ${deps.config.priceCurrency})`, { param: 'amount' });
  }
  const currency = deps.config.priceCurrency;
  const quote = quoteCredits(input.amount, currency, deps.config.creditsPerCurrencyUnit, settings.topup_bonus_tiers);
  const now = deps.clock.now();
  const order = {
    customerId: input.customerId,
    method: input.method,
    amount: input.amount,
    currency,
    credits: quote.credits,
    bonusCredits: quote.bonus,
    createdBy: input.createdBy,
    idempotencyKey: input.idempotencyKey,
    now,
    expiresAt: new Date(now.getTime() + deps.config.topupWindowMs),
  };
  if (input.method === 'stripe') return { order: await startCheckout(deps, { ...order, expiresAt: new Date(now.getTime() + Math.max(deps.config.topupWindowMs, STRIPE_MIN_WINDOW_MS)) }, input), replay: false };

  const open = await deps.db.query<{ count: number }>(
    "SELECT COUNT(*)::int AS count FROM topup_orders WHERE customer_id = $1 AND method <> 'stripe' AND status IN ('pending', 'confirming')",
    [input.customerId],
  );
  if ((open.rows[0]?.count ?? 0) >= MAX_OPEN_USDT_ORDERS) {
    throw new AppError('rate_limited', `You already have ${MAX_OPEN_USDT_ORDERS} open USDT orders; pay one or let it expire first`);
  }
  const tron = input.method === 'usdt_tron';
  return {
    order: await deps.topups.insertUsdt(order, {
      addresses: tron ? deps.config.usdtTronAddresses : deps.config.usdtEvmAddresses,
      baseMicro: usdtMicroFor(input.amount, currency),
      network: tron ? USDT_NETWORK.usdt_tron : deps.config.evmNetwork,
      confirmationsRequired: tron ? deps.config.tronConfirmations : (deps.config.evmConfirmations ?? 0),
    }),
    replay: false,
  };
}

async function startCheckout(deps: TopupDeps, order: Parameters<TopupDeps['topups']['insert']>[0], input: CreateTopupInput): Promise<TopupOrderRow> {
  const stripe = deps.stripe!;
  const row = await deps.topups.insert(order);
  const page = `${deps.config.publicBaseUrl}/console/billing/topups/${row.id}`;
  try {
    const session = await stripe.createCheckoutSession({
      orderId: row.id,
      amount: order.amount,
      currency: order.currency,
      credits: order.credits,
      customerEmail: input.customerEmail ?? null,
      successUrl: input.successUrl ?? `${page}?checkout=success`,
      cancelUrl: input.cancelUrl ?? `${page}?checkout=cancelled`,
      expiresAt: order.expiresAt,
    });
    if (!session.url) throw new AppError('provider_error', 'The card processor returned no checkout page');
    return await deps.topups.attachStripeSession(row.id, session.id, session.url, new Date(session.expires_at * 1000), deps.clock.now());
  } catch (error) {
    await deps.topups.transition(row.id, ['pending'], 'failed', deps.clock.now(), 'checkout_not_created');
    throw error;
  }
}

/** The order as JSON (issue 13): `/v1/billing/topups`, the console and the operator API show the same shape. */
export function topupView(row: TopupOrderRow) {
  const usdt = row.method !== 'stripe';
  return {
    id: row.id,
    object: 'topup',
    method: row.method,
    status: row.status,
    amount: Number(row.amount),
    currency: row.currency,
    credits: Number(row.credits),
    bonus_credits: Number(row.bonus_credits),
    created_at: Math.floor(row.created_at.getTime() / 1000),
    expires_at: Math.floor(row.expires_at.getTime() / 1000),
    paid_at: row.paid_at ? Math.floor(row.paid_at.getTime() / 1000) : null,
    checkout_url: row.method === 'stripe' && (row.status === 'pending' || row.status === 'confirming') ? row.checkout_url : null,
    pay_to: usdt && row.pay_address && row.pay_amount_micro
      ? { address: row.pay_address, amount: formatUsdt(row.pay_amount_micro), network: row.pay_network, token: 'USDT' }
      : null,
    // `required` is null until known (an EVM chain followed by its `finalized` tag: the watcher measures it).
    confirmations: usdt ? { seen: row.confirmations_seen, required: row.confirmations_required || null } : null,
    refunded_amount: Number(row.refunded_amount),
    failure_reason: row.failure_reason,
  };
}

/** The operator's view adds who and what paid it. */
export function operatorTopupView(row: TopupOrderRow) {
  return {
    ...topupView(row),
    customer_id: row.customer_id,
    created_by: row.created_by,
    stripe_session_id: row.stripe_session_id,
    stripe_payment_intent: row.stripe_payment_intent,
    payment_ref: row.payment_ref_type ? { type: row.payment_ref_type, id: row.payment_ref_id } : null,
    reversed_credits: Number(row.reversed_credits),
  };
}
