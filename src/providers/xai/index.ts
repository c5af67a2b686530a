import { createOpenAICompatibleText } from '../openai-compatible/index.js';
import { withSafeMessages } from '../shared/safe-messages.js';
import type { GenerationRequest, JsonValue, ProviderAdapter, ProviderContext, StartResult, StatusResult } from '../spec.js';
import { startImage } from './xai-image.js';
import { fromFinal, readOperation } from './xai-operation.js';
import { readSettings } from './xai-settings.js';
import { startVideo, videoStatus } from './xai-video.js';

/**
 * xAI Grok Imagine adapter (PROVIDERS §3): synchronous images, async poll-only video. Chat (§3.3) is served by
 * the text path, not by this generation adapter. xAI offers neither cancel nor callbacks, so the adapter has no
 * `cancel` and no `parseCallback`; creates are not idempotent upstream (§0.4). Settings: see `xai-settings.ts`.
 */
export function createXaiAdapter(settings: Record<string, unknown>): ProviderAdapter {
  const resolved = readSettings(settings);
  return withSafeMessages({
    id: 'xai',
    capabilities: { kinds: ['video', 'image'], callbacks: false, cancel: false, idempotentCreates: false },
    // Grok chat is OpenAI-compatible, but completion_tokens exclude reasoning tokens (PROVIDERS §3.3, quirk 21).
    text: createOpenAICompatibleText({ ...settings, reasoningInCompletion: false }),

    async start(request: GenerationRequest, context: ProviderContext): Promise<StartResult> {
      if (request.kind === 'image') return startImage(request, context, resolved);
      if (request.kind === 'video') return startVideo(request, context, resolved);
      return { outcome: 'rejected', error: { class: 'unsupported', message: `xai: ${request.kind} generation is not offered` } };
    },

    async status(raw: JsonValue, context: ProviderContext): Promise<StatusResult> {
      const operation = readOperation(raw);
      if (!operation) throw new Error('xai: not an xai operation');
      // Images finished inside start(): repeat that answer without calling xAI again.
      if (operation.kind === 'image') return fromFinal(operation.final);
      return videoStatus(operation, context, resolved);
    },
  });
}
