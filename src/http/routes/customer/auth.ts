import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { AppError } from '../../../lib/errors.js';
import { sessionEnds, type PreSessionLimitDeps } from '../../../modules/admin-auth/sessions.js';
import { userView } from '../../../modules/customer-auth/users.js';
import {
  changeCustomerPassword, confirmCustomerTotp, customerLogout, customerPasswordStep, customerSecondFactor, disableCustomerTotp,
  ensureCustomerSession, startCustomerTotp, type CustomerAccountDeps, type CustomerGrant, type CustomerSession,
} from '../../../workflows/customer-auth.js';
import { confirmPasswordReset, currentSignupMode, requestPasswordReset, resendVerification, signup, verifyEmail } from '../../../workflows/customer-signup.js';
import type { App } from '../../app-type.js';
import {
  clearCustomerCookie, customerClient, customerSession, customerUserOf, setCustomerCookie, type CustomerSessionDeps,
} from '../../plugins/customer-session.js';
import { Strict } from '../../schemas.js';

/**
 * Customer console sign-up and sign-in (API.md §13), JSON under `/console/api/auth/` and `/console/api/account/`.
 * Every POST and DELETE needs the session's CSRF token (from `GET /console/api/auth/session`, which opens a
 * pre-session, at most `CONSOLE_PRESESSIONS_PER_MINUTE` a minute per client IP: A13); each step that grants more sets a
 * new `__Host-gr_customer` cookie and answers the new token.
 */
const Email = Type.String({ minLength: 1, maxLength: 320 });
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const Token = Type.String({ minLength: 1, maxLength: 128 });
const SignupBody = Type.Object(
  { email: Email, password: Password, name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })), invite_token: Type.Optional(Token) },
  Strict,
);
const LoginBody = Type.Object({ email: Email, password: Password }, Strict);
const SecondFactorBody = Type.Object(
  { code: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })), recovery_code: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  Strict,
);
const TokenBody = Type.Object({ token: Token }, Strict);
const ResetBody = Type.Object({ email: Email }, Strict);
const ResetConfirmBody = Type.Object({ token: Token, password: Password }, Strict);
const PasswordBody = Type.Object({ current_password: Password, new_password: Password }, Strict);
const CodeBody = Type.Object({ code: Type.String({ minLength: 1, maxLength: 16 }) }, Strict);
const PasswordOnlyBody = Type.Object({ password: Password }, Strict);

export type CustomerAuthRouteDeps = CustomerAccountDeps & CustomerSessionDeps & PreSessionLimitDeps;

function grant(reply: FastifyReply, granted: CustomerGrant): void {
  setCustomerCookie(reply, granted.cookieId);
}

export function registerCustomerAuthRoutes(app: App, deps: CustomerAuthRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = customerSession(deps, { require: 'session' });
  const signedIn = customerSession(deps, { require: 'authenticated' });

  const sessionBody = async (session: CustomerSession) => {
    const user = session.state === 'anonymous' ? null : session.user;
    const customer = user && session.state === 'authenticated' ? await deps.customers.get(user.customer_id) : null;
    const ends = sessionEnds(session);
    return {
      state: session.state,
      csrf_token: session.csrf_token,
      user: user && session.state === 'authenticated' ? userView(user) : null,
      customer: customer ? { id: customer.id, name: customer.name } : null,
      signup_mode: await currentSignupMode(deps),
      idle_expires_at: (ends.idle ?? ends.absolute).toISOString(),
      absolute_expires_at: ends.absolute.toISOString(),
    };
  };

  app.get('/console/api/auth/session', { config, onRequest, schema: { summary: 'The customer console session (opens a pre-session)' } }, async (request, reply) => {
    const { session, created } = await ensureCustomerSession(deps, request.customerSession ?? null, customerClient(deps, request));
    if (created) setCustomerCookie(reply, session.cookieId);
    return sessionBody(session);
  });

  app.post<{ Body: Static<typeof SignupBody> }>('/console/api/auth/signup', { config, onRequest, schema: { body: SignupBody } }, async (request, reply) => {
    const body = request.body;
    const result = await signup(deps, request.customerSession ?? null, { email: body.email, password: body.password, name: body.name, inviteToken: body.invite_token }, customerClient(deps, request));
    grant(reply, result);
    return reply.status(201).send({ state: result.state, csrf_token: result.row.csrf_token, user: userView(result.user!), customer: result.customer });
  });

  app.post<{ Body: Static<typeof TokenBody> }>('/console/api/auth/verify', { config, onRequest, schema: { body: TokenBody } }, async (request) =>
    verifyEmail(deps, request.body.token, customerClient(deps, request)));

  app.post('/console/api/auth/verify/resend', { config, onRequest: signedIn }, async (request, reply) => {
    await resendVerification(deps, customerUserOf(request), customerClient(deps, request));
    return reply.status(202).send({ sent: true });
  });

  app.post<{ Body: Static<typeof LoginBody> }>('/console/api/auth/login', { config, onRequest, schema: { body: LoginBody } }, async (request, reply) => {
    const granted = await customerPasswordStep(deps, request.customerSession ?? null, request.body, customerClient(deps, request));
    grant(reply, granted);
    return { state: granted.row.state, csrf_token: granted.row.csrf_token };
  });

  app.post<{ Body: Static<typeof SecondFactorBody> }>('/console/api/auth/totp', { config, onRequest, schema: { body: SecondFactorBody } }, async (request, reply) => {
    const { code, recovery_code: recoveryCode } = request.body;
    if ((code === undefined) === (recoveryCode === undefined)) {
      throw new AppError('invalid_request', 'Send either code or recovery_code', { param: code === undefined ? 'code' : 'recovery_code' });
    }
    const granted = await customerSecondFactor(deps, request.customerSession ?? null, { code, recoveryCode }, customerClient(deps, request));
    grant(reply, granted);
    return { state: granted.row.state, csrf_token: granted.row.csrf_token, user: userView(granted.user!) };
  });

  app.post('/console/api/auth/logout', { config, onRequest }, async (request, reply) => {
    await customerLogout(deps, request.customerSession ?? null, customerClient(deps, request));
    clearCustomerCookie(reply);
    return reply.status(204).send();
  });

  app.post<{ Body: Static<typeof ResetBody> }>('/console/api/auth/password-reset', { config, onRequest, schema: { body: ResetBody } }, async (request, reply) => {
    await requestPasswordReset(deps, request.body.email, customerClient(deps, request));
    return reply.status(202).send({ accepted: true });
  });

  app.post<{ Body: Static<typeof ResetConfirmBody> }>('/console/api/auth/password-reset/confirm', { config, onRequest, schema: { body: ResetConfirmBody } }, async (request, reply) => {
    await confirmPasswordReset(deps, request.body.token, request.body.password, customerClient(deps, request));
    return reply.status(204).send();
  });

  app.post<{ Body: Static<typeof PasswordBody> }>('/console/api/account/password', { config, onRequest: signedIn, schema: { body: PasswordBody } }, async (request, reply) => {
    const granted = await changeCustomerPassword(deps, request.customerSession!, { currentPassword: request.body.current_password, newPassword: request.body.new_password }, customerClient(deps, request));
    grant(reply, granted);
    return { csrf_token: granted.row.csrf_token };
  });

  app.post('/console/api/account/totp/start', { config, onRequest: signedIn }, async (request) => startCustomerTotp(deps, request.customerSession!));

  app.post<{ Body: Static<typeof CodeBody> }>('/console/api/account/totp/confirm', { config, onRequest: signedIn, schema: { body: CodeBody } }, async (request, reply) => {
    const granted = await confirmCustomerTotp(deps, request.customerSession!, request.body.code, customerClient(deps, request));
    grant(reply, granted);
    return { csrf_token: granted.row.csrf_token, recovery_codes: granted.recoveryCodes };
  });

  app.delete<{ Body: Static<typeof PasswordOnlyBody> }>('/console/api/account/totp', { config, onRequest: signedIn, schema: { body: PasswordOnlyBody } }, async (request, reply) => {
    const granted = await disableCustomerTotp(deps, request.customerSession!, request.body.password, customerClient(deps, request));
    grant(reply, granted);
    return { csrf_token: granted.row.csrf_token };
  });
}
