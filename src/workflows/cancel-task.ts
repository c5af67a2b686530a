import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import type { TaskRow } from '../modules/tasks/types.js';

/** The services a cancel needs. */
export type CancelTaskDeps = Pick<Deps, 'clock' | 'events' | 'router' | 'tasks' | 'wallet'>;

/**
 * Cancel (SEMANTICS T13): a task not yet submitted is cancelled at once; a submitted or running one only when its
 * adapter can cancel upstream and the upstream confirms; otherwise 409 `task_not_cancellable`. The hold is
 * released through gr_resolve_hold, so a cancelled task is never charged.
 */
export async function cancelTask(deps: CancelTaskDeps, task: TaskRow): Promise<TaskRow> {
  // A chat or embedding request lives exactly as long as its HTTP request, which settles it: releasing its hold from
  // here would let the answer that is still being produced go unbilled. Closing the connection stops it.
  if (task.type === 'chat' || task.type === 'embedding') {
    throw new AppError('task_not_cancellable', 'A chat or embedding request cannot be cancelled; close its connection to stop it');
  }
  const now = () => deps.clock.now();
  for (const status of ['queued', 'dispatching'] as const) {
    const result = await deps.wallet.release(task.id, 'cancelled', 'cancelled', now(), status);
    if (result.outcome === 'released') return resolved(deps, task.id);
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
          const result = await deps.wallet.release(task.id, 'cancelled', 'cancelled', now(), status);
          if (result.outcome === 'released') return resolved(deps, task.id);
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
