import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAllMocks } from '../mock-upstreams/all.js';
import type { RunningMock } from '../mock-upstreams/shared/harness.js';
import { enrolledAdmin } from '../harness/console.js';
import { signIn, useConsoleApp } from './harness.js';

/**
 * One operator's day in the console, end to end in Chromium against real mock upstreams: a customer, credits, a key
 * shown once, a channel with an account, a test generation, a price change seen on the public /models page, and the
 * audit log naming the admin for every step.
 */
const ctx = useConsoleApp();
let mocks: RunningMock;

beforeAll(async () => {
  mocks = await startAllMocks(0, { queuedMs: 30, runningMs: 60 });
});

afterAll(async () => {
  await mocks?.close();
});

describe('the console end to end', () => {
  it('customer → credits → key shown once → channel and account → test generation → price → /models → audit', async () => {
    const owner = await enrolledAdmin(ctx.app, 'owner');
    const { page } = await ctx.newPage();
    await signIn(page, ctx, owner);

    // A customer.
    await page.getByRole('link', { name: 'Customers', exact: true }).click();
    await page.getByRole('button', { name: 'New customer' }).click();
    const newCustomer = page.getByRole('dialog', { name: 'New customer' });
    await newCustomer.getByLabel('Name').fill('Flow Films');
    await newCustomer.getByLabel('Email').fill('flow@films.example');
    await newCustomer.getByRole('button', { name: 'Create customer' }).click();
    await page.waitForURL((url) => /^\/admin\/customers\/cus_/.test(url.pathname));
    const customerId = new URL(page.url()).pathname.split('/').pop()!;
    await page.getByRole('heading', { name: 'Flow Films', level: 1 }).waitFor();

    // Credits.
    await page.getByRole('button', { name: 'Grant or adjust credits' }).click();
    const grant = page.getByRole('dialog', { name: 'Grant or adjust credits' });
    await grant.getByLabel('Amount (credits)').fill('250000');
    await grant.getByLabel('Reason').fill('Opening balance');
    await grant.getByLabel('Reference (optional)').fill('FLOW-1');
    await grant.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Granted 250,000', { exact: false }).waitFor();
    await page.getByRole('cell', { name: 'Opening balance' }).waitFor();
    const customer = await ctx.app.request('GET', `/api/public/customers/${customerId}`, { operator: true });
    expect(customer.body.credits.live.available).toBe(250_000);

    // A key, shown once.
    await page.getByRole('button', { name: 'Create key' }).click();
    const createKey = page.getByRole('dialog', { name: 'Create an API key' });
    await createKey.getByLabel('Name').fill('flow key');
    await createKey.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByRole('dialog', { name: 'New API key' });
    const key = await shown.getByLabel('API key').inputValue();
    expect(key).toMatch(/^ak_live_/);
    await shown.getByText('it will not be shown again', { exact: false }).waitFor();
    const models = await fetch(ctx.url('/v1/models'), { headers: { authorization: `Bearer ${key}` } });
    expect(models.status).toBe(200);
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    await page.getByRole('cell', { name: /^flow key/ }).waitFor();
    expect(await page.content()).not.toContain(key);
    await page.reload();
    await page.getByRole('cell', { name: /^flow key/ }).waitFor();
    expect(await page.content()).not.toContain(key);
    expect(await page.getByRole('textbox', { name: 'API key', exact: true }).count()).toBe(0);

    // A channel against the mock Ark upstream, and an account.
    await page.getByRole('link', { name: 'Channels & accounts' }).click();
    await page.getByRole('button', { name: 'New channel' }).click();
    const newChannel = page.getByRole('dialog', { name: 'New channel' });
    await newChannel.getByLabel('Name').fill('Flow Ark');
    await newChannel.getByLabel('Provider family').fill('ark');
    await newChannel.getByLabel('Base URL').fill(`${mocks.baseUrl}/ark/api/v3`);
    await newChannel.getByLabel('Public model 1').selectOption('seedance-2.0-fast');
    await newChannel.getByLabel('Upstream model 1').fill('dreamina-seedance-2-0-fast-260128');
    await newChannel.getByRole('button', { name: 'Create channel' }).click();
    await page.waitForURL((url) => /^\/admin\/channels\/ch_/.test(url.pathname));
    const channelId = new URL(page.url()).pathname.split('/').pop()!;
    await page.getByRole('heading', { name: 'Flow Ark', level: 1 }).waitFor();

    await page.getByRole('button', { name: 'Add account' }).click();
    const addAccount = page.getByRole('dialog', { name: 'Add an account to Flow Ark' });
    await addAccount.getByLabel('Credential').fill('mock-key');
    await addAccount.getByLabel('Label').fill('flow-1');
    await addAccount.getByRole('button', { name: 'Add account' }).click();
    await page.getByText('Account flow-1 added.').waitFor();
    const accounts = await ctx.app.request('GET', `/api/accounts?channel_id=${channelId}`, { operator: true });
    expect(accounts.body.data).toHaveLength(1);
    const accountId = accounts.body.data[0].id as string;
    expect(await page.content()).not.toContain('mock-key');

    // A test generation on that account, and its result.
    await page.getByRole('button', { name: 'Test flow-1' }).click();
    const test = page.getByRole('dialog', { name: 'Test flow-1' });
    await test.getByRole('button', { name: 'Run test generation' }).click();
    await test.getByText('The test generation succeeded.').waitFor({ timeout: 60_000 });
    const result = await test.locator('.test-result').textContent();
    expect(result).toContain('seedance-2.0-fast');
    expect(result).toContain('succeeded');
    expect(family('ark').stats.creates).not.toEqual({});
    await test.getByRole('button', { name: 'Close' }).last().click();

    // A price change, seen on the public price list.
    // (Its prices only: the whole entry also holds a Unix time, which may contain the digits.)
    const before = await (await fetch(ctx.url('/api/pricing'))).json() as { data: Array<{ id: string; prices: Array<{ variant: string; credits: number }> }> };
    expect(before.data.find((model) => model.id === 'sora-2')!.prices).toContainEqual(expect.objectContaining({ variant: '720p', credits: 700 }));
    await page.getByRole('link', { name: 'Models & prices' }).click();
    await page.getByRole('link', { name: 'Sora 2' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/models/sora-2');
    const newPrice = page.getByRole('region', { name: 'New price version' });
    await newPrice.getByLabel('720p').fill('777');
    await newPrice.getByRole('button', { name: 'Apply new price now' }).click();
    await page.getByText('Price version 2 is in force now.').waitFor();
    await page.goto(ctx.url('/models'));
    const sora = page.locator('section#sora-2');
    expect(await sora.locator('tr', { hasText: '720p' }).textContent()).toContain('777 credits');

    // The audit log names the admin for every step.
    await page.goto(ctx.url('/admin/audit'));
    await page.getByLabel('Actor').fill(owner.email);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL((url) => url.search.includes('actor='));
    await page.getByRole('cell', { name: 'model.price', exact: true }).waitFor();
    const rows = await page.locator('main table tbody tr').evaluateAll((elements) => elements.map((row) => row.textContent ?? ''));
    const steps: Array<[string, string]> = [
      ['customer.create', customerId],
      ['credits.grant', customerId],
      ['api_key.create', ''],
      ['channel.create', channelId],
      ['account.create', accountId],
      ['account.test', accountId],
      ['model.update', 'sora-2'],
      ['model.price', 'sora-2'],
    ];
    for (const [action, target] of steps) {
      const row = rows.find((text) => text.includes(action) && text.includes(target));
      expect(row, `an audit row for ${action} ${target}`).toBeDefined();
      expect(row).toContain(owner.email);
    }
    // No row in this log was written by anyone else for these targets (the API agrees with the page).
    const audit = await ctx.app.request('GET', `/api/admin/audit?limit=100`, { operator: true });
    const ours = audit.body.data.filter((row: { target_id: string | null }) => [customerId, channelId, accountId].includes(row.target_id ?? ''));
    expect(ours.length).toBeGreaterThanOrEqual(5);
    expect(new Set(ours.map((row: { actor: string }) => row.actor))).toEqual(new Set([owner.email]));
  });
});

function family(name: string) {
  return mocks.families.find((mounted) => mounted.prefix === `/${name}`)!.context;
}
