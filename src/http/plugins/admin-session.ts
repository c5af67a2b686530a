import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { safeEqual } from '../../lib/hash.js';
import { SESSION_COOKIE, type LoadedSession } from '../../modules/admin-auth/sessions.js';
import { findSession, markSessionActive, type AdminAuthDeps } from '../../workflows/admin-auth.js';
import { clientIp, type ClientIpDeps } from './api-key-auth.js';

/**
 * The operator console's session layer (SEMANTICS A6–A12). Every `/admin/api` route runs `adminSession` first: it
 * loads the session named by the `__Host-gr_session` cookie (never a bearer key: an `Authorization` header is not
 * read here), requires a signed-in admin where the route says so (401 `unauthenticated`), checks CSRF on every
 * non-safe method (403 `csrf_failed`), applies the role (viewer: GET and HEAD only; admin management: owner; 403
 * `forbidden`), moves the idle deadline and sets the operator principal the routes audit with. Console responses
 * carry the A12 headers and `Vary: Origin, Sec-Fetch-Site`.
 */
export const CONSOLE_PREFIX = '/admin';
export const CONSOLE_API_PREFIX = '/admin/api';

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session the cookie names (null: none, or expired). Set on `/admin/api` routes. */
    adminSession?: LoadedSession | null;
  }
}

/** The customer console's prefix (pages at /console, JSON under /console/api; plugins/customer-session.ts). */
export const CUSTOMER_CONSOLE_PREFIX = '/console';

/**
 * Routes of the operator and customer consoles (pages and JSON); they are not part of the public API document
 * (docs/API.md §12, §13).
 */
export function isConsoleRoute(url: string): boolean {
  return [CONSOLE_PREFIX, CUSTOMER_CONSOLE_PREFIX].some((prefix) => url === prefix || url.startsWith(`${prefix}/`));
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

/** A12 on every console response (pages and JSON). */
export function setConsoleHeaders(reply: FastifyReply): void {
  reply.header('Content-Security-Policy', "default-src 'self'; frame-ancestors 'none'");
  reply.header('X-Content-Type-Options', 'nosniff');
  reply.header('Referrer-Policy', 'same-origin');
}

/** A6, exactly: `__Host-` prefix, Path=/, Secure, HttpOnly, SameSite=Strict, no Domain, no expiry (a browser session). */
export function setSessionCookie(reply: FastifyReply, cookieId: string): void {
  reply.header('Set-Cookie', `${SESSION_COOKIE}=${cookieId}; Path=/; Secure; HttpOnly; SameSite=Strict`);
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.header('Set-Cookie', `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
}

export type AdminSessionDeps = ClientIpDeps & Pick<AdminAuthDeps, 'db'> & { clock: Clock; config: Pick<Config, 'publicBaseUrl'> };

export interface AdminAccess {
  /** `authenticated`: a signed-in admin is required. `session`: any session or none (the sign-in steps decide). */
  require: 'session' | 'authenticated';
  /** `owner`: admin management. `viewer-read-only` (default for authenticated routes): viewers may only read. `any`: every role. */
  role?: 'owner' | 'viewer-read-only' | 'any';
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A8: the session's synchronizer token in `X-CSRF-Token`, compared in constant time; then, if `Sec-Fetch-Site` is
 * present, it must be `same-origin`, otherwise `Origin` must be the configured public origin; neither → refused.
 * (`_csrf` as a form field would be accepted too, but the API parses only JSON bodies, so forms never reach a route.)
 */
export function csrfAccepted(request: FastifyRequest, session: Pick<LoadedSession, 'csrf_token'> | null, publicOrigin: string): boolean {
  const token = header(request, 'x-csrf-token');
  if (!session || token === undefined || !safeEqual(token, session.csrf_token)) return false;
  const site = header(request, 'sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  const origin = header(request, 'origin');
  return origin !== undefined && origin === publicOrigin;
}

export function adminSession(deps: AdminSessionDeps, access: AdminAccess): onRequestHookHandler {
  const publicOrigin = new URL(deps.config.publicBaseUrl).origin;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    setConsoleHeaders(reply);
    reply.header('Vary', 'Origin, Sec-Fetch-Site');
    reply.header('Cache-Control', 'no-store');
    const now = deps.clock.now();
    const session = await findSession(deps, request.cookies?.[SESSION_COOKIE], now);
    request.adminSession = session;
    const admin = session?.admin ?? null;
    const signedIn = session !== null && session.state === 'authenticated' && admin !== null && admin.status === 'active';
    if (access.require === 'authenticated' && !signedIn) {
      throw new AppError('unauthenticated', 'Sign in to the console first (or the session expired)');
    }
    if (!isSafeMethod(request.method) && !csrfAccepted(request, session, publicOrigin)) {
      throw new AppError('csrf_failed', 'Missing or invalid CSRF token, or a cross-site request');
    }
    if (!signedIn) return;
    const role = access.role ?? 'viewer-read-only';
    if (role === 'owner' && admin.role !== 'owner') throw new AppError('forbidden', 'Only owners manage admins');
    if (role === 'viewer-read-only' && admin.role === 'viewer' && !isSafeMethod(request.method)) {
      throw new AppError('forbidden', 'Viewers can only read');
    }
    await markSessionActive(deps, session, now);
    request.operator = { kind: 'admin', adminId: admin.id, email: admin.email, role: admin.role, sessionId: session.public_id };
  };
}

/** The caller's address and agent, as the sign-in steps and the audit record them. */
export function clientInfo(deps: ClientIpDeps, request: FastifyRequest): { ip: string; userAgent: string | null } {
  const agent = header(request, 'user-agent');
  return { ip: clientIp(deps, request), userAgent: agent ? agent.slice(0, 512) : null };
}
