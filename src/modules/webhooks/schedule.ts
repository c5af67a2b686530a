/**
 * Delivery retry policy (SEMANTICS H8–H10). Pure: the caller supplies `now` and, in tests, the random source, so
 * schedules are reproducible.
 */

/** Attempt schedule H10: offsets from the first attempt: 0, +5 s, +5 min, +30 min, +2 h, +5 h, +10 h, +10 h (each delay ±10 % jitter). */
export const RETRY_DELAYS_MS: readonly number[] = Object.freeze([
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
]);

/** The first attempt plus one per delay; the delays sum to ≈ 27.6 h, meeting API.md §9's "≥ 24 h". */
export const MAX_ATTEMPTS: number = RETRY_DELAYS_MS.length + 1;

/** ±10 % (H10): spreads retries so endpoints recovering from an outage are not hit by every delivery at once. */
const JITTER_FRACTION = 0.1;
/** H10: a receiver cannot park a delivery indefinitely with a huge Retry-After. */
const MAX_RETRY_AFTER_SECONDS = 24 * 60 * 60;

/**
 * Next attempt time after `attempt` (1-based, the attempt that just failed) at `now`, or null when attempts are exhausted.
 * `random` is injected (default Math.random) so tests are deterministic; jitter is ±10 % of the delay.
 * `retryAfterSeconds` (from a 429 or 503 answer) is honoured when it is later than the scheduled time, capped at 24 h.
 */
export function nextAttemptAt(
  attempt: number,
  now: Date,
  options: { retryAfterSeconds?: number | null; random?: () => number } = {},
): Date | null {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError('attempt must be a positive integer');
  // After the last attempt the delivery is `failed` (H10); a Retry-After cannot extend the schedule.
  if (attempt >= MAX_ATTEMPTS) return null;
  const delay = RETRY_DELAYS_MS[attempt - 1]!;
  const random = options.random ?? Math.random;
  // random() in [0, 1) maps to a factor in [0.9, 1.1); 0.5 gives the exact delay.
  const jittered = delay * (1 + (random() * 2 - 1) * JITTER_FRACTION);
  const scheduled = now.getTime() + Math.round(jittered);
  const retryAfter = options.retryAfterSeconds;
  if (retryAfter == null || !Number.isFinite(retryAfter) || retryAfter <= 0) return new Date(scheduled);
  // Honoured only when later (H10): an early Retry-After must not make us hammer a struggling receiver.
  const requested = now.getTime() + Math.min(retryAfter, MAX_RETRY_AFTER_SECONDS) * 1000;
  return new Date(Math.max(scheduled, requested));
}

/**
 * Classifies an HTTP answer: 2xx → 'delivered'; 410 → 'gone' (disable endpoint / end this callback, H9); anything
 * else incl. 3xx → 'retry'. Redirects are never followed (H8), so a 3xx is a failed attempt, not a success.
 */
export function classifyResponse(status: number): 'delivered' | 'gone' | 'retry' {
  if (status >= 200 && status <= 299) return 'delivered';
  if (status === 410) return 'gone';
  return 'retry';
}

const DELTA_SECONDS = /^\d+$/;
/** The three HTTP-date forms (RFC 9110 §5.6.7): IMF-fixdate, RFC 850 and asctime all start with a day name. */
const HTTP_DATE = /^[A-Za-z]{3,9},? [0-9A-Za-z -]+ \d{2}:\d{2}:\d{2}(?: \d{4})?(?: GMT)?$/;

/**
 * Parses a Retry-After header value (delta-seconds or HTTP-date, relative to `now`) → seconds or null.
 * Date.parse alone is too lenient (it reads "1" as the year 2001), so the shape is checked first.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return null;
  const text = raw.trim();
  if (DELTA_SECONDS.test(text)) return Number(text);
  if (!HTTP_DATE.test(text)) return null;
  // asctime carries no zone but HTTP-dates are always GMT; without it Date.parse would use the local zone.
  const parsed = Date.parse(text.endsWith('GMT') ? text : `${text} GMT`);
  if (Number.isNaN(parsed)) return null;
  // A date in the past means "retry now", which the caller's schedule already covers.
  return Math.max(0, Math.ceil((parsed - now.getTime()) / 1000));
}
