import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import { checkPasswordPolicy, hashPassword, needsRehash, verifyAgainstDummy, verifyPassword } from '../modules/admin-auth/passwords.js';
import { CUSTOMER_RECOVERY, clearRecoveryCodes, consumeRecoveryCode, replaceRecoveryCodes } from '../modules/admin-auth/recovery.js';
import {
  CUSTOMER_SESSIONS, admitPreSession, createSession, deleteOwnerSessions, deleteSession, loadSessionRow, touchSession,
  type PreSessionLimitDeps, type SessionRow, type SessionState,
} from '../modules/admin-auth/sessions.js';
import { CUSTOMER_THROTTLE, lockedFor, recordFailure, resetFailures } from '../modules/admin-auth/throttle.js';
import { matchTotp, newTotpSecret, totpQrSvg, totpUri } from '../modules/admin-auth/totp.js';
import type { Mailer } from '../modules/mail/mailer.js';
import {
  claimUserTotpStep, customerSuspended, findUserByEmail, normaliseEmail, updateUser, type CustomerUserRow,
} from '../modules/customer-auth/users.js';

/**
 * Customer console sign-in (SEMANTICS §10 applied to customer users): the same pre-session → (`mfa_pending`, only
 * when the user enabled TOTP) → `authenticated` lifecycle, timeouts, CSRF tokens, uniform failures and throttling as
 * the operator console, in the customer tables (`customer_sessions`, `customer_login_failures`, …), so a customer
 * session is never an admin session and the reverse. Sign-ins, password and TOTP changes are audited in their
 * transaction with the actor `customer_user:<email>`.
 */
export type CustomerAuthDeps = Pick<Deps, 'db' | 'clock' | 'ids' | 'secretBox' | 'logger'>;
/** Sign-up, verification and reset also create customers, grant credits and send mail. */
export type CustomerAccountDeps = CustomerAuthDeps & Pick<Deps, 'config' | 'customers' | 'wallet' | 'catalog'> & { mailer: Mailer };

export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

export interface CustomerSessionRow extends Omit<SessionRow, 'admin_id'> {
  user_id: string | null;
}

/** A session found from its cookie, with its user (null for a pre-session) and the cookie id. */
export interface CustomerSession extends CustomerSessionRow {
  cookieId: string;
  user: CustomerUserRow | null;
}

export interface CustomerGrant {
  cookieId: string;
  row: CustomerSessionRow;
  user: CustomerUserRow | null;
}

export function customerActor(user: Pick<CustomerUserRow, 'email'>): string {
  return `customer_user:${user.email}`;
}

export function auditOfUser(user: CustomerUserRow, client: ClientInfo): AuditContext {
  return { actor: customerActor(user), ip: client.ip, userAgent: client.userAgent };
}

function tooMany(seconds: number): AppError {
  return new AppError('too_many_attempts', 'Too many failed attempts; try again later', { retryAfter: seconds });
}

/** 403 `customer_suspended`: told only to a caller who proved the password (and the TOTP code when the user has one). */
export function suspendedError(): AppError {
  return new AppError('customer_suspended', 'This customer account is suspended; contact the operator');
}

export async function findCustomerSession(deps: Pick<CustomerAuthDeps, 'db'>, cookieId: string | undefined, now: Date): Promise<CustomerSession | null> {
  const loaded = await loadSessionRow<CustomerUserRow>(deps.db, cookieId, now, CUSTOMER_SESSIONS);
  if (!loaded) return null;
  return { ...(loaded.row as unknown as CustomerSessionRow), cookieId: cookieId!, user: loaded.owner };
}

/**
 * A signed-in session whose customer is suspended is ended (its row deleted): access stops at the next request, and a
 * later reactivation needs a new sign-in. Answers true when it ended the session.
 */
export async function endSessionIfSuspended(deps: Pick<CustomerAuthDeps, 'db'>, session: CustomerSession): Promise<boolean> {
  if (!session.user || !(await customerSuspended(deps.db, session.user.customer_id))) return false;
  await dropCustomerSession(deps.db, session);
  return true;
}

export async function markCustomerSessionActive(deps: Pick<CustomerAuthDeps, 'db'>, session: CustomerSession, now: Date): Promise<void> {
  await touchSession(deps.db, session.id_hash, now, CUSTOMER_SESSIONS);
  session.last_seen_at = now;
}

/** A new session row for a user (or a pre-session), inside the caller's transaction. */
export async function openCustomerSession(
  deps: Pick<CustomerAuthDeps, 'ids'>,
  tx: Parameters<typeof createSession>[0],
  state: SessionState,
  user: CustomerUserRow | null,
  client: ClientInfo,
  now: Date,
  expiresAt?: Date,
): Promise<CustomerGrant> {
  const created = await createSession(tx, deps.ids, {
    state, adminId: user?.id ?? null, ip: client.ip, userAgent: client.userAgent, now, ...(expiresAt ? { expiresAt } : {}),
  }, CUSTOMER_SESSIONS);
  return { cookieId: created.cookieId, row: created.row as unknown as CustomerSessionRow, user };
}

export async function dropCustomerSession(tx: Parameters<typeof deleteSession>[0], session: Pick<CustomerSession, 'id_hash'> | null): Promise<boolean> {
  return session ? deleteSession(tx, session.id_hash, CUSTOMER_SESSIONS) : false;
}

export async function revokeUserSessions(tx: Parameters<typeof deleteOwnerSessions>[0], userId: string): Promise<number> {
  return deleteOwnerSessions(tx, userId, CUSTOMER_SESSIONS);
}

/** The caller's session, or a new anonymous pre-session holding a CSRF token, limited per client IP like the admins' (A13). */
export async function ensureCustomerSession(deps: CustomerAuthDeps & PreSessionLimitDeps, current: CustomerSession | null, client: ClientInfo): Promise<{ session: CustomerSession; created: boolean }> {
  const now = deps.clock.now();
  if (current) {
    await markCustomerSessionActive(deps, current, now);
    return { session: current, created: false };
  }
  await admitPreSession(deps, CUSTOMER_SESSIONS, client.ip);
  const grant = await deps.db.transaction((tx) => openCustomerSession(deps, tx, 'anonymous', null, client, now));
  return { session: { ...grant.row, cookieId: grant.cookieId, user: null }, created: true };
}

async function failAttempt(deps: CustomerAuthDeps, accountKey: string, client: ClientInfo, kind: 'password' | 'totp'): Promise<void> {
  const outcome = await deps.db.transaction((tx) => recordFailure(tx, accountKey, client.ip, kind, deps.clock.now(), CUSTOMER_THROTTLE));
  if (outcome.lockedUntil) deps.logger.warn({ account: accountKey, ip: client.ip, failures: outcome.failures }, 'customer sign-in locked');
  if (outcome.alerted) deps.logger.warn({ account: accountKey, failures: outcome.failures }, 'customer account: more than 50 failed sign-ins in an hour');
}

async function assertNotLocked(deps: CustomerAuthDeps, accountKey: string, client: ClientInfo): Promise<void> {
  const seconds = await lockedFor(deps.db, accountKey, client.ip, deps.clock.now(), CUSTOMER_THROTTLE);
  if (seconds !== null) throw tooMany(seconds);
}

/** Checks a password like a sign-in does (throttled, a wrong one counted); 400 `invalid_credentials` on `param`. */
export async function confirmPassword(deps: CustomerAuthDeps, user: CustomerUserRow, password: string, client: ClientInfo, param: string): Promise<void> {
  const accountKey = normaliseEmail(user.email);
  await assertNotLocked(deps, accountKey, client);
  if (!(await verifyPassword(user.password_hash, password))) {
    await failAttempt(deps, accountKey, client, 'password');
    throw new AppError('invalid_credentials', 'The password is not correct', { status: 400, param });
  }
}

/**
 * The password step. Unknown emails and wrong passwords answer the same 401 after one argon2 verification and count
 * for the (email, IP) pair. Success replaces the caller's session: `mfa_pending` (5 min) when the user has TOTP,
 * otherwise `authenticated` (the sign-in is then complete: counter reset, audited).
 */
export async function customerPasswordStep(deps: CustomerAuthDeps, current: CustomerSession | null, input: { email: string; password: string }, client: ClientInfo): Promise<CustomerGrant> {
  const accountKey = normaliseEmail(input.email);
  await assertNotLocked(deps, accountKey, client);
  const user = await findUserByEmail(deps.db, input.email);
  const verified = user ? await verifyPassword(user.password_hash, input.password) : await verifyAgainstDummy(input.password);
  if (!verified || !user) {
    await failAttempt(deps, accountKey, client, 'password');
    throw new AppError('invalid_credentials', 'Invalid email or password');
  }
  // Without TOTP the password completes the sign-in, so a suspended customer's user is refused here (not counted as
  // a failure); with TOTP, at the code step.
  if (!user.totp_secret_encrypted && (await customerSuspended(deps.db, user.customer_id))) throw suspendedError();
  const rehashed = needsRehash(user.password_hash) ? await hashPassword(input.password) : null;
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    if (rehashed) await updateUser(tx, user.id, { password_hash: rehashed }, now);
    await dropCustomerSession(tx, current);
    if (user.totp_secret_encrypted) return openCustomerSession(deps, tx, 'mfa_pending', user, client, now);
    const grant = await openCustomerSession(deps, tx, 'authenticated', user, client, now);
    const updated = await updateUser(tx, user.id, { last_login_at: now }, now);
    await resetFailures(tx, accountKey, client.ip, CUSTOMER_THROTTLE);
    await recordAudit(tx, auditOfUser(user, client), { action: 'customer_user.login', targetType: 'customer_user', targetId: user.id, after: { method: 'password', session: grant.row.public_id } }, now);
    return { ...grant, user: updated };
  });
}

/** The TOTP or recovery-code step (A3–A5) on an `mfa_pending` session; a failure counts like a wrong password. */
export async function customerSecondFactor(deps: CustomerAuthDeps, current: CustomerSession | null, input: { code?: string; recoveryCode?: string }, client: ClientInfo): Promise<CustomerGrant> {
  const user = current?.user;
  if (!current || current.state !== 'mfa_pending' || !user || !user.totp_secret_encrypted) {
    throw new AppError('unauthenticated', 'Sign in with your password first (or the sign-in expired)');
  }
  const accountKey = normaliseEmail(user.email);
  await assertNotLocked(deps, accountKey, client);
  const now = deps.clock.now();
  const step = input.code !== undefined ? matchTotp(deps.secretBox.open(user.totp_secret_encrypted), input.code, now) : null;
  const grant = await deps.db.transaction(async (tx) => {
    if (input.code !== undefined) {
      if (step === null || !(await claimUserTotpStep(tx, user.id, step, now))) return null;
    } else if (input.recoveryCode === undefined || !(await consumeRecoveryCode(tx, user.id, input.recoveryCode, now, CUSTOMER_RECOVERY))) {
      return null;
    }
    // A correct factor of a suspended customer's user: refused, and rolled back (the recovery code stays usable).
    if (await customerSuspended(tx, user.customer_id)) throw suspendedError();
    await dropCustomerSession(tx, current);
    const created = await openCustomerSession(deps, tx, 'authenticated', user, client, now);
    const updated = await updateUser(tx, user.id, { last_login_at: now }, now);
    await resetFailures(tx, accountKey, client.ip, CUSTOMER_THROTTLE);
    await recordAudit(tx, auditOfUser(user, client), {
      action: 'customer_user.login', targetType: 'customer_user', targetId: user.id,
      after: { method: input.code !== undefined ? 'totp' : 'recovery_code', session: created.row.public_id },
    }, now);
    return { ...created, user: updated };
  });
  if (!grant) {
    await failAttempt(deps, accountKey, client, 'totp');
    throw new AppError('invalid_code', 'The code is not valid');
  }
  return grant;
}

export async function customerLogout(deps: CustomerAuthDeps, current: CustomerSession | null, client: ClientInfo): Promise<void> {
  if (!current) return;
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const deleted = await dropCustomerSession(tx, current);
    if (deleted && current.user && current.state === 'authenticated') {
      await recordAudit(tx, auditOfUser(current.user, client), { action: 'customer_user.logout', targetType: 'customer_user', targetId: current.user.id, after: { session: current.public_id } }, now);
    }
  });
}

/** Password change: the current one checked like a sign-in; every session of the user revoked; the caller gets a new one. */
export async function changeCustomerPassword(deps: CustomerAuthDeps, current: CustomerSession, input: { currentPassword: string; newPassword: string }, client: ClientInfo): Promise<CustomerGrant> {
  const user = current.user!;
  checkPasswordPolicy(input.newPassword, 'new_password');
  await confirmPassword(deps, user, input.currentPassword, client, 'current_password');
  const hashed = await hashPassword(input.newPassword);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const updated = await updateUser(tx, user.id, { password_hash: hashed }, now);
    const revoked = await revokeUserSessions(tx, user.id);
    const grant = await openCustomerSession(deps, tx, 'authenticated', updated, client, now, current.expires_at);
    await recordAudit(tx, auditOfUser(user, client), { action: 'customer_user.password_change', targetType: 'customer_user', targetId: user.id, after: { sessions_revoked: revoked } }, now);
    return grant;
  });
}

/** `account/totp/start`: a fresh secret offered (kept sealed until confirmed); 409 when TOTP is already on. */
export async function startCustomerTotp(deps: CustomerAuthDeps, current: CustomerSession): Promise<{ secret: string; otpauth_uri: string; qr_svg: string }> {
  const user = current.user!;
  if (user.totp_secret_encrypted) throw new AppError('conflict', 'TOTP is already enabled; disable it first');
  const secret = newTotpSecret();
  await updateUser(deps.db, user.id, { totp_pending_encrypted: deps.secretBox.seal(secret) }, deps.clock.now());
  const uri = totpUri(secret, user.email);
  return { secret, otpauth_uri: uri, qr_svg: await totpQrSvg(uri) };
}

/** `account/totp/confirm`: enabled only after one valid code; 10 recovery codes; the session id rotates. */
export async function confirmCustomerTotp(deps: CustomerAuthDeps, current: CustomerSession, code: string, client: ClientInfo): Promise<CustomerGrant & { recoveryCodes: string[] }> {
  const user = current.user!;
  if (user.totp_secret_encrypted) throw new AppError('conflict', 'TOTP is already enabled');
  if (!user.totp_pending_encrypted) throw new AppError('invalid_request', 'Start with POST /console/api/account/totp/start', { param: 'code' });
  const secret = deps.secretBox.open(user.totp_pending_encrypted);
  const now = deps.clock.now();
  const step = matchTotp(secret, code, now);
  if (step === null) throw new AppError('invalid_code', 'The code does not match the authenticator secret', { status: 400, param: 'code' });
  return deps.db.transaction(async (tx) => {
    const updated = await updateUser(tx, user.id, { totp_secret_encrypted: deps.secretBox.seal(secret), totp_pending_encrypted: null, totp_last_used_step: step }, now);
    const recoveryCodes = await replaceRecoveryCodes(tx, user.id, now, CUSTOMER_RECOVERY);
    await dropCustomerSession(tx, current);
    const grant = await openCustomerSession(deps, tx, 'authenticated', updated, client, now, current.expires_at);
    await recordAudit(tx, auditOfUser(user, client), { action: 'customer_user.totp_enable', targetType: 'customer_user', targetId: user.id }, now);
    return { ...grant, recoveryCodes };
  });
}

/** `DELETE account/totp {password}`: the password re-entered; TOTP and recovery codes removed; the session id rotates. */
export async function disableCustomerTotp(deps: CustomerAuthDeps, current: CustomerSession, password: string, client: ClientInfo): Promise<CustomerGrant> {
  const user = current.user!;
  await confirmPassword(deps, user, password, client, 'password');
  if (!user.totp_secret_encrypted) throw new AppError('conflict', 'TOTP is not enabled');
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const updated = await updateUser(tx, user.id, { totp_secret_encrypted: null, totp_pending_encrypted: null, totp_last_used_step: null }, now);
    await clearRecoveryCodes(tx, user.id, CUSTOMER_RECOVERY);
    await dropCustomerSession(tx, current);
    const grant = await openCustomerSession(deps, tx, 'authenticated', updated, client, now, current.expires_at);
    await recordAudit(tx, auditOfUser(user, client), { action: 'customer_user.totp_disable', targetType: 'customer_user', targetId: user.id }, now);
    return grant;
  });
}
