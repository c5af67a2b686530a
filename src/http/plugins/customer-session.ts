import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { AuditContext } from '../../modules/audit/service.js';
import type { CustomerUserRow } from '../../modules/customer-auth/users.js';
import {
  customerActor, endSessionIfSuspended, findCustomerSession, markCustomerSessionActive, suspendedError,
  type CustomerAuthDeps, type CustomerSession,
} from '../../workflows/customer-auth.js';
import { clientIp, type ClientIpDeps } from './api-key-auth.js';
import { csrfAccepted, isSafeMethod, setConsoleHeaders } from './admin-session.js';

/**
 * The customer console's session layer (SEMANTICS §10 applied to customer users). Every `/console/api` route runs
 * `customerSession` first: it loads the session named by the `__Host-gr_customer` cookie (never a bearer key, and
 * never the operator console's `__Host-gr_session`), requires a signed-in user where the route says so (401
 * `unauthenticated`), checks CSRF on every non-safe method (403 `csrf_failed`), ends the session of a suspended
 * customer's user (403 `customer_suspended`), applies the role (team management and the signing secret: owner; 403
 * `forbidden`), moves the idle deadline and names the caller's customer. The
 * operator console and `/v1` never read this cookie. Responses carry the A12 headers and `Vary: Origin, Sec-Fetch-Site`.
 */
export const CUSTOMER_COOKIE = '__Host-gr_customer';
export const CUSTOMER_API_PREFIX = '/console/api';

declare module 'fastify' {
  interface FastifyRequest {
    customerSession?: CustomerSession | null;
  }
}

export type CustomerSessionDeps = ClientIpDeps & Pick<CustomerAuthDeps, 'db'> & { clock: Clock; config: Pick<Config, 'publicBaseUrl'> };

export interface CustomerAccess {
  require: 'session' | 'authenticated';
  /** `owner`: team management and the webhook signing secret. Default: any user of the customer. */
  role?: 'owner' | 'any';
}

/** A6 with the customer console's own cookie name. */
export function setCustomerCookie(reply: FastifyReply, cookieId: string): void {
  reply.header('Set-Cookie', `${CUSTOMER_COOKIE}=${cookieId}; Path=/; Secure; HttpOnly; SameSite=Strict`);
}

export function clearCustomerCookie(reply: FastifyReply): void {
  reply.header('Set-Cookie', `${CUSTOMER_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
}

export function customerSession(deps: CustomerSessionDeps, access: CustomerAccess): onRequestHookHandler {
  const publicOrigin = new URL(deps.config.publicBaseUrl).origin;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    setConsoleHeaders(reply);
    reply.header('Vary', 'Origin, Sec-Fetch-Site');
    reply.header('Cache-Control', 'no-store');
    const now = deps.clock.now();
    const session = await findCustomerSession(deps, request.cookies?.[CUSTOMER_COOKIE], now);
    request.customerSession = session;
    const signedIn = session !== null && session.state === 'authenticated' && session.user !== null;
    if (access.require === 'authenticated' && !signedIn) {
      throw new AppError('unauthenticated', 'Sign in to the console first (or the session expired)');
    }
    if (!isSafeMethod(request.method) && !csrfAccepted(request, session, publicOrigin)) {
      throw new AppError('csrf_failed', 'Missing or invalid CSRF token, or a cross-site request');
    }
    if (!signedIn) return;
    // The customer was suspended since the sign-in: the session ends here (403 on signed-in routes; the open auth
    // routes carry on as without a session, so the console falls back to its sign-in page).
    if (await endSessionIfSuspended(deps, session)) {
      clearCustomerCookie(reply);
      request.customerSession = null;
      if (access.require === 'authenticated') throw suspendedError();
      return;
    }
    if (access.role === 'owner' && session.user!.role !== 'owner') throw new AppError('forbidden', 'Only owners of the account can do this');
    await markCustomerSessionActive(deps, session, now);
  };
}

/** The signed-in user of a route behind `customerSession({require: 'authenticated'})`. */
export function customerUserOf(request: FastifyRequest): CustomerUserRow {
  const user = request.customerSession?.user;
  if (!user || request.customerSession?.state !== 'authenticated') throw new Error('route is missing the customerSession hook');
  return user;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function customerClient(deps: ClientIpDeps, request: FastifyRequest): { ip: string; userAgent: string | null } {
  const agent = header(request, 'user-agent');
  return { ip: clientIp(deps, request), userAgent: agent ? agent.slice(0, 512) : null };
}

/** The audit context of a signed-in user's change (actor `customer_user:<email>`). */
export function customerAudit(deps: ClientIpDeps, request: FastifyRequest): AuditContext {
  const client = customerClient(deps, request);
  return { actor: customerActor(customerUserOf(request)), ip: client.ip, userAgent: client.userAgent };
}
