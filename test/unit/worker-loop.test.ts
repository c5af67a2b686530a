import { EventEmitter } from 'node:events';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { systemClock } from '../../src/lib/clock.js';
import type { TaskRow } from '../../src/modules/tasks/types.js';
import type { DeliveryRow } from '../../src/modules/webhooks/service.js';
import { CLAIM_SPACING_MS, Worker, type WorkerDeps } from '../../src/worker/worker.js';
import { UPKEEP_INTERVAL_MS } from '../../src/db/upkeep.js';
import { MAX_IN_FLIGHT } from '../../src/modules/webhooks/fairness.js';

/**
 * The worker's loop timing (issue 14), on fake timers: a dispatcher woken by every created task while its rounds claim
 * nothing (a dispatch hold keeps the queue back) claims at most once per 20 ms pause instead of back to back; a wake
 * after a quiet spell claims at once; a round that found every slot busy asks nothing and the freed slot's wake claims
 * at once — the dispatcher's and the webhook sender's alike; and rounds that claim are CLAIM_SPACING_MS apart, so the
 * slots that free within that spell are claimed into together.
 */
function harness(
  claim: (limit: number) => TaskRow[] | Promise<TaskRow[]>,
  env: Record<string, string> = {},
  claimDeliveries: (limit: number) => DeliveryRow[] = () => [],
  db: { engine: 'pglite' | 'postgres'; query?: (text: string) => Promise<{ rows: unknown[] }> } = { engine: 'postgres' },
) {
  const events = new EventEmitter();
  const claims: number[] = [];
  const limits: number[] = [];
  const deliveryClaims: number[] = [];
  const deps = {
    config: parseConfig({ WORKER_INTERVAL_MS: '1000', ...env }),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    events,
    tasks: {
      claimForDispatch: vi.fn(async (_owner: string, _now: Date, limit: number) => {
        claims.push(Date.now());
        limits.push(limit);
        return claim(limit);
      }),
      claimForPoll: vi.fn(async () => []),
    },
    webhooks: {
      claimDue: vi.fn(async ({ limit }: { limit: number }) => {
        deliveryClaims.push(limit);
        return claimDeliveries(limit);
      }),
    },
    db,
    // Everything else the loops touch (sweeper, Stripe) fails and is logged: not what this test looks at.
  } as unknown as WorkerDeps;
  return { worker: new Worker(deps), events, claims, limits, deliveryClaims };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('worker loop timing (issue 14)', () => {
  it('woken by every created task while its rounds claim nothing, the dispatcher claims once per pause, not back to back', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { worker, events, claims } = harness(() => []);
    worker.start();
    await vi.advanceTimersByTimeAsync(5);
    const before = claims.length;
    // 200 ms of tasks created every millisecond, every one of them waking the dispatcher.
    for (let ms = 0; ms < 200; ms += 1) {
      events.emit('task.created');
      await vi.advanceTimersByTimeAsync(1);
    }
    const during = claims.length - before;
    expect(during).toBeGreaterThanOrEqual(8);
    expect(during).toBeLessThanOrEqual(11);

    // After a quiet second, a new task's wake claims at once (no pause is pending any more).
    await vi.advanceTimersByTimeAsync(1_500);
    const quiet = claims.length;
    events.emit('task.created');
    await vi.advanceTimersByTimeAsync(0);
    expect(claims.length).toBe(quiet + 1);
    await worker.stop();
  });

  it('a round that found every slot busy asks nothing, and the freed slot claims again at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let served = false;
    const task = { id: 'task_1' } as TaskRow;
    const { worker, claims } = harness(() => {
      if (served) return [];
      served = true;
      return [task];
    }, { WORKER_SLOTS: '1' });
    const slots = worker.dispatching as unknown as { options: { run: (row: TaskRow) => Promise<unknown> } };
    vi.spyOn(slots.options, 'run').mockImplementation(() => held);
    worker.start();
    await vi.advanceTimersByTimeAsync(5);
    expect(claims.length).toBe(1);
    // Woken while its only slot is busy: the round asks nothing.
    worker.wake('dispatcher');
    await vi.advanceTimersByTimeAsync(5);
    expect(claims.length).toBe(1);
    // The slot frees: the loop claims at once, without a pause.
    release();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(claims.length).toBe(2);
    await worker.stop();
  });

  it('the webhook sender: with every slot busy a wake asks nothing, and a freed slot is claimed into at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const releases: Array<() => void> = [];
    let served = false;
    const { worker, events, deliveryClaims } = harness(() => [], {}, (limit) => {
      if (served) return [];
      served = true;
      return Array.from({ length: limit }, (_, index) => ({ id: `whd_${index}` }) as DeliveryRow);
    });
    const slots = (worker.webhooks as unknown as { slots: { options: { run: (row: DeliveryRow) => Promise<unknown> } } }).slots;
    vi.spyOn(slots.options, 'run').mockImplementation(() => new Promise<void>((resolve) => releases.push(resolve)));
    worker.start();
    await vi.advanceTimersByTimeAsync(5);
    // The first round filled every slot.
    expect(deliveryClaims).toEqual([MAX_IN_FLIGHT]);
    expect(worker.webhooks.free).toBe(0);
    // Tasks resolve and wake it while every slot is busy: no claim is asked.
    for (let wake = 0; wake < 5; wake += 1) {
      events.emit('task.resolved');
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(deliveryClaims).toEqual([MAX_IN_FLIGHT]);
    // A delivery ends: its slot is claimed into at once, without the pause that follows an empty round.
    releases[0]!();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(deliveryClaims).toEqual([MAX_IN_FLIGHT, 1]);
    for (const release of releases) release();
    await worker.stop();
  });
  it('slots that free within the spacing after a claim are claimed into together, once it has passed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    let next = 0;
    const releases: Array<() => void> = [];
    // An endless queue: every claim gets as many tasks as it asks for.
    const { worker, claims, limits } = harness((limit) => Array.from({ length: limit }, () => ({ id: `task_${(next += 1)}` }) as TaskRow), { WORKER_SLOTS: '4' });
    const slots = worker.dispatching as unknown as { options: { run: (row: TaskRow) => Promise<unknown> } };
    vi.spyOn(slots.options, 'run').mockImplementation(() => new Promise<void>((resolve) => releases.push(resolve)));
    const start = Date.now();
    worker.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(limits).toEqual([4]);
    // Three tasks end within the spacing, each waking the dispatcher: no claim yet.
    for (const index of [0, 1, 2]) {
      releases[index]!();
      await vi.advanceTimersByTimeAsync(2);
    }
    expect(limits).toEqual([4]);
    // The spacing has passed: one claim for the three free slots.
    await vi.advanceTimersByTimeAsync(CLAIM_SPACING_MS);
    expect(limits).toEqual([4, 3]);
    expect(claims[1]! - claims[0]!).toBeGreaterThanOrEqual(CLAIM_SPACING_MS);
    expect(claims[1]! - start).toBeLessThan(CLAIM_SPACING_MS + 3);
    // After a quiet spell, a slot that frees is claimed into at once.
    await vi.advanceTimersByTimeAsync(50);
    releases[3]!();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(limits).toEqual([4, 3, 1]);
    for (const release of releases) release();
    await worker.stop();
  });

  it('the embedded upkeep: first a whole interval after start, then one round per interval; none on PostgreSQL', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    // The statements a round sends, answered as a database with nothing due would (db/upkeep.ts).
    const rounds: number[] = [];
    const query = vi.fn(async (text: string) => {
      if (text.includes('pg_control_checkpoint')) {
        rounds.push(Date.now());
        return { rows: [{ bytes: '0' }] };
      }
      return { rows: [] };
    });
    const start = Date.now();
    const embedded = harness(() => [], {}, () => [], { engine: 'pglite', query });
    embedded.worker.start();
    await vi.advanceTimersByTimeAsync(UPKEEP_INTERVAL_MS - 100);
    expect(rounds).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(rounds.map((at) => at - start)).toEqual([UPKEEP_INTERVAL_MS]);
    await vi.advanceTimersByTimeAsync(3 * UPKEEP_INTERVAL_MS);
    expect(rounds.map((at) => at - start)).toEqual([1, 2, 3, 4].map((n) => n * UPKEEP_INTERVAL_MS));
    await embedded.worker.stop();

    const server = harness(() => [], {}, () => [], { engine: 'postgres', query });
    server.worker.start();
    await vi.advanceTimersByTimeAsync(3 * UPKEEP_INTERVAL_MS);
    expect(rounds).toHaveLength(4);
    expect(await server.worker.upkeepOnce()).toBeNull();
    await server.worker.stop();
  });
});
