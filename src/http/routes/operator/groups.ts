import { Type, type Static } from '@sinclair/typebox';
import { createGroup, listCustomerGroups, updateGroup, type CatalogueDeps } from '../../../workflows/catalogue.js';
import type { App } from '../../app-type.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { IdParam, Strict } from '../../schemas.js';

/**
 * Operator API: customer groups (API.md §8). A customer's group picks its channels and its prices: `price_percent`
 * 100 = the catalogue price, 80 = 20 % off (SEMANTICS M10). Groups are not deleted: customers reference them.
 */
const GroupId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Percent = Type.Integer({ minimum: 1, maximum: 1000 });
const CreateGroup = Type.Object({ id: GroupId, name: Type.Optional(Name), price_percent: Type.Optional(Percent) }, Strict);
const PatchGroup = Type.Object({ name: Type.Optional(Name), price_percent: Type.Optional(Percent) }, Strict);

/** What the group routes use: the catalogue workflows, operator auth and the client address for the audit. */
export type GroupRouteDeps = CatalogueDeps & OperatorAuthDeps & ClientIpDeps;

export function registerGroupRoutes(app: App, deps: GroupRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = operatorAuth(deps);
  const audit = (request: Parameters<typeof auditContext>[1]) => auditContext(deps, request, operatorActor(request));

  app.get('/api/admin/groups', { config, onRequest }, async () => ({ object: 'list', data: await listCustomerGroups(deps) }));

  app.post<{ Body: Static<typeof CreateGroup> }>('/api/admin/groups', { config, onRequest, schema: { body: CreateGroup } }, async (request, reply) => {
    const body = request.body;
    const view = await createGroup(deps, { id: body.id, name: body.name ?? body.id, price_percent: body.price_percent ?? 100 }, audit(request));
    return reply.status(201).header('Location', `/api/admin/groups/${view.id}`).send(view);
  });

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof PatchGroup> }>(
    '/api/admin/groups/:id',
    { config, onRequest, schema: { params: IdParam, body: PatchGroup } },
    async (request) => updateGroup(deps, request.params.id, request.body, audit(request)),
  );
}
