import type { Queryable } from '../db/pool.js';
import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import type { TaskRow } from '../modules/tasks/types.js';

/** The services a cancel needs. */
export type CancelTaskDeps = Pick<Deps, 'clock' | 'events' | 'router' | 'tasks' | 'wallet'>;

/**
 * Something written in the very transaction that moves the task to `cancelled` (the operator's audit row, K13): it
 * runs only when the release took effect, so a cancel that changes nothing writes nothing, and a change is never
 * committed without it. `from` is the internal status the task was cancelled from.
 */
export interface CancelRecord {
  db: Deps['db'];
  write(tx: Queryable, now: Date, from: TaskRow['status']): Promise<void>;
}

/**
 * Cancel (SEMANTICS T13): a task not yet submitted is cancelled at once; a submitted or running one only when its
 * adapter can cancel upstream and the upstream confirms; otherwise 409 `task_not_cancellable`. The hold is
 * released through gr_resolve_hold, so a cancelled task is never charged. The upstream call is made outside any
 * transaction (T3); with a `record`, each release runs in a short transaction together with `record.write`.
 */
export async function cancelTask(deps: CancelTaskDeps, task: TaskRow, record?: CancelRecord): Promise<TaskRow> {
  // A chat or embedding request lives exactly as long as its HTTP request, which settles it: releasing its hold from
  // here would let the answer that is still being produced go unbilled. Closing the connection stops it.
  if (task.type === 'chat' || task.type === 'embedding') {
    throw new AppError('task_not_cancellable', 'A chat or embedding request cannot be cancelled; close its connection to stop it');
  }
  const release = async (from: 'queued' | 'dispatching' | 'submitted' | 'running'): Promise<boolean> => {
    const now = deps.clock.now();
    if (!record) return (await deps.wallet.release(task.id, 'cancelled', 'cancelled', now, from)).outcome === 'released';
    return record.db.transaction(async (tx) => {
      const result = await deps.wallet.release(task.id, 'cancelled', 'cancelled', now, from, tx);
      if (result.outcome !== 'released') return false;
      await record.write(tx, now, from);
      return true;
    });
  };
  for (const status of ['queued', 'dispatching'] as const) {
    if (await release(status)) return resolved(deps, task.id);
  }
  const current = (await deps.tasks.get(task.id))!;
  if (current.status === 'submitted' || current.status === 'running') {
    const route = await deps.router.routeOf(current);
    if (route?.adapter.cancel && route.adapter.capabilities.cancel && current.operation !== null) {
      const answer = await route.adapter
        .cancel(current.operation, { ...route.context, clock: deps.clock, attempt: current.attempts })
        .catch(() => ({ cancelled: false }));
      if (answer.cancelled) {
        for (const status of ['submitted', 'running'] as const) {
          if (await release(status)) return resolved(deps, task.id);
        }
      }
    }
  }
  const latest = (await deps.tasks.get(task.id))!;
  throw new AppError('task_not_cancellable', `The task is ${publicStatus(latest.status)} and can no longer be cancelled`);
}

async function resolved(deps: CancelTaskDeps, taskId: string): Promise<TaskRow> {
  deps.events.emit('task.resolved', taskId);
  return (await deps.tasks.get(taskId))!;
}

function publicStatus(status: TaskRow['status']): string {
  return status === 'dispatching' || status === 'submitted' ? 'queued' : status;
}
