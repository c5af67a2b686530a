import { useState, type FormEvent } from 'react';
import { Checkbox, Field, fieldError, FormError, Modal, SecretDialog } from '../../../shared/components';
import { localToIso } from '../../../shared/forms';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { ApiKey, KeyWithSecret, Mode, ModelView } from '../../types';

/** The new key's secret, once: held only in the page's state, dropped when the dialog closes. */
export function KeySecretDialog(props: { value: KeyWithSecret | null; onClose: () => void }) {
  const secret = props.value ? (props.value.key ?? props.value.secret ?? '') : null;
  return (
    <SecretDialog title="Key created" value={secret} label="API key" what="the key" doneLabel="I have copied it" onClose={props.onClose}>
      <p>
        <strong>{props.value?.name}</strong> · {props.value?.mode} key
      </p>
    </SecretDialog>
  );
}

export function CreateKeyDialog(props: { open: boolean; onClose: () => void; onCreated: (key: KeyWithSecret) => void }) {
  return (
    <Modal open={props.open} title="Create an API key" onClose={props.onClose} wide>
      {props.open && <CreateKeyForm onCancel={props.onClose} onCreated={props.onCreated} />}
    </Modal>
  );
}

function CreateKeyForm(props: { onCancel: () => void; onCreated: (key: KeyWithSecret) => void }) {
  const [name, setName] = useState('');
  const [mode, setMode] = useState<Mode>('test');
  const [expires, setExpires] = useState('');
  const [restrict, setRestrict] = useState(false);
  const [models, setModels] = useState<string[]>([]);
  const catalogue = useApiQuery<{ data: ModelView[] }>('/models');
  const create = useApiMutation<Record<string, unknown>, KeyWithSecret>({ method: 'POST', path: '/keys', invalidate: ['/keys'], onSuccess: props.onCreated });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body: Record<string, unknown> = { name: name.trim(), mode };
    const expiresAt = localToIso(expires);
    if (expiresAt) body.expires_at = expiresAt;
    if (restrict) body.allowed_models = models;
    create.mutate(body);
  };

  return (
    <form className="stack" onSubmit={submit} noValidate>
      <Field label="Name" hint="What uses this key, e.g. “production backend”." error={fieldError(create.error, 'name')}>
        <input name="name" required maxLength={100} data-autofocus value={name} onChange={(event) => setName(event.target.value)} />
      </Field>
      <Field label="Mode" hint="Test keys spend test credits; live keys your live wallet." error={fieldError(create.error, 'mode')}>
        <select name="mode" value={mode} onChange={(event) => setMode(event.target.value as Mode)}>
          <option value="test">Test</option>
          <option value="live">Live</option>
        </select>
      </Field>
      <Field label="Expires" hint="Optional, in your time zone. Leave empty for a key that does not expire." error={fieldError(create.error, 'expires_at')}>
        <input type="datetime-local" name="expires_at" value={expires} onChange={(event) => setExpires(event.target.value)} />
      </Field>
      <fieldset className="fieldset">
        <legend>Models</legend>
        <Checkbox label="Only allow some models" checked={restrict} onChange={setRestrict} />
        {restrict &&
          (catalogue.isPending ? (
            <p className="muted small">Loading the models…</p>
          ) : catalogue.isError ? (
            <FormError error={catalogue.error} />
          ) : (
            <div className="checkbox-grid">
              {catalogue.data.data.map((model) => (
                <Checkbox
                  key={model.id}
                  label={<code className="mono">{model.id}</code>}
                  checked={models.includes(model.id)}
                  onChange={(checked) => setModels(checked ? [...models, model.id] : models.filter((id) => id !== model.id))}
                />
              ))}
            </div>
          ))}
        {fieldError(create.error, 'allowed_models') && <div className="field-error">{fieldError(create.error, 'allowed_models')}</div>}
      </fieldset>
      <FormError error={create.error} fields={['name', 'mode', 'expires_at', 'allowed_models']} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={create.isPending || !name.trim() || (restrict && models.length === 0)}>
          {create.isPending ? 'Creating…' : 'Create the key'}
        </button>
      </div>
    </form>
  );
}

const GRACE: { value: string; label: string }[] = [
  { value: '0', label: 'None: the old key stops at once' },
  { value: '3600', label: '1 hour' },
  { value: '86400', label: '24 hours' },
  { value: '604800', label: '7 days' },
];

export function RotateKeyDialog(props: { apiKey: ApiKey | null; onClose: () => void; onRotated: (key: KeyWithSecret) => void }) {
  return (
    <Modal open={props.apiKey !== null} title="Rotate this key" onClose={props.onClose}>
      {props.apiKey && <RotateForm apiKey={props.apiKey} onCancel={props.onClose} onRotated={props.onRotated} />}
    </Modal>
  );
}

function RotateForm(props: { apiKey: ApiKey; onCancel: () => void; onRotated: (key: KeyWithSecret) => void }) {
  const [grace, setGrace] = useState('86400');
  const rotate = useApiMutation<{ grace_seconds: number }, KeyWithSecret>({
    method: 'POST',
    path: `/keys/${encodeURIComponent(props.apiKey.id)}/rotate`,
    invalidate: ['/keys'],
    onSuccess: (key) => props.onRotated({ ...props.apiKey, ...key }),
  });
  return (
    <form
      className="stack"
      onSubmit={(event) => {
        event.preventDefault();
        rotate.mutate({ grace_seconds: Number(grace) });
      }}
    >
      <p>
        <strong>{props.apiKey.name}</strong> gets a new secret. During the grace period both the old and the new secret work, so you can
        deploy the new one without downtime.
      </p>
      <Field label="Grace period" error={fieldError(rotate.error, 'grace_seconds')}>
        <select name="grace_seconds" value={grace} data-autofocus onChange={(event) => setGrace(event.target.value)}>
          {GRACE.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </Field>
      <FormError error={rotate.error} fields={['grace_seconds']} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={rotate.isPending}>
          {rotate.isPending ? 'Rotating…' : 'Rotate'}
        </button>
      </div>
    </form>
  );
}
