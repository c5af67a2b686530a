/**
 * Wire shapes of Volcengine Ark / BytePlus ModelArk (PROVIDERS §2), and the operations this adapter stores on a
 * task. Every upstream field is optional here: answers are parsed defensively, never trusted to match the docs.
 */

/** `{"error":{"code","message","param","type"}}` (§2.3); `param`/`type` are often empty strings. */
export interface ArkErrorBody {
  error?: { code?: string; message?: string; param?: string; type?: string } | null;
}

/** GET `{base}/contents/generations/tasks/{id}` and callback bodies (§2.2, §2.4: identical shapes). */
export interface ArkVideoTask {
  id?: string;
  model?: string;
  status?: string;
  content?: { video_url?: string; last_frame_url?: string } | null;
  usage?: { completion_tokens?: number; total_tokens?: number; tool_usage?: { web_search?: number } } | null;
  error?: { code?: string; message?: string } | null;
  created_at?: number;
  updated_at?: number;
  seed?: number;
  resolution?: string;
  ratio?: string;
  duration?: number;
  frames?: number;
  /** No underscore (quirk 1). */
  framespersecond?: number;
  service_tier?: string;
  execution_expires_after?: number;
  generate_audio?: boolean;
  draft?: boolean;
  output_format?: string;
}

/** One `data[]` item of a Seedream answer: a URL (we always ask for URLs) or a per-item error (quirk 7). */
export interface ArkImageItem {
  url?: string;
  b64_json?: string;
  size?: string;
  error?: { code?: string; message?: string } | null;
}

export interface ArkImageResponse {
  model?: string;
  created?: number;
  data?: ArkImageItem[];
  usage?: { generated_images?: number; output_tokens?: number; total_tokens?: number } | null;
}

/**
 * Stored operation of a video task. Only the upstream task id and what the GET cannot tell us later: never the
 * credential or the channel host (both come from the context on every call, so a re-keyed channel keeps working).
 */
export interface ArkVideoOperation {
  kind: 'video';
  id: string;
  /** Highest non-terminal status already reported, so a late `queued` never moves the task backwards (§0.2). */
  seen?: 'queued' | 'running';
  /** Seconds of reference video sent, a billing fact the GET does not echo (§12). */
  inputVideoSeconds?: number;
  /** Last unrecognised upstream status, kept for operators: adapters have no logger (§0.2 `unknown_status`). */
  unknownStatus?: string;
}

/** One produced image; `url` is origin-relative (`/cdn/…`) when it lives on the channel's own origin. */
export interface ArkStoredImage {
  url: string;
  size?: string;
}

/**
 * Stored operation of a Seedream call. The call was synchronous, so this IS the final answer: `status()` rebuilds
 * the same result from it (the engine may ask again after a restart). Small: URLs only, never base64.
 */
export interface ArkImageOperation {
  kind: 'image';
  id: string;
  images: ArkStoredImage[];
  /** Error codes of the items (or fan-out calls) that failed. */
  failures: string[];
  inputImageCount: number;
  requestedSize?: string;
  outputTokens?: number;
}

export type ArkOperation = ArkVideoOperation | ArkImageOperation;
