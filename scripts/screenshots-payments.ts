/**
 * The top-up part of `npm run screenshots` (issue 13; scripts/screenshots.ts starts genrelay with `paymentsEnv` and
 * calls `shootPayments`): card top-ups through the fake Stripe of the mock upstreams (the return page while the
 * processor has not confirmed, then paid; a cancelled checkout), a USDT order on the mock TRON chain (waiting,
 * confirming, paid; the worker scans every second), the receipt on screen and as printed, the Billing page with its
 * history and the empty state; then the operator's Payments page: all orders, an order, the unmatched queue with the
 * credit dialog and its result, the quarantine queue (a card payment of the wrong amount) and the top-up settings.
 */
import { createHash } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { tronAddressFromHex } from '../src/providers/chains/transfer-log.js';
import { DEFAULT_STRIPE_WEBHOOK_SECRET } from '../test/mock-upstreams/stripe/server.js';

type Json = any;
type ConsoleApi = (method: string, path: string, body?: unknown) => Promise<Json>;
type Shot = (page: Page, name: string, options?: { settleMs?: number }) => Promise<void>;

const EMAIL = 'ana@northwind.example';
const PASSWORD = 'a long customer password';
const VIEWPORT = { width: 1440, height: 900 };
const seed = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 40);
const TRON_ADDRESS = tronAddressFromHex(seed('screenshots-tron'))!;
const EVM_ADDRESS = `0x${seed('screenshots-evm')}`;

/** What genrelay needs to offer every method against the mock upstreams (`mocks`: their base URL). */
export function paymentsEnv(mocks: string): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: 'sk_test_screenshots_0123456789',
    STRIPE_WEBHOOK_SECRET: DEFAULT_STRIPE_WEBHOOK_SECRET,
    STRIPE_API_BASE: mocks,
    USDT_TRON_ADDRESSES: TRON_ADDRESS,
    TRONGRID_URL: `${mocks}/tron`,
    USDT_EVM_ADDRESSES: EVM_ADDRESS,
    EVM_RPC_URL: `${mocks}/evm`,
    CHAIN_SCAN_INTERVAL_MS: '1000',
  };
}

export async function shootPayments(options: {
  browser: Browser;
  base: string;
  mocks: string;
  /** The operator console's JSON routes, signed in as its owner. */
  operator: ConsoleApi;
  /** The owner's signed-in page. */
  adminPage: Page;
  shot: Shot;
  log: (message: string) => void;
}): Promise<void> {
  const { browser, base, mocks, operator, adminPage, shot, log } = options;
  log('payments');
  const control = async (path: string, body: unknown = {}) => {
    const response = await fetch(`${mocks}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await response.json()) as Json;
    if (!response.ok) throw new Error(`mock ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  await control('/stripe/_mock/webhook', { url: `${base}/webhooks/stripe` });
  await operator('PATCH', '/admin/settings', {
    signup_mode: 'open',
    topup_min_amount: 500,
    topup_max_amount: 500_000,
    topup_bonus_tiers: [{ min_amount: 5_000, bonus_percent: 5 }, { min_amount: 20_000, bonus_percent: 10 }],
  });

  // A customer of their own, signed up and verified through the pages.
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => log(`  page error on ${page.url()}: ${error.message}`));
  await page.goto(`${base}/console/signup`);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Company or project name').fill('Northwind Pictures');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByText('Check your inbox').waitFor();
  const outbox = await operator('GET', '/admin/mail-outbox');
  const mail = (outbox.data as Json[]).find((item) => item.to === EMAIL && typeof item.link === 'string' && item.link.includes('/console/verify'));
  if (!mail) throw new Error('no verification mail in the outbox');
  await page.goto(`${base}/console/verify${new URL(mail.link as string).hash}`);
  await page.getByText('Your email address is verified.').waitFor();

  const billing = async () => {
    await page.goto(`${base}/console/billing`);
    await page.getByRole('heading', { name: 'Billing', level: 1 }).waitFor();
  };
  const order = async (method: RegExp, amount: string, button: string) => {
    await billing();
    await page.getByRole('radio', { name: method }).check();
    await page.getByLabel(/^Amount/).fill(amount);
    await page.getByRole('button', { name: button }).click();
  };

  // Card, paid: the return page before the processor's confirmation (the webhook held back), then paid.
  await control('/stripe/_mock/webhook', { url: null });
  await order(/Card/, '100', 'Continue to card payment');
  await page.waitForURL((url) => url.pathname.startsWith('/checkout/'));
  await page.locator('#pay').click();
  await page.getByText('Your credits arrive as soon as the card processor confirms it', { exact: false }).waitFor();
  await shot(page, 'console-topup-card-waiting');
  await control('/stripe/_mock/webhook', { url: `${base}/webhooks/stripe` });
  const events = (await (await fetch(`${mocks}/stripe/_mock/events`)).json()) as Json[];
  const completed = events.filter((event) => event.type === 'checkout.session.completed').at(-1);
  await control(`/stripe/_mock/events/${completed.id as string}/resend`);
  await page.getByText('Payment received:', { exact: false }).waitFor();
  await shot(page, 'console-topup-card-paid');

  // Card, cancelled on the checkout page.
  await order(/Card/, '40', 'Continue to card payment');
  await page.waitForURL((url) => url.pathname.startsWith('/checkout/'));
  await page.locator('#cancel').click();
  await page.getByText('You cancelled the card payment', { exact: false }).waitFor();
  await shot(page, 'console-topup-card-cancelled');

  // USDT on TRON: waiting, confirming, paid.
  await order(/USDT on TRON/, '25', 'Get the payment address');
  await page.getByRole('heading', { name: 'USDT top-up', level: 1 }).waitFor();
  const amount = await page.getByLabel('Exact amount (USDT)').inputValue();
  await shot(page, 'console-topup-usdt');
  await control('/tron/_mock/transfer', { to: TRON_ADDRESS, amount });
  await control('/tron/_mock/confirm', { blocks: 6 });
  await page.getByText('Transfer received', { exact: false }).waitFor();
  await shot(page, 'console-topup-usdt-confirming');
  await control('/tron/_mock/confirm', { blocks: 20 });
  await page.getByText('Payment received:', { exact: false }).waitFor();
  await shot(page, 'console-topup-usdt-paid');

  // The receipt, on screen and as printed.
  await page.getByRole('link', { name: 'View the receipt' }).click();
  await page.getByRole('article', { name: 'Receipt' }).waitFor();
  await shot(page, 'console-receipt');
  await page.emulateMedia({ media: 'print' });
  await shot(page, 'console-receipt-print');
  await page.emulateMedia({ media: 'screen' });

  // A USDT order on the EVM chain left open, and a card payment of the wrong amount (quarantined).
  await order(/USDT \(ERC-20\)|USDT on Ethereum/, '10', 'Get the payment address');
  await page.getByRole('heading', { name: 'USDT top-up', level: 1 }).waitFor();
  await order(/Card/, '15', 'Continue to card payment');
  await page.waitForURL((url) => url.pathname.startsWith('/checkout/'));
  const session = new URL(page.url()).pathname.split('/').pop()!;
  await control(`/stripe/_mock/sessions/${session}/pay`, { amount_total: 1400 });
  // A transfer no order asked for (unmatched).
  await control('/tron/_mock/transfer', { to: TRON_ADDRESS, amount: '7.77' });
  await control('/tron/_mock/confirm', { blocks: 20 });

  // Billing: the form with a bonus, the history, the ledger; and the page when no method is enabled.
  await billing();
  await page.getByRole('radio', { name: /USDT on TRON/ }).check();
  await page.getByLabel(/^Amount/).fill('250');
  await page.getByText('Buys', { exact: false }).first().waitFor();
  await shot(page, 'console-billing-topups');
  await page.route('**/console/api/billing/topup-options', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, json: { ...((await response.json()) as Json), methods: [] } });
  });
  await billing();
  await page.getByText('The operator has not enabled top-ups', { exact: false }).waitFor();
  await shot(page, 'console-billing-no-methods');
  await page.unroute('**/console/api/billing/topup-options');
  await context.close();

  // The operator's Payments page.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const open = await operator('GET', '/admin/payment-exceptions?status=open');
    if ((open.data as Json[]).length >= 2) break;
    await new Promise((done) => setTimeout(done, 500));
  }
  const visit = async (path: string, name: string, ready: (page: Page) => Promise<unknown>) => {
    await adminPage.goto(`${base}/admin${path}`);
    await adminPage.locator('main h1').first().waitFor();
    await ready(adminPage).catch((error: Error) => log(`  (${name}: ${error.message.split('\n')[0]})`));
    await shot(adminPage, name);
  };
  const orders = await operator('GET', '/admin/topups?limit=10');
  const paid = (orders.data as Json[]).find((item) => item.status === 'paid' && item.method === 'usdt_tron');
  await visit('/payments', 'payments-orders', (p) => p.getByRole('table', { name: 'Top-up orders' }).getByText('paid').first().waitFor());
  if (paid) await visit(`/payments/orders/${paid.id as string}`, 'payments-order', (p) => p.getByText('Payment reference').waitFor());
  await visit('/payments/unmatched', 'payments-unmatched', (p) => p.getByText('7.77 USDT').waitFor());
  await adminPage.getByRole('button', { name: /^Credit to a customer:/ }).first().click();
  const dialog = adminPage.getByRole('dialog');
  const customers = await operator('GET', '/public/customers?limit=100');
  const northwind = (customers.data as Json[]).find((item) => item.name === 'Northwind Pictures');
  await dialog.getByLabel('Customer id').fill(northwind?.id ?? '');
  await dialog.getByLabel('Note').fill('Sent without an order; confirmed with the customer by mail');
  await shot(adminPage, 'payments-resolve-credit');
  await dialog.getByRole('button', { name: 'Review' }).click();
  await dialog.getByRole('button', { name: /^Confirm: credit/ }).waitFor();
  await shot(adminPage, 'payments-resolve-confirm');
  await dialog.getByRole('button', { name: /^Confirm: credit/ }).click();
  await adminPage.getByText('Credited', { exact: false }).first().waitFor();
  await shot(adminPage, 'payments-unmatched-resolved');
  await visit('/payments/quarantine', 'payments-quarantine', (p) => p.getByText('Paid amount differs from the order').waitFor());
  await visit('/payments/settings', 'payments-settings', (p) => p.getByRole('group', { name: 'Tier 2' }).waitFor());
  await operator('PATCH', '/admin/settings', { signup_mode: 'invite' });
}
