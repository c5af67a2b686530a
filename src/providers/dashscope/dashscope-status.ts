import { readStatus, type StatusTable } from '../shared/status-table.js';
import type { CanonicalStatus } from '../spec.js';

/**
 * DashScope `task_status` → canonical status (PROVIDERS §5 table, quirk 11), applied by shared/status-table.ts.
 * Besides the documented spellings the table accepts the synonyms resellers and older DashScope docs use
 * (`SUSPENDED`, `CANCELLED`, lowercase, …); anything else is `unrecognised`, which the adapter reports as
 * non-terminal `running`. `UNKNOWN` is DashScope's own word for a task it does not know (`unknown_task`).
 */
export type UpstreamState = CanonicalStatus | 'unknown_task' | 'unrecognised';

export const DASHSCOPE_STATUSES: StatusTable<CanonicalStatus | 'unknown_task'> = {
  pending: 'queued',
  queued: 'queued',
  queuing: 'queued',
  submitted: 'queued',
  waiting: 'queued',
  suspended: 'queued',
  running: 'running',
  processing: 'running',
  in_progress: 'running',
  started: 'running',
  generating: 'running',
  succeeded: 'succeeded',
  success: 'succeeded',
  successful: 'succeeded',
  completed: 'succeeded',
  finished: 'succeeded',
  done: 'succeeded',
  failed: 'failed',
  failure: 'failed',
  error: 'failed',
  canceled: 'cancelled',
  cancelled: 'cancelled',
  expired: 'expired',
  timeout: 'expired',
  // "Task missing or purged": the adapter's one "task not found" answer (shared/task-not-found.ts).
  unknown: 'unknown_task',
  not_found: 'unknown_task',
};

export function upstreamState(raw: unknown): UpstreamState {
  const reading = readStatus(DASHSCOPE_STATUSES, raw);
  return reading.known ? reading.status : 'unrecognised';
}

/** DashScope `SR:1080` (number or string, sometimes `1080P`) → `1080p` (PROVIDERS §12); undefined if unreadable. */
export function resolutionFromSr(raw: unknown): string | undefined {
  if (typeof raw !== 'number' && typeof raw !== 'string') return undefined;
  const match = /^(\d{3,4})\s*p?$/i.exec(String(raw).trim());
  return match ? `${match[1]}p` : undefined;
}

/** A positive number from a number or numeric string (DashScope usage fields drift between the two). */
export function positiveNumber(raw: unknown): number | undefined {
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  return Number.isFinite(value) && value > 0 ? value : undefined;
}
