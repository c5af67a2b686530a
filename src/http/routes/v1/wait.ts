import type { EventEmitter } from 'node:events';
import type { TaskService } from '../../../modules/tasks/service.js';
import { TERMINAL_STATUSES, type TaskRow } from '../../../modules/tasks/types.js';

/** What waiting reads: the task rows and the in-process `task.resolved` wake-ups. */
export type WaitForTaskDeps = { tasks: TaskService; events: EventEmitter };

/**
 * Waits for a task to reach a terminal state, for synchronous routes: woken in-process when this instance resolves
 * it, and re-reading the row every half second in case another instance did; `signal` ends the wait at once. Returns
 * the last row seen.
 */
export async function waitForTask(deps: WaitForTaskDeps, taskId: string, timeoutMs: number, signal?: AbortSignal): Promise<TaskRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = (await deps.tasks.get(taskId))!;
    if (TERMINAL_STATUSES.includes(task.status) || Date.now() >= deadline || signal?.aborted) return task;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        deps.events.off('task.resolved', onResolved);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const onResolved = (id: string) => {
        if (id === taskId) done();
      };
      const timer = setTimeout(done, Math.min(500, Math.max(0, deadline - Date.now())));
      deps.events.on('task.resolved', onResolved);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
