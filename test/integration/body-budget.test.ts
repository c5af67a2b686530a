import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BodyBudget } from '../../src/http/body-budget.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';
import { testCustomer } from '../harness/flows.js';

/** Issue 8: request bodies in flight share one per-process budget (MAX_INFLIGHT_BODY_MB), so a burst stays bounded. */
const ctx = useTestApp({ env: { MAX_INFLIGHT_BODY_MB: '1' } });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('in-flight body budget', () => {
  it('a body that does not fit beside the ones being received gets 429 before it is read; the budget comes back', async () => {
    const { key } = await testCustomer(ctx.app);
    const hold = vi.spyOn(BodyBudget.prototype, 'hold');
    const url = new URL(ctx.app.baseUrl);
    // A slow upload announcing 900 KB holds its share until its response closes.
    const slow = httpRequest({
      host: url.hostname, port: url.port, method: 'POST', path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': String(900 * 1024) },
    });
    const slowAnswer = new Promise<number>((resolve) => {
      slow.on('response', (response) => { response.resume(); resolve(response.statusCode ?? 0); });
      slow.on('error', () => resolve(-1));
    });
    const prefix = '{"model":"gpt-5-mini","messages":[{"role":"user","content":"';
    slow.write(prefix);
    // It holds its share once the server has read its headers and authenticated it: wait for that, not for a fixed
    // pause (the first budget decision is the slow upload's: nothing else with a body is in flight).
    for (const deadline = Date.now() + 10_000; hold.mock.calls.length === 0; ) {
      if (Date.now() > deadline) throw new Error('the slow upload never reached the body budget');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(hold.mock.results[0]!.type).toBe('return');

    const body = JSON.stringify({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'x'.repeat(300 * 1024) }] });
    const refused = await ctx.app.request('POST', '/v1/chat/completions', { key, rawBody: body, headers: { 'content-type': 'application/json' } });
    expectV1Error(refused, 429, 'rate_limited');
    expect(refused.headers.get('retry-after')).toBe('1');
    // Small requests without bodies are not affected.
    expect((await ctx.app.request('GET', '/v1/usage', { key })).status).toBe(200);
    // Unauthenticated requests are refused by auth before they could take any of the budget.
    expect((await ctx.app.request('POST', '/v1/chat/completions', { rawBody: body, headers: { 'content-type': 'application/json' } })).status).toBe(401);

    slow.end(`${'y'.repeat(900 * 1024 - prefix.length - 4)}"}]}`);
    expect(await slowAnswer).toBe(200);
    const accepted = await ctx.app.request('POST', '/v1/chat/completions', { key, rawBody: body, headers: { 'content-type': 'application/json' } });
    expect(accepted.status).toBe(200);
  });
});
