import { IMAGE_ASPECT_RATIOS, VIDEO_ASPECT_RATIOS } from './xai-api-types.js';

/**
 * Channel settings of the xAI adapter. xAI's defaults and limits change often and several are unverified (†), so
 * every one of them is a setting rather than a constant (PROVIDERS intro). All are optional:
 *
 * - `timeoutMs` (60 000): HTTP timeout of video creates and polls.
 * - `imageTimeoutMs` (120 000): HTTP timeout of image calls, which are synchronous (9–15 s typical, long tail).
 * - `imageResponseFormat` (`url`): `url` keeps the operation small and lets the engine download through its SSRF
 *   guard; `b64_json` makes the result bytes arrive inline (they are then not kept in the operation).
 * - `defaultImageResolution` (`1k`) and `defaultVideoResolution` (`480p`) and `defaultVideoSeconds` (8): sent
 *   explicitly when the request has none, so the facts we bill are the parameters the upstream used (quirk 12).
 * - `maxImages` (10), `maxVideoSeconds` (15), `maxReferenceImages` (7), `maxReferenceVideoSeconds` (10),
 *   `maxEditImages` (3), `maxPromptChars` (4096): local validation limits.
 * - `imageAspectRatios`, `videoAspectRatios`: accepted ratio lists (defaults from PROVIDERS §3).
 * - `onUnknownStatus` (function, only when the adapter is built in code): called with an unrecognised upstream
 *   status string so it can be logged as `unknown_status` (PROVIDERS §0.2); adapters have no logger of their own.
 */
export interface XaiSettings {
  timeoutMs: number;
  imageTimeoutMs: number;
  imageResponseFormat: 'url' | 'b64_json';
  defaultImageResolution: string;
  defaultVideoResolution: string;
  defaultVideoSeconds: number;
  maxImages: number;
  maxVideoSeconds: number;
  maxReferenceImages: number;
  maxReferenceVideoSeconds: number;
  maxEditImages: number;
  maxPromptChars: number;
  imageAspectRatios: string[];
  videoAspectRatios: string[];
  onUnknownStatus?: (status: string) => void;
}

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function list(value: unknown, fallback: string[]): string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : fallback;
}

export function readSettings(settings: Record<string, unknown>): XaiSettings {
  const onUnknownStatus = settings.onUnknownStatus;
  return {
    timeoutMs: positive(settings.timeoutMs, 60_000),
    imageTimeoutMs: positive(settings.imageTimeoutMs, positive(settings.timeoutMs, 120_000)),
    imageResponseFormat: settings.imageResponseFormat === 'b64_json' ? 'b64_json' : 'url',
    defaultImageResolution: typeof settings.defaultImageResolution === 'string' ? settings.defaultImageResolution.toLowerCase() : '1k',
    defaultVideoResolution: typeof settings.defaultVideoResolution === 'string' ? settings.defaultVideoResolution.toLowerCase() : '480p',
    defaultVideoSeconds: positive(settings.defaultVideoSeconds, 8),
    maxImages: positive(settings.maxImages, 10),
    maxVideoSeconds: positive(settings.maxVideoSeconds, 15),
    maxReferenceImages: positive(settings.maxReferenceImages, 7),
    maxReferenceVideoSeconds: positive(settings.maxReferenceVideoSeconds, 10),
    maxEditImages: positive(settings.maxEditImages, 3),
    maxPromptChars: positive(settings.maxPromptChars, 4096),
    imageAspectRatios: list(settings.imageAspectRatios, IMAGE_ASPECT_RATIOS),
    videoAspectRatios: list(settings.videoAspectRatios, VIDEO_ASPECT_RATIOS),
    ...(typeof onUnknownStatus === 'function' ? { onUnknownStatus: onUnknownStatus as (status: string) => void } : {}),
  };
}
