import { describe, expect, it } from 'vitest';
import type { TaskRow } from '../../src/modules/tasks/types.js';
import { testCustomer } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * Group commit of the worker's task writes (issue 14, src/modules/tasks/write-groups.ts) on each engine, through the
 * real TaskService: acceptances and observations that arrive together share one statement, and each item is decided
 * exactly as its single statement decides it alone — the lease guards an acceptance, an ended task is not observed,
 * an absent operation keeps the stored one and a JSON null is written as a JSON null.
 */
const ctx = useTestApp();

async function queuedTasks(count: number): Promise<string[]> {
  const owner = await testCustomer(ctx.app);
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const response = await ctx.app.request('POST', '/v1/videos', { key: owner.key, body: { model: 'seedance-2.0-fast', prompt: `group ${index}`, seconds: 5 } });
    expect(response.status, response.text).toBe(202);
    ids.push(response.body.id as string);
  }
  return ids;
}

async function row(id: string): Promise<TaskRow> {
  return (await ctx.app.deps.tasks.get(id))!;
}

/** Claims the given queued tasks for `owner` (status dispatching under its lease), as the dispatcher does. */
async function claim(owner: string, ids: string[]): Promise<void> {
  const claimed = await ctx.app.deps.tasks.claimForDispatch(owner, ctx.app.clock.now(), 1000);
  expect(claimed.map((task) => task.id).sort()).toEqual([...ids].sort());
}

function stats() {
  return { submitted: { ...ctx.app.deps.tasks.submittedGroups.stats }, observe: { ...ctx.app.deps.tasks.observeGroups.stats } };
}

describe('task write groups', () => {
  it('acceptances in one group: each recorded under its own lease, one with a lost lease refused and untouched', async () => {
    const ids = await queuedTasks(6);
    await claim('wrk_group', ids);
    const now = ctx.app.clock.now();
    const nextPollAt = new Date(now.getTime() + 2000);
    const before = stats().submitted;
    const results = await Promise.all(ids.map((id, index) => ctx.app.deps.tasks.markSubmitted(
      id,
      index === 3 ? 'wrk_other' : 'wrk_group',
      { provider: 'sandbox', channelId: null, credentialId: null, providerTaskId: `up_${index}`, operation: index === 5 ? null : { op: index, nested: [index] }, nextPollAt },
      now,
    )));
    expect(results).toEqual([true, true, true, false, true, true]);
    const after = stats().submitted;
    // More items than statements: at least one group carried several.
    expect(after.items - before.items).toBe(6);
    expect(after.groups - before.groups).toBeLessThan(6);
    expect(after.fallbacks).toBe(before.fallbacks);
    // The same counts on /metrics, per kind.
    const metrics = (await ctx.app.request('GET', '/metrics')).text;
    const metric = (name: string, kind: string) => Number(new RegExp(`^${name}\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(metric('genrelay_group_commit_items_total', 'submitted')).toBe(ctx.app.deps.tasks.submittedGroups.stats.items);
    expect(metric('genrelay_group_commit_groups_total', 'submitted')).toBe(ctx.app.deps.tasks.submittedGroups.stats.groups);
    expect(metric('genrelay_group_commit_items_total', 'observe')).toBe(ctx.app.deps.tasks.observeGroups.stats.items);

    for (const [index, id] of ids.entries()) {
      const task = await row(id);
      if (index === 3) {
        expect(task).toMatchObject({ status: 'dispatching', lease_owner: 'wrk_group', provider_task_id: null, submitted_at: null });
        continue;
      }
      expect(task).toMatchObject({ status: 'submitted', provider: 'sandbox', provider_task_id: `up_${index}`, lease_owner: null, lease_until: null });
      expect(task.operation).toEqual(index === 5 ? null : { op: index, nested: [index] });
      expect(task.next_action_at!.getTime()).toBe(nextPollAt.getTime());
      expect(task.submitted_at!.getTime()).toBe(now.getTime());
      expect(task.updated_at.getTime()).toBe(now.getTime());
    }
  });

  it('observations in one group: as alone, an ended task untouched; a task named twice runs one by one, in order', async () => {
    const ids = await queuedTasks(5);
    await claim('wrk_obs', ids);
    const now = ctx.app.clock.now();
    for (const [index, id] of ids.entries()) {
      expect(await ctx.app.deps.tasks.markSubmitted(id, 'wrk_obs', { provider: 'sandbox', channelId: null, credentialId: null, providerTaskId: `up_${index}`, operation: { stage: 'queued' }, nextPollAt: now }, now)).toBe(true);
    }
    // The last one has ended meanwhile (as when a callback settled it): an observation must not touch it.
    expect((await ctx.app.deps.wallet.release(ids[4]!, 'failed', 'upstream_error', now)).outcome).toBe('released');
    await ctx.app.deps.db.query('UPDATE tasks SET progress = 60 WHERE id = $1', [ids[2]]);

    const later = new Date(now.getTime() + 1000);
    const nextPollAt = new Date(now.getTime() + 3000);
    const before = stats().observe;
    await Promise.all([
      ctx.app.deps.tasks.observe(ids[0]!, { status: 'running', progress: 20, nextPollAt }, later),
      ctx.app.deps.tasks.observe(ids[1]!, { status: 'submitted', progress: 0, operation: null, nextPollAt }, later),
      ctx.app.deps.tasks.observe(ids[2]!, { status: 'running', progress: 40, operation: { stage: 'rendering' }, nextPollAt }, later),
      ctx.app.deps.tasks.observe(ids[3]!, { status: 'running', progress: 10, nextPollAt }, later),
      ctx.app.deps.tasks.observe(ids[4]!, { status: 'running', progress: 90, nextPollAt }, later),
    ]);
    const after = stats().observe;
    expect(after.items - before.items).toBe(5);
    expect(after.groups - before.groups).toBeLessThan(5);
    expect(after.fallbacks).toBe(before.fallbacks);

    expect(await row(ids[0]!)).toMatchObject({ status: 'running', progress: 20, operation: { stage: 'queued' } });
    expect(await row(ids[1]!)).toMatchObject({ status: 'submitted', progress: 0, operation: null });
    // Progress never goes back; the operation is replaced.
    expect(await row(ids[2]!)).toMatchObject({ status: 'running', progress: 60, operation: { stage: 'rendering' } });
    expect(await row(ids[3]!)).toMatchObject({ status: 'running', progress: 10 });
    for (const id of ids.slice(0, 4)) {
      const task = await row(id);
      expect(task.next_action_at!.getTime()).toBe(nextPollAt.getTime());
      expect(task.updated_at.getTime()).toBe(later.getTime());
    }
    expect(await row(ids[4]!)).toMatchObject({ status: 'failed', progress: 0, next_action_at: null });

    // One task twice in a group: one statement may touch a row once, so the group runs its items alone, in order.
    const twice = stats().observe;
    const first = new Date(now.getTime() + 4000);
    const second = new Date(now.getTime() + 5000);
    await Promise.all([
      ctx.app.deps.tasks.observe(ids[1]!, { status: 'submitted', progress: 0, nextPollAt: first }, later),
      ctx.app.deps.tasks.observe(ids[0]!, { status: 'running', progress: 30, nextPollAt: first }, later),
      ctx.app.deps.tasks.observe(ids[0]!, { status: 'running', progress: 35, nextPollAt: second }, later),
    ]);
    const task = await row(ids[0]!);
    expect(task.progress).toBe(35);
    expect(task.next_action_at!.getTime()).toBe(second.getTime());
    expect(stats().observe.fallbacks - twice.fallbacks).toBeLessThanOrEqual(1);
  });
});

describe('result file groups', () => {
  it('file rows stored together share a statement; each row is exactly the one stored alone, and a bad row fails only itself', async () => {
    const ids = await queuedTasks(3);
    const customer = (await row(ids[0]!)).customer_id;
    const media = ctx.app.deps.media;
    const file = (index: number, extra: Partial<Parameters<typeof media.store>[0]> = {}) => ({
      customerId: customer, mode: 'live', taskId: ids[index % ids.length]!, purpose: 'result' as const,
      bytes: Buffer.from(`result bytes ${index}`), contentType: index % 2 ? 'image/png' : 'video/mp4',
      width: index % 2 ? 640 + index : null, height: index % 2 ? 480 : null, durationSeconds: index % 2 ? null : 5.25, ...extra,
    });
    // Alone: the reference shape.
    const alone = await media.store(file(0));
    const before = { ...media.fileGroups.stats };
    const together = await Promise.allSettled([
      ...Array.from({ length: 6 }, (_, index) => media.store(file(index + 1))),
      // A customer that does not exist breaks the group's statement: the others are stored alone, this one fails.
      media.store(file(7, { customerId: 'cus_missing' })),
    ]);
    const after = media.fileGroups.stats;
    expect(after.items - before.items).toBe(7);
    expect(after.groups - before.groups).toBeLessThan(7);
    expect(together.slice(0, 6).every((result) => result.status === 'fulfilled')).toBe(true);
    expect(together[6]!.status).toBe('rejected');
    const stored = together.slice(0, 6).map((result) => (result as PromiseFulfilledResult<Awaited<ReturnType<typeof media.store>>>).value);
    for (const [index, got] of stored.entries()) {
      const expected = file(index + 1);
      expect(got).toMatchObject({
        customer_id: customer, mode: 'live', task_id: expected.taskId, purpose: 'result', content_type: expected.contentType,
        size_bytes: BigInt(expected.bytes.length), width: expected.width, height: expected.height, duration_seconds: expected.durationSeconds, deleted_at: null,
      });
      expect(got.created_at.getTime()).toBe(alone.created_at.getTime());
      // The answer is the stored row, and the bytes are where it says.
      expect((await media.get(got.id))).toEqual(got);
      expect((await media.bytes(got)).equals(expected.bytes)).toBe(true);
    }
    expect(Object.keys(alone).sort()).toEqual(Object.keys(stored[0]!).sort());
    const missing = await ctx.app.deps.db.query(`SELECT count(*)::int AS n FROM files WHERE customer_id = 'cus_missing'`);
    expect(missing.rows[0]).toEqual({ n: 0 });
  });
});
