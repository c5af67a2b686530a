import { useState } from 'react';
import { Badge, ConfirmDialog, DataTable, ErrorState, Field, FormError, InviteDialogs, Loading, Section, TimeAgo, type Column, type InviteExtra } from '../../../shared/components';
import { useApiMutation, useApiQuery } from '../../../shared/query';
import { useCustomerSession, useIsOwner } from '../../session';
import type { CustomerRole, Invitation, Team, TeamMember } from '../../types';

/**
 * The team (owners): members with their role (change, remove; the last owner stays) and open invitations (invite by
 * email and role → the invitation link once; withdraw). Members see a note instead.
 */
export function TeamSection() {
  const owner = useIsOwner();
  if (!owner) {
    return (
      <Section title="Team">
        <p className="muted">Only the team's owners manage members and invitations.</p>
      </Section>
    );
  }
  return <OwnerTeam />;
}

function OwnerTeam() {
  const { session } = useCustomerSession();
  const team = useApiQuery<Team>('/team');
  const [inviting, setInviting] = useState(false);
  const [removing, setRemoving] = useState<TeamMember | null>(null);
  const [withdrawing, setWithdrawing] = useState<Invitation | null>(null);
  const remove = useApiMutation<TeamMember>({
    method: 'DELETE',
    path: (member) => `/team/members/${encodeURIComponent(member.id)}`,
    invalidate: ['/team'],
    onSuccess: () => setRemoving(null),
  });
  const withdraw = useApiMutation<Invitation>({
    method: 'DELETE',
    path: (invitation) => `/team/invitations/${encodeURIComponent(invitation.id)}`,
    invalidate: ['/team'],
    onSuccess: () => setWithdrawing(null),
  });

  const members: Column<TeamMember>[] = [
    {
      key: 'email',
      header: 'Email',
      className: 'wrap',
      render: (member) => (
        <span>
          {member.email} {member.id === session.user?.id && <Badge tone="info">you</Badge>} {!member.email_verified && <Badge tone="warn">unverified</Badge>}
        </span>
      ),
    },
    { key: 'role', header: 'Role', render: (member) => <RoleEditor member={member} /> },
    { key: 'totp', header: 'Two-step', render: (member) => (member.totp_enabled ? <Badge tone="ok">on</Badge> : <Badge>off</Badge>) },
    { key: 'since', header: 'Member since', className: 'nowrap', render: (member) => <TimeAgo value={member.created_at} /> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (member) =>
        member.id === session.user?.id ? null : (
          <button type="button" className="button button-small button-danger" onClick={() => setRemoving(member)} aria-label={`Remove ${member.email}`}>
            Remove
          </button>
        ),
    },
  ];
  const invitations: Column<Invitation>[] = [
    { key: 'email', header: 'Email', className: 'wrap', render: (invitation) => invitation.email },
    { key: 'role', header: 'Role', render: (invitation) => invitation.role },
    { key: 'expires', header: 'Expires', className: 'nowrap', render: (invitation) => <TimeAgo value={invitation.expires_at} /> },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      className: 'actions',
      render: (invitation) => (
        <button type="button" className="button button-small" onClick={() => setWithdrawing(invitation)} aria-label={`Withdraw the invitation of ${invitation.email}`}>
          Withdraw
        </button>
      ),
    },
  ];

  return (
    <Section
      title="Team"
      actions={
        <button type="button" className="button button-primary" onClick={() => setInviting(true)}>
          Invite someone
        </button>
      }
    >
      {team.isPending ? (
        <Loading label="Loading the team…" />
      ) : team.isError ? (
        <ErrorState error={team.error} retry={() => void team.refetch()} />
      ) : (
        <div className="stack">
          <DataTable columns={members} rows={team.data.members} rowKey={(member) => member.id} empty="No members." caption="Members" />
          <DataTable columns={invitations} rows={team.data.invitations} rowKey={(invitation) => invitation.id} empty="No open invitations." caption="Open invitations" />
          <p className="muted small">Owners manage the team and reveal the webhook signing secret; members use keys, usage, tasks and webhooks.</p>
        </div>
      )}
      <InviteDialogs
        open={inviting}
        onClose={() => setInviting(false)}
        title="Invite someone"
        path="/team/invitations"
        invalidate={['/team']}
        extra={ROLE_FIELD}
        sentNote={(email) => `We mailed an invitation to ${email}. You can also pass on the link yourself; it is valid for 7 days.`}
      />
      <ConfirmDialog
        open={removing !== null}
        title="Remove this member?"
        confirmLabel="Remove"
        danger
        busy={remove.isPending}
        error={<FormError error={remove.error} />}
        onConfirm={() => removing && remove.mutate(removing)}
        onClose={() => {
          setRemoving(null);
          remove.reset();
        }}
      >
        <p>{removing?.email} loses access to this team at once. The keys they created keep working until you revoke them.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={withdrawing !== null}
        title="Withdraw this invitation?"
        confirmLabel="Withdraw"
        danger
        busy={withdraw.isPending}
        error={<FormError error={withdraw.error} />}
        onConfirm={() => withdrawing && withdraw.mutate(withdrawing)}
        onClose={() => {
          setWithdrawing(null);
          withdraw.reset();
        }}
      >
        <p>The invitation link for {withdrawing?.email} stops working.</p>
      </ConfirmDialog>
    </Section>
  );
}

function RoleEditor(props: { member: TeamMember }) {
  const [role, setRole] = useState<CustomerRole>(props.member.role);
  const change = useApiMutation<{ role: CustomerRole }>({
    method: 'PATCH',
    path: `/team/members/${encodeURIComponent(props.member.id)}`,
    invalidate: ['/team'],
  });
  return (
    <form
      className="row"
      onSubmit={(event) => {
        event.preventDefault();
        change.mutate({ role });
      }}
    >
      <label className="visually-hidden" htmlFor={`role-${props.member.id}`}>
        Role of {props.member.email}
      </label>
      <select id={`role-${props.member.id}`} value={role} onChange={(event) => setRole(event.target.value as CustomerRole)}>
        <option value="owner">owner</option>
        <option value="member">member</option>
      </select>
      {role !== props.member.role && (
        <button type="submit" className="button button-small" disabled={change.isPending}>
          {change.isPending ? 'Saving…' : 'Save'}
        </button>
      )}
      {change.error ? <FormError error={change.error} /> : null}
    </form>
  );
}

/** The invitation's role (members by default). */
const ROLE_FIELD: InviteExtra = {
  param: 'role',
  initial: 'member',
  body: (role) => ({ role }),
  field: (role, setRole, error) => (
    <Field label="Role" hint="Owners can manage the team and reveal the webhook signing secret." error={error}>
      <select name="role" value={role} onChange={(event) => setRole(event.target.value)}>
        <option value="member">member</option>
        <option value="owner">owner</option>
      </select>
    </Field>
  ),
};
