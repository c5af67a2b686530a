import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TaskRow } from '../../src/modules/tasks/types.js';
import { testCustomer } from '../harness/flows.js';
import { useTestApp } from '../harness/setup.js';

/**
 * The dispatcher and the poller claim into free slots (issue 14): two slots per loop here, a task whose dispatch or
 * status check hangs holds only its own, the other slot keeps claiming and finishing work beside it, nothing is
 * claimed (leased) while every slot is busy, and stop() waits for the work in flight.
 */
const ctx = useTestApp({ env: { WORKER_SLOTS: '2', POLL_SLOTS: '2', WORKER_INTERVAL_MS: '50', POLL_INTERVAL_MS: '1000' } });

interface Hold {
  /** Resolves once the held task's call has begun. */
  entered: Promise<void>;
  release: () => void;
}

/** Makes `routeFor` (dispatch) or `routeOf` (status check) wait for the task ids in `held` until released. */
function holdRoutes(method: 'routeFor' | 'routeOf', held: string[]): Map<string, Hold> {
  const router = ctx.app.deps.router;
  const original = router[method].bind(router) as (task: TaskRow, group?: string) => ReturnType<typeof router.routeOf>;
  const holds = new Map<string, Hold & { gate: Promise<void>; enter: () => void }>();
  for (const id of held) {
    let enter!: () => void;
    let release!: () => void;
    const entered = new Promise<void>((resolve) => (enter = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    holds.set(id, { entered, release, gate, enter });
  }
  vi.spyOn(router, method).mockImplementation(async (task: TaskRow, group?: string) => {
    const hold = holds.get(task.id);
    if (hold) {
      hold.enter();
      await hold.gate;
    }
    return original(task, group);
  });
  return holds;
}

async function createVideo(key: string, prompt: string): Promise<string> {
  const response = await ctx.app.request('POST', '/v1/videos', { key, body: { model: 'seedance-2.0-fast', prompt, seconds: 5, resolution: '720p' } });
  expect(response.status, response.text).toBe(202);
  return response.body.id as string;
}

async function task(id: string): Promise<TaskRow> {
  return (await ctx.app.deps.tasks.get(id))!;
}

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Lets pending callbacks run; stop() cannot finish meanwhile whatever the timing, its work is still held. */
async function turns(count = 20): Promise<void> {
  for (let turn = 0; turn < count; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

afterEach(async () => {
  await ctx.app.worker.stop();
  vi.restoreAllMocks();
});

describe('worker slots (issue 14)', () => {
  it('a hanging dispatch holds only its slot; nothing is claimed while every slot is busy; stop() waits for it', async () => {
    const owner = await testCustomer(ctx.app);
    const first = await createVideo(owner.key, 'first, held');
    const second = await createVideo(owner.key, 'second, held');
    const holds = holdRoutes('routeFor', [first, second]);
    ctx.app.worker.start();
    await Promise.all([holds.get(first)!.entered, holds.get(second)!.entered]);

    // Both slots are busy: a new task is not claimed (no lease taken for work that could not start).
    const later = await createVideo(owner.key, 'later');
    expect(await ctx.app.worker.dispatching.pump()).toBe(0);
    expect(await task(later)).toMatchObject({ status: 'queued', lease_owner: null });
    expect(ctx.app.worker.dispatching.inFlight).toBe(2);

    // One held dispatch finishes: its slot takes the waiting task while the other one still hangs.
    holds.get(first)!.release();
    await waitFor(async () => (await task(later)).status === 'submitted', 'the later task to be dispatched');
    expect((await task(first)).status).toBe('submitted');
    expect(await task(second)).toMatchObject({ status: 'dispatching', lease_owner: ctx.app.worker.owner });

    let stopped = false;
    const stopping = ctx.app.worker.stop().then(() => {
      stopped = true;
    });
    await turns();
    expect(stopped).toBe(false);
    holds.get(second)!.release();
    await stopping;
    // stop() returned only after the held dispatch had finished and recorded its acceptance.
    expect(await task(second)).toMatchObject({ status: 'submitted', lease_owner: null });
    expect(ctx.app.worker.dispatching.inFlight).toBe(0);
  });

  it('a hanging status check holds only its slot: the other tasks are polled and settled beside it', async () => {
    const owner = await testCustomer(ctx.app);
    const held = await createVideo(owner.key, 'polled first, held');
    await ctx.app.worker.drain();
    // Checks are claimed by next_action_at: the held task is due first, so it is claimed first.
    ctx.app.clock.advance(10);
    const others = [await createVideo(owner.key, 'other 1'), await createVideo(owner.key, 'other 2')];
    await ctx.app.worker.drain();
    for (const id of [held, ...others]) expect((await task(id)).status).toBe('submitted');

    ctx.app.clock.advance(5_000);
    const holds = holdRoutes('routeOf', [held]);
    ctx.app.worker.start();
    await holds.get(held)!.entered;
    await waitFor(async () => (await Promise.all(others.map(task))).every((row) => row.status === 'succeeded'), 'the other tasks to settle');
    expect((await task(held)).status).toBe('submitted');
    expect(ctx.app.worker.polling.inFlight).toBe(1);

    const stopping = ctx.app.worker.stop();
    holds.get(held)!.release();
    await stopping;
    expect((await task(held)).status).toBe('succeeded');
  });
});
