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
 * Provider id → registry entry: a data map, so a new upstream is a folder plus one line here (ARCHITECTURE rule 3),
 * a mock in test/mock-upstreams/ and the conformance suite (test/providers/conformance.ts). No code outside
 * `providers/` compares provider ids: it reads `capabilities`, and asks this registry whether an id is internal.
 *
 * `internal: true` marks a provider genrelay runs itself rather than an upstream an operator configures: the
 * sandbox, which serves every test key (SEMANTICS K11). Operators cannot create channels of internal providers.
 */
export interface ProviderEntry {
  create: AdapterFactory;
  internal?: true;
}

export const PROVIDERS: Readonly<Record<string, ProviderEntry>> = {
  sandbox: { create: createSandboxAdapter, internal: true },
  ark: { create: createArkAdapter },
  xai: { create: createXaiAdapter },
  dashscope: { create: createDashscopeAdapter },
  openai: { create: createOpenAIAdapter },
  newapi: { create: createNewapiAdapter },
  suno: { create: createSunoAdapter },
  'openai-compatible': { create: createOpenAICompatibleAdapter },
};

/** The provider that runs test-mode tasks (an internal one). */
export const TEST_MODE_PROVIDER = 'sandbox';

/** Provider id → adapter factory, every provider (internal ones included). */
export const PROVIDER_FACTORIES: Readonly<Record<string, AdapterFactory>> = Object.fromEntries(
  Object.entries(PROVIDERS).map(([id, entry]) => [id, entry.create]),
);

export function isProvider(providerId: string | null | undefined): providerId is string {
  return typeof providerId === 'string' && Object.hasOwn(PROVIDERS, providerId);
}

/** True for providers genrelay runs itself (the sandbox): never an operator's channel, always routed internally. */
export function isInternalProvider(providerId: string | null | undefined): boolean {
  return isProvider(providerId) && PROVIDERS[providerId]!.internal === true;
}

/** The providers an operator may configure channels for. */
export function channelProviderIds(): string[] {
  return Object.keys(PROVIDERS).filter((id) => !isInternalProvider(id));
}

export function createAdapter(providerId: string, settings: Record<string, unknown> = {}): ProviderAdapter {
  if (!isProvider(providerId)) throw new Error(`unknown provider "${providerId}"`);
  return PROVIDERS[providerId]!.create(settings);
}
