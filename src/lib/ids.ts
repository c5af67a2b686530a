import { randomBytes } from 'node:crypto';
import { base62FromBytes } from './base62.js';
import type { Clock } from './clock.js';

/**
 * Ids are `<prefix>_<22 base62 chars>`: 6 bytes of milliseconds then 10 random bytes, so ids of one kind sort by
 * creation time (pagination cursors rely on it) and stay unguessable.
 */
export type IdGenerator = (prefix: string) => string;

export function createIdGenerator(clock: Clock): IdGenerator {
  return (prefix: string) => {
    const bytes = Buffer.alloc(16);
    bytes.writeUIntBE(clock.now().getTime(), 0, 6);
    randomBytes(10).copy(bytes, 6);
    return `${prefix}_${base62FromBytes(bytes, 22)}`;
  };
}

export function randomToken(byteCount: number): string {
  return base62FromBytes(randomBytes(byteCount), Math.ceil((byteCount * 8) / Math.log2(62)));
}
