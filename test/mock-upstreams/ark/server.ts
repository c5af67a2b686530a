import { startFamily, type Family, type MockOptions } from '../shared/harness.js';
import { imageGeneration } from './ark-mock-image.js';
import { ArkMockState } from './ark-mock-shared.js';
import { ArkVideoMock, type ArkMockSettings } from './ark-mock-video.js';

/**
 * Mock of Volcengine Ark / BytePlus ModelArk (PROVIDERS §2, §11.3). Paths are relative to the family root and
 * include the version prefix (`/api/v3/…`; the Agent Plan's `/api/plan/v3` works the same). Scenarios of §11.2
 * that apply to Ark: success, invalid_param, moderation_input (text / image variant), moderation_output(_once),
 * rate_limited;retry_after=N, unauthorized, quota_exhausted, server_error, overloaded, slow_headers, timeout,
 * conn_reset, empty_200, status_synonyms, callback_duplicate, callback_out_of_order, callback_fail (receiver
 * side; terminal callbacks are retried), expire, slow_queue;ms=N, url_short_ttl;ms=N, not_found[;ms=N] (reads 404,
 * for good or for the first N ms).
 */
export type { ArkMockSettings } from './ark-mock-video.js';

const ROOT = '^/api/(?:plan/)?v3';

export function createArkFamily(settings: ArkMockSettings = {}): Family {
  return (context) => {
    const state = new ArkMockState(context);
    const video = new ArkVideoMock(state, settings);
    return [
      { method: 'POST', path: new RegExp(`${ROOT}/contents/generations/tasks$`), name: 'create', handle: (request) => video.create(request) },
      { method: 'GET', path: new RegExp(`${ROOT}/contents/generations/tasks$`), name: 'list', handle: (request) => video.list(request) },
      { method: 'GET', path: new RegExp(`${ROOT}/contents/generations/tasks/([^/]+)$`), name: 'query', handle: (request, match) => video.query(request, decodeURIComponent(match[1]!)) },
      { method: 'DELETE', path: new RegExp(`${ROOT}/contents/generations/tasks/([^/]+)$`), name: 'cancel', handle: (request, match) => video.cancel(request, decodeURIComponent(match[1]!)) },
      { method: 'POST', path: new RegExp(`${ROOT}/images/generations$`), name: 'images', handle: (request) => imageGeneration(state, request) },
    ];
  };
}

export const arkFamily: Family = createArkFamily();

export function startArkMock(options?: MockOptions & ArkMockSettings) {
  const { concurrency, hourMs, ...mockOptions } = options ?? {};
  const settings: ArkMockSettings = {};
  if (concurrency !== undefined) settings.concurrency = concurrency;
  if (hourMs !== undefined) settings.hourMs = hourMs;
  return startFamily(createArkFamily(settings), 'ark', mockOptions);
}
