import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { DataTable, ErrorState, Field, FormError, Id, Loading, Pager, Section, StatusBadge, TimeAgo, usePager, type Column } from '../../../shared/components';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { List, Mode, WebhookDelivery } from '../../types';

/** The deliveries log of one mode: `GET /console/api/webhooks/deliveries`, retry for failed or cancelled ones. */
export function DeliveriesSection(props: { mode: Mode }) {
  const [draft, setDraft] = useState('');
  const [status, setStatus] = useState('');
  const pager = usePager(`${props.mode}:${status}`);
  // While a delivery on the page is pending (queued, retrying, or just retried) the page follows it every 5 s.
  const list = useApiQuery<List<WebhookDelivery>>('/webhooks/deliveries', { mode: props.mode, status, limit: 25, after: pager.after }, {
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.data.some((delivery) => delivery.status === 'pending') ? 5000 : false),
  });
  const retry = useApiMutation<WebhookDelivery>({
    method: 'POST',
    path: (delivery) => `/webhooks/deliveries/${encodeURIComponent(delivery.id)}/retry`,
    body: () => ({}),
    invalidate: ['/webhooks/deliveries'],
  });

  const columns: Column<WebhookDelivery>[] = [
    { key: 'event', header: 'Event', render: (delivery) => <code>{delivery.event_type}</code> },
    { key: 'task', header: 'Task', render: (delivery) => (delivery.task_id ? <Id value={delivery.task_id} to={`/tasks/${encodeURIComponent(delivery.task_id)}`} /> : '—') },
    { key: 'target', header: 'Target', className: 'wrap', render: (delivery) => <code className="mono">{delivery.target_host ?? '—'}</code> },
    { key: 'status', header: 'Status', render: (delivery) => <StatusBadge status={delivery.status} /> },
    { key: 'code', header: 'HTTP', className: 'num', render: (delivery) => delivery.last_status_code ?? '—' },
    { key: 'attempts', header: 'Attempts', className: 'num', render: (delivery) => delivery.attempt_count },
    { key: 'created', header: 'Created', className: 'nowrap', render: (delivery) => <TimeAgo value={delivery.created_at} /> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (delivery) =>
        delivery.status === 'failed' || delivery.status === 'cancelled' ? (
          <button type="button" className="button button-small" disabled={retry.isPending} onClick={() => retry.mutate(delivery)} aria-label={`Retry the delivery of ${delivery.event_type}`}>
            Retry
          </button>
        ) : null,
    },
  ];

  return (
    <Section title={`Deliveries (${props.mode})`}>
      <form
        className="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          setStatus(draft);
        }}
      >
        <Field label="Status">
          <select value={draft} onChange={(event) => setDraft(event.target.value)}>
            <option value="">Any</option>
            <option value="pending">pending</option>
            <option value="delivered">delivered</option>
            <option value="failed">failed</option>
            <option value="cancelled">cancelled</option>
          </select>
        </Field>
        <button type="submit" className="button">
          Show
        </button>
      </form>
      <FormError error={retry.error} />
      {list.isPending ? (
        <Loading label="Loading the deliveries…" />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : (
        <>
          <DataTable columns={columns} rows={list.data.data} rowKey={(delivery) => delivery.id} empty="No deliveries yet." caption="Webhook deliveries" captionHidden />
          <Pager pager={pager} hasMore={list.data.has_more} nextCursor={list.data.data.at(-1)?.id} label="Delivery pages" />
        </>
      )}
      <p className="muted small">
        A delivery is retried on its schedule by itself; <strong>Retry</strong> sends a failed or cancelled one again now. See a task's
        deliveries from <Link to="/tasks">Tasks</Link>.
      </p>
    </Section>
  );
}
