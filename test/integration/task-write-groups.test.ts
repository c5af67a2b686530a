import { existsSync } from 'node:fs';
import { join } from 'node:path';
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

describe('result rows written with the settlement', () => {
  const media = () => ctx.app.deps.media;
  const wallet = () => ctx.app.deps.wallet;
  const onDisk = (key: string) => existsSync(join(ctx.app.deps.config.dataDir, 'files', key));
  const rowsOf = async (taskId: string) =>
    (await ctx.app.deps.db.query<{ id: string }>('SELECT id FROM files WHERE task_id = $1 ORDER BY id', [taskId])).rows.map((file) => file.id);
  const put = async (taskId: string, index: number) => {
    const task = await row(taskId);
    return media().put({
      customerId: task.customer_id, mode: task.mode, taskId, purpose: 'result', bytes: Buffer.from(`settled result ${index}`),
      contentType: 'video/mp4', width: null, height: null, durationSeconds: 5,
    });
  };

  it('a group of settlements writes the rows of the items that settled, in its own statement, and none for the others', async () => {
    const ids = await queuedTasks(3);
    const files = [[await put(ids[0]!, 0), await put(ids[0]!, 1)], [await put(ids[1]!, 2)], [await put(ids[2]!, 3)]];
    // The third task's hold was released (cancelled) before its result came: a late success (T11).
    expect((await wallet().release(ids[2]!, 'cancelled', 'cancelled', ctx.app.clock.now())).outcome).toBe('released');
    const before = { ...wallet().resolveGroups.stats };
    const outcomes = await Promise.all(ids.map((id, index) =>
      wallet().settle(id, 10n, ctx.app.clock.now(), undefined, { files: files[index]!.map((file) => ({ id: file.id })) }, null, files[index])));
    expect(outcomes.map((outcome) => outcome.outcome)).toEqual(['settled', 'settled', 'already_resolved']);
    const after = wallet().resolveGroups.stats;
    expect(after.items - before.items).toBe(3);
    expect(after.groups - before.groups).toBeLessThan(3);
    expect(after.fallbacks).toBe(before.fallbacks);
    expect(await rowsOf(ids[0]!)).toEqual(files[0]!.map((file) => file.id).sort());
    expect(await rowsOf(ids[1]!)).toEqual([files[1]![0]!.id]);
    expect(await rowsOf(ids[2]!)).toEqual([]);
    // The rows are the ones a lone store writes, and their bytes are where they say.
    for (const file of [...files[0]!, ...files[1]!]) {
      const stored = await media().get(file.id);
      expect(stored).toMatchObject({ customer_id: file.customerId, mode: file.mode, task_id: file.taskId, purpose: 'result', content_type: 'video/mp4', size_bytes: BigInt(file.sizeBytes), sha256: file.sha256, duration_seconds: 5, storage_key: file.storageKey, deleted_at: null });
      expect(stored.created_at.getTime()).toBe(file.createdAt.getTime());
      expect((await media().bytes(stored)).equals(Buffer.from(`settled result ${files.flat().indexOf(file)}`))).toBe(true);
    }
    // The late success's bytes are the caller's to remove (run-task does, T11).
    expect(onDisk(files[2]![0]!.storageKey)).toBe(true);
    await media().discard(files[2]!);
    expect(onDisk(files[2]![0]!.storageKey)).toBe(false);
  });

  it('a row that cannot be written undoes its own settlement only: the rest of the group settles alone', async () => {
    const ids = await queuedTasks(3);
    const files = await Promise.all(ids.map((id, index) => put(id, 10 + index)));
    // The second result reuses the first one's file id: its insert breaks, and with it the group's statement.
    const clash = { ...files[1]!, id: files[0]!.id };
    const before = { ...wallet().resolveGroups.stats };
    const outcomes = await Promise.allSettled(ids.map((id, index) =>
      wallet().settle(id, 10n, ctx.app.clock.now(), undefined, null, null, [index === 1 ? clash : files[index]!])));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(wallet().resolveGroups.stats.fallbacks).toBe(before.fallbacks + 1);
    expect(await rowsOf(ids[0]!)).toEqual([files[0]!.id]);
    expect(await rowsOf(ids[2]!)).toEqual([files[2]!.id]);
    // Its settlement rolled back with its rows: still held, still queued, nothing charged.
    const held = await ctx.app.deps.db.query<{ status: string }>('SELECT status FROM reservations WHERE task_id = $1', [ids[1]]);
    expect(held.rows).toEqual([{ status: 'held' }]);
    expect(await row(ids[1]!)).toMatchObject({ status: 'queued', charged: 0n });
    expect(await rowsOf(ids[1]!)).toEqual([]);
  });

  it("inside a caller's transaction the rows are that transaction's, written only when it settles", async () => {
    const ids = await queuedTasks(2);
    const first = await put(ids[0]!, 20);
    const second = await put(ids[1]!, 21);
    expect((await wallet().release(ids[1]!, 'cancelled', 'cancelled', ctx.app.clock.now())).outcome).toBe('released');
    const outcomes = await ctx.app.deps.db.transaction(async (tx) => [
      await wallet().settle(ids[0]!, 10n, ctx.app.clock.now(), tx, null, null, [first]),
      await wallet().settle(ids[1]!, 10n, ctx.app.clock.now(), tx, null, null, [second]),
    ]);
    expect(outcomes.map((outcome) => outcome.outcome)).toEqual(['settled', 'already_resolved']);
    expect(await rowsOf(ids[0]!)).toEqual([first.id]);
    expect(await rowsOf(ids[1]!)).toEqual([]);
  });
});
