import { retryAfterSeconds } from '../shared/http.js';
import type { CreateError } from '../shared/start.js';
import type { ErrorClass, ProviderError } from '../spec.js';
import { asObject, asString } from './newapi-api-types.js';

/**
 * Error reading and classification for resellers (PROVIDERS §0.3, §0.4, §8). Forks answer in several shapes: the
 * OpenAI `{"error":{…}}` body from their middleware, new-api's task `{"code","message","data"}`, APIMart's numeric
 * body `code` inside HTTP 200 (§10 #6), plain text. So the parser is lenient (section 7 order) and the class is
 * decided by codes and substrings first, the HTTP status second.
 */

/** Pass-through moderation codes of the reseller's upstream (Ark `…SensitiveContentDetected`, DashScope, Suno) †. */
const MODERATION = /sensitive|moderation|datainspection|content[_ ]?policy|safety system/i;
/** new-api answers 503 `model_not_found` ("no available channel") before relaying: the create never left it. */
const MODEL_MISSING = /model_not_found|no available channel|无可用渠道/i;
const QUOTA = /quota|insufficient_balance|balance|arrearage|overdue|余额|额度/i;

/** Numeric body `code` of APIMart-style envelopes; 200 (or absent) means the body is not an error. */
export function bodyCode(json: unknown): number | undefined {
  const code = asObject(json)?.code;
  return typeof code === 'number' && code !== 200 && code !== 0 ? code : undefined;
}

/** Code and message from any of the shapes above. */
export function describeError(json: unknown, text: string): { code: string; message: string } {
  const body = asObject(json);
  const nested = asObject(body?.error);
  const code = asString(nested?.code) ?? asString(nested?.type) ?? asString(body?.code) ?? asString(body?.error_code) ?? '';
  const message =
    asString(nested?.message) ?? asString(body?.error) ?? asString(body?.message) ?? asString(body?.msg) ?? asString(body?.detail) ?? text;
  return { code, message };
}

function error(errorClass: ErrorClass, message: string, retryAfter?: number): ProviderError {
  return { class: errorClass, message, ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) };
}

/** Moderation inside a task failure: an `Input…` code blocked the request, anything else blocked the output. */
export function moderationClass(code: string, message: string): 'moderation_input' | 'moderation_output' | undefined {
  const blob = `${code} ${message}`;
  if (!MODERATION.test(blob)) return undefined;
  return /\binput|Input[A-Z]/.test(blob) ? 'moderation_input' : 'moderation_output';
}

/**
 * new-api's reading of a create answered with an error status (or an error envelope inside a 2xx, whose numeric body
 * code then decides like a status) for the shared start sequence (shared/start.ts): classes by codes and substrings
 * first, the status second. The outcome is the shared rule's: 4xx answers surely did not land, 5xx may have (the
 * reseller may have relayed before failing) — except new-api's own "no channel for this model", which is decided
 * before anything is relayed (`refused`).
 */
export function createError(status: number, headers: Record<string, string | string[] | undefined>, json: unknown, text: string): CreateError {
  const { code, message } = describeError(json, text);
  const effective = status >= 200 && status < 300 ? (bodyCode(json) ?? status) : status;
  const detail = `newapi create: HTTP ${effective}${code ? ` ${code}` : ''}: ${message || '(empty body)'}`;
  const blob = `${code} ${message}`;
  const answer = (errorClass: ErrorClass, retryAfter?: number, refused?: boolean): CreateError => ({
    error: error(errorClass, detail, retryAfter),
    status: effective,
    ...(refused ? { refused } : {}),
  });
  if (effective < 500 && MODERATION.test(blob)) return answer('moderation_input');
  if (MODEL_MISSING.test(blob)) return answer('not_found', undefined, true);
  if (effective === 429) return QUOTA.test(blob) && !/rate/i.test(code) ? answer('upstream_quota') : answer('rate_limited', retryAfterSeconds(headers));
  if (effective === 402) return answer('upstream_quota');
  if (effective === 401) return answer('auth');
  if (effective === 403) return answer(QUOTA.test(blob) ? 'upstream_quota' : 'auth');
  if (effective === 404) return answer('not_found');
  if (effective === 408 || effective === 409) return answer('network');
  if (effective >= 400 && effective < 500) return answer(QUOTA.test(blob) ? 'upstream_quota' : 'invalid_request');
  return answer('upstream_error');
}

/** new-api's `task_not_exist` (and the spellings forks use) on a task query. */
const TASK_MISSING = /task[_ ]?not[_ ]?(exists?|found)|task_origin_not_exist|no such task/i;

/**
 * True when a query answer says the reseller does not know the task: HTTP (or APIMart body) 404, or a 4xx whose
 * code or message is new-api's `task_not_exist` — which new-api answers with HTTP 400 on
 * `GET /v1/video/generations/{id}` and `/v1/videos/{id}`, and with 404 on some other fetch routes.
 */
export function isTaskMissing(status: number, json: unknown, text: string): boolean {
  if (status === 404) return true;
  if (status < 400 || status >= 500) return false;
  const { code, message } = describeError(json, text);
  return TASK_MISSING.test(`${code} ${message}`);
}

/**
 * A failed read (query or download). The engine treats a throw from `status` as a transient read and polls again
 * later (spec.ts), which is right for 429/5xx/network and for a key revoked mid-task (the deadline ends the task).
 */
export class NewapiReadError extends Error {
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
  ) {
    super(message);
    this.name = 'NewapiReadError';
  }
}

export function readError(status: number, json: unknown, text: string): NewapiReadError {
  const { code, message } = describeError(json, text);
  const detail = `query HTTP ${status}${code ? ` ${code}` : ''}: ${message || '(empty body)'}`;
  const errorClass: ErrorClass = status === 429 ? 'rate_limited' : status === 401 || status === 403 ? 'auth' : status >= 500 ? 'upstream_error' : 'network';
  return new NewapiReadError(errorClass, detail);
}

