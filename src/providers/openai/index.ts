import { createOpenAICompatibleText } from '../openai-compatible/index.js';
import { withSafeMessages } from '../shared/safe-messages.js';
import { missingChannel } from '../shared/start.js';
import type { GenerationRequest, JsonValue, ProviderAdapter, ProviderContext, StartResult, StatusResult } from '../spec.js';
import type { OpenAIWebhookEvent } from './openai-api-types.js';
import { imageStatus, startImage, type ImageOperation } from './openai-image.js';
import { ResultCache } from './openai-result-cache.js';
import { readSettings } from './openai-settings.js';
import { startVideo, videoStatus, type VideoOperation } from './openai-video.js';

/**
 * The `openai` adapter (PROVIDERS §4): gpt-image / dall-e images (synchronous, base64) and Sora video (async,
 * polled, binary download). Chat and embeddings are served elsewhere. Settings are documented in
 * openai-settings.ts. Operations carry only upstream ids and requested values: never the credential, the base URL
 * or result bytes.
 */
export function createOpenAIAdapter(rawSettings: Record<string, unknown>): ProviderAdapter {
  const settings = readSettings(rawSettings);
  const cache = new ResultCache(settings.imageResultCacheBytes);

  return withSafeMessages({
    id: 'openai',
    // Sora webhooks are project-level, not per request, so `callbacks` stays false; `parseCallback` still reads
    // them for an operator who points the project webhook at genrelay. No upstream cancel exists (§4.5).
    capabilities: { kinds: ['image', 'video'], cancel: false, idempotentCreates: false },
    // Chat and embeddings speak the OpenAI wire format: completion_tokens include reasoning (quirk 21).
    text: createOpenAICompatibleText({ ...rawSettings, reasoningInCompletion: true }),

    async start(request: GenerationRequest, context: ProviderContext): Promise<StartResult> {
      const missing = missingChannel(context, 'openai', { baseUrl: false });
      if (missing) return { outcome: 'rejected', error: missing };
      if (request.kind === 'image') return startImage(request, context, settings, cache);
      if (request.kind === 'video') return startVideo(request, context, settings);
      return { outcome: 'rejected', error: { class: 'unsupported', message: `openai: ${request.kind} generation is not offered` } };
    },

    async status(raw: JsonValue, context: ProviderContext): Promise<StatusResult> {
      const operation = raw as unknown as ImageOperation | VideoOperation;
      if (operation?.kind === 'image') return imageStatus(operation, cache);
      if (operation?.kind === 'video') return videoStatus(operation, context, settings);
      throw new Error('openai: unrecognised operation');
    },

    /**
     * Project webhooks (`video.completed`, `video.failed`, Standard Webhooks envelope) name the video in
     * `data.id`. The signature is not checked here: the body is only a hint and the engine re-reads the video
     * with a GET before acting on it, so a forged event costs one poll.
     */
    parseCallback(body: unknown): { providerTaskId: string } | null {
      const event = body as OpenAIWebhookEvent | null;
      if (!event || typeof event !== 'object' || typeof event.type !== 'string' || !event.type.startsWith('video.')) return null;
      const id = event.data?.id;
      return typeof id === 'string' && id !== '' ? { providerTaskId: id } : null;
    },
  });
}
