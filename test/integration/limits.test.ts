import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/** Rate limits (SEMANTICS R1–R4, checklist C61) and misc. request handling on every face. */
const ctx = useTestApp();

afterEach(() => {
  vi.useRealTimers();
});

describe('rate limits', () => {
  it('C61: the 11th request in a minute gets 429 with Retry-After and RateLimit headers, then passes after the window', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id, { rate_limit_rpm: 10 });
    for (let index = 0; index < 10; index += 1) {
      const response = await ctx.app.request('GET', '/v1/usage', { key: key.key });
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-policy')).toBe('"key";q=10;w=60');
      expect(response.headers.get('ratelimit')).toMatch(new RegExp(`^"key";r=${9 - index};t=\\d+$`));
    }
    const limited = await ctx.app.request('GET', '/v1/usage', { key: key.key });
    expectV1Error(limited, 429, 'rate_limited');
    expect(limited.body.ok).toBe(false);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    const t = Number(/t=(\d+)/.exec(limited.headers.get('ratelimit') ?? '')?.[1]);
    expect(limited.headers.get('ratelimit')).toMatch(/^"key";r=0;t=\d+$/);
    expect(t).toBeLessThanOrEqual(retryAfter);
    vi.setSystemTime(Date.now() + 61_000);
    expect((await ctx.app.request('GET', '/v1/usage', { key: key.key })).status).toBe(200);
  });

  it('limits each key on its own and leaves unlimited keys without headers', async () => {
    const customer = await ctx.app.createCustomer();
    const limited = await ctx.app.createKey(customer.id, { rate_limit_rpm: 1 });
    const other = await ctx.app.createKey(customer.id, { rate_limit_rpm: 1 });
    const unlimited = await ctx.app.createKey(customer.id);
    expect((await ctx.app.request('GET', '/v1/usage', { key: limited.key })).status).toBe(200);
    expect((await ctx.app.request('GET', '/v1/usage', { key: limited.key })).status).toBe(429);
    expect((await ctx.app.request('GET', '/v1/usage', { key: other.key })).status).toBe(200);
    const free = await ctx.app.request('GET', '/v1/usage', { key: unlimited.key });
    expect(free.headers.get('ratelimit-policy')).toBeNull();
  });

  it('the key face answers 429 with its detail body', async () => {
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id, { rate_limit_rpm: 1 });
    await ctx.app.request('GET', '/api/v1/auth/api-keys', { key: key.key });
    const limited = await ctx.app.request('GET', '/api/v1/auth/api-keys', { key: key.key });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ detail: 'Rate limit exceeded for this API key' });
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('a 401 consumes no rate-limit points', async () => {
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id, { rate_limit_rpm: 1 });
    // A different last character (a fixed 'x' equals the real key when the key already ends in 'x').
    const wrong = `${key.key.slice(0, -1)}${key.key.endsWith('x') ? 'y' : 'x'}`;
    expect((await ctx.app.request('GET', '/v1/usage', { key: wrong })).status).toBe(401);
    expect((await ctx.app.request('GET', '/v1/usage', { key: key.key })).status).toBe(200);
  });
});

describe('usage', () => {
  it('validates from/to and reports settled usage per model', async () => {
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id);
    const withRange = await ctx.app.request('GET', `/v1/usage?from=2020-01-01T00:00:00Z&to=${encodeURIComponent(new Date(ctx.app.clock.now().getTime() + 1000).toISOString())}`, { key: key.key });
    expect(withRange.status).toBe(200);
    expect(withRange.body.usage).toEqual([]);
    for (const query of ['from=yesterday', 'to=2020-13-45T00:00:00Z', 'from=2021-01-01T00:00:00Z&to=2020-01-01T00:00:00Z', 'mode=test']) {
      const response = await ctx.app.request('GET', `/v1/usage?${query}`, { key: key.key });
      expect(response.status, query).toBe(400);
      expect(response.body.ok).toBe(false);
    }
  });
});

describe('request handling', () => {
  it('answers unknown routes with the face\'s 404 body and a request id', async () => {
    const v1 = await ctx.app.request('GET', '/v1/nothing-here');
    expectV1Error(v1, 404, 'not_found');
    const keys = await ctx.app.request('GET', '/api/v1/nothing');
    expect(keys.status).toBe(404);
    expect(keys.body.detail).toBeTruthy();
  });

  it('rejects bodies over 1 MiB with 413 and unsupported content types with 415', async () => {
    const big = await ctx.app.request('POST', '/api/public/customers', { operator: true, rawBody: JSON.stringify({ name: 'x'.repeat(1_100_000) }), headers: { 'content-type': 'application/json' } });
    expectV1Error(big, 413, 'request_too_large');
    const xml = await ctx.app.request('POST', '/api/public/customers', { operator: true, rawBody: '<x/>', headers: { 'content-type': 'application/xml' } });
    expectV1Error(xml, 415, 'unsupported_media_type');
  });

  it('healthz and readyz report the process and the database', async () => {
    expect((await ctx.app.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await ctx.app.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    const metrics = await ctx.app.request('GET', '/metrics');
    expect(metrics.status).toBe(200);
  });
});
