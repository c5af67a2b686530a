import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

/**
 * TOTP (SEMANTICS A3): RFC 6238 with HMAC-SHA1, 30 s steps from T0 = 0, 6 digits; the steps s−1, s and s+1 around
 * the injected clock's step s are accepted. The secret is 20 random bytes, shown to the admin as base32 and stored
 * sealed (AES-256-GCM, lib/secret-box.ts). Replay is refused by the caller's guarded UPDATE on the accepted step (A4).
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
const WINDOW = 1;
const ISSUER = 'genrelay';

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, label = 'admin'): TOTP {
  return new TOTP({
    issuer: ISSUER,
    label,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** The time step of an instant: floor(unix seconds / 30). */
export function totpStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * The step a code matches within ±1 step of `now`, or null. `validate()` answers the delta (0 is a valid code, so
 * the test is `!== null`); the accepted step is the clock's step plus that delta.
 */
export function matchTotp(secretBase32: string, code: string, now: Date): number | null {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return null;
  const delta = totp(secretBase32).validate({ token, timestamp: now.getTime(), window: WINDOW });
  return delta === null ? null : totpStep(now) + delta;
}

/** The code of an instant (the CLI and tests compute what an authenticator app shows). */
export function totpCode(secretBase32: string, at: Date): string {
  return totp(secretBase32).generate({ timestamp: at.getTime() });
}

/** `otpauth://totp/genrelay:<email>?secret=…&issuer=genrelay&algorithm=SHA1&digits=6&period=30`. */
export function totpUri(secretBase32: string, email: string): string {
  return totp(secretBase32, email).toString();
}

/** The URI as an SVG QR code (a string, embedded by the console next to the secret as text). */
export function totpQrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
