import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { isoOrNull } from '../lib/time.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import {
  adminView, countAdmins, findAdminByEmail, getAdmin, insertAdmin, listAdmins, otherActiveOwners, updateAdmin,
  type AdminRole, type AdminRow, type AdminView,
} from '../modules/admin-auth/admins.js';
import { discardEnrollments, enrollmentUrl, issueEnrollment, type EnrollmentPurpose } from '../modules/admin-auth/enrollments.js';
import { clearRecoveryCodes } from '../modules/admin-auth/recovery.js';
import { deleteAdminSessions, deleteSession, findSessionByPublicId, listSessions } from '../modules/admin-auth/sessions.js';
import type { Queryable } from '../db/pool.js';

/**
 * Admin management (owners only, enforced by the HTTP layer): invite, change role, disable, reset a TOTP; session
 * lists and revocation; the CLI's `admin create` and the embedded default's first owner. Any privilege change
 * revokes that admin's sessions (A7: they sign in again and get a new id). Every change is audited in its transaction.
 */
export type AdminsDeps = Pick<Deps, 'db' | 'clock' | 'ids'> & { config: Pick<Deps['config'], 'publicBaseUrl'> };

/** The admin acting, as the HTTP layer authenticated them. */
export interface AdminActor {
  adminId: string;
  role: AdminRole;
  sessionId: string;
}

export interface EnrollmentLink {
  enrollment_url: string;
  enrollment_expires_at: string;
}

async function issueLink(deps: AdminsDeps, tx: Queryable, adminId: string, purpose: EnrollmentPurpose, now: Date): Promise<EnrollmentLink> {
  const issued = await issueEnrollment(tx, adminId, purpose, now);
  return { enrollment_url: enrollmentUrl(deps.config.publicBaseUrl, issued.token), enrollment_expires_at: issued.expiresAt.toISOString() };
}

export async function listAdminViews(deps: AdminsDeps): Promise<AdminView[]> {
  return (await listAdmins(deps.db)).map(adminView);
}

/** Invite: a pending admin and a one-time enrollment link valid 24 h (409 `conflict` on a taken email). */
export async function inviteAdmin(deps: AdminsDeps, input: { email: string; role: AdminRole }, audit: AuditContext): Promise<{ admin: AdminView } & EnrollmentLink> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const admin = await insertAdmin(tx, { id: deps.ids('adm'), email: input.email, role: input.role, now });
    const link = await issueLink(deps, tx, admin.id, 'invite', now);
    await recordAudit(tx, audit, { action: 'admin.invite', targetType: 'admin', targetId: admin.id, after: adminView(admin) }, now);
    return { admin: adminView(admin), ...link };
  });
}

function refuseSelf(actor: AdminActor, targetId: string, what: string): void {
  if (actor.adminId === targetId) throw new AppError('conflict', `You cannot ${what} yourself; ask another owner`);
}

/**
 * Role and disabled flag. An owner cannot change their own role or disable themselves, and the last active owner
 * cannot be demoted or disabled (checked under a lock on the owners). A change revokes the admin's sessions.
 */
export async function updateAdminAccess(
  deps: AdminsDeps,
  actor: AdminActor,
  adminId: string,
  changes: { role?: AdminRole; disabled?: boolean },
  audit: AuditContext,
): Promise<AdminView> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const before = await getAdmin(tx, adminId, true);
    const roleChanges = changes.role !== undefined && changes.role !== before.role;
    const disableChanges = changes.disabled !== undefined && changes.disabled !== (before.status === 'disabled');
    if (!roleChanges && !disableChanges) return adminView(before);
    refuseSelf(actor, adminId, changes.disabled ? 'disable' : 'change the role of');
    const losesOwner = before.role === 'owner' && before.status === 'active' && ((roleChanges && changes.role !== 'owner') || changes.disabled === true);
    if (losesOwner && (await otherActiveOwners(tx, adminId)) === 0) {
      throw new AppError('conflict', 'At least one active owner must remain');
    }
    const status = changes.disabled === true ? 'disabled' : changes.disabled === false ? (before.totp_secret_encrypted ? 'active' : 'pending') : before.status;
    const after = await updateAdmin(tx, adminId, {
      ...(roleChanges ? { role: changes.role! } : {}),
      status,
      ...(disableChanges ? { disabled_at: changes.disabled ? now : null } : {}),
    }, now);
    const revoked = await deleteAdminSessions(tx, adminId);
    if (changes.disabled) await discardEnrollments(tx, adminId);
    await recordAudit(tx, audit, {
      action: 'admin.update', targetType: 'admin', targetId: adminId, before: adminView(before), after: { ...adminView(after), sessions_revoked: revoked },
    }, now);
    return adminView(after);
  });
}

/**
 * TOTP reset: the secret and recovery codes are cleared, the admin's sessions revoked and a new enrollment link
 * (24 h) is returned; the admin keeps their password and is `pending` until they enroll again.
 */
export async function resetAdminTotp(deps: AdminsDeps, adminId: string, audit: AuditContext): Promise<EnrollmentLink> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const before = await getAdmin(tx, adminId, true);
    const after = await updateAdmin(tx, adminId, {
      totp_secret_encrypted: null,
      totp_last_used_step: null,
      ...(before.status === 'active' ? { status: 'pending' as const } : {}),
    }, now);
    await clearRecoveryCodes(tx, adminId);
    const revoked = await deleteAdminSessions(tx, adminId);
    const link = await issueLink(deps, tx, adminId, before.password_hash ? 'totp_reset' : 'invite', now);
    await recordAudit(tx, audit, {
      action: 'admin.reset_totp', targetType: 'admin', targetId: adminId, before: adminView(before), after: { ...adminView(after), sessions_revoked: revoked },
    }, now);
    return link;
  });
}

export interface SessionView {
  id: string;
  admin_id: string;
  email: string;
  state: string;
  ip: string | null;
  user_agent: string | null;
  created_at: string | null;
  last_seen_at: string | null;
  current: boolean;
}

/** Owners see every admin's sessions (optionally one admin's); others only their own (403 for another admin's). */
export async function listSessionViews(deps: AdminsDeps, actor: AdminActor, adminId: string | undefined): Promise<SessionView[]> {
  if (actor.role !== 'owner' && adminId !== undefined && adminId !== actor.adminId) {
    throw new AppError('forbidden', 'Only owners see other admins\' sessions');
  }
  const filter = actor.role === 'owner' ? adminId ?? null : actor.adminId;
  const rows = await listSessions(deps.db, filter, deps.clock.now());
  return rows.map((row) => ({
    id: row.public_id,
    admin_id: row.admin_id!,
    email: row.email,
    state: row.state,
    ip: row.ip,
    user_agent: row.user_agent,
    created_at: isoOrNull(row.created_at),
    last_seen_at: isoOrNull(row.last_seen_at),
    current: row.public_id === actor.sessionId,
  }));
}

/** Revokes a session by its public id: owners any, others their own (another admin's answers 404, like an unknown id). */
export async function revokeSession(deps: AdminsDeps, actor: AdminActor, publicId: string, audit: AuditContext): Promise<{ current: boolean }> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const session = await findSessionByPublicId(tx, publicId);
    if (!session || session.admin_id === null || (actor.role !== 'owner' && session.admin_id !== actor.adminId)) {
      throw new AppError('not_found', 'No such session');
    }
    await deleteSession(tx, session.id_hash);
    await recordAudit(tx, audit, { action: 'admin_session.revoke', targetType: 'admin', targetId: session.admin_id, after: { session: publicId } }, now);
    return { current: publicId === actor.sessionId };
  });
}

export interface CreatedAdmin {
  admin: AdminRow;
  url: string;
  expiresAt: Date;
  /** True when the admin existed, pending, and got a new link (the old one stops working). */
  reissued: boolean;
}

const CLI_ACTOR: AuditContext = { actor: 'system:cli', ip: null, userAgent: null };

/**
 * `genrelay admin create --email … [--role …]`: a pending admin with a link valid 24 h. For an admin that exists but
 * has not enrolled yet, a new link replaces the old one; an enrolled admin is refused (use the console's TOTP reset).
 */
export async function createAdminWithLink(deps: AdminsDeps, input: { email: string; role: AdminRole }, audit: AuditContext = CLI_ACTOR): Promise<CreatedAdmin> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const existing = await findAdminByEmail(tx, input.email);
    if (existing && existing.status !== 'pending') {
      throw new AppError('conflict', `An admin with this email already exists (${existing.status}); reset their authenticator from the console instead`);
    }
    const admin = existing ?? (await insertAdmin(tx, { id: deps.ids('adm'), email: input.email, role: input.role, now }));
    const issued = await issueEnrollment(tx, admin.id, admin.password_hash ? 'totp_reset' : 'invite', now);
    await recordAudit(tx, audit, { action: existing ? 'admin.reissue_link' : 'admin.invite', targetType: 'admin', targetId: admin.id, after: adminView(admin) }, now);
    return { admin, url: enrollmentUrl(deps.config.publicBaseUrl, issued.token), expiresAt: issued.expiresAt, reissued: existing !== null };
  });
}

/**
 * First start of the embedded default: when there is no admin at all, a pending owner (ADMIN_EMAIL) and its link,
 * to print beside the operator key. Under an advisory lock, so two processes create it once; null otherwise.
 */
export async function ensureFirstOwner(deps: AdminsDeps, email: string): Promise<CreatedAdmin | null> {
  const now = deps.clock.now();
  const audit: AuditContext = { actor: 'system:bootstrap', ip: null, userAgent: null };
  return deps.db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7341003)');
    if ((await countAdmins(tx)) > 0) return null;
    const admin = await insertAdmin(tx, { id: deps.ids('adm'), email, role: 'owner', now });
    const issued = await issueEnrollment(tx, admin.id, 'invite', now);
    await recordAudit(tx, audit, { action: 'admin.invite', targetType: 'admin', targetId: admin.id, after: adminView(admin) }, now);
    return { admin, url: enrollmentUrl(deps.config.publicBaseUrl, issued.token), expiresAt: issued.expiresAt, reissued: false };
  });
}
