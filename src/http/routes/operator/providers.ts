import { listProviders } from '../../../workflows/channels.js';
import type { App } from '../../app-type.js';
import { operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';

/**
 * `GET /api/admin/providers` (API.md §8 "Channels"): the upstream providers a channel may name, from the provider
 * registry (never a list kept here), each with the task types it serves, its capabilities and whether it reads
 * account balances — what the console's channel form offers.
 */
export type ProviderRouteDeps = OperatorAuthDeps;

export function registerProviderRoutes(app: App, deps: ProviderRouteDeps): void {
  app.get(
    '/api/admin/providers',
    { config: { face: 'operator' as const }, onRequest: operatorAuth(deps), schema: { summary: 'Upstream providers a channel may use' } },
    async () => ({ object: 'list', data: listProviders() }),
  );
}
