import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { AppError } from '../../../lib/errors.js';
import { sessionAdminView } from '../../../modules/admin-auth/admins.js';
import { sessionEnds, type LoadedSession, type PreSessionLimitDeps, type SessionRow } from '../../../modules/admin-auth/sessions.js';
import {
  changePassword, ensureSession, finishEnrollment, logout, passwordStep, secondFactorStep, startEnrollment,
  type AdminAuthDeps, type SessionGrant,
} from '../../../workflows/admin-auth.js';
import type { App } from '../../app-type.js';
import { adminSession, clearSessionCookie, clientInfo, setSessionCookie, type AdminSessionDeps } from '../../plugins/admin-session.js';
import { Strict } from '../../schemas.js';

/**
 * Console sign-in (API.md §12, SEMANTICS A1–A10), JSON under `/admin/api/auth/`. Every POST needs the session's
 * CSRF token (the SPA reads it from `GET /admin/api/auth/session`, which opens an anonymous pre-session when there is
 * none, at most `CONSOLE_PRESESSIONS_PER_MINUTE` a minute per client IP: A13); each step that grants more sets a new
 * cookie and answers the new token.
 */
const LoginBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 320 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  Strict,
);
const SecondFactorBody = Type.Object(
  {
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
    recovery_code: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  Strict,
);
const PasswordBody = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 1024 }), new_password: Type.String({ minLength: 1, maxLength: 1024 }) },
  Strict,
);
const Token = Type.String({ minLength: 1, maxLength: 128 });
const EnrollStartBody = Type.Object({ token: Token }, Strict);
const EnrollFinishBody = Type.Object(
  { token: Token, password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })), code: Type.String({ minLength: 1, maxLength: 16 }) },
  Strict,
);

export type AdminAuthRouteDeps = AdminAuthDeps & AdminSessionDeps & PreSessionLimitDeps;

function sessionBody(session: Pick<SessionRow, 'state' | 'csrf_token' | 'last_seen_at' | 'expires_at'>, admin: LoadedSession['admin']) {
  const ends = sessionEnds(session);
  return {
    state: session.state,
    csrf_token: session.csrf_token,
    admin: admin ? sessionAdminView(admin) : null,
    idle_expires_at: (ends.idle ?? ends.absolute).toISOString(),
    absolute_expires_at: ends.absolute.toISOString(),
  };
}

function grant(reply: FastifyReply, granted: SessionGrant): FastifyReply {
  setSessionCookie(reply, granted.cookieId);
  return reply;
}

export function registerAdminAuthRoutes(app: App, deps: AdminAuthRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = adminSession(deps, { require: 'session', role: 'any' });

  app.get('/admin/api/auth/session', { config, onRequest, schema: { summary: 'The console session (opens a pre-session)' } }, async (request, reply) => {
    const { session, created } = await ensureSession(deps, request.adminSession ?? null, clientInfo(deps, request));
    if (created) setSessionCookie(reply, session.cookieId);
    return sessionBody(session, session.state === 'anonymous' ? null : session.admin);
  });

  app.post<{ Body: Static<typeof LoginBody> }>('/admin/api/auth/login', { config, onRequest, schema: { body: LoginBody } }, async (request, reply) => {
    const granted = await passwordStep(deps, request.adminSession!, request.body, clientInfo(deps, request));
    grant(reply, granted);
    return { state: granted.row.state, csrf_token: granted.row.csrf_token };
  });

  app.post<{ Body: Static<typeof SecondFactorBody> }>('/admin/api/auth/totp', { config, onRequest, schema: { body: SecondFactorBody } }, async (request, reply) => {
    const { code, recovery_code: recoveryCode } = request.body;
    if ((code === undefined) === (recoveryCode === undefined)) {
      throw new AppError('invalid_request', 'Send either code or recovery_code', { param: code === undefined ? 'code' : 'recovery_code' });
    }
    const granted = await secondFactorStep(deps, request.adminSession ?? null, { code, recoveryCode }, clientInfo(deps, request));
    grant(reply, granted);
    return { state: granted.row.state, csrf_token: granted.row.csrf_token, admin: sessionAdminView(granted.admin!) };
  });

  app.post('/admin/api/auth/logout', { config, onRequest }, async (request, reply) => {
    await logout(deps, request.adminSession ?? null, clientInfo(deps, request));
    clearSessionCookie(reply);
    return reply.status(204).send();
  });

  app.post<{ Body: Static<typeof PasswordBody> }>('/admin/api/auth/password', { config, onRequest: adminSession(deps, { require: 'authenticated', role: 'any' }), schema: { body: PasswordBody } }, async (request, reply) => {
    const granted = await changePassword(deps, request.adminSession!, { currentPassword: request.body.current_password, newPassword: request.body.new_password }, clientInfo(deps, request));
    grant(reply, granted);
    return reply.status(204).send();
  });

  app.post<{ Body: Static<typeof EnrollStartBody> }>('/admin/api/auth/enroll/start', { config, onRequest, schema: { body: EnrollStartBody } }, async (request) =>
    startEnrollment(deps, request.body.token));

  app.post<{ Body: Static<typeof EnrollFinishBody> }>('/admin/api/auth/enroll/finish', { config, onRequest, schema: { body: EnrollFinishBody } }, async (request, reply) => {
    const body = request.body;
    const granted = await finishEnrollment(deps, request.adminSession ?? null, { token: body.token, code: body.code, ...(body.password !== undefined ? { password: body.password } : {}) }, clientInfo(deps, request));
    grant(reply, granted);
    return { state: granted.row.state, csrf_token: granted.row.csrf_token, admin: sessionAdminView(granted.admin!), recovery_codes: granted.recoveryCodes };
  });
}
