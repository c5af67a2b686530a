import type { Queryable } from '../../db/pool.js';

/**
 * Sign-up guards: at most SIGNUPS_PER_HOUR sign-ups per client address in a fixed one-hour window (one upsert that
 * counts and answers the count, so concurrent sign-ups cannot both slip under the limit), and the one claim per
 * normalised email of the test credits (`signup_credit_claims`, primary key on the email key).
 */
export const SIGNUPS_PER_HOUR = 5;
const WINDOW_MS = 3_600_000;

/** Counts a sign-up from `ip`; answers the seconds until the window ends when the limit is passed, else null. */
export async function countSignup(db: Queryable, ip: string, now: Date): Promise<number | null> {
  const row = (await db.query<{ attempts: number; window_start: Date }>(
    `INSERT INTO signup_attempts AS s (ip, window_start, attempts) VALUES ($1, $2, 1)
     ON CONFLICT (ip) DO UPDATE SET
       attempts = CASE WHEN s.window_start <= $3 THEN 1 ELSE s.attempts + 1 END,
       window_start = CASE WHEN s.window_start <= $3 THEN $2 ELSE s.window_start END
     RETURNING attempts, window_start`,
    [ip, now, new Date(now.getTime() - WINDOW_MS)],
  )).rows[0]!;
  if (row.attempts <= SIGNUPS_PER_HOUR) return null;
  return Math.max(1, Math.ceil((row.window_start.getTime() + WINDOW_MS - now.getTime()) / 1000));
}

/** True when this is the first claim of the email key (the caller then grants the credits in the same transaction). */
export async function claimSignupCredits(tx: Queryable, emailKey: string, customerId: string, userId: string, now: Date): Promise<boolean> {
  const result = await tx.query(
    'INSERT INTO signup_credit_claims (email_key, customer_id, user_id, claimed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (email_key) DO NOTHING',
    [emailKey, customerId, userId, now],
  );
  return (result.rowCount ?? 0) === 1;
}
