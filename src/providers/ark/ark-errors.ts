import { retryAfterSeconds, type UpstreamResponse } from '../shared/http.js';
import type { CreateError } from '../shared/start.js';
import type { ErrorClass, ProviderError } from '../spec.js';
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

export function errorCodeOf(response: UpstreamResponse): string | undefined {
  const body = response.json as ArkErrorBody & { code?: unknown } | undefined;
  const code = body?.error?.code ?? (typeof body?.code === 'string' ? body.code : undefined);
  return typeof code === 'string' && code ? code : undefined;
}

/**
 * Operator-facing description of a non-2xx answer: status, code and the upstream message. Ark appends "Request id:
 * <id>" to messages (quirk 31): the shared sanitizer strips it on the way out of the adapter.
 */
export function describeResponse(response: UpstreamResponse): string {
  const body = response.json as ArkErrorBody & { message?: unknown } | undefined;
  const raw = body?.error?.message ?? (typeof body?.message === 'string' ? body.message : undefined) ?? response.text;
  const message = String(raw ?? '').trim();
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
 * Ark's reading of a create answer for the shared start sequence (shared/start.ts): null for a 2xx, else the error.
 * A 5xx is class upstream_error whatever its code says (a `ServerOverloaded` 503 may still have created the task);
 * the outcome is the shared rule's (shared/start-failure.ts).
 */
export function createError(response: UpstreamResponse): CreateError | null {
  if (response.status >= 200 && response.status < 300) return null;
  const error = providerError(response);
  return { error: response.status >= 500 ? { ...error, class: 'upstream_error' } : error };
}
