import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startTestApp, type TestApp, type TestAppOptions } from '../harness/app.js';
import { totpAt } from '../harness/console.js';
import { consoleBuildDir, launchChromium } from './chromium.js';

/**
 * The console in a real browser: Debian's Chromium driven by playwright-core (chromium.ts), the console build served
 * by a real genrelay on a random loopback port (the integration harness: real database, manual clock).
 * TOTP codes are computed from the enrolled secret at the app's clock; a fresh step is a clock advance, never a sleep.
 */
/** `expect.poll` options for page state: the page may need a few seconds on a loaded machine. */
export const POLL = { timeout: 15_000, interval: 100 };

export interface ConsoleTestContext {
  app: TestApp;
  browser: Browser;
  /** Absolute URL of a console path: `url('/admin/login')`. */
  url(path: string): string;
  /** A fresh browser profile (its own cookies) with one page; closed after the test. Page errors fail the test. */
  newPage(): Promise<{ context: BrowserContext; page: Page }>;
}

/** One genrelay (with the console build) and one Chromium per test file; page errors (uncaught exceptions) fail the test. */
export function useConsoleApp(options: TestAppOptions = {}): ConsoleTestContext {
  const contexts: BrowserContext[] = [];
  let pageErrors: string[] = [];
  const state = {} as ConsoleTestContext;
  beforeAll(async () => {
    const consoleDir = consoleBuildDir();
    state.browser = await launchChromium();
    state.app = await startTestApp({ ...options, env: { CONSOLE_DIR: consoleDir, ...options.env } });
    state.url = (path: string) => `${state.app.baseUrl}${path}`;
    state.newPage = async () => {
      const context = await state.browser.newContext({ viewport: { width: 1280, height: 900 } });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
      return { context, page };
    };
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close().catch(() => {});
    const errors = pageErrors;
    pageErrors = [];
    expect(errors, 'uncaught errors in the page').toEqual([]);
    expect(await state.app.invariants()).toEqual({});
  });
  afterAll(async () => {
    await state.browser?.close();
    await state.app?.close();
  });
  return state;
}

export interface Credentials {
  email: string;
  password: string;
  secret: string;
}

/** The password step of the sign-in page (the page must show it). */
export async function submitPassword(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** The code step: types `code` and presses "Sign in". */
export async function submitCode(page: Page, code: string): Promise<void> {
  await page.getByLabel('Authentication code').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Signs in through the real pages: /admin/login (unless the page is there already), email and password, then the code of a fresh TOTP step (the clock
 * moves 30 s first: the last used step is refused, A4). Ends on the page the console lands on (the dashboard).
 */
export async function signIn(page: Page, ctx: ConsoleTestContext, who: Credentials): Promise<void> {
  if (new URL(page.url()).pathname !== '/admin/login') await page.goto(ctx.url('/admin/login'));
  await submitPassword(page, who.email, who.password);
  ctx.app.clock.advance(30_000);
  await submitCode(page, totpAt(who.secret, ctx.app.clock.now()));
  await expect.poll(() => new URL(page.url()).pathname, POLL).not.toBe('/admin/login');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/**
 * `fetch` from inside the page (same origin: the browser adds the cookie, `Origin` and `Sec-Fetch-Site` itself).
 * `csrf: true` first reads the session's token the way the console does (from `sessionPath`, default the operator
 * console's) and sends it as `X-CSRF-Token`.
 */
export async function pageFetch(
  page: Page,
  method: string,
  path: string,
  options: { body?: unknown; csrf?: boolean; sessionPath?: string } = {},
): Promise<{ status: number; body: any }> {
  return page.evaluate(
    async ({ method, path, body, csrf, sessionPath }) => {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (csrf) {
        const session = (await (await fetch(sessionPath, { credentials: 'same-origin' })).json()) as { csrf_token: string };
        headers['x-csrf-token'] = session.csrf_token;
      }
      const response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON
      }
      return { status: response.status, body: parsed };
    },
    { method, path, body: options.body, csrf: options.csrf ?? false, sessionPath: options.sessionPath ?? '/admin/api/auth/session' },
  );
}
