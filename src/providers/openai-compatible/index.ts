import { withSafeMessages, withSafeText } from '../shared/safe-messages.js';
import { readBillingBalance } from '../newapi/newapi-balance.js';
import type { ProviderAdapter, ProviderContext, StartResult, StatusResult, TextAdapter } from '../spec.js';
import { chat } from './compat-chat.js';
import { embeddings } from './compat-embeddings.js';
import { readCompatSettings } from './compat-settings.js';

/**
 * The `openai-compatible` adapter (PROVIDERS §7): chat completions (buffered or SSE) and embeddings against any
 * upstream speaking the OpenAI wire format. It offers no task generation, so `start` refuses and `status` has
 * nothing to read. Settings (`reasoningInCompletion`, `streamUsage`, `embeddingsBase64`, `timeoutMs`, `balance`)
 * are documented in compat-settings.ts.
 */
export { floatsToBase64 } from './compat-embeddings.js';
export { classifyUpstreamError, readUpstreamError } from './compat-errors.js';
export { readCompatSettings, type CompatSettings } from './compat-settings.js';
export { SseDecoder, type SseEvent } from './compat-sse.js';
export { isUsageOnlyChunk, normaliseUsage } from './compat-usage.js';

export function createOpenAICompatibleText(rawSettings: Record<string, unknown>): TextAdapter {
  const settings = readCompatSettings(rawSettings);
  return withSafeText({
    chat: (body, stream, context) => chat(body, stream, context, settings),
    embeddings: (body, context) => embeddings(body, context, settings),
  });
}

export function createOpenAICompatibleAdapter(rawSettings: Record<string, unknown>): ProviderAdapter {
  const text = createOpenAICompatibleText(rawSettings);
  const settings = readCompatSettings(rawSettings);
  return withSafeMessages({
    id: 'openai-compatible',
    capabilities: { kinds: [], cancel: false, idempotentCreates: false },
    text,
    async start(request): Promise<StartResult> {
      return { outcome: 'rejected', error: { class: 'unsupported', message: `openai-compatible: ${request.kind} generation is not offered` } };
    },
    async status(): Promise<StatusResult> {
      // No operation is ever accepted by `start`, so there is nothing to read: a call here is a programming error.
      throw new Error('openai-compatible: no generation tasks to read');
    },
    // A new-api / one-api upstream answers the billing reads (setting `balance`, PROVIDERS §7, §8.1).
    ...(settings.balance ? { balance: (context: ProviderContext) => readBillingBalance(context, Math.min(settings.timeoutMs, 30_000)) } : {}),
  });
}
