import { createHash, createHmac, randomBytes } from 'node:crypto';
import { startFamily, type Family, type MockContext, type MockOptions, type MockReply, type MockRequest, type MockRoute } from '../shared/harness.js';

/**
 * A local fake of the Stripe API for top-ups (issue 13), enough for the official `stripe` SDK pointed at it through
 * its host, port and protocol options (`STRIPE_API_BASE=http://127.0.0.1:N`; the SDK has no base path, so this family
 * serves the root: mounted in `genrelay mock-upstreams` with the empty prefix, after every other family).
 *
 * Stripe's side:
 * - `POST /v1/checkout/sessions` (form-encoded, nested keys like `line_items[0][price_data][unit_amount]`): a Checkout
 *   Session; an `Idempotency-Key` seen before answers the same session (another body under it → 400
 *   `idempotency_error`, as Stripe does). `GET /v1/checkout/sessions/:id` reads one.
 * - `GET /checkout/:id`: the hosted payment page (HTML with a Pay button and a cancel link); paying marks the session
 *   complete and paid, delivers the signed `checkout.session.completed` and then redirects (303) to `success_url`.
 *
 * The payer's and Stripe's own moves, no key (under `/stripe/_mock/`, JSON bodies):
 * - `POST /stripe/_mock/webhook {url?, secret?}`: where events go and the signing secret (`whsec_…`).
 * - `POST /stripe/_mock/sessions/:id/pay {payment_status?: paid | unpaid | no_payment_required, amount_total?,
 *   currency?}`: completes the session (`unpaid` = an asynchronous method still clearing); `amount_total` / `currency`
 *   overwrite the session's (a payment that does not fit its order).
 * - `POST /stripe/_mock/sessions/:id/async {outcome: succeeded | failed}`: the asynchronous method cleared or failed.
 * - `POST /stripe/_mock/sessions/:id/expire`: `checkout.session.expired`.
 * - `POST /stripe/_mock/sessions/:id/refund {amount?}`: `charge.refunded` with the cumulative `amount_refunded`
 *   (default: the rest of the charge).
 * - `POST /stripe/_mock/sessions/:id/dispute {amount?}` → `charge.dispute.created`;
 *   `POST /stripe/_mock/disputes/:id/close {status: won | lost}` → `charge.dispute.closed`.
 * - `POST /stripe/_mock/events {type, object}`: any event; `POST /stripe/_mock/events/:id/resend`: the same event again.
 * - `GET /stripe/_mock/sessions/:id`, `GET /stripe/_mock/events`, `GET /stripe/_mock/deliveries`: what happened.
 * Every move that sends an event also takes `copies` (deliver the same signed event N times at once), `tamper`
 * (`signature`: a wrong v1; `body`: the body changed after signing), `deliver: false` (store it, send nothing) and
 * answers `{…, event, deliveries: [{status, body}]}` once every copy has been answered.
 *
 * Events are signed as Stripe signs them: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload"
 * under the secret>`, at the mock's clock (`/__mock/clock/advance` moves it). Ids are random, so a restarted mock
 * never repeats a session or event id a running genrelay has already stored.
 */
export interface StripeMockSettings {
  /** Where events are POSTed (genrelay's `/webhooks/stripe`); unset: events are stored and not sent. */
  webhookUrl?: string | null;
  /** The endpoint's signing secret, genrelay's STRIPE_WEBHOOK_SECRET. */
  webhookSecret?: string;
}

export const DEFAULT_STRIPE_WEBHOOK_SECRET = 'whsec_genrelay_mock_stripe_0123456789';
const API_VERSION = '2026-11-18.endive';

export interface FakeSession {
  id: string;
  object: 'checkout.session';
  amount_subtotal: number;
  amount_total: number;
  currency: string;
  client_reference_id: string | null;
  customer_email: string | null;
  created: number;
  expires_at: number;
  livemode: false;
  metadata: Record<string, string>;
  mode: string;
  payment_intent: string | null;
  payment_status: 'paid' | 'unpaid' | 'no_payment_required';
  status: 'open' | 'complete' | 'expired';
  success_url: string | null;
  cancel_url: string | null;
  url: string | null;
}

interface FakeCharge {
  id: string;
  object: 'charge';
  amount: number;
  amount_refunded: number;
  currency: string;
  payment_intent: string;
  refunded: boolean;
  status: 'succeeded';
  created: number;
  livemode: false;
}

interface FakeDispute {
  id: string;
  object: 'dispute';
  amount: number;
  currency: string;
  charge: string;
  payment_intent: string;
  reason: string;
  status: string;
  created: number;
  livemode: false;
}

export interface FakeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  type: string;
}

export interface Delivery {
  event_id: string;
  type: string;
  /** The receiver's HTTP status; null when it could not be reached. */
  status: number | null;
  body: string;
  at: number;
}

export interface DeliveryOptions {
  copies?: number;
  tamper?: 'signature' | 'body' | null;
  deliver?: boolean;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Stripe's form encoding → nested objects; keys whose children are all indexes become arrays. */
export function parseStripeForm(text: string): Record<string, unknown> {
  const root: Record<string, any> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!match) continue;
    const parts = [match[1]!, ...[...match[2]!.matchAll(/\[([^[\]]*)\]/g)].map((part) => part[1]!)];
    if (parts.some((part) => FORBIDDEN_KEYS.has(part))) continue;
    let node = root;
    parts.forEach((part, index) => {
      if (index === parts.length - 1) node[part] = value;
      else node = (node[part] ??= {});
    });
  }
  const arrayify = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>).map(([key, child]) => [key, arrayify(child)] as const);
    if (entries.length > 0 && entries.every(([key]) => /^\d+$/.test(key))) {
      return entries.sort((a, b) => Number(a[0]) - Number(b[0])).map(([, child]) => child);
    }
    return Object.fromEntries(entries);
  };
  return arrayify(root) as Record<string, unknown>;
}

/** `Stripe-Signature` for `payload` signed at `timestamp` (unix seconds), exactly as Stripe computes it. */
export function stripeSignature(payload: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

function stripeError(status: number, type: string, message: string, extra: Record<string, unknown> = {}): MockReply {
  return { status, body: { error: { type, message, ...extra } }, headers: { 'request-id': `req_${randomBytes(7).toString('hex')}` } };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

export class FakeStripe {
  readonly sessions = new Map<string, FakeSession>();
  readonly charges = new Map<string, FakeCharge>();
  readonly disputes = new Map<string, FakeDispute>();
  readonly events: FakeEvent[] = [];
  readonly deliveries: Delivery[] = [];
  private readonly idempotency = new Map<string, { digest: string; sessionId: string }>();
  private readonly chargeOf = new Map<string, string>();
  webhookUrl: string | null;
  webhookSecret: string;

  constructor(
    private readonly context: MockContext,
    settings: StripeMockSettings = {},
  ) {
    this.webhookUrl = settings.webhookUrl ?? null;
    this.webhookSecret = settings.webhookSecret ?? DEFAULT_STRIPE_WEBHOOK_SECRET;
    context.onReset(() => {
      this.sessions.clear();
      this.charges.clear();
      this.disputes.clear();
      this.events.length = 0;
      this.deliveries.length = 0;
      this.idempotency.clear();
      this.chargeOf.clear();
    });
  }

  private seconds(): number {
    return Math.floor(this.context.now() / 1000);
  }

  private id(prefix: string): string {
    return `${prefix}${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
  }

  /** The API's and the hosted page's origin (the family is mounted at the root). */
  private origin(): string {
    return this.context.baseUrl.replace(/\/$/, '');
  }

  createSession(request: MockRequest): MockReply {
    const params = parseStripeForm(request.text) as Record<string, any>;
    const key = typeof request.headers['idempotency-key'] === 'string' ? request.headers['idempotency-key'] : null;
    const digest = createHash('sha256').update(request.text).digest('hex');
    this.context.countCreate(request);
    if (key) {
      const seen = this.idempotency.get(key);
      if (seen && seen.digest !== digest) {
        return stripeError(400, 'idempotency_error', `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`);
      }
      if (seen) return { status: 200, body: this.sessions.get(seen.sessionId), headers: { 'idempotent-replayed': 'true' } };
    }
    if (params.mode !== 'payment') return stripeError(400, 'invalid_request_error', 'Only mode=payment is supported by this fake', { param: 'mode' });
    const items = Array.isArray(params.line_items) ? params.line_items : [];
    if (items.length === 0) return stripeError(400, 'invalid_request_error', 'Missing required param: line_items.', { param: 'line_items' });
    let total = 0;
    let currency: string | null = null;
    for (const [index, item] of items.entries()) {
      const unit = Number(item?.price_data?.unit_amount);
      const quantity = Number(item?.quantity ?? 1);
      const itemCurrency = String(item?.price_data?.currency ?? '').toLowerCase();
      if (!Number.isSafeInteger(unit) || unit < 0) return stripeError(400, 'invalid_request_error', 'Invalid integer', { param: `line_items[${index}][price_data][unit_amount]` });
      if (!/^[a-z]{3}$/.test(itemCurrency)) return stripeError(400, 'invalid_request_error', 'Invalid currency', { param: `line_items[${index}][price_data][currency]` });
      if (currency !== null && currency !== itemCurrency) return stripeError(400, 'invalid_request_error', 'All line items must share one currency', { param: 'line_items' });
      currency = itemCurrency;
      total += unit * quantity;
    }
    const now = this.seconds();
    const expiresAt = params.expires_at === undefined ? now + 86_400 : Number(params.expires_at);
    if (!Number.isInteger(expiresAt) || expiresAt < now + 1800 || expiresAt > now + 86_400) {
      return stripeError(400, 'invalid_request_error', 'The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.', { param: 'expires_at' });
    }
    const id = this.id('cs_test_');
    const session: FakeSession = {
      id,
      object: 'checkout.session',
      amount_subtotal: total,
      amount_total: total,
      currency: currency!,
      client_reference_id: typeof params.client_reference_id === 'string' ? params.client_reference_id : null,
      customer_email: typeof params.customer_email === 'string' ? params.customer_email : null,
      created: now,
      expires_at: expiresAt,
      livemode: false,
      metadata: params.metadata && typeof params.metadata === 'object' ? params.metadata : {},
      mode: 'payment',
      payment_intent: null,
      payment_status: 'unpaid',
      status: 'open',
      success_url: typeof params.success_url === 'string' ? params.success_url : null,
      cancel_url: typeof params.cancel_url === 'string' ? params.cancel_url : null,
      url: `${this.origin()}/checkout/${id}`,
    };
    this.sessions.set(id, session);
    if (key) this.idempotency.set(key, { digest, sessionId: id });
    return { status: 200, body: session };
  }

  session(id: string): FakeSession | undefined {
    return this.sessions.get(id);
  }

  private event(type: string, object: Record<string, unknown>): FakeEvent {
    const event: FakeEvent = {
      id: this.id('evt_'),
      object: 'event',
      api_version: API_VERSION,
      created: this.seconds(),
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: this.webhookUrl ? 1 : 0,
      request: { id: null, idempotency_key: null },
      type,
    };
    this.events.push(event);
    return event;
  }

  /** Sends `event` (signed now) `copies` times at once; answers when every copy has been answered. */
  async deliver(event: FakeEvent, options: DeliveryOptions = {}): Promise<Delivery[]> {
    if (options.deliver === false || !this.webhookUrl) return [];
    const url = this.webhookUrl;
    const payload = JSON.stringify(event, null, 2);
    let signature = stripeSignature(payload, this.webhookSecret, this.seconds());
    let body = payload;
    if (options.tamper === 'signature') signature = signature.replace(/v1=(.)/, (_match, first: string) => `v1=${first === '0' ? '1' : '0'}`);
    if (options.tamper === 'body') body = payload.replace(/"amount_total": \d+/, '"amount_total": 1').replace(/"livemode": false/, '"livemode": true');
    const copies = Math.max(1, Math.min(Number(options.copies ?? 1), 100));
    const send = async (): Promise<Delivery> => {
      let status: number | null = null;
      let text = '';
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        text = String(error);
      }
      const delivery: Delivery = { event_id: event.id, type: event.type, status, body: text, at: this.context.now() };
      this.deliveries.push(delivery);
      return delivery;
    };
    return Promise.all(Array.from({ length: copies }, send));
  }

  private chargeFor(session: FakeSession): FakeCharge | undefined {
    const id = this.chargeOf.get(session.id);
    return id ? this.charges.get(id) : undefined;
  }

  /** The payer completes the hosted page (or its asynchronous method is still clearing: `unpaid`). */
  async pay(id: string, input: { payment_status?: FakeSession['payment_status']; amount_total?: number; currency?: string }, options: DeliveryOptions = {}) {
    const session = this.sessions.get(id);
    if (!session) return null;
    if (session.status !== 'open') return { error: `session is ${session.status}` };
    if (input.amount_total !== undefined) session.amount_total = Number(input.amount_total);
    if (input.currency !== undefined) session.currency = String(input.currency);
    session.status = 'complete';
    session.payment_status = input.payment_status ?? 'paid';
    session.payment_intent = this.id('pi_');
    if (session.payment_status === 'paid') this.charge(session);
    const event = this.event('checkout.session.completed', session as unknown as Record<string, unknown>);
    return { session, event, deliveries: await this.deliver(event, options) };
  }

  private charge(session: FakeSession): FakeCharge {
    const charge: FakeCharge = {
      id: this.id('ch_'), object: 'charge', amount: session.amount_total, amount_refunded: 0, currency: session.currency,
      payment_intent: session.payment_intent!, refunded: false, status: 'succeeded', created: this.seconds(), livemode: false,
    };
    this.charges.set(charge.id, charge);
    this.chargeOf.set(session.id, charge.id);
    return charge;
  }

  async settleAsync(id: string, outcome: 'succeeded' | 'failed', options: DeliveryOptions = {}) {
    const session = this.sessions.get(id);
    if (!session) return null;
    if (session.status !== 'complete' || session.payment_status !== 'unpaid') return { error: 'session is not waiting for an asynchronous payment' };
    if (outcome === 'succeeded') {
      session.payment_status = 'paid';
      this.charge(session);
    }
    const event = this.event(`checkout.session.async_payment_${outcome}`, session as unknown as Record<string, unknown>);
    return { session, event, deliveries: await this.deliver(event, options) };
  }

  async expire(id: string, options: DeliveryOptions = {}) {
    const session = this.sessions.get(id);
    if (!session) return null;
    if (session.status !== 'open') return { error: `session is ${session.status}` };
    session.status = 'expired';
    session.url = null;
    const event = this.event('checkout.session.expired', session as unknown as Record<string, unknown>);
    return { session, event, deliveries: await this.deliver(event, options) };
  }

  async refund(id: string, amount: number | undefined, options: DeliveryOptions = {}) {
    const session = this.sessions.get(id);
    const charge = session && this.chargeFor(session);
    if (!charge) return session ? { error: 'session has no charge' } : null;
    const take = amount ?? charge.amount - charge.amount_refunded;
    if (!Number.isInteger(take) || take <= 0 || charge.amount_refunded + take > charge.amount) return { error: 'refund amount exceeds what is left of the charge' };
    charge.amount_refunded += take;
    charge.refunded = charge.amount_refunded === charge.amount;
    const event = this.event('charge.refunded', charge as unknown as Record<string, unknown>);
    return { charge, event, deliveries: await this.deliver(event, options) };
  }

  async dispute(id: string, amount: number | undefined, options: DeliveryOptions = {}) {
    const session = this.sessions.get(id);
    const charge = session && this.chargeFor(session);
    if (!charge) return session ? { error: 'session has no charge' } : null;
    const dispute: FakeDispute = {
      id: this.id('dp_'), object: 'dispute', amount: amount ?? charge.amount, currency: charge.currency, charge: charge.id,
      payment_intent: charge.payment_intent, reason: 'fraudulent', status: 'needs_response', created: this.seconds(), livemode: false,
    };
    this.disputes.set(dispute.id, dispute);
    const event = this.event('charge.dispute.created', dispute as unknown as Record<string, unknown>);
    return { dispute, event, deliveries: await this.deliver(event, options) };
  }

  async closeDispute(id: string, status: 'won' | 'lost', options: DeliveryOptions = {}) {
    const dispute = this.disputes.get(id);
    if (!dispute) return null;
    dispute.status = status;
    const event = this.event('charge.dispute.closed', dispute as unknown as Record<string, unknown>);
    return { dispute, event, deliveries: await this.deliver(event, options) };
  }

  async custom(type: string, object: Record<string, unknown>, options: DeliveryOptions = {}) {
    const event = this.event(type, object);
    return { event, deliveries: await this.deliver(event, options) };
  }

  async resend(id: string, options: DeliveryOptions = {}) {
    const event = this.events.find((candidate) => candidate.id === id);
    if (!event) return null;
    return { event, deliveries: await this.deliver(event, options) };
  }

  /** The hosted page: what the payer sees at the session's `url`. */
  page(id: string): MockReply {
    const session = this.sessions.get(id);
    if (!session) return { status: 404, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<!doctype html><title>Not found</title><p>No such checkout session.</p>' };
    const amount = `${(session.amount_total / 100).toFixed(2)} ${session.currency.toUpperCase()}`;
    const body = session.status === 'open'
      ? `<form method="post" action="/checkout/${escapeHtml(id)}/pay"><button type="submit" id="pay">Pay ${escapeHtml(amount)}</button></form>` +
        (session.cancel_url ? `<p><a id="cancel" href="${escapeHtml(session.cancel_url)}">Cancel and return</a></p>` : '')
      : `<p id="state">This checkout session is ${escapeHtml(session.status)}.</p>`;
    return {
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<!doctype html><html><head><meta charset="utf-8"><title>Fake Stripe Checkout</title></head><body>` +
        `<h1>Fake Stripe Checkout</h1><p>Test mode: nothing is charged.</p><p id="amount">${escapeHtml(amount)}</p>` +
        `<p id="reference">Order ${escapeHtml(session.client_reference_id ?? '')}</p>${body}</body></html>`,
    };
  }

  async payFromPage(id: string): Promise<MockReply> {
    const result = await this.pay(id, {});
    if (!result) return this.page(id);
    if ('error' in result) return this.page(id);
    const target = result.session.success_url;
    return target ? { status: 303, headers: { location: target }, body: '' } : this.page(id);
  }

  routes(): MockRoute[] {
    const json = (request: MockRequest): Record<string, any> => {
      if (!request.text) return {};
      try {
        const parsed = JSON.parse(request.text);
        return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
      } catch {
        return {};
      }
    };
    const options = (body: Record<string, any>): DeliveryOptions => ({
      copies: body.copies === undefined ? 1 : Number(body.copies),
      tamper: body.tamper === 'signature' || body.tamper === 'body' ? body.tamper : null,
      deliver: body.deliver !== false,
    });
    const answer = (result: unknown, what: string): MockReply => {
      if (result === null) return { status: 404, body: { error: `no such ${what}` } };
      if (result && typeof result === 'object' && 'error' in result) return { status: 409, body: result };
      return { status: 200, body: result };
    };
    const control = (method: string, path: RegExp, name: string, handle: MockRoute['handle']): MockRoute => ({ method, path, name, control: true, handle });
    return [
      { method: 'POST', path: /^\/v1\/checkout\/sessions$/, name: 'create', handle: (request) => this.createSession(request) },
      {
        method: 'GET',
        path: /^\/v1\/checkout\/sessions\/([^/]+)$/,
        name: 'retrieve',
        handle: (_request, match) => {
          const session = this.sessions.get(decodeURIComponent(match[1]!));
          return session ? { status: 200, body: session } : stripeError(404, 'invalid_request_error', `No such checkout.session: '${match[1]}'`, { code: 'resource_missing', param: 'session' });
        },
      },
      control('GET', /^\/checkout\/([^/]+)$/, 'page', (_request, match) => this.page(decodeURIComponent(match[1]!))),
      control('POST', /^\/checkout\/([^/]+)\/pay$/, 'page_pay', (_request, match) => this.payFromPage(decodeURIComponent(match[1]!))),
      control('POST', /^\/stripe\/_mock\/webhook$/, 'webhook', (request) => {
        const body = json(request);
        if (body.url !== undefined) this.webhookUrl = body.url === null ? null : String(body.url);
        if (body.secret !== undefined) this.webhookSecret = String(body.secret);
        return { status: 200, body: { url: this.webhookUrl, secret: this.webhookSecret } };
      }),
      control('GET', /^\/stripe\/_mock\/sessions\/([^/]+)$/, 'session', (_request, match) => answer(this.sessions.get(match[1]!) ?? null, 'session')),
      control('POST', /^\/stripe\/_mock\/sessions\/([^/]+)\/pay$/, 'pay', async (request, match) => {
        const body = json(request);
        const status = body.payment_status;
        if (status !== undefined && status !== 'paid' && status !== 'unpaid' && status !== 'no_payment_required') return { status: 400, body: { error: 'payment_status must be paid, unpaid or no_payment_required' } };
        return answer(await this.pay(match[1]!, { payment_status: status, amount_total: body.amount_total, currency: body.currency }, options(body)), 'session');
      }),
      control('POST', /^\/stripe\/_mock\/sessions\/([^/]+)\/async$/, 'async', async (request, match) => {
        const body = json(request);
        if (body.outcome !== 'succeeded' && body.outcome !== 'failed') return { status: 400, body: { error: 'outcome must be succeeded or failed' } };
        return answer(await this.settleAsync(match[1]!, body.outcome, options(body)), 'session');
      }),
      control('POST', /^\/stripe\/_mock\/sessions\/([^/]+)\/expire$/, 'expire', async (request, match) => answer(await this.expire(match[1]!, options(json(request))), 'session')),
      control('POST', /^\/stripe\/_mock\/sessions\/([^/]+)\/refund$/, 'refund', async (request, match) => {
        const body = json(request);
        return answer(await this.refund(match[1]!, body.amount === undefined ? undefined : Number(body.amount), options(body)), 'session');
      }),
      control('POST', /^\/stripe\/_mock\/sessions\/([^/]+)\/dispute$/, 'dispute', async (request, match) => {
        const body = json(request);
        return answer(await this.dispute(match[1]!, body.amount === undefined ? undefined : Number(body.amount), options(body)), 'session');
      }),
      control('POST', /^\/stripe\/_mock\/disputes\/([^/]+)\/close$/, 'dispute_close', async (request, match) => {
        const body = json(request);
        if (body.status !== 'won' && body.status !== 'lost') return { status: 400, body: { error: 'status must be won or lost' } };
        return answer(await this.closeDispute(match[1]!, body.status, options(body)), 'dispute');
      }),
      control('POST', /^\/stripe\/_mock\/events$/, 'event', async (request) => {
        const body = json(request);
        if (typeof body.type !== 'string' || !body.object || typeof body.object !== 'object') return { status: 400, body: { error: 'type (string) and object (the event\'s data.object) are required' } };
        return answer(await this.custom(body.type, body.object, options(body)), 'event');
      }),
      control('POST', /^\/stripe\/_mock\/events\/([^/]+)\/resend$/, 'resend', async (request, match) => answer(await this.resend(match[1]!, options(json(request))), 'event')),
      control('GET', /^\/stripe\/_mock\/events$/, 'events', () => ({ status: 200, body: this.events })),
      control('GET', /^\/stripe\/_mock\/deliveries$/, 'deliveries', () => ({ status: 200, body: this.deliveries })),
      // Anything else under /v1 answers as Stripe does for an unknown URL.
      ...['GET', 'POST', 'DELETE'].map((method): MockRoute => ({
        method,
        path: /^\/v1\/.*$/,
        name: 'unknown',
        handle: (request) => stripeError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${request.path}).`),
      })),
    ];
  }
}

const instances = new WeakMap<MockContext, FakeStripe>();

export function createStripeFamily(settings: StripeMockSettings = {}): Family {
  return (context) => {
    const stripe = new FakeStripe(context, settings);
    instances.set(context, stripe);
    return stripe.routes();
  };
}

/** The fake behind a mounted family's context (tests reach its state directly). */
export function fakeStripeOf(context: MockContext): FakeStripe {
  const stripe = instances.get(context);
  if (!stripe) throw new Error('not a fake Stripe family');
  return stripe;
}

/** The fake Stripe alone on a loopback port: `{ baseUrl, close, control, stripe }`. Any `Bearer sk_…` key is accepted. */
export async function startStripeMock(options: MockOptions & StripeMockSettings = {}) {
  const { webhookUrl, webhookSecret, ...rest } = options;
  const mock = await startFamily(createStripeFamily({ webhookUrl, webhookSecret }), 'stripe', { key: null, ...rest });
  return { ...mock, stripe: fakeStripeOf(mock.control) };
}
