import type { Queryable } from '../../db/pool.js';
import { pruneBatch } from '../../db/prune.js';
import { sha256Hex } from '../../lib/hash.js';
import type { IdGenerator } from '../../lib/ids.js';
import { isoOrNull } from '../../lib/time.js';
import { newSecretToken } from '../admin-auth/sessions.js';
import type { CustomerRole } from './users.js';

/**
 * One-time links sent by mail (`email_tokens`): `verify` (24 h), `reset` (1 h) and `invitation` (7 days). The link
 * carries 256 random bits in its fragment; the table stores only their SHA-256. Issuing a token of a purpose for a
 * user (or an invitation for an email and customer) discards the earlier unused ones; a token is used by a guarded
 * UPDATE (`used_at IS NULL AND expires_at > now`), so it works once even when sent twice at the same moment.
 */
export type TokenPurpose = 'verify' | 'reset' | 'invitation';

export const TOKEN_TTL_MS: Record<TokenPurpose, number> = {
  verify: 24 * 3_600_000,
  reset: 3_600_000,
  invitation: 7 * 24 * 3_600_000,
};

/** How long a token's row is kept past its expiry, used or not (pruneEmailTokens). */
export const TOKEN_RETENTION_MS = 7 * 24 * 3_600_000;

export interface EmailTokenRow {
  token_hash: string;
  public_id: string;
  purpose: TokenPurpose;
  email: string;
  user_id: string | null;
  customer_id: string | null;
  role: CustomerRole | null;
  created_by: string | null;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

export interface NewToken {
  purpose: TokenPurpose;
  email: string;
  userId?: string | null;
  customerId?: string | null;
  role?: CustomerRole | null;
  createdBy?: string | null;
  now: Date;
}

export async function issueToken(tx: Queryable, ids: IdGenerator, input: NewToken): Promise<{ token: string; row: EmailTokenRow }> {
  if (input.userId) {
    await tx.query('DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL', [input.userId, input.purpose]);
  } else if (input.purpose === 'invitation') {
    await tx.query(
      `DELETE FROM email_tokens WHERE purpose = 'invitation' AND used_at IS NULL AND lower(email) = lower($1)
         AND customer_id IS NOT DISTINCT FROM $2`,
      [input.email, input.customerId ?? null],
    );
  }
  const token = newSecretToken();
  const row = (await tx.query<EmailTokenRow>(
    `INSERT INTO email_tokens (token_hash, public_id, purpose, email, user_id, customer_id, role, created_by, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [sha256Hex(token), ids('inv'), input.purpose, input.email, input.userId ?? null, input.customerId ?? null, input.role ?? null,
      input.createdBy ?? null, input.now, new Date(input.now.getTime() + TOKEN_TTL_MS[input.purpose])],
  )).rows[0]!;
  return { token, row };
}

/** The unused, unexpired token of a purpose, or null (malformed, unknown, used, expired or another purpose). */
export async function findToken(db: Queryable, token: string, purpose: TokenPurpose, now: Date, forUpdate = false): Promise<EmailTokenRow | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  return (await db.query<EmailTokenRow>(
    `SELECT * FROM email_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3${forUpdate ? ' FOR UPDATE' : ''}`,
    [sha256Hex(token), purpose, now],
  )).rows[0] ?? null;
}

/** Single use: false when another request used it first (or it expired meanwhile). */
export async function claimToken(tx: Queryable, tokenHash: string, now: Date): Promise<boolean> {
  const result = await tx.query('UPDATE email_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2', [tokenHash, now]);
  return (result.rowCount ?? 0) === 1;
}

/** Open invitations of a customer, oldest first. */
export async function listInvitations(db: Queryable, customerId: string, now: Date): Promise<EmailTokenRow[]> {
  return (await db.query<EmailTokenRow>(
    "SELECT * FROM email_tokens WHERE customer_id = $1 AND purpose = 'invitation' AND used_at IS NULL AND expires_at > $2 ORDER BY created_at, public_id",
    [customerId, now],
  )).rows;
}

/** Withdraws an open invitation of the customer; false when it names none (unknown, used, another customer's). */
export async function deleteInvitation(tx: Queryable, customerId: string, publicId: string): Promise<EmailTokenRow | null> {
  return (await tx.query<EmailTokenRow>(
    "DELETE FROM email_tokens WHERE public_id = $1 AND customer_id = $2 AND purpose = 'invitation' AND used_at IS NULL RETURNING *",
    [publicId, customerId],
  )).rows[0] ?? null;
}

export function invitationView(row: EmailTokenRow) {
  return { id: row.public_id, email: row.email, role: row.role ?? 'owner', customer_id: row.customer_id, expires_at: isoOrNull(row.expires_at) };
}

/**
 * The sweeper's part (one batch per call): tokens expired more than TOKEN_RETENTION_MS ago, used or not. A used or
 * expired token answers exactly like an unknown one ("unknown, used or expired"), so removing its row changes no answer;
 * the week keeps it at hand for looking into a complaint. Kept whatever its age: the verify token of a user whose
 * address is not verified yet (at most one, as a new one replaces it), because a resend copies its `customer_id` (the
 * customer whose test credits the verification grants, C3).
 */
export function pruneEmailTokens(db: Queryable, now: Date): Promise<number> {
  return pruneBatch(db, 'email_tokens',
    `expires_at <= $1 AND NOT (purpose = 'verify' AND EXISTS (
       SELECT 1 FROM customer_users u WHERE u.id = email_tokens.user_id AND u.email_verified_at IS NULL))`,
    [new Date(now.getTime() - TOKEN_RETENTION_MS)]);
}
