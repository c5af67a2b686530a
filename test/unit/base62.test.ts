import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { base62FromBigInt, base62FromBytes, base62FromNumber } from '../../src/lib/base62.js';
import { SECRET_LENGTH, parseKey } from '../../src/modules/keys/key-format.js';

/** The definition: the bytes as one big-endian integer, divided by 62 digit by digit. */
function reference(value: bigint, width: number): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let out = '';
  for (let rest = value; rest > 0n; rest /= 62n) out = alphabet[Number(rest % 62n)] + out;
  return out.padStart(width, '0');
}
const toBigInt = (bytes: Uint8Array) => bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);

describe('base62 (ids, tokens and keys)', () => {
  it('base62FromBytes agrees with the BigInt definition for any bytes and width', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 48 }), fc.integer({ min: 0, max: 70 }), (bytes, width) => {
      expect(base62FromBytes(bytes, width)).toBe(reference(toBigInt(bytes), width));
    }), { numRuns: 2_000 });
  });

  it('edges: zero, all ones, leading zero bytes, odd lengths', () => {
    for (const bytes of [[], [0], [0, 0, 0], [255], [0, 1], [1, 0, 0], new Array(16).fill(255), new Array(33).fill(255), [0, 0, 61], [0, 62]]) {
      const array = Uint8Array.from(bytes);
      expect(base62FromBytes(array, 22)).toBe(reference(toBigInt(array), 22));
    }
  });

  it('base62FromNumber and base62FromBigInt agree with the definition', () => {
    fc.assert(fc.property(fc.maxSafeNat(), fc.integer({ min: 0, max: 12 }), (value, width) => {
      expect(base62FromNumber(value, width)).toBe(reference(BigInt(value), width));
      expect(base62FromBigInt(BigInt(value), width)).toBe(reference(BigInt(value), width));
    }), { numRuns: 2_000 });
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 300n) }), (value) => {
      expect(base62FromBigInt(value, 43)).toBe(reference(value, 43));
    }), { numRuns: 500 });
  });

  it('a 43-digit secret above 2^256 − 1 is refused, the largest one is not (text order is numeric order)', () => {
    const largest = reference((1n << 256n) - 1n, SECRET_LENGTH);
    const above = reference(1n << 256n, SECRET_LENGTH);
    expect(above).toHaveLength(SECRET_LENGTH);
    const key = (secret: string) => `ak_live_${secret}${reference(BigInt(crc32(Buffer.from(secret, 'ascii')) >>> 0), 6)}`;
    expect(parseKey('ak', key(largest))).toBe('live');
    expect(parseKey('ak', key(above))).toBeNull();
    expect(parseKey('ak', key('z'.repeat(SECRET_LENGTH)))).toBeNull();
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 62n ** 43n - 1n }), (value) => {
      const secret = reference(value, SECRET_LENGTH);
      expect(parseKey('ak', key(secret))).toBe(value < 1n << 256n ? 'live' : null);
    }), { numRuns: 1_000 });
  });
});
