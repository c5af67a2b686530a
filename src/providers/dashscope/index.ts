import { withSafeMessages } from '../shared/safe-messages.js';
import type { JsonValue, ProviderAdapter, ProviderContext } from '../spec.js';
import { readSettings } from './dashscope-settings.js';
import { cancelVideo, startVideo, videoStatus } from './dashscope-video.js';

/**
 * Alibaba Model Studio / DashScope (PROVIDERS §5): HappyHorse video, async, poll only (no callbacks, so no
 * `parseCallback`). Settings are documented in `dashscope-settings.ts`; the context's settings overlay the
 * factory's, so a channel can tune one value without a new adapter instance.
 */
export function createDashscopeAdapter(settings: Record<string, unknown>): ProviderAdapter {
  const configFor = (context: ProviderContext) => readSettings({ ...settings, ...context.settings });
  return withSafeMessages({
    id: 'dashscope',
    // Creates are not idempotent upstream (§0.4): an unknown outcome must not be resubmitted blindly.
    capabilities: { kinds: ['video'], callbacks: false, cancel: true, idempotentCreates: false },
    start: (request, context) => startVideo(request, context, configFor(context)),
    status: (operation: JsonValue, context) => videoStatus(operation, context, configFor(context)),
    cancel: (operation: JsonValue, context) => cancelVideo(operation, context, configFor(context)),
  });
}

export type { DashscopeOperation, VideoMode } from './dashscope-api-types.js';
export type { DashscopeUsageFacts } from './dashscope-video.js';
