import type { CanonicalStatus, ProviderOutput, StatusResult, UsageFacts } from '../spec.js';
import type { SunoRecord, SunoTrack } from './suno-api-types.js';
import { sanitizeMessage, taskFailureClass } from './suno-errors.js';

/**
 * Suno status → canonical status (PROVIDERS §6 table, §0.2 rules, quirk 11 synonyms), and the StatusResult of a
 * record (outputs and §12 usage facts). Spellings are normalised (case, dashes, spaces) before lookup, so
 * `first_success`, `First-Success` and `FIRST_SUCCESS` are one status. Unknown statuses are non-terminal.
 */

const TABLE: Record<string, CanonicalStatus> = {
  // Documented sunoapi/kie statuses.
  PENDING: 'queued',
  TEXT_SUCCESS: 'running',
  FIRST_SUCCESS: 'running',
  SUCCESS: 'succeeded',
  SENSITIVE_WORD_ERROR: 'failed',
  CREATE_TASK_FAILED: 'failed',
  GENERATE_AUDIO_FAILED: 'failed',
  CALLBACK_EXCEPTION: 'failed',
  // Suno's own clip statuses (relayed by community wrappers) and the reseller synonyms of PROVIDERS §8.
  SUBMITTED: 'queued',
  QUEUED: 'queued',
  WAITING: 'queued',
  QUEUING: 'queued',
  RUNNING: 'running',
  PROCESSING: 'running',
  IN_PROGRESS: 'running',
  GENERATING: 'running',
  STREAMING: 'running',
  SUCCEEDED: 'succeeded',
  COMPLETE: 'succeeded',
  COMPLETED: 'succeeded',
  DONE: 'succeeded',
  FAILED: 'failed',
  FAILURE: 'failed',
  FAIL: 'failed',
  ERROR: 'failed',
  CANCELLED: 'cancelled',
  CANCELED: 'cancelled',
  EXPIRED: 'expired',
};

/** Progress hints per stage: Suno reports no percentage, only lyrics-ready and first-track-ready milestones. */
const PROGRESS: Record<string, number> = { TEXT_SUCCESS: 40, FIRST_SUCCESS: 70, STREAMING: 50 };

export function normaliseStatus(raw: string): string {
  return raw.trim().toUpperCase().replace(/[\s-]+/g, '_');
}

/** Canonical status of an upstream spelling; `known: false` marks a spelling to log as `unknown_status`. */
export function canonicalStatus(raw: string): { status: CanonicalStatus; known: boolean } {
  const status = TABLE[normaliseStatus(raw)];
  return status ? { status, known: true } : { status: 'running', known: false };
}

const RANK: Record<CanonicalStatus, number> = { queued: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2, expired: 2 };

export function statusRank(status: CanonicalStatus): number {
  return RANK[status];
}

/** The result files are the audio tracks; the stream URL is a live preview and the image is only a cover. */
function audioType(url: string): string {
  const path = url.split(/[?#]/)[0]!.toLowerCase();
  if (path.endsWith('.wav')) return 'audio/wav';
  if (path.endsWith('.m4a') || path.endsWith('.mp4')) return 'audio/mp4';
  if (path.endsWith('.ogg')) return 'audio/ogg';
  if (path.endsWith('.flac')) return 'audio/flac';
  return 'audio/mpeg'; // Suno's CDN serves MP3
}

function outputsOf(tracks: SunoTrack[]): ProviderOutput[] {
  return tracks
    .filter((track) => track.audioUrl !== undefined)
    .map((track) => {
      const output: ProviderOutput = { url: track.audioUrl!, contentType: audioType(track.audioUrl!) };
      if (track.durationSeconds !== undefined) output.durationSeconds = track.durationSeconds;
      return output;
    });
}

/** §12: `music_tracks`, `music_seconds` (sum of returned durations), `generations` = 1; billable only here. */
function usageOf(outputs: ProviderOutput[]): UsageFacts {
  const total = outputs.reduce((sum, output) => sum + (output.durationSeconds ?? 0), 0);
  return { music_tracks: outputs.length, music_seconds: Math.round(total * 100) / 100, generations: 1, billable: true };
}

export interface RecordReading {
  result: StatusResult;
  /** Set when the upstream spelling was not in the table (the caller reports it as `unknown_status`). */
  unknownStatus?: string;
}

/**
 * Reads one record. `callbackExceptionIsSuccess` (channel setting, PROVIDERS §6 †): `CALLBACK_EXCEPTION` only
 * means the upstream failed to call us back; when tracks with audio exist it may be treated as success.
 */
export function readRecord(record: SunoRecord, options: { callbackExceptionIsSuccess: boolean }): RecordReading {
  const normalised = normaliseStatus(record.status);
  const { status, known } = canonicalStatus(record.status);
  const outputs = outputsOf(record.tracks);
  const unknown = known ? {} : { unknownStatus: record.status };
  if (normalised === 'CALLBACK_EXCEPTION' && options.callbackExceptionIsSuccess && outputs.length > 0) {
    return { result: { status: 'succeeded', progress: 100, outputs, usage: usageOf(outputs) } };
  }
  if (status === 'succeeded') {
    // SUCCESS without a single audio URL is not a result: stay non-terminal and let the deadline decide,
    // rather than failing a generation that may be paid for and only lagging in the record.
    if (outputs.length === 0) {
      return { result: { status: 'running', progress: 99, error: { class: 'upstream_error', message: `suno status ${record.status} without audio` } } };
    }
    return { result: { status: 'succeeded', progress: 100, outputs, usage: usageOf(outputs) } };
  }
  if (status === 'failed') {
    const detail = sanitizeMessage(record.errorMessage);
    const message = `suno task ${normalised}${record.errorCode ? ` (errorCode ${record.errorCode})` : ''}${detail ? `: ${detail}` : ''}`;
    return { result: { status: 'failed', usage: { billable: false }, error: { class: taskFailureClass(normalised, record.errorMessage), message } } };
  }
  if (status === 'cancelled' || status === 'expired') return { result: { status, usage: { billable: false } }, ...unknown };
  if (status === 'queued') return { result: { status, progress: 0 } };
  return { result: { status: 'running', progress: PROGRESS[normalised] ?? 10 }, ...unknown };
}
