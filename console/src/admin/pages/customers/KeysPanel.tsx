import { keepPreviousData } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Badge, Checkbox, ConfirmDialog, DataTable, ErrorState, Field, FormError, Loading, Modal, Pager, SecretOnce, Section, StatusBadge, TimeAgo, fieldError, usePager, type Column } from '../../../shared/components';
import { localToIso, optionalInt, optionalList } from '../../../shared/forms';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { ApiKey, List, Mode } from '../../types';
import { CanWrite, useCanWrite } from '../../session';

/**
 * A customer's API keys (`/public/customers/:id/api-keys`): list (never secrets), create (the key is shown once),
 * revoke (`DELETE …/:keyId`), rotate (`POST …/:keyId/rotate {grace_seconds}` → a new key shown once; the old one
 * keeps working for the grace period).
 */
const SCOPES = ['images', 'videos', 'music', 'text', 'tasks:read', 'keys'] as const;

export function KeysPanel(props: { customerId: string }) {
  const base = `/public/customers/${props.customerId}/api-keys`;
  const pager = usePager();
  const keys = useApiQuery<List<ApiKey>>(base, { after: pager.after }, { placeholderData: keepPreviousData });
  const canWrite = useCanWrite();
  const [creating, setCreating] = useState(false);
  const [revealed, setRevealed] = useState<{ title: string; key: ApiKey } | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [rotating, setRotating] = useState<ApiKey | null>(null);

  const revoke = useApiMutation<ApiKey, ApiKey>({
    method: 'DELETE',
    path: (key) => `${base}/${key.id}`,
    invalidate: [base],
    onSuccess: () => setRevoking(null),
  });

  const columns: Column<ApiKey>[] = [
    {
      key: 'name',
      header: 'Name',
      className: 'wrap',
      render: (row) => (
        <>
          {row.name}
          <div className="muted small mono">{row.key_prefix}…</div>
        </>
      ),
    },
    { key: 'mode', header: 'Mode', render: (row) => <Badge tone={row.mode === 'live' ? 'info' : 'neutral'}>{row.mode}</Badge> },
    { key: 'status', header: 'Status', render: (row) => <StatusBadge status={row.status} /> },
    { key: 'scopes', header: 'Scopes', className: 'wrap', render: (row) => (row.scopes && row.scopes.length > 0 ? row.scopes.join(', ') : <span className="muted">all</span>) },
    { key: 'used', header: 'Last used', className: 'nowrap', render: (row) => <TimeAgo value={row.last_used_at} /> },
    { key: 'expires', header: 'Expires', className: 'nowrap', render: (row) => <TimeAgo value={row.expires_at} /> },
    { key: 'created', header: 'Created', className: 'nowrap', render: (row) => <TimeAgo value={row.created_at} /> },
  ];
  if (canWrite) {
    columns.push({
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (row) =>
        row.status === 'active' ? (
          <div className="actions">
            <button type="button" className="button button-small" onClick={() => setRotating(row)} aria-label={`Rotate key ${row.name}`}>
              Rotate
            </button>
            <button type="button" className="button button-small" onClick={() => setRevoking(row)} aria-label={`Revoke key ${row.name}`}>
              Revoke
            </button>
          </div>
        ) : null,
    });
  }

  return (
    <Section
      title="API keys"
      actions={
        <CanWrite>
          <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
            Create key
          </button>
        </CanWrite>
      }
    >
      {keys.isPending ? (
        <Loading label="Loading keys…" />
      ) : keys.isError ? (
        <ErrorState error={keys.error} retry={() => void keys.refetch()} />
      ) : (
        <>
          <DataTable columns={columns} rows={keys.data.data} rowKey={(row) => row.id} empty="No keys yet." caption="API keys" captionHidden />
          <Pager pager={pager} hasMore={keys.data.has_more} nextCursor={keys.data.data.at(-1)?.id} label="Key pages" />
        </>
      )}

      <Modal open={creating} title="Create an API key" onClose={() => setCreating(false)} wide>
        <CreateKeyForm
          base={base}
          onCancel={() => setCreating(false)}
          onCreated={(key) => {
            setCreating(false);
            setRevealed({ title: 'New API key', key });
          }}
        />
      </Modal>

      <Modal open={rotating !== null} title={`Rotate ${rotating?.name ?? ''}`} onClose={() => setRotating(null)}>
        {rotating && (
          <RotateForm
            base={base}
            apiKey={rotating}
            onCancel={() => setRotating(null)}
            onRotated={(key) => {
              setRotating(null);
              setRevealed({ title: 'Rotated API key', key });
            }}
          />
        )}
      </Modal>

      <Modal open={revealed !== null} title={revealed?.title ?? ''} onClose={() => setRevealed(null)}>
        {revealed?.key.key && (
          <div className="stack">
            <p>
              <strong>{revealed.key.name}</strong> ({revealed.key.mode}) is ready.
            </p>
            <SecretOnce label="API key" value={revealed.key.key} what="the key" />
            <div className="actions">
              <button type="button" className="button button-primary" onClick={() => setRevealed(null)}>
                I have copied it
              </button>
            </div>
          </div>
        )}
      </Modal>

      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this key?"
        confirmLabel="Revoke key"
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
          <strong>{revoking?.name}</strong> (<code>{revoking?.key_prefix}…</code>) stops working at once. This cannot be undone.
        </p>
      </ConfirmDialog>
    </Section>
  );
}

interface CreateKeyBody {
  name: string;
  mode: Mode;
  expires_at?: string | null;
  scopes?: string[];
  rate_limit_rpm?: number | null;
  max_concurrency?: number | null;
  allowed_models?: string[] | null;
  ip_allowlist?: string[];
}

function CreateKeyForm(props: { base: string; onCancel: () => void; onCreated: (key: ApiKey) => void }) {
  const [name, setName] = useState('');
  const [mode, setMode] = useState<Mode>('live');
  const [expires, setExpires] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [rpm, setRpm] = useState('');
  const [concurrency, setConcurrency] = useState('');
  const [models, setModels] = useState('');
  const [ips, setIps] = useState('');
  const [localError, setLocalError] = useState<{ param: string; message: string } | null>(null);
  const create = useApiMutation<CreateKeyBody, ApiKey>({ method: 'POST', path: props.base, invalidate: [props.base], onSuccess: props.onCreated });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const rateLimit = optionalInt(rpm);
    const maxConcurrency = optionalInt(concurrency);
    if (Number.isNaN(rateLimit)) return setLocalError({ param: 'rate_limit_rpm', message: 'A whole number, or empty.' });
    if (Number.isNaN(maxConcurrency)) return setLocalError({ param: 'max_concurrency', message: 'A whole number, or empty.' });
    setLocalError(null);
    create.mutate({
      name: name.trim(),
      mode,
      expires_at: localToIso(expires),
      ...(scopes.length > 0 ? { scopes } : {}),
      rate_limit_rpm: rateLimit,
      max_concurrency: maxConcurrency,
      allowed_models: optionalList(models),
      ip_allowlist: optionalList(ips) ?? [],
    });
  };
  const errorFor = (param: string) => (localError?.param === param ? localError.message : fieldError(create.error, param));

  return (
    <form className="stack" onSubmit={submit} noValidate>
      <div className="grid-2">
        <Field label="Name" error={errorFor('name')}>
          <input name="name" required maxLength={200} value={name} onChange={(event) => setName(event.target.value)} data-autofocus />
        </Field>
        <Field label="Mode" hint="Test keys run on the sandbox and spend test credits." error={errorFor('mode')}>
          <select name="mode" value={mode} onChange={(event) => setMode(event.target.value as Mode)}>
            <option value="live">live</option>
            <option value="test">test</option>
          </select>
        </Field>
        <Field label="Expires (optional)" hint="Your local time." error={errorFor('expires_at')}>
          <input type="datetime-local" name="expires_at" value={expires} onChange={(event) => setExpires(event.target.value)} />
        </Field>
        <Field label="Requests per minute" hint="Empty: the customer's plan." error={errorFor('rate_limit_rpm')}>
          <input name="rate_limit_rpm" inputMode="numeric" value={rpm} onChange={(event) => setRpm(event.target.value)} />
        </Field>
        <Field label="Max concurrent tasks" hint="Empty: the customer's plan." error={errorFor('max_concurrency')}>
          <input name="max_concurrency" inputMode="numeric" value={concurrency} onChange={(event) => setConcurrency(event.target.value)} />
        </Field>
        <Field label="Allowed models" hint="Comma-separated ids. Empty: the plan's." error={errorFor('allowed_models')}>
          <input name="allowed_models" value={models} onChange={(event) => setModels(event.target.value)} />
        </Field>
      </div>
      <Field label="IP allow-list" hint="Addresses or CIDRs, comma-separated. Empty: any address." error={errorFor('ip_allowlist')}>
        <input name="ip_allowlist" value={ips} onChange={(event) => setIps(event.target.value)} />
      </Field>
      <fieldset className="fieldset">
        <legend>Scopes (none ticked: every scope)</legend>
        <div className="checkbox-row">
          {SCOPES.map((scope) => (
            <Checkbox
              key={scope}
              label={scope}
              checked={scopes.includes(scope)}
              onChange={(checked) => setScopes(checked ? [...scopes, scope] : scopes.filter((item) => item !== scope))}
            />
          ))}
        </div>
      </fieldset>
      <FormError error={create.error} fields={['name', 'mode', 'expires_at', 'rate_limit_rpm', 'max_concurrency', 'allowed_models', 'ip_allowlist', 'scopes']} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={create.isPending || name.trim() === ''}>
          {create.isPending ? 'Creating…' : 'Create key'}
        </button>
      </div>
    </form>
  );
}

function RotateForm(props: { base: string; apiKey: ApiKey; onCancel: () => void; onRotated: (key: ApiKey) => void }) {
  const [grace, setGrace] = useState('24');
  const [graceError, setGraceError] = useState<string | null>(null);
  const rotate = useApiMutation<{ grace_seconds: number }, ApiKey>({
    method: 'POST',
    path: `${props.base}/${props.apiKey.id}/rotate`,
    invalidate: [props.base],
    onSuccess: props.onRotated,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const hours = Number(grace);
    if (!/^\d+(\.\d+)?$/.test(grace.trim()) || hours > 168) {
      setGraceError('Between 0 and 168 hours.');
      return;
    }
    setGraceError(null);
    rotate.mutate({ grace_seconds: Math.round(hours * 3600) });
  };
  return (
    <form className="stack" onSubmit={submit} noValidate>
      <p>
        A new key replaces <strong>{props.apiKey.name}</strong> with the same settings. The old key keeps working during the grace
        period, then expires.
      </p>
      <Field label="Grace period (hours)" hint="0 to 168; 0 ends the old key now." error={graceError ?? fieldError(rotate.error, 'grace_seconds')}>
        <input name="grace_hours" inputMode="decimal" value={grace} onChange={(event) => setGrace(event.target.value)} data-autofocus />
      </Field>
      <FormError error={rotate.error} fields={['grace_seconds']} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={rotate.isPending}>
          {rotate.isPending ? 'Rotating…' : 'Rotate key'}
        </button>
      </div>
    </form>
  );
}
