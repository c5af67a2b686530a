import type { Page, Response } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createAdminWithLink } from '../../src/workflows/admins.js';
import { OPERATOR_KEY } from '../harness/app.js';
import { TEST_PASSWORD, enrolledAdmin, totpAt } from '../harness/console.js';
import { POLL, pageFetch, signIn, submitCode, submitPassword, useConsoleApp } from './harness.js';

/**
 * Sign-in, enrollment and the A6–A10 protections, driven through the console's real pages in Chromium: the TOTP codes
 * are computed by the test from the enrolled secret at the app's (manual) clock.
 */
const ctx = useConsoleApp();

const SESSION_COOKIE = /^__Host-gr_session=([A-Za-z0-9_-]{43}); Path=\/; Secure; HttpOnly; SameSite=Strict$/;

/** Every `Set-Cookie` the console's JSON routes answer while the page runs (read raw, as the browser received it). */
function recordSetCookies(page: Page): string[] {
  const seen: string[] = [];
  page.on('response', (response) => {
    if (!response.url().includes('/admin/api/')) return;
    void response.headersArray().then((headers) => {
      for (const header of headers) if (header.name.toLowerCase() === 'set-cookie') seen.push(...header.value.split('\n'));
    });
  });
  return seen;
}

const isApi = (path: string, method = 'POST') => (response: Response) =>
  new URL(response.url()).pathname === `/admin/api${path}` && response.request().method() === method;

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((url) => url.pathname === '/admin/login');
  await page.getByLabel('Email').waitFor();
}

describe('signing in', () => {
  it('password, then a TOTP code computed by the test; the session cookie carries exactly the A6 flags', async () => {
    const owner = await enrolledAdmin(ctx.app, 'owner');
    const { context, page } = await ctx.newPage();
    const setCookies = recordSetCookies(page);

    await page.goto(ctx.url('/admin/customers'));
    await page.waitForURL((url) => url.pathname === '/admin/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/customers');
    await signIn(page, ctx, owner);
    // Back where the sign-in started, signed in as the owner.
    expect(new URL(page.url()).pathname).toBe('/admin/customers');
    await expect.poll(() => page.locator('.sidebar-user').textContent(), POLL).toContain(owner.email);
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();

    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: '__Host-gr_session',
      domain: '127.0.0.1', // host-only: the Set-Cookie named no Domain
      path: '/',
      secure: true,
      httpOnly: true,
      sameSite: 'Strict',
      expires: -1, // a browser-session cookie
    });
    // Raw headers: the exact attribute list, no Domain, no expiry; a new id at each step (anonymous, mfa_pending, authenticated).
    await expect.poll(() => setCookies.length, POLL).toBeGreaterThanOrEqual(3);
    for (const header of setCookies) expect(header).toMatch(SESSION_COOKIE);
    const ids = setCookies.map((header) => SESSION_COOKIE.exec(header)![1]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(cookies[0]!.value).toBe(ids.at(-1));
    // HttpOnly: invisible to scripts.
    expect(await page.evaluate('document.cookie')).toBe('');

    // The cookie carries the session over a reload on plain http://127.0.0.1.
    await page.reload();
    await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/admin/customers');

    await signOut(page);
    // The signed-in id is gone: the old cookie opens nothing any more.
    const reuse = await fetch(ctx.url('/admin/api/auth/session'), { headers: { cookie: `__Host-gr_session=${ids.at(-1)}` } });
    expect(((await reuse.json()) as { state: string }).state).toBe('anonymous');
    await page.goto(ctx.url('/admin/customers'));
    await page.waitForURL((url) => url.pathname === '/admin/login');
  });

  it('a replayed TOTP code is refused in the page; the next step signs in', async () => {
    const owner = await enrolledAdmin(ctx.app, 'operator');
    const { page } = await ctx.newPage();
    await page.goto(ctx.url('/admin/login'));
    await submitPassword(page, owner.email, owner.password);
    ctx.app.clock.advance(30_000);
    const code = totpAt(owner.secret, ctx.app.clock.now());
    await submitCode(page, code);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await signOut(page);

    // The same code again, still inside its 30 s step: refused, with the page's uniform message.
    await submitPassword(page, owner.email, owner.password);
    const refused = page.waitForResponse(isApi('/auth/totp'));
    await submitCode(page, code);
    const answer = await refused;
    expect(answer.status()).toBe(401);
    expect((await answer.json()).error.code).toBe('invalid_code');
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toBe('That code is not valid.');
    expect(new URL(page.url()).pathname).toBe('/admin/login');

    ctx.app.clock.advance(30_000);
    await submitCode(page, totpAt(owner.secret, ctx.app.clock.now()));
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  it('repeated failures lock the sign-in: the page shows the 429 and its wait, Retry-After is sent; the lock ends', async () => {
    const admin = await enrolledAdmin(ctx.app, 'operator');
    const { page } = await ctx.newPage();
    await page.goto(ctx.url('/admin/login'));
    const loginAnswer = () => page.waitForResponse(isApi('/auth/login'));

    const fail = async (attempt: number) => {
      const answer = loginAnswer();
      await submitPassword(page, admin.email, `wrong password ${attempt}`);
      expect((await answer).status()).toBe(401);
      await expect.poll(() => page.getByRole('alert').textContent(), POLL).toBe('The email or password is incorrect.');
    };
    for (let attempt = 1; attempt <= 5; attempt += 1) await fail(attempt);

    // Locked (1 s after five failures): even the right password is answered 429 with Retry-After.
    let answer = loginAnswer();
    await submitPassword(page, admin.email, admin.password);
    let locked = await answer;
    expect(locked.status()).toBe(429);
    expect(await locked.headerValue('retry-after')).toBe('1');
    expect((await locked.json()).error.code).toBe('too_many_attempts');
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toMatch(/^Too many attempts\./);

    // Each further failure doubles the lock (on the server's clock): 2 s, 4 s, 8 s.
    for (const [attempt, lock] of [[6, 1_000], [7, 2_000], [8, 4_000]] as const) {
      ctx.app.clock.advance(lock);
      await fail(attempt);
    }
    answer = loginAnswer();
    await submitPassword(page, admin.email, admin.password);
    locked = await answer;
    expect(locked.status()).toBe(429);
    expect(await locked.headerValue('retry-after')).toBe('8');
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toMatch(/^Too many attempts\. Try again in [1-8] s\.$/);
    // The page holds the button back while the wait runs, even with both fields filled in.
    await page.getByLabel('Password').fill(admin.password);
    expect(await page.getByRole('button', { name: 'Continue' }).isDisabled()).toBe(true);

    // Once the lock has passed (server clock), the right password and a fresh code sign in.
    ctx.app.clock.advance(8_000);
    await page.reload();
    await signIn(page, ctx, admin);
  });
});

describe('CSRF and roles', () => {
  it('a mutation without the CSRF token is refused (403 csrf_failed); so is one with the token but no same-origin proof', async () => {
    const owner = await enrolledAdmin(ctx.app, 'owner');
    const { page } = await ctx.newPage();
    await signIn(page, ctx, owner);

    const missing = await pageFetch(page, 'POST', '/admin/api/public/customers', { body: { name: 'Without token' } });
    expect(missing.status).toBe(403);
    expect(missing.body.error.code).toBe('csrf_failed');

    // The browser's own request with the session's token passes (it sends Sec-Fetch-Site: same-origin itself).
    const withToken = await pageFetch(page, 'POST', '/admin/api/public/customers', { body: { name: 'With token' }, csrf: true });
    expect(withToken.status, JSON.stringify(withToken.body)).toBe(201);

    // The same cookie and token from outside a page (no Sec-Fetch-Site, no Origin): refused; with the public Origin: accepted.
    const token = (await (await page.request.get(ctx.url('/admin/api/auth/session'))).json()).csrf_token as string;
    const outside = await page.request.post(ctx.url('/admin/api/public/customers'), { data: { name: 'No origin' }, headers: { 'x-csrf-token': token } });
    expect(outside.status()).toBe(403);
    expect((await outside.json()).error.code).toBe('csrf_failed');
    const crossSite = await page.request.post(ctx.url('/admin/api/public/customers'), {
      data: { name: 'Cross site' },
      headers: { 'x-csrf-token': token, 'sec-fetch-site': 'cross-site', origin: ctx.app.baseUrl },
    });
    expect(crossSite.status()).toBe(403);
    const origin = await page.request.post(ctx.url('/admin/api/public/customers'), { data: { name: 'Public origin' }, headers: { 'x-csrf-token': token, origin: ctx.app.baseUrl } });
    expect(origin.status()).toBe(201);

    const names = (await ctx.app.request('GET', '/api/public/customers?limit=100', { operator: true })).body.data.map((customer: { name: string }) => customer.name);
    expect(names).toEqual(expect.arrayContaining(['With token', 'Public origin']));
    expect(names).not.toContain('Without token');
    expect(names).not.toContain('No origin');
    expect(names).not.toContain('Cross site');
  });

  it('a viewer is offered nothing that changes anything, and a forced mutation is refused (403 forbidden)', async () => {
    const viewer = await enrolledAdmin(ctx.app, 'viewer');
    const customer = await ctx.app.createCustomer({ name: 'Seen by a viewer' });
    await ctx.app.grant(customer.id, 5_000);
    await ctx.app.createKey(customer.id, { name: 'viewer-visible key' });
    const { page } = await ctx.newPage();
    await signIn(page, ctx, viewer);
    await expect.poll(() => page.locator('.sidebar-user').textContent(), POLL).toContain('Role: viewer');

    await page.goto(ctx.url('/admin/customers'));
    await page.getByRole('link', { name: 'Seen by a viewer' }).waitFor();
    expect(await page.getByRole('button', { name: 'New customer' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Seen by a viewer' }).click();
    await page.getByText('viewer-visible key').waitFor();
    for (const name of ['Grant or adjust credits', 'Create key', /^Rotate/, /^Revoke/, /^Edit/]) {
      expect(await page.getByRole('button', { name }).count(), String(name)).toBe(0);
    }
    await page.goto(ctx.url('/admin/settings'));
    await page.getByLabel('Sign-up mode').waitFor();
    expect(await page.getByLabel('Sign-up mode').isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);

    // Every page in the navigation: no enabled control with a verb that changes something.
    const writeVerb = /^(new|create|add|save|delete|remove|revoke|rotate|grant|edit|disable|enable|import|invite|reset|change|cancel task|test|run)\b/i;
    for (const link of await page.getByRole('navigation', { name: 'Main' }).getByRole('link').all()) {
      const href = await link.getAttribute('href');
      await link.click();
      await page.waitForURL((url) => url.pathname === href);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      // Read in one pass in the page: a list that re-renders meanwhile cannot leave a locator pointing at nothing.
      const offered = await page.locator('main').getByRole('button').evaluateAll((buttons, pattern) => {
        const verb = new RegExp(pattern, 'i');
        return buttons
          .map((button) => ({
            name: (button.getAttribute('aria-label') ?? button.textContent ?? '').trim(),
            visible: (button as unknown as { checkVisibility(): boolean }).checkVisibility(),
            enabled: !(button as unknown as { disabled?: boolean }).disabled && button.getAttribute('aria-disabled') !== 'true',
          }))
          .filter((button) => verb.test(button.name) && button.visible && button.enabled)
          .map((button) => button.name);
      }, writeVerb.source);
      expect(offered, `write controls offered to a viewer on ${href}`).toEqual([]);
    }

    // Forcing it anyway, with a valid CSRF token from the browser: 403 forbidden, nothing changed.
    const create = await pageFetch(page, 'POST', '/admin/api/public/customers', { body: { name: 'Viewer-made' }, csrf: true });
    expect(create.status).toBe(403);
    expect(create.body.error.code).toBe('forbidden');
    const grant = await pageFetch(page, 'POST', `/admin/api/public/customers/${customer.id}/credits`, { body: { amount: 1, reason: 'viewer', mode: 'live' }, csrf: true });
    expect(grant.status).toBe(403);
    const settings = await pageFetch(page, 'PATCH', '/admin/api/admin/settings', { body: { signup_mode: 'open' }, csrf: true });
    expect(settings.status).toBe(403);
    const invite = await pageFetch(page, 'POST', '/admin/api/admins', { body: { email: 'viewer-invite@example.com', role: 'owner' }, csrf: true });
    expect(invite.status).toBe(403);
    const sessions = await pageFetch(page, 'GET', '/admin/api/sessions');
    const own = sessions.body.data.find((session: { current: boolean }) => session.current);
    const revoke = await pageFetch(page, 'DELETE', `/admin/api/sessions/${own.id}`, { csrf: true });
    expect(revoke.status).toBe(403);
    // Reading is allowed.
    expect((await pageFetch(page, 'GET', `/admin/api/public/customers/${customer.id}`)).status).toBe(200);

    const after = await ctx.app.request('GET', `/api/public/customers/${customer.id}`, { operator: true });
    expect(after.body.credits.live.available).toBe(5_000);
    expect((await ctx.app.request('GET', '/api/admin/settings', { operator: true })).body.signup_mode).toBe('invite');
    const names = (await ctx.app.request('GET', '/api/public/customers?limit=100', { operator: true })).body.data.map((row: { name: string }) => row.name);
    expect(names).not.toContain('Viewer-made');
  });
});

describe('enrollment', () => {
  it('through the page: QR code and the secret as text, a password, a code; recovery codes shown once and usable once', async () => {
    const email = `enrolling-${process.pid}@example.com`;
    const created = await createAdminWithLink(ctx.app.deps, { email, role: 'operator' });
    expect(created.url.startsWith(`${ctx.app.baseUrl}/admin/enroll#token=`)).toBe(true);
    const { page } = await ctx.newPage();
    await page.goto(created.url);

    await page.getByText(email).waitFor();
    const qr = page.getByRole('img', { name: `QR code for ${email}` });
    await qr.waitFor();
    expect(await qr.locator('svg path, svg rect').count()).toBeGreaterThan(0);
    const secret = (await page.getByLabel('Secret (for typing into the app)').inputValue()).replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    const otpauth = await page.getByRole('link', { name: 'open in the authenticator app' }).getAttribute('href');
    expect(new URL(otpauth!).searchParams.get('secret')).toBe(secret);

    // A wrong code is refused and the page says so; the right one (computed from the secret shown) finishes.
    await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
    await page.getByLabel('Repeat the password').fill(TEST_PASSWORD);
    const now = ctx.app.clock.now().getTime();
    const valid = new Set([-30_000, 0, 30_000].map((offset) => totpAt(secret, new Date(now + offset))));
    await page.getByLabel('Authentication code').fill(['000000', '111111', '222222', '333333'].find((code) => !valid.has(code))!);
    await page.getByRole('button', { name: 'Finish setup' }).click();
    await page.getByText('That code does not match.', { exact: false }).waitFor();
    await page.getByLabel('Authentication code').fill(totpAt(secret, ctx.app.clock.now()));
    await page.getByRole('button', { name: 'Finish setup' }).click();

    const list = page.getByRole('list', { name: 'Recovery codes' });
    await list.waitFor();
    const codes = (await list.getByRole('listitem').allTextContents()).map((code) => code.trim());
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    await page.getByText('they will not be shown again', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Continue to the console' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await expect.poll(() => page.locator('.sidebar-user').textContent(), POLL).toContain(email);

    // The link is spent: opening it again shows no secret and no codes.
    await page.goto(created.url);
    await page.getByText('This enrollment link is not valid', { exact: false }).waitFor();
    const content = await page.content();
    expect(content).not.toContain(secret);
    for (const code of codes) expect(content).not.toContain(code);

    // A recovery code signs in once (instead of an authentication code); the second time it is refused.
    await page.goto(ctx.url('/admin/'));
    await signOut(page);
    const useRecovery = async (code: string) => {
      await submitPassword(page, email, TEST_PASSWORD);
      await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
      await page.getByLabel('Recovery code').fill(code);
      await page.getByRole('button', { name: 'Sign in' }).click();
    };
    await useRecovery(codes[3]!);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await signOut(page);
    await useRecovery(codes[3]!);
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toBe('That recovery code is not valid.');

    // The operator key still works for scripts, beside the console.
    expect((await fetch(ctx.url('/api/admin/settings'), { headers: { authorization: `Bearer ${OPERATOR_KEY}` } })).status).toBe(200);
  });
});
