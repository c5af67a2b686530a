import { randomBytes } from 'node:crypto';
import { hash, parseOptions, verify, type Algorithm, type Options } from '@node-rs/argon2';
import { AppError } from '../../lib/errors.js';

/**
 * Admin passwords (SEMANTICS A1, A2): argon2id m=19456 KiB, t=2, p=1 through @node-rs/argon2, stored as PHC strings.
 * A verified hash made with older parameters is rehashed by the login. Unknown accounts (and admins without a
 * password yet) are verified against a dummy hash of the same parameters, so every login attempt costs one argon2
 * verification whatever the account.
 */
const ARGON2ID = 2 as Algorithm;
const VERSION_0X13 = 1;
export const PASSWORD_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const OPTIONS: Options = { algorithm: ARGON2ID, ...PASSWORD_PARAMS };

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/** 400 with `param` unless the password is 12–256 characters (code points, so an emoji counts once). */
export function checkPasswordPolicy(password: unknown, param: string): string {
  if (typeof password !== 'string' || password.length === 0) {
    throw new AppError('invalid_request', `${param} is required`, { param });
  }
  const length = [...password].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw new AppError('invalid_request', `${param} must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`, { param });
  }
  return password;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** Any malformed stored hash verifies as false rather than throwing. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** True when the stored hash is not argon2id v19 with the current parameters (A1: rehash on login). */
export function needsRehash(stored: string): boolean {
  try {
    const options = parseOptions(stored);
    return (
      (options.algorithm as number) !== (ARGON2ID as number) ||
      (options.version as number) !== VERSION_0X13 ||
      options.memoryCost !== PASSWORD_PARAMS.memoryCost ||
      options.timeCost !== PASSWORD_PARAMS.timeCost ||
      options.parallelism !== PASSWORD_PARAMS.parallelism
    );
  } catch {
    return true;
  }
}

let dummy: Promise<string> | null = null;

/** The dummy hash (made once per process, of a random password nobody knows). */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(24).toString('base64url'));
  return dummy;
}

/** A2: the same work as a real verification, always false. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  await verifyPassword(await dummyHash(), password);
  return false;
}
