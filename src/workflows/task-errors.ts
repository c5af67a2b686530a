import type { ErrorClass } from '../providers/spec.js';

/**
 * The one map from upstream error classes to task outcomes (SEMANTICS T5, T14). Upstream class names never reach
 * customers: they see only the T14 code.
 */
export type TaskErrorCode =
  | 'content_policy_violation'
  | 'invalid_request'
  | 'provider_error'
  | 'input_unavailable'
  | 'result_unavailable'
  | 'expired_before_dispatch'
  | 'timeout'
  | 'cancelled'
  | 'expired'
  | 'internal_error';

export function taskErrorCode(errorClass: ErrorClass): TaskErrorCode {
  if (errorClass === 'moderation_input' || errorClass === 'moderation_output') return 'content_policy_violation';
  if (errorClass === 'invalid_request') return 'invalid_request';
  return 'provider_error';
}

/** Rejections that may succeed elsewhere or later: the task goes back to the queue (T5). */
export function isRetryableRejection(errorClass: ErrorClass): boolean {
  return ['rate_limited', 'auth', 'upstream_quota', 'not_found', 'network', 'upstream_error'].includes(errorClass);
}

const MESSAGES: Record<TaskErrorCode, string> = {
  content_policy_violation: 'The request or its result was rejected by content moderation.',
  invalid_request: 'The provider rejected the request parameters.',
  provider_error: 'The generation failed at the provider. Nothing was charged.',
  input_unavailable: 'A reference media file could not be fetched or is not valid media.',
  result_unavailable: 'The generated result could not be retrieved. Nothing was charged.',
  expired_before_dispatch: 'The task could not be started in time. Nothing was charged.',
  timeout: 'The generation did not finish in time. Nothing was charged.',
  cancelled: 'The task was cancelled.',
  expired: 'The provider expired the task before producing a result.',
  internal_error: 'An internal error occurred. Nothing was charged.',
};

export function taskErrorMessage(code: string): string {
  return MESSAGES[code as TaskErrorCode] ?? MESSAGES.internal_error;
}

export const MAX_DISPATCH_ATTEMPTS = 5;

/** Exponential backoff with jitter for re-dispatch: 2 s, 4 s, 8 s … capped at 60 s. */
export function dispatchBackoffMs(attempt: number, retryAfterSeconds?: number): number {
  const base = Math.min(60_000, 2_000 * 2 ** Math.max(0, attempt - 1));
  const jittered = base * (0.8 + Math.random() * 0.4);
  return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000);
}
