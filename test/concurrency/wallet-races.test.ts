import { describe, expect, it } from 'vitest';
import type { TestAppOptions } from '../harness/app.js';
import { useTestApp } from '../harness/setup.js';
import { reserveTask, walletState } from '../harness/tasks.js';

/**
 * Real N-way races (SEMANTICS D9; checklist C20–C22, C26, C31, C62 at the wallet level) on PostgreSQL, and on the
 * embedded engine on a thread of its own (EMBEDDED_DB_THREAD), where statements no longer block the server's thread
 * and requests arrive while a group runs.
 */
const ENGINES: Array<[string, TestAppOptions]> = [
  ['PostgreSQL', { engine: 'postgres', poolSize: 45 }],
  ['the embedded engine on its own thread', { engine: 'pglite', thread: true }],
];

describe.each(ENGINES)('on %s', (_name, options) => {
  const ctx = useTestApp(options);

  async function funded(amount: number) {
    const customer = await ctx.app.createCustomer();
    const key = await ctx.app.createKey(customer.id);
    if (amount > 0) await ctx.app.grant(customer.id, amount);
    return { customerId: customer.id as string, keyId: key.id as string };
  }

  function outcomes(results: PromiseSettledResult<{ outcome: string }>[]) {
    const counts: Record<string, number> = {};
    for (const result of results) {
      const name = result.status === 'fulfilled' ? result.value.outcome : (result.reason as { code?: string }).code ?? 'error';
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  }

  describe('reservation races', () => {
    it('C26: 100 parallel reservations of 100 against 1000 → exactly 10 succeed', async () => {
      const owner = await funded(1000);
      const results = await Promise.allSettled(Array.from({ length: 100 }, () => reserveTask(ctx.app, { ...owner, cost: 100 })));
      expect(outcomes(results)).toEqual({ created: 10, insufficient_credits: 90 });
      expect(await walletState(ctx.app, owner.customerId)).toEqual({ balance: 1000, reserved: 1000, available: 0 });
    });

    it('C62: max_concurrency 3 with 10 parallel requests → 3 accepted, 7 concurrency_limited', async () => {
      const owner = await funded(1000);
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => reserveTask(ctx.app, { ...owner, cost: 1, maxConcurrency: 3 })));
      expect(outcomes(results)).toEqual({ created: 3, concurrency_limited: 7 });
      const inflight = await ctx.app.deps.db.query<{ inflight: number }>('SELECT inflight FROM api_keys WHERE id = $1', [owner.keyId]);
      expect(inflight.rows[0]!.inflight).toBe(3);
      // Completing one frees its slot for the next request.
      const accepted = results.find((result) => result.status === 'fulfilled') as PromiseFulfilledResult<{ taskId: string }>;
      await ctx.app.deps.wallet.settle(accepted.value.taskId, 1n, ctx.app.clock.now());
      expect((await reserveTask(ctx.app, { ...owner, cost: 1, maxConcurrency: 3 })).outcome).toBe('created');
    });

    it('C20: 50 parallel requests with one idempotency key and body → one task, one reservation, 49 replays', async () => {
      const owner = await funded(10_000);
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () => reserveTask(ctx.app, { ...owner, cost: 100, idempotencyKey: 'same-key', fingerprint: 'fp' })),
      );
      expect(outcomes(results)).toEqual({ created: 1, replay: 49 });
      const ids = new Set(results.map((result) => (result as PromiseFulfilledResult<{ taskId: string }>).value.taskId));
      expect(ids.size).toBe(1);
      expect((await walletState(ctx.app, owner.customerId)).reserved).toBe(100);
    });

    it('C21: 10 × body A and 10 × body B with one key → one task; the other body gets 409', async () => {
      const owner = await funded(10_000);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, index) => reserveTask(ctx.app, { ...owner, cost: 100, idempotencyKey: 'ab-key', fingerprint: index % 2 ? 'A' : 'B' })),
      );
      const counts = outcomes(results);
      expect(counts.created).toBe(1);
      expect(counts.replay).toBe(9);
      expect(counts.conflict).toBe(10);
      expect((await walletState(ctx.app, owner.customerId)).reserved).toBe(100);
    });

    it('C22: a balance covering one task and 50 parallel identical requests → 1 created, 49 replays, no 402', async () => {
      const owner = await funded(100);
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () => reserveTask(ctx.app, { ...owner, cost: 100, idempotencyKey: 'one-shot', fingerprint: 'fp' })),
      );
      expect(outcomes(results)).toEqual({ created: 1, replay: 49 });
    });
  });

  describe('resolution races', () => {
    it('C31: 10 settles, 5 releases and 3 sweeps racing on one hold → exactly one resolution, at most one charge', async () => {
      for (let round = 0; round < 5; round += 1) {
        const owner = await funded(1000);
        const now = ctx.app.clock.now();
        const { taskId } = await reserveTask(ctx.app, { ...owner, cost: 100, expiresAt: new Date(now.getTime() - 1) });
        const { wallet } = ctx.app.deps;
        const racers: Array<Promise<{ outcome: string } | { released: string[] }>> = [
          ...Array.from({ length: 10 }, () => wallet.settle(taskId, 70n, now)),
          ...Array.from({ length: 5 }, () => wallet.release(taskId, 'failed', 'provider_error', now)),
          ...Array.from({ length: 3 }, () => wallet.sweepExpired(now)),
        ];
        const results = await Promise.all(racers);
        const resolutions = results.filter((result) =>
          'outcome' in result ? result.outcome === 'settled' || result.outcome === 'released' : result.released.includes(taskId),
        );
        expect(resolutions).toHaveLength(1);
        const others = results.filter((result) => 'outcome' in result && result.outcome !== 'settled' && result.outcome !== 'released');
        for (const other of others) expect(['already_resolved', 'skipped']).toContain((other as { outcome: string }).outcome);
        const charges = await ctx.app.deps.db.query(
          "SELECT 1 FROM ledger_entries WHERE kind = 'charge' AND ref_id = (SELECT id FROM reservations WHERE task_id = $1)",
          [taskId],
        );
        expect(charges.rows.length).toBeLessThanOrEqual(1);
        const state = await walletState(ctx.app, owner.customerId);
        expect(state.reserved).toBe(0);
        expect([930, 1000]).toContain(state.balance);
      }
    });

    it('20 parallel operator credits with one reference credit once', async () => {
      const owner = await funded(0);
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          ctx.app.request('POST', `/api/public/customers/${owner.customerId}/credits`, {
            operator: true,
            body: { amount: 250, reason: 'race', reference: 'race-ref' },
          }),
        ),
      );
      const statuses = results.map((result) => result.status).sort();
      expect(statuses.filter((status) => status === 201)).toHaveLength(1);
      expect(statuses.every((status) => status === 201 || status === 200)).toBe(true);
      expect((await walletState(ctx.app, owner.customerId)).balance).toBe(250);
    });
  });
});
