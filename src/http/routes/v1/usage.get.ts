import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../../app-type.js';
import type { Clock } from '../../../lib/clock.js';
import type { TaskService } from '../../../modules/tasks/service.js';
import type { WalletService } from '../../../modules/wallet/service.js';
import { AppError } from '../../../lib/errors.js';
import { creditsToJson } from '../../../lib/money.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { Strict, parseTimestamp } from '../../schemas.js';

/** `GET /v1/usage` (API.md §3): the key's wallet; `from`/`to` add settled usage per model. */
const Query = Type.Object(
  { from: Type.Optional(Type.String({ maxLength: 64 })), to: Type.Optional(Type.String({ maxLength: 64 })) },
  Strict,
);

/** What the usage route uses: API-key auth, the wallet (balance), the tasks (usage per model) and the clock. */
export type UsageRouteDeps = ApiKeyAuthDeps & { wallet: WalletService; tasks: TaskService; clock: Clock };

export function registerUsageRoute(app: App, deps: UsageRouteDeps): void {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/v1/usage',
    { config: { face: 'jobs' }, onRequest: apiKeyAuth(deps), schema: { querystring: Query } },
    async (request) => {
      const principal = principalOf(request);
      const balance = await deps.wallet.balance(principal.customerId, principal.mode);
      const body: Record<string, unknown> = {
        creditsBalance: creditsToJson(balance.balance),
        creditsReserved: creditsToJson(balance.reserved),
        creditsAvailable: creditsToJson(balance.available),
        mode: principal.mode,
      };
      const { from, to } = request.query;
      if (from !== undefined || to !== undefined) {
        const start = from === undefined ? new Date(0) : parseTimestamp(from, 'from');
        const end = to === undefined ? deps.clock.now() : parseTimestamp(to, 'to');
        if (end.getTime() < start.getTime()) throw new AppError('invalid_request', 'to must not be before from', { param: 'to' });
        const rows = await deps.tasks.usageByModel(principal.customerId, principal.mode, start, end);
        body.usage = rows.map((row) => ({
          model: row.model,
          type: row.type,
          count: Number(row.count),
          credits: creditsToJson(row.credits),
        }));
      }
      return body;
    },
  );
}
