import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { Badge, DataTable, ErrorState, Id, Loading, Modal, PageHeader, Section, StatusBadge, TimeAgo, type Column } from '../../../shared/components';
import { formatNumber } from '../../../shared/format';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { Account, Channel, ChannelWithAccounts, List } from '../../types';
import { ChannelForm, type ChannelInput } from './ChannelForm';
import { CanWrite } from '../../session';

/**
 * Channels (`GET /admin/channels`, highest priority first) with their routing settings, circuit health and the state
 * of their credential pools (each item's `accounts` counts; from `GET /accounts` for a server that sends none), and
 * "New channel".
 */
interface PoolCounts {
  total: number;
  active: number;
  cooldown: number;
  disabled: number;
}

export function poolCounts(accounts: Account[] | undefined, channelId: string): PoolCounts | null {
  if (!accounts) return null;
  const mine = accounts.filter((account) => account.channel_id === channelId);
  return {
    total: mine.length,
    active: mine.filter((account) => account.status === 'active').length,
    cooldown: mine.filter((account) => account.status === 'cooldown').length,
    disabled: mine.filter((account) => account.status === 'disabled').length,
  };
}

export function HealthBadge(props: { channel: Channel }) {
  const { channel } = props;
  return (
    <>
      <StatusBadge status={channel.health} />
      {channel.health === 'open' && channel.open_until && (
        <div className="muted small">
          closed again <TimeAgo value={channel.open_until} />
        </div>
      )}
      {channel.consecutive_failures > 0 && <div className="muted small">{formatNumber(channel.consecutive_failures)} failures in a row</div>}
    </>
  );
}

export function ChannelsPage() {
  const channels = useApiQuery<List<ChannelWithAccounts>>('/admin/channels');
  const countsSent = channels.data !== undefined && channels.data.data.every((row) => row.accounts !== undefined);
  const accounts = useApiQuery<List<Account>>('/accounts', undefined, { enabled: channels.data !== undefined && !countsSent });
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  const create = useApiMutation<ChannelInput, Channel>({
    method: 'POST',
    path: '/admin/channels',
    invalidate: ['/admin/channels'],
    onSuccess: (channel) => navigate(`/channels/${channel.id}`),
  });
  const closeCreate = () => {
    setCreating(false);
    create.reset();
  };

  const columns: Column<ChannelWithAccounts>[] = [
    {
      key: 'name',
      header: 'Channel',
      className: 'wrap',
      render: (row) => (
        <>
          <Link to={`/channels/${row.id}`}>{row.name}</Link>
          <div className="muted small">
            <Id value={row.id} />
          </div>
        </>
      ),
    },
    {
      key: 'provider',
      header: 'Provider',
      className: 'wrap',
      render: (row) => (
        <>
          <code>{row.provider}</code>
          <div className="muted small mono truncate" title={row.base_url}>
            {row.base_url}
          </div>
        </>
      ),
    },
    { key: 'group', header: 'Group', render: (row) => row.group },
    { key: 'enabled', header: 'Enabled', render: (row) => (row.enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="bad">disabled</Badge>) },
    { key: 'health', header: 'Health', render: (row) => <HealthBadge channel={row} /> },
    { key: 'priority', header: 'Priority', className: 'num', render: (row) => formatNumber(row.priority) },
    { key: 'weight', header: 'Weight', className: 'num', render: (row) => formatNumber(row.weight) },
    {
      key: 'models',
      header: 'Models',
      className: 'wrap',
      render: (row) => {
        const ids = Object.keys(row.models);
        return (
          <span title={ids.join(', ')}>
            {ids.slice(0, 3).map((id, index) => (
              <span key={id}>
                {index > 0 && ', '}
                <span className="nowrap">{id}</span>
              </span>
            ))}
            {ids.length > 3 && <span className="muted nowrap"> +{ids.length - 3} more</span>}
          </span>
        );
      },
    },
    {
      key: 'accounts',
      header: 'Accounts',
      className: 'wrap',
      render: (row) => {
        const counts = row.accounts ?? poolCounts(accounts.data?.data, row.id);
        if (!counts) return accounts.isError ? <span className="muted">?</span> : <span className="muted">…</span>;
        if (counts.total === 0) return <Badge tone="warn">none</Badge>;
        return (
          <span>
            <span className="nowrap">{counts.active} active</span>
            {counts.cooldown > 0 && <span className="status-warn nowrap"> · {counts.cooldown} cooling</span>}
            {counts.disabled > 0 && <span className="status-bad nowrap"> · {counts.disabled} disabled</span>}
          </span>
        );
      },
    },
  ];

  return (
    <>
      <PageHeader
        title="Channels & accounts"
        description="Upstream channels, highest priority first, and their credential pools."
        actions={
          <CanWrite>
            <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
              New channel
            </button>
          </CanWrite>
        }
      />
      <Section title="All channels">
        {channels.isPending ? (
          <Loading label="Loading channels…" />
        ) : channels.isError ? (
          <ErrorState error={channels.error} retry={() => void channels.refetch()} />
        ) : (
          <DataTable
            columns={columns}
            rows={channels.data.data}
            rowKey={(row) => row.id}
            caption="Channels"
            captionHidden
            empty="No channels yet: live tasks get 503 until one serves their model. Test keys always run on the built-in sandbox."
          />
        )}
      </Section>
      <Modal open={creating} title="New channel" wide onClose={closeCreate}>
        <ChannelForm submitLabel="Create channel" busy={create.isPending} error={create.error} onSubmit={(input) => create.mutate(input)} onCancel={closeCreate} />
      </Modal>
    </>
  );
}
