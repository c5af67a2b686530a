import type { ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { Credits, DateTime, Details, ErrorState, Loading, Mono, PageHeader, Section, StatusBadge } from '../../../shared/components';
import { useApiQuery } from '../../../shared/query';
import { kindOfTaskType, MediaPreview } from '../../components';
import type { TaskDetail } from '../../types';

/**
 * One task: `GET /console/api/tasks/:id` — parameters, status timeline, charge and the result inline (image, video,
 * audio) from genrelay's signed links. Tasks still in progress refresh every 5 s.
 */
export function TaskDetailPage() {
  const { id = '' } = useParams();
  const query = useApiQuery<TaskDetail>(`/tasks/${encodeURIComponent(id)}`, {}, {
    refetchInterval: (current) => {
      const status = current.state.data?.status;
      return status === 'queued' || status === 'running' ? 5000 : false;
    },
  });
  const back = <Link to="/tasks">← Tasks</Link>;
  if (query.isPending) return <><PageHeader title="Task" back={back} /><Loading label="Loading the task…" /></>;
  if (query.isError) return <><PageHeader title="Task" back={back} /><ErrorState error={query.error} retry={() => void query.refetch()} /></>;
  const task = query.data;
  const parameters = task.parameters ?? task.request ?? {};
  const charge = typeof task.charge === 'number' ? { charged: task.charge } : (task.charge ?? task.credits ?? null);
  const timeline = timelineOf(task);

  return (
    <>
      <PageHeader title={`${capitalise(task.type)} task`} description={<Mono>{task.id}</Mono>} back={back} />
      <div className="grid-2">
        <Section title="Summary">
          <Details items={summaryItems(task, charge)} />
          {task.error && (
            <div className="form-error" role="alert">
              <code>{task.error.code}</code>: {task.error.message}
            </div>
          )}
        </Section>
        <Section title="Status timeline">
          {timeline.length === 0 ? (
            <p className="empty">No timeline recorded.</p>
          ) : (
            <ol className="timeline">
              {timeline.map((event, index) => (
                <li key={index}>
                  <StatusBadge status={event.status} /> <DateTime value={event.at} />
                </li>
              ))}
            </ol>
          )}
        </Section>
      </div>
      <Section title="Result">
        {task.result ? (
          <MediaPreview url={task.result.url} assets={task.result.assets} fallback={kindOfTaskType(task.type)} label={`Result of ${task.id}`} />
        ) : task.status === 'queued' || task.status === 'running' ? (
          <Loading label={`Still ${task.status}${task.progress ? ` (${task.progress} %)` : ''}; this page refreshes by itself.`} />
        ) : (
          <p className="empty">{task.type === 'text' || task.type === 'chat' || task.type === 'embedding' ? 'Text results are returned in the response only and are not stored.' : 'This task has no result.'}</p>
        )}
      </Section>
      <Section title="Parameters">
        <pre className="json" tabIndex={0}>
          {JSON.stringify(parameters, null, 2)}
        </pre>
      </Section>
    </>
  );
}

function summaryItems(task: TaskDetail, charge: { charged?: number; reserved?: number } | null): [ReactNode, ReactNode][] {
  const items: [ReactNode, ReactNode][] = [
    ['Status', <StatusBadge status={task.status} />],
    ['Model', <Mono>{task.model}</Mono>],
    ['Mode', task.mode],
    ['Created', <DateTime value={task.created_at} />],
    ['Charged', <Credits value={charge?.charged ?? null} />],
  ];
  if (charge?.reserved !== undefined) items.push(['Reserved', <Credits value={charge.reserved} />]);
  if (task.price_version !== undefined && task.price_version !== null) items.push(['Price version', String(task.price_version)]);
  if (task.api_key_id) items.push(['API key', <Mono>{task.api_key_id}</Mono>]);
  return items;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The events the server recorded, else the created / submitted / finished times it sent (`timeline`). */
function timelineOf(task: TaskDetail): { at: string | number; status: string }[] {
  if (task.events?.length) return task.events;
  const times = task.timeline ?? {};
  const events: { at: string | number; status: string }[] = [{ at: times.created_at ?? task.created_at, status: 'created' }];
  const started = times.submitted_at ?? task.started_at;
  if (started) events.push({ at: started, status: 'submitted' });
  const end = times.completed_at ?? task.finished_at ?? task.completed_at;
  if (end) events.push({ at: end, status: task.status });
  return events;
}
