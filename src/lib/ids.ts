import { randomFillSync } from 'node:crypto';
import { base62FromBytes } from './base62.js';
import type { Clock } from './clock.js';

/**
 * Ids are `<prefix>_<22 base62 chars>`: 6 bytes of milliseconds then 10 random bytes, so ids of one kind sort by
 * creation time (pagination cursors rely on it) and stay unguessable.
 */
export type IdGenerator = (prefix: string) => string;

/**
 * Random bytes for ids and tokens, taken from a 4 KiB pool filled by the CSPRNG in one call: a call per id cost more
 * than the rest of the id (issue 14's profile). Each byte is handed out once.
 */
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;
function fillRandom(target: Buffer, offset: number, length: number): void {
  if (length > POOL.length) {
    randomFillSync(target, offset, length);
    return;
  }
  if (poolOffset + length > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  POOL.copy(target, offset, poolOffset, poolOffset + length);
  POOL.fill(0, poolOffset, poolOffset + length);
  poolOffset += length;
}

export function createIdGenerator(clock: Clock): IdGenerator {
  return (prefix: string) => {
    const bytes = Buffer.alloc(16);
    bytes.writeUIntBE(clock.now().getTime(), 0, 6);
    fillRandom(bytes, 6, 10);
    return `${prefix}_${base62FromBytes(bytes, 22)}`;
  };
}

export function randomToken(byteCount: number): string {
  const bytes = Buffer.alloc(byteCount);
  fillRandom(bytes, 0, byteCount);
  return base62FromBytes(bytes, Math.ceil((byteCount * 8) / Math.log2(62)));
}
