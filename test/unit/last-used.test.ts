import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { LastUsedTracker } from '../../src/modules/keys/last-used.js';

describe('last_used_at batching (K8, C12)', () => {
  it('writes at most once per key per minute, with the latest use', async () => {
    const clock = new ManualClock(0);
    const writes: Array<Array<{ id: string; at: Date }>> = [];
    const tracker = new LastUsedTracker(clock, async (entries) => {
      writes.push(entries);
    });
    for (let second = 0; second < 3; second += 1) {
      tracker.record('key_a');
      clock.advance(3_000);
    }
    await tracker.flush();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toEqual([{ id: 'key_a', at: new Date(6_000) }]);
    tracker.record('key_a');
    await tracker.flush();
    expect(writes).toHaveLength(1);
    clock.advance(60_000);
    await tracker.flush();
    expect(writes).toHaveLength(2);
    expect(writes[1]![0]!.at).toEqual(new Date(9_000));
  });
});
