import type { CanonicalStatus } from '../spec.js';

/**
 * Upstream status spellings → canonical statuses (PROVIDERS §0.2, §4.5, quirk 11). Sora documents `queued`,
 * `in_progress`, `completed`, `failed`; OpenAI-style relays and other OpenAI APIs also emit the synonyms below, so
 * they are accepted rather than left to the unknown-status fallback.
 */
const SYNONYMS: Record<string, CanonicalStatus> = {
  queued: 'queued',
  pending: 'queued',
  submitted: 'queued',
  not_started: 'queued',
  waiting: 'queued',
  in_progress: 'running',
  processing: 'running',
  running: 'running',
  generating: 'running',
  started: 'running',
  completed: 'succeeded',
  complete: 'succeeded',
  succeeded: 'succeeded',
  success: 'succeeded',
  done: 'succeeded',
  failed: 'failed',
  failure: 'failed',
  error: 'failed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  expired: 'expired',
};

/** The canonical status, or `running` with `known: false` for a spelling nobody has seen (§0.2). */
export function canonicalStatus(raw: unknown): { status: CanonicalStatus; known: boolean } {
  const key = typeof raw === 'string' ? raw.trim().toLowerCase().replace(/[\s-]+/g, '_') : '';
  const status = SYNONYMS[key];
  return status ? { status, known: true } : { status: 'running', known: false };
}

const RANK: Record<CanonicalStatus, number> = { queued: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2, expired: 2 };

export function isTerminal(status: CanonicalStatus): boolean {
  return RANK[status] === 2;
}

/** Status never moves backwards: a `queued` read after `running` was seen keeps reporting `running`. */
export function forward(seen: CanonicalStatus | undefined, next: CanonicalStatus): CanonicalStatus {
  if (seen === undefined || isTerminal(next)) return next;
  return RANK[seen] > RANK[next] ? seen : next;
}
