import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenBucket, type BudgetUse } from '../../src/lib/token-bucket.js';

describe('per-channel request budget', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets a burst through, then paces requests at the configured rate', async () => {
    vi.useFakeTimers();
    const bucket = new TokenBucket(50, 5);
    let granted = 0;
    for (let index = 0; index < 15; index += 1) void bucket.take().then(() => (granted += 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toBe(5);
    // 10 more at 50/s: one every 20 ms.
    await vi.advanceTimersByTimeAsync(100);
    expect(granted).toBeGreaterThanOrEqual(9);
    expect(granted).toBeLessThanOrEqual(10);
    await vi.advanceTimersByTimeAsync(120);
    expect(granted).toBe(15);
  });

  /** Queues `uses` in order on an empty bucket and returns the order they were granted in. */
  async function grantOrder(bucket: TokenBucket, uses: BudgetUse[]): Promise<string[]> {
    const order: string[] = [];
    uses.forEach((use, index) => void bucket.take(use).then(() => order.push(`${use}${index}`)));
    await vi.advanceTimersByTimeAsync(10_000);
    return order;
  }

  it('serves status reads and live requests before new work when the budget is contended (T17)', async () => {
    vi.useFakeTimers();
    const bucket = new TokenBucket(10, 1);
    await bucket.take(); // the only token: everything below waits
    const order = await grantOrder(bucket, ['later', 'later', 'now', 'now', 'now']);
    // The two creates asked first, yet the reads go ahead of them.
    expect(order).toEqual(['now2', 'now3', 'now4', 'later0', 'later1']);
  });

  it('never starves new work: while both wait, one token in four goes to it', async () => {
    vi.useFakeTimers();
    const bucket = new TokenBucket(100, 1);
    await bucket.take();
    const uses: BudgetUse[] = [...Array.from({ length: 4 }, () => 'later' as const), ...Array.from({ length: 12 }, () => 'now' as const)];
    const order = await grantOrder(bucket, uses);
    expect(order.slice(0, 8)).toEqual(['now4', 'now5', 'now6', 'later0', 'now7', 'now8', 'now9', 'later1']);
    expect(order).toHaveLength(16);
  });

  it('a lone kind is served in arrival order at the rate, and the bucket reports what waits', async () => {
    vi.useFakeTimers();
    const bucket = new TokenBucket(10, 1);
    await bucket.take();
    const order: string[] = [];
    for (let index = 0; index < 3; index += 1) void bucket.take('later').then(() => order.push(`later${index}`));
    expect(bucket.queued).toEqual({ now: 0, later: 3 });
    await vi.advanceTimersByTimeAsync(150);
    expect(order).toEqual(['later0']);
    await vi.advanceTimersByTimeAsync(200);
    expect(order).toEqual(['later0', 'later1', 'later2']);
    expect(bucket.queued).toEqual({ now: 0, later: 0 });
  });
});
