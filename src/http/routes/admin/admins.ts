import { Type, type Static } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { ADMIN_ROLES } from '../../../modules/admin-auth/admins.js';
import { inviteAdmin, listAdminViews, resetAdminTotp, updateAdminAccess, type AdminActor, type AdminsDeps } from '../../../workflows/admins.js';
import type { App } from '../../app-type.js';
import { auditContext } from '../../plugins/api-key-auth.js';
import { adminSession, type AdminSessionDeps } from '../../plugins/admin-session.js';
import { operatorActor } from '../../plugins/operator-auth.js';
import { IdParam, Strict } from '../../schemas.js';

/**
 * Admin management (API.md §12), owners only (others 403 `forbidden`): list, invite (a pending admin and a one-time
 * enrollment link valid 24 h), change role or disable (the admin's sessions are revoked), reset a TOTP.
 */
const Role = Type.Union(ADMIN_ROLES.map((role) => Type.Literal(role)));
const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' });
const InviteBody = Type.Object({ email: Email, role: Role }, Strict);
const PatchBody = Type.Object({ role: Type.Optional(Role), disabled: Type.Optional(Type.Boolean()) }, Strict);

export type AdminRouteDeps = AdminsDeps & AdminSessionDeps;

/** The signed-in admin (routes behind `adminSession({require: 'authenticated'})` always have one). */
export function adminActor(request: FastifyRequest): AdminActor {
  const principal = request.operator;
  if (principal?.kind !== 'admin') throw new Error('route is missing the adminSession hook');
  return { adminId: principal.adminId, role: principal.role, sessionId: principal.sessionId };
}

export function registerAdminRoutes(app: App, deps: AdminRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = adminSession(deps, { require: 'authenticated', role: 'owner' });
  const audit = (request: FastifyRequest) => auditContext(deps, request, operatorActor(request));

  app.get('/admin/api/admins', { config, onRequest, schema: { summary: 'List admins' } }, async () => ({ data: await listAdminViews(deps) }));

  app.post<{ Body: Static<typeof InviteBody> }>('/admin/api/admins', { config, onRequest, schema: { body: InviteBody } }, async (request, reply) =>
    reply.status(201).send(await inviteAdmin(deps, request.body, audit(request))));

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof PatchBody> }>(
    '/admin/api/admins/:id',
    { config, onRequest, schema: { params: IdParam, body: PatchBody } },
    async (request) => updateAdminAccess(deps, adminActor(request), request.params.id, request.body, audit(request)),
  );

  app.post<{ Params: Static<typeof IdParam> }>('/admin/api/admins/:id/reset-totp', { config, onRequest, schema: { params: IdParam } }, async (request) =>
    resetAdminTotp(deps, request.params.id, audit(request)));
}
