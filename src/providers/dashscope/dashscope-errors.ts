import type { ErrorClass, ProviderError } from '../spec.js';
import { retryAfterSeconds, type UpstreamResponse } from '../shared/http.js';
import { sanitize } from '../shared/sanitize.js';
import type { CreateError } from '../shared/start.js';
import type { DashscopeEnvelope } from './dashscope-api-types.js';

/**
 * DashScope error codes → canonical classes (PROVIDERS §5 code table, §0.3). DashScope signals failure by a
 * top-level `code` whatever the HTTP status (quirk 8), so the body is checked before the status is trusted.
 */

/** Where a code was seen: moderation codes mean input moderation at submit, output moderation inside a task. */
export type ErrorStage = 'submit' | 'task';

const MODERATION = new Set(['datainspectionfailed', 'data_inspection_failed', 'ipinfringementsuspect']);

/** Prefix rules, checked in order; codes are compared case-insensitively (both spellings occur upstream). */
const PREFIXES: Array<[string, ErrorClass]> = [
  ['invalidapikey', 'auth'],
  ['accessdenied', 'auth'],
  ['arrearage', 'upstream_quota'],
  ['throttling', 'rate_limited'],
  ['modelnotfound', 'not_found'],
  ['requesttimeout', 'network'],
  ['internalerror', 'upstream_error'],
  ['invalidparameter', 'invalid_request'],
  ['badrequest', 'invalid_request'],
  ['invalidurl', 'invalid_request'],
  ['invalidfile', 'invalid_request'],
];

/** The class of an upstream error code, falling back on the HTTP status when the code is not one we know. */
export function classifyCode(code: string | undefined, httpStatus: number, stage: ErrorStage): ErrorClass {
  const lowered = (code ?? '').trim().toLowerCase();
  if (MODERATION.has(lowered)) return stage === 'submit' ? 'moderation_input' : 'moderation_output';
  for (const [prefix, errorClass] of PREFIXES) if (lowered.startsWith(prefix)) return errorClass;
  return classifyStatus(httpStatus);
}

export function classifyStatus(httpStatus: number): ErrorClass {
  if (httpStatus === 401 || httpStatus === 403) return 'auth';
  if (httpStatus === 404) return 'not_found';
  if (httpStatus === 408) return 'network';
  if (httpStatus === 429) return 'rate_limited';
  if (httpStatus >= 400 && httpStatus < 500) return 'invalid_request';
  return 'upstream_error';
}

/**
 * Operator-facing message: `dashscope <code>: <upstream text>`, the text through the shared sanitizer (request ids
 * stripped, ids and hosts masked, length capped) so a chatty upstream cannot bloat the attempt record.
 */
export function operatorMessage(code: string | undefined, message: string | undefined, fallback: string): string {
  const text = sanitize(message ?? '');
  const head = code ? `dashscope ${code}` : `dashscope ${fallback}`;
  return text ? `${head}: ${text}` : head;
}

/** The top-level error code of an answer, when there is one (quirk 8: its presence alone means failure). */
export function envelopeCode(json: unknown): string | undefined {
  const code = (json as DashscopeEnvelope | undefined)?.code;
  return typeof code === 'string' && code.trim() !== '' ? code : undefined;
}

/**
 * The canonical error of a failed upstream answer, or undefined when the answer is not an error (2xx, no code).
 * Retry-after is reported for every rate-limited answer, whatever the status that carried it.
 */
export function answerError(response: UpstreamResponse, stage: ErrorStage): ProviderError | undefined {
  const code = envelopeCode(response.json);
  const ok = response.status >= 200 && response.status < 300;
  if (ok && code === undefined) return undefined;
  const body = response.json as DashscopeEnvelope | undefined;
  const errorClass = code !== undefined ? classifyCode(code, response.status, stage) : classifyStatus(response.status);
  const error: ProviderError = { class: errorClass, message: operatorMessage(code, body?.message, `HTTP ${response.status}`) };
  if (errorClass === 'rate_limited') {
    const after = retryAfterSeconds(response.headers);
    if (after !== undefined) error.retryAfterSeconds = after;
  }
  return error;
}

/**
 * DashScope's reading of a create answer for the shared start sequence (shared/start.ts): null when it is not an
 * error. Quirk 8 puts error codes inside HTTP 200s; such a code is a refusal (`rejected`) unless it says the server
 * itself failed (`upstream_error`, `network`: the task may exist, `unknown`). HTTP statuses follow the shared rule.
 */
export function createError(response: UpstreamResponse): CreateError | null {
  const error = answerError(response, 'submit');
  if (!error) return null;
  const ok = response.status >= 200 && response.status < 300;
  return { error, refused: ok && error.class !== 'upstream_error' && error.class !== 'network' };
}

/** A status read that could not be answered (network, 5xx, 429, auth): the engine treats a throw as transient. */
export class DashscopeReadError extends Error {
  constructor(readonly error: ProviderError) {
    super(error.message);
    this.name = 'DashscopeReadError';
  }
}
