import type { StatusResult, TaskNotFoundStatus } from '../spec.js';

/**
 * "The upstream does not know this task": one answer for every adapter, one outcome in the engine (issue 8).
 *
 * Adapters map their family's signal — HTTP 404 on the task read (Ark, xAI, Sora, new-api forks), DashScope
 * `task_status: UNKNOWN` (or a 404), new-api's `task_not_exist` (HTTP 400 or 404), a Suno body `code` 404 or kie's
 * `code 422 "recordInfo is null"` — to `taskNotFound(detail)` and return it at once. They never apply a grace of
 * their own, never store it in the operation (the next read may find the task), and never turn it into `expired`
 * (that stays the answer for an upstream that *reports* an expiry state).
 *
 * The engine (workflows/run-task.ts) treats the answer as "no news" while the task is younger than the channel's
 * grace window (`notFoundGraceMs`, counted from acceptance), because some upstreams do not know a task for a short
 * while after accepting it; after that the task is released `failed` with error code `provider_error`, charged 0.
 * The customer received nothing, so nothing is billed (a failed generation is never billed), even though the
 * upstream may have run — and billed — the job: that loss is the operator's, visible in the task's upstream error
 * (`class: not_found, kind: task_not_found`), the log and `genrelay_upstream_task_not_found_total`. Should the task
 * reappear and succeed later, it is a late success after release (SEMANTICS T11): never charged.
 */
export const DEFAULT_NOT_FOUND_GRACE_MS = 120_000;
const MAX_NOT_FOUND_GRACE_MS = 3_600_000;

export function taskNotFound(message: string): TaskNotFoundStatus {
  return { status: 'failed', usage: { billable: false }, error: { class: 'not_found', kind: 'task_not_found', message } };
}

export function isTaskNotFound(status: StatusResult | null | undefined): status is TaskNotFoundStatus {
  return status?.status === 'failed' && status.error?.kind === 'task_not_found' && status.error.class === 'not_found';
}

/**
 * A channel's grace window in ms: `settings.not_found_grace_seconds` (0–3600), else the adapter-era keys
 * `notFoundGraceMs` (Suno) / `unknownGraceMs` (DashScope), else 120 s.
 */
export function notFoundGraceMs(settings: Record<string, unknown> | undefined): number {
  const valid = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;
  const seconds = settings?.not_found_grace_seconds;
  if (valid(seconds)) return Math.min(seconds * 1000, MAX_NOT_FOUND_GRACE_MS);
  for (const key of ['notFoundGraceMs', 'unknownGraceMs']) {
    const ms = settings?.[key];
    if (valid(ms)) return Math.min(ms, MAX_NOT_FOUND_GRACE_MS);
  }
  return DEFAULT_NOT_FOUND_GRACE_MS;
}
