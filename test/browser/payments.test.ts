import { createHash } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tronAddressFromHex } from '../../src/providers/chains/transfer-log.js';
import { freePort } from '../harness/app.js';
import { enrolledAdmin } from '../harness/console.js';
import { CUSTOMER_PASSWORD, signedUpUser } from '../harness/customer-console.js';
import { mount, startMockServer, type RunningMock } from '../mock-upstreams/shared/harness.js';
import { createStripeFamily } from '../mock-upstreams/stripe/server.js';
import { createTronFamily } from '../mock-upstreams/tron/server.js';
import { POLL, signIn, useConsoleApp } from './harness.js';

/**
 * Top-ups in the consoles (issue 13), end to end in Chromium: a customer buys credits by card through the fake Stripe
 * (its hosted checkout page, its signed webhook, the return page that updates by itself), cancels a second checkout,
 * pays a USDT order on the mock TRON chain (address, exact amount, QR code, countdown; `confirming n/N` and then
 * paid, without reloading the page) and prints the receipt; the credits show on Billing and the overview. Then an
 * operator credits an unmatched transfer to the customer from the Payments page.
 *
 * One mock server on loopback carries the fake Stripe API (the root: the SDK has no base path) and the TronGrid
 * mock (`/tron`); the chain watcher is driven one scan at a time (`worker.scanChainsOnce()`).
 */
const WEBHOOK_SECRET = 'whsec_browser_payments_0123456789abcdef';
const TRON_ADDRESS = tronAddressFromHex(createHash('sha256').update('browser-payments-tron').digest('hex').slice(0, 40))!;
const CONFIRMATIONS = 19;
const CREDITS_PER_USD = 10_000;

const mockPort = await freePort();
const mockBase = `http://127.0.0.1:${mockPort}`;
let mock: RunningMock | null = null;

beforeAll(async () => {
  mock = await startMockServer(
    [
      mount('/tron', createTronFamily({ confirmations: CONFIRMATIONS }), 'tron', { key: null }),
      mount('', createStripeFamily({ webhookSecret: WEBHOOK_SECRET }), 'stripe', { key: null }),
    ],
    mockPort,
  );
});

afterAll(async () => {
  await mock?.close();
});

const ctx = useConsoleApp({
  env: {
    STRIPE_SECRET_KEY: 'sk_test_browser_payments_0123456789',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: mockBase,
    USDT_TRON_ADDRESSES: TRON_ADDRESS,
    TRONGRID_URL: `${mockBase}/tron`,
    TRON_CONFIRMATIONS: String(CONFIRMATIONS),
    CREDITS_PER_CURRENCY_UNIT: String(CREDITS_PER_USD),
  },
});

beforeAll(async () => {
  // The app's clock is manual: start it at the real time, the clock of the fake Stripe's signatures and of the chain.
  ctx.app.clock.set(Date.now());
  await control('/stripe/_mock/webhook', { url: `${ctx.app.baseUrl}/webhooks/stripe` });
  // A 10 % bonus from 20 USD.
  const settings = await ctx.app.request('PATCH', '/api/admin/settings', { operator: true, body: { topup_bonus_tiers: [{ min_amount: 2000, bonus_percent: 10 }] } });
  expect(settings.status, settings.text).toBe(200);
});

async function control(path: string, body: unknown = {}): Promise<any> {
  const response = await fetch(`${mockBase}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await response.json();
  if (response.status !== 200) throw new Error(`mock ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function liveBalance(customerId: string): Promise<number> {
  const response = await ctx.app.request('GET', `/api/public/customers/${customerId}/credits?mode=live`, { operator: true });
  expect(response.status, response.text).toBe(200);
  return response.body.balance;
}

async function orderRow(id: string) {
  return ctx.app.deps.topups.get(id, null);
}

/** Marks the document; `stillSameDocument` is true only if no navigation or reload happened since. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true;
  });
}

async function stillSameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument === true);
}

async function scan(): Promise<void> {
  const reports = await ctx.app.worker.scanChainsOnce();
  expect(reports.filter((report) => report.error)).toEqual([]);
}

async function openBilling(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing', exact: true }).click();
  await page.getByRole('heading', { name: 'Billing', level: 1 }).waitFor();
}

let customer: { email: string; customerId: string } | null = null;

describe('top-ups in the consoles', () => {
  it('card through the fake Stripe (return page updates by itself), a cancelled checkout, USDT on the mock chain, the receipt', async () => {
    const user = await signedUpUser(ctx.app, { email: 'payer@studio.example' });
    customer = user;
    const { page } = await ctx.newPage();
    await page.goto(ctx.url('/console/login'));
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(CUSTOMER_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    expect(await liveBalance(user.customerId)).toBe(0);

    // The form: both methods offered, the limits, what an amount buys (bonus tier included).
    await openBilling(page);
    const form = page.getByRole('region', { name: 'Add credits' });
    await form.getByRole('radio', { name: /Card \(Stripe\)/ }).check();
    await form.getByRole('radio', { name: /USDT on TRON/ }).waitFor();
    await form.getByText('From $5.00 to $10,000.00', { exact: false }).waitFor();
    await form.getByLabel('Amount (USD)').fill('3');
    await form.getByRole('button', { name: 'Continue to card payment' }).click();
    await form.getByText('The minimum is $5.00.').waitFor();
    await form.getByLabel('Amount (USD)').fill('25');
    await form.getByText('Buys 275,000 cr', { exact: false }).waitFor();
    expect(await form.textContent()).toContain('250,000 cr + 25,000 cr bonus, 10 % for $20.00 or more');

    // Card: to the fake Stripe's checkout page. The webhook is held back at first, to see the return page wait.
    // (The fake signs events at the real time; the app checks their age on its manual clock: keep it at the real time.)
    ctx.app.clock.set(Math.max(ctx.app.clock.now().getTime(), Date.now()));
    await control('/stripe/_mock/webhook', { url: null });
    await form.getByRole('button', { name: 'Continue to card payment' }).click();
    await page.waitForURL((url) => url.origin === mockBase && url.pathname.startsWith('/checkout/'));
    expect(await page.locator('#amount').textContent()).toBe('25.00 USD');
    const cardOrderId = ((await page.locator('#reference').textContent()) ?? '').replace('Order ', '').trim();
    expect(cardOrderId).toMatch(/^top_/);
    await page.locator('#pay').click();
    await page.waitForURL((url) => url.origin === ctx.app.baseUrl && url.pathname === `/console/billing/topups/${cardOrderId}` && url.searchParams.get('checkout') === 'success');
    await page.getByText('your card payment was received', { exact: false }).waitFor();
    await page.getByText('Your credits arrive as soon as the card processor confirms it', { exact: false }).waitFor();
    await page.getByRole('region', { name: 'Order' }).getByText('pending', { exact: true }).waitFor();
    expect((await orderRow(cardOrderId)).status).toBe('pending');
    await markDocument(page);

    // Stripe delivers the signed event now: the page turns paid by itself.
    await control('/stripe/_mock/webhook', { url: `${ctx.app.baseUrl}/webhooks/stripe` });
    const events = (await (await fetch(`${mockBase}/stripe/_mock/events`)).json()) as Array<{ id: string; type: string }>;
    const completed = events.filter((event) => event.type === 'checkout.session.completed').at(-1)!;
    const resent = await control(`/stripe/_mock/events/${completed.id}/resend`);
    expect(resent.deliveries.map((delivery: { status: number }) => delivery.status)).toEqual([200]);
    await page.getByText('Payment received: 275,000 cr credited to your live wallet.').waitFor({ timeout: POLL.timeout });
    await page.getByRole('region', { name: 'Order' }).getByText('paid', { exact: true }).waitFor();
    expect(await stillSameDocument(page)).toBe(true);
    expect(await liveBalance(user.customerId)).toBe(275_000);

    // A second card checkout, cancelled on Stripe's page: back on the order page, which says so.
    await openBilling(page);
    await form.getByRole('radio', { name: /Card \(Stripe\)/ }).check();
    await form.getByLabel('Amount (USD)').fill('10');
    await form.getByRole('button', { name: 'Continue to card payment' }).click();
    await page.waitForURL((url) => url.origin === mockBase);
    await page.locator('#cancel').click();
    await page.waitForURL((url) => url.origin === ctx.app.baseUrl && url.searchParams.get('checkout') === 'cancelled');
    await page.getByText('You cancelled the card payment. Nothing was charged.').waitFor();
    await page.getByRole('link', { name: 'Return to the checkout' }).waitFor();
    expect(await liveBalance(user.customerId)).toBe(275_000);

    // USDT on TRON: the payment page (address, exact amount, QR code, countdown from the order's window, 30 min).
    ctx.app.clock.set(Math.max(ctx.app.clock.now().getTime(), Date.now()));
    await openBilling(page);
    await form.getByRole('radio', { name: /USDT on TRON/ }).check();
    await form.getByLabel('Amount (USD)').fill('12');
    await form.getByText('Buys 120,000 cr', { exact: false }).waitFor();
    await form.getByRole('button', { name: 'Get the payment address' }).click();
    await page.waitForURL((url) => /^\/console\/billing\/topups\/top_[0-9A-Za-z]{22}$/.test(url.pathname));
    const usdtOrderId = new URL(page.url()).pathname.split('/').pop()!;
    await page.getByRole('heading', { name: 'USDT top-up', level: 1 }).waitFor();
    const address = await page.getByLabel('Address (TRON (TRC-20))').inputValue();
    const amount = await page.getByLabel('Exact amount (USDT)').inputValue();
    expect(address).toBe(TRON_ADDRESS);
    const row = await orderRow(usdtOrderId);
    expect(amount).toBe((Number(row.pay_amount_micro) / 1e6).toString());
    expect(amount).toMatch(/^12(\.\d{1,4})?$/);
    await page.getByText(`Send exactly ${amount} USDT on TRON (TRC-20)`, { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Copy the address' }).waitFor();
    await page.getByRole('button', { name: 'Copy the amount' }).waitFor();
    const qr = page.getByRole('img', { name: `QR code of the address ${TRON_ADDRESS}` });
    await qr.waitFor();
    expect(await qr.locator('svg path').count()).toBeGreaterThan(0);
    const left = /Time left to pay: (\d+):\d\d/.exec((await page.getByText('Time left to pay:').textContent()) ?? '');
    expect(Number(left?.[1])).toBeGreaterThanOrEqual(25);
    expect(Number(left?.[1])).toBeLessThanOrEqual(30);
    await page.getByText('Waiting for your transfer', { exact: false }).waitFor();
    await markDocument(page);

    // The payer sends exactly that amount; a few blocks on top: `confirming n/19`, without a reload.
    await control('/tron/_mock/clock', { time: ctx.app.clock.now().getTime() + 1000 });
    const transfer = await control('/tron/_mock/transfer', { to: address, amount });
    expect(transfer.txid).toBeTruthy();
    await control('/tron/_mock/confirm', { blocks: 4 });
    await scan();
    expect((await orderRow(usdtOrderId)).status).toBe('confirming');
    await page.getByText(new RegExp(`confirming \\d+/${CONFIRMATIONS}`)).first().waitFor({ timeout: POLL.timeout });
    await page.getByText('Transfer received', { exact: false }).waitFor();
    expect(await liveBalance(user.customerId)).toBe(275_000);

    // Final: credited once, and the page shows it by itself.
    await control('/tron/_mock/confirm', { blocks: CONFIRMATIONS });
    await scan();
    await scan();
    await page.getByText('Payment received: 120,000 cr credited to your live wallet.').waitFor({ timeout: POLL.timeout });
    expect(await stillSameDocument(page)).toBe(true);
    expect(await liveBalance(user.customerId)).toBe(395_000);

    // The receipt, printable.
    await page.getByRole('link', { name: 'View the receipt' }).click();
    await page.getByRole('heading', { name: 'Receipt', level: 1 }).waitFor();
    const receipt = page.getByRole('article', { name: 'Receipt' });
    const receiptText = (await receipt.textContent()) ?? '';
    expect(receiptText).toContain(usdtOrderId);
    expect(receiptText).toContain('$12.00');
    expect(receiptText).toContain('120,000 cr');
    expect(receiptText).toContain('USDT on TRON (TRC-20)');
    // Billed to the customer (signed-up customers have a name and an id; the email is the customer record's, if any).
    expect(receiptText).toContain(user.customerId);
    expect(receiptText).toContain(`${transfer.txid}:`);
    await page.evaluate(() => {
      const page = globalThis as unknown as { __printed: number; print: () => void };
      page.__printed = 0;
      page.print = () => {
        page.__printed += 1;
      };
    });
    await page.getByRole('button', { name: 'Print' }).click();
    expect(await page.evaluate(() => (globalThis as unknown as { __printed: number }).__printed)).toBe(1);
    // In print, only the receipt: the navigation and the page's buttons are hidden.
    await page.emulateMedia({ media: 'print' });
    expect(await page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(false);
    expect(await page.getByRole('button', { name: 'Print' }).isVisible()).toBe(false);
    expect(await receipt.isVisible()).toBe(true);
    await page.emulateMedia({ media: 'screen' });

    // Billing: the history with both paid orders (and the cancelled one still pending), the ledger's top-up entries.
    await openBilling(page);
    const history = page.getByRole('table', { name: 'Top-up orders' });
    await history.getByRole('row').filter({ hasText: usdtOrderId.slice(-7) }).getByText('paid', { exact: true }).waitFor();
    await history.getByRole('row').filter({ hasText: cardOrderId.slice(-7) }).getByText('paid', { exact: true }).waitFor();
    expect(await history.getByRole('row').filter({ hasText: 'pending' }).count()).toBe(1);
    const ledger = page.getByRole('table', { name: 'Ledger' });
    await ledger.getByRole('row').filter({ hasText: '+120,000 cr' }).getByText('top-up', { exact: true }).waitFor();
    await ledger.getByRole('row').filter({ hasText: '+275,000 cr' }).getByText('top-up', { exact: true }).waitFor();
    await page.getByText('Balance 395,000 cr', { exact: false }).waitFor();

    // The overview shows the new live balance.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview', exact: true }).click();
    await page.getByRole('region', { name: 'Live wallet' }).getByText('395,000 cr').first().waitFor();
  });

  it('the operator credits an unmatched transfer to the customer from the Payments page', async () => {
    expect(customer, 'the first test made the customer').not.toBeNull();
    const { customerId } = customer!;
    const before = await liveBalance(customerId);

    // 3.5 USDT that no order asked for: unmatched once final.
    await control('/tron/_mock/clock', { time: ctx.app.clock.now().getTime() + 1000 });
    const transfer = await control('/tron/_mock/transfer', { to: TRON_ADDRESS, amount: '3.5' });
    await control('/tron/_mock/confirm', { blocks: CONFIRMATIONS });
    await scan();
    const exceptions = (await ctx.app.deps.db.query<{ id: string; status: string; kind: string }>(
      "SELECT id, status, kind FROM payment_exceptions WHERE queue = 'unmatched' AND ref_id LIKE $1", [`${transfer.txid}:%`],
    )).rows;
    expect(exceptions).toHaveLength(1);
    expect(exceptions[0]!.status).toBe('open');
    expect(await liveBalance(customerId)).toBe(before);

    const owner = await enrolledAdmin(ctx.app, 'owner');
    const { page } = await ctx.newPage();
    await signIn(page, ctx, owner);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Payments', exact: true }).click();
    await page.getByRole('heading', { name: 'Payments', level: 1 }).waitFor();
    // All orders, filtered to USDT: the customer's paid order.
    await page.getByRole('form', { name: 'Order filters' }).getByLabel('Method').selectOption('usdt_tron');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL((url) => url.searchParams.get('method') === 'usdt_tron');
    const orders = page.getByRole('table', { name: 'Top-up orders' });
    await orders.getByRole('row').filter({ hasText: '$12.00' }).getByText('paid', { exact: true }).waitFor();
    await expect.poll(() => orders.getByRole('row').filter({ hasText: 'Card (Stripe)' }).count(), POLL).toBe(0);

    // The unmatched queue: the transfer, open, with its details; credit it to the customer.
    await page.getByRole('navigation', { name: 'Payments sections' }).getByRole('link', { name: /^Unmatched/ }).click();
    await page.waitForURL((url) => url.pathname === '/admin/payments/unmatched');
    const queue = page.getByRole('table', { name: 'Unmatched transfers queue' });
    const row = queue.getByRole('row').filter({ hasText: transfer.txid });
    await row.getByText('3.50 USDT').waitFor();
    await row.getByText('No order for this address and amount').waitFor();
    await row.getByText(TRON_ADDRESS).first().waitFor();
    await row.getByRole('button', { name: `Credit to a customer: ${exceptions[0]!.id}` }).click();
    const dialog = page.getByRole('dialog', { name: /Credit to a customer: 3\.50 USDT/ });
    await dialog.getByText('Leave empty to credit 35,000 cr', { exact: false }).waitFor();
    // A note is required.
    await dialog.getByLabel('Customer id').fill(customerId);
    await dialog.getByRole('button', { name: 'Review' }).click();
    await dialog.getByText('Say why', { exact: false }).waitFor();
    await dialog.getByLabel('Note').fill('Paid without an order; confirmed by mail with the customer');
    await dialog.getByRole('button', { name: 'Review' }).click();
    await dialog.getByText(`Credit 35,000 cr to ${customerId}`, { exact: false }).waitFor();
    await dialog.getByRole('button', { name: 'Confirm: credit 35,000 cr' }).click();
    await page.getByText(`Credited 35,000 cr to ${customerId}`, { exact: false }).waitFor();
    await queue.getByText('Nothing waits here', { exact: false }).waitFor();
    expect(await liveBalance(customerId)).toBe(before + 35_000);
    const resolved = (await ctx.app.deps.db.query<{ status: string; resolved_by: string }>('SELECT status, resolved_by FROM payment_exceptions WHERE id = $1', [exceptions[0]!.id])).rows[0]!;
    expect(resolved.status).toBe('credited');
    expect(resolved.resolved_by).toContain(owner.email);

    // The resolved one under "credited", with the note.
    await page.getByRole('form', { name: 'Unmatched transfers filters' }).getByLabel('Status').selectOption('credited');
    await page.getByRole('button', { name: 'Show' }).click();
    await queue.getByRole('row').filter({ hasText: transfer.txid }).getByText('credited', { exact: true }).waitFor();
    await queue.getByText('Paid without an order; confirmed by mail with the customer', { exact: false }).waitFor();
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${exceptions[0]!.id}`, { operator: true });
    expect(audit.body.data.map((entry: { action: string }) => entry.action)).toEqual(['payment_exception.credit']);
  });
});
