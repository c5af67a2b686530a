import { useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { isApiError } from '../../../shared/api';
import { Badge, ConfirmDialog, Credits, DateTime, Details, ErrorState, FormError, Id, Loading, Mono, Notice, PageHeader, Section, StatusBadge } from '../../../shared/components';
import { formatDuration, formatNumber } from '../../../shared/format';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { Channel, List, OperatorTaskDetail } from '../../types';
import { JsonBlock } from '../audit/JsonBlock';
import { MediaPreview, kindOfTaskType } from './MediaPreview';
import { CanWrite } from '../../session';

/**
 * One task as the operator sees it (`GET /admin/tasks/:id`): customer and request, the upstream that served it
 * (channel, account, upstream task id, attempts, channels tried), timings, charge and cost, price version, error
 * detail and the result. Refreshes every few seconds while the task is open. Cancel: `POST …/cancel` (409 when the
 * task can no longer be cancelled).
 */
const OPEN = new Set(['queued', 'running']);

export function TaskDetailPage() {
  const { id = '' } = useParams();
  const path = `/admin/tasks/${encodeURIComponent(id)}`;
  const task = useApiQuery<OperatorTaskDetail>(path, undefined, {
    refetchInterval: (query) => (query.state.data && OPEN.has(query.state.data.status) ? 3000 : false),
  });
  const back = <Link to="/tasks">← Tasks</Link>;
  if (task.isPending) {
    return (
      <>
        <PageHeader title="Task" back={back} />
        <Loading label="Loading the task…" />
      </>
    );
  }
  if (task.isError) {
    const missing = isApiError(task.error) && task.error.status === 404;
    return (
      <>
        <PageHeader title="Task" back={back} />
        <ErrorState title={missing ? 'No such task.' : 'Could not load this task.'} error={task.error} retry={missing ? undefined : () => void task.refetch()} />
      </>
    );
  }
  return <TaskView task={task.data} path={path} back={back} />;
}

function TaskView(props: { task: OperatorTaskDetail; path: string; back: ReactNode }) {
  const { task } = props;
  const [cancelling, setCancelling] = useState(false);
  const [cancelled, setCancelled] = useState(false);
  const cancel = useApiMutation<void, OperatorTaskDetail>({
    method: 'POST',
    path: `${props.path}/cancel`,
    invalidate: ['/admin/tasks'],
    onSuccess: () => {
      setCancelling(false);
      setCancelled(true);
    },
  });
  const notCancellable = isApiError(cancel.error) && cancel.error.status === 409;
  const margin = task.credits.cost === null ? null : task.credits.charged - task.credits.cost;
  const channels = useApiQuery<List<Channel>>('/admin/channels');
  const channelName = new Map((channels.data?.data ?? []).map((channel) => [channel.id, channel.name]));
  const channelLink = (id: string) =>
    channelName.has(id) ? (
      <Link to={`/channels/${id}`} title={id}>
        {channelName.get(id)}
      </Link>
    ) : (
      <Id value={id} to={`/channels/${id}`} />
    );
  const none = <span className="muted">—</span>;

  return (
    <>
      <PageHeader
        title={task.id}
        back={props.back}
        description={
          <>
            <StatusBadge status={task.status} /> {task.type} · <code>{task.model}</code> · {task.mode}
            {OPEN.has(task.status) && <span className="muted small"> · refreshing every 3 s</span>}
          </>
        }
        actions={
          OPEN.has(task.status) ? (
            <CanWrite>
              <button type="button" className="button button-danger" onClick={() => setCancelling(true)}>
                Cancel task
              </button>
            </CanWrite>
          ) : undefined
        }
      />
      {cancelled && task.status === 'cancelled' && <Notice tone="ok">The task was cancelled; its hold was released.</Notice>}
      <Section title="Overview">
        <Details
          items={[
            ['Customer', <Link key="c" to={`/customers/${task.customer_id}`} className="mono">{task.customer_id}</Link>],
            ['Mode', task.mode],
            ['API key', task.api_key_id ? <Mono key="k">{task.api_key_id}</Mono> : none],
            ['Face', task.face],
            ['Type', task.type],
            ['Model', <Link key="m" to={`/models/${encodeURIComponent(task.model)}`} className="mono">{task.model}</Link>],
            ['Status', <span key="s"><StatusBadge status={task.status} /> <span className="muted small">internal: {task.internal_status}</span></span>],
            ['Progress', `${formatNumber(task.progress)} %`],
            ['Callback URL', task.callback_url ? <Mono key="u">{task.callback_url}</Mono> : none],
          ]}
        />
      </Section>
      <div className="grid-2">
        <Section title="Upstream">
          <Details
            items={[
              ['Provider', task.provider ?? none],
              ['Channel', task.channel_id ? <span key="ch">{channelLink(task.channel_id)}</span> : none],
              ['Account', task.account_id ? <span key="a">{task.account_label ?? <span className="muted">no label</span>} <Mono>{task.account_id}</Mono></span> : none],
              ['Upstream task id', task.upstream_task_id ? <Mono key="up">{task.upstream_task_id}</Mono> : none],
              ['Dispatch attempts', formatNumber(task.attempts)],
              [
                'Channels tried',
                task.channels_tried?.length ? (
                  <span key="t">
                    {task.channels_tried.map((channel, index) => (
                      <span key={channel}>
                        {index > 0 && ', '}
                        {channelLink(channel)}
                      </span>
                    ))}
                  </span>
                ) : none,
              ],
            ]}
          />
        </Section>
        <Section title="Money">
          <Details
            items={[
              ['Hold', <HoldOutcome key="r" task={task} />],
              ['Charged', <Credits key="c" value={task.credits.charged} />],
              ['Upstream cost', task.credits.cost === null ? <span key="n" className="muted">unknown</span> : <Credits key="co" value={task.credits.cost} />],
              ['Margin', margin === null ? none : <Credits key="mg" value={margin} />],
              ['Price version', task.price_version === null ? none : <Link key="pv" to={`/models/${encodeURIComponent(task.model)}`}>version {task.price_version}</Link>],
              ['Group price percent', task.price_percent === null ? none : `${task.price_percent} %`],
            ]}
          />
        </Section>
      </div>
      <Section title="Timings">
        <Details
          items={[
            ['Created', <DateTime key="c" value={task.created_at} />],
            ['Submitted upstream', <DateTime key="s" value={task.submitted_at} />],
            ['Completed', <DateTime key="d" value={task.completed_at} />],
            ['Updated', <DateTime key="u" value={task.updated_at} />],
            ['Next action', <DateTime key="n" value={task.next_action_at} />],
            ['Took', formatDuration(task.created_at, task.completed_at)],
          ]}
        />
      </Section>
      {task.error && (
        <Section title="Error">
          <Details
            items={[
              ['Code', task.error.code ? <Mono key="c">{task.error.code}</Mono> : none],
              ['Message (as customers see it)', task.error.message ?? none],
            ]}
          />
          <h3 className="subheading">Upstream detail</h3>
          <JsonBlock value={task.error.upstream_error} label="Upstream error" empty="None recorded." />
        </Section>
      )}
      <Section title="Result">
        <ResultPanel task={task} />
      </Section>
      <div className="grid-2">
        <Section title="Request">
          <JsonBlock value={task.request} label="Request" />
        </Section>
        <Section title="Metadata">
          <JsonBlock value={task.metadata} label="Metadata" empty="No metadata." />
        </Section>
      </div>
      <ConfirmDialog
        open={cancelling}
        title={`Cancel ${task.id}?`}
        confirmLabel="Cancel task"
        danger
        busy={cancel.isPending}
        onConfirm={() => cancel.mutate()}
        onClose={() => {
          setCancelling(false);
          cancel.reset();
        }}
        error={
          notCancellable ? (
            <div className="form-error" role="alert">
              <strong>This task can no longer be cancelled.</strong>
              <p className="no-margin">{cancel.error?.message}</p>
            </div>
          ) : (
            <FormError error={cancel.error} />
          )
        }
      >
        <p>
          The customer's hold is released and nothing is charged. If the upstream already started, genrelay asks it to stop; a task that finishes first
          cannot be cancelled.
        </p>
      </ConfirmDialog>
    </>
  );
}

/**
 * What became of the customer's hold, in words. The API gives the amount held and the amount charged: while the task
 * is open the hold stands; once it ended, a charge means it was settled (anything above the charge went back) and no
 * charge means it was released in full.
 */
function HoldOutcome(props: { task: OperatorTaskDetail }) {
  const { reserved, charged } = props.task.credits;
  if (reserved === 0 && charged === 0) return <span className="muted">no hold</span>;
  if (OPEN.has(props.task.status)) {
    return (
      <span>
        <Credits value={reserved} /> <Badge tone="info">held</Badge>
      </span>
    );
  }
  if (charged === 0) {
    return (
      <span>
        <Credits value={reserved} /> <Badge>released</Badge>
        <div className="muted small">nothing charged; the whole hold went back to the wallet</div>
      </span>
    );
  }
  const back = reserved - charged;
  return (
    <span>
      <Credits value={reserved} /> <Badge tone="ok">settled</Badge>
      <div className="muted small">
        {back > 0 ? (
          <>
            <Credits value={charged} /> charged, <Credits value={back} /> released
          </>
        ) : back < 0 ? (
          <>
            <Credits value={charged} /> charged (<Credits value={-back} /> above the hold)
          </>
        ) : (
          'charged in full'
        )}
      </div>
    </span>
  );
}

function ResultPanel(props: { task: OperatorTaskDetail }) {
  const { task } = props;
  if (task.status !== 'succeeded') return <p className="empty">No result: the task is {task.status}.</p>;
  if (task.result?.url) return <MediaPreview result={task.result} fallback={kindOfTaskType(task.type)} label={`Result of ${task.id}`} />;
  if (task.type === 'chat' || task.type === 'embedding') return <p className="empty">Text results are answered to the customer directly; nothing is stored.</p>;
  return (
    <>
      <p className="muted">
        The operator view names the stored files but carries no link to them, so they cannot be previewed here.
      </p>
      {task.result_files.length > 0 ? (
        <ul className="plain-list">
          {task.result_files.map((file) => (
            <li key={file}>
              <Mono>{file}</Mono>
            </li>
          ))}
        </ul>
      ) : (
        <p className="empty">No stored files.</p>
      )}
    </>
  );
}
