import { withSafeMessages } from '../shared/safe-messages.js';
import type { JsonValue, ProviderAdapter, ProviderContext } from '../spec.js';
import { asObject, asString, readSettings } from './newapi-api-types.js';
import { readBillingBalance } from './newapi-balance.js';
import { startVideo, videoStatus } from './newapi-video.js';

/**
 * Adapter for another gateway in the new-api `/v1/video/generations` style (PROVIDERS §8): new-api/one-api forks,
 * RelayDance, APIMart. Video only; async with polling and, in the default dialect, one unsigned final-state callback
 * to `metadata.callback_url`. Settings are documented on `NewapiSettings` (newapi-api-types.ts).
 *
 * No `cancel`: it is not part of the convention (§8), so the engine answers `task_not_cancellable` (SEMANTICS T13).
 * `balance` only where the channel's `balance` setting is on (default: the `newapi` dialect; §8.1): the engine reads
 * balances of every channel whose adapter has the method.
 */
export function createNewapiAdapter(settings: Record<string, unknown>): ProviderAdapter {
  const config = readSettings(settings);
  return withSafeMessages({
    id: 'newapi',
    capabilities: {
      kinds: ['video'],
      // Only the default dialect documents per-task callbacks; the others are polled.
      callbacks: config.dialect === 'newapi' && config.callbacks,
      cancel: false,
      idempotentCreates: false,
    },
    start: (request, context) => startVideo(request, context, config),
    status: (operation: JsonValue, context) => videoStatus(operation, context, config),
    parseCallback: (body) => parseCallback(body),
    ...(config.balance ? { balance: (context: ProviderContext) => readBillingBalance(context, config.timeoutMs) } : {}),
  });
}

/**
 * The callback is the query JSON POSTed unsigned (§8), so it is only a hint (SEMANTICS T7): the engine re-reads the
 * task with `status()`, which is why duplicates and a `running` arriving after the final state are harmless.
 */
export function parseCallback(body: unknown): { providerTaskId: string } | null {
  let value = body;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  const object = asObject(value);
  if (!object) return null;
  const data = asObject(object.data);
  const id = asString(object.task_id) ?? (object.object === 'video' ? asString(object.id) : undefined) ?? asString(data?.task_id) ?? asString(data?.id);
  const status = asString(object.status) ?? asString(data?.status);
  if (!id || !status || id.length > 200) return null;
  return { providerTaskId: id };
}
