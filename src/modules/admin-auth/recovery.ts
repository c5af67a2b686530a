import { randomInt } from 'node:crypto';
import type { Queryable } from '../../db/pool.js';
import { hashPassword, verifyPassword } from './passwords.js';

/**
 * Recovery codes (SEMANTICS A5): 10 single-use codes shown once at enrollment, stored as argon2id hashes and
 * consumed by a guarded UPDATE (`used_at IS NULL`), so one code signs in once even when sent twice at the same time.
 * A code is 10 characters from a 31-character alphabet without look-alikes (about 49 bits), shown as `xxxxx-xxxxx`; case,
 * spaces and dashes are ignored when it is typed back.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no i, l, o, 0, 1
const LENGTH = 10;

export function normaliseRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]+/g, '');
}

/** Whose codes: the admins' (`admin_recovery_codes`) or the customer users' (`customer_recovery_codes`). */
export interface RecoveryTable {
  table: 'admin_recovery_codes' | 'customer_recovery_codes';
  ownerColumn: 'admin_id' | 'user_id';
}
export const ADMIN_RECOVERY: RecoveryTable = { table: 'admin_recovery_codes', ownerColumn: 'admin_id' };
export const CUSTOMER_RECOVERY: RecoveryTable = { table: 'customer_recovery_codes', ownerColumn: 'user_id' };

function newCode(): string {
  let code = '';
  for (let index = 0; index < LENGTH; index += 1) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** Replaces the admin's codes with 10 new ones; returns them in clear (the only time they exist in clear). */
export async function replaceRecoveryCodes(tx: Queryable, adminId: string, now: Date, t: RecoveryTable = ADMIN_RECOVERY): Promise<string[]> {
  await tx.query(`DELETE FROM ${t.table} WHERE ${t.ownerColumn} = $1`, [adminId]);
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  const hashes = await Promise.all(codes.map((code) => hashPassword(normaliseRecoveryCode(code))));
  for (const hash of hashes) {
    await tx.query(`INSERT INTO ${t.table} (${t.ownerColumn}, code_hash, created_at) VALUES ($1, $2, $3)`, [adminId, hash, now]);
  }
  return codes;
}

export async function clearRecoveryCodes(tx: Queryable, adminId: string, t: RecoveryTable = ADMIN_RECOVERY): Promise<void> {
  await tx.query(`DELETE FROM ${t.table} WHERE ${t.ownerColumn} = $1`, [adminId]);
}

/**
 * Uses one unused code that matches, or answers false. Every unused hash is verified (so the time does not say
 * which one matched); the matching row is then claimed by the guarded UPDATE — 0 rows means it was just used.
 */
export async function consumeRecoveryCode(tx: Queryable, adminId: string, input: string, now: Date, t: RecoveryTable = ADMIN_RECOVERY): Promise<boolean> {
  const code = normaliseRecoveryCode(input);
  if (code.length !== LENGTH || ![...code].every((char) => ALPHABET.includes(char))) return false;
  const rows = (await tx.query<{ id: bigint; code_hash: string }>(
    `SELECT id, code_hash FROM ${t.table} WHERE ${t.ownerColumn} = $1 AND used_at IS NULL ORDER BY id`,
    [adminId],
  )).rows;
  const matches = await Promise.all(rows.map((row) => verifyPassword(row.code_hash, code)));
  const match = rows.find((_, index) => matches[index]);
  if (!match) return false;
  const claimed = await tx.query(`UPDATE ${t.table} SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, [match.id, now]);
  return (claimed.rowCount ?? 0) === 1;
}

export async function unusedRecoveryCodes(db: Queryable, adminId: string): Promise<number> {
  const result = await db.query<{ count: bigint }>('SELECT count(*)::bigint AS count FROM admin_recovery_codes WHERE admin_id = $1 AND used_at IS NULL', [adminId]);
  return Number(result.rows[0]!.count);
}
