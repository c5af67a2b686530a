import { describe, expect, it } from 'vitest';
import { matchTotp, newTotpSecret, totpCode, totpStep, totpUri } from '../../src/modules/admin-auth/totp.js';
import { checkPasswordPolicy, hashPassword, needsRehash, verifyPassword } from '../../src/modules/admin-auth/passwords.js';
import { lockDurationMs } from '../../src/modules/admin-auth/throttle.js';
import { normaliseRecoveryCode } from '../../src/modules/admin-auth/recovery.js';
import { hash } from '@node-rs/argon2';

/** SEMANTICS A3 (RFC 6238 appendix B, SHA-1, key = ASCII "12345678901234567890"), A1 and A10's arithmetic. */
const RFC_KEY_BASE32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const VECTORS: Array<[number, number, string]> = [
  [59, 1, '287082'],
  [1111111109, 37037036, '081804'],
  [1111111111, 37037037, '050471'],
  [1234567890, 41152263, '005924'],
  [2000000000, 66666666, '279037'],
  [20000000000, 666666666, '353130'],
];

describe('TOTP (RFC 6238 vectors, SEMANTICS §10)', () => {
  it('computes every vector and accepts it at its own step', () => {
    expect(Buffer.from('12345678901234567890').toString('hex')).toBe('3132333435363738393031323334353637383930');
    for (const [seconds, step, code] of VECTORS) {
      const at = new Date(seconds * 1000);
      expect(totpStep(at), `step at ${seconds}`).toBe(step);
      expect(totpCode(RFC_KEY_BASE32, at), `code at ${seconds}`).toBe(code);
      expect(matchTotp(RFC_KEY_BASE32, code, at), `accepted at ${seconds}`).toBe(step);
    }
  });

  it('accepts s−1, s and s+1 and answers the matched step; refuses two steps away and malformed codes', () => {
    const at = new Date(1111111111 * 1000); // step 37037037
    expect(matchTotp(RFC_KEY_BASE32, '050471', at)).toBe(37037037);
    expect(matchTotp(RFC_KEY_BASE32, '081804', at)).toBe(37037036); // previous step: delta −1
    expect(matchTotp(RFC_KEY_BASE32, totpCode(RFC_KEY_BASE32, new Date((1111111111 + 30) * 1000)), at)).toBe(37037038);
    expect(matchTotp(RFC_KEY_BASE32, totpCode(RFC_KEY_BASE32, new Date((1111111111 + 60) * 1000)), at)).toBeNull();
    expect(matchTotp(RFC_KEY_BASE32, totpCode(RFC_KEY_BASE32, new Date((1111111111 - 60) * 1000)), at)).toBeNull();
    // A delta of 0 is a match (validate() answers 0, which is falsy): the step is returned, not null.
    expect(matchTotp(RFC_KEY_BASE32, '287082', new Date(59_000))).toBe(1);
    expect(matchTotp(RFC_KEY_BASE32, '050 471', at)).toBe(37037037);
    for (const bad of ['', '05047', '0504711', 'abcdef', '14050471']) expect(matchTotp(RFC_KEY_BASE32, bad, at), bad).toBeNull();
  });

  it('makes 20-byte secrets and an otpauth URI for authenticator apps', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(secret);
    const uri = new URL(totpUri(secret, 'owner@example.com'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('genrelay');
    expect(uri.searchParams.get('period')).toBe('30');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('algorithm')).toBe('SHA1');
  });
});

describe('passwords (A1)', () => {
  it('hashes with argon2id m=19456 t=2 p=1 as a PHC string, and asks for a rehash of older parameters', async () => {
    const stored = await hashPassword('a long enough password');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(stored, 'a long enough password')).toBe(true);
    expect(await verifyPassword(stored, 'a long enough passwore')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
    expect(needsRehash(stored)).toBe(false);
    expect(needsRehash(await hash('x', { memoryCost: 4096, timeCost: 1, parallelism: 1 }))).toBe(true);
    expect(needsRehash(await hash('x', { memoryCost: 19456, timeCost: 2, parallelism: 1, algorithm: 1 as never }))).toBe(true);
    expect(needsRehash('garbage')).toBe(true);
  });

  it('accepts 12 to 256 characters, 400 with the param otherwise', () => {
    expect(checkPasswordPolicy('x'.repeat(12), 'password')).toBe('x'.repeat(12));
    expect(checkPasswordPolicy('x'.repeat(256), 'password')).toHaveLength(256);
    expect(checkPasswordPolicy('🦊'.repeat(12), 'password')).toBe('🦊'.repeat(12));
    for (const bad of ['', 'x'.repeat(11), 'x'.repeat(257), undefined]) {
      expect(() => checkPasswordPolicy(bad, 'new_password')).toThrow(expect.objectContaining({ code: 'invalid_request', param: 'new_password', status: 400 }));
    }
  });
});

describe('throttle arithmetic (A10) and recovery code input', () => {
  it('locks from the fifth failure: 1 s doubling up to 15 min', () => {
    expect([1, 2, 3, 4].map(lockDurationMs)).toEqual([0, 0, 0, 0]);
    expect([5, 6, 7, 8].map(lockDurationMs)).toEqual([1000, 2000, 4000, 8000]);
    expect(lockDurationMs(14)).toBe(512_000);
    expect(lockDurationMs(15)).toBe(900_000);
    expect(lockDurationMs(1000)).toBe(900_000);
  });

  it('ignores case, spaces and dashes in a typed recovery code', () => {
    expect(normaliseRecoveryCode(' ABCDE-fghjk ')).toBe('abcdefghjk');
    expect(normaliseRecoveryCode('abcde fghjk')).toBe('abcdefghjk');
  });
});
