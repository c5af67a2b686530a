/**
 * Graceful shutdown of the HTTP side (SEMANTICS "Shutdown"). A request's handler can outlive its connection — a
 * client that went away while its chat request waited for the upstream still has a hold to settle or release — so the
 * process waits for the handlers, not for the sockets, before it closes the database. Once shutdown has begun, new
 * requests are refused (503 `shutting_down`); after the grace, long answers are cut off (`signal`): a stream stops
 * reading the upstream, is settled at what it produced and ends with an error event, and a synchronous wait answers
 * 202 with its task.
 */
export class InflightHandlers {
  private running = 0;
  private waiters: Array<() => void> = [];
  private readonly cut = new AbortController();
  /** Callbacks of `onCutOff`: a Set, because every chat stream adds and removes one (an AbortSignal's listener list costs more). */
  private readonly cutOffs = new Set<() => void>();
  private stopping = false;

  /** Aborted when the grace is over: long-running handlers end early. */
  get signal(): AbortSignal {
    return this.cut.signal;
  }

  /**
   * Calls `callback` once when the grace is over (at once if it already is); returns what removes it. The cheap form
   * of listening to `signal`, for work every request does.
   */
  onCutOff(callback: () => void): () => void {
    if (this.cut.signal.aborted) {
      callback();
      return () => undefined;
    }
    this.cutOffs.add(callback);
    return () => this.cutOffs.delete(callback);
  }

  /** Whether shutdown has begun (new requests are refused). */
  get closing(): boolean {
    return this.stopping;
  }

  /** Handlers still running. */
  get count(): number {
    return this.running;
  }

  /** Counts `work` until it settles; resolves and rejects as it does. */
  track<T>(work: Promise<T>): Promise<T> {
    this.running += 1;
    return work.finally(() => {
      this.running -= 1;
      if (this.running === 0) for (const wake of this.waiters.splice(0)) wake();
    });
  }

  begin(): void {
    this.stopping = true;
  }

  cutOff(): void {
    this.stopping = true;
    if (this.cut.signal.aborted) return;
    this.cut.abort();
    const callbacks = [...this.cutOffs];
    this.cutOffs.clear();
    for (const callback of callbacks) callback();
  }

  /** Resolves true once no handler runs, or false after `timeoutMs` with some still running. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.running === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== wake);
        resolve(this.running === 0);
      }, timeoutMs);
      this.waiters.push(wake);
    });
  }
}
