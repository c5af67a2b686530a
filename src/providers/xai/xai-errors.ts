import type { ErrorClass, ProviderError } from '../spec.js';
import { retryAfterSeconds, type UpstreamResponse } from '../shared/http.js';
import type { CreateError } from '../shared/start.js';
import type { XaiErrorBody } from './xai-api-types.js';

/**
 * xAI error classification (PROVIDERS §3, §0.3, §0.4). xAI answers `{"code","error"}` where `error` is a plain
 * string (quirk 4) and `code` is a gRPC status text ("Client specified an invalid argument", "Some resource has
 * been exhausted"…), so the HTTP status and the message carry the meaning. Several statuses are overloaded:
 * - 400 also means a wrong API key ("Incorrect API key provided") — an `auth` problem, not a bad request;
 * - 403 means input moderation ("Content violates usage guidelines … Failed check: SAFETY_CHECK_TYPE_…"), an empty
 *   team balance, or a key without access to the model;
 * - 429 means a rate limit or an exhausted balance / spending limit ("used all available credits").
 */

const MODERATION = /usage guidelines|safety.?check|content.?(policy|moderation)|moderat/i;
const QUOTA = /credits|spending limit|billing|insufficient (funds|balance)/i;
const BAD_KEY = /api key|api-key|unauthori[sz]ed|authenticat/i;

/** Lenient reader of every error shape seen: `error` as string or object, `message`, or a plain-text body. */
export function errorText(response: UpstreamResponse): { code: string; message: string } {
  const body = response.json as XaiErrorBody | undefined;
  if (body && typeof body === 'object') {
    const inner = body.error;
    const code = typeof body.code === 'string' ? body.code : '';
    if (typeof inner === 'string') return { code, message: inner };
    if (inner && typeof inner === 'object') {
      const nested = inner as { code?: unknown; message?: unknown };
      return { code: typeof nested.code === 'string' ? nested.code : code, message: typeof nested.message === 'string' ? nested.message : '' };
    }
    if (typeof body.message === 'string') return { code, message: body.message };
    return { code, message: '' };
  }
  return { code: '', message: response.text.slice(0, 200) };
}

function classOf(status: number, text: string): ErrorClass {
  if (status === 401) return 'auth';
  if (status === 402) return 'upstream_quota';
  if (status === 403) {
    if (MODERATION.test(text)) return 'moderation_input';
    if (QUOTA.test(text)) return 'upstream_quota';
    return 'auth';
  }
  if (status === 404) return 'not_found';
  if (status === 408) return 'network';
  if (status === 429) return QUOTA.test(text) ? 'upstream_quota' : 'rate_limited';
  if (status >= 500) return 'upstream_error';
  // 400 and the rest of 4xx.
  if (BAD_KEY.test(text)) return 'auth';
  if (MODERATION.test(text)) return 'moderation_input';
  return 'invalid_request';
}

/**
 * Canonical error of a non-2xx answer, with `retryAfterSeconds` on rate limits. Team ids, key ids and request ids in
 * xAI's messages are masked by the shared sanitizer on the way out of the adapter.
 */
export function classifyHttpError(response: UpstreamResponse, what: string): ProviderError {
  const { code, message } = errorText(response);
  const errorClass = classOf(response.status, `${code} ${message}`);
  const error: ProviderError = { class: errorClass, message: `xai ${what}: HTTP ${response.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}` };
  if (errorClass === 'rate_limited') {
    const seconds = retryAfterSeconds(response.headers);
    if (seconds !== undefined) error.retryAfterSeconds = seconds;
  }
  return error;
}

/** xAI's reading of a create answer for the shared start sequence (shared/start.ts): null for a 2xx. */
export function createError(response: UpstreamResponse, what: string): CreateError | null {
  return response.status >= 200 && response.status < 300 ? null : { error: classifyHttpError(response, what) };
}
