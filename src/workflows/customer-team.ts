import { AppError } from '../lib/errors.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import { deleteInvitation, invitationView, issueToken, listInvitations } from '../modules/customer-auth/tokens.js';
import {
  checkEmail, deleteUser, findUserByEmail, getUser, listUsers, memberView, otherOwners, updateUser,
  type CustomerRole, type CustomerUserRow,
} from '../modules/customer-auth/users.js';
import { consoleLink } from './customer-signup.js';
import { revokeUserSessions, type CustomerAccountDeps } from './customer-auth.js';

/**
 * Team management of the customer console (owners only) and the operator's invitations. An invitation is a
 * one-time link `${PUBLIC_BASE_URL}/console/signup#invite=…` valid 7 days, mailed after the commit: an owner's joins
 * the owner's customer with the role it names; the operator's (`POST /api/admin/customer-invitations`) joins the
 * customer it names as owner, or — without `customer_id` — makes a new customer on sign-up. Every change is audited.
 */
export type TeamDeps = CustomerAccountDeps;

async function invite(deps: TeamDeps, input: { email: string; customerId: string | null; role: CustomerRole; inviter: string }, audit: AuditContext) {
  const email = checkEmail(input.email);
  if (await findUserByEmail(deps.db, email)) throw new AppError('conflict', 'An account with this email already exists', { param: 'email' });
  const now = deps.clock.now();
  const issued = await deps.db.transaction(async (tx) => {
    if (input.customerId) await deps.customers.get(input.customerId, tx);
    const created = await issueToken(tx, deps.ids, { purpose: 'invitation', email, customerId: input.customerId, role: input.role, createdBy: audit.actor, now });
    await recordAudit(tx, audit, {
      action: 'customer_invitation.create', targetType: 'customer_invitation', targetId: created.row.public_id,
      after: invitationView(created.row),
    }, now);
    return created;
  });
  const url = consoleLink(deps, 'signup', `invite=${issued.token}`);
  await deps.mailer.send({
    to: email, kind: 'invitation', link: url, subject: `${input.inviter} invited you to genrelay`,
    text: `${input.inviter} invited you to genrelay. Create your account with this link (valid for 7 days):\n\n${url}\n`,
  });
  return { invitation: invitationView(issued.row), invite_url: url };
}

/** The operator's invitation: to a new customer (no customer_id) or as an owner of an existing one. */
export function inviteByOperator(deps: TeamDeps, input: { email: string; customerId: string | null }, audit: AuditContext) {
  return invite(deps, { email: input.email, customerId: input.customerId, role: 'owner', inviter: 'The operator' }, audit);
}

export function inviteTeamMember(deps: TeamDeps, owner: CustomerUserRow, input: { email: string; role: CustomerRole }, audit: AuditContext) {
  return invite(deps, { email: input.email, customerId: owner.customer_id, role: input.role, inviter: owner.email }, audit);
}

export async function teamView(deps: Pick<TeamDeps, 'db' | 'clock'>, customerId: string) {
  const [members, invitations] = await Promise.all([listUsers(deps.db, customerId), listInvitations(deps.db, customerId, deps.clock.now())]);
  return {
    members: members.map(memberView),
    invitations: invitations.map((row) => {
      const { customer_id: _customer, ...view } = invitationView(row);
      return view;
    }),
  };
}

export async function withdrawInvitation(deps: TeamDeps, customerId: string, id: string, audit: AuditContext): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const removed = await deleteInvitation(tx, customerId, id);
    if (!removed) throw new AppError('not_found', 'No such invitation');
    await recordAudit(tx, audit, { action: 'customer_invitation.delete', targetType: 'customer_invitation', targetId: id, before: invitationView(removed) }, now);
  });
}

/** Changes a member's role; the last owner cannot be demoted (409). The member's sessions are revoked (a privilege change). */
export async function changeMemberRole(deps: TeamDeps, customerId: string, id: string, role: CustomerRole, audit: AuditContext) {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const before = await getUser(tx, customerId, id, true);
    if (before.role === role) return memberView(before);
    if (before.role === 'owner' && (await otherOwners(tx, customerId, id)) === 0) throw new AppError('conflict', 'The last owner cannot be demoted');
    const after = await updateUser(tx, id, { role }, now);
    await revokeUserSessions(tx, id);
    await recordAudit(tx, audit, { action: 'customer_user.role_change', targetType: 'customer_user', targetId: id, before: { role: before.role }, after: { role } }, now);
    return memberView(after);
  });
}

/** Removes a member (and their sessions); the last owner cannot be removed (409). */
export async function removeMember(deps: TeamDeps, customerId: string, id: string, audit: AuditContext): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const before = await getUser(tx, customerId, id, true);
    if (before.role === 'owner' && (await otherOwners(tx, customerId, id)) === 0) throw new AppError('conflict', 'The last owner cannot be removed');
    await revokeUserSessions(tx, id);
    await deleteUser(tx, id);
    await recordAudit(tx, audit, { action: 'customer_user.remove', targetType: 'customer_user', targetId: id, before: memberView(before) }, now);
  });
}
