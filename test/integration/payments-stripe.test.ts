import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../harness/app.js';
import { expectV1Error } from '../harness/setup.js';
import { startStripeMock, stripeSignature } from '../mock-upstreams/stripe/server.js';
import { STRIPE_RECONCILE_STALE_MS } from '../../src/workflows/stripe-reconcile.js';

/**
 * Card top-ups through Stripe (issue 13, SEMANTICS P3–P6, P10, P11), end to end over real HTTP: genrelay's Stripe
 * SDK talks to the fake Stripe API on loopback (test/mock-upstreams/stripe), which plays the payer and delivers
 * events signed exactly as Stripe signs them to `POST /webhooks/stripe`. The injected clock decides the signature
 * tolerance (the mock's clock is moved with it). After every test the ledger invariants hold.
 */
const SECRET = 'whsec_payments_stripe_test_0123456789abcdef';
let mock: Awaited<ReturnType<typeof startStripeMock>>;
let app: TestApp;
let logs: string[] = [];

beforeAll(async () => {
  mock = await startStripeMock({ webhookSecret: SECRET });
  app = await startTestApp({
    env: { STRIPE_SECRET_KEY: 'sk_test_genrelay_0123456789', STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_API_BASE: mock.baseUrl },
    logStream: { write: (line: string) => void logs.push(line) },
  });
  const configured = await control('/webhook', { url: `${app.baseUrl}/webhooks/stripe` });
  expect(configured).toEqual({ url: `${app.baseUrl}/webhooks/stripe`, secret: SECRET });
});

afterEach(async () => {
  expect(await app.invariants()).toEqual({});
  logs = [];
});

afterAll(async () => {
  await app?.close();
  await mock?.close();
});

/** The payer's and Stripe's moves: the fake's control routes (no key). */
async function control(path: string, body: Record<string, unknown> = {}): Promise<any> {
  const response = await fetch(`${mock.baseUrl}/stripe/_mock${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await response.json();
  if (response.status !== 200) throw new Error(`control ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** Moves genrelay's injected clock and the fake Stripe's clock together (signatures stay fresh). */
async function advance(ms: number): Promise<void> {
  app.clock.advance(ms);
  const response = await fetch(`${mock.baseUrl}/__mock/clock/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ms }) });
  expect(response.status).toBe(200);
}

async function buyer() {
  const customer = await app.createCustomer();
  const key = await app.createKey(customer.id, { mode: 'live' });
  return { customer, key: key.key as string };
}

/** A card top-up through `POST /v1/billing/topups`; the Checkout Session is created on the fake by the SDK. */
async function stripeOrder(key: string, amount = 1000) {
  const response = await app.request('POST', '/v1/billing/topups', { key, body: { method: 'stripe', amount } });
  expect(response.status, response.text).toBe(201);
  const row = await app.deps.topups.get(response.body.id, null);
  expect(row.stripe_session_id).toMatch(/^cs_test_/);
  return { id: row.id as string, view: response.body, credits: BigInt(row.credits), sessionId: row.stripe_session_id! };
}

async function balance(customerId: string): Promise<bigint> {
  const result = await app.deps.db.query<{ balance: bigint }>("SELECT balance FROM wallets WHERE customer_id = $1 AND mode = 'live'", [customerId]);
  return BigInt(result.rows[0]!.balance);
}

async function topupEntries(sessionId: string) {
  return (await app.deps.db.query("SELECT * FROM ledger_entries WHERE kind = 'topup' AND ref_type = 'stripe_checkout_session' AND ref_id = $1", [sessionId])).rows;
}

async function storedEvent(id: string) {
  return (await app.deps.db.query<{ id: string; outcome: string; order_id: string | null }>('SELECT * FROM stripe_events WHERE id = $1', [id])).rows[0] ?? null;
}

async function exceptionsFor(refId: string) {
  return (await app.deps.db.query<any>('SELECT * FROM payment_exceptions WHERE ref_id = $1', [refId])).rows;
}

const status = async (orderId: string) => (await app.deps.topups.get(orderId, null)).status;
const outcomes = (deliveries: Array<{ status: number | null; body: string }>) =>
  deliveries.map((delivery) => `${delivery.status} ${delivery.status === 200 ? JSON.parse(delivery.body).outcome : ''}`.trim());

/** A signed delivery made by hand (a replay, a forgery): the raw body and the header as given. */
function post(body: string, signature: string | null, headers: Record<string, string> = {}) {
  return app.request('POST', '/webhooks/stripe', {
    rawBody: body,
    headers: { 'content-type': 'application/json; charset=utf-8', ...(signature === null ? {} : { 'stripe-signature': signature }), ...headers },
  });
}

function eventBody(id: string, type: string, object: Record<string, unknown>): string {
  return JSON.stringify({ id, object: 'event', api_version: '2026-11-18.endive', created: Math.floor(app.clock.now().getTime() / 1000), data: { object }, livemode: false, pending_webhooks: 1, type }, null, 2);
}

const nowSeconds = () => Math.floor(app.clock.now().getTime() / 1000);

describe('Stripe Checkout top-ups', () => {
  it('the order creates a Checkout Session priced by genrelay, with the order id as client reference and idempotency key', async () => {
    const { key } = await buyer();
    const order = await stripeOrder(key, 1234);
    expect(order.view).toMatchObject({ method: 'stripe', status: 'pending', amount: 1234, currency: 'USD', credits: 123_400, pay_to: null });
    const session = mock.stripe.session(order.sessionId)!;
    expect(session).toMatchObject({ amount_total: 1234, currency: 'usd', client_reference_id: order.id, mode: 'payment', status: 'open', payment_status: 'unpaid' });
    expect(order.view.checkout_url).toBe(session.url);
    expect(session.success_url).toContain(`/console/billing/topups/${order.id}?checkout=success`);
    // The SDK sent the order's idempotency key: creating the session again answers the same session.
    const again = await app.deps.stripe!.createCheckoutSession({
      orderId: order.id, amount: 1234n, currency: 'USD', credits: 123_400n, customerEmail: null,
      successUrl: session.success_url!, cancelUrl: session.cancel_url!, expiresAt: new Date(session.expires_at * 1000),
    });
    expect(again.id).toBe(order.sessionId);
    expect(Object.values(mock.control.stats.creates)).toContain(2);
    // Retrieval reads the same session back through the SDK.
    expect(await app.deps.stripe!.retrieveSession(order.sessionId)).toMatchObject({ id: order.sessionId, status: 'open', amount_total: 1234, client_reference_id: order.id });
  });

  it('the hosted page pays: the signed checkout.session.completed credits the live wallet once, then the payer is sent back', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key);
    const page = await fetch(order.view.checkout_url);
    const html = await page.text();
    expect(html).toContain('Pay 10.00 USD');
    const paid = await fetch(`${mock.baseUrl}/checkout/${order.sessionId}/pay`, { method: 'POST', redirect: 'manual' });
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toContain(`/console/billing/topups/${order.id}?checkout=success`);
    expect(await balance(customer.id)).toBe(order.credits);
    const view = await app.request('GET', `/v1/billing/topups/${order.id}`, { key });
    expect(view.body).toMatchObject({ status: 'paid', checkout_url: null });
    expect(view.body.paid_at).toBe(nowSeconds());
    const [entry] = await topupEntries(order.sessionId);
    expect(entry).toMatchObject({ kind: 'topup', amount: order.credits });
    const row = await app.deps.topups.get(order.id, null);
    expect(row).toMatchObject({ payment_ref_type: 'stripe_checkout_session', payment_ref_id: order.sessionId });
    expect(row.stripe_payment_intent).toMatch(/^pi_/);
    const [delivery] = mock.stripe.deliveries.filter((candidate) => candidate.type === 'checkout.session.completed' && JSON.parse(candidate.body).id === mock.stripe.events.at(-1)!.id);
    expect(delivery).toMatchObject({ status: 200 });
    expect(await storedEvent(mock.stripe.events.at(-1)!.id)).toMatchObject({ outcome: 'credited', order_id: order.id });
  });

  it('10 concurrent deliveries of the same event credit once; a second event of the same session credits nothing more', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key);
    const paid = await control(`/sessions/${order.sessionId}/pay`, { copies: 10 });
    expect(paid.deliveries).toHaveLength(10);
    expect(paid.deliveries.every((delivery: { status: number }) => delivery.status === 200)).toBe(true);
    const results = outcomes(paid.deliveries).sort();
    expect(results.filter((result) => result === '200 credited')).toHaveLength(1);
    expect(results.filter((result) => result === '200 duplicate')).toHaveLength(9);
    expect(await topupEntries(order.sessionId)).toHaveLength(1);
    expect(await balance(customer.id)).toBe(order.credits);
    expect((await app.deps.db.query('SELECT id FROM stripe_events WHERE id = $1', [paid.event.id])).rows).toHaveLength(1);
    // async_payment_succeeded for the same session (another event id): the session id is the reference.
    const twin = await control('/events', { type: 'checkout.session.async_payment_succeeded', object: paid.session, copies: 3 });
    expect(outcomes(twin.deliveries).sort()).toEqual(['200 already_credited', '200 duplicate', '200 duplicate']);
    expect(await balance(customer.id)).toBe(order.credits);
  });

  it('a tampered signature or body → 400 with the documented error body and nothing stored; the genuine delivery then credits', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key);
    const events = await app.deps.db.query('SELECT COUNT(*)::int AS count FROM stripe_events');
    const forged = await control(`/sessions/${order.sessionId}/pay`, { tamper: 'signature' });
    expect(forged.deliveries[0].status).toBe(400);
    expect(JSON.parse(forged.deliveries[0].body).error).toMatchObject({ code: 'invalid_request', param: 'Stripe-Signature', type: 'invalid_request_error' });
    const altered = await control(`/events/${forged.event.id}/resend`, { tamper: 'body' });
    expect(altered.deliveries[0].status).toBe(400);
    expect(await storedEvent(forged.event.id)).toBeNull();
    expect((await app.deps.db.query('SELECT COUNT(*)::int AS count FROM stripe_events')).rows).toEqual(events.rows);
    expect(await topupEntries(order.sessionId)).toEqual([]);
    expect(await status(order.id)).toBe('pending');
    expect(await balance(customer.id)).toBe(0n);
    // By hand: no header, a wrong secret, garbage, an empty body — each the /v1 error body with the request id.
    const body = JSON.stringify(forged.event, null, 2);
    for (const [signature, raw] of [
      [null, body],
      [stripeSignature(body, 'whsec_not_the_secret', nowSeconds()), body],
      ['t=abc,v1=zz', body],
      [stripeSignature(body, SECRET, nowSeconds()), `${body} `],
      [stripeSignature('', SECRET, nowSeconds()), ''],
    ] as const) {
      const response = await post(raw, signature);
      expectV1Error(response, 400, 'invalid_request');
    }
    expect(await storedEvent(forged.event.id)).toBeNull();
    // The untampered event is still good.
    const genuine = await control(`/events/${forged.event.id}/resend`);
    expect(outcomes(genuine.deliveries)).toEqual(['200 credited']);
    expect(await balance(customer.id)).toBe(order.credits);
  });

  it('a signed event with NUL characters is processed like any other: credited once, quarantined when it fits no order, never a 500', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key);
    const paid = await control(`/sessions/${order.sessionId}/pay`, { deliver: false });
    // NULs (and an unpaired surrogate) in metadata and the description: the body carries them as JSON escapes.
    const odd = { ...paid.session, metadata: { note: 'a\u0000b', 'k\u0000': 'v\ud800' }, description: 'x\u0000y' };
    const delivered = await control('/events', { type: 'checkout.session.completed', object: odd, copies: 3 });
    expect(JSON.stringify(delivered.event)).toContain('a\\u0000b');
    expect(outcomes(delivered.deliveries).sort()).toEqual(['200 credited', '200 duplicate', '200 duplicate']);
    expect(outcomes((await control(`/events/${delivered.event.id}/resend`)).deliveries)).toEqual(['200 duplicate']);
    expect(await topupEntries(order.sessionId)).toHaveLength(1);
    expect(await balance(customer.id)).toBe(order.credits);
    expect(await storedEvent(delivered.event.id)).toMatchObject({ outcome: 'credited', order_id: order.id });

    // NULs in the values genrelay stores (the event id, the session id, the client reference): each NUL is kept as
    // U+FFFD, so the event is stored once and the session, naming no order of ours, is quarantined for the operator.
    const strange = { ...paid.session, id: 'cs_test_nul\u0000_0001', client_reference_id: `${order.id}\u0000`, payment_intent: 'pi_\u0000' };
    const body = eventBody('evt_nul\u0000_0001', 'checkout.session.completed', strange);
    const first = await post(body, stripeSignature(body, SECRET, nowSeconds()));
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ received: true, id: 'evt_nul\ufffd_0001', outcome: 'quarantined' });
    const again = await post(body, stripeSignature(body, SECRET, nowSeconds()));
    expect(again.status, again.text).toBe(200);
    expect(again.body.outcome).toBe('duplicate');
    const [exception] = await exceptionsFor('cs_test_nul\ufffd_0001');
    expect(exception).toMatchObject({ queue: 'quarantine', kind: 'unknown_order', status: 'open' });
    expect(exception.details).toMatchObject({ source: 'evt_nul\ufffd_0001', client_reference_id: `${order.id}\ufffd` });
    // A refund naming such a charge: the same, quarantined as an unknown charge.
    const refund = eventBody('evt_nul_refund_0001', 'charge.refunded', { id: 'ch_\u0000', object: 'charge', amount_refunded: 100, currency: 'usd\u0000', payment_intent: 'pi_\u0000' });
    const refunded = await post(refund, stripeSignature(refund, SECRET, nowSeconds()));
    expect(refunded.status, refunded.text).toBe(200);
    expect(refunded.body.outcome).toBe('quarantined');
    expect(await balance(customer.id)).toBe(order.credits);
    expect(await app.deps.topups.get(order.id, null)).toMatchObject({ status: 'paid' });
  });

  it('a paid amount or currency that differs from the order is quarantined for the operator, never credited', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key, 2000);
    const paid = await control(`/sessions/${order.sessionId}/pay`, { amount_total: 1999 });
    expect(outcomes(paid.deliveries)).toEqual(['200 quarantined']);
    expect(await balance(customer.id)).toBe(0n);
    expect(await topupEntries(order.sessionId)).toEqual([]);
    const [exception] = await exceptionsFor(order.sessionId);
    expect(exception).toMatchObject({ queue: 'quarantine', kind: 'amount_mismatch', method: 'stripe', order_id: order.id, customer_id: customer.id, ref_type: 'stripe_checkout_session', amount: 1999n, currency: 'usd', status: 'open' });
    expect(exception.details).toMatchObject({ order_amount: 2000, order_currency: 'USD' });
    expect((await app.deps.topups.get(order.id, null))).toMatchObject({ status: 'failed', failure_reason: 'payment_quarantined:amount_mismatch' });
    expect(logs.some((line) => line.includes('"level":50') && line.includes('stripe payment quarantined') && line.includes('amount_mismatch'))).toBe(true);
    // The same event again changes nothing; a late async success of the same session is quarantined the same way.
    expect(outcomes((await control(`/events/${paid.event.id}/resend`)).deliveries)).toEqual(['200 duplicate']);
    expect(outcomes((await control('/events', { type: 'checkout.session.async_payment_succeeded', object: paid.session })).deliveries)).toEqual(['200 quarantined']);
    expect(await exceptionsFor(order.sessionId)).toHaveLength(1);
    expect(await balance(customer.id)).toBe(0n);

    // Currency: the amount fits, the currency does not (compared case-insensitively: the order says USD, Stripe usd).
    const euro = await stripeOrder(key, 2000);
    expect(outcomes((await control(`/sessions/${euro.sessionId}/pay`, { currency: 'eur' })).deliveries)).toEqual(['200 quarantined']);
    expect((await exceptionsFor(euro.sessionId))[0]).toMatchObject({ kind: 'currency_mismatch', currency: 'eur' });

    // A session naming no order of ours, or naming an order that holds another session.
    const stranger = { ...paid.session, id: 'cs_test_stranger_0001', client_reference_id: 'top_00000000000000000000000000' };
    expect(outcomes((await control('/events', { type: 'checkout.session.completed', object: stranger })).deliveries)).toEqual(['200 quarantined']);
    expect((await exceptionsFor('cs_test_stranger_0001'))[0]).toMatchObject({ kind: 'unknown_order', order_id: null });
    const other = await stripeOrder(key, 1500);
    const borrowed = { ...paid.session, id: 'cs_test_borrowed_0001', amount_total: 1500, currency: 'usd', client_reference_id: other.id };
    expect(outcomes((await control('/events', { type: 'checkout.session.completed', object: borrowed })).deliveries)).toEqual(['200 quarantined']);
    expect((await exceptionsFor('cs_test_borrowed_0001'))[0]).toMatchObject({ kind: 'session_mismatch', customer_id: customer.id });
    expect(await status(other.id)).toBe('pending');
    expect(await balance(customer.id)).toBe(0n);
  });

  it('a crash between storing the event and crediting rolls both back (500); the retried delivery credits exactly once', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key);
    // The crash: the statement that turns the order paid fails, after the event row was inserted in the transaction.
    await app.deps.db.query(`CREATE FUNCTION test_crash_before_credit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'simulated crash after the event was stored'; END $$`);
    await app.deps.db.query(`CREATE TRIGGER test_crash_before_credit BEFORE UPDATE ON topup_orders FOR EACH ROW
      WHEN (NEW.id = '${order.id}' AND NEW.status = 'paid') EXECUTE FUNCTION test_crash_before_credit()`);
    let eventId: string;
    try {
      const paid = await control(`/sessions/${order.sessionId}/pay`);
      eventId = paid.event.id;
      expect(paid.deliveries[0].status).toBe(500);
      expect(JSON.parse(paid.deliveries[0].body).error).toMatchObject({ code: 'internal_error' });
      expect(await storedEvent(eventId)).toBeNull();
      expect(await topupEntries(order.sessionId)).toEqual([]);
      expect(await status(order.id)).toBe('pending');
      // Stripe retries while the fault lasts: still nothing stored.
      expect((await control(`/events/${eventId}/resend`)).deliveries[0].status).toBe(500);
    } finally {
      await app.deps.db.query('DROP TRIGGER test_crash_before_credit ON topup_orders');
      await app.deps.db.query('DROP FUNCTION test_crash_before_credit()');
    }
    expect(outcomes((await control(`/events/${eventId}/resend`)).deliveries)).toEqual(['200 credited']);
    expect(outcomes((await control(`/events/${eventId}/resend`, { copies: 2 })).deliveries)).toEqual(['200 duplicate', '200 duplicate']);
    expect(await topupEntries(order.sessionId)).toHaveLength(1);
    expect(await balance(customer.id)).toBe(order.credits);
  });

  it('payment_status unpaid → confirming and no credit until async_payment_succeeded', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key);
    const completed = await control(`/sessions/${order.sessionId}/pay`, { payment_status: 'unpaid' });
    expect(outcomes(completed.deliveries)).toEqual(['200 awaiting_payment']);
    expect(await status(order.id)).toBe('confirming');
    expect(await balance(customer.id)).toBe(0n);
    expect(await topupEntries(order.sessionId)).toEqual([]);
    expect((await app.request('GET', `/v1/billing/topups/${order.id}`, { key })).body.status).toBe('confirming');
    const cleared = await control(`/sessions/${order.sessionId}/async`, { outcome: 'succeeded' });
    expect(outcomes(cleared.deliveries)).toEqual(['200 credited']);
    expect(await status(order.id)).toBe('paid');
    expect(await balance(customer.id)).toBe(order.credits);
  });

  it('an asynchronous payment that fails → order failed; an expired session → order expired; nothing credited', async () => {
    const { customer, key } = await buyer();
    const failing = await stripeOrder(key);
    await control(`/sessions/${failing.sessionId}/pay`, { payment_status: 'unpaid' });
    expect(outcomes((await control(`/sessions/${failing.sessionId}/async`, { outcome: 'failed' })).deliveries)).toEqual(['200 failed']);
    expect(await app.deps.topups.get(failing.id, null)).toMatchObject({ status: 'failed', failure_reason: 'async_payment_failed' });
    const abandoned = await stripeOrder(key);
    expect(outcomes((await control(`/sessions/${abandoned.sessionId}/expire`)).deliveries)).toEqual(['200 expired']);
    expect((await app.request('GET', `/v1/billing/topups/${abandoned.id}`, { key })).body).toMatchObject({ status: 'expired', checkout_url: null });
    expect(await balance(customer.id)).toBe(0n);
    // Other event types are stored and ignored.
    const other = await control('/events', { type: 'customer.created', object: { id: 'cus_x', object: 'customer' } });
    expect(outcomes(other.deliveries)).toEqual(['200 ignored']);
    expect(await storedEvent(other.event.id)).toMatchObject({ outcome: 'ignored', order_id: null });
  });

  it('refunds take back credits in proportion to the cumulative amount refunded; a full refund marks the order refunded', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key, 1000);
    await control(`/sessions/${order.sessionId}/pay`);
    expect(await balance(customer.id)).toBe(100_000n);
    const partial = await control(`/sessions/${order.sessionId}/refund`, { amount: 333 });
    expect(outcomes(partial.deliveries)).toEqual(['200 reversed']);
    // floor(100 000 × 333 / 1000) = 33 300.
    expect(await balance(customer.id)).toBe(66_700n);
    expect(await app.deps.topups.get(order.id, null)).toMatchObject({ status: 'paid', refunded_amount: 333n, reversed_credits: 33_300n });
    expect(outcomes((await control(`/events/${partial.event.id}/resend`)).deliveries)).toEqual(['200 duplicate']);
    const second = await control(`/sessions/${order.sessionId}/refund`, { amount: 1 });
    expect(outcomes(second.deliveries)).toEqual(['200 reversed']);
    // floor(100 000 × 334 / 1000) = 33 400: 100 more.
    expect(await balance(customer.id)).toBe(66_600n);
    const rest = await control(`/sessions/${order.sessionId}/refund`);
    expect(rest.charge).toMatchObject({ amount_refunded: 1000, refunded: true });
    expect(outcomes(rest.deliveries)).toEqual(['200 reversed']);
    expect(await balance(customer.id)).toBe(0n);
    expect(await app.deps.topups.get(order.id, null)).toMatchObject({ status: 'refunded', refunded_amount: 1000n, reversed_credits: 100_000n });
    const refunds = (await app.deps.db.query<{ ref_id: string; amount: bigint }>("SELECT ref_id, amount FROM ledger_entries WHERE kind = 'refund' AND ref_type = 'stripe_refund' ORDER BY id")).rows
      .filter((row) => row.ref_id.startsWith(rest.charge.id));
    expect(refunds.map((row) => [row.ref_id, row.amount])).toEqual([
      [`${rest.charge.id}:333`, -33_300n], [`${rest.charge.id}:334`, -100n], [`${rest.charge.id}:1000`, -66_600n],
    ]);
    expect((await app.request('GET', `/v1/billing/topups/${order.id}`, { key })).body).toMatchObject({ status: 'refunded', refunded_amount: 1000 });
  });

  it('a dispute the wallet cannot cover suspends the customer and files a reversal_shortfall; a won dispute gives back what it took', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key, 1000);
    await control(`/sessions/${order.sessionId}/pay`);
    // The customer spent most of it (an operator adjustment stands in for usage).
    const spent = await app.request('POST', `/api/public/customers/${customer.id}/credits`, { operator: true, body: { amount: -80_000, reason: 'spent' } });
    expect(spent.status, spent.text).toBe(201);
    const disputed = await control(`/sessions/${order.sessionId}/dispute`);
    expect(outcomes(disputed.deliveries)).toEqual(['200 reversed_with_shortfall']);
    expect(await balance(customer.id)).toBe(0n);
    expect((await app.request('GET', `/api/public/customers/${customer.id}`, { operator: true })).body.status).toBe('suspended');
    expectV1Error(await app.request('GET', '/v1/billing/topups', { key }), 403, 'customer_suspended');
    const [exception] = await exceptionsFor(disputed.dispute.id);
    expect(exception).toMatchObject({ queue: 'quarantine', kind: 'reversal_shortfall', order_id: order.id, customer_id: customer.id, ref_type: 'stripe_dispute', amount: 1000n, status: 'open' });
    expect(exception.details).toMatchObject({ requested_credits: 100_000, applied_credits: 20_000, shortfall_credits: 80_000, customer_suspended: true });
    const audit = await app.request('GET', `/api/admin/audit?target_id=${customer.id}&action=customer.update`, { operator: true });
    expect(audit.body.data[0]).toMatchObject({ actor: 'system:stripe' });
    expect(logs.some((line) => line.includes('"level":50') && line.includes('customer suspended, operator alerted'))).toBe(true);
    expect(exception.details.suspension).toBe('suspended');
    // The operator's console saves the whole form (status unchanged): the suspension stays the dispute's.
    const saved = await app.request('PATCH', `/api/public/customers/${customer.id}`, { operator: true, body: { status: 'suspended', plan: { rate_limit_rpm: 100 } } });
    expect(saved.status, saved.text).toBe(200);
    // Won: the 20 000 the dispute took come back (the shortfall was never taken), and the suspension it caused is lifted.
    const won = await control(`/disputes/${disputed.dispute.id}/close`, { status: 'won' });
    expect(outcomes(won.deliveries)).toEqual(['200 restored']);
    expect(await balance(customer.id)).toBe(20_000n);
    expect(await app.deps.topups.get(order.id, null)).toMatchObject({ status: 'paid', reversed_credits: 0n });
    expect((await app.request('GET', `/api/public/customers/${customer.id}`, { operator: true })).body.status).toBe('active');
    expect((await app.request('GET', '/v1/billing/topups', { key })).status).toBe(200);
    const lifted = (await app.request('GET', `/api/admin/audit?target_id=${customer.id}&action=customer.update`, { operator: true })).body.data[0];
    expect(lifted).toMatchObject({ actor: 'system:stripe', before: { status: 'suspended' }, after: { status: 'active' } });
    expect(logs.some((line) => line.includes('the suspension it caused is lifted') && line.includes(disputed.dispute.id))).toBe(true);
    // Redelivered, or sent again under another event id: nothing more is restored or lifted.
    expect(outcomes((await control(`/events/${won.event.id}/resend`)).deliveries)).toEqual(['200 duplicate']);
    const manual = await app.request('PATCH', `/api/public/customers/${customer.id}`, { operator: true, body: { status: 'suspended' } });
    expect(manual.status, manual.text).toBe(200);
    const again = await control('/events', { type: 'charge.dispute.closed', object: won.dispute });
    expect(outcomes(again.deliveries)).toEqual(['200 already_reversed']);
    expect(await balance(customer.id)).toBe(20_000n);
    expect((await app.request('GET', `/api/public/customers/${customer.id}`, { operator: true })).body.status).toBe('suspended');
  });

  it('a won dispute lifts only the suspension it caused: not an operator\'s, not one another reversal still holds', async () => {
    const customerStatus = async (id: string) => (await app.request('GET', `/api/public/customers/${id}`, { operator: true })).body.status;
    const spend = async (id: string, amount: number) => {
      const response = await app.request('POST', `/api/public/customers/${id}/credits`, { operator: true, body: { amount: -amount, reason: 'spent' } });
      expect(response.status, response.text).toBe(201);
    };
    const setStatus = async (id: string, status: string) => {
      const response = await app.request('PATCH', `/api/public/customers/${id}`, { operator: true, body: { status } });
      expect(response.status, response.text).toBe(200);
    };

    // 1. An operator suspended the customer before the dispute: its shortfall holds nothing, winning lifts nothing.
    const first = await buyer();
    const firstOrder = await stripeOrder(first.key, 1000);
    await control(`/sessions/${firstOrder.sessionId}/pay`);
    await spend(first.customer.id, 100_000);
    await setStatus(first.customer.id, 'suspended');
    const openedOnManual = await control(`/sessions/${firstOrder.sessionId}/dispute`);
    expect(outcomes(openedOnManual.deliveries)).toEqual(['200 reversed_with_shortfall']);
    expect((await exceptionsFor(openedOnManual.dispute.id))[0].details).toMatchObject({ customer_suspended: true, suspension: 'operator' });
    expect(outcomes((await control(`/disputes/${openedOnManual.dispute.id}/close`, { status: 'won' })).deliveries)).toEqual(['200 nothing_to_restore']);
    expect(await customerStatus(first.customer.id)).toBe('suspended');

    // 2. The dispute suspended the customer, then the operator took the status over (reactivated, suspended again).
    const second = await buyer();
    const secondOrder = await stripeOrder(second.key, 1000);
    await control(`/sessions/${secondOrder.sessionId}/pay`);
    await spend(second.customer.id, 100_000);
    const openedThenTaken = await control(`/sessions/${secondOrder.sessionId}/dispute`);
    expect(outcomes(openedThenTaken.deliveries)).toEqual(['200 reversed_with_shortfall']);
    await setStatus(second.customer.id, 'active');
    await setStatus(second.customer.id, 'suspended');
    await control(`/disputes/${openedThenTaken.dispute.id}/close`, { status: 'won' });
    expect(await customerStatus(second.customer.id)).toBe('suspended');

    // 3. Two disputes and a refund the wallet could not cover: the suspension lasts while any of them still stands.
    const third = await buyer();
    const orders = [await stripeOrder(third.key, 1000), await stripeOrder(third.key, 1000), await stripeOrder(third.key, 1000)];
    for (const order of orders) await control(`/sessions/${order.sessionId}/pay`);
    await spend(third.customer.id, 300_000);
    const disputeA = await control(`/sessions/${orders[0]!.sessionId}/dispute`);
    const disputeB = await control(`/sessions/${orders[1]!.sessionId}/dispute`);
    expect(outcomes([...disputeA.deliveries, ...disputeB.deliveries])).toEqual(['200 reversed_with_shortfall', '200 reversed_with_shortfall']);
    expect((await exceptionsFor(disputeA.dispute.id))[0].details.suspension).toBe('suspended');
    expect((await exceptionsFor(disputeB.dispute.id))[0].details.suspension).toBe('held');
    expect(outcomes((await control(`/disputes/${disputeA.dispute.id}/close`, { status: 'won' })).deliveries)).toEqual(['200 nothing_to_restore']);
    expect(await customerStatus(third.customer.id)).toBe('suspended');
    const refund = await control(`/sessions/${orders[2]!.sessionId}/refund`);
    expect(outcomes(refund.deliveries)).toEqual(['200 reversed_with_shortfall']);
    expect(outcomes((await control(`/disputes/${disputeB.dispute.id}/close`, { status: 'won' })).deliveries)).toEqual(['200 nothing_to_restore']);
    // The refund's shortfall still holds it (a refund is never won back): the operator decides.
    expect(await customerStatus(third.customer.id)).toBe('suspended');
    expect(logs.some((line) => line.includes('still held by another reversal') && line.includes(disputeB.dispute.id))).toBe(true);

    // Without the refund, the last won dispute lifts it.
    const fourth = await buyer();
    const pair = [await stripeOrder(fourth.key, 1000), await stripeOrder(fourth.key, 1000)];
    for (const order of pair) await control(`/sessions/${order.sessionId}/pay`);
    await spend(fourth.customer.id, 200_000);
    const disputeC = await control(`/sessions/${pair[0]!.sessionId}/dispute`);
    const disputeD = await control(`/sessions/${pair[1]!.sessionId}/dispute`);
    await control(`/disputes/${disputeD.dispute.id}/close`, { status: 'won' });
    expect(await customerStatus(fourth.customer.id)).toBe('suspended');
    await control(`/disputes/${disputeC.dispute.id}/close`, { status: 'won' });
    expect(await customerStatus(fourth.customer.id)).toBe('active');
  });

  it('a dispute the wallet covers takes the disputed share; a lost dispute keeps the reversal', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key, 1000);
    await control(`/sessions/${order.sessionId}/pay`);
    const disputed = await control(`/sessions/${order.sessionId}/dispute`, { amount: 400 });
    expect(outcomes(disputed.deliveries)).toEqual(['200 reversed']);
    expect(await balance(customer.id)).toBe(60_000n);
    expect(outcomes((await control(`/disputes/${disputed.dispute.id}/close`, { status: 'lost' })).deliveries)).toEqual(['200 dispute_lost']);
    expect(await balance(customer.id)).toBe(60_000n);
    expect((await app.request('GET', `/api/public/customers/${customer.id}`, { operator: true })).body.status).toBe('active');
  });

  it('reconciliation credits a paid session whose webhook never came, and never double-credits with the webhook', async () => {
    const { customer, key } = await buyer();
    const lost = await stripeOrder(key);
    const expiring = await stripeOrder(key);
    const open = await stripeOrder(key);
    await control(`/sessions/${lost.sessionId}/pay`, { deliver: false });
    await control(`/sessions/${expiring.sessionId}/expire`, { deliver: false });
    // Not stale yet: nothing is read.
    expect(await app.worker.reconcileStripeOnce()).toMatchObject({ checked: 0 });
    await advance(STRIPE_RECONCILE_STALE_MS + 60_000);
    const round = await app.worker.reconcileStripeOnce();
    expect(round).toMatchObject({ credited: 1, expired: 1, errors: 0 });
    expect(round.checked).toBeGreaterThanOrEqual(3);
    expect(await status(lost.id)).toBe('paid');
    expect(await status(expiring.id)).toBe('expired');
    expect(await status(open.id)).toBe('pending');
    expect(await balance(customer.id)).toBe(lost.credits);
    // The open session's order was touched: the next round does not read it again.
    expect(await app.worker.reconcileStripeOnce()).toMatchObject({ checked: 0 });
    // The webhook arrives late (twice): the session id is the reference, nothing more is credited.
    const late = mock.stripe.events.find((event) => event.type === 'checkout.session.completed' && (event.data.object as { id: string }).id === lost.sessionId)!;
    expect(outcomes((await control(`/events/${late.id}/resend`, { copies: 2 })).deliveries).sort()).toEqual(['200 already_credited', '200 duplicate']);
    expect(await topupEntries(lost.sessionId)).toHaveLength(1);
    // Webhook first, then the job: the order is paid, so the job has nothing stale to read.
    const prompt = await stripeOrder(key);
    await control(`/sessions/${prompt.sessionId}/pay`);
    await advance(STRIPE_RECONCILE_STALE_MS + 60_000);
    const after = await app.worker.reconcileStripeOnce();
    expect(after).toMatchObject({ credited: 0 });
    expect(await topupEntries(prompt.sessionId)).toHaveLength(1);
    expect(await balance(customer.id)).toBe(lost.credits + prompt.credits);
  });

  it('reconciliation stores what it reads of a session as the webhook does: a NUL in the payment intent is credited once', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key);
    await control(`/sessions/${order.sessionId}/pay`, { deliver: false });
    // PostgreSQL keeps no NUL in text: read raw, the order's payment intent could never be stored and the round would
    // fail on this order every time — the one path left to credit a payment whose webhook was lost.
    mock.stripe.session(order.sessionId)!.payment_intent = 'pi_odd\u0000intent';
    await advance(STRIPE_RECONCILE_STALE_MS + 60_000);
    expect(await app.worker.reconcileStripeOnce()).toMatchObject({ credited: 1, errors: 0 });
    expect(await status(order.id)).toBe('paid');
    expect(await balance(customer.id)).toBe(order.credits);
    expect(await topupEntries(order.sessionId)).toHaveLength(1);
    const stored = await app.deps.db.query<{ stripe_payment_intent: string }>('SELECT stripe_payment_intent FROM topup_orders WHERE id = $1', [order.id]);
    expect(stored.rows[0]!.stripe_payment_intent).toBe('pi_odd\uFFFDintent');
  });

  it('a replayed event signed more than 300 s ago on the injected clock → 400, stored nothing', async () => {
    const { customer, key } = await buyer();
    const order = await stripeOrder(key);
    const paid = await control(`/sessions/${order.sessionId}/pay`, { deliver: false });
    const body = JSON.stringify(paid.event, null, 2);
    const signedAt = nowSeconds();
    const header = stripeSignature(body, SECRET, signedAt);
    await advance(301_000);
    const replay = await post(body, header);
    expectV1Error(replay, 400, 'invalid_request');
    expect(replay.body.error.param).toBe('Stripe-Signature');
    expect(await storedEvent(paid.event.id)).toBeNull();
    expect(await balance(customer.id)).toBe(0n);
    // Within the tolerance the same bytes are accepted.
    const fresh = await post(body, stripeSignature(body, SECRET, nowSeconds() - 299));
    expect(fresh.status, fresh.text).toBe(200);
    expect(fresh.body).toMatchObject({ received: true, id: paid.event.id, outcome: 'credited' });
    expect(await balance(customer.id)).toBe(order.credits);
    // Any content type is taken as bytes; the signature decides (no JSON parser ran before it).
    const other = eventBody('evt_plain_text_0001', 'ping', { id: 'x' });
    const plain = await post(other, stripeSignature(other, SECRET, nowSeconds()), { 'content-type': 'text/plain' });
    expect(plain.body).toMatchObject({ outcome: 'ignored' });
    const notJson = 'not json at all';
    expectV1Error(await post(notJson, stripeSignature(notJson, SECRET, nowSeconds())), 400, 'invalid_request');
  });

  it('no key and no CSRF; bodies past the limit → 413; deliveries are rate limited per source IP', async () => {
    const big = 'x'.repeat(600 * 1024);
    expectV1Error(await post(big, stripeSignature(big, SECRET, nowSeconds())), 413, 'request_too_large');
    const body = eventBody('evt_rate_0001', 'ping', {});
    const signature = stripeSignature(body, SECRET, nowSeconds());
    let limited: Awaited<ReturnType<typeof post>> | null = null;
    for (let index = 0; index < 700 && !limited; index += 1) {
      const response = await post(body, index % 2 === 0 ? signature : 'bad');
      if (response.status === 429) limited = response;
      else expect([200, 400]).toContain(response.status);
    }
    expect(limited).not.toBeNull();
    expectV1Error(limited!, 429, 'rate_limited');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
