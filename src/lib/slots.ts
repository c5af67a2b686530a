/**
 * A bounded set of slots for one kind of claimed work (dispatch, poll, webhook delivery). The owner claims only as many rows as there are free slots,
 * every claimed row runs as its own promise, and a finished one frees its slot and calls `onSlotFree`, so the claim
 * loop runs again at once instead of waiting for the slowest row of a round (issue 14).
 */
export interface SlotsOptions<T> {
  slots: number;
  /**
   * Claims at most `limit` due rows (FOR UPDATE SKIP LOCKED with a lease or a pushed next_action_at: T2), leaving out
   * `busy`, the keys of the rows running here.
   */
  claim: (limit: number, busy: string[]) => Promise<T[]>;
  run: (item: T) => Promise<unknown>;
  key: (item: T) => string;
  /** Called with the row when `run` throws: the row's lease or next_action_at brings it back (T6). */
  onError: (error: unknown, item: T) => void;
  /** Called whenever a row finishes and its slot is free again. */
  onSlotFree: () => void;
}

export class Slots<T> {
  private readonly inflight = new Map<string, { item: T; done: Promise<void> }>();
  private claiming: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SlotsOptions<T>) {}

  /** Rows this process is working on right now. */
  get inFlight(): number {
    return this.inflight.size;
  }

  /** Slots free right now. */
  get free(): number {
    return Math.max(0, this.options.slots - this.inflight.size);
  }

  /** The rows this process is working on right now (the webhook sender renews their leases). */
  running(): T[] {
    return [...this.inflight.values()].map((entry) => entry.item);
  }

  /** Claims as many rows as there are free slots and starts them; returns how many it started, without waiting. */
  async pump(): Promise<number> {
    return (await this.claimAndStart()).length;
  }

  /** One round (tests, `drain()`): claims like `pump` and waits for the rows it started. */
  async once(): Promise<number> {
    const started = await this.claimAndStart();
    await Promise.all(started);
    return started.length;
  }

  /** Waits until nothing is in flight (graceful stop). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight.values()].map((entry) => entry.done));
  }

  /** Claims run one at a time in a process, so free slots are counted once. */
  private claimAndStart(): Promise<Promise<void>[]> {
    const run = this.claiming.then(async () => {
      const free = this.options.slots - this.inflight.size;
      if (free <= 0) return [];
      const rows = await this.options.claim(free, [...this.inflight.keys()]);
      // The claim leaves out the rows running here (a dispatch or check slower than its claim is not started twice
      // by this process); the filter only guards a claim that did not.
      return rows.filter((row) => !this.inflight.has(this.options.key(row))).map((row) => this.launch(row));
    });
    this.claiming = run.catch(() => {});
    return run;
  }

  private launch(row: T): Promise<void> {
    const key = this.options.key(row);
    const done = Promise.resolve()
      .then(() => this.options.run(row))
      .then(
        () => {},
        (error) => this.options.onError(error, row),
      )
      .finally(() => {
        this.inflight.delete(key);
        this.options.onSlotFree();
      });
    this.inflight.set(key, { item: row, done });
    return done;
  }
}
