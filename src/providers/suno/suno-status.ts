import { normaliseStatus, readStatus, type StatusTable } from '../shared/status-table.js';
import type { CanonicalStatus, ProviderOutput, StatusResult, UsageFacts } from '../spec.js';
import type { SunoRecord, SunoTrack } from './suno-api-types.js';
import { taskFailureClass } from './suno-errors.js';

/**
 * Suno status → canonical status (PROVIDERS §6 table, §0.2 rules, quirk 11 synonyms), applied by
 * shared/status-table.ts (so `first_success`, `First-Success` and `FIRST_SUCCESS` are one status), and the
 * StatusResult of a record (outputs and §12 usage facts). Unknown statuses are non-terminal.
 */
export const SUNO_STATUSES: StatusTable = {
  // Documented sunoapi/kie statuses.
  pending: 'queued',
  text_success: 'running',
  first_success: 'running',
  success: 'succeeded',
  sensitive_word_error: 'failed',
  create_task_failed: 'failed',
  generate_audio_failed: 'failed',
  callback_exception: 'failed',
  // Suno's own clip statuses (relayed by community wrappers) and the reseller synonyms of PROVIDERS §8.
  submitted: 'queued',
  queued: 'queued',
  waiting: 'queued',
  queuing: 'queued',
  running: 'running',
  processing: 'running',
  in_progress: 'running',
  generating: 'running',
  streaming: 'running',
  succeeded: 'succeeded',
  complete: 'succeeded',
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

/** Progress hints per stage: Suno reports no percentage, only lyrics-ready and first-track-ready milestones. */
const PROGRESS: Record<string, number> = { text_success: 40, first_success: 70, streaming: 50 };

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
  const { status, known } = readStatus(SUNO_STATUSES, normalised);
  const outputs = outputsOf(record.tracks);
  const unknown = known ? {} : { unknownStatus: record.status };
  if (normalised === 'callback_exception' && options.callbackExceptionIsSuccess && outputs.length > 0) {
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
    const detail = (record.errorMessage ?? '').trim();
    const message = `suno task ${normalised.toUpperCase()}${record.errorCode ? ` (errorCode ${record.errorCode})` : ''}${detail ? `: ${detail}` : ''}`;
    return { result: { status: 'failed', usage: { billable: false }, error: { class: taskFailureClass(normalised, record.errorMessage), message } } };
  }
  if (status === 'cancelled' || status === 'expired') return { result: { status, usage: { billable: false } }, ...unknown };
  if (status === 'queued') return { result: { status, progress: 0 } };
  return { result: { status: 'running', progress: PROGRESS[normalised] ?? 10 }, ...unknown };
}
