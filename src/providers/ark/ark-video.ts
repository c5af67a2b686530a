import type { GenerationRequest, JsonValue, ProviderContext, StartResult, StatusResult } from '../spec.js';
import { forward, readStatus } from '../shared/status-table.js';
import { taskNotFound } from '../shared/task-not-found.js';
import type { ArkVideoOperation, ArkVideoTask } from './ark-api-types.js';
import { submitCreate } from '../shared/start.js';
import { classifyTaskFailure, createError, describeResponse } from './ark-errors.js';
import { arkRequest, isSuccess, missingChannel } from './ark-http.js';
import type { ArkSettings } from './ark-settings.js';
import { ARK_STATUSES } from './ark-status.js';
import { buildVideoCreate } from './ark-video-request.js';
import { videoOutputs, videoUsage } from './ark-video-result.js';

/**
 * Seedance video: async create, then GET by id (PROVIDERS §2.1–§2.4). Callbacks are only hints; the engine comes
 * back through `status()`, which always re-reads the task with a GET.
 */
const TASKS = '/contents/generations/tasks';

export async function startVideo(request: GenerationRequest, context: ProviderContext, settings: ArkSettings): Promise<StartResult> {
  const missing = missingChannel(context);
  if (missing) return { outcome: 'rejected', error: missing };
  const built = buildVideoCreate(request, context, settings);
  if ('error' in built) return { outcome: 'rejected', error: built.error };
  const answer = await submitCreate({
    label: 'ark video create',
    send: () => arkRequest(context, { method: 'POST', path: TASKS, body: built.body, idempotencyKey: request.taskId, timeoutMs: settings.timeoutMs }),
    readError: createError,
    // Quirk 10: a 200 without an id is not a success, and the task may exist upstream.
    accept: (response) => {
      const id = (response.json as { id?: unknown } | undefined)?.id;
      return typeof id === 'string' && id ? id : null;
    },
  });
  if (!answer.ok) return answer.failure;
  const id = answer.value;
  const operation: ArkVideoOperation = { kind: 'video', id };
  if (built.inputVideoSeconds > 0) operation.inputVideoSeconds = built.inputVideoSeconds;
  return { outcome: 'accepted', operation: operation as unknown as JsonValue, providerTaskId: id };
}

/**
 * Reads the task. Throws on transient trouble (5xx, network, garbage): the engine treats that as a retryable read.
 * `gone` carries the operator detail of the 404.
 */
async function readTask(operation: ArkVideoOperation, context: ProviderContext, settings: ArkSettings): Promise<ArkVideoTask | { gone: string }> {
  const missing = missingChannel(context);
  if (missing) throw new Error(missing.message);
  const response = await arkRequest(context, { method: 'GET', path: `${TASKS}/${encodeURIComponent(operation.id)}`, timeoutMs: settings.statusTimeoutMs });
  // Records are purged 7 days after creation, and DELETE removes terminal ones (§2.2): both answer 404
  // (`ResourceNotFound`), as does a task id this account never had.
  if (response.status === 404) return { gone: describeResponse(response) };
  if (!isSuccess(response)) throw new Error(describeResponse(response));
  const task = response.json as ArkVideoTask | undefined;
  if (!task || typeof task !== 'object' || typeof task.status !== 'string') throw new Error('ark task query answered without a status');
  return task;
}

export async function videoStatus(operation: ArkVideoOperation, context: ProviderContext, settings: ArkSettings): Promise<StatusResult> {
  const task = await readTask(operation, context, settings);
  // The one not-found answer of every adapter (shared/task-not-found.ts); the engine decides grace and outcome.
  if ('gone' in task) return taskNotFound(`ark task ${operation.id} not found: ${task.gone}`);
  const mapped = readStatus(ARK_STATUSES, task.status);
  switch (mapped.status) {
    case 'queued':
    case 'running': {
      const status = forward(operation.seen, mapped.status);
      const next: ArkVideoOperation = { ...operation, seen: status === 'running' ? 'running' : (operation.seen ?? 'queued') };
      if (!mapped.known) next.unknownStatus = String(task.status).slice(0, 64);
      const changed = next.seen !== operation.seen || next.unknownStatus !== operation.unknownStatus;
      // Ark reports no progress percentage (§2.2).
      return { status, ...(changed ? { operation: next as unknown as JsonValue } : {}) };
    }
    case 'succeeded': {
      const outputs = videoOutputs(task);
      if (outputs.length === 0) {
        return { status: 'failed', usage: { billable: false }, error: { class: 'upstream_error', message: 'ark task succeeded without a video_url' } };
      }
      return { status: 'succeeded', progress: 100, outputs, usage: videoUsage(task, operation) };
    }
    case 'failed': {
      const code = task.error?.code;
      const message = (task.error?.message ?? '').trim();
      return {
        status: 'failed',
        usage: { billable: false },
        error: { class: classifyTaskFailure(code), message: `ark task failed: ${code ?? 'no code'}${message ? `: ${message}` : ''}` },
      };
    }
    default:
      return { status: mapped.status, usage: { billable: false } };
  }
}

/**
 * DELETE only cancels a `queued` task; on a terminal one it DELETES the record, output included (quirk 16). So
 * read first and only DELETE what is still queued. (A task finishing between the two calls cannot be excluded
 * with this API; the window is one round trip.)
 */
export async function cancelVideo(operation: ArkVideoOperation, context: ProviderContext, settings: ArkSettings): Promise<{ cancelled: boolean }> {
  const task = await readTask(operation, context, settings);
  if ('gone' in task) return { cancelled: false };
  const current = readStatus(ARK_STATUSES, task.status).status;
  // Already cancelled (a repeated cancel): the answer is the same as the first time.
  if (current === 'cancelled') return { cancelled: true };
  if (current !== 'queued') return { cancelled: false };
  const response = await arkRequest(context, { method: 'DELETE', path: `${TASKS}/${encodeURIComponent(operation.id)}`, timeoutMs: settings.timeoutMs });
  // A 4xx here means it started running meanwhile: not cancellable any more.
  return { cancelled: isSuccess(response) };
}
