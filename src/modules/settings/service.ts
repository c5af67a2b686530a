import type { Queryable } from '../../db/pool.js';

/**
 * Operator settings (API.md §8 "Settings"): one row per key in `settings` (key, value jsonb, updated_at). A key
 * with no row, or with a value this version does not understand, reads as its default.
 */
export const SIGNUP_MODES = ['open', 'invite', 'closed'] as const;
export type SignupMode = (typeof SIGNUP_MODES)[number];
export const DEFAULT_SIGNUP_MODE: SignupMode = 'invite';

export interface Settings {
  signup_mode: SignupMode;
}

export const DEFAULT_SETTINGS: Settings = { signup_mode: DEFAULT_SIGNUP_MODE };

function isSignupMode(value: unknown): value is SignupMode {
  return typeof value === 'string' && (SIGNUP_MODES as readonly string[]).includes(value);
}

/** The stored values of the known keys (`lock`: FOR UPDATE, inside a transaction that is about to change them). */
export async function readSettings(db: Queryable, lock = false): Promise<Settings> {
  const result = await db.query<{ key: string; value: unknown }>(
    `SELECT key, value FROM settings WHERE key = ANY($1::text[]) ORDER BY key${lock ? ' FOR UPDATE' : ''}`,
    [Object.keys(DEFAULT_SETTINGS)],
  );
  const stored = new Map(result.rows.map((row) => [row.key, row.value]));
  const signup = stored.get('signup_mode');
  return { signup_mode: isSignupMode(signup) ? signup : DEFAULT_SIGNUP_MODE };
}

/** How new customers may sign up: `open`, `invite` (the default) or `closed`. */
export async function signupMode(db: Queryable): Promise<SignupMode> {
  return (await readSettings(db)).signup_mode;
}

/** Stores one key's value (a JSON value), creating the row when the key has none. */
export async function writeSetting(db: Queryable, key: keyof Settings, value: Settings[keyof Settings], now: Date): Promise<void> {
  await db.query(
    `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2::jsonb, $3)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
    [key, JSON.stringify(value), now],
  );
}
