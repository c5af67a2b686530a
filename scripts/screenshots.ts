/**
 * `npm run screenshots`: a PNG of every operator and customer console page, filled with demo data, in ./screenshots/ (git-ignored),
 * so anyone can look at the console without running it.
 *
 * It starts genrelay in this process on a scratch data directory (embedded PGlite, the demo seed, the worker loops on
 * the real clock), every mock upstream family on another port and a small webhook receiver; enrolls an owner through
 * the enrollment page in Debian's Chromium (test/browser/chromium.ts); then, signed in as that owner, fills in
 * customers, credits, keys, channels with accounts against the mocks, a price change and a few admins through the
 * console's own JSON routes (so the audit log names the owner), runs tasks through /v1 with customer keys and the
 * demo test key, and photographs each page; then the customer console's pages, from sign-up on
 * (scripts/screenshots-customer.ts). Everything is thrown away at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIRequestContext, Page } from 'playwright-core';
import { parseConfig } from '../src/config/index.js';
import { loadSecrets } from '../src/config/secrets.js';
import { buildDeps } from '../src/deps.js';
import { buildServer } from '../src/http/server.js';
import { createAdminWithLink } from '../src/workflows/admins.js';
import { seedDemo } from '../src/workflows/bootstrap.js';
import { Worker } from '../src/worker/worker.js';
import { freePort } from '../test/harness/app.js';
import { totpAt } from '../test/harness/console.js';
import { consoleBuildDir, launchChromium } from '../test/browser/chromium.js';
import { startAllMocks } from '../test/mock-upstreams/all.js';
import { shootCustomerConsole } from './screenshots-customer.js';
import { paymentsEnv, shootPayments } from './screenshots-payments.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(REPO, 'screenshots');
const OWNER = 'owner@genrelay.example';
const PASSWORD = 'screenshots are worth it';
const VIEWPORT = { width: 1440, height: 900 };

type Json = any;

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** Webhook receiver: `/ok` answers 204, `/down` 503 (failed and retrying deliveries for the deliveries page). */
async function startReceiver(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.statusCode = request.url?.startsWith('/ok') ? 204 : 503;
      response.end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server };
}

async function main(): Promise<void> {
  const consoleDir = consoleBuildDir();
  const browser = await launchChromium();
  const mocks = await startAllMocks(0, { key: null, queuedMs: 400, runningMs: 800 });
  const receiver = await startReceiver();
  const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-screenshots-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = parseConfig({
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    DEMO: 'true',
    OPERATOR_API_KEY: randomBytes(24).toString('hex'),
    GENRELAY_MASTER_KEY: randomBytes(32).toString('hex'),
    CONSOLE_DIR: consoleDir,
    SAFE_FETCH_TRUSTED_HOSTS: '127.0.0.1',
    LOG_LEVEL: 'error',
    SANDBOX_QUEUE_MS: '500',
    SANDBOX_RUN_MS: '1000',
    POLL_INTERVAL_MS: '300',
    WORKER_INTERVAL_MS: '200',
    ...paymentsEnv(mocks.baseUrl),
  });
  const deps = await buildDeps(config, loadSecrets(config));
  await deps.catalog.seedDefaults();
  const demo = await seedDemo(deps);
  if (!demo) throw new Error('the scratch database already had the demo seed');
  const app = buildServer(deps);
  await app.listen({ port, host: '127.0.0.1' });
  const worker = new Worker(deps);
  worker.start();
  log(`genrelay on ${base}, mock upstreams on ${mocks.baseUrl}, data in ${dataDir}`);

  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const written: string[] = [];
  const shot = async (page: Page, name: string, options: { settleMs?: number } = {}) => {
    await settle(page, options.settleMs);
    const path = join(OUT, `${String(written.length + 1).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    written.push(path);
    log(`  ${path.slice(REPO.length + 1)}`);
  };

  try {
    // Enrollment of the first owner, through the page (the link the CLI prints).
    const created = await createAdminWithLink(deps, { email: OWNER, role: 'owner' });
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => log(`  page error on ${page.url()}: ${error.message}`));
    await page.goto(created.url);
    await page.getByLabel('Secret (for typing into the app)').waitFor();
    const secret = (await page.getByLabel('Secret (for typing into the app)').inputValue()).replace(/\s+/g, '');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await shot(page, 'enroll');
    await page.getByLabel('Authentication code').fill(totpAt(secret, deps.clock.now()));
    await page.getByRole('button', { name: 'Finish setup' }).click();
    await page.getByRole('list', { name: 'Recovery codes' }).waitFor();
    await shot(page, 'enroll-recovery-codes');
    await page.getByRole('button', { name: 'Continue to the console' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    // The sign-in page, both steps, in a second browser profile.
    const anonymous = await browser.newContext({ viewport: VIEWPORT });
    const login = await anonymous.newPage();
    await login.goto(`${base}/admin/login`);
    await login.getByLabel('Email').fill(OWNER);
    await shot(login, 'login');
    await login.getByLabel('Password').fill(PASSWORD);
    await login.getByRole('button', { name: 'Continue' }).click();
    await login.getByLabel('Authentication code').waitFor();
    await shot(login, 'login-code');
    await anonymous.close();

    const api = consoleApi(context.request, base);
    const ids = await fillIn(api, { base, mocks: mocks.baseUrl, receiver: receiver.url, demoKey: demo.testKey });

    // Every console page.
    const visit = async (path: string, name: string, ready?: (page: Page) => Promise<unknown>, settleMs?: number) => {
      await page.goto(`${base}/admin${path}`);
      await page.locator('main h1').first().waitFor();
      if (ready) await ready(page).catch((error: Error) => log(`  (${name}: ${error.message.split('\n')[0]})`));
      await shot(page, name, { settleMs });
    };
    await visit('/', 'dashboard', (p) => p.locator('.recharts-surface').first().waitFor(), 2_000);
    await visit('/customers', 'customers', (p) => p.getByRole('link', { name: 'Acme Studio' }).waitFor());
    await visit(`/customers/${ids.acme}`, 'customer-detail', (p) => p.getByText('production').first().waitFor());
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('render farm');
    await page.getByRole('dialog').getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('button', { name: 'I have copied it' }).waitFor();
    await shot(page, 'customer-key-shown-once');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await visit('/channels', 'channels', (p) => p.getByText('Ark Seedance').first().waitFor());
    await visit(`/channels/${ids.arkChannel}`, 'channel-detail', (p) => p.getByText('ark-1').first().waitFor());
    await page.getByRole('button', { name: 'Test ark-1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Run test generation' }).click();
    await page.getByRole('dialog').getByText('The test generation succeeded.').waitFor({ timeout: 60_000 });
    await shot(page, 'channel-account-test');
    await visit('/models', 'models', (p) => p.getByText('gpt-image-2').first().waitFor());
    await page.getByRole('button', { name: 'Show preview' }).click();
    await shot(page, 'models-public-preview');
    await visit('/models/gpt-image-2', 'model-detail', (p) => p.getByText('GPT Image 2').first().waitFor());
    await visit('/groups', 'groups', (p) => p.getByText('partners').first().waitFor());
    await visit('/tasks', 'tasks', (p) => p.getByText(ids.imageTask).first().waitFor());
    await visit(`/tasks/${ids.videoTask}`, 'task-detail', (p) => p.getByText(ids.videoTask).first().waitFor());
    await visit(`/tasks/${ids.failedTask}`, 'task-detail-failed', (p) => p.getByText(ids.failedTask).first().waitFor());
    await visit('/deliveries', 'deliveries', (p) => p.getByRole('cell', { name: /task\.succeeded/ }).first().waitFor());
    await visit('/audit', 'audit', (p) => p.getByText(OWNER).first().waitFor());
    await visit('/admins', 'admins', (p) => p.getByText('auditor@genrelay.example').first().waitFor());
    await visit('/settings', 'settings', (p) => p.getByLabel('Sign-up mode').waitFor());
    await page.goto(`${base}/models`);
    await shot(page, 'public-price-list');
    // The customer console (/console): sign-up to every page (scripts/screenshots-customer.ts).
    await shootCustomerConsole({ browser, base, operator: api, shot, receiver: receiver.url, log });
    // Back on the operator's Settings: the customer console's mail kept in the outbox (no SMTP_URL here).
    await page.goto(`${base}/admin/settings`);
    await page.getByRole('region', { name: 'Mail outbox' }).getByRole('row').nth(1).waitFor();
    await shot(page, 'settings-mail-outbox');
    await shootPayments({ browser, base, mocks: mocks.baseUrl, operator: api, adminPage: page, shot, log });
    await context.close();
    log(`${written.length} screenshots in ${OUT}`);
  } finally {
    await browser.close();
    await worker.stop();
    await app.close();
    await deps.close();
    await mocks.close();
    receiver.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Waits until the page has stopped loading: no request in flight, no loading indicator, animations given time. */
async function settle(page: Page, extraMs = 400): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.locator('.loading').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
  await page.waitForTimeout(extraMs);
}

type ConsoleApi = (method: string, path: string, body?: unknown) => Promise<Json>;

/** The console's JSON routes with the browser profile's session cookie, its CSRF token and the console's Origin. */
function consoleApi(request: APIRequestContext, base: string): ConsoleApi {
  let csrf: string | null = null;
  return async (method, path, body) => {
    csrf ??= ((await (await request.get(`${base}/admin/api/auth/session`)).json()) as { csrf_token: string }).csrf_token;
    const response = await request.fetch(`${base}/admin/api${path}`, {
      method,
      headers: { 'x-csrf-token': csrf, origin: base },
      ...(body === undefined ? {} : { data: body }),
    });
    if (!response.ok()) throw new Error(`${method} /admin/api${path}: ${response.status()} ${await response.text()}`);
    return response.status() === 204 ? null : response.json();
  };
}

async function v1(base: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: Json = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed };
}

interface Filled {
  acme: string;
  arkChannel: string;
  imageTask: string;
  videoTask: string;
  failedTask: string;
}

/** Representative data, made the way an operator would (console routes) and customers would (/v1). */
async function fillIn(api: ConsoleApi, where: { base: string; mocks: string; receiver: string; demoKey: string }): Promise<Filled> {
  log('filling in demo data');
  await api('POST', '/admin/groups', { id: 'partners', name: 'Partners', price_percent: 85 });
  await api('POST', '/admin/groups', { id: 'internal', name: 'Internal teams', price_percent: 50 });

  const customer = (body: Json) => api('POST', '/public/customers', body);
  const acme = await customer({ name: 'Acme Studio', email: 'billing@acme.example', plan: { rate_limit_rpm: 120, max_concurrency: 8 } });
  const pixel = await customer({ name: 'Pixel Forge', email: 'ops@pixelforge.example', group: 'partners' });
  const bluebird = await customer({ name: 'Bluebird Media', email: 'hello@bluebird.example' });
  await customer({ name: 'Night Owl Labs', email: 'team@nightowl.example', status: 'suspended' });
  await customer({ name: 'Design team', group: 'internal', plan: { allowed_models: ['gpt-image-2', 'seedream-4.5'] } });

  const credit = (id: string, amount: number, reason: string, reference?: string, mode = 'live') =>
    api('POST', `/public/customers/${id}/credits`, { amount, reason, mode, ...(reference ? { reference } : {}) });
  await credit(acme.id, 2_000_000, 'Prepaid top-up', 'INV-1001');
  await credit(acme.id, 500_000, 'Prepaid top-up', 'INV-1002');
  await credit(acme.id, -25_000, 'Correction: duplicate top-up fee');
  await credit(acme.id, 100_000, 'Trial credits for testing', undefined, 'test');
  await credit(pixel.id, 1_000_000, 'Partner launch allowance', 'PF-2024-01');
  await credit(bluebird.id, 150_000, 'Prepaid top-up', 'INV-1003');

  const key = (id: string, body: Json) => api('POST', `/public/customers/${id}/api-keys`, body);
  const acmeLive = await key(acme.id, { name: 'production', mode: 'live' });
  await key(acme.id, { name: 'staging', mode: 'test', scopes: ['images', 'videos', 'tasks:read'] });
  const old = await key(acme.id, { name: 'laptop (old)', mode: 'live' });
  await api('DELETE', `/public/customers/${acme.id}/api-keys/${old.id}`);
  const pixelLive = await key(pixel.id, { name: 'main', mode: 'live' });

  const channel = (body: Json) => api('POST', '/admin/channels', body);
  const ark = await channel({
    name: 'Ark Seedance',
    provider: 'ark',
    base_url: `${where.mocks}/ark/api/v3`,
    models: { 'seedance-2.0-fast': 'dreamina-seedance-2-0-fast-260128' },
    priority: 10,
    costs: { 'seedance-2.0-fast': { unit: 'second', credits_by: { '480p': 420, '720p': 850 } } },
  });
  const openai = await channel({
    name: 'OpenAI media',
    provider: 'openai',
    base_url: `${where.mocks}/openai/v1`,
    models: { 'gpt-image-2': 'gpt-image-1', 'sora-2': 'sora-2' },
    costs: { 'gpt-image-2': { unit: 'image', credits: 300, credits_by: { low: 100, medium: 300, high: 1400 } } },
  });
  const suno = await channel({ name: 'Suno', provider: 'suno', base_url: `${where.mocks}/suno/api/v1`, models: { 'suno-v5': 'V5' } });
  const chat = await channel({ name: 'Chat relay', provider: 'openai-compatible', base_url: `${where.mocks}/openai/v1`, models: { 'gpt-5-mini': 'gpt-5-mini' } });
  const partners = await channel({ name: 'Ark for partners', provider: 'ark', base_url: `${where.mocks}/ark/api/v3`, models: { 'seedance-2.0-fast': 'dreamina-seedance-2-0-fast-260128' }, group: 'partners' });
  await channel({ name: 'xAI (paused)', provider: 'xai', base_url: `${where.mocks}/xai/v1`, models: { 'grok-imagine-video': 'grok-imagine-video' }, enabled: false });

  const account = (channelId: string, label: string) => api('POST', '/accounts', { channel_id: channelId, credential: `mock-${label}-${randomBytes(6).toString('hex')}`, label });
  const ark1 = await account(ark.id, 'ark-1');
  await account(ark.id, 'ark-2');
  const ark3 = await account(ark.id, 'ark-3');
  await api('PATCH', `/accounts/${ark3.id}`, { status: 'disabled' });
  await api('POST', '/accounts/import', {
    channel_id: openai.id,
    credentials: [`sk-mock-${randomBytes(8).toString('hex')}`, { credential: `sk-mock-${randomBytes(8).toString('hex')}`, label: 'openai-backup' }, 'has whitespace inside'],
  });
  await account(suno.id, 'suno-1');
  await account(chat.id, 'chat-1');
  await account(partners.id, 'partners-1');
  await api('POST', `/accounts/${ark1.id}/test`, {});

  // A price change in force now, and one scheduled for next week.
  const image = await api('GET', '/admin/models/gpt-image-2');
  await api('PATCH', '/admin/models/gpt-image-2', { pricing: { ...image.pricing, credits_by: { ...image.pricing.credits_by, medium: 600 } } });
  const video = await api('GET', '/admin/models/seedance-2.0-fast');
  await api('PATCH', '/admin/models/seedance-2.0-fast', {
    pricing: { ...video.pricing, credits_by: { '480p': 650, '720p': 1300 } },
    effective_at: new Date(Date.now() + 7 * 86_400_000).toISOString(),
  });

  await api('POST', '/admins', { email: 'ops@genrelay.example', role: 'operator' });
  await api('POST', '/admins', { email: 'auditor@genrelay.example', role: 'viewer' });

  log('running tasks');
  const live = acmeLive.key as string;
  await v1(where.base, live, 'POST', '/v1/webhook-endpoints', { url: `${where.receiver}/ok/acme`, description: 'Acme production hooks' });
  await v1(where.base, where.demoKey, 'POST', '/v1/webhook-endpoints', { url: `${where.receiver}/down/demo`, description: 'Demo receiver (down)' });
  const image1 = await v1(where.base, live, 'POST', '/v1/images/generations', { model: 'gpt-image-2', prompt: 'a lighthouse at dawn, watercolour', size: '1024x1024', quality: 'medium', async: true });
  await v1(where.base, live, 'POST', '/v1/images/generations', { model: 'gpt-image-2', prompt: 'a red kite over green hills', size: '1536x1024', quality: 'high', async: true });
  const video1 = await v1(where.base, live, 'POST', '/v1/videos', { model: 'seedance-2.0-fast', prompt: 'waves rolling onto a beach at sunset', seconds: 5, resolution: '720p' });
  const failed = await v1(where.base, live, 'POST', '/v1/videos', { model: 'seedance-2.0-fast', prompt: 'a crowd scene [[scenario:moderation_output]]', seconds: 5 });
  await v1(where.base, live, 'POST', '/v1/music/generations', { prompt: 'a calm lullaby with soft piano', instrumental: true });
  await v1(where.base, live, 'POST', '/v1/chat/completions', { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'Write a haiku about relays.' }] });
  await v1(where.base, pixelLive.key as string, 'POST', '/v1/videos', { model: 'seedance-2.0-fast', prompt: 'a forge with sparks flying', seconds: 4, resolution: '480p' });
  for (const prompt of ['a paper boat on a pond', 'neon city street in the rain']) {
    await v1(where.base, where.demoKey, 'POST', '/v1/images/generations', { model: 'gpt-image-2', prompt, async: true });
  }
  const cancelled = await v1(where.base, where.demoKey, 'POST', '/v1/videos', { model: 'seedance-2.0', prompt: 'a slow pan over mountains', seconds: 5 });
  await api('POST', `/admin/tasks/${cancelled.body.id}/cancel`).catch((error: Error) => log(`  (cancel: ${error.message})`));
  for (const [name, response] of Object.entries({ image1, video1, failed, cancelled })) {
    if (response.status >= 300) throw new Error(`${name}: ${response.status} ${JSON.stringify(response.body)}`);
  }

  // Wait for the tasks to finish (the worker runs on the real clock; the mocks answer within seconds).
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const open = await Promise.all(['queued', 'running'].map((status) => api('GET', `/admin/tasks?status=${status}&limit=1`)));
    if (open.every((list) => list.data.length === 0)) break;
    await new Promise((done) => setTimeout(done, 500));
  }
  return { acme: acme.id, arkChannel: ark.id, imageTask: image1.body.id, videoTask: video1.body.id, failedTask: failed.body.id };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
