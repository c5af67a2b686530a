import { retryAfterSeconds, type UpstreamResponse } from '../shared/http.js';
import { sanitize, type KnownSecrets } from '../shared/sanitize.js';
import type { CreateError } from '../shared/start.js';
import type { ProviderError } from '../spec.js';
import type { OpenAIErrorBody } from './openai-api-types.js';

/**
 * OpenAI error bodies and statuses → canonical classes (PROVIDERS §0.3, §4.1). The two 429s differ only in
 * `error.code`/`type` (quirk 19), so the code is checked before the status. Messages keep the upstream wording for
 * operators, through the shared sanitizer (OpenAI echoes a masked `sk-…` in 401s): `classifyError` sanitizes itself
 * because its message may be stored in an operation (a synchronous image blocked by output moderation).
 */

/** A status read that failed transiently (5xx, 429, reset, empty body): the engine retries the read later. */
export class TransientReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransientReadError';
  }
}

const QUOTA_CODES = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active', 'account_deactivated']);
const MODERATION_CODES = new Set(['moderation_blocked', 'content_policy_violation']);

export interface ClassifiedError extends ProviderError {
  /** Set for moderation blocks: images report the stage in `moderation_details` (§4.4). */
  moderationStage?: 'input' | 'output';
}

/** Go-style durations (`12ms`, `1.2s`, `6m0s`, `1h2m`) in milliseconds, as in `x-ratelimit-reset-*` and messages. */
export function parseGoDuration(value: string): number | undefined {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return parts.reduce((sum, part) => sum + Number(part[1]) * (unit[part[2]!] ?? 0), 0);
}

function header(headers: UpstreamResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `retry-after(-ms)` first, then "Please try again in 1.2s." in the message, then the request-limit reset. */
function retryAfter(response: UpstreamResponse, message: string): number | undefined {
  const fromHeader = retryAfterSeconds(response.headers);
  if (fromHeader !== undefined) return fromHeader;
  const hint = /try again in ([\d.]+(?:ms|h|m|s)(?:[\d.]+(?:ms|h|m|s))*)/i.exec(message);
  const fromMessage = hint ? parseGoDuration(hint[1]!) : undefined;
  if (fromMessage !== undefined) return Math.max(1, Math.ceil(fromMessage / 1000));
  const reset = header(response.headers, 'x-ratelimit-reset-requests');
  const fromReset = reset ? parseGoDuration(reset) : undefined;
  return fromReset !== undefined ? Math.max(1, Math.ceil(fromReset / 1000)) : undefined;
}

export function classifyError(response: UpstreamResponse, known: KnownSecrets = {}): ClassifiedError {
  const body = (response.json ?? {}) as OpenAIErrorBody;
  const error = typeof body === 'object' && body !== null && typeof body.error === 'object' && body.error ? body.error : {};
  const type = typeof error.type === 'string' ? error.type : '';
  const code = typeof error.code === 'string' ? error.code : '';
  const upstreamText = typeof error.message === 'string' ? error.message : response.text.slice(0, 200);
  const param = typeof error.param === 'string' ? ` param=${error.param}` : '';
  const message = sanitize(`openai HTTP ${response.status} ${type || '-'}/${code || '-'}${param}: ${upstreamText}`, known);

  if (MODERATION_CODES.has(code) || (type === 'image_generation_user_error' && /safety|moderation/i.test(upstreamText))) {
    const stage = error.moderation_details?.moderation_stage === 'output' ? 'output' : 'input';
    return { class: stage === 'output' ? 'moderation_output' : 'moderation_input', message, moderationStage: stage };
  }
  if (QUOTA_CODES.has(code) || QUOTA_CODES.has(type)) return { class: 'upstream_quota', message };
  if (response.status === 429) {
    const seconds = retryAfter(response, upstreamText);
    return { class: 'rate_limited', message, ...(seconds !== undefined ? { retryAfterSeconds: seconds } : {}) };
  }
  if (response.status === 401 || response.status === 403) return { class: 'auth', message };
  if (response.status === 404) return { class: 'not_found', message };
  if (response.status === 408 || response.status === 409) return { class: 'network', message };
  if (response.status >= 500) return { class: 'upstream_error', message };
  return { class: 'invalid_request', message };
}

/**
 * OpenAI's reading of a create answer for the shared start sequence (shared/start.ts): null for a 2xx. The outcome
 * is the shared rule's: a 4xx/429 surely did not create anything, a 5xx may have (PROVIDERS §0.4).
 */
export function createError(response: UpstreamResponse, known: KnownSecrets = {}): CreateError | null {
  if (response.status >= 200 && response.status < 300) return null;
  const { moderationStage: _stage, ...error } = classifyError(response, known);
  return { error };
}
