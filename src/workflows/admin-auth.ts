import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import { claimTotpStep, findAdminByEmail, getAdmin, normaliseEmail, updateAdmin, type AdminRow } from '../modules/admin-auth/admins.js';
import { claimEnrollment, findEnrollment, setPendingSecret } from '../modules/admin-auth/enrollments.js';
import { checkPasswordPolicy, hashPassword, needsRehash, verifyAgainstDummy, verifyPassword } from '../modules/admin-auth/passwords.js';
import { consumeRecoveryCode, replaceRecoveryCodes } from '../modules/admin-auth/recovery.js';
import {
  ADMIN_SESSIONS, admitPreSession, createSession, deleteAdminSessions, deleteSession, loadSession, touchSession,
  type CreatedSession, type LoadedSession, type PreSessionLimitDeps,
} from '../modules/admin-auth/sessions.js';
import { lockedFor, recordFailure, resetFailures } from '../modules/admin-auth/throttle.js';
import { matchTotp, newTotpSecret, totpQrSvg, totpUri } from '../modules/admin-auth/totp.js';

/**
 * Console sign-in (SEMANTICS A1–A10): the pre-session, the password step, the TOTP or recovery-code step,
 * logout, password change and enrollment. Each step that grants more creates a new session id (and CSRF token) and
 * deletes the old one; sign-ins, enrollments and password changes are audited in their transaction, with the admin's
 * email as the actor.
 */
export type AdminAuthDeps = Pick<Deps, 'db' | 'clock' | 'ids' | 'secretBox' | 'logger'>;

/** The caller as the HTTP layer sees it. */
export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

/** A session handed to the client (the cookie to set) with the admin it belongs to. */
export interface SessionGrant extends CreatedSession {
  admin: AdminRow | null;
}

function auditOf(admin: AdminRow, client: ClientInfo): AuditContext {
  return { actor: admin.email, ip: client.ip, userAgent: client.userAgent };
}

function tooMany(seconds: number): AppError {
  return new AppError('too_many_attempts', 'Too many failed attempts; try again later', { retryAfter: seconds });
}

/**
 * The live session a cookie names: an expired one, or one of an admin who has since been disabled, is deleted and
 * answers null (disabling revokes sessions already; this also covers a row changed by hand).
 */
export async function findSession(deps: Pick<AdminAuthDeps, 'db'>, cookieId: string | undefined, now: Date): Promise<LoadedSession | null> {
  const session = await loadSession(deps.db, cookieId, now);
  if (session?.admin?.status === 'disabled') {
    await deleteSession(deps.db, session.id_hash);
    return null;
  }
  return session;
}

/** Activity moves the idle deadline (A7). */
export async function markSessionActive(deps: Pick<AdminAuthDeps, 'db'>, session: LoadedSession, now: Date): Promise<void> {
  await touchSession(deps.db, session.id_hash, now);
  session.last_seen_at = now;
}

/**
 * The caller's session, or a new anonymous pre-session holding a CSRF token (A7), at most
 * `CONSOLE_PRESESSIONS_PER_MINUTE` a minute per client IP (A13; a live session is never counted). Activity moves the
 * idle deadline.
 */
export async function ensureSession(deps: AdminAuthDeps & PreSessionLimitDeps, current: LoadedSession | null, client: ClientInfo): Promise<{ session: LoadedSession; created: boolean }> {
  const now = deps.clock.now();
  if (current) {
    await touchSession(deps.db, current.id_hash, now);
    return { session: { ...current, last_seen_at: now }, created: false };
  }
  await admitPreSession(deps, ADMIN_SESSIONS, client.ip);
  const created = await deps.db.transaction((tx) =>
    createSession(tx, deps.ids, { state: 'anonymous', adminId: null, ip: client.ip, userAgent: client.userAgent, now }));
  return { session: { ...created.row, cookieId: created.cookieId, admin: null }, created: true };
}

async function failAttempt(deps: AdminAuthDeps, accountKey: string, client: ClientInfo, kind: 'password' | 'totp'): Promise<void> {
  const now = deps.clock.now();
  const outcome = await deps.db.transaction((tx) => recordFailure(tx, accountKey, client.ip, kind, now));
  if (outcome.lockedUntil) {
    deps.logger.warn({ account: accountKey, ip: client.ip, failures: outcome.failures, lockedUntil: outcome.lockedUntil }, 'admin sign-in locked');
  }
  if (outcome.alerted) {
    deps.logger.warn({ account: accountKey, ip: client.ip, failures: outcome.failures }, 'admin account: more than 50 failed sign-ins in an hour');
  }
}

async function assertNotLocked(deps: AdminAuthDeps, accountKey: string, client: ClientInfo): Promise<void> {
  const seconds = await lockedFor(deps.db, accountKey, client.ip, deps.clock.now());
  if (seconds !== null) throw tooMany(seconds);
}

/**
 * The password step (A1, A2, A10). Unknown accounts, admins without a password, disabled or not enrolled admins
 * and wrong passwords all answer the same 401 after one argon2 verification; each counts as a failure for the
 * (email, IP) pair and the email. Success: a new `mfa_pending` session (5 min) replaces the caller's session.
 */
export async function passwordStep(deps: AdminAuthDeps, current: LoadedSession, input: { email: string; password: string }, client: ClientInfo): Promise<SessionGrant> {
  const accountKey = normaliseEmail(input.email);
  await assertNotLocked(deps, accountKey, client);
  const admin = await findAdminByEmail(deps.db, input.email);
  const verified = admin?.password_hash ? await verifyPassword(admin.password_hash, input.password) : await verifyAgainstDummy(input.password);
  if (!verified || !admin || admin.status !== 'active' || !admin.totp_secret_encrypted) {
    await failAttempt(deps, accountKey, client, 'password');
    throw new AppError('invalid_credentials', 'Invalid email or password');
  }
  const rehashed = needsRehash(admin.password_hash!) ? await hashPassword(input.password) : null;
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    if (rehashed) await updateAdmin(tx, admin.id, { password_hash: rehashed }, now);
    await deleteSession(tx, current.id_hash);
    const created = await createSession(tx, deps.ids, { state: 'mfa_pending', adminId: admin.id, ip: client.ip, userAgent: client.userAgent, now });
    return { ...created, admin };
  });
}

/**
 * The second step (A3–A5, A7, A10): a TOTP code whose step is claimed by the guarded UPDATE (a replay or an older
 * step fails), or an unused recovery code. Needs the `mfa_pending` session (401 `unauthenticated` otherwise). A
 * failure counts like a wrong password; success resets the (account, IP) counter and replaces the session with an
 * `authenticated` one (new id, idle 30 min, absolute 8 h).
 */
export async function secondFactorStep(
  deps: AdminAuthDeps,
  current: LoadedSession | null,
  input: { code?: string; recoveryCode?: string },
  client: ClientInfo,
): Promise<SessionGrant> {
  if (!current || current.state !== 'mfa_pending' || !current.admin) {
    throw new AppError('unauthenticated', 'Sign in with your password first (or the sign-in expired)');
  }
  const admin = current.admin;
  if (admin.status !== 'active' || !admin.totp_secret_encrypted) throw new AppError('unauthenticated', 'This account cannot sign in');
  const accountKey = normaliseEmail(admin.email);
  await assertNotLocked(deps, accountKey, client);
  const now = deps.clock.now();
  const step = input.code !== undefined ? matchTotp(deps.secretBox.open(admin.totp_secret_encrypted), input.code, now) : null;
  const grant = await deps.db.transaction(async (tx) => {
    if (input.code !== undefined) {
      if (step === null || !(await claimTotpStep(tx, admin.id, step, now))) return null;
    } else if (input.recoveryCode === undefined || !(await consumeRecoveryCode(tx, admin.id, input.recoveryCode, now))) {
      return null;
    }
    await deleteSession(tx, current.id_hash);
    const created = await createSession(tx, deps.ids, { state: 'authenticated', adminId: admin.id, ip: client.ip, userAgent: client.userAgent, now });
    const updated = await updateAdmin(tx, admin.id, { last_login_at: now }, now);
    await resetFailures(tx, accountKey, client.ip);
    await recordAudit(tx, auditOf(admin, client), {
      action: 'admin.login', targetType: 'admin', targetId: admin.id,
      after: { method: input.code !== undefined ? 'totp' : 'recovery_code', session: created.row.public_id },
    }, now);
    return { ...created, admin: updated };
  });
  if (!grant) {
    await failAttempt(deps, accountKey, client, 'totp');
    throw new AppError('invalid_code', 'The code is not valid');
  }
  return grant;
}

/** Logout deletes the session server-side (A7); a signed-in admin's logout is audited. */
export async function logout(deps: AdminAuthDeps, current: LoadedSession | null, client: ClientInfo): Promise<void> {
  if (!current) return;
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const deleted = await deleteSession(tx, current.id_hash);
    if (deleted && current.admin && current.state === 'authenticated') {
      await recordAudit(tx, auditOf(current.admin, client), { action: 'admin.logout', targetType: 'admin', targetId: current.admin.id, after: { session: current.public_id } }, now);
    }
  });
}

/**
 * Password change (A1, A7): the current password is checked like a sign-in (throttled, failures counted; a wrong
 * one is 400 `invalid_credentials` on `current_password`), the new one must be 12–256 characters. Every session of
 * the admin is revoked and the caller gets a new one (new id and CSRF token, same absolute end).
 */
export async function changePassword(
  deps: AdminAuthDeps,
  current: LoadedSession,
  input: { currentPassword: string; newPassword: string },
  client: ClientInfo,
): Promise<SessionGrant> {
  const admin = current.admin!;
  checkPasswordPolicy(input.newPassword, 'new_password');
  const accountKey = normaliseEmail(admin.email);
  await assertNotLocked(deps, accountKey, client);
  if (!admin.password_hash || !(await verifyPassword(admin.password_hash, input.currentPassword))) {
    await failAttempt(deps, accountKey, client, 'password');
    throw new AppError('invalid_credentials', 'The current password is not correct', { status: 400, param: 'current_password' });
  }
  const hashed = await hashPassword(input.newPassword);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const updated = await updateAdmin(tx, admin.id, { password_hash: hashed }, now);
    const revoked = await deleteAdminSessions(tx, admin.id);
    const created = await createSession(tx, deps.ids, {
      state: 'authenticated', adminId: admin.id, ip: client.ip, userAgent: client.userAgent, now, expiresAt: current.expires_at,
    });
    await recordAudit(tx, auditOf(admin, client), { action: 'admin.password_change', targetType: 'admin', targetId: admin.id, after: { sessions_revoked: revoked } }, now);
    return { ...created, admin: updated };
  });
}

export interface EnrollmentOffer {
  email: string;
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
  password_required: boolean;
}

function unknownLink(): AppError {
  return new AppError('not_found', 'No such enrollment link (it is unknown, used or expired)');
}

/** `enroll/start`: a fresh secret for the link (the previous offer is discarded), as text, URI and QR code. */
export async function startEnrollment(deps: AdminAuthDeps, token: string): Promise<EnrollmentOffer> {
  const now = deps.clock.now();
  const secret = newTotpSecret();
  const admin = await deps.db.transaction(async (tx) => {
    const link = await findEnrollment(tx, token, now, true);
    if (!link) throw unknownLink();
    const owner = await getAdmin(tx, link.admin_id);
    if (owner.status === 'disabled') throw unknownLink();
    await setPendingSecret(tx, link.token_hash, deps.secretBox.seal(secret));
    return owner;
  });
  const uri = totpUri(secret, admin.email);
  return { email: admin.email, secret, otpauth_uri: uri, qr_svg: await totpQrSvg(uri), password_required: admin.password_hash === null };
}

/**
 * `enroll/finish` (A3, A5): completes only with a valid code for the offered secret. Sets the password when the
 * admin has none (12–256 characters), stores the sealed secret with the code's step as the last used one, makes 10
 * recovery codes, uses up the link, revokes the admin's other sessions and signs the caller in.
 */
export async function finishEnrollment(
  deps: AdminAuthDeps,
  current: LoadedSession | null,
  input: { token: string; password?: string; code: string },
  client: ClientInfo,
): Promise<SessionGrant & { recoveryCodes: string[] }> {
  const now = deps.clock.now();
  const link = await findEnrollment(deps.db, input.token, now);
  if (!link) throw unknownLink();
  const admin = await getAdmin(deps.db, link.admin_id);
  if (admin.status === 'disabled') throw unknownLink();
  const passwordRequired = admin.password_hash === null;
  if (passwordRequired) checkPasswordPolicy(input.password, 'password');
  else if (input.password !== undefined) {
    throw new AppError('invalid_request', 'This link resets the authenticator only; the password is changed after signing in', { param: 'password' });
  }
  if (!link.pending_secret_encrypted) throw new AppError('invalid_request', 'Start the enrollment first (enroll/start)', { param: 'token' });
  const secret = deps.secretBox.open(link.pending_secret_encrypted);
  const step = matchTotp(secret, input.code, now);
  if (step === null) throw new AppError('invalid_code', 'The code does not match the authenticator secret', { status: 400, param: 'code' });
  const hashed = passwordRequired ? await hashPassword(input.password!) : null;
  return deps.db.transaction(async (tx) => {
    const locked = await findEnrollment(tx, input.token, now, true);
    if (!locked || locked.pending_secret_encrypted !== link.pending_secret_encrypted || !(await claimEnrollment(tx, link.token_hash, now))) {
      throw unknownLink();
    }
    const before = await getAdmin(tx, admin.id, true);
    if (before.status === 'disabled' || (passwordRequired && before.password_hash !== null)) throw unknownLink();
    const updated = await updateAdmin(tx, admin.id, {
      ...(hashed ? { password_hash: hashed } : {}),
      totp_secret_encrypted: deps.secretBox.seal(secret),
      totp_last_used_step: step,
      status: 'active',
      last_login_at: now,
    }, now);
    const recoveryCodes = await replaceRecoveryCodes(tx, admin.id, now);
    if (current) await deleteSession(tx, current.id_hash);
    await deleteAdminSessions(tx, admin.id);
    const created = await createSession(tx, deps.ids, { state: 'authenticated', adminId: admin.id, ip: client.ip, userAgent: client.userAgent, now });
    await recordAudit(tx, auditOf(admin, client), {
      action: 'admin.enroll', targetType: 'admin', targetId: admin.id,
      after: { purpose: link.purpose, password_set: hashed !== null, session: created.row.public_id },
    }, now);
    return { ...created, admin: updated, recoveryCodes };
  });
}
