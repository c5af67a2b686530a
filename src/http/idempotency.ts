import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';

/**
 * Idempotency-Key handling (SEMANTICS I1–I4). The key is claimed by the task row itself inside the hot path (I5);
 * here we only parse the header and compute the request fingerprint.
 */
// canonicalize is CommonJS; its default export is the function itself.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

const KEY_PATTERN = /^[A-Za-z0-9._:-]{1,255}$/;

/** I2: a structured-field string ("…") or a bare token; after unquoting, 1–255 of [A-Za-z0-9._:-]. */
export function idempotencyKey(request: FastifyRequest, required: boolean): string | null {
  const raw = request.headers['idempotency-key'];
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (value === undefined || value === '') {
    if (required) {
      throw new AppError('idempotency_key_missing', 'This endpoint requires an Idempotency-Key header', { param: 'Idempotency-Key' });
    }
    return null;
  }
  const unquoted = /^"(.*)"$/s.exec(value)?.[1] ?? value;
  if (!KEY_PATTERN.test(unquoted)) {
    throw new AppError('idempotency_key_invalid', 'Idempotency-Key must be 1–255 characters of A–Z a–z 0–9 . _ : -', {
      param: 'Idempotency-Key',
    });
  }
  return unquoted;
}

/** I4: sha256 of METHOD, route template and the RFC 8785 form of the body as received (before defaults). */
export function fingerprint(method: string, route: string, body: unknown): string {
  const canonical = body === undefined || body === null ? '' : (canonicalize(body) ?? '');
  return createHash('sha256').update(`${method.toUpperCase()}\n${route}\n${canonical}`, 'utf8').digest('hex');
}
