/**
 * The closed set of application errors (SEMANTICS E2). Modules and workflows throw `AppError`; `http/errors.ts`
 * is the one place that turns it into each face's status and body.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  unknown_parameter: 400,
  idempotency_key_missing: 400,
  idempotency_key_invalid: 400,
  invalid_reference: 400,
  content_policy_violation: 400,
  price_incomplete: 400,
  unknown_model: 400,
  invalid_api_key: 401,
  api_key_expired: 401,
  api_key_revoked: 401,
  // Operator console (SEMANTICS §10): no signed-in session, a failed password step, a wrong TOTP or recovery code.
  unauthenticated: 401,
  invalid_credentials: 401,
  invalid_code: 401,
  insufficient_credits: 402,
  model_not_allowed: 403,
  ip_not_allowed: 403,
  customer_suspended: 403,
  scope_not_allowed: 403,
  forbidden: 403,
  csrf_failed: 403,
  // Customer console: sign-up without an invitation while the operator's signup_mode is invite or closed.
  signup_closed: 403,
  not_found: 404,
  method_not_allowed: 405,
  idempotency_key_reused: 409,
  balance_below_reserved: 409,
  task_not_cancellable: 409,
  not_ready: 409,
  model_in_use: 409,
  conflict: 409,
  request_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  concurrency_limited: 429,
  queue_full: 429,
  too_many_attempts: 429,
  internal_error: 500,
  provider_error: 502,
  timeout: 502,
  input_unavailable: 502,
  result_unavailable: 502,
  provider_capacity_unavailable: 503,
  shutting_down: 503,
  expired_before_dispatch: 502,
  cancelled: 409,
  expired: 502,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  408: 'invalid_request_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  431: 'invalid_request_error',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'capacity_error',
};

export function errorType(status: number): string {
  return TYPE_BY_STATUS[status] ?? 'api_error';
}

export interface AppErrorOptions {
  param?: string;
  /** Seconds for `Retry-After` (429, 503). */
  retryAfter?: number;
  headers?: Record<string, string>;
  /** Overrides the code's usual status (a failed job's result answers 409 with the task's own code, API.md §5). */
  status?: number;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | undefined;
  readonly retryAfter: number | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
    this.param = options.param;
    this.retryAfter = options.retryAfter;
    this.headers = options.headers ?? {};
  }
}

export const notFound = (what = 'resource'): AppError => new AppError('not_found', `No such ${what}`);
export const invalidRequest = (message: string, param?: string): AppError =>
  new AppError('invalid_request', message, param === undefined ? {} : { param });
