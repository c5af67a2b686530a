import { describe, expect, it } from 'vitest';
import { GroupCommitter, type GroupCommitOptions, type GroupRunner } from '../../src/db/group-commit.js';
import { noteCommit, noteStatement, trackCommits, type CommitScope } from '../../src/db/commit-tracker.js';

/**
 * GroupCommitter (issue 14) against a fake runner whose statements are promises the test settles by hand: no
 * database, no timers. Inputs are `key:name` strings; an output names its input and says whether it wrote.
 */
interface Out {
  of: string;
  wrote: boolean;
}

interface Call {
  inputs: string[];
  resolve(outputs: Out[]): void;
  reject(error: unknown): void;
  settled: boolean;
}

class FakeRunner implements GroupRunner<string, Out> {
  readonly calls: Call[] = [];
  /** Statements running now, and the most that ever ran at once. */
  running = 0;
  maxRunning = 0;
  /** Keys whose statement is running (`key` is the part of an input before ':'). */
  readonly runningKeys: string[] = [];
  overlapSameKey = false;
  /** What the shared statement does to the database tracker (a real statement writes and commits). */
  touchesTracker = false;

  run(inputs: string[]): Promise<Out[]> {
    const keys = [...new Set(inputs.map((input) => input.split(':')[0]!))];
    for (const key of keys) if (this.runningKeys.includes(key)) this.overlapSameKey = true;
    this.runningKeys.push(...keys);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    if (this.touchesTracker) {
      noteStatement('SELECT item, outcome, task FROM gr_reserve_group($1::jsonb)');
      noteStatement('INSERT INTO tasks VALUES (1)');
      noteCommit();
    }
    return new Promise<Out[]>((resolve, reject) => {
      const done = () => {
        call.settled = true;
        this.running -= 1;
        for (const key of keys) this.runningKeys.splice(this.runningKeys.indexOf(key), 1);
      };
      const call: Call = {
        inputs,
        settled: false,
        resolve: (outputs) => { done(); resolve(outputs); },
        reject: (error) => { done(); reject(error); },
      };
      this.calls.push(call);
    });
  }

  wrote(output: Out): boolean {
    return output.wrote;
  }

  /** The call whose inputs are exactly `inputs`, still open. */
  open(inputs: string[]): Call {
    const call = this.calls.find((candidate) => !candidate.settled && candidate.inputs.join('|') === inputs.join('|'));
    if (!call) throw new Error(`no open call for [${inputs.join(', ')}]; open: ${this.openCalls().map((c) => `[${c.inputs.join(', ')}]`).join(' ')}`);
    return call;
  }

  openCalls(): Call[] {
    return this.calls.filter((call) => !call.settled);
  }

  /** Answers a call with one output per input; `wrote` unless the input name says `nowrite`. */
  answer(inputs: string[]): void {
    this.open(inputs).resolve(inputs.map((input) => ({ of: input, wrote: !input.includes('nowrite') })));
  }
}

/** Lets every pending promise callback run (the committer reacts to a settled statement in microtasks). */
async function flush(): Promise<void> {
  for (let round = 0; round < 5; round += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

function setup(options: Partial<GroupCommitOptions> = {}) {
  const runner = new FakeRunner();
  const committer = new GroupCommitter(runner, { maxGroup: 100, maxInFlight: 8, ...options });
  return { runner, committer };
}

/** Tracks how a submitted promise ends without leaving it unhandled. */
function watch<T>(promise: Promise<T>) {
  const state: { value?: T; error?: unknown; done: boolean; promise: Promise<unknown> } = { done: false, promise: promise.catch(() => undefined) };
  promise.then(
    (value) => { state.value = value; state.done = true; },
    (error) => { state.error = error; state.done = true; },
  );
  return state;
}

describe('GroupCommitter: forming groups', () => {
  it('sends a lone input at once, without waiting for company', async () => {
    const { runner, committer } = setup();
    const answer = watch(committer.submit('w:a', 'w'));
    // Synchronously: the statement is already running.
    expect(runner.calls.map((call) => call.inputs)).toEqual([['w:a']]);
    runner.answer(['w:a']);
    await flush();
    expect(answer).toMatchObject({ done: true, value: { of: 'w:a', wrote: true } });
    expect(committer.stats).toEqual({ groups: 1, items: 1, largest: 1, fallbacks: 0 });
    expect(committer.depth).toBe(0);
  });

  it('inputs submitted while a key runs form that key\'s next group, in arrival order, each with its own output', async () => {
    const { runner, committer } = setup();
    const first = watch(committer.submit('w:a', 'w'));
    const later = ['w:b', 'w:c', 'w:d', 'w:e'].map((input) => watch(committer.submit(input, 'w')));
    await flush();
    expect(runner.calls).toHaveLength(1);
    expect(committer.depth).toBe(5); // 4 waiting + 1 group running
    expect(later.some((state) => state.done)).toBe(false);
    runner.answer(['w:a']);
    await flush();
    expect(first.value).toEqual({ of: 'w:a', wrote: true });
    expect(runner.calls.map((call) => call.inputs)).toEqual([['w:a'], ['w:b', 'w:c', 'w:d', 'w:e']]);
    expect(later.some((state) => state.done)).toBe(false);
    // Outputs are matched to inputs by position.
    runner.open(['w:b', 'w:c', 'w:d', 'w:e']).resolve(['w:b', 'w:c', 'w:d', 'w:e'].map((of) => ({ of, wrote: true })));
    await flush();
    expect(later.map((state) => state.value?.of)).toEqual(['w:b', 'w:c', 'w:d', 'w:e']);
    expect(committer.stats).toEqual({ groups: 2, items: 5, largest: 4, fallbacks: 0 });
  });

  it('runs one group per key at a time, different keys side by side, never more than maxInFlight', async () => {
    const { runner, committer } = setup({ maxInFlight: 2 });
    const answers = [
      watch(committer.submit('k1:a', 'k1')),
      watch(committer.submit('k2:a', 'k2')),
      watch(committer.submit('k3:a', 'k3')), // no slot: waits although its key is free
      watch(committer.submit('k1:b', 'k1')), // its key runs: waits
      watch(committer.submit('k1:c', 'k1')),
    ];
    await flush();
    expect(runner.calls.map((call) => call.inputs)).toEqual([['k1:a'], ['k2:a']]);
    runner.answer(['k2:a']);
    await flush();
    // The freed slot goes to the key that has waited longest (k3), not to k1's second group.
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['k1:a'], ['k3:a']]);
    runner.answer(['k1:a']);
    await flush();
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['k3:a'], ['k1:b', 'k1:c']]);
    runner.answer(['k3:a']);
    runner.answer(['k1:b', 'k1:c']);
    await flush();
    expect(answers.every((state) => state.done && state.value !== undefined)).toBe(true);
    expect(runner.maxRunning).toBe(2);
    expect(runner.overlapSameKey).toBe(false);
  });

  it('sends a key\'s next group as soon as its statement returns, before the finished group\'s answers are delivered', async () => {
    const { runner, committer } = setup();
    const seenByFirst: string[][] = [];
    const first = committer.submit('w:a', 'w').then((output) => {
      // What the database is running when the first request gets its answer: the next group already.
      seenByFirst.push(...runner.openCalls().map((call) => call.inputs));
      return output;
    });
    const later = ['w:b', 'w:c'].map((input) => watch(committer.submit(input, 'w')));
    runner.answer(['w:a']);
    expect((await first).of).toBe('w:a');
    expect(seenByFirst).toEqual([['w:b', 'w:c']]);
    // The key is still one group at a time: the second group's answer waits for its own statement.
    expect(later.some((state) => state.done)).toBe(false);
    expect(committer.depth).toBe(1);
    runner.answer(['w:b', 'w:c']);
    await flush();
    expect(later.map((state) => state.value?.of)).toEqual(['w:b', 'w:c']);
    expect(runner.overlapSameKey).toBe(false);
  });

  it('uses maxInFlight when many keys are busy at once', async () => {
    const { runner, committer } = setup({ maxInFlight: 3 });
    const answers = Array.from({ length: 10 }, (_, index) => watch(committer.submit(`k${index % 5}:i${index}`, `k${index % 5}`)));
    for (let guard = 0; guard < 50 && runner.openCalls().length > 0; guard += 1) {
      expect(runner.openCalls().length).toBeLessThanOrEqual(3);
      runner.answer(runner.openCalls()[0]!.inputs);
      await flush();
    }
    expect(answers.every((state) => state.done)).toBe(true);
    expect(runner.maxRunning).toBe(3);
    expect(runner.overlapSameKey).toBe(false);
    // Every input was run exactly once.
    expect(runner.calls.flatMap((call) => call.inputs).sort()).toEqual(answers.map((_, index) => `k${index % 5}:i${index}`).sort());
  });

  it('splits a long queue into groups of at most maxGroup, in order', async () => {
    const { runner, committer } = setup({ maxGroup: 3 });
    const inputs = Array.from({ length: 8 }, (_, index) => `w:${index}`);
    const answers = inputs.map((input) => watch(committer.submit(input, 'w')));
    for (let guard = 0; guard < 10 && runner.openCalls().length > 0; guard += 1) {
      expect(runner.openCalls()).toHaveLength(1);
      runner.answer(runner.openCalls()[0]!.inputs);
      await flush();
    }
    expect(runner.calls.map((call) => call.inputs)).toEqual([['w:0'], ['w:1', 'w:2', 'w:3'], ['w:4', 'w:5', 'w:6'], ['w:7']]);
    expect(answers.map((state) => state.value?.of)).toEqual(inputs);
    expect(committer.stats).toEqual({ groups: 4, items: 8, largest: 3, fallbacks: 0 });
  });

  it('refuses limits below 1', () => {
    expect(() => new GroupCommitter(new FakeRunner(), { maxGroup: 0, maxInFlight: 1 })).toThrow();
    expect(() => new GroupCommitter(new FakeRunner(), { maxGroup: 1, maxInFlight: 0 })).toThrow();
  });
});

describe('GroupCommitter: a failing statement', () => {
  it('runs each input of a failed group alone: only the bad one rejects, and the key waits for the fallback', async () => {
    const { runner, committer } = setup();
    const lone = watch(committer.submit('w:a', 'w'));
    const group = ['w:b', 'w:bad', 'w:d'].map((input) => watch(committer.submit(input, 'w')));
    runner.answer(['w:a']);
    await flush();
    runner.open(['w:b', 'w:bad', 'w:d']).reject(new Error('invalid input syntax'));
    await flush();
    expect(committer.stats.fallbacks).toBe(1);
    // Each input alone, one after another in arrival order.
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:b']]);
    // A request arriving now waits for the fallback to finish: still one statement per key at a time.
    const after = watch(committer.submit('w:e', 'w'));
    await flush();
    expect(runner.openCalls()).toHaveLength(1);
    runner.answer(['w:b']);
    await flush();
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:bad']]);
    const badError = new Error('bad input');
    runner.open(['w:bad']).reject(badError);
    await flush();
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:d']]);
    runner.answer(['w:d']);
    await flush();
    expect(lone.value?.of).toBe('w:a');
    expect(group[0]!.value).toEqual({ of: 'w:b', wrote: true });
    expect(group[1]!).toMatchObject({ done: true, error: badError });
    expect(group[1]!.value).toBeUndefined();
    expect(group[2]!.value).toEqual({ of: 'w:d', wrote: true });
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:e']]);
    runner.answer(['w:e']);
    await flush();
    expect(after.value?.of).toBe('w:e');
    expect(committer.stats).toMatchObject({ groups: 3, items: 5, fallbacks: 1 });
    // The key was freed once, after the last run alone: never two statements of one key at once, nothing left over.
    expect(runner.overlapSameKey).toBe(false);
    expect(committer.depth).toBe(0);
  });

  it('treats a wrong number of outputs as a failed group and runs its inputs alone', async () => {
    const { runner, committer } = setup();
    watch(committer.submit('w:a', 'w'));
    const group = ['w:b', 'w:c'].map((input) => watch(committer.submit(input, 'w')));
    runner.answer(['w:a']);
    await flush();
    runner.open(['w:b', 'w:c']).resolve([{ of: 'w:b', wrote: true }]);
    await flush();
    expect(committer.stats.fallbacks).toBe(1);
    expect(group.some((state) => state.done)).toBe(false);
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:b']]);
    runner.answer(['w:b']);
    await flush();
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:c']]);
    runner.answer(['w:c']);
    await flush();
    expect(group.map((state) => state.value?.of)).toEqual(['w:b', 'w:c']);
  });

  it('rejects the input of a one-input group whose statement throws, with no fallback run', async () => {
    const { runner, committer } = setup();
    const lone = watch(committer.submit('w:bad', 'w'));
    const error = new Error('deadlock detected');
    runner.open(['w:bad']).reject(error);
    await flush();
    expect(lone).toMatchObject({ done: true, error });
    expect(runner.calls).toHaveLength(1);
    expect(committer.stats).toEqual({ groups: 1, items: 1, largest: 1, fallbacks: 0 });
    // The key is free again.
    const next = watch(committer.submit('w:b', 'w'));
    runner.answer(['w:b']);
    await flush();
    expect(next.value?.of).toBe('w:b');
  });

  it('a one-input group answered with no output rejects its input', async () => {
    const { runner, committer } = setup();
    const lone = watch(committer.submit('w:a', 'w'));
    runner.open(['w:a']).resolve([]);
    await flush();
    expect(lone.done).toBe(true);
    expect(lone.error).toBeInstanceOf(Error);
    expect(committer.stats.fallbacks).toBe(0);
  });
});

describe('GroupCommitter: commit scopes', () => {
  function scoped(committer: GroupCommitter<string, Out>, input: string, key = 'w') {
    const scope: CommitScope = { committed: false };
    const state = watch(trackCommits(scope, () => committer.submit(input, key)));
    return { scope, state };
  }

  it('marks a request committed only when its own output wrote, never by the shared statement', async () => {
    const { runner, committer } = setup();
    runner.touchesTracker = true;
    // The lone first request starts the statement from inside its own scope: the statement's writes must not mark it.
    const first = scoped(committer, 'w:nowrite-a');
    expect(runner.calls).toHaveLength(1);
    expect(first.scope.committed).toBe(false);
    const wrote = scoped(committer, 'w:b');
    const refused = scoped(committer, 'w:nowrite-c');
    runner.answer(['w:nowrite-a']);
    await flush();
    expect(first.state.done).toBe(true);
    expect(first.scope.committed).toBe(false);
    // The group's statement has run (and "written") but has not returned: nobody is marked yet.
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:b', 'w:nowrite-c']]);
    expect(wrote.scope.committed).toBe(false);
    expect(refused.scope.committed).toBe(false);
    runner.answer(['w:b', 'w:nowrite-c']);
    await flush();
    expect(wrote.scope.committed).toBe(true);
    expect(refused.scope.committed).toBe(false);
  });

  it('in a fallback, marks only the inputs whose own run wrote; a rejected input stays unmarked', async () => {
    const { runner, committer } = setup();
    runner.touchesTracker = true;
    // The first request wrote nothing; the statements started after it (from its pump) must not mark it either.
    const first = scoped(committer, 'w:nowrite-a');
    const good = scoped(committer, 'w:b');
    const bad = scoped(committer, 'w:bad');
    const refused = scoped(committer, 'w:nowrite-d');
    runner.answer(['w:nowrite-a']);
    await flush();
    expect(first.scope.committed).toBe(false);
    runner.open(['w:b', 'w:bad', 'w:nowrite-d']).reject(new Error('boom'));
    await flush();
    runner.answer(['w:b']);
    await flush();
    runner.open(['w:bad']).reject(new Error('bad'));
    await flush();
    runner.answer(['w:nowrite-d']);
    await flush();
    expect(good.scope.committed).toBe(true);
    expect(bad.state.error).toBeInstanceOf(Error);
    expect(bad.scope.committed).toBe(false);
    expect(refused.state.value).toEqual({ of: 'w:nowrite-d', wrote: false });
    expect(refused.scope.committed).toBe(false);
    expect(first.scope.committed).toBe(false);
  });

  it('the tracker itself marks a scope for a write done inside it (so the test above can fail)', () => {
    const scope: CommitScope = { committed: false };
    trackCommits(scope, () => noteStatement('INSERT INTO tasks VALUES (1)'));
    expect(scope.committed).toBe(true);
  });

  it('an input submitted outside any scope is answered normally', async () => {
    const { runner, committer } = setup();
    runner.touchesTracker = true;
    const state = watch(committer.submit('w:a', 'w'));
    runner.answer(['w:a']);
    await flush();
    expect(state.value).toEqual({ of: 'w:a', wrote: true });
  });
});

describe('GroupCommitter: a runner that breaks its contract', () => {
  it('an output missing inside a full-length answer fails the group over to runs alone instead of hanging it', async () => {
    const { runner, committer } = setup();
    watch(committer.submit('w:a', 'w'));
    const group = ['w:b', 'w:c'].map((input) => watch(committer.submit(input, 'w')));
    runner.answer(['w:a']);
    await flush();
    const holed: Out[] = new Array(2);
    holed[1] = { of: 'w:c', wrote: true };
    runner.open(['w:b', 'w:c']).resolve(holed);
    await flush();
    expect(committer.stats.fallbacks).toBe(1);
    runner.answer(['w:b']);
    await flush();
    runner.answer(['w:c']);
    await flush();
    expect(group.map((state) => state.value?.of)).toEqual(['w:b', 'w:c']);
  });
});

describe('GroupCommitter: deferSend (the embedded engine)', () => {
  it('sends nothing inside submit; the inputs submitted in that turn of the event loop and the next go as one group', async () => {
    const { runner, committer } = setup({ maxInFlight: 1, deferSend: true });
    const states = ['w:a', 'w:b'].map((input) => watch(committer.submit(input, 'w')));
    expect(runner.calls).toHaveLength(0);
    await new Promise<void>((resolve) => setImmediate(resolve));
    // One turn later (a request whose upstream answer was read meanwhile): still gathering.
    expect(runner.calls).toHaveLength(0);
    states.push(watch(committer.submit('w:c', 'w')));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:a', 'w:b', 'w:c']]);
    runner.answer(['w:a', 'w:b', 'w:c']);
    await flush();
    expect(states.map((state) => state.value?.of)).toEqual(['w:a', 'w:b', 'w:c']);
  });

  it('a lone input is still sent in the next turn, and one arriving during a group waits for the next', async () => {
    const { runner, committer } = setup({ maxInFlight: 1, deferSend: true });
    const lone = watch(committer.submit('w:a', 'w'));
    await flush();
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:a']]);
    const later = watch(committer.submit('w:b', 'w'));
    await flush();
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:a']]);
    const sentWhenAnswered: number[] = [];
    void lone.promise.then(() => sentWhenAnswered.push(runner.calls.length));
    runner.answer(['w:a']);
    await flush();
    expect(lone.value?.of).toBe('w:a');
    // The next group waits for a turn of the event loop (requests that arrived while PGlite blocked it are read
    // first), so the first answer is delivered before it is sent.
    expect(sentWhenAnswered).toEqual([1]);
    expect(runner.openCalls().map((call) => call.inputs)).toEqual([['w:b']]);
    runner.answer(['w:b']);
    await flush();
    expect(later.value?.of).toBe('w:b');
  });
});
