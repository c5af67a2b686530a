import type { CanonicalStatus } from '../spec.js';

/**
 * Ark task statuses → canonical ones (PROVIDERS §2.2, quirk 11). `pending`/`processing` are the synonyms seen in
 * the wild; the rest are spellings relays and older SDKs use. Anything else is not terminal: it is reported as
 * `running` and remembered, and the gateway's own deadline ends a task that never resolves (§0.2).
 */
const SYNONYMS: Record<string, CanonicalStatus> = {
  queued: 'queued',
  pending: 'queued',
  submitted: 'queued',
  running: 'running',
  processing: 'running',
  in_progress: 'running',
  succeeded: 'succeeded',
  success: 'succeeded',
  completed: 'succeeded',
  failed: 'failed',
  failure: 'failed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  expired: 'expired',
};

export interface MappedStatus {
  status: CanonicalStatus;
  /** False when the spelling was not recognised (logged as `unknown_status` by the caller). */
  known: boolean;
}

export function mapArkStatus(raw: unknown): MappedStatus {
  const key = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  const status = SYNONYMS[key];
  return status ? { status, known: true } : { status: 'running', known: false };
}

export function isTerminal(status: CanonicalStatus): boolean {
  return status !== 'queued' && status !== 'running';
}

/**
 * Never move backwards (§0.2): once `running` was reported, a later `queued` (a lagging replica, a re-queue)
 * is still reported as `running`. Terminal answers are always taken: they are final upstream.
 */
export function forwardOnly(seen: 'queued' | 'running' | undefined, next: CanonicalStatus): CanonicalStatus {
  if (next === 'queued' && seen === 'running') return 'running';
  return next;
}
