import type { CanonicalStatus } from '../spec.js';

/**
 * DashScope `task_status` → canonical status (PROVIDERS §5 table, quirk 11). Besides the documented spellings the
 * table accepts the synonyms resellers and older DashScope docs use (`SUSPENDED`, `CANCELLED`, lowercase, …);
 * anything else is `unrecognised`, which the adapter reports as non-terminal `running` so the gateway's own
 * deadline — not a guess — ends a task that never reaches a known terminal state.
 */
export type UpstreamState = CanonicalStatus | 'unknown_task' | 'unrecognised';

const SYNONYMS: Record<string, UpstreamState> = {
  PENDING: 'queued',
  QUEUED: 'queued',
  QUEUING: 'queued',
  SUBMITTED: 'queued',
  WAITING: 'queued',
  SUSPENDED: 'queued',
  RUNNING: 'running',
  PROCESSING: 'running',
  IN_PROGRESS: 'running',
  STARTED: 'running',
  GENERATING: 'running',
  SUCCEEDED: 'succeeded',
  SUCCESS: 'succeeded',
  SUCCESSFUL: 'succeeded',
  COMPLETED: 'succeeded',
  FINISHED: 'succeeded',
  DONE: 'succeeded',
  FAILED: 'failed',
  FAILURE: 'failed',
  ERROR: 'failed',
  CANCELED: 'cancelled',
  CANCELLED: 'cancelled',
  EXPIRED: 'expired',
  TIMEOUT: 'expired',
  // "Task missing or purged": the adapter's one "task not found" answer (shared/task-not-found.ts).
  UNKNOWN: 'unknown_task',
  NOT_FOUND: 'unknown_task',
};

export function upstreamState(raw: unknown): UpstreamState {
  if (typeof raw !== 'string') return 'unrecognised';
  const key = raw.trim().toUpperCase().replace(/[\s-]+/g, '_');
  return SYNONYMS[key] ?? 'unrecognised';
}

const RANK: Record<'queued' | 'running', number> = { queued: 0, running: 1 };

/** The later of two non-terminal statuses: a `PENDING` seen after `RUNNING` (replica lag) is ignored. */
export function forward(previous: 'queued' | 'running', next: 'queued' | 'running'): 'queued' | 'running' {
  return RANK[next] >= RANK[previous] ? next : previous;
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
