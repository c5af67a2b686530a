import type { ProviderContext, ProviderError, ReferenceInput } from '../spec.js';
import { upstreamRequest, type UpstreamResponse } from '../shared/http.js';
import { missingChannel } from '../shared/start.js';

/**
 * The few HTTP details every xAI call shares. The base URL and the credential come from the context on every call
 * and are never copied into an operation, so a stored operation reveals neither the key nor the upstream host.
 */
export const DEFAULT_BASE_URL = 'https://api.x.ai/v1';

export interface XaiTarget {
  baseUrl: string;
  credential: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The call target, or an `auth` error when the channel has no credential (nothing is sent then). */
export function targetOf(context: ProviderContext, timeoutMs: number): XaiTarget | ProviderError {
  const missing = missingChannel(context, 'xai', { baseUrl: false });
  if (missing) return missing;
  return {
    baseUrl: (context.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, ''),
    credential: context.credential!,
    timeoutMs,
    ...(context.signal ? { signal: context.signal } : {}),
  };
}

export function isTarget(value: XaiTarget | ProviderError): value is XaiTarget {
  return 'credential' in value;
}

/**
 * A create. `Idempotency-Key` carries the genrelay task id: xAI does not document it (creates are not idempotent,
 * PROVIDERS §0.4), but it costs nothing, and the mocks count accepted creates by it.
 */
export function postJson(target: XaiTarget, path: string, body: unknown, idempotencyKey: string): Promise<UpstreamResponse> {
  return upstreamRequest({
    method: 'POST',
    url: `${target.baseUrl}${path}`,
    headers: {
      authorization: `Bearer ${target.credential}`,
      'content-type': 'application/json',
      accept: 'application/json',
      'idempotency-key': idempotencyKey,
    },
    body: JSON.stringify(body),
    timeoutMs: target.timeoutMs,
    ...(target.signal ? { signal: target.signal } : {}),
  });
}

export function getJson(target: XaiTarget, path: string): Promise<UpstreamResponse> {
  return upstreamRequest({
    method: 'GET',
    url: `${target.baseUrl}${path}`,
    headers: { authorization: `Bearer ${target.credential}`, accept: 'application/json' },
    timeoutMs: target.timeoutMs,
    ...(target.signal ? { signal: target.signal } : {}),
  });
}

/**
 * What xAI should fetch for a reference: the shareable URL when the engine has one, otherwise a `data:` URI of the
 * bytes the engine already fetched (xAI accepts data URIs for images).
 */
export function referenceUrl(reference: ReferenceInput): string {
  return reference.url ?? `data:${reference.contentType};base64,${reference.bytes.toString('base64')}`;
}
