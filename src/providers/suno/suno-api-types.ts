/**
 * Wire shapes of the sunoapi.org / kie.ai Suno contract (PROVIDERS §6) and the one internal model both decoders
 * feed (quirk 5: record-info is camelCase, callbacks are snake_case). Everything upstream is typed as optional
 * and `unknown`-ish on purpose: resellers drift, and the decoders must survive missing or renamed fields.
 */

/** Every JSON answer is this envelope; errors usually arrive as HTTP 200 with `code` ≠ 200 (quirk 6). */
export interface SunoEnvelope<T> {
  code?: number | string;
  msg?: string;
  data?: T | null;
}

/** `POST /api/v1/generate` body. */
export interface SunoGenerateBody {
  customMode: boolean;
  instrumental: boolean;
  model: string;
  callBackUrl: string;
  prompt?: string;
  style?: string;
  title?: string;
}

/** One track in `GET /api/v1/generate/record-info` (`data.response.sunoData[]`), camelCase. */
export interface SunoRecordTrackWire {
  id?: string;
  audioUrl?: string;
  streamAudioUrl?: string;
  imageUrl?: string;
  prompt?: string;
  modelName?: string;
  title?: string;
  tags?: string;
  createTime?: string | number;
  duration?: number | string | null;
}

/** `data` of record-info. `param` is the original request as a JSON string (quirk 27). */
export interface SunoRecordWire {
  taskId?: string;
  parentMusicId?: string;
  param?: string;
  type?: string;
  status?: string;
  errorCode?: number | string | null;
  errorMessage?: string | null;
  response?: { taskId?: string; sunoData?: SunoRecordTrackWire[] | string | null } | string | null;
}

/** One track in a callback (`data.data[]`), snake_case. */
export interface SunoCallbackTrackWire {
  id?: string;
  audio_url?: string;
  stream_audio_url?: string;
  image_url?: string;
  prompt?: string;
  model_name?: string;
  title?: string;
  tags?: string;
  createTime?: string | number;
  duration?: number | string | null;
}

/** A staged callback: `text`, `first`, `complete`, or `error` (then the envelope `code` ≠ 200). */
export interface SunoCallbackWire {
  code?: number | string;
  msg?: string;
  data?: {
    callbackType?: string;
    task_id?: string;
    data?: SunoCallbackTrackWire[] | null;
  } | null;
}

/** The internal track model, whatever wire it came from. */
export interface SunoTrack {
  id: string;
  audioUrl?: string;
  streamAudioUrl?: string;
  imageUrl?: string;
  title?: string;
  tags?: string;
  modelName?: string;
  durationSeconds?: number;
}

/** The internal task model read from record-info. */
export interface SunoRecord {
  taskId: string;
  /** Upstream status spelling, untouched; `suno-status.ts` canonicalises it. */
  status: string;
  errorCode?: string;
  errorMessage?: string;
  tracks: SunoTrack[];
}

/** The internal model of a callback (only used as a hint: the adapter re-reads record-info). */
export interface SunoCallback {
  taskId: string;
  callbackType: string;
  code: number;
  message?: string;
  tracks: SunoTrack[];
}
