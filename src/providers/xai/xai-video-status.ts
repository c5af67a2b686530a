import { sanitize } from '../shared/sanitize.js';
import { normaliseStatus, readStatus, type StatusTable } from '../shared/status-table.js';
import type { ErrorClass, StatusResult } from '../spec.js';
import type { XaiVideoStatusResponse } from './xai-api-types.js';
import { fromFinal, toJson, type FinalRecord, type XaiVideoOperation } from './xai-operation.js';

/**
 * `GET /videos/{request_id}` → canonical status (PROVIDERS §3.2, §0.2). xAI documents
 * `pending|done|expired|failed`; resellers and older responses use other spellings (quirk 11), and old responses
 * carry no `status` at all, only `video.url`. `done` is a success only when `video.respect_moderation` is not
 * `false`: otherwise the output was blocked and the file must never be delivered (quirk 25). An unrecognised
 * status is non-terminal `running` and reported through `onUnknownStatus`.
 */
export const XAI_VIDEO_STATUSES: StatusTable = {
  pending: 'queued',
  queued: 'queued',
  submitted: 'queued',
  waiting: 'queued',
  not_started: 'queued',
  created: 'queued',
  processing: 'running',
  in_progress: 'running',
  running: 'running',
  generating: 'running',
  started: 'running',
  done: 'succeeded',
  completed: 'succeeded',
  complete: 'succeeded',
  succeeded: 'succeeded',
  success: 'succeeded',
  finished: 'succeeded',
  failed: 'failed',
  failure: 'failed',
  error: 'failed',
  cancelled: 'cancelled',
  canceled: 'cancelled',
  expired: 'expired',
};

const MODERATION = /moderat|safety|usage guidelines|content.?(policy|violation)|sensitive/i;

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function failureClass(code: string, message: string): ErrorClass {
  const text = `${code} ${message}`;
  if (MODERATION.test(text)) return /input|prompt|image|reference/i.test(text) && !/output|generated|result/i.test(text) ? 'moderation_input' : 'moderation_output';
  if (/invalid|argument|unsupported/i.test(text)) return 'invalid_request';
  return 'upstream_error';
}

function failed(errorClass: ErrorClass, message: string): FinalRecord {
  return { status: 'failed', usage: { billable: false }, error: { class: errorClass, message: sanitize(message) } };
}

/** The terminal record for a `done` answer. */
function doneRecord(body: XaiVideoStatusResponse, operation: XaiVideoOperation): FinalRecord {
  const video = body.video ?? undefined;
  if (video?.respect_moderation === false) return failed('moderation_output', 'xai video: done with respect_moderation=false (output blocked)');
  if (typeof video?.url !== 'string' || !video.url) return failed('upstream_error', 'xai video: done without a video url');
  const seconds = numberOf(video.duration) ?? operation.seconds;
  return {
    status: 'succeeded',
    outputs: [{ url: video.url, contentType: 'video/mp4', ...(seconds !== undefined ? { durationSeconds: seconds } : {}) }],
    // Bill the returned duration (§12); the resolution is the one sent (edits keep the source's, so none then).
    usage: {
      ...(seconds !== undefined ? { video_seconds: seconds } : {}),
      ...(operation.resolution ? { video_resolution: operation.resolution } : {}),
      billable: true,
    },
  };
}

function failedRecord(body: XaiVideoStatusResponse): FinalRecord {
  const error = body.error;
  const code = error && typeof error === 'object' && typeof error.code === 'string' ? error.code : '';
  const message = typeof error === 'string' ? error : error && typeof error.message === 'string' ? error.message : '';
  return failed(failureClass(code, message), `xai video failed${code ? ` (${code})` : ''}${message ? `: ${message}` : ''}`);
}

/** A terminal answer: remembered in the returned operation so it is repeated, never contradicted. */
function terminal(operation: XaiVideoOperation, final: FinalRecord): StatusResult {
  const { seen: _seen, ...rest } = operation;
  return { ...fromFinal(final), operation: toJson({ ...rest, final }) };
}

/** A non-terminal answer, never lower than what was reported before. */
export function progressed(operation: XaiVideoOperation, status: 'queued' | 'running', progress: number, extra: Partial<StatusResult> = {}): StatusResult {
  const seen = operation.seen;
  const next = seen?.status === 'running' && status === 'queued' ? 'running' : status;
  const best = Math.max(seen?.progress ?? 0, Math.min(99, Math.max(0, Math.round(progress))));
  const result: StatusResult = { status: next, progress: best, ...extra };
  if (seen?.status !== next || seen.progress !== best) result.operation = toJson({ ...operation, seen: { status: next, progress: best } });
  return result;
}

export function mapVideoStatus(body: XaiVideoStatusResponse, operation: XaiVideoOperation, onUnknownStatus?: (status: string) => void): StatusResult {
  const raw = normaliseStatus(body.status);
  const progress = numberOf(body.progress) ?? 0;
  if (raw === '' && typeof body.video?.url === 'string') return terminal(operation, doneRecord(body, operation));
  const { status, known } = readStatus(XAI_VIDEO_STATUSES, raw);
  switch (status) {
    case 'succeeded':
      return terminal(operation, doneRecord(body, operation));
    case 'failed':
      return terminal(operation, failedRecord(body));
    case 'expired':
    case 'cancelled':
      return terminal(operation, { status, usage: { billable: false } });
    case 'queued':
      // `pending` covers both waiting and generating: progress > 0 tells them apart (PROVIDERS §3.2).
      return progressed(operation, progress > 0 ? 'running' : 'queued', progress);
    case 'running':
      if (!known) onUnknownStatus?.(sanitize(raw || '(missing)'));
      return progressed(operation, 'running', progress);
  }
}
