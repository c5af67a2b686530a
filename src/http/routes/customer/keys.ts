import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../../../lib/clock.js';
import { isoOrNull } from '../../../lib/time.js';
import type { KeyService } from '../../../modules/keys/service.js';
import type { ApiKeyRow } from '../../../modules/keys/types.js';
import { createKey, revokeKey, rotateKey, type KeysDeps } from '../../../workflows/keys.js';
import type { App } from '../../app-type.js';
import { customerAudit, customerSession, customerUserOf, type CustomerSessionDeps } from '../../plugins/customer-session.js';
import { IdParam, ModeSchema, Strict, parseTimestamp } from '../../schemas.js';

/**
 * The customer's API keys in the console (API.md §13), through the same key workflows as the operator and key
 * self-service routes (audited, cache evicted). The full key is answered once, at creation or rotation. Status:
 * `revoked`, `expired`, `rotating` (replaced by a rotation, still valid during its grace period) or `active`.
 */
const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    mode: ModeSchema,
    expires_at: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    allowed_models: Type.Optional(Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 1000 }), Type.Null()])),
  },
  Strict,
);
const RotateBody = Type.Object({ grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 })) }, Strict);

export type CustomerKeyRouteDeps = KeysDeps & CustomerSessionDeps & { keys: KeyService; clock: Clock };

export function consoleKeyView(row: ApiKeyRow, now: Date, rotated: boolean, plaintext?: string) {
  const expired = row.expires_at !== null && row.expires_at.getTime() <= now.getTime();
  const status = row.revoked_at ? 'revoked' : expired ? 'expired' : rotated ? 'rotating' : 'active';
  return {
    id: row.id,
    name: row.name,
    prefix: row.key_prefix,
    ...(plaintext === undefined ? {} : { key: plaintext }),
    mode: row.mode,
    created_at: isoOrNull(row.created_at),
    last_used_at: isoOrNull(row.last_used_at),
    expires_at: isoOrNull(row.expires_at),
    status,
    allowed_models: row.allowed_models,
  };
}

export function registerCustomerKeyConsoleRoutes(app: App, deps: CustomerKeyRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = customerSession(deps, { require: 'authenticated' });

  app.get('/console/api/keys', { config, onRequest }, async (request) => {
    const user = customerUserOf(request);
    const rows = await deps.keys.list(user.customer_id, null, 1000, null);
    const replaced = new Set(rows.map((row) => row.rotated_from).filter((id): id is string => id !== null));
    const now = deps.clock.now();
    return { data: rows.map((row) => consoleKeyView(row, now, replaced.has(row.id))) };
  });

  app.post<{ Body: Static<typeof CreateBody> }>('/console/api/keys', { config, onRequest, schema: { body: CreateBody } }, async (request, reply) => {
    const user = customerUserOf(request);
    const body = request.body;
    const audit = customerAudit(deps, request);
    const created = await createKey(deps, {
      customerId: user.customer_id,
      name: body.name,
      mode: body.mode,
      scopes: [],
      allowedModels: body.allowed_models ?? null,
      ipAllowlist: [],
      rateLimitRpm: null,
      maxConcurrency: null,
      expiresAt: body.expires_at ? parseTimestamp(body.expires_at, 'expires_at') : null,
      createdBy: audit.actor,
      rotatedFrom: null,
    }, audit);
    return reply.status(201).send(consoleKeyView(created.row, deps.clock.now(), false, created.plaintext));
  });

  app.post<{ Params: Static<typeof IdParam> }>('/console/api/keys/:id/revoke', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const user = customerUserOf(request);
    const revoked = await revokeKey(deps, user.customer_id, request.params.id, customerAudit(deps, request));
    return consoleKeyView(revoked, deps.clock.now(), false);
  });

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof RotateBody> }>('/console/api/keys/:id/rotate', { config, onRequest, schema: { params: IdParam, body: RotateBody } }, async (request, reply) => {
    const user = customerUserOf(request);
    const created = await rotateKey(deps, user.customer_id, request.params.id, request.body.grace_seconds ?? 24 * 3600, customerAudit(deps, request));
    return reply.status(201).send(consoleKeyView(created.row, deps.clock.now(), false, created.plaintext));
  });
}
