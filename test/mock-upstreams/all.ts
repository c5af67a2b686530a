import { arkFamily } from './ark/server.js';
import { dashscopeFamily } from './dashscope/server.js';
import { newapiFamily } from './newapi/server.js';
import { openaiFamily } from './openai/server.js';
import { mount, startMockServer, type MockOptions, type RunningMock } from './shared/harness.js';
import { SUNO_CDN_TTL_SECONDS, sunoFamily } from './suno/server.js';
import { xaiFamily } from './xai/server.js';

/**
 * Every mock family on one port (PROVIDERS §11.1): channel base URLs are `http://127.0.0.1:N/ark/api/v3`,
 * `…/xai/v1`, `…/openai/v1`, `…/dashscope/api/v1`, `…/suno/api/v1`, `…/newapi/v1`.
 */
export const FAMILY_BASE_PATHS: Record<string, string> = {
  ark: '/ark/api/v3',
  xai: '/xai/v1',
  openai: '/openai/v1',
  dashscope: '/dashscope/api/v1',
  suno: '/suno/api/v1',
  newapi: '/newapi/v1',
};

export async function startAllMocks(port = 0, options: MockOptions = {}): Promise<RunningMock> {
  return startMockServer(
    [
      mount('/ark', arkFamily, 'ark', options),
      mount('/xai', xaiFamily, 'xai', options),
      mount('/openai', openaiFamily, 'openai', options),
      mount('/dashscope', dashscopeFamily, 'dashscope', options),
      mount('/suno', sunoFamily, 'suno', { cdnTtlSeconds: SUNO_CDN_TTL_SECONDS, ...options }),
      mount('/newapi', newapiFamily, 'newapi', options),
    ],
    port,
  );
}
