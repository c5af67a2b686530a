import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BudgetUse } from '../../src/lib/token-bucket.js';
import type { Route } from '../../src/modules/routing/router.js';
import type { TaskRow } from '../../src/modules/tasks/types.js';
import { startDashscopeMock } from '../mock-upstreams/dashscope/server.js';
import { runLiveUntilDone } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * SEMANTICS T17: on a live channel, starting a task asks the channel's budget as `later` work and every status read
 * as `now`, so a contended budget serves the reads that notice finished tasks before new submissions
 * (test/unit/token-bucket.test.ts holds the bucket's order), and a worker runs `POLL_SLOTS` status checks at once.
 */
const ctx = useTestApp({ env: { POLL_SLOTS: '7' } });
let mock: Awaited<ReturnType<typeof startDashscopeMock>>;

beforeAll(async () => {
  mock = await startDashscopeMock({ queuedMs: 20, runningMs: 40, key: null });
});

afterAll(async () => {
  await mock?.close();
});

describe('request budget order (T17)', () => {
  it('a start waits as new work, its status reads as reads', async () => {
    const group = `g-budget-${Math.random().toString(36).slice(2, 8)}`;
    const channel = await ctx.app.request('POST', '/api/admin/channels', {
      operator: true,
      body: { name: 'budget', provider: 'dashscope', base_url: `${mock.baseUrl}/api/v1`, models: { 'happyhorse-1.0': 'happyhorse-1.0-t2v' }, group, settings: { requests_per_second: 50 } },
    });
    expect(channel.status, channel.text).toBe(201);
    await ctx.app.request('POST', '/api/accounts', { operator: true, body: { channel_id: channel.body.id, credential: 'sk-budget' } });
    const customer = await ctx.app.createCustomer({ group });
    const key = await ctx.app.createKey(customer.id, { mode: 'live' });
    await ctx.app.grant(customer.id, 1_000_000, 'live');

    const uses: Array<{ call: 'start' | 'status'; use: BudgetUse }> = [];
    const router = ctx.app.deps.router;
    const record = (call: 'start' | 'status') => (route: Route | null): Route | null =>
      route && { ...route, budget: (use?: BudgetUse) => { uses.push({ call, use: use ?? 'now' }); return route.budget(use); } };
    const routeFor = router.routeFor.bind(router);
    const routeOf = router.routeOf.bind(router);
    vi.spyOn(router, 'routeFor').mockImplementation(async (task: TaskRow, group?: string) => record('start')(await routeFor(task, group)));
    vi.spyOn(router, 'routeOf').mockImplementation(async (task: TaskRow) => record('status')(await routeOf(task)));

    const response = await ctx.app.request('POST', '/v1/videos', { key: key.key, body: { model: 'happyhorse-1.0', prompt: 'budget order', seconds: 5, resolution: '720p' } });
    expect(response.status, response.text).toBe(202);
    expect((await runLiveUntilDone(ctx.app, response.body.id)).status).toBe('succeeded');
    vi.restoreAllMocks();

    expect(uses[0]).toEqual({ call: 'start', use: 'later' });
    const reads = uses.filter((entry) => entry.call === 'status');
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((entry) => entry.use === 'now')).toBe(true);
    expect(ctx.app.deps.config.pollSlots).toBe(7);
    expect(ctx.app.worker.polling.free).toBe(7);
  });
});
