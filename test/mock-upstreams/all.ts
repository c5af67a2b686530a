import { arkFamily } from './ark/server.js';
import { dashscopeFamily } from './dashscope/server.js';
import { newapiFamily } from './newapi/server.js';
import { openaiFamily } from './openai/server.js';
import { chatMockRoutes, createChatHandler } from './openai-compatible/server.js';
import { mount, startMockServer, type Family, type MockOptions, type RunningMock } from './shared/harness.js';
import { createStripeFamily, type StripeMockSettings } from './stripe/server.js';
import { SUNO_CDN_TTL_SECONDS, sunoFamily } from './suno/server.js';
import { xaiFamily } from './xai/server.js';
import { tronFamily } from './tron/server.js';
import { evmFamily } from './evm/server.js';

/**
 * Every mock family on one port (PROVIDERS §11.1): channel base URLs are `http://127.0.0.1:N/ark/api/v3`,
 * `…/xai/v1`, `…/openai/v1` (media and text), `…/dashscope/api/v1`, `…/suno/api/v1`, `…/newapi/v1`.
 */
export const FAMILY_BASE_PATHS: Record<string, string> = {
  ark: '/ark/api/v3',
  xai: '/xai/v1',
  openai: '/openai/v1',
  dashscope: '/dashscope/api/v1',
  suno: '/suno/api/v1',
  newapi: '/newapi/v1',
};

/**
 * `/openai` serves OpenAI's media APIs (images, Sora videos) and, on the same `/v1`, the OpenAI-compatible text
 * mock: `POST /v1/chat/completions` (streaming with usage, or not), `POST /v1/embeddings`, `GET /v1/models`. The
 * text routes come first, before the media family's catch-all 404; the key check is the harness's, like every route.
 */
const openaiWithText: Family = (context) => [
  ...chatMockRoutes(createChatHandler({ key: null, reasoning: 'included' })),
  ...openaiFamily(context),
];

/** The chain mocks: TRONGRID_URL is `http://127.0.0.1:N/tron`, EVM_RPC_URL is `http://127.0.0.1:N/evm`. */
export const CHAIN_BASE_PATHS: Record<string, string> = { tron: '/tron', evm: '/evm' };

/**
 * The fake Stripe API (stripe/server.ts) serves the root (`/v1/checkout/sessions`, `/checkout/:id`,
 * `/stripe/_mock/…`): the Stripe SDK has no base path, so STRIPE_API_BASE is the server's own origin. Mounted with
 * the empty prefix, it must stay the last family (the first prefix that matches a path wins). It takes any `sk_…`
 * key unless `key` names one.
 */
export async function startAllMocks(port = 0, options: MockOptions = {}, stripe: StripeMockSettings = {}): Promise<RunningMock> {
  return startMockServer(
    [
      mount('/ark', arkFamily, 'ark', options),
      mount('/xai', xaiFamily, 'xai', options),
      mount('/openai', openaiWithText, 'openai', options),
      mount('/dashscope', dashscopeFamily, 'dashscope', options),
      mount('/suno', sunoFamily, 'suno', { cdnTtlSeconds: SUNO_CDN_TTL_SECONDS, ...options }),
      mount('/newapi', newapiFamily, 'newapi', options),
      // The chain mocks (issue 13): a TronGrid-compatible API and an EVM JSON-RPC endpoint, keyless unless `key` names one.
      mount('/tron', tronFamily, 'tron', { ...options, key: options.key ?? null }),
      mount('/evm', evmFamily, 'evm', options),
      mount('', createStripeFamily(stripe), 'stripe', { ...options, key: options.key ?? null }),
    ],
    port,
  );
}
