import Stripe from 'stripe';
import { AppError } from '../../lib/errors.js';

/**
 * Stripe, through the official SDK (issue 13, SEMANTICS P3/P4). `STRIPE_API_BASE` reaches a local fake Stripe API in
 * tests through the SDK's host, port and protocol options. The gateway is the only code that talks to Stripe.
 */
export interface CheckoutSessionInput {
  orderId: string;
  /** Minor units of `currency`, computed by genrelay (never by the client). */
  amount: bigint;
  currency: string;
  credits: bigint;
  customerEmail: string | null;
  successUrl: string;
  cancelUrl: string;
  expiresAt: Date;
}

/** The fields genrelay reads of a Checkout Session. */
export interface CheckoutSessionView {
  id: string;
  url: string | null;
  status: string | null;
  payment_status: string;
  amount_total: number | null;
  currency: string | null;
  client_reference_id: string | null;
  payment_intent: string | null;
  expires_at: number;
}

export interface StripeGateway {
  createCheckoutSession(input: CheckoutSessionInput): Promise<CheckoutSessionView>;
  retrieveSession(id: string): Promise<CheckoutSessionView>;
  /** Verifies `Stripe-Signature` over the raw body (tolerance 300 s at `receivedAt`); throws on any failure. */
  verifyEvent(raw: Buffer, signature: string, receivedAt: Date): Stripe.Event;
}

export interface StripeGatewayOptions {
  secretKey: string;
  webhookSecret: string;
  apiBase: string;
}

/**
 * A string genrelay reads from a Stripe object, made storable: PostgreSQL keeps neither a NUL character nor an
 * unpaired UTF-16 surrogate in text or jsonb, and a signed event is genuine however odd its text, so each NUL and each
 * unpaired surrogate becomes U+FFFD (deterministic: a redelivery reads the same values). Metadata and descriptions are
 * never read at all.
 */
export function storableText(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value.replaceAll('\u0000', '\uFFFD').toWellFormed() : null;
}

/** A string id or an expanded object's id (Stripe sends either for references), made storable. */
export function storableRef(value: unknown): string | null {
  if (typeof value === 'string') return storableText(value);
  if (value && typeof value === 'object') return storableText((value as { id?: unknown }).id);
  return null;
}

/**
 * The fields genrelay reads of a Checkout Session — one retrieved or created here, or one inside a webhook event —
 * every string made storable, so the webhook and the reconciliation job store the same values.
 */
export function sessionView(session: Stripe.Checkout.Session | Record<string, unknown>): CheckoutSessionView {
  const object = session as Record<string, unknown>;
  return {
    id: storableText(object.id) ?? '',
    url: storableText(object.url),
    status: storableText(object.status),
    payment_status: storableText(object.payment_status) ?? 'unpaid',
    amount_total: typeof object.amount_total === 'number' && Number.isSafeInteger(object.amount_total) ? object.amount_total : null,
    currency: storableText(object.currency),
    client_reference_id: storableText(object.client_reference_id),
    payment_intent: storableRef(object.payment_intent),
    expires_at: typeof object.expires_at === 'number' ? object.expires_at : 0,
  };
}

export function createStripeGateway(options: StripeGatewayOptions): StripeGateway {
  const base = new URL(options.apiBase);
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  const stripe = new Stripe(options.secretKey, {
    host: base.hostname,
    port: base.port || (protocol === 'http' ? 80 : 443),
    protocol,
    maxNetworkRetries: 2,
    timeout: 20_000,
    telemetry: false,
  });
  const upstream = (error: unknown): AppError =>
    new AppError('provider_error', `The card processor refused or did not answer: ${(error as Error).message ?? 'unknown error'}`);
  return {
    async createCheckoutSession(input) {
      try {
        const session = await stripe.checkout.sessions.create(
          {
            mode: 'payment',
            client_reference_id: input.orderId,
            metadata: { order_id: input.orderId },
            ...(input.customerEmail ? { customer_email: input.customerEmail } : {}),
            line_items: [{
              quantity: 1,
              price_data: {
                currency: input.currency.toLowerCase(),
                unit_amount: Number(input.amount),
                product_data: { name: `${input.credits.toLocaleString('en-US')} credits` },
              },
            }],
            success_url: input.successUrl,
            cancel_url: input.cancelUrl,
            expires_at: Math.floor(input.expiresAt.getTime() / 1000),
          },
          // The order id as idempotency key (P3): a retried create returns the same session.
          { idempotencyKey: `topup-${input.orderId}` },
        );
        return sessionView(session);
      } catch (error) {
        throw upstream(error);
      }
    },
    async retrieveSession(id) {
      try {
        return sessionView(await stripe.checkout.sessions.retrieve(id));
      } catch (error) {
        throw upstream(error);
      }
    },
    verifyEvent(raw, signature, receivedAt) {
      // The SDK takes `receivedAt` in milliseconds (it divides by 1000 itself).
      return stripe.webhooks.constructEvent(raw, signature, options.webhookSecret, 300, undefined, receivedAt.getTime());
    },
  };
}
