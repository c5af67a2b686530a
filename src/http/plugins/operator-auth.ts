import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Secrets } from '../../config/secrets.js';
import { AppError } from '../../lib/errors.js';
import { sha256Hex } from '../../lib/hash.js';
import { timingSafeEqual } from 'node:crypto';

/** What operator authentication reads: the operator key's digest. */
export type OperatorAuthDeps = { secrets: Pick<Secrets, 'operatorKeyHash'> };

/**
 * Operator API auth (API.md §8): `Authorization: Bearer $OPERATOR_API_KEY`, compared as sha256 digests in
 * constant time. Customer API keys are never accepted here (A11). The console session comes with the admin console.
 */
export function operatorAuth(deps: OperatorAuthDeps): onRequestHookHandler {
  const expected = Buffer.from(deps.secrets.operatorKeyHash, 'hex');
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (!token || !timingSafeEqual(Buffer.from(sha256Hex(token), 'hex'), expected)) {
      throw new AppError('invalid_api_key', 'Invalid or missing operator key');
    }
  };
}
