import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { base62FromBigInt, base62FromBytes, base62FromNumber } from '../../lib/base62.js';
import { sha256Hex } from '../../lib/hash.js';

/**
 * API key format (SEMANTICS K1): `<prefix>_<mode>_<secret><check>`.
 * secret = 32 random bytes as a big-endian integer in base62, padded to 43 chars;
 * check = CRC-32 (zlib) of the secret's ASCII bytes in base62, padded to 6 chars.
 */
export type KeyMode = 'live' | 'test';

export const SECRET_LENGTH = 43;
export const CHECK_LENGTH = 6;
/** 2^256 − 1, the largest secret ever issued, in its 43 base62 digits. */
const LARGEST_SECRET = base62FromBigInt((1n << 256n) - 1n, SECRET_LENGTH);

export interface IssuedKey {
  key: string;
  hash: string;
  displayPrefix: string;
}

function checksum(secret: string): string {
  return base62FromNumber(crc32(Buffer.from(secret, 'ascii')) >>> 0, CHECK_LENGTH);
}

/** Builds a key from given secret bytes; `issueKey` uses fresh random bytes. Exposed for the K1 test vector. */
export function keyFromBytes(prefix: string, mode: KeyMode, secretBytes: Uint8Array): IssuedKey {
  const secret = base62FromBytes(secretBytes, SECRET_LENGTH);
  const key = `${prefix}_${mode}_${secret}${checksum(secret)}`;
  return { key, hash: sha256Hex(key), displayPrefix: `${prefix}_${mode}_${secret.slice(0, 4)}` };
}

export function issueKey(prefix: string, mode: KeyMode): IssuedKey {
  return keyFromBytes(prefix, mode, randomBytes(32));
}

/**
 * Cheap structural check (K3) run before any cache or database access: prefix, mode, length, alphabet, checksum.
 * Returns the mode when the key is well formed, otherwise null.
 */
export function parseKey(prefix: string, raw: string): KeyMode | null {
  const expectedLength = prefix.length + 1 + 4 + 1 + SECRET_LENGTH + CHECK_LENGTH;
  if (raw.length !== expectedLength || !raw.startsWith(`${prefix}_`)) return null;
  const mode = raw.slice(prefix.length + 1, prefix.length + 5);
  if ((mode !== 'live' && mode !== 'test') || raw[prefix.length + 5] !== '_') return null;
  const body = raw.slice(prefix.length + 6);
  if (!/^[0-9A-Za-z]+$/.test(body)) return null;
  const secret = body.slice(0, SECRET_LENGTH);
  // 43 base62 digits can exceed 2^256; such a string was never issued. The alphabet is in ASCII order, so for strings
  // of one length the text order is the numeric order.
  if (secret > LARGEST_SECRET) return null;
  return checksum(secret) === body.slice(SECRET_LENGTH) ? mode : null;
}
