import { keepPreviousData } from '@tanstack/react-query';
import { Navigate, useLocation } from 'react-router';
import { CopyInline, DataTable, ErrorState, FilterBar, Id, Loading, Mono, PageHeader, Pager, Section, StatusBadge, TimeAgo, usePager, type Column, type FilterField } from '../../../shared/components';
import { formatDateTime, formatNumber, formatTime } from '../../../shared/format';
import { useApiQuery } from '../../../shared/query';
import type { List, WebhookDelivery } from '../../types';
import { useUrlFilters } from '../../../shared/hooks';
import { listError } from '../tasks/filters';

/**
 * Every customer's webhook deliveries (`GET /admin/webhook-deliveries`), newest first, with each attempt: when, to
 * which host (never the callback's path or query), the status code and how long it took. Filters live in the URL.
 */
const KEYS = ['customer', 'task_id', 'endpoint_id', 'status', 'mode'] as const;
const STATUSES = ['pending', 'delivered', 'failed', 'cancelled'];
const PAGE_SIZE = 25;

export function DeliveriesPage() {
  const filters = useUrlFilters(KEYS);
  const pager = usePager(filters.key);
  const list = useApiQuery<List<WebhookDelivery>>('/admin/webhook-deliveries', { ...filters.values, limit: PAGE_SIZE, after: pager.after }, { placeholderData: keepPreviousData });

  const columns: Column<WebhookDelivery>[] = [
    {
      key: 'event',
      header: 'Event / delivery',
      className: 'nowrap',
      render: (row) => (
        <>
          <code>{row.event_type}</code>
          {row.webhook_id && (
            <div className="cell-line small" title={`webhook-id ${row.webhook_id} (the header the receiver sees)`}>
              <Id value={row.webhook_id} />
              <CopyInline text={row.webhook_id} label={`webhook-id ${row.webhook_id}`} />
            </div>
          )}
          {/* Delivery ids embed the task and endpoint ids, so a shortened one says nothing: named, copyable, whole in the tooltip. */}
          <div className="cell-line small muted" title={row.id}>
            delivery id <span className="visually-hidden">{row.id}</span>
            <CopyInline text={row.id} label={`delivery id ${row.id}`} />
          </div>
        </>
      ),
    },
    {
      key: 'customer',
      header: 'Customer / task',
      className: 'nowrap',
      render: (row) => (
        <>
          {row.customer_id ? <Id value={row.customer_id} to={`/customers/${row.customer_id}`} /> : <span className="muted">—</span>}
          <div className="small">{row.task_id ? <Id value={row.task_id} to={`/tasks/${row.task_id}`} /> : <span className="muted">no task</span>}</div>
        </>
      ),
    },
    { key: 'mode', header: 'Mode', render: (row) => row.mode },
    {
      key: 'target',
      header: 'Target',
      className: 'nowrap',
      render: (row) => (
        <>
          <Mono>{row.target_host ?? '—'}</Mono>
          <div className="muted small">
            {row.endpoint_id ? <span title={`endpoint ${row.endpoint_id}`}>endpoint <Id value={row.endpoint_id} /></span> : 'task callback_url'}
          </div>
        </>
      ),
    },
    {
      key: 'status',
      header: 'Status',
      className: 'nowrap',
      render: (row) => (
        <>
          <StatusBadge status={row.status} />
          {row.next_attempt_at && (
            <div className="muted small">
              {new Date(row.next_attempt_at).getTime() <= Date.now() ? 'due now' : <>next <TimeAgo value={row.next_attempt_at} /></>}
            </div>
          )}
        </>
      ),
    },
    { key: 'attempts', header: 'Attempts', render: (row) => <Attempts delivery={row} /> },
    {
      key: 'created',
      header: 'Created',
      className: 'nowrap',
      render: (row) => (
        <>
          <TimeAgo value={row.created_at} />
          {row.completed_at && (
            <div className="muted small">
              done <TimeAgo value={row.completed_at} />
            </div>
          )}
        </>
      ),
    },
  ];

  return (
    <>
      <PageHeader title="Webhook deliveries" description="Task events sent to customers' endpoints and callback URLs, with every attempt." />
      <Section title="Filters">
        <FilterBar key={filters.key} label="Delivery filters" fields={DELIVERY_FILTERS} values={filters.values} error={list.error} onApply={filters.apply} />
      </Section>
      <Section title="Deliveries">
        {list.isPending ? (
          <Loading label="Loading deliveries…" />
        ) : list.isError ? (
          <ErrorState error={list.error} {...listError(list.error, () => void list.refetch())} />
        ) : (
          <>
            {list.isPlaceholderData && <Loading inline label="Updating…" />}
            <DataTable columns={columns} rows={list.data.data} rowKey={(row) => row.id} caption="Webhook deliveries" captionHidden empty="No delivery matches these filters." />
            <Pager pager={pager} hasMore={list.data.has_more} nextCursor={list.data.data.at(-1)?.id} label="Delivery pages" />
          </>
        )}
      </Section>
    </>
  );
}

/** One line per attempt: `#1 10:02:01 · 503 · 19 ms` (the host only when it differs from the delivery's target). */
function Attempts(props: { delivery: WebhookDelivery }) {
  const { attempts, target_host: host } = props.delivery;
  if (attempts.length === 0) return <span className="muted">none yet</span>;
  return (
    <ol className="attempts">
      {attempts.map((attempt) => {
        const ok = attempt.status_code !== null && attempt.status_code >= 200 && attempt.status_code < 300;
        return (
          <li key={attempt.attempt}>
            <span className="muted">#{attempt.attempt}</span>{' '}
            <time dateTime={attempt.attempted_at ?? undefined} title={formatDateTime(attempt.attempted_at)}>
              {formatTime(attempt.attempted_at)}
            </time>
            {attempt.target_host && attempt.target_host !== host && (
              <>
                {' · '}
                <span className="mono">{attempt.target_host}</span>
              </>
            )}
            {' · '}
            <span className={ok ? 'status-ok' : 'status-bad'}>{attempt.status_code ?? 'no answer'}</span>
            {' · '}
            {attempt.duration_ms === null ? '—' : `${formatNumber(attempt.duration_ms)} ms`}
            {attempt.error && <div className="small status-bad">{attempt.error}</div>}
          </li>
        );
      })}
    </ol>
  );
}

const DELIVERY_FILTERS: FilterField<(typeof KEYS)[number]>[] = [
  { key: 'customer', label: 'Customer id', kind: 'text', placeholder: 'cus_…' },
  { key: 'task_id', label: 'Task id', kind: 'text', placeholder: 'task_…' },
  { key: 'endpoint_id', label: 'Endpoint id', kind: 'text' },
  { key: 'status', label: 'Status', kind: 'select', options: STATUSES },
  { key: 'mode', label: 'Mode', kind: 'select', options: ['live', 'test'] },
];

/** `/webhook-deliveries` (the first name of this page) → `/deliveries`, keeping the filters. */
export function DeliveriesRedirect() {
  const location = useLocation();
  return <Navigate to={`/deliveries${location.search}`} replace />;
}
