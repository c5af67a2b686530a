import { useState, type FormEvent } from 'react';
import { Checkbox, ConfirmDialog, DataTable, ErrorState, Field, fieldError, FormError, Loading, Modal, Section, SecretDialog, StatusBadge, TimeAgo, type Column } from '../../../shared/components';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { List, Mode, WebhookEndpoint } from '../../types';

const EVENTS = ['task.succeeded', 'task.failed', 'task.cancelled', 'task.expired'];

/** Registered endpoints of one mode: `GET/POST /console/api/webhooks/endpoints`, delete, rotate secret. */
export function EndpointsSection(props: { mode: Mode }) {
  const path = '/webhooks/endpoints';
  // The list holds both modes; this section shows the chosen one.
  const list = useApiQuery<List<WebhookEndpoint>>(path);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<WebhookEndpoint | null>(null);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const remove = useApiMutation<WebhookEndpoint>({
    method: 'DELETE',
    path: (endpoint) => `${path}/${encodeURIComponent(endpoint.id)}`,
    invalidate: [path],
    onSuccess: () => setDeleting(null),
  });
  const rotate = useApiMutation<WebhookEndpoint, { secret: string }>({
    method: 'POST',
    path: (endpoint) => `${path}/${encodeURIComponent(endpoint.id)}/rotate-secret`,
    body: () => ({}),
    invalidate: [path],
    onSuccess: (answer, endpoint) => setSecret({ url: endpoint.url, secret: answer.secret }),
  });

  const columns: Column<WebhookEndpoint>[] = [
    {
      key: 'url',
      header: 'URL',
      className: 'wrap',
      render: (endpoint) => (
        <div>
          <code className="mono">{endpoint.url}</code>
          {endpoint.description && <div className="muted small">{endpoint.description}</div>}
        </div>
      ),
    },
    { key: 'events', header: 'Events', className: 'wrap', render: (endpoint) => endpoint.events.join(', ') },
    { key: 'status', header: 'Status', render: (endpoint) => <StatusBadge status={endpoint.status ?? 'active'} /> },
    { key: 'created', header: 'Created', className: 'nowrap', render: (endpoint) => <TimeAgo value={endpoint.created_at} /> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (endpoint) => (
        <div className="actions">
          <button type="button" className="button button-small" disabled={rotate.isPending} onClick={() => rotate.mutate(endpoint)} aria-label={`Rotate the secret of ${endpoint.url}`}>
            Rotate secret
          </button>
          <button type="button" className="button button-small button-danger" onClick={() => setDeleting(endpoint)} aria-label={`Delete ${endpoint.url}`}>
            Delete
          </button>
        </div>
      ),
    },
  ];

  return (
    <Section
      title={`Endpoints (${props.mode})`}
      actions={
        <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
          Add an endpoint
        </button>
      }
    >
      {list.isPending ? (
        <Loading label="Loading the endpoints…" />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : (
        <DataTable columns={columns} rows={list.data.data.filter((endpoint) => endpoint.mode === props.mode)} rowKey={(endpoint) => endpoint.id} empty={`No ${props.mode} endpoints yet.`} caption="Webhook endpoints" captionHidden />
      )}
      <FormError error={rotate.error} />
      <Modal open={creating} title={`Add a ${props.mode} endpoint`} onClose={() => setCreating(false)}>
        {creating && (
          <CreateEndpoint
            mode={props.mode}
            onCancel={() => setCreating(false)}
            onCreated={(endpoint) => {
              setCreating(false);
              if (endpoint.secret) setSecret({ url: endpoint.url, secret: endpoint.secret });
            }}
          />
        )}
      </Modal>
      <SecretDialog title="Endpoint signing secret" value={secret?.secret ?? null} label="Signing secret" what="the secret" doneLabel="I have copied it" onClose={() => setSecret(null)}>
        <p className="small">
          Deliveries to <code className="mono">{secret?.url}</code> are signed with this secret.
        </p>
      </SecretDialog>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this endpoint?"
        confirmLabel="Delete"
        danger
        busy={remove.isPending}
        error={<FormError error={remove.error} />}
        onConfirm={() => deleting && remove.mutate(deleting)}
        onClose={() => {
          setDeleting(null);
          remove.reset();
        }}
      >
        <p>
          <code className="mono">{deleting?.url}</code> gets no more deliveries; its pending deliveries are cancelled.
        </p>
      </ConfirmDialog>
    </Section>
  );
}

function CreateEndpoint(props: { mode: Mode; onCancel: () => void; onCreated: (endpoint: WebhookEndpoint) => void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<string[]>([...EVENTS]);
  const create = useApiMutation<Record<string, unknown>, WebhookEndpoint>({
    method: 'POST',
    path: '/webhooks/endpoints',
    invalidate: ['/webhooks/endpoints'],
    onSuccess: props.onCreated,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body: Record<string, unknown> = { url: url.trim(), mode: props.mode, events };
    if (description.trim()) body.description = description.trim();
    create.mutate(body);
  };
  return (
    <form className="stack" onSubmit={submit} noValidate>
      <Field label="URL" hint="A public https address." error={fieldError(create.error, 'url')}>
        <input type="url" name="url" required data-autofocus placeholder="https://example.com/webhooks/genrelay" value={url} onChange={(event) => setUrl(event.target.value)} />
      </Field>
      <Field label="Description" hint="Optional." error={fieldError(create.error, 'description')}>
        <input name="description" maxLength={500} value={description} onChange={(event) => setDescription(event.target.value)} />
      </Field>
      <fieldset className="fieldset">
        <legend>Events</legend>
        {EVENTS.map((name) => (
          <Checkbox key={name} label={<code>{name}</code>} checked={events.includes(name)} onChange={(checked) => setEvents(checked ? [...events, name] : events.filter((item) => item !== name))} />
        ))}
        {fieldError(create.error, 'events') && <div className="field-error">{fieldError(create.error, 'events')}</div>}
      </fieldset>
      <FormError error={create.error} fields={['url', 'description', 'events']} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={create.isPending || !url.trim() || events.length === 0}>
          {create.isPending ? 'Adding…' : 'Add the endpoint'}
        </button>
      </div>
    </form>
  );
}
