import { describe, expect, it } from 'vitest';
import { ReadPacer } from '../../src/modules/tasks/read-pacer.js';
import { seededRandom as random } from '../harness/random.js';

/**
 * Runs `tasks` tasks of one route, each first read on time at the lead: returns the leads used and whether each
 * task had finished by its first read.
 */
function simulate(pacer: ReadPacer, durationOf: (index: number) => number, tasks: number): Array<{ lead: number; finished: boolean }> {
  const reads: Array<{ lead: number; finished: boolean }> = [];
  for (let index = 0; index < tasks; index += 1) {
    const lead = pacer.leadMs('ch|m');
    const finished = durationOf(index) <= lead;
    pacer.observe('ch|m', { elapsedMs: lead, finished });
    reads.push({ lead, finished });
  }
  return reads;
}

describe('read pacer (SEMANTICS T16)', () => {
  it('starts at the poll interval, and stays there when turned off', () => {
    const pacer = new ReadPacer(2_000);
    expect(pacer.leadMs('ch|m')).toBe(2_000);
    const off = new ReadPacer(2_000, false);
    simulate(off, () => 60_000, 200);
    expect(off.leadMs('ch|m')).toBe(2_000);
    expect(off.entries()).toEqual([]);
  });

  it('learns a steady route’s time within about 70 tasks, then reads first between 40 % and 106 % of it', () => {
    const pacer = new ReadPacer(2_000);
    const reads = simulate(pacer, () => 60_000, 2_000);
    // Thirtyfold from the interval at about 5 % a task.
    const learned = reads.findIndex((read) => read.finished);
    expect(learned).toBeGreaterThan(50);
    expect(learned).toBeLessThan(90);
    const after = reads.slice(learned);
    expect(Math.min(...after.map((read) => read.lead))).toBeGreaterThan(0.38 * 60_000);
    expect(Math.max(...after.map((read) => read.lead))).toBeLessThan(1.06 * 60_000);
    const mean = after.reduce((sum, read) => sum + read.lead, 0) / after.length;
    expect(mean).toBeGreaterThan(0.6 * 60_000);
    // About one first read in twenty finds its task finished.
    const early = after.filter((read) => read.finished).length / after.length;
    expect(early).toBeGreaterThan(0.03);
    expect(early).toBeLessThan(0.08);
  });

  it('on a spread route, about 5 % of first reads find their task finished (seed printed on failure)', () => {
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      const pacer = new ReadPacer(1_000);
      const reads = simulate(pacer, () => 20_000 + 40_000 * next(), 6_000).slice(1_000);
      const early = reads.filter((read) => read.finished).length / reads.length;
      expect(early, `seed ${seed}`).toBeGreaterThan(0.03);
      expect(early, `seed ${seed}`).toBeLessThan(0.08);
      // The lead sits in the low tail: below the 15th percentile (26 s), above the fastest (20 s) less half.
      const mean = reads.reduce((sum, read) => sum + read.lead, 0) / reads.length;
      expect(mean, `seed ${seed}`).toBeLessThan(26_000);
      expect(mean, `seed ${seed}`).toBeGreaterThan(10_000);
    }
  });

  it('ignores a late read that found the task finished, and an early read that found it running', () => {
    const pacer = new ReadPacer(1_000);
    simulate(pacer, () => 10_000, 40);
    const lead = pacer.leadMs('ch|m');
    expect(lead).toBeGreaterThan(5_000);
    // The poller was behind: read more than one interval after the lead, finished. No news.
    pacer.observe('ch|m', { elapsedMs: lead + 1_001, finished: true });
    expect(pacer.leadMs('ch|m')).toBe(lead);
    // A refresh before the lead found it running: it might still finish by the lead. No news.
    pacer.observe('ch|m', { elapsedMs: lead - 1, finished: false });
    expect(pacer.leadMs('ch|m')).toBe(lead);
    // Within one interval after the lead, finished: too long.
    pacer.observe('ch|m', { elapsedMs: lead + 1_000, finished: true });
    expect(pacer.leadMs('ch|m')).toBeLessThan(lead * 0.4);
    // Running when read late: it was running at the lead too.
    const shorter = pacer.leadMs('ch|m');
    pacer.observe('ch|m', { elapsedMs: shorter + 60_000, finished: false });
    expect(pacer.leadMs('ch|m')).toBeGreaterThan(shorter);
  });

  it('keeps routes apart, between the interval and 30 minutes, and forgets the least recently read beyond 10,000', () => {
    const pacer = new ReadPacer(1_000);
    simulate(pacer, () => Number.MAX_SAFE_INTEGER, 1_000);
    expect(pacer.leadMs('ch|m')).toBe(30 * 60_000);
    expect(pacer.leadMs('ch|other')).toBe(1_000);
    for (let index = 0; index < 20; index += 1) pacer.observe('ch|m', { elapsedMs: pacer.leadMs('ch|m'), finished: true });
    expect(pacer.leadMs('ch|m')).toBe(1_000);
    pacer.observe('ch|m', { elapsedMs: Number.NaN, finished: true });
    expect(pacer.leadMs('ch|m')).toBe(1_000);

    for (let index = 0; index < 10_001; index += 1) pacer.observe(`ch${index}|m`, { elapsedMs: 5_000, finished: false });
    expect(pacer.entries()).toHaveLength(10_000);
    expect(pacer.leadMs('ch0|m')).toBe(1_000); // forgotten: back to the interval
    expect(pacer.leadMs('ch10000|m')).toBeGreaterThan(1_000);
  });
});
