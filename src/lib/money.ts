/** Credits are integers (SEMANTICS D7): bigint inside, JSON integers within ±(2^53−1) outside. */
export const MAX_JSON_CREDITS = Number.MAX_SAFE_INTEGER;
export const MAX_CREDITS = BigInt(MAX_JSON_CREDITS);

/**
 * A credit amount as JSON. genrelay never writes an amount or a balance outside ±(2^53−1) — the database refuses it
 * (migration 0007) — but a value written by hand in SQL before that is still shown, exactly, as a decimal string
 * rather than failing the whole view.
 */
export function creditsToJson(value: bigint | number | string | null | undefined): number | string {
  if (value === null || value === undefined) return 0;
  const big = typeof value === 'bigint' ? value : BigInt(value);
  if (big > MAX_CREDITS || big < -MAX_CREDITS) return big.toString();
  return Number(big);
}

export function inCreditRange(value: bigint): boolean {
  return value <= MAX_CREDITS && value >= -MAX_CREDITS;
}
