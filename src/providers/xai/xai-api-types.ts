/**
 * xAI Grok Imagine wire shapes (PROVIDERS §3.1, §3.2) as they arrive: every field optional and loosely typed,
 * because xAI changes shapes without notice (older video responses carry no `status`, `b64_json` sometimes is a
 * `data:` URI, `error` is a string on HTTP errors but an object inside a failed video). Parsers narrow them.
 */

/** Body of a non-2xx answer: `{"code":"<gRPC-style text>","error":"<message>"}` — `error` is a string (quirk 4). */
export interface XaiErrorBody {
  code?: unknown;
  error?: unknown;
  message?: unknown;
}

/** One item of `POST /images/generations` (and `/images/edits`). */
export interface XaiImageItem {
  url?: unknown;
  b64_json?: unknown;
  mime_type?: unknown;
  revised_prompt?: unknown;
  /** Seen in the wild on image items (†): `false` means the image was blocked and must not be delivered. */
  respect_moderation?: unknown;
}

export interface XaiImageResponse {
  data?: unknown;
}

/** `POST /videos/generations` and `/videos/edits` answer only the id to poll. */
export interface XaiVideoCreateResponse {
  request_id?: unknown;
}

/** `GET /videos/{request_id}`. */
export interface XaiVideoStatusResponse {
  status?: unknown;
  model?: unknown;
  progress?: unknown;
  video?: { url?: unknown; duration?: unknown; respect_moderation?: unknown } | null;
  usage?: { cost_in_usd_ticks?: unknown } | null;
  error?: { code?: unknown; message?: unknown } | string | null;
}

/** Request bodies the adapter sends (documented fields only; xAI has no seed, fps or last frame). */
export interface XaiImageRequestBody {
  model: string;
  prompt: string;
  n: number;
  response_format: 'url' | 'b64_json';
  aspect_ratio?: string;
  resolution?: string;
  /** `/images/edits` only: JSON, not multipart (quirk 24). One source image, or several (†) as `images`. */
  image?: { url: string };
  images?: Array<{ url: string }>;
}

export interface XaiVideoRequestBody {
  model: string;
  prompt: string;
  duration?: number;
  aspect_ratio?: string;
  resolution?: string;
  /** Becomes the first frame; exclusive with `reference_images`. */
  image?: { url: string };
  reference_images?: Array<{ url: string }>;
  /** `/videos/edits` only. */
  video?: { url: string };
}

/** Aspect ratios xAI documents (operators may override them in settings when xAI adds more). */
export const IMAGE_ASPECT_RATIOS = ['1:1', '16:9', '9:16', '4:3', '3:4', '3:2', '2:3', '2:1', '20:9', '19.5:9', '9:19.5', '9:20', '1:2'];
export const VIDEO_ASPECT_RATIOS = ['1:1', '16:9', '9:16', '4:3', '3:4', '3:2', '2:3'];
export const IMAGE_RESOLUTIONS = ['1k', '2k'];
export const VIDEO_RESOLUTIONS = ['480p', '720p'];
