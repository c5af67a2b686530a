import { Type, type Static } from '@sinclair/typebox';
import { listSessionViews, revokeSession, type AdminsDeps } from '../../../workflows/admins.js';
import type { App } from '../../app-type.js';
import { auditContext } from '../../plugins/api-key-auth.js';
import { adminSession, clearSessionCookie, type AdminSessionDeps } from '../../plugins/admin-session.js';
import { operatorActor } from '../../plugins/operator-auth.js';
import { IdParam, Strict } from '../../schemas.js';
import { adminActor } from './admins.js';

/**
 * Console sessions (API.md §12): owners list and revoke anyone's, other admins their own (viewers read only).
 * Ids are the sessions' public ids, never the cookie. Revoking the caller's own session signs it out.
 */
const Query = Type.Object({ admin_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, Strict);

export type AdminSessionRouteDeps = AdminsDeps & AdminSessionDeps;

export function registerAdminSessionRoutes(app: App, deps: AdminSessionRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = adminSession(deps, { require: 'authenticated' });

  app.get<{ Querystring: Static<typeof Query> }>('/admin/api/sessions', { config, onRequest, schema: { querystring: Query } }, async (request) =>
    ({ data: await listSessionViews(deps, adminActor(request), request.query.admin_id) }));

  app.delete<{ Params: Static<typeof IdParam> }>('/admin/api/sessions/:id', { config, onRequest, schema: { params: IdParam } }, async (request, reply) => {
    const result = await revokeSession(deps, adminActor(request), request.params.id, auditContext(deps, request, operatorActor(request)));
    if (result.current) clearSessionCookie(reply);
    return reply.status(204).send();
  });
}
