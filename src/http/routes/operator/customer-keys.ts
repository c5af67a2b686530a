import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../../app-type.js';
import type { Clock } from '../../../lib/clock.js';
import type { CustomerService } from '../../../modules/customers/service.js';
import type { KeyService } from '../../../modules/keys/service.js';
import { AppError } from '../../../lib/errors.js';
import { parseCidr } from '../../../lib/ip.js';
import { SCOPES } from '../../../modules/keys/types.js';
import { createKey, revokeKey, rotateKey, type KeysDeps } from '../../../workflows/keys.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { operatorKeyView } from '../../presenters.js';
import { IdParam, ModeSchema, Pagination, Strict, listPage, pageLimit, parseTimestamp } from '../../schemas.js';

/** Operator API: a customer's keys (API.md §8). The full key is returned once, at creation or rotation. */
const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    mode: ModeSchema,
    expires_at: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    allowed_models: Type.Optional(
      Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 1000 }), Type.Null()]),
    ),
    ip_allowlist: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 64 }), { maxItems: 100 })),
    rate_limit_rpm: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    max_concurrency: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 100_000 }), Type.Null()])),
    scopes: Type.Optional(Type.Array(Type.Union(SCOPES.map((scope) => Type.Literal(scope))), { maxItems: 16 })),
  },
  Strict,
);
const KeyParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }), keyId: Type.String({ minLength: 1, maxLength: 64 }) },
  Strict,
);
const RotateBody = Type.Object(
  { grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 })) },
  Strict,
);

/** What the operator key routes use: the keys workflow, operator auth, the client address for the audit, and what they read. */
export type CustomerKeyRouteDeps = KeysDeps & OperatorAuthDeps & ClientIpDeps & { customers: CustomerService; keys: KeyService; clock: Clock };

export function registerCustomerKeyRoutes(app: App, deps: CustomerKeyRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = operatorAuth(deps);

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof CreateBody> }>(
    '/api/public/customers/:id/api-keys',
    { config, onRequest, schema: { params: IdParam, body: CreateBody } },
    async (request, reply) => {
      const body = request.body;
      const ipAllowlist = body.ip_allowlist ?? [];
      ipAllowlist.forEach((entry, index) => {
        if (!parseCidr(entry)) {
          throw new AppError('invalid_request', `Invalid IP address or CIDR: ${entry}`, { param: `ip_allowlist.${index}` });
        }
      });
      const created = await createKey(
        deps,
        {
          customerId: request.params.id,
          name: body.name,
          mode: body.mode,
          scopes: [...new Set(body.scopes ?? [])],
          allowedModels: body.allowed_models ?? null,
          ipAllowlist,
          rateLimitRpm: body.rate_limit_rpm ?? null,
          maxConcurrency: body.max_concurrency ?? null,
          expiresAt: body.expires_at ? parseTimestamp(body.expires_at, 'expires_at') : null,
          createdBy: operatorActor(request),
          rotatedFrom: null,
        },
        auditContext(deps, request, operatorActor(request)),
      );
      return reply.status(201).send(operatorKeyView(created.row, deps.clock.now(), created.plaintext));
    },
  );

  app.get<{ Params: Static<typeof IdParam>; Querystring: Static<typeof Pagination> }>(
    '/api/public/customers/:id/api-keys',
    { config, onRequest, schema: { params: IdParam, querystring: Pagination } },
    async (request) => {
      await deps.customers.get(request.params.id);
      const limit = pageLimit(request.query);
      const rows = await deps.keys.list(request.params.id, null, limit + 1, request.query.after ?? null);
      const page = listPage(rows, limit);
      const now = deps.clock.now();
      return { ...page, data: page.data.map((row) => operatorKeyView(row, now)) };
    },
  );

  app.delete<{ Params: Static<typeof KeyParams> }>(
    '/api/public/customers/:id/api-keys/:keyId',
    { config, onRequest, schema: { params: KeyParams } },
    async (request) => {
      const row = await revokeKey(deps, request.params.id, request.params.keyId, auditContext(deps, request, operatorActor(request)));
      return operatorKeyView(row, deps.clock.now());
    },
  );

  app.post<{ Params: Static<typeof KeyParams>; Body: Static<typeof RotateBody> }>(
    '/api/public/customers/:id/api-keys/:keyId/rotate',
    { config, onRequest, schema: { params: KeyParams, body: RotateBody } },
    async (request, reply) => {
      const created = await rotateKey(
        deps,
        request.params.id,
        request.params.keyId,
        request.body.grace_seconds ?? 24 * 3600,
        auditContext(deps, request, operatorActor(request)),
      );
      return reply.status(201).send(operatorKeyView(created.row, deps.clock.now(), created.plaintext));
    },
  );
}
