import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../harness/app.js';

/**
 * The console's pages (API.md §12): `<CONSOLE_DIR>/admin` served at /admin/ with the A12 headers, index.html for
 * client-side routes (never cached), hashed assets cached for a year, JSON 404s under /admin/api/, and a 503 page
 * naming `npm run build:console` when there is no build.
 */
const built = mkdtempSync(join(tmpdir(), 'genrelay-console-'));
const missing = join(built, 'not-built-here');
const INDEX = '<!doctype html><html><head><script type="module" src="/admin/assets/index-AbC123.js"></script></head><body><div id="root"></div></body></html>';
let withBuild: TestApp;
let withoutBuild: TestApp;

beforeAll(async () => {
  mkdirSync(join(built, 'admin', 'assets'), { recursive: true });
  writeFileSync(join(built, 'admin', 'index.html'), INDEX);
  writeFileSync(join(built, 'admin', 'assets', 'index-AbC123.js'), 'console.log("console");');
  writeFileSync(join(built, 'admin', 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(built, 'admin', '.env'), 'SECRET=1');
  writeFileSync(join(built, 'outside.txt'), 'not part of the admin app');
  [withBuild, withoutBuild] = await Promise.all([
    startTestApp({ env: { CONSOLE_DIR: built } }),
    startTestApp({ env: { CONSOLE_DIR: missing } }),
  ]);
});

afterAll(async () => {
  await withBuild?.close();
  await withoutBuild?.close();
  rmSync(built, { recursive: true, force: true });
});

function expectConsoleHeaders(response: { headers: Headers }, label: string): void {
  expect(response.headers.get('content-security-policy'), label).toBe("default-src 'self'; frame-ancestors 'none'");
  expect(response.headers.get('x-content-type-options'), label).toBe('nosniff');
  expect(response.headers.get('referrer-policy'), label).toBe('same-origin');
}

describe('console pages', () => {
  it('answers index.html, uncached, for /admin and every client route outside /admin/api/', async () => {
    for (const path of ['/admin', '/admin/', '/admin/login', '/admin/enroll', '/admin/customers/cus_123/keys', '/admin/apix']) {
      const response = await withBuild.request('GET', path);
      expect(response.status, path).toBe(200);
      expect(response.text, path).toBe(INDEX);
      expect(response.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control'), path).toBe('no-cache');
      expectConsoleHeaders(response, path);
    }
    const head = await fetch(`${withBuild.baseUrl}/admin/login`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('serves built files: hashed assets for a year, others revalidated; no dotfiles, nothing outside the app', async () => {
    const asset = await withBuild.request('GET', '/admin/assets/index-AbC123.js');
    expect(asset.status).toBe(200);
    expect(asset.text).toBe('console.log("console");');
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expectConsoleHeaders(asset, 'asset');
    const icon = await withBuild.request('GET', '/admin/favicon.svg');
    expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(icon.headers.get('cache-control')).toBe('no-cache');
    for (const path of ['/admin/.env', '/admin/..%2Foutside.txt', '/admin/%2e%2e/outside.txt', '/admin/assets/..%2F..%2Foutside.txt']) {
      const response = await withBuild.request('GET', path);
      expect(response.text, path).not.toContain('SECRET');
      expect(response.text, path).not.toContain('not part of the admin app');
    }
  });

  it('keeps /admin/api/ for JSON: unknown paths are JSON 404s; so is a missing asset', async () => {
    for (const path of ['/admin/api', '/admin/api/', '/admin/api/nothing/here', '/admin/assets/missing-Old123.js']) {
      const response = await withBuild.request('GET', path);
      expect(response.status, path).toBe(404);
      expect(response.body.error.code, path).toBe('not_found');
    }
  });

  it('without a build, /admin says so (503) and how to build it', async () => {
    for (const path of ['/admin', '/admin/login']) {
      const response = await withoutBuild.request('GET', path);
      expect(response.status, path).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.text).toContain('npm run build:console');
      expectConsoleHeaders(response, path);
    }
    // The API is unaffected.
    expect((await withoutBuild.request('GET', '/admin/api/auth/session')).status).toBe(200);
    expect((await withoutBuild.request('GET', '/api/public/customers', { operator: true })).status).toBe(200);
  });
});
