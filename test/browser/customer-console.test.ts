import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/app.js';
import { CUSTOMER_PASSWORD, setSignupMode } from '../harness/customer-console.js';
import { POLL, useConsoleApp } from './harness.js';

/**
 * A customer's first day in the customer console (issue 12), end to end in Chromium: open sign-up, the verification
 * mail caught by a local SMTP server on loopback (genrelay's SMTP_URL points at it), sign-in, a test key shown once,
 * an image generated with that key by the official `openai` client on the sign-up test credits, the task with its
 * image in Tasks, the spend in Usage, and the key revoked in the console then refused on /v1.
 * The worker runs its loops with zero sandbox delays, so the synchronous image request finishes while it waits.
 */
interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

const received: ReceivedMail[] = [];
const smtpPort = await freePort();
let sink: SMTPServer | null = null;

beforeAll(async () => {
  sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    sink!.server.once('error', reject);
    sink!.listen(smtpPort, '127.0.0.1', () => resolve());
  });
  expect((sink.server.address() as AddressInfo).port).toBe(smtpPort);
});

afterAll(async () => {
  await new Promise<void>((resolve) => (sink ? sink.close(() => resolve()) : resolve()));
});

const ctx = useConsoleApp({
  env: {
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    MAIL_FROM: 'Relay Console <console@relay.example>',
    SIGNUP_TEST_CREDITS: '50000',
    SANDBOX_QUEUE_MS: '0',
    SANDBOX_RUN_MS: '0',
    WORKER_INTERVAL_MS: '20',
    POLL_INTERVAL_MS: '0',
  },
});

beforeAll(() => {
  ctx.app.worker.start();
});

const IMAGE_MEDIUM = 500; // gpt-image-2, medium quality (the default), 1024x1024

/** The plain-text body of a message as sent (quoted-printable soft breaks joined and `=XX` decoded). */
function decodedText(raw: string): string {
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function sdk(key: string): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${ctx.app.baseUrl}/v1`, maxRetries: 0 });
}

async function testWallet(customerId: string): Promise<{ balance: number; reserved: number }> {
  const response = await ctx.app.request('GET', `/api/public/customers/${customerId}/credits?mode=test`, { operator: true });
  expect(response.status, response.text).toBe(200);
  return { balance: response.body.balance, reserved: response.body.reserved };
}

async function goToNav(page: Page, label: string, heading: string): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name: label, exact: true }).click();
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

describe('the customer console end to end', () => {
  it('sign up → verify by mail → sign in → test key once → openai image on test credits → Tasks → Usage → revoke → 401', async () => {
    await setSignupMode(ctx.app, 'open');
    const email = 'first.customer@studio.example';

    // Sign-up on /console/signup.
    const visitor = await ctx.newPage();
    await visitor.page.goto(ctx.url('/console/signup'));
    await visitor.page.getByRole('heading', { name: 'Create your account', level: 1 }).waitFor();
    await visitor.page.getByLabel('Email').fill(email);
    await visitor.page.getByLabel('Password').fill(CUSTOMER_PASSWORD);
    await visitor.page.getByLabel('Company or project name').fill('Studio Example');
    await visitor.page.getByRole('button', { name: 'Create account' }).click();
    await visitor.page.getByRole('heading', { name: 'Check your inbox', level: 1 }).waitFor();
    const user = (await ctx.app.deps.db.query<{ customer_id: string; email_verified_at: Date | null }>(
      'SELECT customer_id, email_verified_at FROM customer_users WHERE email = $1', [email],
    )).rows[0]!;
    expect(user.email_verified_at).toBeNull();
    const customerId = user.customer_id;
    // No credits before the address is verified.
    expect(await testWallet(customerId)).toEqual({ balance: 0, reserved: 0 });

    // The verification mail arrived at the SMTP sink (and nothing went to the outbox).
    await expect.poll(() => received.length, POLL).toBe(1);
    const mail = received[0]!;
    expect(mail.to).toEqual([email]);
    expect(mail.from).toBe('console@relay.example');
    const text = decodedText(mail.raw);
    expect(text).toMatch(/^Subject: Confirm your email address$/m);
    const link = /https?:\/\/\S+\/console\/verify#token=[A-Za-z0-9_-]{43}/.exec(text)?.[0];
    expect(link, 'the verification link in the mail').toBeDefined();
    expect(link!.startsWith(`${ctx.app.deps.config.publicBaseUrl}/console/verify#token=`)).toBe(true);
    expect((await ctx.app.deps.db.query('SELECT 1 FROM mail_outbox')).rows).toHaveLength(0);

    // The link, opened in another browser (the mail client's): verified, the test credits granted, the token dropped from the address bar.
    const { page } = await ctx.newPage();
    const linkUrl = new URL(link!);
    await page.goto(ctx.url(`${linkUrl.pathname}${linkUrl.hash}`));
    await page.getByText('Your email address is verified.').waitFor();
    await page.getByText('50,000 cr of test credits are in your test wallet', { exact: false }).waitFor();
    expect(new URL(page.url()).hash).toBe('');
    expect(await testWallet(customerId)).toEqual({ balance: 50_000, reserved: 0 });

    // Sign in there.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/console/login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(CUSTOMER_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('region', { name: 'Test wallet' }).getByText('50,000 cr').first().waitFor();

    // A test key, shown once.
    await goToNav(page, 'API keys', 'API keys');
    await page.getByRole('button', { name: 'Create a key' }).click();
    const createKey = page.getByRole('dialog', { name: 'Create an API key' });
    await createKey.getByLabel('Name').fill('image key');
    await createKey.getByRole('combobox', { name: 'Mode' }).selectOption('test');
    await createKey.getByRole('button', { name: 'Create the key' }).click();
    const shown = page.getByRole('dialog', { name: 'Key created' });
    await shown.getByText('it will not be shown again', { exact: false }).waitFor();
    const key = await shown.getByLabel('API key').inputValue();
    expect(key.length).toBeGreaterThan(20);
    const created = (await ctx.app.deps.db.query<{ id: string; mode: string; key_prefix: string; customer_id: string }>(
      'SELECT id, mode, key_prefix, customer_id FROM api_keys WHERE customer_id = $1', [customerId],
    )).rows;
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ mode: 'test', customer_id: customerId });
    expect(key.startsWith(created[0]!.key_prefix)).toBe(true);
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    const keyRow = page.getByRole('row').filter({ hasText: 'image key' });
    await keyRow.getByText('active', { exact: true }).waitFor();
    expect(await page.content()).not.toContain(key);
    await page.reload();
    await keyRow.getByText('active', { exact: true }).waitFor();
    expect(await page.content()).not.toContain(key);
    expect(await page.getByRole('textbox', { name: 'API key', exact: true }).count()).toBe(0);

    // The key with the official openai client: a synchronous image on the test credits.
    const client = sdk(key);
    const image = await client.images.generate({ model: 'gpt-image-2', prompt: 'a lighthouse at dusk', size: '1024x1024' });
    expect(image.data).toHaveLength(1);
    expect(image.data![0]!.url).toMatch(new RegExp(`^${ctx.app.baseUrl}/v1/files/file_[0-9A-Za-z]+/content\\?expires=\\d+&sig=`));
    expect((image.usage as unknown as { credits: number }).credits).toBe(IMAGE_MEDIUM);
    expect(await testWallet(customerId)).toEqual({ balance: 50_000 - IMAGE_MEDIUM, reserved: 0 });
    const tasks = (await ctx.app.deps.db.query<{ id: string }>('SELECT id FROM tasks WHERE customer_id = $1', [customerId])).rows;
    expect(tasks).toHaveLength(1);
    const taskId = tasks[0]!.id;

    // The task in Tasks (test mode), and its detail with the image shown from genrelay's signed link.
    await goToNav(page, 'Tasks', 'Tasks');
    await page.getByRole('region', { name: 'Filters' }).getByRole('combobox', { name: 'Mode' }).selectOption('test');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL((url) => url.searchParams.get('mode') === 'test');
    const taskRow = page.getByRole('row').filter({ hasText: 'gpt-image-2' });
    await taskRow.getByText('succeeded', { exact: true }).waitFor();
    expect(await page.getByRole('row').filter({ hasText: 'gpt-image-2' }).count()).toBe(1);
    expect(await taskRow.textContent()).toContain(`${IMAGE_MEDIUM} cr`);
    await taskRow.getByRole('link').click();
    await page.waitForURL((url) => url.pathname === `/console/tasks/${taskId}`);
    await page.getByRole('heading', { name: 'Image task', level: 1 }).waitFor();
    const summary = page.getByRole('region', { name: 'Summary' });
    await summary.getByText('succeeded', { exact: true }).waitFor();
    const summaryText = (await summary.textContent()) ?? '';
    expect(summaryText).toContain(`Charged${IMAGE_MEDIUM} cr`);
    expect(summaryText).toContain('Modelgpt-image-2');
    expect(summaryText).toContain('Modetest');
    const result = page.getByRole('region', { name: 'Result' }).getByRole('img', { name: `Result of ${taskId}` });
    await result.waitFor();
    const src = await result.getAttribute('src');
    expect(src).toMatch(new RegExp(`^${ctx.app.baseUrl}/v1/files/file_[0-9A-Za-z]+/content\\?expires=\\d+&sig=`));
    // Loaded and decoded in the page (same origin, allowed by the console's CSP), not just present in the markup.
    await result.scrollIntoViewIfNeeded();
    const decoded = () =>
      result.evaluate((element) => {
        const image = element as unknown as { complete: boolean; naturalWidth: number };
        return image.complete && image.naturalWidth > 0;
      });
    await expect.poll(decoded, POLL).toBe(true);

    // The spend in Usage (test mode): by day, by model and by key.
    await goToNav(page, 'Usage', 'Usage');
    await page.getByRole('group', { name: 'Mode' }).getByRole('button', { name: 'Test' }).click();
    await page.waitForURL((url) => url.searchParams.get('mode') === 'test');
    await page.getByText(`1 requests · 0 failed · ${IMAGE_MEDIUM} cr charged`).waitFor();
    const details = page.getByRole('region', { name: 'Details' });
    await page.getByRole('group', { name: 'Group by' }).getByRole('button', { name: 'By model' }).click();
    const modelRow = details.getByRole('row').filter({ hasText: 'gpt-image-2' });
    await modelRow.waitFor();
    expect(await modelRow.textContent()).toContain(`${IMAGE_MEDIUM} cr`);
    await page.getByRole('group', { name: 'Group by' }).getByRole('button', { name: 'By key' }).click();
    const keyUsage = details.getByRole('row').filter({ hasText: 'image key' });
    await keyUsage.waitFor();
    expect(await keyUsage.textContent()).toContain(`${IMAGE_MEDIUM} cr`);
    // Live mode has none of it.
    await page.getByRole('group', { name: 'Mode' }).getByRole('button', { name: 'Live' }).click();
    await page.getByText('0 requests · 0 failed · 0 cr charged').waitFor();

    // Revoke the key in the console; /v1 refuses it at once (the openai client's AuthenticationError).
    await goToNav(page, 'API keys', 'API keys');
    await page.getByRole('button', { name: 'Revoke image key' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke this key?' });
    await confirm.getByRole('button', { name: 'Revoke', exact: true }).click();
    await keyRow.getByText('revoked', { exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Revoke image key' }).count()).toBe(0);
    const refused = await client.images.generate({ model: 'gpt-image-2', prompt: 'one more lighthouse', size: '1024x1024' }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((refused as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    await expect(client.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    // Nothing more was spent or reserved, and no task was made.
    expect(await testWallet(customerId)).toEqual({ balance: 50_000 - IMAGE_MEDIUM, reserved: 0 });
    expect((await ctx.app.deps.db.query('SELECT 1 FROM tasks WHERE customer_id = $1', [customerId])).rows).toHaveLength(1);
    // The console audited the key's life under the customer user.
    const audit = await ctx.app.request('GET', `/api/admin/audit?target_id=${created[0]!.id}`, { operator: true });
    expect(audit.body.data.map((row: { action: string }) => row.action).sort()).toEqual(['api_key.create', 'api_key.revoke']);
    for (const row of audit.body.data as Array<{ actor: string }>) expect(row.actor).toContain(email);
  });
});
