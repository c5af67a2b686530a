import type { ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { Credits, DateTime, Details, ErrorState, Loading, Mono, PageHeader, Section, StatusBadge } from '../../../shared/components';
import { formatDuration, toDate } from '../../../shared/format';
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
          <Timeline task={task} />
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

interface Step {
  key: string;
  label: string;
  status: string;
  at: string | number;
  note?: string;
}

const FINISHED: Record<string, string> = { succeeded: 'Succeeded', failed: 'Failed', cancelled: 'Cancelled', expired: 'Expired' };

/**
 * Every time the task row keeps (`timeline`; there is no history table): created and queued, submitted upstream, the
 * last update while it is still queued or running, and the end with its final status (cancelled included), in order.
 */
function timelineOf(task: TaskDetail): Step[] {
  const times = task.timeline ?? {};
  const steps: Step[] = [{ key: 'created', label: 'Created', status: 'queued', at: times.created_at ?? task.created_at, note: 'accepted, credits reserved, queued' }];
  if (times.submitted_at) steps.push({ key: 'submitted', label: 'Submitted upstream', status: 'submitted', at: times.submitted_at });
  const finished = times.completed_at ?? task.completed_at ?? null;
  const updated = times.updated_at ?? task.updated_at ?? null;
  const inProgress = task.status === 'queued' || task.status === 'running';
  const last = toDate(steps[steps.length - 1]!.at)?.getTime() ?? 0;
  if (!finished && inProgress && updated && (toDate(updated)?.getTime() ?? 0) > last) {
    const progress = task.progress ? ` at ${task.progress} %` : '';
    steps.push({ key: 'updated', label: task.status === 'running' ? 'Running' : 'Waiting upstream', status: task.status, at: updated, note: `last update${progress}` });
  }
  if (finished) steps.push({ key: 'finished', label: FINISHED[task.status] ?? capitalise(task.status), status: task.status, at: finished });
  return steps;
}

function Timeline(props: { task: TaskDetail }) {
  const steps = timelineOf(props.task);
  const first = steps[0]!;
  const end = steps.find((step) => step.key === 'finished');
  return (
    <>
      <ol className="timeline" aria-label="Status timeline">
        {steps.map((step, index) => {
          const previous = index > 0 ? steps[index - 1]! : null;
          return (
            <li key={step.key} className="timeline-step">
              <div className="timeline-head">
                <StatusBadge status={step.status} /> <strong>{step.label}</strong> <DateTime value={step.at} />
              </div>
              <div className="muted small">
                {previous && <span className="timeline-gap">+{formatDuration(previous.at, step.at)} after {previous.label.toLowerCase()}</span>}
                {previous && step.note && ' · '}
                {step.note}
              </div>
            </li>
          );
        })}
      </ol>
      <p className="muted small">
        {end ? (
          <>
            {end.label} after <strong>{formatDuration(first.at, end.at)}</strong> in all.
          </>
        ) : (
          <>Not finished yet: the next step shows here when it happens.</>
        )}
      </p>
    </>
  );
}
