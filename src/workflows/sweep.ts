import type { Deps } from '../deps.js';
import { pruneEndedWindows } from '../modules/customer-auth/signup.js';
import { refreshBalances, type AccountBalanceDeps } from './account-balance.js';
import { pollTask, type RunTaskDeps } from './run-task.js';

/** The sweeper drives tasks like the poller does (it settles or releases what it asks about). */
export type SweepDeps = RunTaskDeps & AccountBalanceDeps & Pick<Deps, 'db' | 'topups'>;

/**
 * The sweeper (SEMANTICS T10): expired holds of never-dispatched tasks are released blindly; a submitted or
 * running task is asked about first — settled if it succeeded, released if it failed (an upstream that does not
 * know the task past its not-found grace counts as failed: `provider_error`, charged 0), extended if still running,
 * and cancelled and released as `timeout` past its hard deadline. Idempotency keys past retention are forgotten (I9),
 * inline reference files of rejected requests are reaped (R8), and the customer console's hourly sign-up and mail
 * counters whose window ended are dropped (issue 12), and top-up orders past their window unpaid expire (issue 13).
 */
const EXTENSION_MS = 10 * 60_000;
/** Inline reference files not attached to a task after this long belong to a rejected request (R8). */
const ORPHAN_FILE_AGE_MS = 60 * 60_000;

export interface SweepReport {
  released: number;
  checked: number;
  timedOut: number;
  extended: number;
  idempotencyKeysReaped: number;
  filesReaped: number;
  /** Rows of `signup_attempts` and `mail_request_counters` whose one-hour window had ended. */
  countersPruned: number;
  /** Top-up orders whose window passed unpaid (issue 13): `expired`, their exact USDT amount free again. */
  topupsExpired: number;
  /** Upstream balances read this round (account-balance.ts). */
  balancesRead: number;
}

export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const report: SweepReport = { released: 0, checked: 0, timedOut: 0, extended: 0, idempotencyKeysReaped: 0, filesReaped: 0, countersPruned: 0, topupsExpired: 0, balancesRead: 0 };
  const { released, needsProvider } = await deps.wallet.sweepExpired(deps.clock.now());
  report.released = released.length;
  for (const id of released) deps.events.emit('task.resolved', id);
  for (const candidate of needsProvider) {
    const task = await deps.tasks.get(candidate.task_id);
    if (!task) continue;
    report.checked += 1;
    if (task.type === 'chat' || task.type === 'embedding') {
      // T15: a text request is never re-run; its handler died, so the hold goes back.
      const result = await deps.wallet.release(task.id, 'failed', 'timeout', deps.clock.now());
      if (result.outcome === 'released') report.timedOut += 1;
      continue;
    }
    const status = task.operation !== null ? await pollTask(deps, task) : null;
    if (status && ['succeeded', 'failed', 'cancelled', 'expired'].includes(status.status)) continue;
    const deadline = await deps.wallet.hardDeadline(task.id);
    const now = deps.clock.now();
    if (deadline && now.getTime() >= deadline.getTime()) {
      const route = await deps.router.routeOf(task);
      if (route?.adapter.cancel && task.operation !== null) {
        await route.adapter.cancel(task.operation, { ...route.context, clock: deps.clock, attempt: task.attempts }).catch(() => null);
      }
      const result = await deps.wallet.release(task.id, 'failed', 'timeout', now);
      if (result.outcome === 'released') {
        report.timedOut += 1;
        deps.events.emit('task.resolved', task.id);
      }
      continue;
    }
    if (await deps.wallet.extend(task.id, now, EXTENSION_MS)) report.extended += 1;
  }
  const cutoff = new Date(deps.clock.now().getTime() - deps.config.idempotencyRetentionMs);
  report.idempotencyKeysReaped = await deps.tasks.reapIdempotencyKeys(cutoff);
  report.filesReaped = await deps.media.reapUnreferenced(new Date(deps.clock.now().getTime() - ORPHAN_FILE_AGE_MS));
  const pruned = await pruneEndedWindows(deps.db, deps.clock.now());
  report.countersPruned = pruned.signupAttempts + pruned.mailRequests;
  report.topupsExpired = await deps.topups.expireDue(deps.clock.now());
  // Upstream balances (issue 10): a failed round must not stop the sweeper's own work above.
  report.balancesRead = await refreshBalances(deps).catch((error) => {
    deps.logger.warn({ err: error }, 'balance refresh failed');
    return 0;
  });
  return report;
}
