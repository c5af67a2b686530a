import { randomBytes } from 'node:crypto';
import { WebhookSender, type DeliverWebhooksDeps } from '../workflows/deliver-webhooks.js';
import { dispatchTask, pollTask, type RunTaskDeps } from '../workflows/run-task.js';
import { sweep, type SweepDeps } from '../workflows/sweep.js';
import { chainsConfigured, scanChains, type ChainWatchDeps } from '../workflows/chain-watch.js';
import { reconcileStripe, type StripeReconcileDeps } from '../workflows/stripe-reconcile.js';
import type { TaskRow } from '../modules/tasks/types.js';
import { Slots } from '../lib/slots.js';
import { UPKEEP_INTERVAL_MS, upkeepOnce, type UpkeepResult } from '../db/upkeep.js';

/** The loops run the task, sweep, webhook and chain-watch workflows; nothing else. */
export type WorkerDeps = RunTaskDeps & SweepDeps & DeliverWebhooksDeps & ChainWatchDeps & StripeReconcileDeps;

/**
 * Background loops (ARCHITECTURE worker/): dispatcher, poller, sweeper and webhook sender (and the Stripe and chain
 * watchers, and on the embedded engine its upkeep, db/upkeep.ts). Each claims due rows
 * with `FOR UPDATE SKIP LOCKED` and leases, so any number of processes can run them (SEMANTICS T1, T2). The loops
 * poll at most every second and are also woken in-process right after a task is created or resolved.
 * `*Once` methods run one round and are what tests drive with a manual clock.
 *
 * No loop waits for the work it claims: the dispatcher and the poller claim tasks into free slots (`Slots`, at most
 * `config.workerSlots` dispatches and `config.pollSlots` status checks per worker), every task runs on its own, and a finished one wakes its loop to claim again
 * (issue 14); the webhook sender does the same with its deliveries (workflows/deliver-webhooks.ts, issue 8). A slow
 * task holds only its own slot.
 *
 * Status checks can come before new work (`config.dispatchHoldMs`, 0 = off): a model's queued tasks are not claimed
 * while a status check of its running tasks is more than that overdue (TaskService.claimForDispatch), so a process (or fleet) with more work
 * than it can keep up with notices upstream completions promptly instead of starting ever more tasks; the poller wakes
 * the dispatcher when it has caught up.
 */

interface Loop {
  name: string;
  intervalMs: number;
  run: () => Promise<number>;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  again: boolean;
  /** Every slot is busy: a round would claim nothing without asking, and a freed slot wakes the loop. */
  full?: () => boolean;
  /** After a round that claimed nothing, the next one waits until then even when woken (no claim spinning). */
  notBefore: number;
  /** When the last round that claimed something ended (rounds that claim are CLAIM_SPACING_MS apart). */
  claimedAt: number;
  /** The first round waits this long after start (the embedded upkeep: not while the server is warming up). */
  firstDelayMs: number;
}

/** A loop that has not run yet: `run` every `intervalMs`, sooner when woken; `full` when it claims into slots. */
function loop(name: string, intervalMs: number, run: () => Promise<number>, full?: () => boolean, firstDelayMs = 0): Loop {
  return { name, intervalMs, run, full, timer: null, running: null, again: false, notBefore: 0, claimedAt: -Infinity, firstDelayMs };
}

/**
 * A round that claimed nothing is not run again sooner than this, however often the loop is woken: while a hold keeps
 * queued tasks back (or every slot is busy), tasks created meanwhile would otherwise make it claim back to back.
 */
const EMPTY_ROUND_PAUSE_MS = 20;

/**
 * Rounds that claim something are at least this far apart. Under load every finished task frees a slot and wakes its
 * loop, and every created task wakes the dispatcher: claiming at each wake asked the database for one or two rows at a
 * time (10,000 tasks in flight: about 10,000 claims, each a walk of its index — over a third of PostgreSQL's work in
 * bench:poller). Now the slots freed and the rows come due within this spell are claimed together; work arriving after
 * a quieter spell is still claimed at once.
 */
export const CLAIM_SPACING_MS = 10;

/** An upkeep round that held the embedded engine this long is logged as a warning (everything waited for it). */
const SLOW_UPKEEP_MS = 1000;

export class Worker {
  readonly owner = `wrk_${randomBytes(6).toString('hex')}`;
  private readonly loops: Loop[];
  private stopped = true;
  private readonly inflight = new Set<Promise<unknown>>();
  /** The webhook sender: its deliveries, leases and heartbeat. */
  readonly webhooks: WebhookSender;
  /** Tasks being dispatched (each under its lease, T2) and tasks being polled (next check pushed a lease ahead). */
  readonly dispatching: Slots<TaskRow>;
  readonly polling: Slots<TaskRow>;

  constructor(private readonly deps: WorkerDeps) {
    const interval = deps.config.workerIntervalMs;
    this.webhooks = new WebhookSender(deps, { owner: this.owner, onSlotFree: () => this.wake('webhooks') });
    const failed = (error: unknown, task: TaskRow) => this.deps.logger.error({ err: error, taskId: task.id }, 'worker task failed');
    this.dispatching = new Slots<TaskRow>({
      slots: deps.config.workerSlots,
      claim: (limit, busy) => this.deps.tasks.claimForDispatch(this.owner, this.deps.clock.now(), limit, busy, deps.config.dispatchHoldMs),
      run: (task) => dispatchTask(this.deps, task, this.owner),
      key: (task) => task.id,
      onError: failed,
      onSlotFree: () => this.wake('dispatcher'),
    });
    this.polling = new Slots<TaskRow>({
      slots: deps.config.pollSlots,
      claim: async (limit, busy) => {
        const due = await this.deps.tasks.claimForPoll(this.deps.clock.now(), limit, busy);
        // Fewer due checks than free slots: the poller has caught up, so new tasks a hold kept back may go now.
        if (due.length < limit && deps.config.dispatchHoldMs > 0) this.wake('dispatcher');
        return due;
      },
      run: (task) => pollTask(this.deps, task),
      key: (task) => task.id,
      onError: failed,
      onSlotFree: () => this.wake('poller'),
    });
    this.loops = [
      loop('dispatcher', interval, () => this.dispatching.pump(), () => this.dispatching.free === 0),
      loop('poller', interval, () => this.polling.pump(), () => this.polling.free === 0),
      loop('webhooks', interval, () => this.webhooks.pump(), () => this.webhooks.free === 0),
      loop('sweeper', 30_000, async () => (await sweep(this.deps)).released),
      loop('stripe-reconcile', deps.config.chainScanIntervalMs * 6, async () => (await this.reconcileStripeOnce()).moved),
      ...(chainsConfigured(deps.config)
        ? [loop('chains', deps.config.chainScanIntervalMs, async () => (await this.scanChainsOnce()).filter((report) => report.more).length)]
        : []),
      // The checkpointer's and autovacuum's work on the embedded engine, which has neither (db/upkeep.ts). A round that
      // did something still waits the whole interval: one table per round.
      ...(deps.db.engine === 'pglite'
        ? [loop('upkeep', UPKEEP_INTERVAL_MS, async () => {
          await this.upkeepOnce();
          return 0;
        }, undefined, UPKEEP_INTERVAL_MS)]
        : []),
    ];
  }

  /** One round: claims due queued tasks into free dispatch slots, dispatches them and waits for those; returns how many. */
  dispatchOnce(): Promise<number> {
    return this.dispatching.once();
  }

  /** One round: claims due submitted/running tasks into free poll slots, polls them and waits for those. */
  pollOnce(): Promise<number> {
    return this.polling.once();
  }

  /** Claims due webhook deliveries into free slots and waits for the ones it started. */
  deliverOnce(): Promise<number> {
    return this.track(this.webhooks.deliverOnce());
  }

  sweepOnce() {
    return this.track(sweep(this.deps));
  }

  /** Re-reads stale pending Stripe sessions (workflows/stripe-reconcile.ts). */
  reconcileStripeOnce() {
    return reconcileStripe(this.deps);
  }

  /** One scan of every watched USDT address (workflows/chain-watch.ts); the reports say what each found. */
  scanChainsOnce() {
    return scanChains(this.deps);
  }

  /**
   * One round of the embedded engine's upkeep (db/upkeep.ts): a checkpoint when enough WAL has been written since the
   * last, and a VACUUM or ANALYZE of the table that needs one most. Null on PostgreSQL, whose checkpointer and
   * autovacuum do this.
   */
  async upkeepOnce(options?: { checkpointBytes?: number }): Promise<UpkeepResult | null> {
    if (this.deps.db.engine !== 'pglite') return null;
    const done = await upkeepOnce(this.deps.db, options);
    const { metrics } = this.deps;
    if (done.checkpoint) metrics.increment('genrelay_embedded_checkpoints_total', 'Checkpoints the embedded engine upkeep made (it has no checkpointer)');
    if (done.table?.vacuum) metrics.increment('genrelay_embedded_vacuums_total', 'Tables the embedded engine upkeep vacuumed (it has no autovacuum)');
    if (done.table?.analyze) metrics.increment('genrelay_embedded_analyzes_total', 'Tables the embedded engine upkeep analyzed (it has no autovacuum)');
    if (done.checkpoint || done.table) {
      const ms = (done.checkpoint?.ms ?? 0) + (done.table?.ms ?? 0);
      metrics.increment('genrelay_embedded_upkeep_seconds_total', 'Time the embedded engine spent on upkeep (everything else waited)', ms / 1000);
      this.deps.logger[ms >= SLOW_UPKEEP_MS ? 'warn' : 'info']({ upkeep: done }, 'embedded database upkeep');
    }
    return done;
  }

  /** Runs dispatch, poll and delivery rounds until nothing is due (tests). */
  async drain(maxRounds = 50): Promise<void> {
    for (let round = 0; round < maxRounds; round += 1) {
      const work = (await this.dispatchOnce()) + (await this.pollOnce()) + (await this.deliverOnce());
      if (work === 0) return;
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    const settled = promise.catch((error) => {
      this.deps.logger.error({ err: error }, 'worker task failed');
      return undefined as T;
    });
    this.inflight.add(settled);
    void settled.finally(() => this.inflight.delete(settled));
    return settled;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const loop of this.loops) this.schedule(loop, loop.firstDelayMs);
    this.deps.events.on('task.created', this.wakeDispatcher);
    this.deps.events.on('task.resolved', this.wakeWebhooks);
    this.deps.events.on('webhook.due', this.wakeWebhooks);
  }

  private readonly wakeDispatcher = () => this.wake('dispatcher');
  private readonly wakeWebhooks = () => this.wake('webhooks');

  wake(name: string): void {
    const loop = this.loops.find((candidate) => candidate.name === name);
    if (!loop || this.stopped) return;
    if (loop.running) {
      loop.again = true;
      return;
    }
    // Within the pause after an empty round the run goes at its end (every wake meanwhile aims at the same moment).
    this.schedule(loop, Math.max(0, loop.notBefore - Date.now()));
  }

  private schedule(loop: Loop, delayMs: number): void {
    if (this.stopped) return;
    if (loop.timer) clearTimeout(loop.timer);
    loop.timer = setTimeout(() => {
      loop.timer = null;
      loop.running = (async () => {
        let claimed = 0;
        try {
          claimed = await loop.run();
        } catch (error) {
          this.deps.logger.error({ err: error, loop: loop.name }, 'worker loop failed');
        }
        loop.running = null;
        const woken = loop.again;
        loop.again = false;
        const now = Date.now();
        if (claimed > 0) loop.claimedAt = now;
        const spaced = loop.claimedAt + CLAIM_SPACING_MS;
        // A round that claimed goes again once the spacing has passed (more may be due). A round that found every slot
        // busy asked nothing: the slot that frees wakes it, once the spacing since the last claim has passed.
        loop.notBefore = claimed > 0 || loop.full?.() ? spaced : now + EMPTY_ROUND_PAUSE_MS;
        this.schedule(loop, claimed > 0 ? CLAIM_SPACING_MS : woken ? Math.max(0, loop.notBefore - now) : loop.intervalMs);
      })();
    }, delayMs);
    loop.timer.unref();
  }

  /** Graceful shutdown: no new rounds; in-flight work finishes (leases cover anything cut short). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.events.off('task.created', this.wakeDispatcher);
    this.deps.events.off('task.resolved', this.wakeWebhooks);
    this.deps.events.off('webhook.due', this.wakeWebhooks);
    for (const loop of this.loops) if (loop.timer) clearTimeout(loop.timer);
    await Promise.all(this.loops.map((loop) => loop.running));
    await Promise.all([...this.inflight]);
    await Promise.all([this.dispatching.idle(), this.polling.idle(), this.webhooks.idle()]);
    await this.webhooks.close();
  }
}
