import type { ErrorClass, ProviderError, StartResult } from '../spec.js';
import { retryAfterSeconds, UpstreamNetworkError, type UpstreamResponse } from '../shared/http.js';
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

/** Operator-facing text only: removes ids, team/key references and anything key-like, and bounds the length. */
export function sanitize(message: string): string {
  return message
    .replace(/(request[ _-]?id|trace[ _-]?id)\s*[:=]?\s*[\w-]+/gi, '$1 [stripped]')
    .replace(/\b(team|api key id|key id)\s*:?\s*(?=[\w-]*\d)[\w-]{6,}/gi, '$1 [stripped]')
    .replace(/(api key provided)\s*:?\s*[^\s.,]+/gi, '$1 [stripped]')
    .replace(/\bxai-[\w-]+/g, '[stripped]')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '[id]')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 400);
}

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

/** Canonical error of a non-2xx answer, with `retryAfterSeconds` on rate limits. */
export function classifyHttpError(response: UpstreamResponse, what: string): ProviderError {
  const { code, message } = errorText(response);
  const errorClass = classOf(response.status, `${code} ${message}`);
  const error: ProviderError = { class: errorClass, message: sanitize(`xai ${what}: HTTP ${response.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`) };
  if (errorClass === 'rate_limited') {
    const seconds = retryAfterSeconds(response.headers);
    if (seconds !== undefined) error.retryAfterSeconds = seconds;
  }
  return error;
}

/**
 * A create that did not answer a usable 2xx (PROVIDERS §0.4): 4xx (429 included) surely did not land and is
 * `rejected`; a 5xx may have created a billable job and is `unknown`.
 */
export function createFailure(response: UpstreamResponse, what: string): StartResult {
  const error = classifyHttpError(response, what);
  return response.status >= 500 ? { outcome: 'unknown', error } : { outcome: 'rejected', error };
}

/** A 2xx whose body is empty or lacks what a success must carry: the job may exist, so the outcome is unknown. */
export function emptySuccess(response: UpstreamResponse, what: string): StartResult {
  const empty = response.text.trim() === '';
  return {
    outcome: 'unknown',
    error: { class: empty ? 'network' : 'upstream_error', message: sanitize(`xai ${what}: HTTP ${response.status} with ${empty ? 'an empty body' : 'an unexpected body'}`) },
  };
}

/** Transport failures: `sent` false surely never reached xAI (retryable rejection); otherwise unknown. */
export function networkFailure(error: unknown, what: string): StartResult {
  if (error instanceof UpstreamNetworkError) {
    const failure: ProviderError = { class: 'network', message: sanitize(`xai ${what}: ${error.timedOut ? 'timeout' : 'network error'}: ${error.message}`) };
    return error.sent ? { outcome: 'unknown', error: failure } : { outcome: 'rejected', error: failure };
  }
  throw error;
}
