import { keepPreviousData } from '@tanstack/react-query';
import { Badge, Credits, DataTable, ErrorState, FilterBar, Id, Loading, PageHeader, Pager, Section, StatusBadge, TimeAgo, usePager, type Column, type FilterField } from '../../../shared/components';
import { useUrlFilters } from '../../../shared/hooks';
import { useApiQuery } from '../../../shared/query';
import type { List, Task } from '../../types';

/**
 * Task history: `GET /console/api/tasks?mode&type&model&status&from&to&limit&after`, newest first. The filters live in
 * the URL; they apply when the form is submitted (selects do not fire requests while arrowing through them).
 */
const FILTERS = ['mode', 'type', 'model', 'status', 'from', 'to'] as const;

const FIELDS: FilterField<(typeof FILTERS)[number]>[] = [
  { key: 'mode', label: 'Mode', kind: 'select', anyLabel: null, options: [{ value: 'live', label: 'Live' }, { value: 'test', label: 'Test' }] },
  { key: 'type', label: 'Type', kind: 'select', options: ['video', 'image', 'music', 'chat', 'embedding'] },
  { key: 'model', label: 'Model', kind: 'text', placeholder: 'Any' },
  { key: 'status', label: 'Status', kind: 'select', options: ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'] },
  { key: 'from', label: 'Created from', kind: 'datetime' },
  { key: 'to', label: 'Created before', kind: 'datetime' },
];

export function TasksPage() {
  const filters = useUrlFilters(FILTERS);
  const applied = filters.values;
  const pager = usePager(filters.key);
  const query = {
    mode: applied.mode || 'live',
    type: applied.type,
    model: applied.model,
    status: applied.status,
    from: applied.from,
    to: applied.to,
    limit: 25,
    after: pager.after,
  };
  const list = useApiQuery<List<Task>>('/tasks', query, { placeholderData: keepPreviousData });

  const columns: Column<Task>[] = [
    { key: 'id', header: 'Task', render: (task) => <Id value={task.id} to={`/tasks/${encodeURIComponent(task.id)}`} /> },
    { key: 'type', header: 'Type', render: (task) => task.type },
    { key: 'model', header: 'Model', className: 'wrap', render: (task) => <code className="mono">{task.model}</code> },
    { key: 'status', header: 'Status', render: (task) => <StatusBadge status={task.status} /> },
    { key: 'created', header: 'Created', className: 'nowrap', render: (task) => <TimeAgo value={task.created_at} /> },
    { key: 'charged', header: 'Charged', className: 'num', render: (task) => <Credits value={task.credits?.charged ?? null} /> },
  ];

  return (
    <>
      <PageHeader title="Tasks" description="Every request you made: videos, images, music, chat and embeddings." />
      <Section title="Filters">
        <FilterBar key={filters.key} label="Task filters" fields={FIELDS} values={applied} error={list.error} onApply={filters.apply} applyLabel="Apply" />
      </Section>
      <Section title={query.mode === 'test' ? <>Tasks <Badge>test</Badge></> : 'Tasks'}>
        {list.isPending ? (
          <Loading label="Loading the tasks…" />
        ) : list.isError ? (
          <ErrorState error={list.error} retry={() => void list.refetch()} />
        ) : (
          <div aria-busy={list.isFetching}>
            <DataTable columns={columns} rows={list.data.data} rowKey={(task) => task.id} empty="No tasks match these filters." caption="Tasks" captionHidden />
            <Pager pager={pager} hasMore={list.data.has_more} nextCursor={list.data.data.at(-1)?.id} label="Task pages" />
          </div>
        )}
      </Section>
    </>
  );
}
