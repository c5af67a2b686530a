/**
 * The customer console part of `npm run screenshots` (scripts/screenshots.ts calls `shootCustomerConsole`): the
 * operator opens sign-up, a customer signs up through /console/signup, verifies the address with the link from the
 * mail outbox, creates a test key in the console, runs an image, a video, a music and a chat request with it on the
 * sign-up test credits, registers a webhook endpoint, and every customer console page is photographed.
 */
import type { Browser, Page } from 'playwright-core';

type Json = any;
type ConsoleApi = (method: string, path: string, body?: unknown) => Promise<Json>;
type Shot = (page: Page, name: string, options?: { settleMs?: number }) => Promise<void>;

const EMAIL = 'maya@lumen.example';
const PASSWORD = 'a long customer password';
const VIEWPORT = { width: 1440, height: 900 };

export async function shootCustomerConsole(options: {
  browser: Browser;
  base: string;
  /** The operator console's JSON routes, signed in as its owner. */
  operator: ConsoleApi;
  shot: Shot;
  receiver: string;
  log: (message: string) => void;
}): Promise<void> {
  const { browser, base, operator, shot, log } = options;
  log('customer console');
  await operator('PATCH', '/admin/settings', { signup_mode: 'open' });

  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => log(`  page error on ${page.url()}: ${error.message}`));

  await page.goto(`${base}/console/signup`);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Company or project name').fill('Lumen Films');
  await shot(page, 'console-signup');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByText('Check your inbox').waitFor();
  await shot(page, 'console-signup-check-inbox');

  // The verification link, from the operator's view of the mail outbox (no SMTP_URL here).
  const outbox = await operator('GET', '/admin/mail-outbox');
  const mail = (outbox.data as Json[]).find((item) => item.to === EMAIL && typeof item.link === 'string' && item.link.includes('/console/verify'));
  if (!mail) throw new Error('no verification mail in the outbox');
  await page.goto(`${base}/console/verify${new URL(mail.link as string).hash}`);
  await page.getByText('Your email address is verified.').waitFor();
  await shot(page, 'console-verified');

  await page.goto(`${base}/console/keys`);
  await page.getByRole('button', { name: 'Create a key' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill('render pipeline');
  await page.getByRole('dialog').getByRole('button', { name: 'Create the key' }).click();
  await page.getByRole('button', { name: 'I have copied it' }).waitFor();
  const key = await page.getByRole('textbox', { name: 'API key' }).inputValue();
  await shot(page, 'console-key-shown-once');
  await page.getByRole('button', { name: 'I have copied it' }).click();

  const v1 = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const parsed = (await response.json().catch(() => null)) as Json;
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(parsed)}`);
    return parsed;
  };
  await v1('POST', '/v1/webhook-endpoints', { url: `${options.receiver}/ok/lumen`, description: 'Lumen render hooks' });
  const image = await v1('POST', '/v1/images/generations', { model: 'gpt-image-2', prompt: 'a lantern festival over a river', async: true });
  const video = await v1('POST', '/v1/videos', { model: 'seedance-2.0-fast', prompt: 'a hot-air balloon over the dunes', seconds: 5, resolution: '480p' });
  await v1('POST', '/v1/music/generations', { prompt: 'an upbeat synth theme', instrumental: true });
  await v1('POST', '/v1/chat/completions', { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'Name three film genres.' }] }).catch((error: Error) => log(`  (chat: ${error.message})`));
  const deadline = Date.now() + 60_000;
  for (const id of [image.id as string, video.id as string]) {
    while (Date.now() < deadline) {
      const task = await v1('GET', `/v1/tasks/${id}`);
      if (!['queued', 'running'].includes(task.status as string)) break;
      await new Promise((done) => setTimeout(done, 500));
    }
  }

  const visit = async (path: string, name: string, ready?: (page: Page) => Promise<unknown>, settleMs?: number) => {
    await page.goto(`${base}/console${path}`);
    await page.locator('main h1').first().waitFor();
    if (ready) await ready(page).catch((error: Error) => log(`  (${name}: ${error.message.split('\n')[0]})`));
    await shot(page, name, { settleMs });
  };
  // Live: nothing spent yet, so the chart's place says so; test: the sign-up credits spent on the requests above.
  await visit('/', 'console-overview', (p) => p.getByText('No spend yet').waitFor(), 1_000);
  await visit('/?mode=test', 'console-overview-test', (p) => p.locator('.recharts-surface').first().waitFor(), 1_000);
  await visit('/keys', 'console-keys', (p) => p.getByText('render pipeline').waitFor());
  await visit('/usage?mode=test', 'console-usage', (p) => p.locator('.recharts-surface').first().waitFor(), 1_000);
  await visit('/usage?mode=test&by=model', 'console-usage-by-model', (p) => p.locator('.recharts-surface').first().waitFor(), 1_000);
  await visit('/tasks?mode=test', 'console-tasks', (p) => p.getByRole('link', { name: image.id as string }).waitFor());
  await visit(`/tasks/${image.id as string}`, 'console-task-image', (p) => p.locator('.media img').waitFor());
  await visit(`/tasks/${video.id as string}`, 'console-task-video', (p) => p.locator('.media video').waitFor());
  await visit('/webhooks?mode=test', 'console-webhooks', (p) => p.getByText('Lumen render hooks').waitFor());
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Reveal the secret' }).click();
  await page.getByRole('textbox', { name: /Signing secret/ }).waitFor();
  await shot(page, 'console-webhook-secret');
  await visit('/billing?mode=test', 'console-billing', (p) => p.getByText('sign-up test credits').waitFor());
  await visit('/models', 'console-models', (p) => p.getByText('gpt-image-2').first().waitFor());
  await visit('/account', 'console-account', (p) => p.getByRole('table', { name: 'Members' }).waitFor());
  await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
  await page.getByRole('button', { name: 'Show the QR code' }).click();
  await page.locator('.qr svg').waitFor();
  await shot(page, 'console-totp-enroll');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Invite someone' }).click();
  await page.getByRole('dialog').getByLabel('Email').fill('sam@lumen.example');
  await page.getByRole('dialog').getByRole('button', { name: 'Send the invitation' }).click();
  await page.getByRole('textbox', { name: 'Invitation link' }).waitFor();
  await shot(page, 'console-invitation-link');
  await page.getByRole('button', { name: 'Done' }).click();
  await context.close();

  // The pages before sign-in, in a fresh profile.
  const anonymous = await browser.newContext({ viewport: VIEWPORT });
  const login = await anonymous.newPage();
  await login.goto(`${base}/console/login`);
  await login.getByLabel('Email').fill(EMAIL);
  await shot(login, 'console-login');
  await login.goto(`${base}/console/reset`);
  await login.getByLabel('Email').waitFor();
  await shot(login, 'console-forgot-password');
  await operator('PATCH', '/admin/settings', { signup_mode: 'closed' });
  await login.goto(`${base}/console/signup`);
  await login.getByText('Sign-up is closed').waitFor();
  await shot(login, 'console-signup-closed');
  await operator('PATCH', '/admin/settings', { signup_mode: 'invite' });
  await anonymous.close();
}
