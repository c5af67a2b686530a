import type { WebhookService } from '../../../modules/webhooks/service.js';
import type { App } from '../../app-type.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';

/** What the webhook-secret routes use: API-key auth and the webhook service holding the secrets. */
export type WebhookSecretRouteDeps = ApiKeyAuthDeps & { webhooks: WebhookService };

/** The customer's callback signing secret for the key's mode (API.md §9, SEMANTICS H3/H4). */
export function registerWebhookSecretRoutes(app: App, deps: WebhookSecretRouteDeps): void {
  const config = { face: 'keys' as const };
  const onRequest = apiKeyAuth(deps, 'keys');
  app.get('/api/v1/webhook-secret', { config, onRequest }, async (request) => {
    const principal = principalOf(request);
    return { secret: await deps.webhooks.secret(principal.customerId, principal.mode) };
  });
  app.post('/api/v1/webhook-secret/rotate', { config, onRequest }, async (request) => {
    const principal = principalOf(request);
    return { secret: await deps.webhooks.rotate(principal.customerId, principal.mode), previous_valid_for_seconds: 86_400 };
  });
}
