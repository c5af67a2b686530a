import { useState, type FormEvent } from 'react';
import {
  Badge,
  ConfirmDialog,
  DataTable,
  ErrorState,
  Field,
  FormError,
  Loading,
  Modal,
  Notice,
  PageHeader,
  SecretOnce,
  Section,
  StatusBadge,
  TimeAgo,
  fieldError,
  type Column,
} from '../../shared/components';
import { describeUserAgent, formatDateTime } from '../../shared/format';
import { apiRequest } from '../../shared/api';
import { useApiMutation, useApiQuery } from '../../shared/query';
import type { AdminSessionRow, AdminUser, EnrollmentLink } from '../types';
import { OwnerOnly, useCanWrite, useSession, type Role } from '../session';

/**
 * Admins & sessions. Owners manage admins (`/admins`: invite → enrollment link shown once, change role, disable,
 * reset TOTP → a new link); everyone sees sessions (owners: all; others: their own), owners and operators can revoke
 * them (viewers read only), and everyone changes their own password (`/auth/password`, which signs out every other
 * session).
 */
const ROLES: { value: Role; label: string }[] = [
  { value: 'owner', label: 'owner — everything, including admins' },
  { value: 'operator', label: 'operator — everything but admins' },
  { value: 'viewer', label: 'viewer — read only' },
];

export function AdminsPage() {
  return (
    <>
      <PageHeader title="Admins & sessions" />
      <OwnerOnly>
        <AdminsSection />
      </OwnerOnly>
      <SessionsSection />
      <PasswordSection />
    </>
  );
}

type ShownLink = { title: string; email: string; link: EnrollmentLink };

function AdminsSection() {
  const { session } = useSession();
  const admins = useApiQuery<{ data: AdminUser[] }>('/admins');
  const [inviting, setInviting] = useState(false);
  const [link, setLink] = useState<ShownLink | null>(null);
  const [resetting, setResetting] = useState<AdminUser | null>(null);
  const [toggling, setToggling] = useState<AdminUser | null>(null);
  const [changingRole, setChangingRole] = useState<AdminUser | null>(null);

  const update = useApiMutation<{ admin: AdminUser; role?: Role; disabled?: boolean }, AdminUser>({
    method: 'PATCH',
    path: (vars) => `/admins/${vars.admin.id}`,
    body: (vars) => ({ ...(vars.role ? { role: vars.role } : {}), ...(vars.disabled === undefined ? {} : { disabled: vars.disabled }) }),
    invalidate: ['/admins', '/sessions'],
    onSuccess: () => {
      setToggling(null);
      setChangingRole(null);
    },
  });
  const reset = useApiMutation<AdminUser, EnrollmentLink>({
    method: 'POST',
    path: (admin) => `/admins/${admin.id}/reset-totp`,
    body: () => ({}),
    invalidate: ['/admins', '/sessions'],
    onSuccess: (result, admin) => {
      setResetting(null);
      setLink({ title: 'New enrollment link', email: admin.email, link: result });
    },
  });

  const self = session.admin?.id;
  const columns: Column<AdminUser>[] = [
    { key: 'email', header: 'Email', className: 'wrap', render: (row) => (<>{row.email} {row.id === self && <Badge tone="info">you</Badge>}</>) },
    { key: 'role', header: 'Role', render: (row) => row.role },
    {
      key: 'status',
      header: 'Status',
      render: (row) => (
        <div className="badges">
          <StatusBadge status={row.status} />
          {row.totp_enrolled ? <Badge tone="ok">TOTP enrolled</Badge> : <Badge tone="warn">no TOTP</Badge>}
        </div>
      ),
    },
    {
      key: 'login',
      header: 'Last sign-in',
      render: (row) =>
        row.last_login_at ? (
          <TimeAgo value={row.last_login_at} />
        ) : (
          <span className="muted">
            never <span className="small">(invited <TimeAgo value={row.created_at} />)</span>
          </span>
        ),
    },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (row) =>
        row.id === self ? null : (
          <div className="actions">
            <button type="button" className="button button-small" onClick={() => setChangingRole(row)} aria-label={`Change role of ${row.email}`}>
              Change role
            </button>
            <button type="button" className="button button-small" onClick={() => setResetting(row)} aria-label={`Reset TOTP of ${row.email}`}>
              Reset TOTP
            </button>
            <button type="button" className="button button-small" onClick={() => setToggling(row)} aria-label={`${row.status === 'disabled' ? 'Enable' : 'Disable'} ${row.email}`}>
              {row.status === 'disabled' ? 'Enable' : 'Disable'}
            </button>
          </div>
        ),
    },
  ];

  return (
    <Section
      title="Admins"
      actions={
        <button type="button" className="button button-primary" onClick={() => setInviting(true)}>
          Invite admin
        </button>
      }
    >
      {admins.isPending ? (
        <Loading label="Loading admins…" />
      ) : admins.isError ? (
        <ErrorState error={admins.error} retry={() => void admins.refetch()} />
      ) : (
        <DataTable columns={columns} rows={admins.data.data} rowKey={(row) => row.id} empty="No admins." caption="Admins" captionHidden />
      )}
      <p className="muted small">Changing a role or disabling an admin signs them out everywhere.</p>

      <Modal open={inviting} title="Invite an admin" onClose={() => setInviting(false)}>
        <InviteForm
          onCancel={() => setInviting(false)}
          onInvited={(email, result) => {
            setInviting(false);
            setLink({ title: 'Invitation link', email, link: result });
          }}
        />
      </Modal>

      <Modal open={link !== null} title={link?.title ?? ''} onClose={() => setLink(null)}>
        {link && (
          <div className="stack">
            <p>
              Send this link to <strong>{link.email}</strong>. It works once, until {formatDateTime(link.link.enrollment_expires_at)}, and
              sets up their password (if they have none yet) and authenticator.
            </p>
            <SecretOnce label="Enrollment link" value={link.link.enrollment_url} what="the link" />
            <div className="actions">
              <button type="button" className="button button-primary" onClick={() => setLink(null)}>
                Done
              </button>
            </div>
          </div>
        )}
      </Modal>

      <Modal
        open={changingRole !== null}
        title="Change role"
        onClose={() => {
          setChangingRole(null);
          update.reset();
        }}
      >
        {changingRole && (
          <RoleForm
            admin={changingRole}
            busy={update.isPending}
            error={update.error}
            onSubmit={(role) => update.mutate({ admin: changingRole, role })}
            onCancel={() => {
              setChangingRole(null);
              update.reset();
            }}
          />
        )}
      </Modal>

      <ConfirmDialog
        open={resetting !== null}
        title="Reset this admin's authenticator?"
        confirmLabel="Reset TOTP"
        danger
        busy={reset.isPending}
        error={<FormError error={reset.error} />}
        onConfirm={() => resetting && reset.mutate(resetting)}
        onClose={() => {
          setResetting(null);
          reset.reset();
        }}
      >
        <p>
          <strong>{resetting?.email}</strong> is signed out everywhere and cannot sign in until they enroll again with the new link
          you will get.
        </p>
      </ConfirmDialog>

      <ConfirmDialog
        open={toggling !== null}
        title={toggling?.status === 'disabled' ? 'Enable this admin?' : 'Disable this admin?'}
        confirmLabel={toggling?.status === 'disabled' ? 'Enable' : 'Disable'}
        danger={toggling?.status !== 'disabled'}
        busy={update.isPending}
        error={<FormError error={update.error} />}
        onConfirm={() => toggling && update.mutate({ admin: toggling, disabled: toggling.status !== 'disabled' })}
        onClose={() => {
          setToggling(null);
          update.reset();
        }}
      >
        <p>
          {toggling?.status === 'disabled'
            ? `${toggling.email} can sign in again.`
            : `${toggling?.email ?? ''} is signed out everywhere and cannot sign in until enabled again.`}
        </p>
      </ConfirmDialog>
    </Section>
  );
}

function RoleForm(props: { admin: AdminUser; busy: boolean; error: unknown; onSubmit: (role: Role) => void; onCancel: () => void }) {
  const [role, setRole] = useState<Role>(props.admin.role);
  return (
    <form
      className="stack"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSubmit(role);
      }}
    >
      <p>
        <strong>{props.admin.email}</strong> is signed out everywhere when the role changes.
      </p>
      <Field label="Role" error={fieldError(props.error, 'role')}>
        <select name="role" value={role} onChange={(event) => setRole(event.target.value as Role)} data-autofocus>
          {ROLES.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </Field>
      <FormError error={props.error} fields={['role']} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={props.busy || role === props.admin.role}>
          {props.busy ? 'Saving…' : 'Change role'}
        </button>
      </div>
    </form>
  );
}

function InviteForm(props: { onCancel: () => void; onInvited: (email: string, link: EnrollmentLink) => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const invite = useApiMutation<{ email: string; role: Role }, EnrollmentLink & { admin: AdminUser }>({
    method: 'POST',
    path: '/admins',
    invalidate: ['/admins'],
    onSuccess: (result, vars) => props.onInvited(vars.email, result),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    invite.mutate({ email: email.trim(), role });
  };
  return (
    <form className="stack" onSubmit={submit} noValidate>
      <Field label="Email" error={fieldError(invite.error, 'email')}>
        <input type="email" name="email" required value={email} onChange={(event) => setEmail(event.target.value)} data-autofocus />
      </Field>
      <Field label="Role" error={fieldError(invite.error, 'role')}>
        <select name="role" value={role} onChange={(event) => setRole(event.target.value as Role)}>
          {ROLES.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </Field>
      <FormError error={invite.error} fields={['email', 'role']} />
      <div className="actions">
        <button type="button" className="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={invite.isPending || !email.trim()}>
          {invite.isPending ? 'Inviting…' : 'Create invitation'}
        </button>
      </div>
    </form>
  );
}

function SessionsSection() {
  const { session } = useSession();
  const isOwner = session.admin?.role === 'owner';
  const canWrite = useCanWrite();
  const sessions = useApiQuery<{ data: AdminSessionRow[] }>('/sessions');
  const [revoking, setRevoking] = useState<AdminSessionRow | null>(null);
  const revoke = useApiMutation<AdminSessionRow>({
    method: 'DELETE',
    path: (row) => `/sessions/${row.id}`,
    invalidate: ['/sessions'],
    onSuccess: () => setRevoking(null),
  });

  const columns: Column<AdminSessionRow>[] = [
    ...(isOwner ? [{ key: 'email', header: 'Admin', render: (row: AdminSessionRow) => row.email }] : []),
    { key: 'state', header: 'State', render: (row) => (<>{<StatusBadge status={row.state} />} {row.current && <Badge tone="info">this session</Badge>}</>) },
    { key: 'ip', header: 'IP', className: 'nowrap', render: (row) => row.ip ?? '—' },
    { key: 'agent', header: 'Browser', render: (row) => <span title={row.user_agent ?? undefined}>{describeUserAgent(row.user_agent)}</span> },
    { key: 'created', header: 'Started', className: 'nowrap', render: (row) => <TimeAgo value={row.created_at} /> },
    { key: 'seen', header: 'Last seen', className: 'nowrap', render: (row) => <TimeAgo value={row.last_seen_at} /> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (row) =>
        row.current ? (
          <span className="muted small">use Sign out</span>
        ) : !canWrite ? null : (
          <button type="button" className="button button-small" onClick={() => setRevoking(row)} aria-label={`Revoke session of ${row.email} from ${row.ip ?? 'unknown address'}`}>
            Revoke
          </button>
        ),
    },
  ];

  return (
    <Section title={isOwner ? 'Sessions' : 'Your sessions'}>
      {sessions.isPending ? (
        <Loading label="Loading sessions…" />
      ) : sessions.isError ? (
        <ErrorState error={sessions.error} retry={() => void sessions.refetch()} />
      ) : (
        <DataTable columns={columns} rows={sessions.data.data} rowKey={(row) => row.id} empty="No sessions." caption="Sessions" captionHidden />
      )}
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this session?"
        confirmLabel="Revoke session"
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
          The browser of <strong>{revoking?.email}</strong> at {revoking?.ip ?? 'an unknown address'} is signed out at once.
        </p>
      </ConfirmDialog>
    </Section>
  );
}

function PasswordSection() {
  const { reload } = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [mismatch, setMismatch] = useState(false);
  const [done, setDone] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    if (next !== repeat) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    setBusy(true);
    setError(null);
    try {
      await apiRequest<void>('POST', '/auth/password', { body: { current_password: current, new_password: next }, noRedirect: true });
      // The server rotated this session (new id, new CSRF token): load it before the next mutation.
      await reload();
      setCurrent('');
      setNext('');
      setRepeat('');
      setDone(true);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  const currentError = fieldError(error, 'current_password');
  const newError = fieldError(error, 'new_password');
  return (
    <Section title="Change your password">
      <form className="stack form-narrow" onSubmit={(event) => void submit(event)} noValidate>
        <Field label="Current password" error={currentError}>
          <input type="password" name="current-password" autoComplete="current-password" required value={current} onChange={(event) => setCurrent(event.target.value)} />
        </Field>
        <Field label="New password" hint="12 to 256 characters." error={newError}>
          <input type="password" name="new-password" autoComplete="new-password" required minLength={12} maxLength={256} value={next} onChange={(event) => setNext(event.target.value)} />
        </Field>
        <Field label="Repeat the new password" error={mismatch ? 'The two passwords are different.' : null}>
          <input type="password" name="repeat-password" autoComplete="new-password" required value={repeat} onChange={(event) => setRepeat(event.target.value)} />
        </Field>
        <FormError error={currentError || newError ? null : error} />
        {done && <Notice tone="ok">Password changed. Your other sessions were signed out.</Notice>}
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={busy || !current || !next || !repeat}>
            {busy ? 'Changing…' : 'Change password'}
          </button>
        </div>
      </form>
    </Section>
  );
}
