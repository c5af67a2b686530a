import { keepPreviousData } from '@tanstack/react-query';
import { Link } from 'react-router';
import { Credits, DataTable, ErrorState, FilterBar, Id, Loading, PageHeader, Pager, Section, StatusBadge, TimeAgo, usePager, type Column, type FilterField } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import type { AdminModel, Channel, List, OperatorTask } from '../../types';
import { useUrlFilters } from '../../../shared/hooks';
import { listError } from './filters';

/**
 * Every customer's tasks (`GET /admin/tasks`), newest first, filtered by customer, model, status, type, mode and
 * creation time (`from` inclusive, `to` exclusive), cursor-paged. Filters live in the URL.
 */
const KEYS = ['customer', 'model', 'status', 'type', 'mode', 'from', 'to'] as const;
type Filters = Record<(typeof KEYS)[number], string>;
const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'];
const TYPES = ['video', 'image', 'music', 'chat', 'embedding'];
const MODES = ['live', 'test'];
const PAGE_SIZE = 25;

export function TasksPage() {
  const filters = useUrlFilters(KEYS);
  const pager = usePager(filters.key);
  const tasks = useApiQuery<List<OperatorTask>>('/admin/tasks', { ...filters.values, limit: PAGE_SIZE, after: pager.after }, { placeholderData: keepPreviousData });
  const channels = useApiQuery<List<Channel>>('/admin/channels');
  const channelName = new Map((channels.data?.data ?? []).map((channel) => [channel.id, channel.name]));

  const columns: Column<OperatorTask>[] = [
    {
      key: 'id',
      header: 'Task',
      className: 'nowrap',
      render: (row) => (
        <>
          <Id value={row.id} to={`/tasks/${row.id}`} />
          <div className="muted small">
            {row.type} · {row.mode}
          </div>
        </>
      ),
    },
    { key: 'customer', header: 'Customer', className: 'nowrap', render: (row) => <Id value={row.customer_id} to={`/customers/${row.customer_id}`} /> },
    { key: 'model', header: 'Model', className: 'nowrap', render: (row) => <code className="nowrap">{row.model}</code> },
    {
      key: 'status',
      header: 'Status',
      render: (row) => (
        <>
          <StatusBadge status={row.status} />
          {row.error?.code && row.error.code !== row.status && <div className="muted small mono">{row.error.code}</div>}
        </>
      ),
    },
    {
      key: 'upstream',
      header: 'Channel / account',
      className: 'wrap',
      render: (row) =>
        row.channel_id ? (
          <>
            {channelName.has(row.channel_id) ? (
              <Link to={`/channels/${row.channel_id}`}>{channelName.get(row.channel_id)}</Link>
            ) : (
              <Id value={row.channel_id} to={`/channels/${row.channel_id}`} />
            )}
            <div className="muted small">{row.account_label ?? (row.account_id ? <Id value={row.account_id} /> : '—')}</div>
          </>
        ) : (
          <span className="muted">{row.provider ?? '—'}</span>
        ),
    },
    { key: 'charged', header: 'Charged', className: 'num', render: (row) => <Credits value={row.credits.charged} /> },
    { key: 'cost', header: 'Cost', className: 'num', render: (row) => <Credits value={row.credits.cost} /> },
    { key: 'created', header: 'Created', className: 'nowrap', render: (row) => <TimeAgo value={row.created_at} /> },
  ];

  return (
    <>
      <PageHeader title="Tasks" description="Every customer's tasks, newest first, with the upstream that served them." />
      <Section title="Filters">
        <TaskFilters key={filters.key} values={filters.values} error={tasks.error} onApply={filters.apply} />
      </Section>
      <Section title="Tasks">
        {tasks.isPending ? (
          <Loading label="Loading tasks…" />
        ) : tasks.isError ? (
          <ErrorState error={tasks.error} {...listError(tasks.error, () => void tasks.refetch())} />
        ) : (
          <>
            {tasks.isPlaceholderData && <Loading inline label="Updating…" />}
            <DataTable columns={columns} rows={tasks.data.data} rowKey={(row) => row.id} caption="Tasks" captionHidden empty="No task matches these filters." />
            <Pager pager={pager} hasMore={tasks.data.has_more} nextCursor={tasks.data.data.at(-1)?.id} label="Task pages" />
          </>
        )}
      </Section>
    </>
  );
}

function TaskFilters(props: { values: Filters; error: unknown; onApply: (values: Filters) => void }) {
  const models = useApiQuery<List<AdminModel>>('/admin/models');
  const fields: FilterField<(typeof KEYS)[number]>[] = [
    { key: 'customer', label: 'Customer id', kind: 'text', placeholder: 'cus_…' },
    { key: 'model', label: 'Model', kind: 'text', suggestions: (models.data?.data ?? []).map((model) => ({ value: model.id, label: model.display_name })) },
    { key: 'status', label: 'Status', kind: 'select', options: STATUSES },
    { key: 'type', label: 'Type', kind: 'select', options: TYPES },
    { key: 'mode', label: 'Mode', kind: 'select', options: MODES },
    { key: 'from', label: 'Created from', kind: 'datetime' },
    { key: 'to', label: 'Created before', kind: 'datetime' },
  ];
  return <FilterBar label="Task filters" fields={fields} values={props.values} error={props.error} onApply={props.onApply} />;
}
