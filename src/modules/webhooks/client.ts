import type { Config } from '../../config/index.js';
import { createSafeFetch, type SafeFetch } from '../../providers/shared/safe-fetch.js';
import { ATTEMPT_TIMEOUT_MS, CONNECT_TIMEOUT_MS, HEADERS_TIMEOUT_MS } from './fairness.js';

/** What the webhook sender needs of an HTTP client: the guarded POST (H8) and a way to let go of its sockets. */
export type WebhookClient = Pick<SafeFetch, 'postWebhook' | 'close'>;

/**
 * The guarded client (S1, H8) the webhook sender POSTs through: the same rules and trust list as the process's
 * safeFetch, but its own connection pools and webhook timeouts (fairness.ts): 3 s to connect, 10 s for the answer's
 * headers, 15 s for the whole attempt. Media downloads keep their own, longer connect timeout, and sockets held by
 * slow customer receivers never sit in the pools used for provider downloads.
 */
export function createWebhookClient(config: Pick<Config, 'allowHttpMedia' | 'safeFetchTrustedHosts'>): WebhookClient {
  return createSafeFetch({
    allowHttpMedia: config.allowHttpMedia,
    trustedHosts: config.safeFetchTrustedHosts,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    webhookTimeoutMs: ATTEMPT_TIMEOUT_MS,
  });
}
