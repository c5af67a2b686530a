import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Logger } from 'pino';
import { clientAddress, type Cidr } from '../../lib/ip.js';
import type { Metrics } from '../../lib/metrics.js';
import { requireScope, type Authenticator, type Principal } from '../../modules/keys/authenticator.js';
import type { RateLimiter } from '../../modules/limits/rate-limiter.js';
import type { AuditContext } from '../../modules/audit/service.js';
import { AppError } from '../../lib/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The caller's principal; routes behind `apiKeyAuth` always have one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route is missing the apiKeyAuth hook');
  return request.principal;
}

/** The proxies whose `X-Forwarded-For` is believed when finding the client's address. */
export type ClientIpDeps = { trustedProxies: readonly Cidr[] };

export function clientIp(deps: ClientIpDeps, request: FastifyRequest): string {
  const forwarded = request.headers['x-forwarded-for'];
  return clientAddress(
    request.socket.remoteAddress ?? '',
    Array.isArray(forwarded) ? forwarded.join(',') : forwarded,
    deps.trustedProxies,
  );
}

export function auditContext(deps: ClientIpDeps, request: FastifyRequest, actor: string): AuditContext {
  const agent = request.headers['user-agent'];
  return { actor, ip: clientIp(deps, request), userAgent: typeof agent === 'string' ? agent.slice(0, 512) : null };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The services API-key authentication and the per-key rate limit use. */
export type ApiKeyAuthDeps = ClientIpDeps & {
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  metrics: Metrics;
  logger: Logger;
};

/**
 * API-key authentication (K3–K9) then the per-key rate limit (R1, R2, R4), both in onRequest so they run before
 * body parsing and validation. `scope` gates the route family (K10).
 */
export function apiKeyAuth(deps: ApiKeyAuthDeps, scope: string | null = null): onRequestHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = await deps.authenticator.authenticate(
      { authorization: header(request, 'authorization'), apiKeyHeader: header(request, 'x-api-key') },
      clientIp(deps, request),
    );
    request.principal = principal;
    await applyRateLimit(deps, principal, reply);
    if (scope) requireScope(principal, scope);
  };
}

async function applyRateLimit(deps: ApiKeyAuthDeps, principal: Principal, reply: FastifyReply): Promise<void> {
  const limit = principal.rateLimitRpm;
  if (limit === null) return;
  const decision = await deps.rateLimiter.consume(`key:${principal.keyId}`, limit, 60);
  if (decision.storeError) {
    deps.metrics.increment('genrelay_ratelimit_store_errors_total', 'Rate limiter store failures (requests let through)');
    deps.logger.warn({ keyId: principal.keyId }, 'rate limiter store unavailable; request allowed');
    return;
  }
  reply.header('RateLimit-Policy', `"key";q=${decision.limit};w=${decision.windowSeconds}`);
  reply.header('RateLimit', `"key";r=${decision.remaining};t=${decision.resetSeconds}`);
  if (!decision.allowed) {
    throw new AppError('rate_limited', 'Rate limit exceeded for this API key', {
      retryAfter: Math.max(1, decision.resetSeconds),
    });
  }
}
