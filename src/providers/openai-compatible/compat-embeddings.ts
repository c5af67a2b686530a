import { upstreamRequest } from '../shared/http.js';
import type { ProviderContext, TextResult } from '../spec.js';
import { classifyUpstreamError, networkError } from './compat-errors.js';
import { jsonHeaders, missingChannel, upstreamUrl } from './compat-request.js';
import type { CompatSettings } from './compat-settings.js';

/**
 * Embeddings (PROVIDERS §4.3, §7). Many compatible servers ignore or reject `encoding_format: "base64"`; with
 * `embeddingsBase64: false` the adapter asks for floats and encodes the base64 itself, so clients (the official SDK
 * asks for base64 by default) get the shape they asked for either way.
 */

/** Little-endian float32, exactly what OpenAI's base64 embeddings decode to. */
export function floatsToBase64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

function isFloatVector(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'number');
}

export async function embeddings(body: Record<string, unknown>, context: ProviderContext, settings: CompatSettings): Promise<TextResult> {
  const missing = missingChannel(context);
  if (missing) return { ok: false, error: missing };
  const wantsBase64 = body.encoding_format === 'base64';
  const out: Record<string, unknown> = { ...body, model: context.upstreamModel };
  if (wantsBase64 && !settings.embeddingsBase64) out.encoding_format = 'float';

  let response;
  try {
    response = await upstreamRequest({
      method: 'POST',
      url: upstreamUrl(context, '/embeddings'),
      headers: jsonHeaders(context, false),
      body: JSON.stringify(out),
      timeoutMs: settings.timeoutMs,
      ...(context.signal ? { signal: context.signal } : {}),
    });
  } catch (error) {
    return { ok: false, error: networkError(error) };
  }
  if (response.status < 200 || response.status >= 300) {
    return { ok: false, status: response.status, error: classifyUpstreamError(response.status, response.json, response.text, response.headers) };
  }
  const json = response.json;
  if (typeof json !== 'object' || json === null || Array.isArray(json) || 'error' in json) {
    const error = classifyUpstreamError(0, json, response.text, response.headers);
    return { ok: false, status: response.status, error: json ? error : { class: 'network', message: 'openai-compatible: 2xx with an empty or non-JSON body' } };
  }
  const result = json as Record<string, unknown>;
  if (wantsBase64 && Array.isArray(result.data)) {
    // Also covers upstreams that claim base64 support but answer floats anyway.
    result.data = result.data.map((item: unknown) => {
      if (typeof item !== 'object' || item === null) return item;
      const entry = item as Record<string, unknown>;
      return isFloatVector(entry.embedding) ? { ...entry, embedding: floatsToBase64(entry.embedding) } : entry;
    });
  }
  const usage = typeof result.usage === 'object' && result.usage !== null ? (result.usage as Record<string, unknown>) : {};
  const tokensIn = typeof usage.prompt_tokens === 'number' ? usage.prompt_tokens : typeof usage.total_tokens === 'number' ? usage.total_tokens : undefined;
  return { ok: true, stream: false, body: result, usage: tokensIn === undefined ? null : { tokens_in: tokensIn, tokens_out: 0 } };
}
