import { createHmac, randomBytes } from 'node:crypto';
import { base62FromBytes } from '../../lib/base62.js';

/**
 * Outbound Standard Webhooks signer (SEMANTICS §7). Deliberately self-contained: H2 forbids sharing code with the
 * inbound Stripe verifier, whose secret encoding and signed content differ, so a change there can never alter what
 * customers verify.
 */

const SECRET_PREFIX = 'whsec_';
const MESSAGE_PREFIX = 'msg_';
const SECRET_BYTES = 32;
const MESSAGE_ID_LENGTH = 26;
/** 19 random bytes (152 bits) always fit in 26 base62 digits (62^26 ≈ 2^154.8), so the padded width is fixed. */
const MESSAGE_ID_BYTES = 19;
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const USER_AGENT = 'genrelay-webhooks/1';

/** `whsec_` + base64 of 32 random bytes (H3). */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** `msg_` + 26 base62 characters (H1); random. Base62 guarantees no `.`, which would make the signed content ambiguous. */
export function generateMessageId(): string {
  return MESSAGE_PREFIX + base62FromBytes(randomBytes(MESSAGE_ID_BYTES), MESSAGE_ID_LENGTH);
}

/**
 * The HMAC key (H2): `whsec_` stripped, then standard base64 decoded. Node's decoder silently skips invalid
 * characters, so the text is validated first: a corrupted secret must fail loudly rather than sign with a wrong key
 * that no receiver could ever verify.
 */
function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || !STANDARD_BASE64.test(encoded)) {
    throw new TypeError('Webhook secret must be whsec_ followed by standard base64');
  }
  return Buffer.from(encoded, 'base64');
}

/** HMAC-SHA256 over `${id}.${timestamp}.${body}` with the base64-decoded secret (whsec_ stripped) → `v1,<base64>` (H2). */
export function sign(secret: string, messageId: string, timestamp: number, body: string | Buffer): string {
  // A `.` in the id or a fractional timestamp would let two different (id, timestamp) pairs share signed content (H1).
  if (messageId.length === 0 || messageId.includes('.')) throw new TypeError('Webhook message id must be non-empty without "."');
  if (!Number.isSafeInteger(timestamp)) throw new RangeError('Webhook timestamp must be integer Unix seconds');
  const hmac = createHmac('sha256', secretKey(secret));
  hmac.update(`${messageId}.${timestamp}.`, 'utf8');
  // Sign the stored bytes exactly as sent (H5); a Buffer is never re-encoded.
  hmac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return `v1,${hmac.digest('base64')}`;
}

/**
 * Headers for one attempt: webhook-id, webhook-timestamp (unix seconds of this attempt), webhook-signature with one
 * space-separated `v1,…` value per secret (H4: during a rotation grace both old and new secrets sign), plus
 * content-type: application/json and a user-agent `genrelay-webhooks/1`.
 */
export function webhookHeaders(
  secrets: string[],
  messageId: string,
  timestamp: number,
  body: string | Buffer,
): Record<string, string> {
  // An unsigned delivery would be indistinguishable from a forgery to the receiver, so refuse rather than send one.
  if (secrets.length === 0) throw new TypeError('At least one webhook secret is required');
  const signatures = secrets.map((secret) => sign(secret, messageId, timestamp, body));
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatures.join(' '),
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
  };
}
