/**
 * Operator settings of an `openai-compatible` channel (PROVIDERS §7). Every OpenAI-compatible upstream differs a
 * little, so the differences are flags rather than code paths per vendor:
 *
 * - `reasoningInCompletion` (default true): OpenAI semantics, `completion_tokens` already includes
 *   `completion_tokens_details.reasoning_tokens`, so tokens_out = completion − reasoning. Set false for xAI-style
 *   upstreams whose `completion_tokens` excludes reasoning (quirk 21); then tokens_out = completion.
 * - `streamUsage` (default true): send `stream_options: {include_usage: true}` on streams so the final usage chunk
 *   can be metered (quirk 22). Set false for upstreams that reject `stream_options`; the field is then stripped
 *   from the body, and usage may be missing (usage() null, pricing decides).
 * - `embeddingsBase64` (default true): the upstream honours `encoding_format: "base64"`. Set false when it does not:
 *   the adapter then requests floats and encodes little-endian float32 base64 for the client itself.
 * - `timeoutMs` (default 120000): headers deadline, and the longest silence tolerated between two stream chunks.
 * - `balance` (default false): the upstream is a new-api / one-api gateway that answers the billing reads to API keys
 *   (PROVIDERS §8.1); the adapter then reads each account's remaining balance from them. Off by default because
 *   OpenAI itself and most compatible servers do not answer them to API keys.
 */
export interface CompatSettings {
  reasoningInCompletion: boolean;
  streamUsage: boolean;
  embeddingsBase64: boolean;
  timeoutMs: number;
  balance: boolean;
}

function flag(value: unknown, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  // Settings may come from a form or a config file as strings.
  if (value === 'true') return true;
  if (value === 'false') return false;
  return fallback;
}

export function readCompatSettings(raw: Record<string, unknown>): CompatSettings {
  const timeout = Number(raw.timeoutMs);
  return {
    reasoningInCompletion: flag(raw.reasoningInCompletion, true),
    streamUsage: flag(raw.streamUsage, true),
    embeddingsBase64: flag(raw.embeddingsBase64, true),
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 120_000,
    balance: flag(raw.balance, false),
  };
}
