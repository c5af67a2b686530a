import { keepPreviousData } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { Badge, Credits, DataTable, ErrorState, Field, Id, Loading, PageHeader, Pager, Section, StatusBadge, TimeAgo, usePager, type Column } from '../../../shared/components';
import { localToIso } from '../../../shared/forms';
import { useApiQuery } from '../../../shared/query';
import type { List, Task } from '../../types';

/**
 * Task history: `GET /console/api/tasks?mode&type&model&status&from&to&limit&after`, newest first. The filters live in
 * the URL; they apply when the form is submitted (selects do not fire requests while arrowing through them).
 */
const FILTERS = ['mode', 'type', 'model', 'status', 'from', 'to'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

const TYPES = ['video', 'image', 'music', 'text'];
const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'];

function readFilters(params: URLSearchParams): Filters {
  return Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? ''])) as Filters;
}

export function TasksPage() {
  const [params, setParams] = useSearchParams();
  const applied = readFilters(params);
  const [draft, setDraft] = useState<Filters>(applied);
  const pager = usePager(JSON.stringify(applied));
  const query = {
    mode: applied.mode || 'live',
    type: applied.type,
    model: applied.model.trim(),
    status: applied.status,
    from: localToIso(applied.from),
    to: localToIso(applied.to),
    limit: 25,
    after: pager.after,
  };
  const list = useApiQuery<List<Task>>('/tasks', query, { placeholderData: keepPreviousData });

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const name of FILTERS) if (draft[name]) next.set(name, draft[name]);
    setParams(next, { replace: true });
  };
  const clear = () => {
    const empty = readFilters(new URLSearchParams());
    setDraft(empty);
    setParams(new URLSearchParams(), { replace: true });
  };
  const set = (name: keyof Filters) => (event: { target: { value: string } }) => setDraft({ ...draft, [name]: event.target.value });

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
      <PageHeader title="Tasks" description="Every request you made: videos, images, music and text." />
      <Section title="Filters">
        <form className="filters" onSubmit={apply}>
          <Field label="Mode">
            <select value={draft.mode || 'live'} onChange={set('mode')}>
              <option value="live">Live</option>
              <option value="test">Test</option>
            </select>
          </Field>
          <Field label="Type">
            <select value={draft.type} onChange={set('type')}>
              <option value="">Any</option>
              {TYPES.map((type) => (
                <option key={type} value={type}>
                  {type}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Model">
            <input value={draft.model} onChange={set('model')} placeholder="Any" />
          </Field>
          <Field label="Status">
            <select value={draft.status} onChange={set('status')}>
              <option value="">Any</option>
              {STATUSES.map((status) => (
                <option key={status} value={status}>
                  {status}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Created from">
            <input type="datetime-local" value={draft.from} onChange={set('from')} />
          </Field>
          <Field label="Created before">
            <input type="datetime-local" value={draft.to} onChange={set('to')} />
          </Field>
          <div className="filters-actions actions">
            <button type="submit" className="button button-primary">
              Apply
            </button>
            <button type="button" className="button" onClick={clear}>
              Clear
            </button>
          </div>
        </form>
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
