import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/lib/slots.js';

/**
 * The worker's free-slot runner (issue 14): rows are claimed only into free slots, each runs on its own, a finished
 * one frees its slot at once, and one round (`once`) or a stop (`idle`) waits for exactly what it should.
 */
interface Gate {
  promise: Promise<void>;
  open: () => void;
  fail: (error: Error) => void;
}

function gate(): Gate {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** A due queue of ids and a gate per id that `run` waits on; records every claim's limit. */
function harness(slots: number, ids: string[]) {
  const due = [...ids];
  const gates = new Map(ids.map((id) => [id, gate()]));
  const limits: number[] = [];
  const busy: string[][] = [];
  const started: string[] = [];
  const finished: string[] = [];
  const errors: string[] = [];
  let freed = 0;
  const runner = new Slots<string>({
    slots,
    claim: async (limit, running) => {
      limits.push(limit);
      busy.push(running);
      return due.splice(0, limit);
    },
    run: async (id) => {
      started.push(id);
      await gates.get(id)!.promise;
      finished.push(id);
    },
    key: (id) => id,
    onError: (_error, id) => errors.push(id),
    onSlotFree: () => {
      freed += 1;
    },
  });
  return { runner, due, gates, limits, busy, started, finished, errors, freed: () => freed };
}

/** Lets every settled promise's callbacks run (no timers involved). */
async function settle(): Promise<void> {
  for (let round = 0; round < 10; round += 1) await Promise.resolve();
}

describe('worker slots (issue 14)', () => {
  it('claims only as many rows as there are free slots, and does not claim when none is free', async () => {
    const { runner, due, limits, started } = harness(3, ['a', 'b', 'c', 'd', 'e']);
    expect(await runner.pump()).toBe(3);
    expect(limits).toEqual([3]);
    expect(runner.inFlight).toBe(3);
    expect(due).toEqual(['d', 'e']);
    expect(await runner.pump()).toBe(0);
    // No free slot: the claim is not even asked.
    expect(limits).toEqual([3]);
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('a slow row holds only its own slot: the others finish, free theirs and new rows start beside it', async () => {
    const { runner, gates, limits, busy, started, finished, freed } = harness(2, ['slow', 'b', 'c', 'd']);
    expect(await runner.pump()).toBe(2);
    gates.get('b')!.open();
    await settle();
    expect(finished).toEqual(['b']);
    expect(freed()).toBe(1);
    expect(runner.inFlight).toBe(1);
    expect(await runner.pump()).toBe(1);
    expect(limits).toEqual([2, 1]);
    // The claim is told which rows are still running here, so it does not take them again.
    expect(busy).toEqual([[], ['slow']]);
    gates.get('c')!.open();
    await settle();
    expect(await runner.pump()).toBe(1);
    await settle();
    expect(started).toEqual(['slow', 'b', 'c', 'd']);
    expect(finished).toEqual(['b', 'c']);
    // The slow one is still running all along; running() lists the rows in flight (the webhook sender renews their
    // leases from it).
    expect(runner.inFlight).toBe(2);
    expect(runner.running().sort()).toEqual(['d', 'slow']);
    gates.get('slow')!.open();
    gates.get('d')!.open();
    await runner.idle();
    expect(runner.inFlight).toBe(0);
    expect(runner.running()).toEqual([]);
  });

  it('once() waits for the rows it started and only those', async () => {
    const { runner, gates, finished } = harness(4, ['a', 'b']);
    let done = false;
    const round = runner.once().then((count) => {
      done = true;
      return count;
    });
    await settle();
    gates.get('a')!.open();
    await settle();
    expect(done).toBe(false);
    gates.get('b')!.open();
    expect(await round).toBe(2);
    expect(finished).toEqual(['a', 'b']);
  });

  it('idle() waits for everything in flight, including rows started while it waits', async () => {
    const { runner, due, gates } = harness(2, ['a']);
    await runner.pump();
    let idle = false;
    const stopping = runner.idle().then(() => {
      idle = true;
    });
    due.push('late');
    gates.set('late', gate());
    expect(await runner.pump()).toBe(1);
    gates.get('a')!.open();
    await settle();
    expect(idle).toBe(false);
    gates.get('late')!.open();
    await stopping;
    expect(runner.inFlight).toBe(0);
  });

  it('a failing row is reported and frees its slot', async () => {
    const { runner, gates, errors, freed } = harness(1, ['bad', 'next']);
    await runner.pump();
    gates.get('bad')!.fail(new Error('boom'));
    await settle();
    expect(errors).toEqual(['bad']);
    expect(freed()).toBe(1);
    expect(await runner.pump()).toBe(1);
    gates.get('next')!.open();
    await runner.idle();
  });

  it('claims run one at a time, so concurrent pumps never claim more than the free slots', async () => {
    const { runner, limits } = harness(3, ['a', 'b', 'c', 'd', 'e', 'f']);
    const counts = await Promise.all([runner.pump(), runner.pump(), runner.pump()]);
    expect(counts).toEqual([3, 0, 0]);
    expect(limits).toEqual([3]);
    expect(runner.inFlight).toBe(3);
  });

  it('a row a claim returns although it is still running here is not started twice', async () => {
    const due = ['a'];
    let runs = 0;
    const first = gate();
    const runner = new Slots<string>({
      slots: 2,
      claim: async (limit) => due.splice(0, limit),
      run: async () => {
        runs += 1;
        await first.promise;
      },
      key: (id) => id,
      onError: () => {},
      onSlotFree: () => {},
    });
    expect(await runner.pump()).toBe(1);
    due.push('a');
    expect(await runner.pump()).toBe(0);
    await settle();
    expect(runs).toBe(1);
    first.open();
    await runner.idle();
  });
});
