import { afterEach, describe, expect, it, vi } from 'vitest';
import { testCustomer } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * Status checks before new work (issue 14): while a status check of a model's running tasks is more than
 * DISPATCH_HOLD_MS overdue, that model's queued tasks are not claimed; other models' are, a lease-expired dispatch is
 * always taken back (T6), and once the poller has caught up the held tasks go. Sandbox (test-mode) tasks on the
 * manual clock: POLL_INTERVAL_MS 1000, hold 500.
 */
const ctx = useTestApp({ env: { POLL_INTERVAL_MS: '1000', DISPATCH_HOLD_MS: '500' } });

async function createVideo(key: string, model: string, prompt: string): Promise<string> {
  const response = await ctx.app.request('POST', '/v1/videos', { key, body: { model, prompt, seconds: 5, resolution: '720p' } });
  expect(response.status, response.text).toBe(202);
  return response.body.id as string;
}

async function status(id: string): Promise<string> {
  return (await ctx.app.deps.tasks.get(id))!.status;
}

afterEach(async () => {
  vi.restoreAllMocks();
  // Leave nothing open for the next test: run everything to its end.
  for (let round = 0; round < 20; round += 1) {
    await ctx.app.worker.drain();
    ctx.app.clock.advance(5_000);
  }
});

describe('dispatch hold (issue 14)', () => {
  it('holds a model’s queued tasks while its status checks are overdue, not other models’, and lets them go once checked', async () => {
    const owner = await testCustomer(ctx.app);
    const running = await createVideo(owner.key, 'seedance-2.0-fast', 'first');
    expect(await ctx.app.worker.dispatchOnce()).toBe(1);
    expect(await status(running)).toBe('submitted');

    // Its next check was due in 1 s; 1.6 s later it is 600 ms overdue, beyond the 500 ms hold.
    ctx.app.clock.advance(1_600);
    const held = await createVideo(owner.key, 'seedance-2.0-fast', 'held');
    const other = await createVideo(owner.key, 'happyhorse-1.0', 'another model');
    expect(await ctx.app.worker.dispatchOnce()).toBe(1);
    expect(await status(other)).toBe('submitted');
    expect(await status(held)).toBe('queued');

    // The poller checks the overdue task (its next check moves ahead) and, having caught up, wakes the dispatcher.
    const wake = vi.spyOn(ctx.app.worker, 'wake');
    expect(await ctx.app.worker.pollOnce()).toBeGreaterThanOrEqual(1);
    expect(wake).toHaveBeenCalledWith('dispatcher');
    expect(await ctx.app.worker.dispatchOnce()).toBe(1);
    expect(await status(held)).toBe('submitted');
  });

  it('an overdue check within the hold does not hold anything; a hold of 0 holds nothing', async () => {
    const owner = await testCustomer(ctx.app);
    await createVideo(owner.key, 'seedance-2.0-fast', 'first');
    expect(await ctx.app.worker.dispatchOnce()).toBe(1);
    // 400 ms overdue: within the hold.
    ctx.app.clock.advance(1_400);
    const next = await createVideo(owner.key, 'seedance-2.0-fast', 'next');
    expect(await ctx.app.worker.dispatchOnce()).toBe(1);
    expect(await status(next)).toBe('submitted');

    // Now both are well overdue; with the hold off (0) a queued task is claimed all the same.
    ctx.app.clock.advance(10_000);
    const unheld = await createVideo(owner.key, 'seedance-2.0-fast', 'no hold');
    const now = ctx.app.clock.now();
    expect(await ctx.app.deps.tasks.claimForDispatch('wrk_test', now, 10, [], 500)).toEqual([]);
    const claimed = await ctx.app.deps.tasks.claimForDispatch('wrk_test', now, 10, [], 0);
    expect(claimed.map((task) => task.id)).toEqual([unheld]);
    // Hand it back to the queue for the clean-up rounds.
    await ctx.app.deps.tasks.requeue(unheld, 'wrk_test', now, { class: 'test' }, now);
  });

  it('a dispatch whose lease ran out is taken back even while its model is held (T6)', async () => {
    const owner = await testCustomer(ctx.app);
    await createVideo(owner.key, 'seedance-2.0-fast', 'running');
    expect(await ctx.app.worker.dispatchOnce()).toBe(1);
    const stranded = await createVideo(owner.key, 'seedance-2.0-fast', 'stranded');
    const now = ctx.app.clock.now();
    // Another worker claimed it and died: its lease runs out a minute later.
    expect((await ctx.app.deps.tasks.claimForDispatch('wrk_dead', now, 10, [], 0)).map((task) => task.id)).toEqual([stranded]);
    ctx.app.clock.advance(120_000);
    expect(await ctx.app.worker.dispatchOnce()).toBe(1);
    expect(await status(stranded)).toBe('submitted');
  });
});
