import type { StatusTable } from '../shared/status-table.js';

/**
 * Upstream status spellings → canonical statuses (PROVIDERS §0.2, §4.5, quirk 11). Sora documents `queued`,
 * `in_progress`, `completed`, `failed`; OpenAI-style relays and other OpenAI APIs also emit the synonyms below, so
 * they are accepted rather than left to the unknown-status fallback. Applied by shared/status-table.ts.
 */
export const OPENAI_STATUSES: StatusTable = {
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
