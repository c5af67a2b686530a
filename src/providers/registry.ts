import type { AdapterFactory, ProviderAdapter } from './spec.js';
import { createArkAdapter } from './ark/index.js';
import { createDashscopeAdapter } from './dashscope/index.js';
import { createNewapiAdapter } from './newapi/index.js';
import { createOpenAIAdapter } from './openai/index.js';
import { createOpenAICompatibleAdapter } from './openai-compatible/index.js';
import { createSandboxAdapter } from './sandbox/sandbox.js';
import { createSunoAdapter } from './suno/index.js';
import { createXaiAdapter } from './xai/index.js';

/**
 * Provider id → adapter factory: a data map, so a new upstream is a folder plus one line here (ARCHITECTURE
 * rule 3). No code outside `providers/` compares provider ids; it reads `capabilities`.
 */
export const PROVIDER_FACTORIES: Readonly<Record<string, AdapterFactory>> = {
  sandbox: createSandboxAdapter,
  ark: createArkAdapter,
  xai: createXaiAdapter,
  dashscope: createDashscopeAdapter,
  openai: createOpenAIAdapter,
  newapi: createNewapiAdapter,
  suno: createSunoAdapter,
  'openai-compatible': createOpenAICompatibleAdapter,
};

export function createAdapter(providerId: string, settings: Record<string, unknown> = {}): ProviderAdapter {
  const factory = PROVIDER_FACTORIES[providerId];
  if (!factory) throw new Error(`unknown provider "${providerId}"`);
  return factory(settings);
}
