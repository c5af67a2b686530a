import type { ErrorClass, ProviderError } from '../spec.js';
import { retryAfterSeconds, type UpstreamResponse } from '../shared/http.js';
import { envelopeCode, envelopeMessage } from './suno-decode.js';

/**
 * Error classification for the Suno contract (PROVIDERS §6 code table, §0.3 classes, §0.4 outcomes). The body
 * `code` wins over the HTTP status because sunoapi/kie answer errors as HTTP 200 (quirk 6); the HTTP status is
 * only a fallback for proxies and load balancers in front of them. Messages keep the upstream wording; the shared
 * sanitizer strips request ids and the rest on the way out of the adapter.
 */

export interface ClassifiedError {
  error: ProviderError;
  /**
   * The code that decides, for the shared start rule (shared/start-failure.ts): the body `code`, else the HTTP
   * status. 4xx codes (455 maintenance and 430 included) surely did not create a task; 5xx (500, 501 generation
   * failed, 505) and anything the envelope cannot place may have.
   */
  code: number;
}

const MODERATION = /sensitive|moderat|prohibited|inappropriate|violat/i;

function classify(code: number, message: string): ErrorClass {
  switch (code) {
    case 401:
    case 403:
      return 'auth';
    case 402:
      return 'upstream_quota';
    case 404:
      return 'not_found';
    case 400:
    case 413:
    case 422:
      // No documented submit-time moderation code; a validation answer whose text says so is treated as one.
      return MODERATION.test(message) ? 'moderation_input' : 'invalid_request';
    case 429:
    case 430: // kie: "call frequency too high"
      return 'rate_limited';
    case 455: // maintenance: the upstream refused the call outright
      return 'upstream_error';
    default:
      return code >= 400 && code < 500 ? 'invalid_request' : 'upstream_error';
  }
}

/**
 * Reads an upstream answer: null when it is a success envelope (`code` 200 on an HTTP 2xx), else the classified
 * error. An empty or non-JSON 2xx is a `network` class unknown outcome (quirk 10: never success).
 */
export function classifyResponse(response: UpstreamResponse, operation: string): ClassifiedError | null {
  const bodyCode = envelopeCode(response.json);
  const bodyMessage = (envelopeMessage(response.json) ?? '').replace(/\s+/g, ' ').trim();
  const httpOk = response.status >= 200 && response.status < 300;
  if (httpOk && bodyCode === 200) return null;
  if (httpOk && bodyCode === undefined) {
    const empty = response.bytes.length === 0;
    return {
      error: { class: empty ? 'network' : 'upstream_error', message: `suno ${operation}: ${empty ? 'empty' : 'non-envelope'} HTTP ${response.status} body` },
      code: response.status,
    };
  }
  const code = bodyCode !== undefined && bodyCode !== 200 ? bodyCode : response.status;
  const errorClass = classify(code, bodyMessage);
  const error: ProviderError = {
    class: errorClass,
    message: `suno ${operation}: code ${code} (HTTP ${response.status})${bodyMessage ? `: ${bodyMessage}` : ''}`,
  };
  if (errorClass === 'rate_limited') {
    const retryAfter = retryAfterSeconds(response.headers);
    if (retryAfter !== undefined) error.retryAfterSeconds = retryAfter;
  }
  return { error, code };
}

/** Error class of a failed task from its (normalised) status and `errorCode` / `errorMessage`. */
export function taskFailureClass(status: string, errorMessage: string | undefined): ErrorClass {
  if (status === 'sensitive_word_error' || MODERATION.test(errorMessage ?? '')) return 'moderation_input';
  return 'upstream_error';
}

/** kie.ai answers record-info for a task it does not know with HTTP 200 `{"code":422,"msg":"recordInfo is null"}`. */
const RECORD_MISSING = /recordinfo is null|task(id)? (does not|doesn't|not) exists?|task not found|no such task/i;

/**
 * True when a classified record-info answer says the upstream does not know the task: body (or HTTP) code 404
 * (PROVIDERS §6), or kie's code 422 "recordInfo is null" — which kie also answers for a moment right after a create,
 * the lag the engine's not-found grace absorbs.
 */
export function isRecordMissing(failure: ClassifiedError, response: UpstreamResponse): boolean {
  if (failure.error.class === 'not_found') return true;
  const code = envelopeCode(response.json) ?? response.status;
  return (code === 422 || code === 400) && RECORD_MISSING.test(envelopeMessage(response.json) ?? '');
}
