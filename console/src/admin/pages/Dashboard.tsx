import { keepPreviousData } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { Bar, BarChart, CartesianGrid, LabelList, Legend, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Badge, ChartEmpty, Credits, DataTable, ErrorState, Loading, PageHeader, Section, StatusBadge, TimeAgo, type Column } from '../../shared/components';
import { formatBucket, formatBucketSpan, formatCompact, formatCredits, formatDateTimeMinutes, formatNumber, formatPercent, formatUtcDate } from '../../shared/format';
import { useApiQuery } from '../../shared/query';
import type { Dashboard, DashboardWindow } from '../types';
import { TopupRevenueCard } from './payments/TopupRevenueCard';

/**
 * The dashboard: `GET /admin/api/admin/dashboard?window=24h|7d|30d` (the window is kept in the URL). Totals as
 * cards, revenue/cost/margin and requests per time bucket, requests and failure rate by model, tasks in flight,
 * channel health and the accounts that need attention. Refreshes every minute.
 *
 * The window is `[from, to)`, cut into hourly (24 h) or UTC-daily buckets; the last bucket is the one in progress, so
 * `to` is its end. Every bucket is drawn as a bar labelled by its start, the last one included, and the header names
 * the window by its first and last bucket, as the axis does.
 *
 * Cost and margin (API): the sums over succeeded tasks whose upstream cost is known; revenue counts every charged
 * task. The API sends 0 both for "no known cost" and for a real zero, so a row whose cost and margin are both 0 shows
 * "—" (nothing with a known cost contributed), and a footnote says what the figures cover.
 */
const WINDOWS: { value: DashboardWindow; label: string }[] = [
  { value: '24h', label: '24 h' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
];

const COLORS = { revenue: '#2f5bd3', cost: '#d9822b', margin: '#1d7a46', ok: '#6e8fe0', failed: '#c94a4a' };

function isWindow(value: string | null): value is DashboardWindow {
  return value === '24h' || value === '7d' || value === '30d';
}

export function DashboardPage() {
  const [params, setParams] = useSearchParams();
  const raw = params.get('window');
  const window: DashboardWindow = isWindow(raw) ? raw : '24h';
  const query = useApiQuery<Dashboard>('/admin/dashboard', { window }, { placeholderData: keepPreviousData, refetchInterval: 60_000 });

  return (
    <>
      <PageHeader
        title="Dashboard"
        description={query.data ? <WindowDescription data={query.data} /> : undefined}
        actions={
          <div className="segmented" role="group" aria-label="Time window">
            {WINDOWS.map((option) => (
              <button
                key={option.value}
                type="button"
                aria-pressed={option.value === window}
                onClick={() => setParams(option.value === '24h' ? {} : { window: option.value }, { replace: true })}
              >
                {option.label}
              </button>
            ))}
          </div>
        }
      />
      {query.isPending ? (
        <Loading label="Loading the dashboard…" />
      ) : query.isError ? (
        <ErrorState error={query.error} retry={() => void query.refetch()} />
      ) : (
        <DashboardBody data={query.data} refreshing={query.isFetching && query.isPlaceholderData} />
      )}
    </>
  );
}

/**
 * The window as the axis shows it: the first and the last bucket by their starts (hours in local time, days as UTC
 * dates), so the header ends where the axis ends; the exact `[from, to)` is in the tooltip.
 */
function WindowDescription(props: { data: Dashboard }) {
  const { data } = props;
  const first = data.series[0]?.at ?? data.from;
  const last = data.series.at(-1)?.at ?? data.from;
  const exact = `From ${formatDateTimeMinutes(data.from)} to ${formatDateTimeMinutes(data.to)} (end excluded)`;
  const text =
    data.bucket === 'hour'
      ? `Hourly, ${formatDateTimeMinutes(first)} to ${formatDateTimeMinutes(last)}: each bar starts at its label; the last is the hour in progress · live tasks`
      : `Daily (UTC days), ${formatUtcDate(first)} to ${formatUtcDate(last)}: the last is today · live tasks`;
  return <span title={exact}>{text}</span>;
}

/** True when nothing with a known upstream cost contributed to these figures (the API sends 0 for "unknown"). */
function costUnknown(figures: { cost: number; margin: number }): boolean {
  return figures.cost === 0 && figures.margin === 0;
}

const NO_COST = 'No task here has a known upstream cost.';

function DashboardBody(props: { data: Dashboard; refreshing: boolean }) {
  const { data } = props;
  const { totals } = data;
  const failureRate = totals.requests > 0 ? totals.failed / totals.requests : null;
  const totalsUnknown = costUnknown(totals);
  // Margin over the revenue of the tasks it covers (succeeded, known cost): cost + margin is exactly that revenue.
  const knownRevenue = totals.cost + totals.margin;
  const marginRate = !totalsUnknown && knownRevenue > 0 ? totals.margin / knownRevenue : null;
  const series = data.series.map((point) => ({ ...point, label: formatBucket(point.at, data.bucket), span: formatBucketSpan(point.at, data.bucket) }));
  const spanOf = (label: unknown, payload: readonly { payload?: { span?: string } }[] | undefined) => payload?.[0]?.payload?.span ?? String(label);
  const channelNames = new Map(data.channels.map((channel) => [channel.id, channel.name]));
  const rateTicks = failureRateTicks(Math.max(0, ...data.by_model.map((row) => row.failure_rate)));
  // A chart of zeros would show bare axes: say there is nothing instead.
  const noMoney = data.series.every((point) => !point.charged && !point.cost && !point.margin);
  const noRequests = data.series.every((point) => !point.succeeded && !point.failed);
  const modelChartHeight = Math.max(120, data.by_model.length * 34 + 48);
  const modelAxisWidth = Math.min(180, Math.max(90, ...data.by_model.map((row) => row.model.length * 7 + 16)));

  return (
    <div aria-busy={props.refreshing}>
      <div className="cards">
        <Card label="Requests" value={formatNumber(totals.requests)} sub={`${formatNumber(totals.failed)} failed`} />
        <Card label="Failure rate" value={formatPercent(failureRate)} sub={`of ${formatNumber(totals.requests)} requests`} />
        <Card label="Revenue" value={`${formatCompact(totals.charged)} cr`} full={formatCredits(totals.charged)} sub="credits charged" />
        <Card
          label="Upstream cost"
          value={totalsUnknown ? '—' : `${formatCompact(totals.cost)} cr`}
          full={totalsUnknown ? NO_COST : formatCredits(totals.cost)}
          sub={totalsUnknown ? 'no known cost' : 'where known'}
        />
        <Card
          label="Margin"
          value={totalsUnknown ? '—' : `${formatCompact(totals.margin)} cr`}
          full={totalsUnknown ? NO_COST : formatCredits(totals.margin)}
          sub={marginRate === null ? 'where cost is known' : `${formatPercent(marginRate)} (known cost)`}
        />
        <Card label="Tasks in flight" value={formatNumber(data.in_flight.total)} sub={`${formatNumber(data.in_flight.queued)} queued · ${formatNumber(data.in_flight.running)} running`} />
      </div>
      <TopupRevenueCard dashboard={data} />

      <div className="grid-2">
        <Section title="Revenue, cost and margin">
          {noMoney ? (
            <ChartEmpty title="No revenue in this window">No task was charged in this window; revenue, cost and margin show here per {data.bucket} once one is.</ChartEmpty>
          ) : (
            <figure className="chart" aria-label={`Revenue, upstream cost and margin per ${data.bucket}, in credits`}>
              <ResponsiveContainer width="100%" height="100%">
                <BarChart data={series} margin={{ top: 8, right: 12, bottom: 0, left: 0 }} barGap={0} barCategoryGap="20%">
                  <CartesianGrid stroke="#e6e8ec" vertical={false} />
                  <XAxis dataKey="label" tick={{ fontSize: 12 }} interval="preserveEnd" minTickGap={16} />
                  <YAxis tickFormatter={(value: number) => formatCompact(value)} tick={{ fontSize: 12 }} width={56} />
                  <ReferenceLine y={0} stroke="#b8bec8" />
                  <Tooltip formatter={(value) => formatCredits(Number(value))} labelFormatter={spanOf} />
                  <Legend itemSorter={null} />
                  <Bar dataKey="charged" name="Revenue" fill={COLORS.revenue} isAnimationActive={false} />
                  <Bar dataKey="cost" name="Upstream cost" fill={COLORS.cost} isAnimationActive={false} />
                  <Bar dataKey="margin" name="Margin" fill={COLORS.margin} isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </figure>
          )}
          <p className="chart-legend-note">Cost and margin: succeeded tasks with a known upstream cost only (see below).</p>
        </Section>
        <Section title="Requests over time">
          {noRequests ? (
            <ChartEmpty title="No requests in this window">Succeeded and failed requests show here per {data.bucket} once there are some.</ChartEmpty>
          ) : (
            <figure className="chart" aria-label={`Succeeded and failed requests per ${data.bucket}`}>
              <ResponsiveContainer width="100%" height="100%">
                <BarChart data={series} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
                  <CartesianGrid stroke="#e6e8ec" vertical={false} />
                  <XAxis dataKey="label" tick={{ fontSize: 12 }} interval="preserveEnd" minTickGap={16} />
                  <YAxis allowDecimals={false} tickFormatter={(value: number) => formatCompact(value)} tick={{ fontSize: 12 }} width={48} />
                  <Tooltip formatter={(value) => formatNumber(Number(value))} labelFormatter={spanOf} />
                  <Legend itemSorter={null} />
                  <Bar dataKey="succeeded" name="Succeeded" stackId="requests" fill={COLORS.ok} isAnimationActive={false} />
                  <Bar dataKey="failed" name="Failed" stackId="requests" fill={COLORS.failed} isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </figure>
          )}
          <p className="chart-legend-note">Tasks still running, cancelled or expired are counted in neither bar.</p>
        </Section>
      </div>

      <Section title="Requests and failure rate by model">
        {data.by_model.length === 0 ? (
          <p className="empty">No requests in this window.</p>
        ) : (
          <>
            <div className="grid-2 charts-by-model">
              <div>
                <h3 className="chart-title">Requests</h3>
                <figure className="chart-auto" aria-label="Requests by model" style={{ height: modelChartHeight }}>
                  <ResponsiveContainer width="100%" height="100%">
                    <BarChart data={data.by_model} layout="vertical" margin={{ top: 4, right: 16, bottom: 0, left: 0 }}>
                      <CartesianGrid stroke="#e6e8ec" horizontal={false} />
                      <XAxis type="number" allowDecimals={false} tickFormatter={(value: number) => formatCompact(value)} tick={{ fontSize: 12 }} />
                      <YAxis type="category" dataKey="model" tick={{ fontSize: 12 }} width={modelAxisWidth} interval={0} />
                      <Tooltip formatter={(value) => formatNumber(Number(value))} />
                      <Bar dataKey="requests" name="Requests" fill={COLORS.ok} maxBarSize={22} isAnimationActive={false}>
                        <LabelList dataKey="requests" position="right" fontSize={12} fill="#5d6675" formatter={(value) => formatNumber(Number(value))} />
                      </Bar>
                    </BarChart>
                  </ResponsiveContainer>
                </figure>
              </div>
              <div>
                <h3 className="chart-title">Failure rate</h3>
                <figure className="chart-auto" aria-label="Failure rate by model" style={{ height: modelChartHeight }}>
                  <ResponsiveContainer width="100%" height="100%">
                    <BarChart data={data.by_model} layout="vertical" margin={{ top: 4, right: 16, bottom: 0, left: 0 }}>
                      <CartesianGrid stroke="#e6e8ec" horizontal={false} />
                      <XAxis type="number" domain={[0, rateTicks.at(-1)!]} ticks={rateTicks} tickFormatter={(value: number) => formatPercent(value, 0)} tick={{ fontSize: 12 }} />
                      <YAxis type="category" dataKey="model" tick={{ fontSize: 12 }} width={modelAxisWidth} interval={0} />
                      <Tooltip formatter={(value) => formatPercent(Number(value))} />
                      <Bar dataKey="failure_rate" name="Failure rate" fill={COLORS.failed} maxBarSize={22} isAnimationActive={false}>
                        <LabelList dataKey="failure_rate" position="right" fontSize={12} fill="#5d6675" formatter={(value) => formatPercent(Number(value))} />
                      </Bar>
                    </BarChart>
                  </ResponsiveContainer>
                </figure>
              </div>
            </div>
            <ModelTable rows={data.by_model} />
            <p className="chart-legend-note">
              Revenue counts every charged task. Cost and margin count only succeeded tasks whose upstream cost is known (the channel that served them
              has a cost for the model); “—” means no such task. So a model's margin equals revenue − cost only when every charged task had a known
              cost: revenue from tasks without one is in neither cost nor margin.
            </p>
          </>
        )}
      </Section>

      <Section title="Channel health" actions={<Link to="/channels">All channels</Link>}>
        <DataTable
          rows={data.channels}
          rowKey={(row) => row.id}
          empty="No channels yet."
          columns={[
            { key: 'name', header: 'Channel', render: (row) => (<><Link to={`/channels/${row.id}`}>{row.name}</Link> {!row.enabled && <Badge tone="bad">disabled</Badge>}</>) },
            { key: 'active', header: 'Active', className: 'num', render: (row) => `${row.accounts_active} / ${row.accounts_total}` },
            { key: 'cooling', header: 'Cooling', className: 'num', render: (row) => formatNumber(row.accounts_cooling) },
            { key: 'disabled', header: 'Disabled', className: 'num', render: (row) => formatNumber(row.accounts_disabled) },
            { key: 'success', header: 'Success 24 h', className: 'num', render: (row) => formatPercent(row.success_rate_24h) },
          ]}
        />
      </Section>
      <Section title="Accounts needing attention">
        <DataTable
          rows={data.accounts_attention}
          rowKey={(row) => `${row.id}:${row.state}`}
          empty="Every account is fine."
          columns={[
            { key: 'account', header: 'Account', render: (row) => row.label ?? <code>{row.id}</code> },
            { key: 'channel', header: 'Channel', render: (row) => <Link to={`/channels/${row.channel_id}`}>{channelNames.get(row.channel_id) ?? <code>{row.channel_id}</code>}</Link> },
            { key: 'state', header: 'State', render: (row) => <StatusBadge status={row.state} /> },
            {
              key: 'why',
              header: 'Why',
              className: 'wrap',
              render: (row) => (
                <>
                  {row.reason ?? '—'}
                  {row.until && (
                    <div className="muted small">
                      until <TimeAgo value={row.until} />
                    </div>
                  )}
                  {row.balance !== null && (
                    <div className="muted small">
                      balance <Credits value={row.balance} />
                    </div>
                  )}
                </>
              ),
            },
          ]}
        />
      </Section>
    </div>
  );
}

/** Five whole-percent ticks from 0 to the smallest of 4 %, 8 %, 20 %, 40 %, 80 %, 100 % that holds `max`. */
function failureRateTicks(max: number): number[] {
  const top = [0.04, 0.08, 0.2, 0.4, 0.8, 1].find((value) => value >= max) ?? 1;
  return [0, 1, 2, 3, 4].map((step) => (top * step) / 4);
}

/** A total: `value` (compact), with the exact amount `full` as its tooltip and for screen readers. */
function Card(props: { label: string; value: string; full?: string; sub?: string }) {
  return (
    <div className="card">
      <div className="card-label">{props.label}</div>
      <div className="card-value" title={props.full}>
        {props.full ? (
          <>
            <span aria-hidden="true">{props.value}</span>
            <span className="visually-hidden">{props.full}</span>
          </>
        ) : (
          props.value
        )}
      </div>
      {props.sub && <div className="card-sub">{props.sub}</div>}
    </div>
  );
}

function ModelTable(props: { rows: Dashboard['by_model'] }) {
  const columns: Column<Dashboard['by_model'][number]>[] = [
    { key: 'model', header: 'Model', render: (row) => <code>{row.model}</code> },
    { key: 'requests', header: 'Requests', className: 'num', render: (row) => formatNumber(row.requests) },
    { key: 'failed', header: 'Failed', className: 'num', render: (row) => formatNumber(row.failed) },
    { key: 'rate', header: 'Failure rate', className: 'num', render: (row) => formatPercent(row.failure_rate) },
    { key: 'charged', header: 'Revenue', className: 'num', render: (row) => <Credits value={row.charged} /> },
    { key: 'cost', header: 'Cost', className: 'num', render: (row) => (costUnknown(row) ? <Unknown /> : <Credits value={row.cost} />) },
    { key: 'margin', header: 'Margin', className: 'num', render: (row) => (costUnknown(row) ? <Unknown /> : <Credits value={row.margin} />) },
  ];
  return <DataTable columns={columns} rows={props.rows} rowKey={(row) => row.model} empty="No requests." caption="By model" captionHidden />;
}

function Unknown() {
  return (
    <span className="muted" title={NO_COST}>
      —<span className="visually-hidden"> (no known cost)</span>
    </span>
  );
}
