import { keepPreviousData } from '@tanstack/react-query';
import { useState } from 'react';
import { Credits, DataTable, ErrorState, Field, Id, Loading, Pager, Section, StatusBadge, TimeAgo, usePager, type Column } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import type { List, OperatorTask, TaskStatus } from '../../types';

/** A customer's tasks, newest first, through the operator tasks route (`GET /admin/tasks?customer=…&status=…`). */
const STATUSES: TaskStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'];

export function TasksPanel(props: { customerId: string }) {
  const [status, setStatus] = useState('');
  const pager = usePager(status);
  const tasks = useApiQuery<List<OperatorTask>>(
    '/admin/tasks',
    { customer: props.customerId, status, limit: 20, after: pager.after },
    { placeholderData: keepPreviousData },
  );

  const columns: Column<OperatorTask>[] = [
    { key: 'id', header: 'Task', className: 'nowrap', render: (row) => <Id value={row.id} to={`/tasks/${row.id}`} /> },
    { key: 'type', header: 'Type', render: (row) => row.type },
    { key: 'model', header: 'Model', className: 'nowrap', render: (row) => <code>{row.model}</code> },
    { key: 'mode', header: 'Mode', render: (row) => row.mode },
    { key: 'status', header: 'Status', render: (row) => <StatusBadge status={row.status} /> },
    { key: 'charged', header: 'Charged', className: 'num', render: (row) => <Credits value={row.credits.charged} /> },
    { key: 'created', header: 'Created', className: 'nowrap', render: (row) => <TimeAgo value={row.created_at} /> },
  ];

  return (
    <Section
      title="Tasks"
      actions={
        <Field label="Status" className="field-inline">
          <select name="task-status" value={status} onChange={(event) => setStatus(event.target.value)}>
            <option value="">All</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </Field>
      }
    >
      {tasks.isPending ? (
        <Loading label="Loading tasks…" />
      ) : tasks.isError ? (
        <ErrorState error={tasks.error} retry={() => void tasks.refetch()} />
      ) : (
        <>
          <DataTable columns={columns} rows={tasks.data.data} rowKey={(row) => row.id} empty={status ? `No ${status} tasks.` : 'No tasks yet.'} caption="Tasks" captionHidden />
          <Pager pager={pager} hasMore={tasks.data.has_more} nextCursor={tasks.data.data.at(-1)?.id} label="Task pages" />
        </>
      )}
    </Section>
  );
}
