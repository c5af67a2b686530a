import { retryAfterSeconds, UpstreamNetworkError, type UpstreamResponse } from '../shared/http.js';
import type { ErrorClass, ProviderError, StartResult } from '../spec.js';
import type { ArkErrorBody } from './ark-api-types.js';

/**
 * Ark error codes → canonical classes (PROVIDERS §2.3, §0.3). Ark reuses HTTP 429 for rate limits, overload and
 * quota (quirk 20) and 403 for both auth and billing, so the code decides first and the HTTP status only fills
 * in for codes we have never seen.
 */
const CODE_RULES: Array<[RegExp, ErrorClass]> = [
  [/^Input\w*SensitiveContentDetected/, 'moderation_input'],
  [/^Input\w*RiskDetection/, 'moderation_input'],
  [/^Output\w*SensitiveContentDetected/, 'moderation_output'],
  [/^Output\w*RiskDetection/, 'moderation_output'],
  [/^(MissingParameter|InvalidParameter)/, 'invalid_request'],
  [/^(AuthenticationError|AccessDenied|ModelNotOpen)/, 'auth'],
  // QuotaExceeded is a 429 but not retryable on this channel (§2.3 †): treat it like an overdue account.
  [/^(AccountOverdueError|QuotaExceeded)/, 'upstream_quota'],
  [/^(InvalidEndpoint\.NotFound|InvalidEndpointOrModel\.NotFound|UnsupportedModel|ResourceNotFound)/, 'not_found'],
  [/^(RateLimitExceeded|ModelAccount\w*RateLimitExceeded|ServerOverloaded|ModelLoadingError)/, 'rate_limited'],
  [/^InternalServiceError/, 'upstream_error'],
];

export function classifyCode(code: string | undefined, httpStatus: number): ErrorClass {
  for (const [pattern, errorClass] of CODE_RULES) if (code && pattern.test(code)) return errorClass;
  if (httpStatus === 401 || httpStatus === 403) return 'auth';
  if (httpStatus === 404) return 'not_found';
  if (httpStatus === 429) return 'rate_limited';
  if (httpStatus >= 500) return 'upstream_error';
  return httpStatus >= 400 ? 'invalid_request' : 'upstream_error';
}

/** Class of a task that ended `failed` (§2.3): moderation vs late validation vs everything else. */
export function classifyTaskFailure(code: string | undefined): ErrorClass {
  const errorClass = classifyCode(code, 500);
  return ['moderation_input', 'moderation_output', 'invalid_request'].includes(errorClass) ? errorClass : 'upstream_error';
}

/**
 * Ark appends "Request id: <id>" to messages (quirk 31). The message stays operator-only, but the id is
 * stripped so nothing upstream-identifying is copied around with it.
 */
export function stripRequestId(message: string): string {
  return message.replace(/\s*\(?Request[ _-]?id\s*[:=]\s*[A-Za-z0-9_-]+\)?\.?/gi, '').trim();
}

export function errorCodeOf(response: UpstreamResponse): string | undefined {
  const body = response.json as ArkErrorBody & { code?: unknown } | undefined;
  const code = body?.error?.code ?? (typeof body?.code === 'string' ? body.code : undefined);
  return typeof code === 'string' && code ? code : undefined;
}

/** Operator-facing description of a non-2xx answer: status, code and the upstream message minus its request id. */
export function describeResponse(response: UpstreamResponse): string {
  const body = response.json as ArkErrorBody & { message?: unknown } | undefined;
  const raw = body?.error?.message ?? (typeof body?.message === 'string' ? body.message : undefined) ?? response.text;
  const message = stripRequestId(String(raw ?? '')).slice(0, 500);
  const code = errorCodeOf(response) ?? 'no code';
  return `ark HTTP ${response.status} ${code}${message ? `: ${message}` : ''}`;
}

export function providerError(response: UpstreamResponse): ProviderError {
  const error: ProviderError = { class: classifyCode(errorCodeOf(response), response.status), message: describeResponse(response) };
  if (response.status === 429) {
    const seconds = retryAfterSeconds(response.headers);
    if (seconds !== undefined) error.retryAfterSeconds = seconds;
  }
  return error;
}

/**
 * A create that did not answer 2xx (§0.4): a 4xx/429 surely did not land (`rejected`); a 5xx may have created a
 * billable task (`unknown`, class upstream_error whatever the code says).
 */
export function createFailure(response: UpstreamResponse): StartResult {
  const error = providerError(response);
  if (response.status >= 500) return { outcome: 'unknown', error: { ...error, class: 'upstream_error' } };
  return { outcome: 'rejected', error };
}

/** A create that failed in transit: surely not sent → rejected; reset or timeout after sending → unknown. */
export function networkFailure(error: unknown): StartResult {
  if (error instanceof UpstreamNetworkError) {
    const message = `ark network error${error.timedOut ? ' (timeout)' : ''}: ${stripRequestId(error.message)}`;
    return error.sent ? { outcome: 'unknown', error: { class: 'network', message } } : { outcome: 'rejected', error: { class: 'network', message } };
  }
  // Anything else is a bug on our side after the request may have left: never claim it surely did not land.
  return { outcome: 'unknown', error: { class: 'network', message: `ark request failed: ${(error as Error).message}` } };
}

/** Quirk 10: a 200 without a usable body is not a success, and the task may exist upstream. */
export function emptyCreate(response: UpstreamResponse): StartResult {
  const detail = response.text ? 'a 200 without a task id' : 'an empty 200';
  return { outcome: 'unknown', error: { class: 'network', message: `ark create answered ${detail}` } };
}
