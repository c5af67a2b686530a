import type { Deps } from '../deps.js';
import { pruneEnrollments } from '../modules/admin-auth/enrollments.js';
import { ADMIN_SESSIONS, CUSTOMER_SESSIONS, pruneExpiredSessions } from '../modules/admin-auth/sessions.js';
import { ADMIN_THROTTLE, CUSTOMER_THROTTLE, pruneThrottle } from '../modules/admin-auth/throttle.js';
import { pruneEndedWindows } from '../modules/customer-auth/signup.js';
import { pruneEmailTokens } from '../modules/customer-auth/tokens.js';
import { pruneOutbox } from '../modules/mail/mailer.js';
import { refreshBalances, type AccountBalanceDeps } from './account-balance.js';
import { pollTask, type RunTaskDeps } from './run-task.js';
import { sweepExpiredLeases } from '../modules/wallet/leases.js';

/** The sweeper drives tasks like the poller does (it settles or releases what it asks about). */
export type SweepDeps = RunTaskDeps & AccountBalanceDeps & Pick<Deps, 'db' | 'topups'>;

/**
 * The sweeper (SEMANTICS T10): expired holds of never-dispatched tasks are released blindly; a submitted or
 * running task is asked about first — settled if it succeeded, released if it failed (an upstream that does not
 * know the task past its not-found grace counts as failed: `provider_error`, charged 0), extended if still running,
 * and cancelled and released as `timeout` past its hard deadline. Idempotency keys past retention are forgotten (I9),
 * inline reference files of rejected requests are reaped (R8), and the customer console's hourly sign-up and mail
 * counters whose window ended are dropped (issue 12), top-up orders past their window unpaid expire (issue 13), and
 * credit leases past their expiry go back to their wallets (issue 14).
 * Dead rows of the consoles' tables go too, one bounded batch per table per round (pruneDeadRows; ARCHITECTURE
 * "Data retention"); the audit trail (`audit_events`, `security_events`) is never pruned.
 */
const EXTENSION_MS = 10 * 60_000;
/** Inline reference files not attached to a task after this long belong to a rejected request (R8). */
const ORPHAN_FILE_AGE_MS = 60 * 60_000;
/** Stored bytes no live file row names are deleted once a day old (MediaService.reapOrphanBytes). */
const ORPHAN_BYTES_AGE_MS = 24 * 3_600_000;

export interface SweepReport {
  released: number;
  checked: number;
  timedOut: number;
  extended: number;
  idempotencyKeysReaped: number;
  filesReaped: number;
  /** Stored objects no live file row named, a day old (one page of the storage walk per round). */
  bytesReaped: number;
  /** Rows of `signup_attempts` and `mail_request_counters` whose one-hour window had ended. */
  countersPruned: number;
  /** Sign-in throttle rows of both consoles: pairs quiet for a day and unlocked, per-account hours that ended. */
  throttlePruned: number;
  /** Expired sessions of both consoles (`admin_sessions`, `customer_sessions`). */
  sessionsPruned: number;
  /** `email_tokens` a week past expiry (but not the verify token of a user not verified yet). */
  emailTokensPruned: number;
  /** `admin_enrollments` links a week past expiry. */
  enrollmentsPruned: number;
  /** `mail_outbox` messages older than 30 days. */
  outboxPruned: number;
  /** Top-up orders whose window passed unpaid (issue 13): `expired`, their exact USDT amount free again. */
  topupsExpired: number;
  /** Upstream balances read this round (account-balance.ts). */
  balancesRead: number;
  /** Credit leases past their expiry (their instance stopped renewing them) given back to their wallets (issue 14). */
  leasesExpired: number;
}

export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const report: SweepReport = {
    released: 0, checked: 0, timedOut: 0, extended: 0, idempotencyKeysReaped: 0, filesReaped: 0, bytesReaped: 0, countersPruned: 0, throttlePruned: 0,
    sessionsPruned: 0, emailTokensPruned: 0, enrollmentsPruned: 0, outboxPruned: 0, topupsExpired: 0, balancesRead: 0, leasesExpired: 0,
  };
  const { released, needsProvider } = await deps.wallet.sweepExpired(deps.clock.now());
  report.released = released.length;
  report.leasesExpired = (await sweepExpiredLeases(deps.db, deps.clock.now())).leases;
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
  // Disk hygiene only: a storage that cannot be walked this round must not stop the rest of the sweep.
  report.bytesReaped = await deps.media.reapOrphanBytes(ORPHAN_BYTES_AGE_MS).catch((error) => {
    deps.logger.warn({ err: error }, 'walking stored files for orphans failed');
    return 0;
  });
  report.topupsExpired = await deps.topups.expireDue(deps.clock.now());
  Object.assign(report, await pruneDeadRows(deps.db, deps.clock.now()));
  // Upstream balances (issue 10): a failed round must not stop the sweeper's own work above.
  report.balancesRead = await refreshBalances(deps).catch((error) => {
    deps.logger.warn({ err: error }, 'balance refresh failed');
    return 0;
  });
  return report;
}

type PruneCounts = Pick<SweepReport, 'countersPruned' | 'throttlePruned' | 'sessionsPruned' | 'emailTokensPruned' | 'enrollmentsPruned' | 'outboxPruned'>;

/** Rows past their retention (ARCHITECTURE "Data retention"), each table pruned by its own module, one batch per table. */
async function pruneDeadRows(db: SweepDeps['db'], now: Date): Promise<PruneCounts> {
  const counters = await pruneEndedWindows(db, now);
  const adminThrottle = await pruneThrottle(db, now, ADMIN_THROTTLE);
  const customerThrottle = await pruneThrottle(db, now, CUSTOMER_THROTTLE);
  return {
    countersPruned: counters.signupAttempts + counters.mailRequests,
    throttlePruned: adminThrottle.pairs + adminThrottle.accounts + customerThrottle.pairs + customerThrottle.accounts,
    sessionsPruned: (await pruneExpiredSessions(db, now, ADMIN_SESSIONS)) + (await pruneExpiredSessions(db, now, CUSTOMER_SESSIONS)),
    emailTokensPruned: await pruneEmailTokens(db, now),
    enrollmentsPruned: await pruneEnrollments(db, now),
    outboxPruned: await pruneOutbox(db, now),
  };
}
