import { useState, type ReactNode } from 'react';
import { isApiError } from '../../../shared/api';
import { Link, useParams } from 'react-router';
import { Badge, ConfirmDialog, DateTime, Details, ErrorState, FormError, Loading, Modal, PageHeader, Section } from '../../../shared/components';
import { formatNumber } from '../../../shared/format';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { AdminModel, Channel, ChannelWithAccounts, List } from '../../types';
import { JsonBlock } from '../audit/JsonBlock';
import { summarizeRule } from '../models/pricing';
import { AccountsPanel } from './AccountsPanel';
import { ChannelForm, type ChannelInput } from './ChannelForm';
import { HealthBadge } from './ChannelsPage';
import { CanWrite } from '../../session';

/**
 * One channel (`GET /admin/channels/:id`): its configuration (edit, enable/disable), its models with upstream ids and
 * costs, and its credential pool.
 */
export function ChannelDetailPage() {
  const { id = '' } = useParams();
  const channel = useApiQuery<ChannelWithAccounts>(`/admin/channels/${encodeURIComponent(id)}`);
  const back = <Link to="/channels">← Channels & accounts</Link>;
  if (channel.isPending) {
    return (
      <>
        <PageHeader title="Channel" back={back} />
        <Loading label="Loading the channel…" />
      </>
    );
  }
  if (channel.isError) {
    const missing = isApiError(channel.error) && channel.error.status === 404;
    return (
      <>
        <PageHeader title="Channel" back={back} />
        <ErrorState title={missing ? 'No such channel.' : 'Could not load this channel.'} error={channel.error} retry={missing ? undefined : () => void channel.refetch()} />
      </>
    );
  }
  return <ChannelView channel={channel.data} back={back} />;
}

function ChannelView(props: { channel: Channel; back: ReactNode }) {
  const { channel } = props;
  const [editing, setEditing] = useState(false);
  const [toggling, setToggling] = useState(false);
  const path = `/admin/channels/${channel.id}`;
  const update = useApiMutation<ChannelInput, Channel>({ method: 'PATCH', path, invalidate: ['/admin/channels'], onSuccess: () => setEditing(false) });
  const toggle = useApiMutation<{ enabled: boolean }, Channel>({ method: 'PATCH', path, invalidate: ['/admin/channels'], onSuccess: () => setToggling(false) });
  const closeEdit = () => {
    setEditing(false);
    update.reset();
  };
  const models = Object.entries(channel.models);
  // The catalogue gives each model's capabilities, so cost variants are listed in the model's own order.
  const catalogue = useApiQuery<List<AdminModel>>('/admin/models');
  const capabilitiesOf = new Map((catalogue.data?.data ?? []).map((model) => [model.id, model.capabilities]));

  return (
    <>
      <PageHeader
        title={channel.name}
        back={props.back}
        description={
          <>
            <code>{channel.id}</code> · <code>{channel.provider}</code> · {channel.enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="bad">disabled</Badge>}
          </>
        }
        actions={
          <CanWrite>
            <button type="button" className="button" onClick={() => setEditing(true)}>
              Edit channel
            </button>
            <button type="button" className={channel.enabled ? 'button button-danger' : 'button'} onClick={() => setToggling(true)}>
              {channel.enabled ? 'Disable' : 'Enable'}
            </button>
          </CanWrite>
        }
      />
      <Section title="Configuration">
        <Details
          items={[
            ['Provider family', <code key="p">{channel.provider}</code>],
            ['Base URL', <code key="b">{channel.base_url}</code>],
            ['Customer group', channel.group],
            ['Priority', formatNumber(channel.priority)],
            ['Weight', formatNumber(channel.weight)],
            ['Health', <HealthBadge key="h" channel={channel} />],
            ['Dispatch attempts', channel.retry?.attempts === undefined ? 'default (5)' : formatNumber(channel.retry.attempts)],
            ['Fails over on', channel.retry?.failover_on === undefined ? 'the default classes' : channel.retry.failover_on.join(', ') || 'nothing'],
            ['Created', <DateTime key="c" value={channel.created_at} />],
            ['Updated', <DateTime key="u" value={channel.updated_at} />],
          ]}
        />
        <h3 className="subheading">Provider settings</h3>
        <JsonBlock value={channel.settings} label="Provider settings" empty="None (the family's defaults)." />
      </Section>
      <Section title="Models and upstream costs">
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Models this channel serves</caption>
            <thead>
              <tr>
                <th scope="col">Public model</th>
                <th scope="col">Upstream model</th>
                <th scope="col">Upstream cost</th>
              </tr>
            </thead>
            <tbody>
              {models.length === 0 ? (
                <tr>
                  <td className="table-empty" colSpan={3}>
                    No models mapped.
                  </td>
                </tr>
              ) : (
                models.map(([model, upstream]) => (
                  <tr key={model}>
                    <td>
                      <Link to={`/models/${encodeURIComponent(model)}`} className="mono">
                        {model}
                      </Link>
                    </td>
                    <td className="mono">{upstream}</td>
                    <td>{channel.costs[model] ? summarizeRule(channel.costs[model], capabilitiesOf.get(model)) : <span className="muted">unknown</span>}</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </div>
      </Section>
      <AccountsPanel channel={channel} />
      <Modal open={editing} title={`Edit ${channel.name}`} wide onClose={closeEdit}>
        <ChannelForm initial={channel} submitLabel="Save changes" busy={update.isPending} error={update.error} onSubmit={(input) => update.mutate(input)} onCancel={closeEdit} />
      </Modal>
      <ConfirmDialog
        open={toggling}
        title={channel.enabled ? `Disable ${channel.name}?` : `Enable ${channel.name}?`}
        confirmLabel={channel.enabled ? 'Disable channel' : 'Enable channel'}
        danger={channel.enabled}
        busy={toggle.isPending}
        error={<FormError error={toggle.error} />}
        onConfirm={() => toggle.mutate({ enabled: !channel.enabled })}
        onClose={() => {
          setToggling(false);
          toggle.reset();
        }}
      >
        <p>
          {channel.enabled
            ? 'No new task is routed to this channel. Tasks already running upstream finish there.'
            : 'The channel takes tasks again; its failure count and open circuit are reset.'}
        </p>
      </ConfirmDialog>
    </>
  );
}
