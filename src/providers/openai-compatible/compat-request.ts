import type { UpstreamStream } from '../shared/http-stream.js';
import { missingChannel as channelProblem } from '../shared/start.js';
import type { ProviderContext, ProviderError } from '../spec.js';

/** Request plumbing shared by chat and embeddings. */

/** A channel without a base URL or key cannot be called; `auth` makes the engine disable it and fail over. */
export function missingChannel(context: ProviderContext): ProviderError | null {
  return channelProblem(context, 'openai-compatible', { baseUrl: true });
}

/** The channel's base URL already includes the version prefix (`…/v1`, PROVIDERS §0.1). */
export function upstreamUrl(context: ProviderContext, path: string): string {
  return `${(context.baseUrl ?? '').replace(/\/+$/, '')}${path}`;
}

export function jsonHeaders(context: ProviderContext, stream: boolean): Record<string, string> {
  return {
    authorization: `Bearer ${context.credential ?? ''}`,
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
  };
}

const ERROR_BODY_CAP = 64 * 1024;

/** Reads an error body of a streaming request (bounded: an error page is never worth megabytes), then closes it. */
export async function readErrorBody(upstream: UpstreamStream): Promise<{ json: unknown; text: string }> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of upstream.body) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= ERROR_BODY_CAP) break;
    }
  } catch {
    // A body that breaks off still leaves the status to classify on.
  }
  // Leaving the loop early (cap reached) already closed the connection through the body iterator.
  const text = Buffer.concat(parts).toString('utf8').slice(0, ERROR_BODY_CAP);
  try {
    return { json: text ? JSON.parse(text) : undefined, text };
  } catch {
    return { json: undefined, text };
  }
}
