/**
 * What a request is for, in the order a contended budget serves them (SEMANTICS T17): `now` — a status read of work
 * already started, or a live request someone waits on; `later` — starting new work, which can wait in its queue.
 */
export type BudgetUse = 'now' | 'later';

/**
 * A per-process token bucket: `take()` resolves when a request may go out. Used as each channel's upstream request
 * budget, so a burst of due polls never exceeds what the upstream allows (e.g. DashScope 20 QPS per account).
 *
 * When requests wait, `now` ones go first, each in arrival order, but `later` ones are never starved: while both
 * wait, at least one token in `laterShare` goes to a `later` request. So a burst of new tasks cannot delay the reads
 * that notice finished ones (the bucket would otherwise make every read queue behind every create that asked first),
 * and reads cannot stop new work altogether.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt = Date.now();
  private readonly waiting: Record<BudgetUse, Array<() => void>> = { now: [], later: [] };
  /** `now` tokens granted in a row while `later` requests waited. */
  private nowStreak = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly perSecond: number,
    private readonly burst = Math.max(1, perSecond),
    /** While both kinds wait, every `laterShare`-th token goes to a `later` request (default 4: at least a quarter). */
    private readonly laterShare = 4,
  ) {
    this.tokens = this.burst;
  }

  /** Requests waiting, by use. */
  get queued(): Record<BudgetUse, number> {
    return { now: this.waiting.now.length, later: this.waiting.later.length };
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
  }

  take(use: BudgetUse = 'now'): Promise<void> {
    this.refill();
    if (this.waiting.now.length === 0 && this.waiting.later.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiting[use].push(resolve);
      this.schedule();
    });
  }

  /** The next waiter to serve: `now` first, unless `later` ones have waited through `laterShare − 1` grants. */
  private next(): (() => void) | undefined {
    const { now, later } = this.waiting;
    if (later.length === 0) {
      this.nowStreak = 0;
      return now.shift();
    }
    if (now.length === 0 || this.nowStreak >= this.laterShare - 1) {
      this.nowStreak = 0;
      return later.shift();
    }
    this.nowStreak += 1;
    return now.shift();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refill();
      while (this.tokens >= 1) {
        const waiter = this.next();
        if (!waiter) break;
        this.tokens -= 1;
        waiter();
      }
      if (this.waiting.now.length > 0 || this.waiting.later.length > 0) this.schedule();
    }, wait);
    this.timer.unref();
  }
}
