import { Type, type Static } from '@sinclair/typebox';
import { changeMemberRole, inviteTeamMember, removeMember, teamView, withdrawInvitation, type TeamDeps } from '../../../workflows/customer-team.js';
import type { App } from '../../app-type.js';
import { customerAudit, customerSession, customerUserOf, type CustomerSessionDeps } from '../../plugins/customer-session.js';
import { IdParam, Strict } from '../../schemas.js';

/**
 * The customer's team (API.md §13): owners list members and open invitations, invite (`{invitation, invite_url}`,
 * mailed too), withdraw invitations, change roles and remove members; the last owner cannot be demoted or removed
 * (409). Members get 403 `forbidden` on all of it.
 */
const Role = Type.Union([Type.Literal('owner'), Type.Literal('member')]);
const InviteBody = Type.Object({ email: Type.String({ minLength: 1, maxLength: 320 }), role: Role }, Strict);
const RoleBody = Type.Object({ role: Role }, Strict);

export type CustomerTeamRouteDeps = TeamDeps & CustomerSessionDeps;

export function registerCustomerTeamRoutes(app: App, deps: CustomerTeamRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = customerSession(deps, { require: 'authenticated', role: 'owner' });

  app.get('/console/api/team', { config, onRequest }, async (request) => teamView(deps, customerUserOf(request).customer_id));

  app.post<{ Body: Static<typeof InviteBody> }>('/console/api/team/invitations', { config, onRequest, schema: { body: InviteBody } }, async (request, reply) =>
    reply.status(201).send(await inviteTeamMember(deps, customerUserOf(request), request.body, customerAudit(deps, request))));

  app.delete<{ Params: Static<typeof IdParam> }>('/console/api/team/invitations/:id', { config, onRequest, schema: { params: IdParam } }, async (request, reply) => {
    await withdrawInvitation(deps, customerUserOf(request).customer_id, request.params.id, customerAudit(deps, request));
    return reply.status(204).send();
  });

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof RoleBody> }>('/console/api/team/members/:id', { config, onRequest, schema: { params: IdParam, body: RoleBody } }, async (request) =>
    changeMemberRole(deps, customerUserOf(request).customer_id, request.params.id, request.body.role, customerAudit(deps, request)));

  app.delete<{ Params: Static<typeof IdParam> }>('/console/api/team/members/:id', { config, onRequest, schema: { params: IdParam } }, async (request, reply) => {
    await removeMember(deps, customerUserOf(request).customer_id, request.params.id, customerAudit(deps, request));
    return reply.status(204).send();
  });
}
