import { currentScope, markCommitted, untracked, type CommitScope } from './commit-tracker.js';

/**
 * Group commit (issue 14): requests that each need one small write are gathered into groups, and each group is one
 * statement, one transaction and one flush of the write-ahead log. Inputs are queued by a key: one group per key
 * runs at a time and groups of different keys run side by side, up to `maxInFlight`. Every caller uses the default
 * key, so each committer (the wallet's reservations, resolutions and lease records, the task engine's writes, file
 * rows) is one queue per instance whatever the wallet (a test may play two instances' keys in one process). Queued
 * per wallet instead, load spread over several customers formed groups of a few requests each — one statement and
 * commit per group: five customers created a third fewer tasks per second than one, PostgreSQL spending twice the CPU
 * per task (docs/PERFORMANCE.md). The price: a group holds the row locks of all its wallets until it commits (the
 * group functions take them in id order, D6), so a wallet locked elsewhere delays the other wallets' requests of that
 * group too, and a group run again item by item (a twin's idempotency key in another transaction, GR409) is so for
 * all its customers. A group is sent as soon as its key is free, so a lone request waits for nothing; under load the
 * requests that arrive while their key's group runs form its next group. Every request is answered only after its
 * group's statement has returned, which for an autocommit statement means after its commit: no answer before its
 * write is durable.
 *
 * `run` receives the inputs of one group and returns one output per input, in order (an output may describe a
 * refusal; that is the caller's business). When `run` throws, nothing of the group was written (one transaction),
 * and each input is run again alone, in arrival order, so one bad input, a deadlock or a lost connection fails only
 * the requests it belongs to.
 *
 * The statement runs outside every request's commit scope (commit-tracker); a request's scope is marked committed
 * only when its own output says it wrote something (`wrote`).
 */
export interface GroupCommitOptions {
  /** The most inputs in one group. */
  maxGroup: number;
  /** The most groups running at once, over all keys (1 on the embedded database: it has one session). */
  maxInFlight: number;
  /**
   * Send even a lone input only once the event loop has read what else has arrived (two turns of the loop: two
   * `setImmediate`s). For the embedded database, whose statements run on this thread and block it: nothing can arrive
   * while a group runs, so groups form only from the requests read in the turns before it is sent. The second turn
   * takes in the requests whose upstream answer was read in the first (billed chat at 50 connections on the embedded
   * default: groups of 25 instead of 17, 6–12 % less CPU per request and 7 % more requests/s; at one connection the
   * same; docs/PERFORMANCE.md).
   */
  deferSend?: boolean;
}

export interface GroupRunner<In, Out> {
  /** One statement for the whole group: one output per input, in order. */
  run(inputs: In[]): Promise<Out[]>;
  /** Whether an output is a committed change (marks the request's commit scope). */
  wrote(output: Out): boolean;
}

interface Waiting<In, Out> {
  input: In;
  scope: CommitScope | undefined;
  resolve(output: Out): void;
  reject(error: unknown): void;
}

export interface GroupStats {
  groups: number;
  items: number;
  largest: number;
  /** Groups whose statement failed and whose inputs were run alone. */
  fallbacks: number;
}

export class GroupCommitter<In, Out> {
  /** Waiting inputs by key, in arrival order; a key is present while it has inputs waiting. */
  private readonly queues = new Map<string, Array<Waiting<In, Out>>>();
  /** The group running for each key (its waiting list, as an identity). */
  private readonly running = new Map<string, Array<Waiting<In, Out>>>();
  private pumpScheduled = false;
  readonly stats: GroupStats = { groups: 0, items: 0, largest: 0, fallbacks: 0 };

  constructor(
    private readonly runner: GroupRunner<In, Out>,
    private readonly options: GroupCommitOptions,
  ) {
    if (options.maxGroup < 1 || options.maxInFlight < 1) throw new Error('group commit needs maxGroup ≥ 1 and maxInFlight ≥ 1');
  }

  submit(input: In, key = ''): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      const queue = this.queues.get(key);
      const waiting = { input, scope: currentScope(), resolve, reject };
      if (queue) queue.push(waiting);
      else this.queues.set(key, [waiting]);
      if (this.options.deferSend) this.schedulePump();
      else this.pump();
    });
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    }));
  }

  /** Inputs waiting plus groups running (for tests and metrics). */
  get depth(): number {
    let waiting = 0;
    for (const queue of this.queues.values()) waiting += queue.length;
    return waiting + this.running.size;
  }

  private pump(): void {
    if (this.running.size >= this.options.maxInFlight) return;
    // Map order is insertion order: the key waiting longest goes first.
    for (const [key, queue] of this.queues) {
      if (this.running.size >= this.options.maxInFlight) return;
      if (this.running.has(key)) continue;
      const group = queue.splice(0, this.options.maxGroup);
      if (queue.length === 0) this.queues.delete(key);
      this.running.set(key, group);
      // send() answers or rejects every input and frees the key itself; the catch only keeps a broken promise from
      // ending the process.
      void untracked(() => this.send(key, group)).catch((error: unknown) => {
        this.free(key, group);
        for (const waiting of group) waiting.reject(error);
      });
    }
  }

  /**
   * A key's group has finished: the key's next group may go. On PostgreSQL it goes in a microtask — before the
   * finished group's answers are written, so the database works on the next group while this thread answers the
   * last one (the requests waiting were read while the statement ran). On the embedded database a statement runs on
   * this thread and blocks it, so the requests that came during it are still unread: the next group goes after the
   * event loop has read them (two `setImmediate`s, `deferSend`).
   */
  private free(key: string, group: Array<Waiting<In, Out>>): void {
    if (this.running.get(key) !== group) return;
    this.running.delete(key);
    if (this.options.deferSend) this.schedulePump();
    else queueMicrotask(() => this.pump());
  }

  private async send(key: string, group: Array<Waiting<In, Out>>): Promise<void> {
    this.stats.groups += 1;
    this.stats.items += group.length;
    this.stats.largest = Math.max(this.stats.largest, group.length);
    let outputs: Out[];
    try {
      outputs = await this.runner.run(group.map((waiting) => waiting.input));
      if (outputs.length !== group.length || group.some((_, index) => outputs[index] === undefined)) {
        throw new Error(`group commit: the statement answered ${outputs.filter((output) => output !== undefined).length} of ${group.length} inputs`);
      }
    } catch (error) {
      if (group.length === 1) {
        this.free(key, group);
        group[0]!.reject(error);
        return;
      }
      // Alone, one after another in arrival order: on one wallet they would queue on its row lock anyway, and the
      // first arrivals keep their place (in a race for the last credits, the earliest requests win, as in a group).
      this.stats.fallbacks += 1;
      for (const waiting of group) {
        try {
          const [output] = await this.runner.run([waiting.input]);
          if (output === undefined) throw new Error('group commit: the statement answered no output');
          this.answer(waiting, output);
        } catch (alone) {
          waiting.reject(alone);
        }
      }
      this.free(key, group);
      return;
    }
    // The statement has returned (committed): the key is free before the answers go out.
    this.free(key, group);
    group.forEach((waiting, index) => this.answer(waiting, outputs[index] as Out));
  }

  private answer(waiting: Waiting<In, Out>, output: Out): void {
    if (waiting.scope && this.runner.wrote(output)) markCommitted(waiting.scope);
    waiting.resolve(output);
  }
}
