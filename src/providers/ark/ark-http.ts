import { upstreamRequest, type UpstreamResponse } from '../shared/http.js';
import { missingChannel as channelProblem } from '../shared/start.js';
import type { ProviderContext, ProviderError } from '../spec.js';

/**
 * The one place that turns a channel context into an Ark HTTP call. The base URL already carries the version
 * prefix (`…/api/v3`, PROVIDERS §0.1), so paths here start after it.
 */
export interface ArkCall {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  /** Sent on creates only: Ark ignores it, the mocks count creates by it (§0.4). */
  idempotencyKey?: string;
  timeoutMs: number;
}

/** A channel that cannot be called at all; checked before anything is sent, so a create is surely not accepted. */
export function missingChannel(context: ProviderContext): ProviderError | null {
  return channelProblem(context, 'ark', { baseUrl: true });
}

export function arkUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

/** Throws `UpstreamNetworkError` on transport failures; never on an HTTP status. */
export async function arkRequest(context: ProviderContext, call: ArkCall): Promise<UpstreamResponse> {
  const headers: Record<string, string> = { authorization: `Bearer ${context.credential ?? ''}`, accept: 'application/json' };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  if (call.idempotencyKey) headers['idempotency-key'] = call.idempotencyKey;
  return upstreamRequest({
    method: call.method,
    url: arkUrl(context.baseUrl ?? '', call.path),
    headers,
    ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
    timeoutMs: call.timeoutMs,
    ...(context.signal ? { signal: context.signal } : {}),
  });
}

export function isSuccess(response: UpstreamResponse): boolean {
  return response.status >= 200 && response.status < 300;
}

/**
 * Result URLs on the channel's own origin are stored origin-relative, so no operation ever names the upstream host
 * (the mock CDN shares it; real Ark results live on TOS hosts and stay absolute).
 */
export function toStoredUrl(url: string, baseUrl: string): string {
  try {
    const target = new URL(url);
    if (target.origin === new URL(baseUrl).origin) return `${target.pathname}${target.search}`;
  } catch {
    // Not a parseable absolute URL: keep it as given; the engine's guard decides.
  }
  return url;
}

export function fromStoredUrl(url: string, baseUrl: string | undefined): string {
  if (!url.startsWith('/') || !baseUrl) return url;
  return `${new URL(baseUrl).origin}${url}`;
}
