import type { Queryable } from '../../db/pool.js';
import { pruneBatch } from '../../db/prune.js';
import { sha256Hex } from '../../lib/hash.js';
import { newSecretToken } from './sessions.js';

/**
 * Enrollment links (`${PUBLIC_BASE_URL}/admin/enroll#token=…`): one-time, valid 24 h, stored as the SHA-256 of the
 * token. Issuing a link for an admin discards that admin's earlier unused links. `enroll/start` keeps the secret it
 * offered (sealed) on the link's row, replaced on every start; `enroll/finish` claims the link with a guarded UPDATE.
 */
export const ENROLLMENT_TTL_MS = 24 * 3_600_000;
/** How long a link's row is kept past its expiry, used or not (pruneEnrollments). */
export const ENROLLMENT_RETENTION_MS = 7 * 24 * 3_600_000;
export type EnrollmentPurpose = 'invite' | 'totp_reset';

export interface EnrollmentRow {
  token_hash: string;
  admin_id: string;
  purpose: EnrollmentPurpose;
  pending_secret_encrypted: string | null;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

export interface IssuedEnrollment {
  token: string;
  expiresAt: Date;
}

export function enrollmentUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl}/admin/enroll#token=${token}`;
}

export async function issueEnrollment(tx: Queryable, adminId: string, purpose: EnrollmentPurpose, now: Date): Promise<IssuedEnrollment> {
  await tx.query('DELETE FROM admin_enrollments WHERE admin_id = $1 AND used_at IS NULL', [adminId]);
  const token = newSecretToken();
  const expiresAt = new Date(now.getTime() + ENROLLMENT_TTL_MS);
  await tx.query(
    'INSERT INTO admin_enrollments (token_hash, admin_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
    [sha256Hex(token), adminId, purpose, now, expiresAt],
  );
  return { token, expiresAt };
}

/** The unused, unexpired link a token names, or null. */
export async function findEnrollment(db: Queryable, token: string, now: Date, forUpdate = false): Promise<EnrollmentRow | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const result = await db.query<EnrollmentRow>(
    `SELECT * FROM admin_enrollments WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [sha256Hex(token), now],
  );
  return result.rows[0] ?? null;
}

export async function setPendingSecret(tx: Queryable, tokenHash: string, sealed: string): Promise<void> {
  await tx.query('UPDATE admin_enrollments SET pending_secret_encrypted = $2 WHERE token_hash = $1', [tokenHash, sealed]);
}

/** Single use: false when another request used the link first. */
export async function claimEnrollment(tx: Queryable, tokenHash: string, now: Date): Promise<boolean> {
  const result = await tx.query(
    'UPDATE admin_enrollments SET used_at = $2, pending_secret_encrypted = NULL WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2',
    [tokenHash, now],
  );
  return (result.rowCount ?? 0) === 1;
}

export async function discardEnrollments(tx: Queryable, adminId: string): Promise<void> {
  await tx.query('DELETE FROM admin_enrollments WHERE admin_id = $1 AND used_at IS NULL', [adminId]);
}

/**
 * The sweeper's part (one batch per call): links expired more than ENROLLMENT_RETENTION_MS ago, used or not. A used
 * or expired link answers like an unknown one (404 `not_found`, "unknown, used or expired"), so removing its row
 * changes no answer; the week keeps it at hand for looking into a complaint. Answers how many rows went.
 */
export function pruneEnrollments(db: Queryable, now: Date): Promise<number> {
  return pruneBatch(db, 'admin_enrollments', 'expires_at <= $1', [new Date(now.getTime() - ENROLLMENT_RETENTION_MS)]);
}
