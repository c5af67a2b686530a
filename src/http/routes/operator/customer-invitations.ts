import { Type, type Static } from '@sinclair/typebox';
import { inviteByOperator, type TeamDeps } from '../../../workflows/customer-team.js';
import type { App } from '../../app-type.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { Strict } from '../../schemas.js';

/**
 * `POST /api/admin/customer-invitations {email, customer_id?}` (API.md §8): an invitation link to the customer console,
 * mailed (or kept in the mail outbox) and answered once as `invite_url`. Without `customer_id` the sign-up makes a new
 * customer; with one, the invited user joins it as an owner. Works whatever the signup mode. Audited.
 */
const Body = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 320 }), customer_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  Strict,
);

export type CustomerInvitationRouteDeps = TeamDeps & OperatorAuthDeps & ClientIpDeps;

export function registerCustomerInvitationRoutes(app: App, deps: CustomerInvitationRouteDeps): void {
  app.post<{ Body: Static<typeof Body> }>(
    '/api/admin/customer-invitations',
    { config: { face: 'operator' }, onRequest: operatorAuth(deps), schema: { body: Body, summary: 'Invite a customer user (audited)' } },
    async (request, reply) => {
      const created = await inviteByOperator(deps, { email: request.body.email, customerId: request.body.customer_id ?? null }, auditContext(deps, request, operatorActor(request)));
      return reply.status(201).send(created);
    },
  );
}
