import { UpstreamNetworkError, retryAfterSeconds } from '../shared/http.js';
import type { ProviderError } from '../spec.js';

/**
 * Error bodies of arbitrary OpenAI-compatible upstreams → canonical classes (PROVIDERS §0.3, §4.1, §7). Bodies are
 * not always OpenAI-shaped, so the message is read leniently: `error.message` → `error` (string) → `message` →
 * `msg` → raw text. Branch on the code before the status where the status is ambiguous (quirk 19: two 429s).
 * Messages are for operators' logs only, and still lose request ids and key fragments (an upstream 401 often
 * echoes part of the key): the text adapter's boundary (`withSafeText`, shared/safe-messages.ts) passes every one
 * through the shared sanitizer.
 */
export interface UpstreamErrorInfo {
  message: string;
  code: string;
  type: string;
}

type Headers = Record<string, string | string[] | undefined>;

const QUOTA = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active', 'quota_exceeded', 'account_deactivated']);
const MODERATION = /moderation|content_filter|content_policy|safety|sensitive/i;
const NOT_FOUND = new Set(['model_not_found', 'not_found', 'model_not_exist', 'model_not_available']);
const RATE = new Set(['rate_limit_exceeded', 'rate_limit_error', 'rate_limited', 'too_many_requests']);

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function codeOf(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** Reads whatever error shape the upstream used; `raw` is the body text when it was not JSON. */
export function readUpstreamError(json: unknown, raw: string): UpstreamErrorInfo {
  const body = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const nested = typeof body.error === 'object' && body.error !== null ? (body.error as Record<string, unknown>) : undefined;
  const message =
    text(nested?.message) ?? text(nested?.msg) ?? text(body.error) ?? text(body.message) ?? text(body.msg) ?? (raw.trim().slice(0, 300) || 'no error body');
  const code = codeOf(nested?.code) || codeOf(body.code);
  const type = codeOf(nested?.type) || codeOf(body.type);
  return { message, code, type };
}

/** Go-style duration (`12ms`, `1.2s`, `6m0s`) in milliseconds. */
function goDuration(value: string): number | undefined {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return parts.reduce((sum, part) => sum + Number(part[1]) * (unit[part[2]!] ?? 0), 0);
}

/** `retry-after` / `retry-after-ms`, else "Please try again in 1.2s." from the message. */
function retryAfter(headers: Headers, message: string): number | undefined {
  const fromHeader = retryAfterSeconds(headers);
  if (fromHeader !== undefined) return fromHeader;
  const hint = /try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)/i.exec(message);
  const milliseconds = hint ? goDuration(hint[1]!) : undefined;
  return milliseconds !== undefined ? Math.max(1, Math.ceil(milliseconds / 1000)) : undefined;
}

/**
 * Classifies an error answer. `status` 0 means an error event inside a 200 stream (or body): then only the code
 * and type decide, and anything unrecognised is an upstream failure.
 */
export function classifyUpstreamError(status: number, json: unknown, raw: string, headers: Headers): ProviderError {
  const info = readUpstreamError(json, raw);
  const label = [info.type, info.code].filter(Boolean).join('/') || '-';
  const message = `openai-compatible HTTP ${status || 'stream'} ${label}: ${info.message}`;
  const codes = `${info.code} ${info.type}`;

  if (QUOTA.has(info.code) || QUOTA.has(info.type) || status === 402) return { class: 'upstream_quota', message };
  if (status === 429 || RATE.has(info.code) || RATE.has(info.type)) {
    const seconds = retryAfter(headers, info.message);
    return { class: 'rate_limited', message, ...(seconds !== undefined ? { retryAfterSeconds: seconds } : {}) };
  }
  if (status === 401 || status === 403 || info.code === 'invalid_api_key') return { class: 'auth', message };
  if (status === 404 || NOT_FOUND.has(info.code)) return { class: 'not_found', message };
  if (status >= 400 && status < 500 && MODERATION.test(codes)) return { class: 'moderation_input', message };
  if (status === 408 || status === 409) return { class: 'network', message };
  if (status >= 400 && status < 500) return { class: 'invalid_request', message };
  return { class: 'upstream_error', message };
}

export function networkError(error: unknown): ProviderError {
  if (error instanceof UpstreamNetworkError) {
    const detail = `${error.message}${error.timedOut ? ' (timed out)' : ''}${error.sent ? '' : ' (not sent)'}`;
    return { class: 'network', message: `openai-compatible network: ${detail}` };
  }
  return { class: 'network', message: `openai-compatible: ${(error as Error)?.message ?? String(error)}` };
}
