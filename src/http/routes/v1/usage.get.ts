import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../../app-type.js';
import type { Clock } from '../../../lib/clock.js';
import type { TaskService } from '../../../modules/tasks/service.js';
import type { WalletService } from '../../../modules/wallet/service.js';
import { AppError } from '../../../lib/errors.js';
import { creditsToJson } from '../../../lib/money.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { MAX_REPORT_GROUPS, customerUsageCsv, customerUsageReport } from '../../../workflows/usage-reports.js';
import { Pagination, Strict, pageLimit, parseTimestamp } from '../../schemas.js';
import { ReportFormat, refuseCsvLimit, sendCsv } from '../operator/reports.js';

/**
 * `GET /v1/usage` (API.md §3): the key's wallet; `from`/`to` add settled usage per model. `group_by=day|model|key`
 * answers the customer's own tasks created in [from, to) (default: the last 30 days) grouped instead, one page of
 * at most 1,000 groups, and `format=csv` streams every group of the range as a CSV attachment
 * (workflows/usage-reports.ts; never any upstream cost).
 */
const Query = Type.Composite(
  [
    Pagination,
    Type.Object({
      from: Type.Optional(Type.String({ maxLength: 64 })),
      to: Type.Optional(Type.String({ maxLength: 64 })),
      group_by: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('model'), Type.Literal('key')])),
      format: Type.Optional(ReportFormat),
    }),
  ],
  Strict,
);

/** What the usage route uses: API-key auth, the wallet (balance), the tasks (usage per model and grouped) and the clock. */
export type UsageRouteDeps = ApiKeyAuthDeps & { wallet: WalletService; tasks: TaskService; clock: Clock };

export function registerUsageRoute(app: App, deps: UsageRouteDeps): void {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/v1/usage',
    { config: { face: 'jobs' }, onRequest: apiKeyAuth(deps), schema: { querystring: Query } },
    async (request, reply) => {
      const principal = principalOf(request);
      const query = request.query;
      if (query.group_by === undefined && (query.format !== undefined || query.limit !== undefined || query.after !== undefined)) {
        const param = query.format !== undefined ? 'format' : query.limit !== undefined ? 'limit' : 'after';
        throw new AppError('invalid_request', `${param} applies to grouped usage; add group_by=day|model|key`, { param });
      }
      let grouped: Awaited<ReturnType<typeof customerUsageReport>> | null = null;
      if (query.group_by !== undefined) {
        refuseCsvLimit(query);
        const range = {
          ...(query.from !== undefined ? { from: parseTimestamp(query.from, 'from') } : {}),
          ...(query.to !== undefined ? { to: parseTimestamp(query.to, 'to') } : {}),
          groupBy: query.group_by,
          after: query.after ?? null,
        };
        if (query.format === 'csv') return sendCsv(reply, await customerUsageCsv(deps, principal.customerId, principal.mode, range));
        grouped = await customerUsageReport(deps, principal.customerId, principal.mode, { ...range, limit: pageLimit(query, MAX_REPORT_GROUPS, MAX_REPORT_GROUPS) });
      }
      const balance = await deps.wallet.balance(principal.customerId, principal.mode);
      const body: Record<string, unknown> = {
        creditsBalance: creditsToJson(balance.balance),
        creditsReserved: creditsToJson(balance.reserved),
        creditsAvailable: creditsToJson(balance.available),
        mode: principal.mode,
      };
      if (grouped) return { ...body, from: grouped.from, to: grouped.to, group_by: grouped.group_by, usage: grouped.rows, has_more: grouped.has_more };
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
