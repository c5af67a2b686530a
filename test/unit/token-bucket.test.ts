import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/lib/token-bucket.js';

describe('per-channel request budget', () => {
  it('lets a burst through, then paces requests at the configured rate', async () => {
    const bucket = new TokenBucket(50, 5);
    const started = Date.now();
    await Promise.all(Array.from({ length: 5 }, () => bucket.take()));
    expect(Date.now() - started).toBeLessThan(150);
    await Promise.all(Array.from({ length: 10 }, () => bucket.take()));
    // 10 more at 50/s need about 200 ms.
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(3000);
  });
});
