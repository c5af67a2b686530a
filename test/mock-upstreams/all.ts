import { arkFamily } from './ark/server.js';
import { dashscopeFamily } from './dashscope/server.js';
import { newapiFamily } from './newapi/server.js';
import { openaiFamily } from './openai/server.js';
import { chatMockRoutes, createChatHandler } from './openai-compatible/server.js';
import { mount, startMockServer, type Family, type MockOptions, type RunningMock } from './shared/harness.js';
import { SUNO_CDN_TTL_SECONDS, sunoFamily } from './suno/server.js';
import { xaiFamily } from './xai/server.js';

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

export async function startAllMocks(port = 0, options: MockOptions = {}): Promise<RunningMock> {
  return startMockServer(
    [
      mount('/ark', arkFamily, 'ark', options),
      mount('/xai', xaiFamily, 'xai', options),
      mount('/openai', openaiWithText, 'openai', options),
      mount('/dashscope', dashscopeFamily, 'dashscope', options),
      mount('/suno', sunoFamily, 'suno', { cdnTtlSeconds: SUNO_CDN_TTL_SECONDS, ...options }),
      mount('/newapi', newapiFamily, 'newapi', options),
    ],
    port,
  );
}
