import type { StatusTable } from '../shared/status-table.js';
import type { CanonicalStatus } from '../spec.js';

/**
 * Status synonyms seen across resellers (PROVIDERS §8 table, §10 #11), applied by shared/status-table.ts. Each fork
 * relays its upstream's spelling, so the same task can be `pending` at one reseller and `submitted` at another.
 */
export const NEWAPI_STATUSES: StatusTable = {
  submitted: 'queued',
  queued: 'queued',
  pending: 'queued',
  waiting: 'queued',
  queuing: 'queued',
  not_start: 'queued',
  running: 'running',
  processing: 'running',
  in_progress: 'running',
  generating: 'running',
  succeeded: 'succeeded',
  success: 'succeeded',
  completed: 'succeeded',
  done: 'succeeded',
  failed: 'failed',
  failure: 'failed',
  fail: 'failed',
  error: 'failed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  expired: 'expired',
};

/** Rank of non-terminal statuses; terminal ones are never compared (the engine resolves on the first). */
export function rankOf(status: CanonicalStatus): number {
  return status === 'queued' ? 0 : 1;
}

/** `progress` arrives as a number, a numeric string or new-api's `"50%"`. */
export function parseProgress(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.replace(/%\s*$/, '')) : Number.NaN;
  if (!Number.isFinite(number)) return undefined;
  return Math.max(0, Math.min(100, Math.round(number)));
}
