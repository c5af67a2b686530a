import type { Queryable } from '../../db/pool.js';
import { pruneBatch } from '../../db/prune.js';

/**
 * Sign-up and mail guards: at most SIGNUPS_PER_HOUR sign-ups per client address, and at most
 * MAIL_REQUESTS_PER_EMAIL_PER_HOUR / MAIL_REQUESTS_PER_IP_PER_HOUR mail-sending requests (resend verification, password
 * reset; each purpose counted apart) per address and per client, each in a fixed one-hour window (one upsert that counts
 * and answers the count, so concurrent requests cannot both slip under the limit); and the one claim per normalised
 * email of the test credits (`signup_credit_claims`, primary key on the email key).
 */
export const SIGNUPS_PER_HOUR = 5;
export const MAIL_REQUESTS_PER_EMAIL_PER_HOUR = 3;
export const MAIL_REQUESTS_PER_IP_PER_HOUR = 10;
const WINDOW_MS = 3_600_000;

/** The hourly counters: a table and its key column (fixed names, never from input). */
const COUNTERS = {
  signup: { table: 'signup_attempts', key: 'ip' },
  mail: { table: 'mail_request_counters', key: 'subject' },
} as const;

/** Counts one request under `key`; answers the seconds until its window ends when `limit` is passed, else null. */
async function countInWindow(db: Queryable, counter: keyof typeof COUNTERS, key: string, limit: number, now: Date): Promise<number | null> {
  const { table, key: column } = COUNTERS[counter];
  const row = (await db.query<{ attempts: number; window_start: Date }>(
    `INSERT INTO ${table} AS s (${column}, window_start, attempts) VALUES ($1, $2, 1)
     ON CONFLICT (${column}) DO UPDATE SET
       attempts = CASE WHEN s.window_start <= $3 THEN 1 ELSE s.attempts + 1 END,
       window_start = CASE WHEN s.window_start <= $3 THEN $2 ELSE s.window_start END
     RETURNING attempts, window_start`,
    [key, now, new Date(now.getTime() - WINDOW_MS)],
  )).rows[0]!;
  if (row.attempts <= limit) return null;
  return Math.max(1, Math.ceil((row.window_start.getTime() + WINDOW_MS - now.getTime()) / 1000));
}

/** Counts a sign-up from `ip`; answers the seconds until the window ends when the limit is passed, else null. */
export function countSignup(db: Queryable, ip: string, now: Date): Promise<number | null> {
  return countInWindow(db, 'signup', ip, SIGNUPS_PER_HOUR, now);
}

export type MailPurpose = 'verify' | 'reset';

/**
 * Counts a request that would mail `emailKey` (an address normalised with creditEmailKey: one inbox, one counter)
 * from `ip`; answers the seconds to wait when either limit is passed, else null. The client is counted first; a client
 * over its limit is not counted against the address, so it cannot use up other addresses' allowance.
 */
export async function countMailRequest(db: Queryable, purpose: MailPurpose, emailKey: string, ip: string, now: Date): Promise<number | null> {
  const byIp = await countInWindow(db, 'mail', `${purpose}:ip:${ip}`, MAIL_REQUESTS_PER_IP_PER_HOUR, now);
  if (byIp !== null) return byIp;
  return countInWindow(db, 'mail', `${purpose}:email:${emailKey}`, MAIL_REQUESTS_PER_EMAIL_PER_HOUR, now);
}

/**
 * Drops the counter rows whose window has ended (the periodic sweeper): such a row counts for nothing any more (the next
 * request through countInWindow would restart it at 1), so removing it changes no answer and keeps both tables to the
 * subjects seen in the last hour. Answers how many rows of each table went (at most a batch of each per call).
 */
export async function pruneEndedWindows(db: Queryable, now: Date): Promise<{ signupAttempts: number; mailRequests: number }> {
  const ended = new Date(now.getTime() - WINDOW_MS);
  const removed = (counter: keyof typeof COUNTERS) =>
    pruneBatch(db, COUNTERS[counter].table, 'window_start <= $1', [ended]);
  return { signupAttempts: await removed('signup'), mailRequests: await removed('mail') };
}

/** True when this is the first claim of the email key (the caller then grants the credits in the same transaction). */
export async function claimSignupCredits(tx: Queryable, emailKey: string, customerId: string, userId: string, now: Date): Promise<boolean> {
  const result = await tx.query(
    'INSERT INTO signup_credit_claims (email_key, customer_id, user_id, claimed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (email_key) DO NOTHING',
    [emailKey, customerId, userId, now],
  );
  return (result.rowCount ?? 0) === 1;
}
