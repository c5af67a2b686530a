import { describe, expect, it } from 'vitest';
import { testCustomer, testWallet } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/** Idempotency and concurrency races through real HTTP on PostgreSQL (checklist C20, C21, C62). */
const ctx = useTestApp({ engine: 'postgres', poolSize: 45 });
const BODY = { prompt: 'drone shot over rice fields', size: '16:9_SMALL', duration: 5 };
const PRICE = 5 * 600; // seedance-2.0-fast at its smallest resolution (480p)

describe('HTTP races', () => {
  it('C20: 50 parallel /v1/videos/generate with one Idempotency-Key → one task, one 202 and 49 replays', async () => {
    const owner = await testCustomer(ctx.app, 100_000);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => ctx.app.request('POST', '/v1/videos/generate', { key: owner.key, body: BODY, headers: { 'idempotency-key': 'race-1' } })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses.filter((status) => status === 202)).toHaveLength(1);
    expect(statuses.filter((status) => status === 200)).toHaveLength(49);
    expect(new Set(responses.map((response) => response.body.jobId)).size).toBe(1);
    expect(responses.filter((response) => response.status === 200).every((response) => response.headers.get('idempotent-replayed') === 'true')).toBe(true);
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 100_000, reserved: PRICE });
  });

  it('C21: 10 × body A and 10 × body B with one key → one task; the other body gets 409', async () => {
    const owner = await testCustomer(ctx.app, 100_000);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        ctx.app.request('POST', '/v1/videos/generate', { key: owner.key, body: { ...BODY, prompt: index % 2 ? 'A' : 'B' }, headers: { 'idempotency-key': 'race-ab' } }),
      ),
    );
    const winners = new Set(responses.filter((response) => response.status !== 409).map((response) => response.body.jobId));
    expect(winners.size).toBe(1);
    expect(responses.filter((response) => response.status === 409)).toHaveLength(10);
    expect(responses.filter((response) => response.status === 409).every((response) => response.body.error.code === 'idempotency_key_reused')).toBe(true);
    expect((await testWallet(ctx.app, owner.customerId)).reserved).toBe(PRICE);
  });

  it('C62: max_concurrency 3 and 10 parallel creates → 3 × 202 and 7 × 429 concurrency_limited with Retry-After', async () => {
    const owner = await testCustomer(ctx.app, 100_000, { max_concurrency: 3 });
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, index) => ctx.app.request('POST', '/v1/videos', { key: owner.key, body: { model: 'seedance-2.0-fast', prompt: `clip ${index}`, seconds: 5 } })),
    );
    const accepted = responses.filter((response) => response.status === 202);
    const limited = responses.filter((response) => response.status === 429);
    expect(accepted).toHaveLength(3);
    expect(limited).toHaveLength(7);
    expect(limited.every((response) => response.body.error.code === 'concurrency_limited' && Number(response.headers.get('retry-after')) >= 1)).toBe(true);
    // Completing one frees its slot.
    await ctx.app.request('POST', `/v1/tasks/${accepted[0]!.body.id}/cancel`, { key: owner.key });
    expect((await ctx.app.request('POST', '/v1/videos', { key: owner.key, body: { model: 'seedance-2.0-fast', prompt: 'next', seconds: 5 } })).status).toBe(202);
  });
});
