import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../../app-type.js';
import { MAX_REPORT_GROUPS, OPERATOR_USAGE_COLUMNS, operatorUsageReport, toCsv, type UsageReportDeps } from '../../../workflows/usage-reports.js';
import { operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { ModeSchema, Pagination, Strict, pageLimit, parseTimestamp } from '../../schemas.js';

/**
 * `GET /api/admin/reports/usage` (API.md §8 "Reports", SEMANTICS M11): tasks created in [from, to) (default: the
 * last 30 days) grouped by day, customer, model or channel, with credits charged, upstream cost and margin; one page
 * of at most 1,000 groups; `format=csv` answers the same rows as CSV.
 */
export const ReportFormat = Type.Union([Type.Literal('json'), Type.Literal('csv')]);
const Query = Type.Composite(
  [
    Pagination,
    Type.Object({
      from: Type.Optional(Type.String({ maxLength: 64 })),
      to: Type.Optional(Type.String({ maxLength: 64 })),
      group_by: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('customer'), Type.Literal('model'), Type.Literal('channel')])),
      mode: Type.Optional(ModeSchema),
      format: Type.Optional(ReportFormat),
    }),
  ],
  Strict,
);

/** What the report route uses: operator auth and the report workflow (tasks, clock). */
export type ReportRouteDeps = OperatorAuthDeps & UsageReportDeps;

export function registerReportRoutes(app: App, deps: ReportRouteDeps): void {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/admin/reports/usage',
    { config: { face: 'operator' }, onRequest: operatorAuth(deps), schema: { querystring: Query } },
    async (request, reply) => {
      const query = request.query;
      const report = await operatorUsageReport(deps, {
        ...(query.from !== undefined ? { from: parseTimestamp(query.from, 'from') } : {}),
        ...(query.to !== undefined ? { to: parseTimestamp(query.to, 'to') } : {}),
        groupBy: query.group_by ?? 'day',
        mode: query.mode ?? 'live',
        limit: pageLimit(query, MAX_REPORT_GROUPS, MAX_REPORT_GROUPS),
        after: query.after ?? null,
      });
      if (query.format === 'csv') {
        return reply.header('content-type', 'text/csv; charset=utf-8').header('x-has-more', String(report.has_more)).send(toCsv(OPERATOR_USAGE_COLUMNS, report.rows));
      }
      return { object: 'usage_report', from: report.from, to: report.to, group_by: report.group_by, mode: query.mode ?? 'live', data: report.rows, has_more: report.has_more };
    },
  );
}
