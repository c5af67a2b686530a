import type { Queryable } from '../../db/pool.js';
import { pruneBatch } from '../../db/prune.js';

/**
 * Login throttling (SEMANTICS A10). Failed passwords and TOTP codes count per (account, IP) and per account; an
 * unknown account is keyed by its normalised email exactly like a real one. After 5 consecutive failures for one
 * (account, IP) that pair is locked for 1 s, doubling with each further failure up to 15 min; only a completed
 * sign-in resets the pair (a right password alone does not, or the TOTP step could be guessed without end). More
 * than 50 failures on one account within an hour writes one alert per hour to the security log and locks nobody
 * else out. Every lock is written to the security log. A pair with no failure for PAIR_QUIET_MS (its lock, at most
 * 15 min, long over) is forgotten by the sweeper (pruneThrottle): its next failure counts from 1 again.
 */
export const FREE_FAILURES = 5;
export const MAX_LOCK_MS = 15 * 60_000;
export const ALERT_THRESHOLD = 50;
const WINDOW_MS = 3_600_000;
/**
 * How long a pair's consecutive failures are kept after its last failure. Forgetting them after a day of silence
 * gives nobody more tries: waiting out 15-minute locks for that day would have allowed 96.
 */
export const PAIR_QUIET_MS = 24 * 3_600_000;

/**
 * Whose sign-ins are counted: the operator console's admins or the customer console's users, each in its own
 * tables; lockouts of both are written to the one security log, customer ones with a `customer_` kind prefix.
 */
export interface ThrottleTables {
  pairs: 'admin_login_failures' | 'customer_login_failures';
  accounts: 'admin_account_failures' | 'customer_account_failures';
  eventPrefix: '' | 'customer_';
}

export const ADMIN_THROTTLE: ThrottleTables = { pairs: 'admin_login_failures', accounts: 'admin_account_failures', eventPrefix: '' };
export const CUSTOMER_THROTTLE: ThrottleTables = { pairs: 'customer_login_failures', accounts: 'customer_account_failures', eventPrefix: 'customer_' };

/** The lock after `failures` consecutive failures: none below 5, then 1 s, 2 s, 4 s, … capped at 15 min. */
export function lockDurationMs(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  const exponent = failures - FREE_FAILURES;
  return exponent >= 20 ? MAX_LOCK_MS : Math.min(MAX_LOCK_MS, 1000 * 2 ** exponent);
}

/** Seconds until the pair may try again (≥ 1), or null when it is not locked. */
export async function lockedFor(db: Queryable, accountKey: string, ip: string, now: Date, tables: ThrottleTables = ADMIN_THROTTLE): Promise<number | null> {
  const result = await db.query<{ locked_until: Date | null }>(
    `SELECT locked_until FROM ${tables.pairs} WHERE account_key = $1 AND ip = $2`,
    [accountKey, ip],
  );
  const until = result.rows[0]?.locked_until;
  if (!until || until.getTime() <= now.getTime()) return null;
  return Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
}

export interface FailureOutcome {
  failures: number;
  lockedUntil: Date | null;
  /** This failure pushed the account past 50 in its hour (the alert is written once per window). */
  alerted: boolean;
}

export async function recordFailure(tx: Queryable, accountKey: string, ip: string, kind: 'password' | 'totp', now: Date, tables: ThrottleTables = ADMIN_THROTTLE): Promise<FailureOutcome> {
  const pair = await tx.query<{ failures: number }>(
    `INSERT INTO ${tables.pairs} (account_key, ip, failures, updated_at) VALUES ($1, $2, 1, $3)
     ON CONFLICT (account_key, ip) DO UPDATE SET failures = ${tables.pairs}.failures + 1, updated_at = $3
     RETURNING failures`,
    [accountKey, ip, now],
  );
  const failures = pair.rows[0]!.failures;
  const lockMs = lockDurationMs(failures);
  let lockedUntil: Date | null = null;
  if (lockMs > 0) {
    lockedUntil = new Date(now.getTime() + lockMs);
    await tx.query(`UPDATE ${tables.pairs} SET locked_until = $3 WHERE account_key = $1 AND ip = $2`, [accountKey, ip, lockedUntil]);
    await writeSecurityEvent(tx, `${tables.eventPrefix}login_locked`, accountKey, ip, { failures, kind, locked_until: lockedUntil.toISOString(), lock_seconds: lockMs / 1000 }, now);
  }
  const account = await tx.query<{ failures: number; alerted_at: Date | null; window_start: Date }>(
    `INSERT INTO ${tables.accounts} AS f (account_key, window_start, failures) VALUES ($1, $2, 1)
     ON CONFLICT (account_key) DO UPDATE SET
       failures = CASE WHEN f.window_start <= $3 THEN 1 ELSE f.failures + 1 END,
       alerted_at = CASE WHEN f.window_start <= $3 THEN NULL ELSE f.alerted_at END,
       window_start = CASE WHEN f.window_start <= $3 THEN $2 ELSE f.window_start END
     RETURNING failures, alerted_at, window_start`,
    [accountKey, now, new Date(now.getTime() - WINDOW_MS)],
  );
  const counted = account.rows[0]!;
  let alerted = false;
  if (counted.failures > ALERT_THRESHOLD && counted.alerted_at === null) {
    const claimed = await tx.query(
      `UPDATE ${tables.accounts} SET alerted_at = $2 WHERE account_key = $1 AND alerted_at IS NULL`,
      [accountKey, now],
    );
    if ((claimed.rowCount ?? 0) === 1) {
      alerted = true;
      await writeSecurityEvent(tx, `${tables.eventPrefix}account_failures_alert`, accountKey, ip, { failures: counted.failures, window_start: counted.window_start.toISOString() }, now);
    }
  }
  return { failures, lockedUntil, alerted };
}

/**
 * The sweeper's part (one batch of each table per call): pairs quiet for PAIR_QUIET_MS and not locked any more, and
 * per-account rows whose hour has ended (they count for nothing: the next failure restarts them at 1, alert included).
 * Answers how many rows of each table went.
 */
export async function pruneThrottle(db: Queryable, now: Date, tables: ThrottleTables): Promise<{ pairs: number; accounts: number }> {
  const pairs = await pruneBatch(db, tables.pairs,
    'updated_at <= $1 AND (locked_until IS NULL OR locked_until <= $2)', [new Date(now.getTime() - PAIR_QUIET_MS), now]);
  const accounts = await pruneBatch(db, tables.accounts, 'window_start <= $1', [new Date(now.getTime() - WINDOW_MS)]);
  return { pairs, accounts };
}

/** A completed sign-in clears that (account, IP) pair; the per-account hour keeps counting. */
export async function resetFailures(tx: Queryable, accountKey: string, ip: string, tables: ThrottleTables = ADMIN_THROTTLE): Promise<void> {
  await tx.query(`DELETE FROM ${tables.pairs} WHERE account_key = $1 AND ip = $2`, [accountKey, ip]);
}

export async function writeSecurityEvent(tx: Queryable, kind: string, accountKey: string | null, ip: string | null, detail: unknown, now: Date): Promise<void> {
  await tx.query(
    'INSERT INTO security_events (kind, account_key, ip, detail, created_at) VALUES ($1, $2, $3, $4, $5)',
    [kind, accountKey, ip, JSON.stringify(detail), now],
  );
}

export interface SecurityEventRow {
  id: bigint;
  kind: string;
  account_key: string | null;
  ip: string | null;
  detail: unknown;
  created_at: Date;
}

export async function listSecurityEvents(db: Queryable, limit: number): Promise<SecurityEventRow[]> {
  return (await db.query<SecurityEventRow>('SELECT * FROM security_events ORDER BY id DESC LIMIT $1', [limit])).rows;
}
