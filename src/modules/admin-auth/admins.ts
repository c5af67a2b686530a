import type { Queryable } from '../../db/pool.js';
import { AppError } from '../../lib/errors.js';
import { isoOrNull } from '../../lib/time.js';

/** Admin accounts of the operator console (SEMANTICS §10): roles, status and the view the console lists. */
export const ADMIN_ROLES = ['owner', 'operator', 'viewer'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];
export type AdminStatus = 'pending' | 'active' | 'disabled';

export interface AdminRow {
  id: string;
  email: string;
  password_hash: string | null;
  role: AdminRole;
  status: AdminStatus;
  totp_secret_encrypted: string | null;
  totp_last_used_step: bigint | null;
  created_at: Date;
  updated_at: Date;
  last_login_at: Date | null;
  disabled_at: Date | null;
}

export interface AdminView {
  id: string;
  email: string;
  role: AdminRole;
  status: AdminStatus;
  totp_enrolled: boolean;
  created_at: string | null;
  last_login_at: string | null;
}

export function adminView(row: AdminRow): AdminView {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: row.status,
    totp_enrolled: row.totp_secret_encrypted !== null,
    created_at: isoOrNull(row.created_at),
    last_login_at: isoOrNull(row.last_login_at),
  };
}

/** The short view the session answers carry. */
export function sessionAdminView(row: AdminRow): { id: string; email: string; role: AdminRole; totp_enrolled: boolean } {
  return { id: row.id, email: row.email, role: row.role, totp_enrolled: row.totp_secret_encrypted !== null };
}

/** Emails are compared case-insensitively (unique on lower(email)); the throttle keys accounts the same way. */
export function normaliseEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

export async function findAdminByEmail(db: Queryable, email: string): Promise<AdminRow | null> {
  const result = await db.query<AdminRow>('SELECT * FROM admins WHERE lower(email) = $1', [normaliseEmail(email)]);
  return result.rows[0] ?? null;
}

export async function getAdmin(db: Queryable, id: string, forUpdate = false): Promise<AdminRow> {
  const result = await db.query<AdminRow>(`SELECT * FROM admins WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  const row = result.rows[0];
  if (!row) throw new AppError('not_found', 'No such admin');
  return row;
}

export async function listAdmins(db: Queryable): Promise<AdminRow[]> {
  return (await db.query<AdminRow>('SELECT * FROM admins ORDER BY created_at, id')).rows;
}

export async function countAdmins(db: Queryable): Promise<number> {
  const result = await db.query<{ count: bigint }>('SELECT count(*)::bigint AS count FROM admins');
  return Number(result.rows[0]!.count);
}

export async function insertAdmin(tx: Queryable, admin: { id: string; email: string; role: AdminRole; now: Date }): Promise<AdminRow> {
  try {
    const result = await tx.query<AdminRow>(
      `INSERT INTO admins (id, email, role, status, created_at, updated_at) VALUES ($1, $2, $3, 'pending', $4, $4) RETURNING *`,
      [admin.id, admin.email.trim(), admin.role, admin.now],
    );
    return result.rows[0]!;
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new AppError('conflict', 'An admin with this email already exists', { param: 'email' });
    }
    throw error;
  }
}

export interface AdminChanges {
  role?: AdminRole;
  status?: AdminStatus;
  password_hash?: string;
  totp_secret_encrypted?: string | null;
  totp_last_used_step?: number | null;
  last_login_at?: Date;
  disabled_at?: Date | null;
}

const CHANGEABLE = ['role', 'status', 'password_hash', 'totp_secret_encrypted', 'totp_last_used_step', 'last_login_at', 'disabled_at'] as const;

export async function updateAdmin(tx: Queryable, id: string, changes: AdminChanges, now: Date): Promise<AdminRow> {
  const sets: string[] = [];
  const values: unknown[] = [id, now];
  for (const column of CHANGEABLE) {
    if (changes[column] === undefined) continue;
    values.push(changes[column]);
    sets.push(`${column} = $${values.length}`);
  }
  const result = await tx.query<AdminRow>(
    `UPDATE admins SET ${[...sets, 'updated_at = $2'].join(', ')} WHERE id = $1 RETURNING *`,
    values,
  );
  const row = result.rows[0];
  if (!row) throw new AppError('not_found', 'No such admin');
  return row;
}

/**
 * A4: the code's step is recorded only if it is later than the last accepted one — the check and the update are
 * this one statement, so two requests with the same code cannot both pass. False = replay (or an older step).
 */
export async function claimTotpStep(tx: Queryable, adminId: string, step: number, now: Date): Promise<boolean> {
  const result = await tx.query(
    `UPDATE admins SET totp_last_used_step = $2, updated_at = $3
      WHERE id = $1 AND (totp_last_used_step IS NULL OR totp_last_used_step < $2)`,
    [adminId, step, now],
  );
  return (result.rowCount ?? 0) === 1;
}

/** Active owners other than `exceptId`, locked, so two owners cannot demote each other at once. */
export async function otherActiveOwners(tx: Queryable, exceptId: string): Promise<number> {
  const result = await tx.query<{ id: string }>(
    "SELECT id FROM admins WHERE role = 'owner' AND status = 'active' AND id <> $1 ORDER BY id FOR UPDATE",
    [exceptId],
  );
  return result.rows.length;
}
