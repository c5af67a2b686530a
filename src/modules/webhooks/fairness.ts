/**
 * Fair webhook delivery (issue 8): the numbers that keep one customer's slow, hanging or failing receivers from
 * delaying anyone else's deliveries. Pure constants and functions; the claim SQL (service.ts) and the sender loop
 * (workflows/deliver-webhooks.ts) apply them.
 *
 * A delivery's *target* is a registered endpoint, or for a task's callback_url the customer's receiving server
 * (scheme://host:port; see migration 0006). Caps are counted in the database over all processes.
 */

/** Deliveries one process has in flight at most (its global cap; it keeps claiming while a slot is free). */
export const MAX_IN_FLIGHT = 64;
/** Deliveries in flight to one target at most, across all processes. */
export const PER_TARGET_IN_FLIGHT = 4;
/** Deliveries in flight for one customer at most, across all processes and targets. */
export const PER_CUSTOMER_IN_FLIGHT = 16;

/**
 * A claim is a lease of this length, renewed every HEARTBEAT_MS while the POST runs; a process that dies stops
 * renewing, so its deliveries are claimable again at most LEASE_MS later and are re-sent with the same webhook-id.
 * Three heartbeats fit in one lease, so two missed renewals (a slow database) do not lose it.
 */
export const LEASE_MS = 15_000;
export const HEARTBEAT_MS = 5_000;

/** Transport (H8): a receiver that does not accept the connection fails fast; one that never answers fails at the
 * headers timeout; the whole attempt (upload, answer, drained reply) is capped at the H8 15 s. */
export const CONNECT_TIMEOUT_MS = 3_000;
export const HEADERS_TIMEOUT_MS = 10_000;
export const ATTEMPT_TIMEOUT_MS = 15_000;

/**
 * A target whose last FAILING_AFTER attempts (of any of its deliveries) all failed is *failing*: it is blocked for
 * blockMs(failures) and afterwards probed with one delivery at a time. Any 2xx clears it. The block grows with
 * every further failure, from 5 s up to 5 min, so a recovered target is noticed within 5 minutes.
 */
export const FAILING_AFTER = 3;
export const BLOCK_BASE_MS = 5_000;
export const BLOCK_MAX_MS = 300_000;

/** How long a target with `consecutiveFailures` failed attempts in a row is blocked, or null when it is not failing. */
export function blockMs(consecutiveFailures: number): number | null {
  if (consecutiveFailures < FAILING_AFTER) return null;
  const doublings = Math.min(consecutiveFailures - FAILING_AFTER, 16);
  return Math.min(BLOCK_MAX_MS, BLOCK_BASE_MS * 2 ** doublings);
}
