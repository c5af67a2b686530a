import type { TokenUsage } from '../spec.js';

/**
 * Upstream `usage` → canonical token facts (PROVIDERS §12). `tokens_out` never includes reasoning (quirk 21):
 * whether `completion_tokens` already counts reasoning depends on the upstream, hence the flag.
 */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function normaliseUsage(raw: unknown, reasoningInCompletion: boolean): TokenUsage | null {
  const usage = record(raw);
  if (!usage) return null;
  // `input_tokens`/`output_tokens` are the Responses-API spellings some compatible servers emit instead.
  const prompt = count(usage.prompt_tokens) ?? count(usage.input_tokens);
  const completion = count(usage.completion_tokens) ?? count(usage.output_tokens);
  if (prompt === undefined && completion === undefined) return null;
  const promptDetails = record(usage.prompt_tokens_details) ?? record(usage.input_tokens_details);
  const completionDetails = record(usage.completion_tokens_details) ?? record(usage.output_tokens_details);
  const cached = count(promptDetails?.cached_tokens);
  const reasoning = count(completionDetails?.reasoning_tokens) ?? count(usage.reasoning_tokens);
  const completionTokens = completion ?? 0;
  const out = reasoningInCompletion && reasoning !== undefined ? Math.max(0, completionTokens - reasoning) : completionTokens;
  const result: TokenUsage = { tokens_in: prompt ?? 0, tokens_out: out };
  if (cached !== undefined) result.tokens_in_cached = cached;
  if (reasoning !== undefined) result.tokens_reasoning = reasoning;
  return result;
}

/** The final `choices: []` chunk that only exists because usage was requested; the engine may hide it from clients. */
export function isUsageOnlyChunk(json: Record<string, unknown>): boolean {
  return Array.isArray(json.choices) && json.choices.length === 0 && record(json.usage) !== undefined;
}
