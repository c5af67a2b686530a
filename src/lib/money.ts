/** Credits are integers (SEMANTICS D7): bigint inside, JSON integers within ±(2^53−1) outside. */
export const MAX_JSON_CREDITS = Number.MAX_SAFE_INTEGER;

export function creditsToJson(value: bigint | number | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  const big = typeof value === 'bigint' ? value : BigInt(value);
  if (big > BigInt(MAX_JSON_CREDITS) || big < -BigInt(MAX_JSON_CREDITS)) {
    throw new RangeError('credit amount exceeds the JSON-safe range');
  }
  return Number(big);
}
