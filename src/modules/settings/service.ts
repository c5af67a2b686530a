import type { Queryable } from '../../db/pool.js';

/**
 * Operator settings (API.md §8 "Settings"): one row per key in `settings` (key, value jsonb, updated_at). A key
 * with no row, or with a value this version does not understand, reads as its default.
 */
export const SIGNUP_MODES = ['open', 'invite', 'closed'] as const;
export type SignupMode = (typeof SIGNUP_MODES)[number];
export const DEFAULT_SIGNUP_MODE: SignupMode = 'invite';

/** A bonus tier (issue 13): an order of at least `min_amount` minor units gets `bonus_percent` % more credits. */
export interface BonusTier {
  min_amount: number;
  bonus_percent: number;
}

export interface Settings {
  signup_mode: SignupMode;
  /** Top-up limits in minor units of the price currency (cents for USD). */
  topup_min_amount: number;
  topup_max_amount: number;
  /** Bonus tiers, highest `min_amount` that an order reaches applies. */
  topup_bonus_tiers: BonusTier[];
}

export const DEFAULT_SETTINGS: Settings = {
  signup_mode: DEFAULT_SIGNUP_MODE,
  topup_min_amount: 500,
  topup_max_amount: 1_000_000,
  topup_bonus_tiers: [],
};

function isSignupMode(value: unknown): value is SignupMode {
  return typeof value === 'string' && (SIGNUP_MODES as readonly string[]).includes(value);
}

function isAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function isTiers(value: unknown): value is BonusTier[] {
  return Array.isArray(value) && value.every((tier: unknown) => {
    const candidate = tier as Partial<BonusTier> | null;
    return candidate !== null && typeof candidate === 'object' && isAmount(candidate.min_amount)
      && typeof candidate.bonus_percent === 'number' && Number.isInteger(candidate.bonus_percent)
      && candidate.bonus_percent >= 0 && candidate.bonus_percent <= 100;
  });
}

/** The stored values of the known keys (`lock`: FOR UPDATE, inside a transaction that is about to change them). */
export async function readSettings(db: Queryable, lock = false): Promise<Settings> {
  const result = await db.query<{ key: string; value: unknown }>(
    `SELECT key, value FROM settings WHERE key = ANY($1::text[]) ORDER BY key${lock ? ' FOR UPDATE' : ''}`,
    [Object.keys(DEFAULT_SETTINGS)],
  );
  const stored = new Map(result.rows.map((row) => [row.key, row.value]));
  const signup = stored.get('signup_mode');
  const min = stored.get('topup_min_amount');
  const max = stored.get('topup_max_amount');
  const tiers = stored.get('topup_bonus_tiers');
  return {
    signup_mode: isSignupMode(signup) ? signup : DEFAULT_SIGNUP_MODE,
    topup_min_amount: isAmount(min) ? min : DEFAULT_SETTINGS.topup_min_amount,
    topup_max_amount: isAmount(max) ? max : DEFAULT_SETTINGS.topup_max_amount,
    topup_bonus_tiers: isTiers(tiers) ? [...tiers].sort((a, b) => a.min_amount - b.min_amount) : [],
  };
}

/** How new customers may sign up: `open`, `invite` (the default) or `closed`. */
export async function signupMode(db: Queryable): Promise<SignupMode> {
  return (await readSettings(db)).signup_mode;
}

/** Stores one key's value (a JSON value), creating the row when the key has none. */
export async function writeSetting<K extends keyof Settings>(db: Queryable, key: K, value: Settings[K], now: Date): Promise<void> {
  await db.query(
    `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2::jsonb, $3)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
    [key, JSON.stringify(value), now],
  );
}
