import type { Queryable } from '../../db/pool.js';
import { AppError } from '../../lib/errors.js';
import { isoOrNull } from '../../lib/time.js';
import { normaliseEmail } from '../admin-auth/admins.js';

/**
 * Users of a customer (the customer console): several per customer, role `owner` (team, webhook signing secret,
 * everything of the customer) or `member` (keys, usage, tasks, webhook endpoints and deliveries; no team management,
 * no signing secret). Emails are unique case-insensitively across all customers.
 */
export const CUSTOMER_ROLES = ['owner', 'member'] as const;
export type CustomerRole = (typeof CUSTOMER_ROLES)[number];

export interface CustomerUserRow {
  id: string;
  customer_id: string;
  email: string;
  password_hash: string;
  role: CustomerRole;
  email_verified_at: Date | null;
  totp_secret_encrypted: string | null;
  totp_pending_encrypted: string | null;
  totp_last_used_step: bigint | null;
  created_at: Date;
  updated_at: Date;
  last_login_at: Date | null;
}

export { normaliseEmail };

/**
 * The key the sign-up test credits are claimed under: lowercase, and a `+tag` in the local part removed, so
 * `Ann+1@example.com` and `ann@example.com` are one claim.
 */
export function creditEmailKey(email: string): string {
  const normalised = normaliseEmail(email);
  const at = normalised.lastIndexOf('@');
  if (at <= 0) return normalised;
  const local = normalised.slice(0, at).replace(/\+.*$/, '');
  return `${local}@${normalised.slice(at + 1)}`;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$/;

/** 400 on `param` unless the text looks like an address (one @, no spaces, a dotted domain), at most 254 characters. */
export function checkEmail(email: string, param = 'email'): string {
  const trimmed = email.trim();
  if (trimmed.length > 254 || !EMAIL.test(trimmed)) throw new AppError('invalid_request', `${param} must be an email address`, { param });
  return trimmed;
}

export function userView(row: CustomerUserRow) {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    email_verified: row.email_verified_at !== null,
    totp_enabled: row.totp_secret_encrypted !== null,
  };
}

export function memberView(row: CustomerUserRow) {
  return { ...userView(row), created_at: isoOrNull(row.created_at) };
}

export async function findUserByEmail(db: Queryable, email: string): Promise<CustomerUserRow | null> {
  return (await db.query<CustomerUserRow>('SELECT * FROM customer_users WHERE lower(email) = $1', [normaliseEmail(email)])).rows[0] ?? null;
}

/**
 * True unless the customer is `active`: the operator suspended it (PATCH /api/public/customers/:id {status}); its
 * users then cannot sign in or keep using a session (and its keys are refused on /v1).
 */
export async function customerSuspended(db: Queryable, customerId: string): Promise<boolean> {
  const row = (await db.query<{ status: string }>('SELECT status FROM customers WHERE id = $1', [customerId])).rows[0];
  return row?.status !== 'active';
}

/**
 * Ends every console session of the customer's users (signed-in and half-signed-in), in the caller's transaction: a
 * suspension takes effect at once, not at each session's next request. Answers how many sessions ended.
 */
export async function deleteCustomerSessions(tx: Queryable, customerId: string): Promise<number> {
  const result = await tx.query(
    'DELETE FROM customer_sessions WHERE user_id IN (SELECT id FROM customer_users WHERE customer_id = $1)',
    [customerId],
  );
  return result.rowCount ?? 0;
}

/** A user of the customer, or 404 (another customer's user is answered like an unknown one). */
export async function getUser(db: Queryable, customerId: string, id: string, forUpdate = false): Promise<CustomerUserRow> {
  const row = (await db.query<CustomerUserRow>(
    `SELECT * FROM customer_users WHERE id = $1 AND customer_id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [id, customerId],
  )).rows[0];
  if (!row) throw new AppError('not_found', 'No such team member');
  return row;
}

export async function getUserById(db: Queryable, id: string): Promise<CustomerUserRow | null> {
  return (await db.query<CustomerUserRow>('SELECT * FROM customer_users WHERE id = $1', [id])).rows[0] ?? null;
}

export async function listUsers(db: Queryable, customerId: string): Promise<CustomerUserRow[]> {
  return (await db.query<CustomerUserRow>('SELECT * FROM customer_users WHERE customer_id = $1 ORDER BY created_at, id', [customerId])).rows;
}

export interface NewUser {
  id: string;
  customerId: string;
  email: string;
  passwordHash: string;
  role: CustomerRole;
  verifiedAt: Date | null;
  now: Date;
}

/** 409 `conflict` on `email` when the address is taken (by any customer). */
export async function insertUser(tx: Queryable, user: NewUser): Promise<CustomerUserRow> {
  try {
    return (await tx.query<CustomerUserRow>(
      `INSERT INTO customer_users (id, customer_id, email, password_hash, role, email_verified_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING *`,
      [user.id, user.customerId, user.email, user.passwordHash, user.role, user.verifiedAt, user.now],
    )).rows[0]!;
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new AppError('conflict', 'An account with this email already exists', { param: 'email' });
    throw error;
  }
}

export interface UserChanges {
  password_hash?: string;
  role?: CustomerRole;
  email_verified_at?: Date;
  totp_secret_encrypted?: string | null;
  totp_pending_encrypted?: string | null;
  totp_last_used_step?: number | null;
  last_login_at?: Date;
}

const CHANGEABLE = ['password_hash', 'role', 'email_verified_at', 'totp_secret_encrypted', 'totp_pending_encrypted', 'totp_last_used_step', 'last_login_at'] as const;

export async function updateUser(tx: Queryable, id: string, changes: UserChanges, now: Date): Promise<CustomerUserRow> {
  const sets: string[] = [];
  const values: unknown[] = [id, now];
  for (const column of CHANGEABLE) {
    if (changes[column] === undefined) continue;
    values.push(changes[column]);
    sets.push(`${column} = $${values.length}`);
  }
  const row = (await tx.query<CustomerUserRow>(
    `UPDATE customer_users SET ${[...sets, 'updated_at = $2'].join(', ')} WHERE id = $1 RETURNING *`,
    values,
  )).rows[0];
  if (!row) throw new AppError('not_found', 'No such user');
  return row;
}

export async function deleteUser(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM customer_users WHERE id = $1', [id]);
}

/** A4 for customer users: the step is recorded only if later than the last accepted one (one guarded UPDATE). */
export async function claimUserTotpStep(tx: Queryable, userId: string, step: number, now: Date): Promise<boolean> {
  const result = await tx.query(
    `UPDATE customer_users SET totp_last_used_step = $2, updated_at = $3
      WHERE id = $1 AND (totp_last_used_step IS NULL OR totp_last_used_step < $2)`,
    [userId, step, now],
  );
  return (result.rowCount ?? 0) === 1;
}

/** Owners of the customer other than `exceptId`, locked (the last owner cannot be demoted or removed). */
export async function otherOwners(tx: Queryable, customerId: string, exceptId: string): Promise<number> {
  return (await tx.query(
    "SELECT id FROM customer_users WHERE customer_id = $1 AND role = 'owner' AND id <> $2 ORDER BY id FOR UPDATE",
    [customerId, exceptId],
  )).rows.length;
}
