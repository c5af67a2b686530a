import { describe, expect, it } from 'vitest';
import { ReadPacer } from '../../src/modules/tasks/read-pacer.js';
import { testCustomer } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * Paced first reads (SEMANTICS T16, issue 14), end to end through the real worker rounds on the manual clock: sandbox
 * (test-mode) videos that finish 2 s after the upstream accepts them (1 s queued + 1 s running), read every 100 ms.
 * Read at the interval from acceptance, each task costs 20 status reads; once the pacer has learned the route, far
 * fewer, and every completion is still noticed within about one interval.
 */
const INTERVAL = 100;
const UPSTREAM_MS = 2_000;
const ctx = useTestApp({ env: { POLL_INTERVAL_MS: String(INTERVAL), SANDBOX_QUEUE_MS: '1000', SANDBOX_RUN_MS: '1000' } });

/** Creates one video, dispatches it and polls it to the end, each round at its next due time: reads made and lag. */
async function runOne(key: string): Promise<{ reads: number; lagMs: number }> {
  const created = await ctx.app.request('POST', '/v1/videos', { key, body: { model: 'seedance-2.0-fast', prompt: 'paced', seconds: 5, resolution: '720p' } });
  expect(created.status, created.text).toBe(202);
  const id = created.body.id as string;
  expect(await ctx.app.worker.dispatchOnce()).toBe(1);
  let reads = 0;
  for (;;) {
    const task = (await ctx.app.deps.tasks.get(id))!;
    if (task.status === 'succeeded') {
      return { reads, lagMs: task.completed_at!.getTime() - (task.submitted_at!.getTime() + UPSTREAM_MS) };
    }
    expect(['submitted', 'running']).toContain(task.status);
    ctx.app.clock.advance(Math.max(0, task.next_action_at!.getTime() - ctx.app.clock.now().getTime()));
    expect(await ctx.app.worker.pollOnce()).toBe(1);
    reads += 1;
    expect(reads).toBeLessThanOrEqual(UPSTREAM_MS / INTERVAL);
  }
}

describe('paced first status reads (T16)', () => {
  it('learns the route: later tasks need far fewer reads, and each completion is noticed within about one interval', async () => {
    const owner = await testCustomer(ctx.app);
    const runs: Array<{ reads: number; lagMs: number }> = [];
    for (let index = 0; index < 100; index += 1) runs.push(await runOne(owner.key));

    // Before it has learned anything: read at every interval from acceptance.
    expect(runs[0]!.reads).toBe(UPSTREAM_MS / INTERVAL);
    const late = runs.slice(70);
    const meanReads = late.reduce((sum, run) => sum + run.reads, 0) / late.length;
    expect(meanReads).toBeLessThan(10);
    // A first read that came after the completion came at most one 5 % step late; later reads one interval apart.
    for (const run of runs) {
      expect(run.lagMs).toBeGreaterThanOrEqual(0);
      expect(run.lagMs).toBeLessThanOrEqual(0.052 * UPSTREAM_MS + INTERVAL);
    }

    const lead = ctx.app.deps.readPacer.entries();
    expect(lead).toHaveLength(1);
    expect(lead[0]!.key).toBe('sandbox|seedance-2.0-fast');
    expect(lead[0]!.leadMs).toBeGreaterThan(0.38 * UPSTREAM_MS);
    const metrics = (await ctx.app.request('GET', '/metrics')).text;
    expect(metrics).toContain('# TYPE genrelay_first_status_read_seconds gauge');
    expect(metrics).toMatch(/genrelay_first_status_read_seconds\{route="sandbox",model="seedance-2.0-fast"\} \d/);
  });

  it('with ADAPTIVE_POLLING off every task is read at every interval from acceptance', async () => {
    const learned = ctx.app.deps.readPacer;
    ctx.app.deps.readPacer = new ReadPacer(INTERVAL, false);
    try {
      const owner = await testCustomer(ctx.app);
      for (let index = 0; index < 3; index += 1) expect((await runOne(owner.key)).reads).toBe(UPSTREAM_MS / INTERVAL);
    } finally {
      ctx.app.deps.readPacer = learned;
    }
  });
});
