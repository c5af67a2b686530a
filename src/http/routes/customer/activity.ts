import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../../../lib/clock.js';
import { AppError } from '../../../lib/errors.js';
import { isoOrNull } from '../../../lib/time.js';
import type { CatalogService } from '../../../modules/catalog/service.js';
import { atPercent, publicPricing } from '../../../modules/catalog/pricing.js';
import type { CustomerService } from '../../../modules/customers/service.js';
import type { MediaService } from '../../../modules/media/service.js';
import type { TaskService } from '../../../modules/tasks/service.js';
import type { WalletService } from '../../../modules/wallet/service.js';
import { nativeTaskView, taskIdFromJobId } from '../../../workflows/task-views.js';
import { MAX_REPORT_GROUPS, customerUsageCsv, customerUsageReport } from '../../../workflows/usage-reports.js';
import type { App } from '../../app-type.js';
import { customerSession, customerUserOf, type CustomerSessionDeps } from '../../plugins/customer-session.js';
import { balanceView, ledgerEntryView } from '../../presenters.js';
import { IdParam, ModeSchema, Pagination, Strict, pageLimit, parseTimestamp } from '../../schemas.js';
import { ReportFormat, refuseCsvLimit, sendCsv } from '../operator/reports.js';

/**
 * What the customer console shows of its customer (API.md §13): the overview (balances, spend, a 30-day series),
 * usage (the `/v1/usage` grouped report and CSV, same workflow), tasks (list with filters, detail with the signed
 * result links of the native view), the ledger and the customer's own prices (its group's). `mode` is live or test
 * (default live) wherever the data is per mode.
 */
const ModeQuery = Type.Object({ mode: Type.Optional(ModeSchema) }, Strict);
const UsageQuery = Type.Composite([
  Pagination,
  Type.Object({
    mode: Type.Optional(ModeSchema),
    from: Type.Optional(Type.String({ maxLength: 64 })),
    to: Type.Optional(Type.String({ maxLength: 64 })),
    group_by: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('model'), Type.Literal('key')])),
    format: Type.Optional(ReportFormat),
  }),
], Strict);
const STATUS_FILTER: Record<string, string[]> = {
  queued: ['queued', 'dispatching', 'submitted'], running: ['running'], succeeded: ['succeeded'], failed: ['failed'], cancelled: ['cancelled'], expired: ['expired'],
};
const TaskQuery = Type.Composite([
  Pagination,
  Type.Object({
    mode: Type.Optional(ModeSchema),
    type: Type.Optional(Type.Union(['video', 'image', 'music', 'chat', 'embedding'].map((type) => Type.Literal(type)))),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    status: Type.Optional(Type.Union(Object.keys(STATUS_FILTER).map((status) => Type.Literal(status)))),
    from: Type.Optional(Type.String({ maxLength: 64 })),
    to: Type.Optional(Type.String({ maxLength: 64 })),
  }),
], Strict);
const LedgerQuery = Type.Composite([Pagination, Type.Object({ mode: Type.Optional(ModeSchema) })], Strict);

export type CustomerActivityRouteDeps = CustomerSessionDeps & {
  clock: Clock; tasks: TaskService; media: MediaService; wallet: WalletService; catalog: CatalogService; customers: CustomerService;
};

const DAY_MS = 86_400_000;

export function registerCustomerActivityRoutes(app: App, deps: CustomerActivityRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = customerSession(deps, { require: 'authenticated' });

  app.get<{ Querystring: Static<typeof ModeQuery> }>('/console/api/overview', { config, onRequest, schema: { querystring: ModeQuery } }, async (request) => {
    const user = customerUserOf(request);
    const mode = request.query.mode ?? 'live';
    const now = deps.clock.now();
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    const from = new Date(today - 29 * DAY_MS);
    const report = await customerUsageReport(deps, user.customer_id, mode, { from, groupBy: 'day', limit: MAX_REPORT_GROUPS });
    const byDay = new Map(report.rows.map((row) => [row.key, row.credits ?? 0]));
    const series = Array.from({ length: 30 }, (_, index) => {
      const day = new Date(from.getTime() + index * DAY_MS).toISOString().slice(0, 10);
      return { day, charged: Number(byDay.get(day) ?? 0) };
    });
    const sum = (days: number) => series.slice(30 - days).reduce((total, point) => total + point.charged, 0);
    const balances = (await deps.wallet.balances([user.customer_id])).get(user.customer_id);
    if (!balances) throw new AppError('not_found', 'No such customer');
    return {
      mode,
      balances: { live: balanceView(balances.live), test: balanceView(balances.test) },
      spend: { today: sum(1), d7: sum(7), d30: sum(30) },
      series,
      base_url: `${deps.config.publicBaseUrl}/v1`,
    };
  });

  app.get<{ Querystring: Static<typeof UsageQuery> }>('/console/api/usage', { config, onRequest, schema: { querystring: UsageQuery } }, async (request, reply) => {
    const user = customerUserOf(request);
    const query = request.query;
    const mode = query.mode ?? 'live';
    refuseCsvLimit(query);
    const range = {
      ...(query.from !== undefined ? { from: parseTimestamp(query.from, 'from') } : {}),
      ...(query.to !== undefined ? { to: parseTimestamp(query.to, 'to') } : {}),
      groupBy: query.group_by ?? 'day',
      after: query.after ?? null,
    };
    if (query.format === 'csv') return sendCsv(reply, await customerUsageCsv(deps, user.customer_id, mode, range));
    const page = await customerUsageReport(deps, user.customer_id, mode, { ...range, limit: pageLimit(query, MAX_REPORT_GROUPS, MAX_REPORT_GROUPS) });
    return { mode, from: page.from, to: page.to, group_by: page.group_by, usage: page.rows, has_more: page.has_more };
  });

  app.get<{ Querystring: Static<typeof TaskQuery> }>('/console/api/tasks', { config, onRequest, schema: { querystring: TaskQuery } }, async (request) => {
    const user = customerUserOf(request);
    const query = request.query;
    const limit = pageLimit(query);
    const rows = await deps.tasks.listAll({
      customerId: user.customer_id,
      mode: query.mode ?? 'live',
      ...(query.model ? { model: query.model } : {}),
      ...(query.status ? { status: STATUS_FILTER[query.status] } : {}),
      ...(query.type ? { type: query.type } : {}),
      ...(query.from ? { from: parseTimestamp(query.from, 'from') } : {}),
      ...(query.to ? { to: parseTimestamp(query.to, 'to') } : {}),
      after: query.after ?? null,
      limit: limit + 1,
    });
    return { data: rows.slice(0, limit).map((row) => nativeTaskView(row, deps.media)), has_more: rows.length > limit };
  });

  // A task of either mode, but only of the caller's customer (another customer's id is answered like an unknown one).
  app.get<{ Params: Static<typeof IdParam> }>('/console/api/tasks/:id', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const user = customerUserOf(request);
    const id = taskIdFromJobId(request.params.id);
    const task = await deps.tasks.get(id);
    if (!task || task.customer_id !== user.customer_id) throw new AppError('not_found', 'No such task');
    return {
      ...nativeTaskView(task, deps.media),
      // Every time the task row keeps (no history table): created (queued), submitted upstream, last update, finished.
      timeline: {
        created_at: isoOrNull(task.created_at), submitted_at: isoOrNull(task.submitted_at),
        updated_at: isoOrNull(task.updated_at), completed_at: isoOrNull(task.completed_at),
      },
    };
  });

  app.get<{ Querystring: Static<typeof LedgerQuery> }>('/console/api/billing/ledger', { config, onRequest, schema: { querystring: LedgerQuery } }, async (request) => {
    const user = customerUserOf(request);
    const mode = request.query.mode ?? 'live';
    const limit = pageLimit(request.query);
    const after = request.query.after;
    const match = after === undefined ? null : /^le_(\d{1,18})$/.exec(after);
    if (after !== undefined && !match) throw new AppError('invalid_request', 'after must be a ledger entry id (le_…)', { param: 'after' });
    const walletId = await deps.wallet.walletId(user.customer_id, mode);
    const rows = await deps.wallet.ledger(walletId, limit + 1, match ? BigInt(match[1]!) : null);
    return { mode, ...balanceView(await deps.wallet.balance(user.customer_id, mode)), entries: rows.slice(0, limit).map((row) => ledgerEntryView(row, mode)), has_more: rows.length > limit };
  });

  app.get('/console/api/models', { config, onRequest }, async (request) => {
    const user = customerUserOf(request);
    const customer = await deps.customers.get(user.customer_id);
    const percent = await deps.catalog.percentFor(customer.group_name);
    const models = await deps.catalog.list();
    return {
      group: customer.group_name,
      data: models.map((model) => {
        const priced = atPercent(model, percent);
        return { id: priced.id, type: priced.type, category: priced.category, name: priced.display_name, capabilities: priced.capabilities, pricing: publicPricing(priced) };
      }),
    };
  });
}

