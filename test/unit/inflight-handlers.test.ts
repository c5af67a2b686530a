import { describe, expect, it } from 'vitest';
import { InflightHandlers } from '../../src/http/shutdown.js';

/** The shutdown tracker (http/shutdown.ts): what main.ts waits on before it closes the database. */
describe('InflightHandlers', () => {
  it('drains at once when nothing runs, and when the last handler settles', async () => {
    const inflight = new InflightHandlers();
    expect(await inflight.drain(10)).toBe(true);
    let finish!: () => void;
    const work = inflight.track(new Promise<string>((resolve) => (finish = () => resolve('answer'))));
    expect(inflight.count).toBe(1);
    const drained = inflight.drain(60_000);
    finish();
    expect(await work).toBe('answer');
    expect(await drained).toBe(true);
    expect(inflight.count).toBe(0);
  });

  it('answers false after the timeout while a handler still runs, and counts a failed handler as done', async () => {
    const inflight = new InflightHandlers();
    let fail!: (error: Error) => void;
    const work = inflight.track(new Promise<never>((_, reject) => (fail = reject)));
    expect(await inflight.drain(20)).toBe(false);
    expect(inflight.count).toBe(1);
    const drained = inflight.drain(60_000);
    fail(new Error('upstream gone'));
    await expect(work).rejects.toThrow('upstream gone');
    expect(await drained).toBe(true);
  });

  it('begins refusing, then cuts off: the signal aborts only at cutOff', () => {
    const inflight = new InflightHandlers();
    expect(inflight.closing).toBe(false);
    inflight.begin();
    expect(inflight.closing).toBe(true);
    expect(inflight.signal.aborted).toBe(false);
    inflight.cutOff();
    expect(inflight.signal.aborted).toBe(true);
  });

  it('calls each onCutOff callback once at cutOff, not one removed before, and at once after it', () => {
    const inflight = new InflightHandlers();
    const calls: string[] = [];
    inflight.onCutOff(() => calls.push('a'));
    const removeB = inflight.onCutOff(() => calls.push('b'));
    inflight.onCutOff(() => calls.push('c'));
    removeB();
    expect(calls).toEqual([]);
    inflight.cutOff();
    expect(calls).toEqual(['a', 'c']);
    inflight.cutOff();
    expect(calls).toEqual(['a', 'c']);
    const remove = inflight.onCutOff(() => calls.push('late'));
    expect(calls).toEqual(['a', 'c', 'late']);
    remove();
  });
});
