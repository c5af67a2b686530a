import type { StatusTable } from '../shared/status-table.js';

/**
 * Ark task statuses → canonical ones (PROVIDERS §2.2, quirk 11), applied by shared/status-table.ts. `pending` and
 * `processing` are the synonyms seen in the wild; the rest are spellings relays and older SDKs use. Anything else is
 * reported as `running` and remembered on the operation (`unknownStatus`).
 */
export const ARK_STATUSES: StatusTable = {
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
