import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { creditsToJson } from '../lib/money.js';
import { isoOrNull } from '../lib/time.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import type { OperatorTaskFilter } from '../modules/tasks/service.js';
import type { MediaService } from '../modules/media/service.js';
import type { TaskRow } from '../modules/tasks/types.js';
import { cancelTask, type CancelTaskDeps } from './cancel-task.js';
import { taskErrorMessage } from './task-errors.js';
import { nativeTaskView, publicStatus } from './task-views.js';

/**
 * The operator's view of tasks (API.md §8 "Tasks"): every customer's tasks with what only the operator may see
 * (E3: upstream details never reach a customer) — the channel and account that served it, the upstream task id,
 * dispatch attempts, the channels tried before, timings, the charge and the upstream's error detail. A succeeded
 * task's result is shown as the customer's native view shows it (`result: {url, assets}`): signed, expiring genrelay
 * links made by the media service's one signer, so an operator's browser can play it without a customer key.
 */
export type OperatorTasksDeps = Pick<Deps, 'tasks' | 'channels' | 'media'>;
export type OperatorCancelDeps = OperatorTasksDeps & CancelTaskDeps & Pick<Deps, 'db'>;

export function operatorTaskView(task: TaskRow, accountLabel: string | null, media: MediaService) {
  return {
    id: task.id,
    object: 'task',
    customer_id: task.customer_id,
    mode: task.mode,
    api_key_id: task.api_key_id,
    face: task.face,
    type: task.type,
    model: task.model,
    status: publicStatus(task),
    internal_status: task.status,
    progress: task.status === 'succeeded' ? 100 : task.progress,
    channel_id: task.channel_id,
    provider: task.provider,
    account_id: task.credential_id,
    account_label: accountLabel,
    upstream_task_id: task.provider_task_id,
    attempts: task.attempts,
    channels_tried: task.tried_channels,
    created_at: isoOrNull(task.created_at),
    submitted_at: isoOrNull(task.submitted_at),
    completed_at: isoOrNull(task.completed_at),
    updated_at: isoOrNull(task.updated_at),
    next_action_at: isoOrNull(task.next_action_at),
    credits: {
      reserved: creditsToJson(task.hold_amount),
      charged: creditsToJson(task.charged),
      // M11: the upstream cost recorded when the task resolved (null when unknown).
      cost: task.cost_credits == null ? null : creditsToJson(task.cost_credits),
    },
    price_version: task.price_version ?? null,
    price_percent: task.price_percent ?? null,
    error: task.error_code || task.upstream_error
      ? { code: task.error_code, message: task.error_code ? taskErrorMessage(task.error_code) : null, upstream_error: task.upstream_error }
      : null,
    callback_url: task.callback_url,
    metadata: task.metadata ?? {},
    request: task.request,
    result_files: (task.result?.files ?? []).map((file) => file.id),
    // The same result object as GET /v1/tasks/:id (null unless succeeded with stored files).
    result: nativeTaskView(task, media).result,
  };
}

async function labels(deps: OperatorTasksDeps): Promise<Map<string, string | null>> {
  const { credentials } = await deps.channels.routingSnapshot();
  return new Map(credentials.map((credential) => [credential.id, credential.label]));
}

export async function listOperatorTasks(deps: OperatorTasksDeps, filter: OperatorTaskFilter) {
  const rows = await deps.tasks.listAll({ ...filter, limit: filter.limit + 1 });
  const known = await labels(deps);
  return {
    object: 'list' as const,
    data: rows.slice(0, filter.limit).map((row) => operatorTaskView(row, row.credential_id ? known.get(row.credential_id) ?? null : null, deps.media)),
    has_more: rows.length > filter.limit,
  };
}

async function taskOrNotFound(deps: OperatorTasksDeps, id: string): Promise<TaskRow> {
  const task = await deps.tasks.get(id);
  if (!task) throw new AppError('not_found', 'No such task');
  return task;
}

export async function getOperatorTask(deps: OperatorTasksDeps, id: string) {
  const task = await taskOrNotFound(deps, id);
  return operatorTaskView(task, task.credential_id ? (await labels(deps)).get(task.credential_id) ?? null : null, deps.media);
}

/**
 * The operator cancels any customer's task (SEMANTICS T13, the same rules as the customer's cancel). The audit row is
 * written in the transaction that moves the task to `cancelled` (K13); a cancel that changes nothing (409) writes
 * none. An upstream cancel, when one is needed, is asked before and outside that transaction (T3).
 */
export async function cancelOperatorTask(deps: OperatorCancelDeps, id: string, audit: AuditContext) {
  const task = await taskOrNotFound(deps, id);
  await cancelTask(deps, task, {
    db: deps.db,
    write: async (tx, now, from) => {
      await recordAudit(tx, audit, {
        action: 'task.cancel', targetType: 'task', targetId: id,
        before: { status: publicStatus({ ...task, status: from }) }, after: { status: 'cancelled', customer_id: task.customer_id },
      }, now);
    },
  });
  return getOperatorTask(deps, id);
}
