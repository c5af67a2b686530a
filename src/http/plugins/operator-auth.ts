import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Secrets } from '../../config/secrets.js';
import { AppError } from '../../lib/errors.js';
import { sha256Hex } from '../../lib/hash.js';
import type { AdminRole } from '../../modules/admin-auth/admins.js';
import { timingSafeEqual } from 'node:crypto';

/**
 * Who is calling the operator API: the shared `OPERATOR_API_KEY` bearer (scripts), or an admin signed in to the
 * console, set by the admin-session plugin before the route's own hook runs (the `/admin/api` mount, server.ts).
 * Audit rows name it: `operator-key`, or the admin's email.
 */
export type OperatorPrincipal =
  | { kind: 'operator-key' }
  | { kind: 'admin'; adminId: string; email: string; role: AdminRole; sessionId: string };

declare module 'fastify' {
  interface FastifyRequest {
    operator?: OperatorPrincipal;
  }
}

export const OPERATOR_KEY_ACTOR = 'operator-key';

/** The audit actor of an operator-API request (routes behind `operatorAuth` always have a principal). */
export function operatorActor(request: FastifyRequest): string {
  const principal = request.operator;
  if (!principal) throw new Error('route is missing the operatorAuth hook');
  return principal.kind === 'admin' ? principal.email : OPERATOR_KEY_ACTOR;
}

/** What operator authentication reads: the operator key's digest. */
export type OperatorAuthDeps = { secrets: Pick<Secrets, 'operatorKeyHash'> };

/**
 * Operator API auth (API.md §8): `Authorization: Bearer $OPERATOR_API_KEY`, compared as sha256 digests in
 * constant time. Customer API keys are never accepted here (A11). Under `/admin/api` the admin-session hook has
 * already authenticated a console session and set the principal; the bearer is then neither needed nor read.
 */
export function operatorAuth(deps: OperatorAuthDeps): onRequestHookHandler {
  const expected = Buffer.from(deps.secrets.operatorKeyHash, 'hex');
  return async (request: FastifyRequest) => {
    if (request.operator?.kind === 'admin') return;
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (!token || !timingSafeEqual(Buffer.from(sha256Hex(token), 'hex'), expected)) {
      throw new AppError('invalid_api_key', 'Invalid or missing operator key');
    }
    request.operator = { kind: 'operator-key' };
  };
}
