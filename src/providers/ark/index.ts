import { withSafeMessages } from '../shared/safe-messages.js';
import type { GenerationRequest, JsonValue, ProviderAdapter, ProviderContext, StartResult, StatusResult } from '../spec.js';
import type { ArkOperation } from './ark-api-types.js';
import { imageResult, startImage } from './ark-image.js';
import { effectiveSettings } from './ark-settings.js';
import { cancelVideo, startVideo, videoStatus } from './ark-video.js';

/**
 * Volcengine Ark / BytePlus ModelArk adapter (`ark`, PROVIDERS §2): Seedance video (async, poll + callbacks,
 * cancel while queued) and Seedream images (synchronous, fanned out per image). Settings: see ark-settings.ts.
 */
function asOperation(raw: JsonValue): ArkOperation {
  const operation = raw as unknown as ArkOperation | null;
  if (!operation || typeof operation !== 'object' || (operation.kind !== 'video' && operation.kind !== 'image')) {
    throw new Error('not an ark operation');
  }
  return operation;
}

export function createArkAdapter(settings: Record<string, unknown>): ProviderAdapter {
  const settingsFor = (context: ProviderContext) => effectiveSettings(settings, context.settings);
  return withSafeMessages({
    id: 'ark',
    // Creates are not idempotent upstream (§0.4): an unknown create outcome is never resubmitted blindly.
    capabilities: { kinds: ['video', 'image'], callbacks: true, cancel: true, idempotentCreates: false },

    async start(request: GenerationRequest, context: ProviderContext): Promise<StartResult> {
      if (request.kind === 'video') return startVideo(request, context, settingsFor(context));
      if (request.kind === 'image') return startImage(request, context, settingsFor(context));
      return { outcome: 'rejected', error: { class: 'unsupported', message: `ark does not generate ${request.kind}` } };
    },

    async status(raw: JsonValue, context: ProviderContext): Promise<StatusResult> {
      const operation = asOperation(raw);
      if (operation.kind === 'image') return imageResult(operation, context.baseUrl);
      return videoStatus(operation, context, settingsFor(context));
    },

    async cancel(raw: JsonValue, context: ProviderContext): Promise<{ cancelled: boolean }> {
      const operation = asOperation(raw);
      // A Seedream call finished before `start` returned: there is nothing left to cancel.
      if (operation.kind === 'image') return { cancelled: false };
      return cancelVideo(operation, context, settingsFor(context));
    },

    /**
     * Ark POSTs the GET body on every status change, unsigned (§2.4): only the task id is taken from it, and the
     * engine re-reads the task before acting. Duplicates and out-of-order deliveries are therefore harmless.
     */
    parseCallback(body: unknown): { providerTaskId: string } | null {
      if (!body || typeof body !== 'object') return null;
      const { id, status } = body as { id?: unknown; status?: unknown };
      if (typeof id !== 'string' || !/^cgt-[\w-]+$/.test(id) || typeof status !== 'string') return null;
      return { providerTaskId: id };
    },
  });
}
