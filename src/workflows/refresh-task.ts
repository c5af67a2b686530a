import type { Deps } from '../deps.js';
import type { TaskRow } from '../modules/tasks/types.js';
import type { StatusResult } from '../providers/spec.js';
import { pollTask, type RunTaskDeps } from './run-task.js';

/**
 * Refreshing a task on demand, outside the poller's schedule: a jobs-face read of a job that is due, and an upstream
 * callback (SEMANTICS T7, T12). Both re-read the upstream's state through the same status path as the poller
 * (run-task.ts `pollTask`), so a refresh that races the poller, a duplicate callback or an out-of-order one is
 * harmless: the task resolves once.
 */
export type RefreshTaskDeps = RunTaskDeps & Pick<Deps, 'clock' | 'logger' | 'router' | 'tasks'>;

function active(task: TaskRow): boolean {
  return task.status === 'submitted' || task.status === 'running';
}

/** One status check of a submitted or running task now; null when the task is not in flight or the read failed. */
export async function refreshTask(deps: RefreshTaskDeps, task: TaskRow): Promise<StatusResult | null> {
  if (!active(task)) return null;
  return pollTask(deps, task);
}

/**
 * The jobs face's "refreshes from the upstream if the job is due" (API.md §5): a task in flight whose next check is
 * due is polled here instead of waiting for the poller. Returns the task as it is afterwards.
 */
export async function refreshIfDue(deps: RefreshTaskDeps, task: TaskRow): Promise<TaskRow> {
  if (!active(task) || !task.next_action_at || task.next_action_at.getTime() > deps.clock.now().getTime()) return task;
  await refreshTask(deps, task);
  return (await deps.tasks.get(task.id)) ?? task;
}

/** What an upstream callback turned out to be; the HTTP layer answers 404 to `invalid_token` and 200 otherwise. */
export type UpstreamCallbackOutcome =
  | { kind: 'invalid_token' }
  | { kind: 'unknown_task'; taskId: string }
  | { kind: 'other_upstream_task'; taskId: string; channelId: string | null }
  | { kind: 'accepted'; taskId: string; refreshing: boolean };

export interface UpstreamCallback {
  channelId: string;
  token: string;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * An upstream callback (Ark, Suno, new-api) on `/webhooks/upstream/:channel/:token`, the token naming the task and
 * signed by genrelay. A callback is only a hint: when it is about a task in flight, the task is refreshed after the
 * caller has answered (the upstream's ack window is short: Ark 5 s), never awaited here.
 */
export async function acceptUpstreamCallback(deps: RefreshTaskDeps, callback: UpstreamCallback): Promise<UpstreamCallbackOutcome> {
  const taskId = deps.router.verifyCallbackToken(callback.channelId, callback.token);
  if (!taskId) return { kind: 'invalid_token' };
  const task = await deps.tasks.get(taskId);
  if (!task || task.channel_id !== callback.channelId) return { kind: 'unknown_task', taskId };
  const route = await deps.router.routeOf(task);
  const about = route?.adapter.parseCallback?.(callback.body, callback.headers) ?? null;
  if (about && about.providerTaskId !== task.provider_task_id) return { kind: 'other_upstream_task', taskId, channelId: task.channel_id };
  const refreshing = active(task);
  if (refreshing) {
    // Act after answering: setImmediate runs once the caller's reply is on its way.
    setImmediate(() => {
      refreshTask(deps, task).catch((error) => deps.logger.warn({ err: error, taskId }, 'callback-triggered status check failed'));
    });
  }
  return { kind: 'accepted', taskId, refreshing };
}
