import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { DataTable, DateTime, ErrorState, Field, FormError, Loading, Modal, PageHeader, Section, fieldError, type Column } from '../../../shared/components';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import type { Group, List } from '../../types';
import { useFocusInvalid } from '../models/useFocusInvalid';
import { CanWrite } from '../../session';

/**
 * Customer groups (`GET/POST /admin/groups`, `PATCH /admin/groups/:id`): a group picks a customer's channels and its
 * prices — `price_percent` 100 is the catalogue price, 80 is 20 % off (SEMANTICS M10). Groups are never deleted.
 */
interface GroupRow extends Group {
  created_at?: string | null;
  updated_at?: string | null;
}

interface GroupInput {
  id?: string;
  name?: string;
  price_percent?: number;
}

function describePercent(percent: number): string {
  if (percent === 100) return 'catalogue price';
  return percent < 100 ? `${100 - percent} % off` : `${percent - 100} % above`;
}

export function GroupsPage() {
  const groups = useApiQuery<List<GroupRow>>('/admin/groups');
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<GroupRow | null>(null);

  const create = useApiMutation<GroupInput, GroupRow>({ method: 'POST', path: '/admin/groups', invalidate: ['/admin/groups'], onSuccess: () => setCreating(false) });
  const update = useApiMutation<GroupInput & { target: string }, GroupRow>({
    method: 'PATCH',
    path: (vars) => `/admin/groups/${encodeURIComponent(vars.target)}`,
    body: ({ name, price_percent }) => ({ name, price_percent }),
    invalidate: ['/admin/groups'],
    onSuccess: () => setEditing(null),
  });

  const columns: Column<GroupRow>[] = [
    {
      key: 'id',
      header: 'Group',
      className: 'wrap',
      render: (row) => (
        <>
          {row.name ?? row.id}
          <div className="muted small mono">{row.id}</div>
        </>
      ),
    },
    { key: 'percent', header: 'Price percent', className: 'num', render: (row) => `${row.price_percent} %` },
    { key: 'meaning', header: 'Customers pay', render: (row) => describePercent(row.price_percent) },
    { key: 'updated', header: 'Updated', className: 'nowrap', render: (row) => <DateTime value={row.updated_at ?? null} /> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (row) => (
        <CanWrite>
          <button type="button" className="button button-small" onClick={() => setEditing(row)} aria-label={`Edit group ${row.id}`}>
            Edit
          </button>
        </CanWrite>
      ),
    },
  ];

  return (
    <>
      <PageHeader
        title="Groups"
        description={
          <>
            A customer's group picks its channels and its prices. Changes apply to tasks reserved from then on. See the prices on{' '}
            <Link to="/models">Models & prices</Link>.
          </>
        }
        actions={
          <CanWrite>
            <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
              New group
            </button>
          </CanWrite>
        }
      />
      <Section title="All groups">
        {groups.isPending ? (
          <Loading label="Loading groups…" />
        ) : groups.isError ? (
          <ErrorState error={groups.error} retry={() => void groups.refetch()} />
        ) : (
          <DataTable columns={columns} rows={groups.data.data} rowKey={(row) => row.id} caption="Groups" captionHidden empty="No groups." />
        )}
      </Section>
      <Modal
        open={creating}
        title="New group"
        onClose={() => {
          setCreating(false);
          create.reset();
        }}
      >
        <GroupForm
          busy={create.isPending}
          error={create.error}
          submitLabel="Create group"
          onSubmit={(input) => create.mutate(input)}
          onCancel={() => {
            setCreating(false);
            create.reset();
          }}
        />
      </Modal>
      <Modal
        open={editing !== null}
        title={`Edit group ${editing?.id ?? ''}`}
        onClose={() => {
          setEditing(null);
          update.reset();
        }}
      >
        {editing && (
          <GroupForm
            initial={editing}
            busy={update.isPending}
            error={update.error}
            submitLabel="Save changes"
            onSubmit={(input) => update.mutate({ ...input, target: editing.id })}
            onCancel={() => {
              setEditing(null);
              update.reset();
            }}
          />
        )}
      </Modal>
    </>
  );
}

function GroupForm(props: { initial?: GroupRow; busy: boolean; error: unknown; submitLabel: string; onSubmit: (input: GroupInput) => void; onCancel: () => void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState(props.initial?.name ?? '');
  const [percent, setPercent] = useState(String(props.initial?.price_percent ?? 100));
  const [localError, setLocalError] = useState<string | null>(null);
  const formRef = useFocusInvalid<HTMLFormElement>(localError ?? props.error);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = percent.trim();
    if (!/^\d+$/.test(trimmed) || Number(trimmed) < 1 || Number(trimmed) > 1000) return setLocalError('A whole number from 1 to 1000.');
    setLocalError(null);
    props.onSubmit({
      ...(props.initial ? {} : { id: id.trim() }),
      ...(name.trim() ? { name: name.trim() } : {}),
      price_percent: Number(trimmed),
    });
  };
  const value = Number(percent);

  return (
    <form ref={formRef} className="stack" onSubmit={submit} noValidate>
      {!props.initial && (
        <Field label="Group id" hint="Letters, digits, dot, dash, underscore. Fixed once created." error={fieldError(props.error, 'id')}>
          <input name="id" required maxLength={64} pattern="[A-Za-z0-9._-]+" value={id} onChange={(event) => setId(event.target.value)} autoFocus spellCheck={false} />
        </Field>
      )}
      <Field label="Name" hint={props.initial ? undefined : 'Empty: the id.'} error={fieldError(props.error, 'name')}>
        <input name="name" maxLength={200} value={name} onChange={(event) => setName(event.target.value)} autoFocus={Boolean(props.initial)} />
      </Field>
      <Field
        label="Price percent"
        hint={Number.isInteger(value) && value >= 1 && value <= 1000 ? `100 = catalogue price. This: ${describePercent(value)}.` : '100 = catalogue price, 80 = 20 % off.'}
        error={localError ?? fieldError(props.error, 'price_percent')}
      >
        <input name="price_percent" inputMode="numeric" value={percent} onChange={(event) => setPercent(event.target.value)} />
      </Field>
      <FormError error={props.error} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={props.busy || (!props.initial && id.trim() === '')}>
          {props.busy ? 'Saving…' : props.submitLabel}
        </button>
      </div>
    </form>
  );
}
