import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { creditsToJson } from '../lib/money.js';
import type { UsageGroup, UsageReportRow } from '../modules/tasks/usage.js';

/**
 * Usage reports (SEMANTICS M11, API.md §8 "Reports" and §3 `/v1/usage`): tasks created in [from, to) grouped by
 * day (UTC), customer, model, channel or API key, one bounded page of at most 1,000 groups in key order (D5; `after`
 * is the last key of the previous page). The operator's rows carry the upstream cost and the margin; a customer's
 * rows never do (E3). As CSV, every group of the range is exported: read in batches of CSV_BATCH groups by key
 * (keyset), each batch its own short query, so no transaction stays open while the response is written.
 */
export type UsageReportDeps = Pick<Deps, 'tasks' | 'clock'>;

export const MAX_REPORT_GROUPS = 1000;
const DEFAULT_RANGE_MS = 30 * 24 * 60 * 60 * 1000;
/** Groups read per query while a CSV export streams. */
export const CSV_BATCH = 500;

export interface UsageReportQuery {
  from?: Date;
  to?: Date;
  groupBy: UsageGroup;
  limit?: number;
  after?: string | null;
}

export interface UsageReportPage<T> {
  from: string;
  to: string;
  group_by: UsageGroup;
  rows: T[];
  has_more: boolean;
}

/**
 * The range [from, to): `to` defaults to just after now (so tasks created this millisecond count), `from` to 30 days
 * before `to`; `to` before `from` is a 400 on `to`.
 */
function range(deps: UsageReportDeps, query: UsageReportQuery): { from: Date; to: Date } {
  const to = query.to ?? new Date(deps.clock.now().getTime() + 1);
  const from = query.from ?? new Date(to.getTime() - DEFAULT_RANGE_MS);
  if (to.getTime() < from.getTime()) throw new AppError('invalid_request', 'to must not be before from', { param: 'to' });
  return { from, to };
}

async function page(deps: UsageReportDeps, query: UsageReportQuery, scope: { customerId?: string; mode?: string }) {
  const limit = query.limit ?? MAX_REPORT_GROUPS;
  const { from, to } = range(deps, query);
  const rows = await deps.tasks.usageReport({ from, to, groupBy: query.groupBy, ...scope, after: query.after ?? null, limit: limit + 1 });
  return { from: from.toISOString(), to: to.toISOString(), group_by: query.groupBy, rows: rows.slice(0, limit), has_more: rows.length > limit };
}

const count = (value: bigint) => Number(value);
const credits = (value: bigint | null) => (value === null ? null : creditsToJson(value));

export function operatorUsageRow(row: UsageReportRow) {
  return {
    key: row.key === '' ? null : row.key, requests: count(row.requests), succeeded: count(row.succeeded), failed: count(row.failed),
    credits_charged: credits(row.charged), cost_credits: credits(row.cost), margin_credits: credits(row.margin),
  };
}

export function customerUsageRow(row: UsageReportRow) {
  return { key: row.key, requests: count(row.requests), succeeded: count(row.succeeded), failed: count(row.failed), credits: credits(row.charged) };
}

/** The operator's report over every customer of one mode (live unless asked). */
export async function operatorUsageReport(deps: UsageReportDeps, query: UsageReportQuery & { mode: 'live' | 'test' }): Promise<UsageReportPage<ReturnType<typeof operatorUsageRow>>> {
  const result = await page(deps, query, { mode: query.mode });
  return { ...result, rows: result.rows.map(operatorUsageRow) };
}

/** One customer's own usage in the key's mode, without costs. */
export async function customerUsageReport(deps: UsageReportDeps, customerId: string, mode: string, query: UsageReportQuery): Promise<UsageReportPage<ReturnType<typeof customerUsageRow>>> {
  const result = await page(deps, query, { customerId, mode });
  return { ...result, rows: result.rows.map(customerUsageRow) };
}

/** A CSV field: quoted when needed; a text cell that a spreadsheet would read as a formula gets a leading quote. */
function field(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One RFC 4180 record with its CRLF (the header row is the JSON field names). */
function csvLine(columns: readonly string[], row: Record<string, unknown>): string {
  return `${columns.map((column) => field(row[column])).join(',')}\r\n`;
}

/** A CSV export being written: its file name and its text, one chunk per batch (header first). */
export interface CsvExport {
  filename: string;
  chunks: AsyncIterable<string>;
}

/**
 * Every group of the range after `query.after` as CSV. The range is checked and the first batch read before this
 * returns, so a bad range (400) or a failing database (500) is answered as an error, not a cut-off file; later
 * batches are read as the client takes the text (a reader that goes away stops the export).
 */
async function csvExport<T extends Record<string, unknown>>(
  deps: UsageReportDeps,
  query: UsageReportQuery,
  scope: { customerId?: string; mode?: string },
  columns: readonly string[],
  view: (row: UsageReportRow) => T,
  name: string,
): Promise<CsvExport> {
  const { from, to } = range(deps, query);
  const batch = (after: string | null) => deps.tasks.usageReport({ from, to, groupBy: query.groupBy, ...scope, after, limit: CSV_BATCH });
  const first = await batch(query.after ?? null);
  async function* chunks(): AsyncGenerator<string> {
    yield `${columns.join(',')}\r\n`;
    let rows = first;
    for (;;) {
      if (rows.length > 0) yield rows.map((row) => csvLine(columns, view(row))).join('');
      if (rows.length < CSV_BATCH) return;
      // Keyset: the next batch starts after the last key seen (raw key, '' for "no channel"), so no group repeats.
      rows = await batch(rows[rows.length - 1]!.key);
    }
  }
  const day = (date: Date) => date.toISOString().slice(0, 10);
  return { filename: `${name}-${query.groupBy}-${day(from)}-${day(to)}.csv`, chunks: chunks() };
}

/** The operator's report of one mode as a CSV export of every group. */
export function operatorUsageCsv(deps: UsageReportDeps, query: UsageReportQuery & { mode: 'live' | 'test' }): Promise<CsvExport> {
  return csvExport(deps, query, { mode: query.mode }, OPERATOR_USAGE_COLUMNS, operatorUsageRow, `usage-${query.mode}`);
}

/** One customer's own usage in the key's mode as a CSV export of every group (no costs). */
export function customerUsageCsv(deps: UsageReportDeps, customerId: string, mode: string, query: UsageReportQuery): Promise<CsvExport> {
  return csvExport(deps, query, { customerId, mode }, CUSTOMER_USAGE_COLUMNS, customerUsageRow, `usage-${mode}`);
}

export const OPERATOR_USAGE_COLUMNS = ['key', 'requests', 'succeeded', 'failed', 'credits_charged', 'cost_credits', 'margin_credits'] as const;
export const CUSTOMER_USAGE_COLUMNS = ['key', 'requests', 'succeeded', 'failed', 'credits'] as const;
