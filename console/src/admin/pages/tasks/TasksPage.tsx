import { keepPreviousData } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { Credits, DataTable, ErrorState, Field, Id, Loading, PageHeader, Pager, Section, StatusBadge, TimeAgo, fieldError, usePager, type Column } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import type { AdminModel, Channel, List, OperatorTask } from '../../types';
import { isoToLocal, listError, localToIsoText, useUrlFilters } from './filters';

/**
 * Every customer's tasks (`GET /admin/tasks`), newest first, filtered by customer, model, status, type, mode and
 * creation time (`from` inclusive, `to` exclusive), cursor-paged. Filters live in the URL.
 */
const KEYS = ['customer', 'model', 'status', 'type', 'mode', 'from', 'to'] as const;
type Filters = Record<(typeof KEYS)[number], string>;
const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'];
const TYPES = ['video', 'image', 'music', 'chat', 'embedding'];
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
  const [draft, setDraft] = useState<Filters>({ ...props.values, from: isoToLocal(props.values.from), to: isoToLocal(props.values.to) });
  const models = useApiQuery<List<AdminModel>>('/admin/models');
  const listId = useId();
  const set = (key: keyof Filters) => (event: { target: { value: string } }) => setDraft({ ...draft, [key]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onApply({ ...draft, from: localToIsoText(draft.from), to: localToIsoText(draft.to) });
  };
  const clear = () => props.onApply({ customer: '', model: '', status: '', type: '', mode: '', from: '', to: '' });

  return (
    <form className="filters" onSubmit={submit} aria-label="Task filters">
      <Field label="Customer id" error={fieldError(props.error, 'customer')}>
        <input name="customer" value={draft.customer} onChange={set('customer')} placeholder="cus_…" spellCheck={false} />
      </Field>
      <Field label="Model" error={fieldError(props.error, 'model')}>
        <input name="model" list={listId} value={draft.model} onChange={set('model')} spellCheck={false} />
      </Field>
      <datalist id={listId}>
        {(models.data?.data ?? []).map((model) => (
          <option key={model.id} value={model.id}>
            {model.display_name}
          </option>
        ))}
      </datalist>
      <Field label="Status" error={fieldError(props.error, 'status')}>
        <select name="status" value={draft.status} onChange={set('status')}>
          <option value="">Any</option>
          {STATUSES.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Type" error={fieldError(props.error, 'type')}>
        <select name="type" value={draft.type} onChange={set('type')}>
          <option value="">Any</option>
          {TYPES.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Mode" error={fieldError(props.error, 'mode')}>
        <select name="mode" value={draft.mode} onChange={set('mode')}>
          <option value="">Any</option>
          <option value="live">live</option>
          <option value="test">test</option>
        </select>
      </Field>
      <Field label="Created from" error={fieldError(props.error, 'from')}>
        <input type="datetime-local" name="from" value={draft.from} onChange={set('from')} />
      </Field>
      <Field label="Created before" error={fieldError(props.error, 'to')}>
        <input type="datetime-local" name="to" value={draft.to} onChange={set('to')} />
      </Field>
      <div className="actions filters-actions">
        <button type="submit" className="button button-primary">
          Apply filters
        </button>
        <button type="button" className="button" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
  );
}
