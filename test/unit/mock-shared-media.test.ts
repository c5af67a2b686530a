import { describe, expect, it } from 'vitest';
import { MockContext } from '../mock-upstreams/shared/harness.js';

/** The mocks' `sharedMedia` option (benchmarks): one rendering per result shape instead of one per task. */
function context(sharedMedia: boolean): MockContext {
  return new MockContext('test', { key: null, queuedMs: 0, runningMs: 0, cdnTtlSeconds: 60, callbackRetryMs: 20, sharedMedia });
}

describe('mock result videos', () => {
  const shape = { width: 1280, height: 720, seconds: 5, fps: 1 };

  it('are one per task by default (seeded by the task)', () => {
    const mock = context(false);
    expect(mock.video('task-a', shape).equals(mock.video('task-b', shape))).toBe(false);
    expect(mock.video('task-a', shape).equals(mock.video('task-a', shape))).toBe(true);
  });

  it('with sharedMedia, are rendered once per shape and reused', () => {
    const mock = context(true);
    const first = mock.video('task-a', shape);
    expect(mock.video('task-b', shape)).toBe(first);
    expect(mock.video('task-c', { ...shape, seconds: 10 })).not.toBe(first);
  });
});
