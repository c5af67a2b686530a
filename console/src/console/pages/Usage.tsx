import { keepPreviousData } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { apiBase, queryString } from '../../shared/api';
import { ChartEmpty, DataTable, ErrorState, Loading, PageHeader, Section, type Column } from '../../shared/components';
import { formatBucket, formatBucketSpan, formatCompact, formatCredits, formatNumber } from '../../shared/format';
import { useApiQuery } from '../../shared/query';
import { ModeSwitch, Segmented, useMode } from '../components';
import type { ApiKey, GroupBy, List, UsageReport, UsageRow } from '../types';

/**
 * Usage: `GET /console/api/usage?mode&from&to&group_by` (the rows of `/v1/usage`) over the last 7 / 30 / 90 UTC days,
 * by day, model or key, as a chart and a table, and the same report as a CSV download (`format=csv`).
 */
const RANGES = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
] as const;
type Range = (typeof RANGES)[number]['value'];

/** The start of the UTC day `days − 1` days before today: the range covers `days` UTC days, today included. */
function rangeStart(days: number): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (days - 1))).toISOString();
}

export function UsagePage() {
  const [params, setParams] = useSearchParams();
  const [mode, setMode] = useMode();
  const range: Range = params.get('range') === '7' ? '7' : params.get('range') === '90' ? '90' : '30';
  const raw = params.get('by');
  const groupBy: GroupBy = raw === 'model' || raw === 'key' ? raw : 'day';
  const update = (key: string, value: string | null) =>
    setParams(
      (old) => {
        const copy = new URLSearchParams(old);
        if (value === null) copy.delete(key);
        else copy.set(key, value);
        return copy;
      },
      { replace: true },
    );
  const query = { mode, from: rangeStart(Number(range)), group_by: groupBy };
  const report = useApiQuery<UsageReport>('/usage', query, { placeholderData: keepPreviousData });
  const keys = useApiQuery<List<ApiKey>>('/keys', {}, { enabled: groupBy === 'key' });
  const csvHref = `${apiBase()}/usage${queryString({ ...query, format: 'csv' })}`;

  return (
    <>
      <PageHeader
        title="Usage"
        description="Your tasks by creation time (UTC days): requests, outcomes and credits charged."
        actions={
          <a className="button" href={csvHref} download>
            Export CSV
          </a>
        }
      />
      <div className="toolbar">
        <ModeSwitch mode={mode} onChange={setMode} />
        <Segmented label="Range" value={range} options={[...RANGES]} onChange={(value) => update('range', value === '30' ? null : value)} />
        <Segmented
          label="Group by"
          value={groupBy}
          options={[
            { value: 'day', label: 'By day' },
            { value: 'model', label: 'By model' },
            { value: 'key', label: 'By key' },
          ]}
          onChange={(value) => update('by', value === 'day' ? null : value)}
        />
      </div>
      {report.isPending ? (
        <Loading label="Loading the usage…" />
      ) : report.isError ? (
        <ErrorState error={report.error} retry={() => void report.refetch()} />
      ) : (
        <UsageBody report={report.data} groupBy={groupBy} days={Number(range)} keyNames={new Map((keys.data?.data ?? []).map((key) => [key.id, key.name]))} busy={report.isFetching} />
      )}
    </>
  );
}

/** Every UTC day of the range (`YYYY-MM-DD`), oldest first, so days without usage show as empty slots in the chart. */
function rangeDays(days: number): string[] {
  const start = Date.parse(rangeStart(days));
  return Array.from({ length: days }, (_, index) => new Date(start + index * 86_400_000).toISOString().slice(0, 10));
}

function UsageBody(props: { report: UsageReport; groupBy: GroupBy; days: number; keyNames: Map<string, string>; busy: boolean }) {
  const { report, groupBy } = props;
  const label = (row: UsageRow) =>
    groupBy === 'day' ? formatBucket(row.key, 'day') : groupBy === 'key' ? (props.keyNames.get(row.key) ?? row.key) : row.key;
  const rows = groupBy === 'day' ? [...report.usage].sort((a, b) => a.key.localeCompare(b.key)) : [...report.usage].sort((a, b) => b.credits - a.credits);
  const data = rows.map((row) => ({ ...row, label: label(row), span: groupBy === 'day' ? formatBucketSpan(row.key, 'day') : label(row) }));
  const total = rows.reduce((sum, row) => ({ requests: sum.requests + row.requests, credits: sum.credits + row.credits, failed: sum.failed + row.failed }), {
    requests: 0,
    credits: 0,
    failed: 0,
  });
  const columns: Column<(typeof data)[number]>[] = [
    { key: 'key', header: groupBy === 'day' ? 'Day (UTC)' : groupBy === 'model' ? 'Model' : 'API key', className: 'wrap', render: (row) => (groupBy === 'key' ? <span title={row.key}>{row.label}</span> : groupBy === 'day' ? row.span : <code className="mono">{row.key}</code>) },
    { key: 'requests', header: 'Requests', className: 'num', render: (row) => formatNumber(row.requests) },
    { key: 'succeeded', header: 'Succeeded', className: 'num', render: (row) => formatNumber(row.succeeded) },
    { key: 'failed', header: 'Failed', className: 'num', render: (row) => formatNumber(row.failed) },
    { key: 'credits', header: 'Credits', className: 'num', render: (row) => formatCredits(row.credits) },
  ];
  const horizontal = groupBy !== 'day';
  const byDay = new Map(rows.map((row) => [row.key.slice(0, 10), row.credits]));
  const chartData = horizontal
    ? data
    : rangeDays(props.days).map((day) => ({ key: day, credits: byDay.get(day) ?? 0, label: formatBucket(day, 'day'), span: formatBucketSpan(day, 'day') }));
  const height = horizontal ? Math.max(140, data.length * 34 + 48) : 280;
  return (
    <div className="stack" aria-busy={props.busy}>
      <p className="muted">
        {formatNumber(total.requests)} requests · {formatNumber(total.failed)} failed · {formatCredits(total.credits)} charged
        {report.has_more && ' · showing the first 1,000 groups (the CSV has all)'}
      </p>
      <Section title={groupBy === 'day' ? 'Credits per day' : groupBy === 'model' ? 'Credits per model' : 'Credits per key'}>
        {data.length === 0 ? (
          <ChartEmpty title="No usage in this range" height={160}>
            No request was made with your keys in the last {props.days} days. Requests show here by {groupBy} once there are some.
          </ChartEmpty>
        ) : total.credits === 0 ? (
          <ChartEmpty title="No credits charged in this range" height={160}>
            {formatNumber(total.requests)} requests, none charged (failed and cancelled requests cost nothing). The table below has them.
          </ChartEmpty>
        ) : (
          <div className="chart-auto" style={{ height }}>
            <ResponsiveContainer width="100%" height="100%">
              {horizontal ? (
                <BarChart data={data} layout="vertical" margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" horizontal={false} />
                  <XAxis type="number" tick={{ fontSize: 12 }} tickFormatter={(value: number) => formatCompact(value)} allowDecimals={false} />
                  <YAxis type="category" dataKey="label" tick={{ fontSize: 12 }} width={Math.min(200, Math.max(90, ...data.map((row) => row.label.length * 7 + 16)))} />
                  <Tooltip formatter={(value) => [formatCredits(Number(value)), 'Credits']} />
                  <Bar dataKey="credits" name="Credits" fill="#2f5bd3" maxBarSize={28} isAnimationActive={false} />
                </BarChart>
              ) : (
                <BarChart data={chartData} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" vertical={false} />
                  <XAxis dataKey="label" tick={{ fontSize: 12 }} interval="preserveStartEnd" minTickGap={16} />
                  <YAxis tick={{ fontSize: 12 }} tickFormatter={(value: number) => formatCompact(value)} width={48} allowDecimals={false} />
                  <Tooltip formatter={(value) => [formatCredits(Number(value)), 'Credits']} labelFormatter={(labelValue, payload) => payload?.[0]?.payload?.span ?? String(labelValue)} />
                  <Bar dataKey="credits" name="Credits" fill="#2f5bd3" isAnimationActive={false} />
                </BarChart>
              )}
            </ResponsiveContainer>
          </div>
        )}
      </Section>
      <Section title="Details">
        <DataTable columns={columns} rows={data} rowKey={(row) => row.key} empty="No usage in this range." caption="Usage" captionHidden />
      </Section>
    </div>
  );
}
