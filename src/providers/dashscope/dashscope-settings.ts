import type { VideoMode } from './dashscope-api-types.js';

/**
 * Channel settings the DashScope adapter reads (all optional; the factory's settings, overlaid by the context's):
 *   - `timeoutMs` (30000): per upstream call; a create that times out after sending is an unknown outcome.
 *   - `resolutionCase` ('upper'): HappyHorse wants `1080P` (quirk 9); 'lower' for a deployment that differs (†).
 *   - `defaultSeconds` (5), `defaultResolution` ('1080p'): used when the request leaves them out.
 *   - `watermark` (false): always sent explicitly, so the upstream default (†) never decides.
 *   - `audioSetting` ('auto'): `audio_setting` for video-edit models when the request does not turn audio off.
 *   - `unknownGraceMs`: no longer read here. An UNKNOWN task is reported as "task not found" at once and the engine
 *     applies the grace (README; read as the channel's not-found grace when `not_found_grace_seconds` is unset).
 *   - `modelModes` ({}): upstream model id → 't2v' | 'i2v' | 'r2v' | 'edit', for model ids whose suffix does not
 *     say the mode (model ids change monthly: PROVIDERS keeps them in config).
 *   - `baseUrl`: fallback when the channel has none (default: the international host + `/api/v1`).
 */
export interface DashscopeSettings {
  timeoutMs: number;
  resolutionCase: 'upper' | 'lower';
  defaultSeconds: number;
  defaultResolution: string;
  watermark: boolean;
  audioSetting: 'auto' | 'origin';
  modelModes: Record<string, VideoMode>;
  baseUrl: string;
}

const MODES = new Set<VideoMode>(['t2v', 'i2v', 'r2v', 'edit']);

export function readSettings(raw: Record<string, unknown>): DashscopeSettings {
  const number = (key: string, fallback: number) => (typeof raw[key] === 'number' && Number.isFinite(raw[key]) ? (raw[key] as number) : fallback);
  const modelModes: Record<string, VideoMode> = {};
  if (raw.modelModes && typeof raw.modelModes === 'object') {
    for (const [model, mode] of Object.entries(raw.modelModes as Record<string, unknown>)) {
      if (MODES.has(mode as VideoMode)) modelModes[model] = mode as VideoMode;
    }
  }
  return {
    timeoutMs: number('timeoutMs', 30_000),
    resolutionCase: raw.resolutionCase === 'lower' ? 'lower' : 'upper',
    defaultSeconds: number('defaultSeconds', 5),
    defaultResolution: typeof raw.defaultResolution === 'string' ? raw.defaultResolution.toLowerCase() : '1080p',
    watermark: raw.watermark === true,
    audioSetting: raw.audioSetting === 'origin' ? 'origin' : 'auto',
    modelModes,
    baseUrl: typeof raw.baseUrl === 'string' && raw.baseUrl ? raw.baseUrl : 'https://dashscope-intl.aliyuncs.com/api/v1',
  };
}

/** The channel base URL (host + `/api/v1`, PROVIDERS §0.1) without a trailing slash. */
export function baseUrlOf(contextBaseUrl: string | undefined, settings: DashscopeSettings): string {
  return (contextBaseUrl || settings.baseUrl).replace(/\/+$/, '');
}
