import type { ProviderContext } from '../spec.js';

/**
 * Operator settings of the `openai` adapter. Model ids, sizes and durations change often upstream, so the lists
 * the adapter checks locally are settings with today's documented values as defaults (PROVIDERS §0 intro).
 *
 * - `timeoutMs`            video create and status reads (default 60 s)
 * - `imageTimeoutMs`       synchronous image calls; gpt-image at high quality takes 30–60 s+ (default 180 s)
 * - `downloadTimeoutMs`    the Sora `/content` binary download (default 300 s)
 * - `organization`, `project`  sent as `OpenAI-Organization` / `OpenAI-Project` when set
 * - `videoSeconds`         accepted Sora durations, strings (default `["4","8","12"]`)
 * - `videoSizes`           accepted Sora sizes (default the four documented ones)
 * - `imageSizes`           sizes gpt-image accepts; other requested sizes are mapped to the closest aspect
 * - `imageResultCacheBytes` bytes of finished synchronous image results kept in memory so `status()` can repeat
 *                          the final answer without storing base64 in the operation (default 64 MiB)
 */
export interface OpenAISettings {
  timeoutMs: number;
  imageTimeoutMs: number;
  downloadTimeoutMs: number;
  organization?: string;
  project?: string;
  videoSeconds: string[];
  videoSizes: string[];
  imageSizes: string[];
  imageResultCacheBytes: number;
}

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function strings(value: unknown, fallback: string[]): string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string') && value.length > 0 ? (value as string[]) : fallback;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function readSettings(raw: Record<string, unknown>): OpenAISettings {
  const organization = text(raw.organization);
  const project = text(raw.project);
  return {
    timeoutMs: positive(raw.timeoutMs, 60_000),
    imageTimeoutMs: positive(raw.imageTimeoutMs, 180_000),
    downloadTimeoutMs: positive(raw.downloadTimeoutMs, 300_000),
    ...(organization ? { organization } : {}),
    ...(project ? { project } : {}),
    videoSeconds: strings(raw.videoSeconds, ['4', '8', '12']),
    videoSizes: strings(raw.videoSizes, ['720x1280', '1280x720', '1024x1792', '1792x1024']),
    imageSizes: strings(raw.imageSizes, ['1024x1024', '1536x1024', '1024x1536']),
    imageResultCacheBytes: positive(raw.imageResultCacheBytes, 64 * 1024 * 1024),
  };
}

/** `{base}` + path; the channel base URL already carries `/v1` (PROVIDERS §0.1). */
export function endpoint(context: ProviderContext, path: string): string {
  return `${(context.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}${path}`;
}

/** Auth and account headers for every call; the credential lives only here, never in an operation. */
export function baseHeaders(context: ProviderContext, settings: OpenAISettings): Record<string, string> {
  return {
    authorization: `Bearer ${context.credential ?? ''}`,
    accept: 'application/json',
    ...(settings.organization ? { 'openai-organization': settings.organization } : {}),
    ...(settings.project ? { 'openai-project': settings.project } : {}),
  };
}
