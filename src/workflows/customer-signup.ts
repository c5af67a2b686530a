import { AppError } from '../lib/errors.js';
import { recordAudit } from '../modules/audit/service.js';
import { checkPasswordPolicy, hashPassword } from '../modules/admin-auth/passwords.js';
import type { Queryable } from '../db/pool.js';
import type { MailMessage } from '../modules/mail/mailer.js';
import { signupMode, type SignupMode } from '../modules/settings/service.js';
import { claimSignupCredits, countMailRequest, countSignup } from '../modules/customer-auth/signup.js';
import { claimToken, findToken, issueToken, type EmailTokenRow } from '../modules/customer-auth/tokens.js';
import {
  checkEmail, creditEmailKey, findUserByEmail, getUserById, insertUser, updateUser, type CustomerRole, type CustomerUserRow,
} from '../modules/customer-auth/users.js';
import {
  auditOfUser, openCustomerSession, dropCustomerSession, revokeUserSessions, suspendedError,
  type ClientInfo, type CustomerAccountDeps, type CustomerGrant, type CustomerSession,
} from './customer-auth.js';

/**
 * Sign-up, email verification and password reset of the customer console. A sign-up without an invitation (mode
 * `open`) creates a customer in group `default` with its live and test wallets and an owner; the test wallet gets
 * SIGNUP_TEST_CREDITS when the email is verified, at most once per normalised email (`signup_credit_claims`; the
 * ledger reference is `signup:<email key>`). An invitation (the operator's: a new customer; an owner's: joins that
 * customer) is a verified address already and works in every mode; without one, `invite` and `closed` refuse
 * (403 `signup_closed`). Mail is sent after the transaction commits.
 */
export const DEFAULT_GROUP = 'default';

export function consoleLink(deps: Pick<CustomerAccountDeps, 'config'>, page: 'verify' | 'reset' | 'signup', fragment: string): string {
  return `${deps.config.publicBaseUrl}/console/${page}#${fragment}`;
}

function verifyMail(deps: CustomerAccountDeps, email: string, token: string): MailMessage {
  const link = consoleLink(deps, 'verify', `token=${token}`);
  return {
    to: email, kind: 'verify', link, subject: 'Confirm your email address',
    text: `Confirm the email address of your genrelay account by opening this link (valid for 24 hours):\n\n${link}\n\nIf you did not sign up, ignore this mail.\n`,
  };
}

export interface SignupInput {
  email: string;
  password: string;
  name?: string | undefined;
  inviteToken?: string | undefined;
}

export interface SignupResult extends CustomerGrant {
  state: 'authenticated' | 'verify_email';
  customer: { id: string; name: string };
}

function badInvitation(): AppError {
  return new AppError('invalid_request', 'The invitation is unknown, used or expired', { param: 'invite_token' });
}

/** A new customer (default group, live and test wallets) inside the caller's transaction, audited. */
async function newCustomer(deps: CustomerAccountDeps, tx: Queryable, name: string, actor: { actor: string; ip: string | null; userAgent: string | null }, now: Date) {
  await deps.catalog.requireGroup(tx, DEFAULT_GROUP);
  const customer = await deps.customers.insert(tx, { id: deps.ids('cus'), name, email: null, status: 'active', group: DEFAULT_GROUP, plan: {}, now });
  await deps.wallet.createWallets(tx, customer.id, now);
  await recordAudit(tx, actor, { action: 'customer.create', targetType: 'customer', targetId: customer.id, after: { ...customer, via: 'signup' } }, now);
  return customer;
}

/**
 * The sign-up test credits for the customer a user created, exactly once per email key: the claim row and the ledger
 * entry are written in the caller's transaction; answers the credits granted (0 when the email had them already).
 */
export async function grantSignupCredits(deps: CustomerAccountDeps, tx: Queryable, user: CustomerUserRow, customerId: string, client: ClientInfo, now: Date): Promise<number> {
  const amount = deps.config.signupTestCredits;
  const key = creditEmailKey(user.email);
  if (amount <= 0 || !(await claimSignupCredits(tx, key, customerId, user.id, now))) return 0;
  const auditId = await recordAudit(tx, auditOfUser(user, client), {
    action: 'credits.grant', targetType: 'customer', targetId: customerId,
    after: { amount: String(amount), reason: 'sign-up test credits', reference: `signup:${key}`, mode: 'test' },
  }, now);
  await deps.wallet.credit(tx, { customerId, mode: 'test', amount: BigInt(amount), reason: 'sign-up test credits', reference: `signup:${key}`, auditId, now });
  return amount;
}

/** The sign-up mode the operator set (settings), as the console's session answer shows it. */
export async function currentSignupMode(deps: Pick<CustomerAccountDeps, 'db'>): Promise<SignupMode> {
  return signupMode(deps.db);
}

export async function signup(deps: CustomerAccountDeps, current: CustomerSession | null, input: SignupInput, client: ClientInfo): Promise<SignupResult> {
  const email = checkEmail(input.email);
  checkPasswordPolicy(input.password, 'password');
  const name = input.name?.trim() || email;
  const now = deps.clock.now();
  let invitation: EmailTokenRow | null = null;
  if (input.inviteToken !== undefined) {
    invitation = await findToken(deps.db, input.inviteToken, 'invitation', now);
    if (!invitation) throw badInvitation();
    if (invitation.email.toLowerCase() !== email.toLowerCase()) {
      throw new AppError('invalid_request', 'Sign up with the address the invitation was sent to', { param: 'email' });
    }
  } else {
    const mode = await signupMode(deps.db);
    if (mode !== 'open') {
      throw new AppError('signup_closed', mode === 'invite' ? 'Sign-up needs an invitation' : 'Sign-up is closed');
    }
  }
  const retryAfter = await countSignup(deps.db, client.ip, now);
  if (retryAfter !== null) throw new AppError('too_many_attempts', 'Too many sign-ups from this address; try again later', { retryAfter });
  if (await findUserByEmail(deps.db, email)) throw new AppError('conflict', 'An account with this email already exists', { param: 'email' });
  const passwordHash = await hashPassword(input.password);
  let verifyToken: string | null = null;
  const result = await deps.db.transaction(async (tx) => {
    const audit = { actor: `customer_user:${email}`, ip: client.ip, userAgent: client.userAgent };
    let customerId: string;
    let customerName: string;
    let role: CustomerRole = 'owner';
    if (invitation) {
      if (!(await claimToken(tx, invitation.token_hash, now))) throw badInvitation();
      if (invitation.customer_id) {
        const joined = await deps.customers.get(invitation.customer_id, tx);
        // Joining a suspended customer would only make a user who cannot sign in: refused, the invitation kept.
        if (joined.status !== 'active') throw suspendedError();
        customerId = joined.id;
        customerName = joined.name;
        role = invitation.role ?? 'member';
      } else {
        const created = await newCustomer(deps, tx, name, audit, now);
        customerId = created.id;
        customerName = created.name;
      }
    } else {
      const created = await newCustomer(deps, tx, name, audit, now);
      customerId = created.id;
      customerName = created.name;
    }
    const user = await insertUser(tx, { id: deps.ids('usr'), customerId, email, passwordHash, role, verifiedAt: invitation ? now : null, now });
    await recordAudit(tx, audit, {
      action: 'customer_user.signup', targetType: 'customer_user', targetId: user.id,
      after: { customer_id: customerId, role, invitation: invitation?.public_id ?? null },
    }, now);
    // An operator's invitation makes a new customer whose address is proven: its credits are due now.
    if (invitation && !invitation.customer_id) await grantSignupCredits(deps, tx, user, customerId, client, now);
    if (!invitation) {
      verifyToken = (await issueToken(tx, deps.ids, { purpose: 'verify', email, userId: user.id, customerId, now })).token;
    }
    await dropCustomerSession(tx, current);
    const grant = await openCustomerSession(deps, tx, 'authenticated', user, client, now);
    return { ...grant, customer: { id: customerId, name: customerName } };
  });
  if (verifyToken) await deps.mailer.send(verifyMail(deps, email, verifyToken));
  return { ...result, state: result.user!.email_verified_at ? 'authenticated' : 'verify_email' };
}

/**
 * `auth/verify {token}`: the address is verified (single use, 24 h); when the token was issued to the user who created
 * the customer, the test credits are granted (once per email key). No session needed (the link may open elsewhere).
 */
export async function verifyEmail(deps: CustomerAccountDeps, token: string, client: ClientInfo): Promise<{ email_verified: true; credits_granted: number }> {
  const now = deps.clock.now();
  const found = await findToken(deps.db, token, 'verify', now);
  if (!found || !found.user_id) throw new AppError('invalid_request', 'The verification link is unknown, used or expired', { param: 'token' });
  const granted = await deps.db.transaction(async (tx) => {
    if (!(await claimToken(tx, found.token_hash, now))) throw new AppError('invalid_request', 'The verification link is unknown, used or expired', { param: 'token' });
    const user = await getUserById(tx, found.user_id!);
    if (!user) throw new AppError('invalid_request', 'The verification link is unknown, used or expired', { param: 'token' });
    const updated = user.email_verified_at ? user : await updateUser(tx, user.id, { email_verified_at: now }, now);
    await recordAudit(tx, auditOfUser(user, client), { action: 'customer_user.verify_email', targetType: 'customer_user', targetId: user.id }, now);
    return found.customer_id && found.customer_id === user.customer_id ? grantSignupCredits(deps, tx, updated, found.customer_id, client, now) : 0;
  });
  return { email_verified: true, credits_granted: granted };
}

/**
 * `auth/verify/resend` (signed in): a new link replaces the previous one; 409 when the address is verified already;
 * over 3 an hour for the address or 10 an hour from the client → 429 `too_many_attempts` with Retry-After (nothing sent).
 */
export async function resendVerification(deps: CustomerAccountDeps, user: CustomerUserRow, client: ClientInfo): Promise<void> {
  if (user.email_verified_at) throw new AppError('conflict', 'The email address is verified already');
  const now = deps.clock.now();
  const retryAfter = await countMailRequest(deps.db, 'verify', creditEmailKey(user.email), client.ip, now);
  if (retryAfter !== null) throw new AppError('too_many_attempts', 'Too many verification mails asked for; try again later', { retryAfter });
  const token = await deps.db.transaction(async (tx) => {
    // The credits stay due to the customer the earlier link named (the one this user's sign-up created).
    const previous = (await tx.query<{ customer_id: string | null }>(
      "SELECT customer_id FROM email_tokens WHERE user_id = $1 AND purpose = 'verify' ORDER BY created_at DESC LIMIT 1",
      [user.id],
    )).rows[0];
    return (await issueToken(tx, deps.ids, { purpose: 'verify', email: user.email, userId: user.id, customerId: previous?.customer_id ?? null, now })).token;
  });
  await deps.mailer.send(verifyMail(deps, user.email, token));
}

/**
 * `auth/password-reset {email}`: always accepted (the answer says nothing about the address); a known user gets a
 * 1-hour link. Every request is counted (known address or not): over 3 an hour for the address or 10 an hour from the
 * client nothing is sent, and the answer stays the same.
 */
export async function requestPasswordReset(deps: CustomerAccountDeps, email: string, client: ClientInfo): Promise<void> {
  const now = deps.clock.now();
  const retryAfter = await countMailRequest(deps.db, 'reset', creditEmailKey(email), client.ip, now);
  if (retryAfter !== null) {
    deps.logger.warn({ ip: client.ip, retry_after: retryAfter }, 'password reset not sent: too many requests for this address or from this client');
    return;
  }
  const user = await findUserByEmail(deps.db, email);
  if (!user) return;
  const { token } = await deps.db.transaction((tx) => issueToken(tx, deps.ids, { purpose: 'reset', email: user.email, userId: user.id, now }));
  const link = consoleLink(deps, 'reset', `token=${token}`);
  await deps.mailer.send({
    to: user.email, kind: 'reset', link, subject: 'Reset your password',
    text: `Choose a new password for your genrelay account with this link (valid for 1 hour):\n\n${link}\n\nIf you did not ask for it, ignore this mail; your password stays as it is.\n`,
  });
}

/** `auth/password-reset/confirm {token, password}`: single use; the new password set and every session of the user revoked. */
export async function confirmPasswordReset(deps: CustomerAccountDeps, token: string, password: string, client: ClientInfo): Promise<void> {
  checkPasswordPolicy(password, 'password');
  const now = deps.clock.now();
  const found = await findToken(deps.db, token, 'reset', now);
  const unknown = () => new AppError('invalid_request', 'The reset link is unknown, used or expired', { param: 'token' });
  if (!found || !found.user_id) throw unknown();
  const hashed = await hashPassword(password);
  await deps.db.transaction(async (tx) => {
    if (!(await claimToken(tx, found.token_hash, now))) throw unknown();
    const user = await getUserById(tx, found.user_id!);
    if (!user) throw unknown();
    await updateUser(tx, user.id, { password_hash: hashed }, now);
    const revoked = await revokeUserSessions(tx, user.id);
    await recordAudit(tx, auditOfUser(user, client), { action: 'customer_user.password_reset', targetType: 'customer_user', targetId: user.id, after: { sessions_revoked: revoked } }, now);
  });
}
