import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { App } from '../../app-type.js';
import { AppError } from '../../../lib/errors.js';
import { MAX_REPORT_GROUPS, operatorUsageCsv, operatorUsageReport, type CsvExport, type UsageReportDeps } from '../../../workflows/usage-reports.js';
import { operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { ModeSchema, Pagination, Strict, pageLimit, parseTimestamp } from '../../schemas.js';

/**
 * `GET /api/admin/reports/usage` (API.md §8 "Reports", SEMANTICS M11): tasks created in [from, to) (default: the
 * last 30 days) grouped by day, customer, model or channel, with credits charged, upstream cost and margin; one page
 * of at most 1,000 groups; `format=csv` streams every group of the range as a CSV attachment.
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

/** A CSV page is the whole range: `limit` belongs to JSON pages (`after` still resumes an export). */
export function refuseCsvLimit(query: { format?: string; limit?: unknown }): void {
  if (query.format === 'csv' && query.limit !== undefined) {
    throw new AppError('invalid_request', 'limit applies to JSON pages; format=csv exports every group of the range', { param: 'limit' });
  }
}

/** Answers a CSV export as a streamed attachment (`text/csv; charset=utf-8`, written batch by batch). */
export function sendCsv(reply: FastifyReply, csv: CsvExport) {
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${csv.filename}"`)
    .header('cache-control', 'no-store')
    .send(Readable.from(csv.chunks));
}

export function registerReportRoutes(app: App, deps: ReportRouteDeps): void {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/admin/reports/usage',
    { config: { face: 'operator' }, onRequest: operatorAuth(deps), schema: { querystring: Query } },
    async (request, reply) => {
      const query = request.query;
      refuseCsvLimit(query);
      const range = {
        ...(query.from !== undefined ? { from: parseTimestamp(query.from, 'from') } : {}),
        ...(query.to !== undefined ? { to: parseTimestamp(query.to, 'to') } : {}),
        groupBy: query.group_by ?? 'day',
        mode: query.mode ?? 'live',
        after: query.after ?? null,
      };
      if (query.format === 'csv') return sendCsv(reply, await operatorUsageCsv(deps, range));
      const report = await operatorUsageReport(deps, { ...range, limit: pageLimit(query, MAX_REPORT_GROUPS, MAX_REPORT_GROUPS) });
      return { object: 'usage_report', from: report.from, to: report.to, group_by: report.group_by, mode: query.mode ?? 'live', data: report.rows, has_more: report.has_more };
    },
  );
}
