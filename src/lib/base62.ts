const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = 62n;

/**
 * Big-endian unsigned integer of `bytes`, written in base62 and left-padded with '0' to `width`. Every id, token and
 * key goes through here, so it divides 16-bit limbs with plain numbers instead of a BigInt (a BigInt division per
 * digit was about 2 % of a task creation's CPU; issue 14).
 */
export function base62FromBytes(bytes: Uint8Array, width: number): string {
  const odd = bytes.length % 2;
  const limbs: number[] = odd ? [bytes[0]!] : [];
  for (let index = odd; index < bytes.length; index += 2) limbs.push(bytes[index]! * 256 + bytes[index + 1]!);
  let first = 0;
  while (first < limbs.length && limbs[first] === 0) first += 1;
  let out = '';
  while (first < limbs.length) {
    let rest = 0;
    for (let index = first; index < limbs.length; index += 1) {
      const current = rest * 65_536 + limbs[index]!;
      const quotient = Math.floor(current / 62);
      limbs[index] = quotient;
      rest = current - quotient * 62;
    }
    out = ALPHABET[rest] + out;
    while (first < limbs.length && limbs[first] === 0) first += 1;
  }
  return out.padStart(width, '0');
}

export function base62FromBigInt(value: bigint, width: number): string {
  if (value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) return base62FromNumber(Number(value), width);
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % BASE)] + out;
    rest /= BASE;
  }
  return out.padStart(width, '0');
}

/** A non-negative safe integer in base62, left-padded with '0' to `width`. */
export function base62FromNumber(value: number, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0) {
    const quotient = Math.floor(rest / 62);
    out = ALPHABET[rest - quotient * 62] + out;
    rest = quotient;
  }
  return out.padStart(width, '0');
}

export function isBase62(text: string): boolean {
  return /^[0-9A-Za-z]*$/.test(text);
}
