import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { createNewapiAdapter } from '../../src/providers/newapi/index.js';
import { createOpenAICompatibleAdapter } from '../../src/providers/openai-compatible/index.js';
import type { GenerationRequest, ProviderAdapter, ProviderContext } from '../../src/providers/spec.js';
import { DEFAULT_HARD_LIMIT_USD, startNewapiMock, USD_PER_SECOND } from '../mock-upstreams/newapi/server.js';
import { startFamily, type Family } from '../mock-upstreams/shared/harness.js';

/**
 * The new-api billing read (PROVIDERS §8.1): remaining = hard_limit_usd − total_usage / 100, read with the account's
 * key from `{base}/dashboard/billing/subscription` and `…/usage`. Which channels read it is a setting: on by default
 * in the `newapi` dialect, off in the others and on `openai-compatible` unless asked.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function mock(options: { key?: string | null } = {}) {
  const running = await startNewapiMock(options);
  cleanups.push(() => running.close());
  const control = (method: 'GET' | 'POST', body?: unknown, query = '') =>
    fetch(`${running.baseUrl}/__mock/balance${query}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }));
  return { ...running, setBalance: (body: unknown) => control('POST', body), readBalance: (key: string) => control('GET', undefined, `?key=${encodeURIComponent(key)}`) };
}

function context(baseUrl: string, credential = 'mock-key', clock = new ManualClock()): ProviderContext {
  return { clock, upstreamModel: 'doubao-seedance-2-0-260128', baseUrl: `${baseUrl}/v1`, credential, settings: {}, attempt: 1 };
}

async function balance(adapter: ProviderAdapter, ctx: ProviderContext) {
  expect(adapter.balance).toBeTypeOf('function');
  return adapter.balance!(ctx);
}

describe('new-api billing balance', () => {
  it('the newapi dialect reads it: the default quota, a figure set through the mock, and what a succeeded task billed', async () => {
    const upstream = await mock();
    const adapter = createNewapiAdapter({});
    const ctx = context(upstream.baseUrl);
    expect(await balance(adapter, ctx)).toEqual({ amount: DEFAULT_HARD_LIMIT_USD, currency: 'USD' });
    expect((await upstream.setBalance({ key: 'mock-key', hard_limit_usd: 10, used_usd: 2.3 })).body).toMatchObject({ remaining_usd: 7.7 });
    expect(await balance(adapter, ctx)).toEqual({ amount: 7.7, currency: 'USD' });

    // A 6 s task bills its key when it succeeds upstream; the next read shows it.
    const request: GenerationRequest = { taskId: 'task_balance1', kind: 'video', model: 'seedance-2.0', prompt: 'a kite', seconds: 6, resolution: '720p', ratio: '16:9', references: [] };
    const started = await adapter.start(request, ctx);
    expect(started.outcome).toBe('accepted');
    if (started.outcome !== 'accepted') return;
    upstream.control.offsetMs += 10_000;
    expect((await adapter.status(started.operation, ctx)).status).toBe('succeeded');
    expect(await balance(adapter, ctx)).toEqual({ amount: Math.round((7.7 - 6 * USD_PER_SECOND) * 1e6) / 1e6, currency: 'USD' });
    expect((await upstream.readBalance('mock-key')).body).toMatchObject({ hard_limit_usd: 10, used_usd: 2.3 + 6 * USD_PER_SECOND });
  });

  it('balances are per key (a mock accepting any key, as the CLI does)', async () => {
    const upstream = await mock({ key: null });
    const adapter = createNewapiAdapter({});
    await upstream.setBalance({ key: 'key-a', hard_limit_usd: 1, used_usd: 1 });
    expect(await balance(adapter, context(upstream.baseUrl, 'key-a'))).toEqual({ amount: 0, currency: 'USD' });
    expect(await balance(adapter, context(upstream.baseUrl, 'key-b'))).toEqual({ amount: DEFAULT_HARD_LIMIT_USD, currency: 'USD' });
  });

  it('sends the usage range as YYYY-MM-DD dates, up to tomorrow by the injected clock', async () => {
    const clock = new ManualClock(new Date('2031-12-31T23:30:00Z'));
    const seen: string[] = [];
    const family: Family = () => [
      { method: 'GET', path: /^\/v1\/dashboard\/billing\/subscription$/, name: 's', handle: () => ({ status: 200, body: { hard_limit_usd: '12.5' } }) },
      { method: 'GET', path: /^\/v1\/dashboard\/billing\/usage$/, name: 'u', handle: (request) => (seen.push(request.query.toString()), { status: 200, body: { object: 'list', total_usage: 250 } }) },
    ];
    const scripted = await startFamily(family, 'newapi');
    cleanups.push(() => scripted.close());
    expect(await balance(createNewapiAdapter({}), context(scripted.baseUrl, 'mock-key', clock))).toEqual({ amount: 10, currency: 'USD' });
    expect(seen).toEqual(['start_date=1970-01-01&end_date=2032-01-01']);
  });

  it('a failed read throws (the engine keeps the last figure), without the key in the message; a 2xx without figures is null', async () => {
    const upstream = await mock();
    const adapter = createNewapiAdapter({});
    const refused = await balance(adapter, context(upstream.baseUrl, 'wrong-key-0123456789')).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/billing subscription: HTTP 401/);
    expect((refused as Error).message).not.toContain('wrong-key-0123456789');
    expect((refused as Error).message).not.toContain('127.0.0.1');
    upstream.control.queueScenario('billing_subscription', 'server_error', 1);
    await expect(balance(adapter, context(upstream.baseUrl))).rejects.toThrow(/billing subscription: HTTP 500/);
    await expect(balance(adapter, { ...context(upstream.baseUrl), credential: '' })).rejects.toThrow(/no key/);

    const family: Family = () => [
      { method: 'GET', path: /^\/v1\/dashboard\/billing\/subscription$/, name: 's', handle: () => ({ status: 200, body: { object: 'billing_subscription' } }) },
    ];
    const odd = await startFamily(family, 'newapi');
    cleanups.push(() => odd.close());
    expect(await balance(adapter, context(odd.baseUrl))).toBeNull();
    const noUsage: Family = () => [
      { method: 'GET', path: /^\/v1\/dashboard\/billing\/subscription$/, name: 's', handle: () => ({ status: 200, body: { hard_limit_usd: 5 } }) },
      { method: 'GET', path: /^\/v1\/dashboard\/billing\/usage$/, name: 'u', handle: () => ({ status: 200, body: { error: { message: 'usage disabled' } } }) },
    ];
    const partial = await startFamily(noUsage, 'newapi');
    cleanups.push(() => partial.close());
    await expect(balance(adapter, context(partial.baseUrl))).rejects.toThrow(/usage disabled/);
  });

  it('only where the family documents it: newapi dialect on, apimart and openai-videos off unless set; openai-compatible opt-in', async () => {
    const upstream = await mock();
    expect(createNewapiAdapter({ dialect: 'apimart' }).balance).toBeUndefined();
    expect(createNewapiAdapter({ dialect: 'openai-videos' }).balance).toBeUndefined();
    expect(createNewapiAdapter({ balance: false }).balance).toBeUndefined();
    expect(await balance(createNewapiAdapter({ dialect: 'openai-videos', balance: true }), context(upstream.baseUrl))).toEqual({ amount: 100, currency: 'USD' });
    expect(createOpenAICompatibleAdapter({}).balance).toBeUndefined();
    await upstream.setBalance({ key: 'mock-key', hard_limit_usd: 3, used_usd: 3 });
    expect(await balance(createOpenAICompatibleAdapter({ balance: true }), context(upstream.baseUrl))).toEqual({ amount: 0, currency: 'USD' });
    expect(await balance(createOpenAICompatibleAdapter({ balance: 'true' }), context(upstream.baseUrl))).toEqual({ amount: 0, currency: 'USD' });
  });

  it('the mock: usage needs both dates; its control surface checks input and /__mock/reset restores the default', async () => {
    const upstream = await mock();
    const get = (path: string, key = 'mock-key') => fetch(`${upstream.baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }));
    expect((await get('/v1/dashboard/billing/usage')).status).toBe(400);
    expect((await get('/v1/dashboard/billing/usage?start_date=2030-01-02&end_date=2030-01-01')).status).toBe(400);
    expect((await get('/v1/dashboard/billing/usage?start_date=2030-01-01&end_date=2030-02-01')).body).toEqual({ object: 'list', total_usage: 0 });
    expect((await get('/v1/dashboard/billing/subscription', 'nope')).status).toBe(401);
    expect((await upstream.setBalance({ hard_limit_usd: 1 })).status).toBe(400);
    expect((await upstream.setBalance({ key: 'k', used_usd: 'lots' })).status).toBe(400);
    await upstream.setBalance({ key: 'mock-key', hard_limit_usd: 1, used_usd: 0.25 });
    expect((await get('/v1/dashboard/billing/usage?start_date=2030-01-01&end_date=2030-02-01')).body.total_usage).toBe(25);
    await fetch(`${upstream.baseUrl}/__mock/reset`, { method: 'POST' });
    expect((await upstream.readBalance('mock-key')).body).toMatchObject({ hard_limit_usd: DEFAULT_HARD_LIMIT_USD, used_usd: 0 });
    // Control calls are not upstream requests.
    expect(upstream.control.stats.requests.balance).toBeUndefined();
  });
});
