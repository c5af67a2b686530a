/**
 * Wire shapes of DashScope's async video API (PROVIDERS §5) and the adapter's own operation record. Everything
 * the upstream sends is typed as optional and loosely (numbers may arrive as strings): third-party accounts of
 * this API disagree on details (†), so decoders read defensively instead of trusting these types.
 */

/** Generation modes, one per HappyHorse model variant (`-t2v`, `-i2v`, `-r2v`, `-video-edit`). */
export type VideoMode = 't2v' | 'i2v' | 'r2v' | 'edit';

export interface DashscopeMedia {
  type: 'first_frame' | 'reference_image' | 'video';
  url: string;
}

export interface DashscopeCreateBody {
  model: string;
  input: { prompt: string; media?: DashscopeMedia[] };
  parameters: {
    /** Uppercase `720P` / `1080P` on the wire (quirk 9); re-cased from the internal lowercase value. */
    resolution: string;
    /** t2v / r2v only: i2v follows the first frame's aspect. */
    ratio?: string;
    duration: number;
    watermark: boolean;
    seed?: number;
    /** video-edit only. */
    audio_setting?: 'auto' | 'origin';
  };
}

export interface DashscopeTaskOutput {
  task_id?: string;
  task_status?: string;
  submit_time?: string;
  scheduled_time?: string;
  end_time?: string;
  video_url?: string;
  orig_prompt?: string;
  /** Only on FAILED tasks. */
  code?: string;
  message?: string;
}

export interface DashscopeUsage {
  video_duration?: number | string;
  video_count?: number | string;
  /** Output resolution as a number (1080) — normalised to `1080p` (PROVIDERS §12). */
  SR?: number | string;
}

/** Create and query answers share this envelope; a top-level `code` means the call failed (quirk 8). */
export interface DashscopeEnvelope {
  request_id?: string;
  output?: DashscopeTaskOutput;
  usage?: DashscopeUsage;
  code?: string;
  message?: string;
}

/**
 * What `start` hands the engine to store. Small and secret-free: no credential, no host (the channel's base URL
 * comes back in every context, so a channel moved to another region keeps working), no prompt.
 */
export interface DashscopeOperation {
  v: 1;
  /** Upstream task id (a UUID). */
  id: string;
  model: string;
  mode: VideoMode;
  /** Requested seconds and lowercase resolution: the fallback when the upstream omits `usage`. */
  seconds: number;
  resolution: string;
  ratio?: string;
  /** Gateway clock at accept time (ms), for operators (the engine's not-found grace counts from the task's own time). */
  acceptedAt: number;
  /** A query has returned this task at least once. */
  seen: boolean;
  /** Highest non-terminal status reported so far, so status never moves backwards. */
  last: 'queued' | 'running';
  /** The last task_status spelling the adapter did not recognise (reported as running), for operators. */
  unknownStatus?: string;
}
