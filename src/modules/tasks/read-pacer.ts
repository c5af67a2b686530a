/**
 * When to read a newly accepted task's status for the first time (issue 14, SEMANTICS T16).
 *
 * Reading every task every POLL_INTERVAL_MS from the moment the upstream accepted it spends most status reads on
 * tasks that cannot have finished yet: a video that takes a minute upstream is read thirty times at the default 2 s.
 * Those reads cost the channel's request budget (and the upstream's own rate limit on status queries), worker time
 * and database writes, and they delay the reads of tasks that have finished. So, per channel and model, the pacer
 * learns a *lead*: how long after acceptance a task of that route is first read. From then on the task is read every
 * POLL_INTERVAL_MS as before.
 *
 * The lead tracks a low quantile (QUANTILE, 5 %) of the upstream's time to finish, by stochastic approximation on the
 * one fact each first read gives: at that moment the task had finished or not. A first read that finds the task still
 * running proves the lead was short of this task's time (when it came at or after the lead): the lead grows a little.
 * One that finds it finished on time (within one poll interval after the lead) says the lead was too long for it: the
 * lead shrinks by much more. In balance about 5 % of first reads find their task finished, and those had finished
 * shortly before (when the route's times are steady, the lead had just grown past them by one step). A read that came late (the poller was behind) and found the task finished says nothing about
 * the lead and is ignored, so a backlog cannot push the lead up or down. Failures, cancellations and expiries count as
 * finished: they too should be noticed promptly.
 *
 * The lead starts at the poll interval (the behaviour without pacing) and stays between it and CEILING_MS. It lives in
 * the process: each worker learns on its own, and a restart learns again from the interval, which is always safe.
 */

/** The share of tasks allowed to have finished before their first read. */
const QUANTILE = 0.05;
/**
 * Step size, in log space: a task still running grows the lead by about 5 % (so it learns a thirtyfold longer time
 * in about 70 tasks), one finished on time shrinks it by about 61 %.
 */
const RATE = 1;
/** The longest lead, however slow the route has been. */
const CEILING_MS = 30 * 60_000;
/** At most this many routes × models are remembered (the least recently read go first). */
const MAX_ROUTES = 10_000;

export interface FirstRead {
  /** How long after acceptance the read was made. */
  elapsedMs: number;
  /** Whether the upstream reported the task finished (succeeded, failed, cancelled or expired). */
  finished: boolean;
}

export class ReadPacer {
  private readonly leads = new Map<string, number>();

  /**
   * `intervalMs` is POLL_INTERVAL_MS: the shortest lead, and how late a read may come and still count (with 0 nothing
   * is learned: every task is read at every round, as configured).
   */
  constructor(private readonly intervalMs: number, private readonly enabled = true) {}

  /** The route's key: its channel (or provider, for sandbox routes; neither contains `|`) and the catalogue model. */
  static key(route: { channelId: string | null; providerId: string }, model: string): string {
    return `${route.channelId ?? route.providerId}|${model}`;
  }

  /** How long after acceptance a task of this route and model is first read. */
  leadMs(key: string): number {
    return this.enabled ? Math.max(this.intervalMs, this.leads.get(key) ?? 0) : this.intervalMs;
  }

  /** Learns from a task's first status read. */
  observe(key: string, read: FirstRead): void {
    if (!this.enabled || !Number.isFinite(read.elapsedMs)) return;
    const lead = this.leadMs(key);
    let next: number;
    if (read.finished) {
      if (read.elapsedMs > lead + this.intervalMs) return; // read late: no news about the lead
      next = lead * Math.exp(-RATE * (1 - QUANTILE));
    } else {
      // Read before the lead (a refresh): it had not finished yet, but might have by the lead. (Due times are whole
      // milliseconds, so a read at the due time of a lead of 105.4 ms comes 105 ms after acceptance.)
      if (read.elapsedMs < Math.floor(lead)) return;
      next = lead * Math.exp(RATE * QUANTILE);
    }
    this.leads.delete(key);
    this.leads.set(key, Math.min(CEILING_MS, Math.max(this.intervalMs, next)));
    if (this.leads.size > MAX_ROUTES) this.leads.delete(this.leads.keys().next().value!);
  }

  /** The leads learned so far, for /metrics: the key, and its route and model apart. */
  entries(): Array<{ key: string; route: string; model: string; leadMs: number }> {
    return [...this.leads].map(([key, leadMs]) => {
      const cut = key.indexOf('|');
      return { key, route: key.slice(0, cut), model: key.slice(cut + 1), leadMs };
    });
  }
}
