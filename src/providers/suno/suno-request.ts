import type { GenerationRequest, ProviderContext, ProviderError } from '../spec.js';
import type { SunoGenerateBody } from './suno-api-types.js';

/**
 * Settings and the `POST /generate` body (PROVIDERS §6). Channel settings (factory settings, overridden by
 * `context.settings`), all optional:
 *   - `timeoutMs` (number, default 30000): per upstream request; a create that times out is an unknown outcome.
 *   - `callbackUrl` (string): `callBackUrl` sent when the engine offers no `context.callbackUrl`. The upstream
 *     requires the field, so without either a reserved never-resolving `.invalid` URL is sent and the task is
 *     simply polled.
 *   - `customMode` ('auto' | true | false, default 'auto'): custom mode (lyrics + style + title) when the request
 *     carries a style or a title.
 *   - `callbackExceptionIsSuccess` (boolean, default false): see `suno-status.ts`.
 *   - `notFoundGraceMs`: no longer read by the adapter, which reports "task not found" at once; the engine applies
 *     the grace (README; read as the channel's not-found grace when `not_found_grace_seconds` is unset).
 * Limits (prompt/style/title lengths) are not enforced here: they change per model, and the upstream answers a
 * synchronous code 422 that maps to `invalid_request` without creating a task.
 */

export const PLACEHOLDER_CALLBACK_URL = 'https://callback.invalid/genrelay/suno';

export interface SunoSettings {
  timeoutMs: number;
  callbackUrl?: string;
  customMode: 'auto' | boolean;
  callbackExceptionIsSuccess: boolean;
}

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

export function readSettings(base: Record<string, unknown>, override: Record<string, unknown> | undefined): SunoSettings {
  const merged = { ...base, ...(override ?? {}) };
  const settings: SunoSettings = {
    timeoutMs: positive(merged.timeoutMs, 30_000),
    customMode: typeof merged.customMode === 'boolean' ? merged.customMode : 'auto',
    callbackExceptionIsSuccess: merged.callbackExceptionIsSuccess === true,
  };
  if (typeof merged.callbackUrl === 'string' && /^https?:\/\//.test(merged.callbackUrl)) settings.callbackUrl = merged.callbackUrl;
  return settings;
}

/** Joins the channel base URL (host + `/api/v1`) and a path below it, tolerating a trailing slash. */
export function endpoint(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

export type BuiltBody = { ok: true; body: SunoGenerateBody } | { ok: false; error: ProviderError };

/** Builds the create body, refusing locally what `/generate` cannot express (it would only waste a call). */
export function buildGenerateBody(request: GenerationRequest, context: ProviderContext, settings: SunoSettings): BuiltBody {
  if (request.kind !== 'music') {
    return { ok: false, error: { class: 'invalid_request', message: `suno: kind ${request.kind} is not supported (music only)` } };
  }
  if (request.references.length > 0) {
    // Covers/extends of uploaded audio are other endpoints (upload-cover, extend), not part of this adapter.
    return { ok: false, error: { class: 'invalid_request', message: 'suno: reference inputs are not supported by /generate' } };
  }
  const style = request.style?.trim() || undefined;
  const title = request.title?.trim() || undefined;
  const custom = settings.customMode === 'auto' ? style !== undefined || title !== undefined : settings.customMode;
  const body: SunoGenerateBody = {
    customMode: custom,
    instrumental: request.instrumental === true,
    model: context.upstreamModel,
    callBackUrl: context.callbackUrl ?? settings.callbackUrl ?? PLACEHOLDER_CALLBACK_URL,
  };
  if (custom) {
    // Custom mode: `prompt` is the lyrics (dropped for instrumentals, where the upstream ignores it).
    if (style === undefined || title === undefined) {
      return { ok: false, error: { class: 'invalid_request', message: 'suno: custom mode needs both style and title' } };
    }
    body.style = style;
    body.title = title;
    if (!body.instrumental) {
      if (!request.prompt.trim()) return { ok: false, error: { class: 'invalid_request', message: 'suno: lyrics (prompt) required' } };
      body.prompt = request.prompt;
    } else if (request.prompt.trim()) {
      body.prompt = request.prompt;
    }
  } else {
    if (!request.prompt.trim()) return { ok: false, error: { class: 'invalid_request', message: 'suno: prompt required' } };
    body.prompt = request.prompt;
  }
  return { ok: true, body };
}
