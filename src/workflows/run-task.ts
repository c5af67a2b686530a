import type { Deps } from '../deps.js';
import { atPercent, chargeFor, costFor } from '../modules/catalog/pricing.js';
import { ReadPacer } from '../modules/tasks/read-pacer.js';
import type { FileItem } from '../modules/media/service.js';
import type { ResultFile, TaskRow } from '../modules/tasks/types.js';
import { isTaskNotFound, notFoundGraceMs } from '../providers/shared/task-not-found.js';
import type { GenerationRequest, ProviderOutput, ReferenceInput, StartResult, StatusResult, TaskNotFoundStatus } from '../providers/spec.js';
import type { Route } from '../modules/routing/router.js';
import { MAX_DISPATCH_ATTEMPTS, dispatchBackoffMs, isRetryableRejection, taskErrorCode } from './task-errors.js';

/** The services that drive a task through its provider (dispatch, poll, settle, release). */
export type RunTaskDeps = Pick<Deps, 'catalog' | 'clock' | 'config' | 'events' | 'logger' | 'media' | 'metrics' | 'readPacer' | 'router' | 'safeFetch' | 'tasks' | 'wallet'>;

/**
 * Driving one task through its provider (SEMANTICS T2–T7, T11): dispatch a claimed task, act on a status, and
 * settle or release. No database transaction is open during any provider call or download (T3).
 */
class InputUnavailable extends Error {}

/** A log-safe description of a failure: its class and reason code, never its message (which may name hosts). */
function failureKind(error: unknown): string {
  const reason = (error as { reason?: unknown }).reason;
  return `${(error as Error)?.name ?? 'Error'}${typeof reason === 'string' ? `:${reason}` : ''}`;
}

async function loadReferences(deps: RunTaskDeps, task: TaskRow): Promise<ReferenceInput[]> {
  const inputs: ReferenceInput[] = [];
  for (const reference of task.request.references ?? []) {
    try {
      if (reference.file_id) {
        const [file] = await deps.media.byIds([reference.file_id]);
        if (!file) throw new Error('inline reference file missing');
        inputs.push({ type: reference.type, role: reference.role, bytes: await deps.media.bytes(file), contentType: file.content_type, ...(reference.strength ? { strength: reference.strength } : {}) });
      } else if (reference.url) {
        const fetched = await deps.safeFetch.fetchMedia(reference.url, reference.type);
        inputs.push({ type: reference.type, role: reference.role, bytes: fetched.bytes, contentType: fetched.contentType, ...(reference.strength ? { strength: reference.strength } : {}) });
      }
    } catch (error) {
      throw new InputUnavailable((error as Error).message);
    }
  }
  return inputs;
}

/** The stored request is already the adapter's shape: only the references are loaded (URLs or stored bytes). */
function generationRequest(task: TaskRow, references: ReferenceInput[]): GenerationRequest {
  const { references: _stored, extra: _echoed, prompt, ...params } = task.request;
  // Only media tasks are dispatched (text requests run in their HTTP handler, T15).
  return { ...params, taskId: task.id, kind: task.type as GenerationRequest['kind'], model: task.model, prompt, references };
}

async function release(deps: RunTaskDeps, task: TaskRow, status: 'failed' | 'cancelled' | 'expired', code: string, onlyIf: string | null = null) {
  const result = await deps.wallet.release(task.id, status, code, deps.clock.now(), onlyIf);
  if (result.outcome === 'released') deps.events.emit('task.resolved', task.id);
  return result;
}

/** T4/T5: one dispatch attempt of a task this worker has claimed. */
export async function dispatchTask(deps: RunTaskDeps, task: TaskRow, owner: string): Promise<void> {
  const route = await deps.router.routeFor(task);
  const now = deps.clock.now();
  if (!route) {
    // No channel can take it right now: try again later; the sweeper releases it when its hold expires.
    await deps.tasks.requeue(task.id, owner, new Date(now.getTime() + dispatchBackoffMs(task.attempts)), { class: 'no_route' }, now);
    return;
  }
  let references: ReferenceInput[];
  try {
    references = await loadReferences(deps, task);
  } catch (error) {
    deps.logger.info({ taskId: task.id, reason: (error as Error).message }, 'reference media unavailable');
    await release(deps, task, 'failed', 'input_unavailable', 'dispatching');
    return;
  }
  let started: StartResult;
  try {
    // T17: starting new work waits behind status reads of work already started when the budget is contended.
    await route.budget('later');
    started = await route.adapter.start(generationRequest(task, references), { ...route.context, clock: deps.clock, attempt: task.attempts });
  } catch (error) {
    started = { outcome: 'unknown', error: { class: 'upstream_error', message: (error as Error).message } };
  }
  await deps.router.report(route, started.outcome === 'accepted' ? null : started.error);
  if (started.outcome === 'accepted') {
    const recorded = await deps.tasks.markSubmitted(
      task.id,
      owner,
      { provider: route.providerId, channelId: route.channelId, credentialId: route.credentialId, providerTaskId: started.providerTaskId, operation: started.operation,
        // T16: first read after the lead learned for this route and model (the poll interval until it has learned).
        nextPollAt: new Date(deps.clock.now().getTime() + deps.readPacer.leadMs(ReadPacer.key(route, task.model))) },
      deps.clock.now(),
    );
    if (!recorded) {
      deps.logger.warn({ taskId: task.id, channelId: route.channelId }, 'accepted upstream after the lease was lost or the task was cancelled');
      return;
    }
    if (started.completed) {
      const submitted = await deps.tasks.get(task.id);
      if (submitted) await applyStatus(deps, submitted, route, started.completed);
    }
    return;
  }
  const { error } = started;
  const retryable = started.outcome === 'unknown' ? route.adapter.capabilities.idempotentCreates : isRetryableRejection(error.class);
  deps.logger.info({ taskId: task.id, channelId: route.channelId, outcome: started.outcome, errorClass: error.class, attempt: task.attempts }, 'dispatch attempt failed');
  const attempts = Math.min(MAX_DISPATCH_ATTEMPTS, route.maxAttempts);
  if (retryable && task.attempts < attempts) {
    // Failover (API.md §8): a channel-level failure moves the task to the next channel at once; otherwise back off.
    const failover = route.channelId !== null && route.failoverOn.includes(error.class);
    const delay = failover ? 0 : dispatchBackoffMs(task.attempts, error.retryAfterSeconds);
    const next = new Date(deps.clock.now().getTime() + delay);
    await deps.tasks.requeue(task.id, owner, next, { class: error.class, message: error.message, outcome: started.outcome, channel: route.channelId }, deps.clock.now(), route.channelId);
    if (failover) deps.events.emit('task.created', task.id);
    return;
  }
  await deps.tasks.recordUpstreamError(task.id, { class: error.class, message: error.message, outcome: started.outcome });
  await release(deps, task, 'failed', started.outcome === 'unknown' ? 'provider_error' : taskErrorCode(error.class), 'dispatching');
}

/**
 * Copies outputs to durable storage through the guarded client (T7): the bytes only, answering the rows for the
 * settlement to write (WalletService.settle), so a result's rows exist exactly when its settlement committed. A
 * failure removes the bytes already written.
 */
async function storeOutputs(deps: RunTaskDeps, task: TaskRow, outputs: ProviderOutput[], route: Route): Promise<FileItem[]> {
  const files: FileItem[] = [];
  try {
    for (const output of outputs) {
      let bytes = output.bytes;
      let contentType = output.contentType;
      if (!bytes && output.url) {
        const family = task.type === 'music' ? 'audio' : (task.type as 'video' | 'image');
        const fetched = await deps.safeFetch.fetchMedia(output.url, family, { extraTrustedOrigins: route.trustedOrigins });
        bytes = fetched.bytes;
        contentType = fetched.contentType;
      }
      if (!bytes) throw new Error('provider output has neither bytes nor a URL');
      files.push(await deps.media.put({
        customerId: task.customer_id, mode: task.mode, taskId: task.id, purpose: 'result', bytes, contentType,
        width: output.width ?? null, height: output.height ?? null, durationSeconds: output.durationSeconds ?? null,
      }));
    }
  } catch (error) {
    await deps.media.discard(files);
    throw error;
  }
  return files;
}

function resultFile(file: FileItem): ResultFile {
  return { id: file.id, content_type: file.contentType, width: file.width, height: file.height, duration_seconds: file.durationSeconds };
}

/** During the not-found grace the upstream is asked again every few seconds, not at every poll tick. */
const NOT_FOUND_RECHECK_MS = 5_000;

/**
 * "The upstream does not know this task" (shared/task-not-found.ts), the same for every provider: while the task is
 * younger than the channel's grace window (counted from acceptance) it is no news — upstreams may not know a task for
 * a moment after accepting it — and the task is polled again. After that it is released `failed` with
 * `provider_error`, charged 0: the customer got nothing. The upstream may have run and billed the job, so the
 * operator sees it (upstream error, log, metric); a later success is a late success after release (T11).
 * Returns the status acted on.
 */
async function applyTaskNotFound(deps: RunTaskDeps, task: TaskRow, route: Route, status: TaskNotFoundStatus): Promise<StatusResult> {
  const now = deps.clock.now();
  const acceptedAt = task.submitted_at ? new Date(task.submitted_at).getTime() : 0;
  const graceEnds = acceptedAt + notFoundGraceMs(route.context.settings);
  if (now.getTime() < graceEnds) {
    deps.logger.info({ taskId: task.id, channelId: route.channelId, graceEnds: new Date(graceEnds) }, 'upstream does not know the task yet; within the not-found grace');
    // Asked again every few seconds, and once more when the grace ends.
    const nextPollAt = Math.max(now.getTime() + deps.config.pollIntervalMs, Math.min(now.getTime() + NOT_FOUND_RECHECK_MS, graceEnds));
    await deps.tasks.observe(task.id, { status: task.status === 'running' ? 'running' : 'submitted', progress: task.progress, nextPollAt: new Date(nextPollAt) }, now);
    return { status: task.status === 'running' ? 'running' : 'queued', progress: task.progress };
  }
  await deps.tasks.recordUpstreamError(task.id, { class: status.error.class, kind: status.error.kind, message: status.error.message });
  const released = await release(deps, task, 'failed', 'provider_error');
  if (released.outcome === 'released') {
    deps.metrics.increment('genrelay_upstream_task_not_found_total', 'Submitted tasks released because the upstream did not know them');
    deps.logger.warn({ taskId: task.id, channelId: route.channelId, provider: route.providerId }, 'upstream task not found; released as provider_error');
  }
  return status;
}

/** Acts on a provider status: progress, or the one terminal resolution (T7, T8, T11). Returns the status acted on. */
export async function applyStatus(deps: RunTaskDeps, task: TaskRow, route: Route, status: StatusResult): Promise<StatusResult> {
  if (isTaskNotFound(status)) return applyTaskNotFound(deps, task, route, status);
  await applyCanonicalStatus(deps, task, route, status);
  return status;
}

async function applyCanonicalStatus(deps: RunTaskDeps, task: TaskRow, route: Route, status: StatusResult): Promise<void> {
  const now = deps.clock.now();
  switch (status.status) {
    case 'queued':
    case 'running':
      await deps.tasks.observe(task.id, {
        status: status.status === 'running' ? 'running' : 'submitted',
        progress: status.progress ?? 0,
        ...(status.operation !== undefined ? { operation: status.operation } : {}),
        nextPollAt: new Date(now.getTime() + deps.config.pollIntervalMs),
      }, now);
      return;
    case 'failed':
      if (status.error) await deps.tasks.recordUpstreamError(task.id, { class: status.error.class, message: status.error.message });
      await release(deps, task, 'failed', taskErrorCode(status.error?.class ?? 'upstream_error'));
      return;
    case 'cancelled':
      await release(deps, task, 'cancelled', 'cancelled');
      return;
    case 'expired':
      await release(deps, task, 'expired', 'expired');
      return;
    case 'succeeded':
      await settleSucceeded(deps, task, route, status);
  }
}

async function settleSucceeded(deps: RunTaskDeps, task: TaskRow, route: Route, status: StatusResult): Promise<void> {
  let files: FileItem[];
  try {
    files = await storeOutputs(deps, task, status.outputs ?? [], route);
    if (files.length === 0) throw new Error('provider reported success without outputs');
  } catch (error) {
    // Upstream result URLs and hosts stay out of logs (E3): the failure's kind is enough to act on.
    deps.logger.warn({ taskId: task.id, channelId: route.channelId, reason: failureKind(error) }, 'result unavailable');
    await release(deps, task, 'failed', 'result_unavailable');
    return;
  }
  // M9, M10: charged at the price version and group percent the task was reserved under, whatever changed since.
  const model = await deps.catalog.atVersion(task.model, task.price_version);
  const actual = model ? chargeFor(atPercent(model, task.price_percent ?? 100), task.request, status.usage) : task.hold_amount;
  // M11: the upstream cost, from the same usage facts at the channel's cost rule, stored in the settling statement.
  const cost = model ? costFor(model, route.cost, task.request, status.usage) : null;
  const settled = await deps.wallet.settle(task.id, actual, deps.clock.now(), undefined, { files: files.map(resultFile) }, cost, files);
  if (settled.outcome === 'settled') {
    if (settled.overage > 0n) {
      deps.logger.warn({ taskId: task.id, hold: String(task.hold_amount), actual: String(actual), overage: String(settled.overage) }, 'pricing_overage');
    }
    deps.events.emit('task.resolved', task.id);
    return;
  }
  // T11: success after the hold was released (cancelled, swept): never charged, task unchanged.
  deps.metrics.increment('genrelay_late_success_after_release_total', 'Provider successes that arrived after the hold was released');
  deps.logger.warn({ taskId: task.id, outcome: settled.outcome }, 'late success after release');
  await deps.media.discard(files);
}

/**
 * One status check of a submitted or running task (poller and sweeper share it). Returns the status acted on — a
 * "task not found" inside its grace window comes back as the task's last non-terminal status — or null when the
 * read failed or the task has no route.
 */
export async function pollTask(deps: RunTaskDeps, task: TaskRow): Promise<StatusResult | null> {
  const route = await deps.router.routeOf(task);
  if (!route || task.operation === null) return null;
  let status: StatusResult;
  try {
    await route.budget();
    status = await route.adapter.status(task.operation, { ...route.context, clock: deps.clock, attempt: task.attempts });
  } catch (error) {
    deps.logger.warn({ taskId: task.id, channelId: route.channelId, reason: failureKind(error) }, 'status check failed');
    const now = deps.clock.now();
    await deps.tasks.observe(task.id, { status: task.status === 'running' ? 'running' : 'submitted', progress: task.progress, nextPollAt: new Date(now.getTime() + 5 * deps.config.pollIntervalMs) }, now);
    return null;
  }
  learnFromFirstRead(deps, task, route, status);
  return applyStatus(deps, task, route, status);
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'expired']);

/**
 * T16: a task's first status read (nothing has touched the task since it was accepted: updated_at is still its
 * submitted_at) tells the read pacer whether the lead was long enough. "Not found" tells it nothing.
 */
function learnFromFirstRead(deps: RunTaskDeps, task: TaskRow, route: Route, status: StatusResult): void {
  if (!task.submitted_at || new Date(task.updated_at).getTime() !== new Date(task.submitted_at).getTime() || isTaskNotFound(status)) return;
  const elapsedMs = deps.clock.now().getTime() - new Date(task.submitted_at).getTime();
  deps.readPacer.observe(ReadPacer.key(route, task.model), { elapsedMs, finished: FINISHED.has(status.status) });
}
