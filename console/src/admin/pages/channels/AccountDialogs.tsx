import { useState, type FormEvent } from 'react';
import { Badge, DataTable, Details, Field, FormError, Loading, Mono, Notice, fieldError, type Column } from '../../../shared/components';
import { formatNumber } from '../../../shared/format';
import { useApiMutation } from '../../../shared/query';
import type { Account, AccountImport, AccountTestResult, Channel } from '../../types';
import { MediaPreview } from '../tasks/MediaPreview';

/**
 * The forms of the credential pool. Credentials are typed into password inputs, sent once and never shown again:
 * they live only in these components' state, which is dropped when the dialog closes (Modal unmounts its content).
 */
const INVALIDATE = ['/accounts', '/admin/channels'];

export function AddAccountForm(props: { channel: Channel; onDone: (account: Account) => void; onCancel: () => void }) {
  const [credential, setCredential] = useState('');
  const [label, setLabel] = useState('');
  const add = useApiMutation<{ channel_id: string; credential: string; label?: string }, Account>({
    method: 'POST',
    path: '/accounts',
    invalidate: INVALIDATE,
    onSuccess: (account) => {
      setCredential('');
      props.onDone(account);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate({ channel_id: props.channel.id, credential: credential.trim(), ...(label.trim() ? { label: label.trim() } : {}) });
  };
  return (
    <form className="stack" onSubmit={submit} noValidate>
      <Field label="Credential" hint="The upstream API key. Stored encrypted; it is never shown again." error={fieldError(add.error, 'credential')}>
        <input type="password" name="credential" autoComplete="off" spellCheck={false} maxLength={4096} value={credential} onChange={(event) => setCredential(event.target.value)} autoFocus />
      </Field>
      <Field label="Label" hint="Optional, e.g. the upstream account's name." error={fieldError(add.error, 'label')}>
        <input name="label" maxLength={200} value={label} onChange={(event) => setLabel(event.target.value)} />
      </Field>
      <FormError error={add.error} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={add.isPending || credential.trim() === ''}>
          {add.isPending ? 'Adding…' : 'Add account'}
        </button>
      </div>
    </form>
  );
}

type ImportRow = AccountImport['results'][number] & { sourceLine: number };

/**
 * Bulk import (`POST /accounts/import`): one credential per line; blank lines are skipped here, and the result of each
 * line is reported against its line number in the text box. Duplicates (already in the pool, or repeated) are skipped
 * by the server. After the import the text is cleared: the result table names lines and account ids, never secrets.
 */
export function ImportAccountsForm(props: { channel: Channel; onClose: () => void }) {
  const [text, setText] = useState('');
  const [label, setLabel] = useState('');
  const [result, setResult] = useState<{ summary: AccountImport; rows: ImportRow[] } | null>(null);
  const run = useApiMutation<{ lines: number[]; body: { channel_id: string; credentials: (string | { credential: string; label: string })[] } }, AccountImport>({
    method: 'POST',
    path: '/accounts/import',
    body: (vars) => vars.body,
    invalidate: INVALIDATE,
    onSuccess: (summary, vars) => {
      setText('');
      setResult({ summary, rows: summary.results.map((row) => ({ ...row, sourceLine: vars.lines[row.line] ?? row.line + 1 })) });
    },
  });
  const lines = text.split('\n');
  const filled = lines.map((line, index) => ({ line: line.trim(), number: index + 1 })).filter((entry) => entry.line !== '');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const common = label.trim();
    run.mutate({
      lines: filled.map((entry) => entry.number),
      body: { channel_id: props.channel.id, credentials: filled.map((entry) => (common ? { credential: entry.line, label: common } : entry.line)) },
    });
  };

  if (result) {
    const columns: Column<ImportRow>[] = [
      { key: 'line', header: 'Line', className: 'num', render: (row) => row.sourceLine },
      {
        key: 'status',
        header: 'Result',
        render: (row) => <Badge tone={row.status === 'created' ? 'ok' : row.status === 'duplicate' ? 'warn' : 'bad'}>{row.status === 'duplicate' ? 'duplicate — skipped' : row.status}</Badge>,
      },
      {
        key: 'detail',
        header: 'Detail',
        className: 'wrap',
        render: (row) =>
          row.status === 'created' ? (
            <>
              account <Mono>{row.id}</Mono>
              {row.label && <span className="muted"> · {row.label}</span>}
            </>
          ) : row.status === 'duplicate' ? (
            <>
              same secret as <Mono>{row.duplicate_of}</Mono>
            </>
          ) : (
            row.error
          ),
      },
    ];
    return (
      <div className="stack">
        <Notice tone={result.summary.invalid > 0 ? 'warn' : 'ok'}>
          {formatNumber(result.summary.created)} created · {formatNumber(result.summary.duplicates)} duplicates skipped · {formatNumber(result.summary.invalid)} invalid
        </Notice>
        <DataTable columns={columns} rows={result.rows} rowKey={(row) => String(row.line)} caption="Result per line" empty="No lines." />
        <div className="actions">
          <button type="button" className="button" onClick={() => setResult(null)}>
            Import more
          </button>
          <button type="button" className="button button-primary" onClick={props.onClose}>
            Done
          </button>
        </div>
      </div>
    );
  }

  return (
    <form className="stack" onSubmit={submit} noValidate>
      <Field
        label="Credentials, one per line"
        hint={`Up to 1,000 lines. Blank lines are ignored; a secret the pool already holds is skipped. ${filled.length} line${filled.length === 1 ? '' : 's'} to import.`}
        error={fieldError(run.error, 'credentials')}
      >
        <textarea name="credentials" className="mono secret-text" rows={8} autoComplete="off" spellCheck={false} value={text} onChange={(event) => setText(event.target.value)} autoFocus />
      </Field>
      <Field label="Label for every imported account" hint="Optional, e.g. “batch of 2 March”." error={fieldError(run.error, 'label')}>
        <input name="label" maxLength={200} value={label} onChange={(event) => setLabel(event.target.value)} />
      </Field>
      <FormError error={run.error} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onClose}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={run.isPending || filled.length === 0 || filled.length > 1000}>
          {run.isPending ? 'Importing…' : `Import ${filled.length || ''}`.trim()}
        </button>
      </div>
    </form>
  );
}

/** `POST /accounts/:id/test {model}`: one small generation on exactly this credential (up to a minute). */
export function TestAccountForm(props: { account: Account; channel: Channel; onClose: () => void }) {
  const models = Object.keys(props.channel.models);
  const [model, setModel] = useState(models[0] ?? '');
  const test = useApiMutation<{ model: string }, AccountTestResult>({ method: 'POST', path: `/accounts/${props.account.id}/test`, invalidate: INVALIDATE });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    test.mutate(model ? { model } : ({} as { model: string }));
  };
  const result = test.data;
  return (
    <div className="stack">
      <form className="row" onSubmit={submit}>
        <Field label="Model" error={fieldError(test.error, 'model')}>
          <select name="model" value={model} onChange={(event) => setModel(event.target.value)} disabled={test.isPending}>
            {models.map((id) => (
              <option key={id} value={id}>
                {id} → {props.channel.models[id]}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" className="button button-primary" disabled={test.isPending || models.length === 0}>
          {test.isPending ? 'Testing…' : result ? 'Run again' : 'Run test generation'}
        </button>
      </form>
      <p className="muted small">
        A small real generation upstream (it may cost a little there), outside any customer's wallet. Its outcome counts for the account's health: a
        rejected credential is disabled.
      </p>
      {test.isPending && <Loading label="Waiting for the upstream (up to a minute)…" />}
      <FormError error={test.error} />
      {result && !test.isPending && (
        <div className="stack test-result" aria-live="polite">
          <Notice tone={result.ok ? 'ok' : 'warn'}>
            {result.ok ? 'The test generation succeeded.' : 'The test generation did not succeed.'}
          </Notice>
          <Details
            items={[
              ['Model', <code key="m">{result.model}</code>],
              ['Upstream answer', result.outcome],
              ['Final status', result.status ?? '—'],
              ['Took', `${formatNumber(result.latency_ms)} ms`],
              ['Error', result.error ? <span key="e"><code>{result.error.class}</code> {result.error.message}</span> : '—'],
              ['Upstream balance', result.balance === null ? 'not reported' : formatNumber(result.balance)],
            ]}
          />
          {result.result?.url ? (
            <MediaPreview result={result.result} fallback="other" label={`Test result of ${props.account.label ?? props.account.id}`} />
          ) : result.ok ? (
            <p className="muted small">The test route reports the outcome only, not the generated media.</p>
          ) : null}
        </div>
      )}
      <div className="actions">
        <button type="button" className="button" onClick={props.onClose}>
          Close
        </button>
      </div>
    </div>
  );
}

/**
 * `PATCH /accounts/:id {credential}`: replaces the secret (audited as `account.rotate`); the old one is gone. For a
 * deleted (wiped) account, `revive` sends `status: active` with it: the only way back for that row.
 */
export function RotateForm(props: { account: Account; revive?: boolean; onDone: () => void; onCancel: () => void }) {
  const [credential, setCredential] = useState('');
  const rotate = useApiMutation<{ credential: string; status?: 'active' }, Account>({
    method: 'PATCH',
    path: `/accounts/${props.account.id}`,
    invalidate: INVALIDATE,
    onSuccess: () => {
      setCredential('');
      props.onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    rotate.mutate({ credential: credential.trim(), ...(props.revive ? { status: 'active' as const } : {}) });
  };
  return (
    <form className="stack" onSubmit={submit} noValidate>
      <p>
        {props.revive
          ? 'This account was deleted and its secret wiped. A new credential makes it active again.'
          : 'The new secret replaces the current one at once for every new request. The old secret is discarded; neither can be shown.'}
      </p>
      <Field label="New credential" error={fieldError(rotate.error, 'credential')}>
        <input type="password" name="credential" autoComplete="off" spellCheck={false} maxLength={4096} value={credential} onChange={(event) => setCredential(event.target.value)} autoFocus />
      </Field>
      <FormError error={rotate.error} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={rotate.isPending || credential.trim() === ''}>
          {rotate.isPending ? 'Saving…' : props.revive ? 'Set credential and enable' : 'Replace credential'}
        </button>
      </div>
    </form>
  );
}

/** `PATCH /accounts/:id {label}` (empty = no label). */
export function LabelForm(props: { account: Account; onDone: () => void; onCancel: () => void }) {
  const [label, setLabel] = useState(props.account.label ?? '');
  const save = useApiMutation<{ label: string | null }, Account>({ method: 'PATCH', path: `/accounts/${props.account.id}`, invalidate: INVALIDATE, onSuccess: props.onDone });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate({ label: label.trim() === '' ? null : label.trim() });
  };
  return (
    <form className="stack" onSubmit={submit} noValidate>
      <Field label="Label" hint="Empty: no label." error={fieldError(save.error, 'label')}>
        <input name="label" maxLength={200} value={label} onChange={(event) => setLabel(event.target.value)} autoFocus />
      </Field>
      <FormError error={save.error} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save label'}
        </button>
      </div>
    </form>
  );
}
