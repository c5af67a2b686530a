import { useState } from 'react';
import { Badge, ConfirmDialog, DataTable, ErrorState, FormError, Loading, PageHeader, Section, StatusBadge, TimeAgo, type Column } from '../../../shared/components';
import { formatDateTime } from '../../../shared/format';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { ApiKey, KeyWithSecret, List } from '../../types';
import { CreateKeyDialog, KeySecretDialog, RotateKeyDialog } from './KeyDialogs';

/**
 * API keys: `GET /console/api/keys` (both modes), create (name, mode, expiry, model allow-list → the secret once),
 * revoke, rotate with a grace period (→ the new secret once; the old one keeps working until the grace ends).
 */
export function KeysPage() {
  const query = useApiQuery<List<ApiKey>>('/keys');
  const [creating, setCreating] = useState(false);
  const [rotating, setRotating] = useState<ApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [secret, setSecret] = useState<KeyWithSecret | null>(null);
  const revoke = useApiMutation<ApiKey, ApiKey>({
    method: 'POST',
    path: (key) => `/keys/${encodeURIComponent(key.id)}/revoke`,
    body: () => ({}),
    invalidate: ['/keys'],
    onSuccess: () => setRevoking(null),
  });

  const columns: Column<ApiKey>[] = [
    {
      key: 'name',
      header: 'Name',
      render: (key) => (
        <div>
          <div>{key.name}</div>
          <code className="mono small">{key.prefix}…</code>
        </div>
      ),
    },
    { key: 'mode', header: 'Mode', render: (key) => <Badge tone={key.mode === 'live' ? 'info' : 'neutral'}>{key.mode}</Badge> },
    { key: 'status', header: 'Status', render: (key) => <StatusBadge status={key.status} /> },
    {
      key: 'models',
      header: 'Models',
      className: 'wrap',
      render: (key) => (key.allowed_models?.length ? key.allowed_models.join(', ') : <span className="muted">all</span>),
    },
    { key: 'created', header: 'Created', className: 'nowrap', render: (key) => <TimeAgo value={key.created_at} /> },
    { key: 'used', header: 'Last used', className: 'nowrap', render: (key) => (key.last_used_at ? <TimeAgo value={key.last_used_at} /> : <span className="muted">never</span>) },
    {
      key: 'expires',
      header: 'Expires',
      className: 'nowrap',
      render: (key) => (key.expires_at ? <span title={formatDateTime(key.expires_at)}><TimeAgo value={key.expires_at} /></span> : <span className="muted">never</span>),
    },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (key) =>
        key.status === 'active' || key.status === 'rotating' ? (
          <div className="actions">
            {key.status === 'active' && (
              <button type="button" className="button button-small" onClick={() => setRotating(key)} aria-label={`Rotate ${key.name} (${key.prefix}…)`}>
                Rotate
              </button>
            )}
            <button type="button" className="button button-small button-danger" onClick={() => setRevoking(key)} aria-label={`Revoke ${key.name} (${key.prefix}…)`}>
              Revoke
            </button>
          </div>
        ) : null,
    },
  ];

  return (
    <>
      <PageHeader
        title="API keys"
        description="Keys authenticate your requests to /v1. Live keys spend your live wallet, test keys your test credits."
        actions={
          <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
            Create a key
          </button>
        }
      />
      <Section title="Your keys">
        {query.isPending ? (
          <Loading label="Loading the keys…" />
        ) : query.isError ? (
          <ErrorState error={query.error} retry={() => void query.refetch()} />
        ) : (
          <DataTable columns={columns} rows={query.data.data} rowKey={(key) => key.id} empty="No keys yet. Create one to make your first request." caption="API keys" captionHidden />
        )}
      </Section>
      <CreateKeyDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(key) => {
          setCreating(false);
          setSecret(key);
        }}
      />
      <RotateKeyDialog
        apiKey={rotating}
        onClose={() => setRotating(null)}
        onRotated={(key) => {
          setRotating(null);
          setSecret(key);
        }}
      />
      <KeySecretDialog value={secret} onClose={() => setSecret(null)} />
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this key?"
        confirmLabel="Revoke"
        danger
        busy={revoke.isPending}
        error={<FormError error={revoke.error} />}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        onClose={() => {
          setRevoking(null);
          revoke.reset();
        }}
      >
        <p>
          Requests with <strong>{revoking?.name}</strong> (<code className="mono">{revoking?.prefix}…</code>) are refused at once with 401. This
          cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}
