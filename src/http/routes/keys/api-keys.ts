import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../../app-type.js';
import type { KeyService } from '../../../modules/keys/service.js';
import { AppError } from '../../../lib/errors.js';
import { SCOPES } from '../../../modules/keys/types.js';
import { createKey, revokeKey, rotateKey, type KeysDeps } from '../../../workflows/keys.js';
import { apiKeyAuth, auditContext, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { keyView } from '../../presenters.js';
import { IdParam, ModeSchema, Strict, parseTimestamp } from '../../schemas.js';

/**
 * Key self-service face (API.md §7): a key of the customer manages the customer's keys. Its errors use the
 * `{"detail": ...}` body. A key never creates a wider key (K10): scopes are a subset of the caller's, a test key
 * creates only test keys, and the caller's model/IP allow-lists and limits are copied to the new key.
 */
const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    expires_at: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    mode: Type.Optional(ModeSchema),
    scopes: Type.Optional(Type.Array(Type.Union(SCOPES.map((scope) => Type.Literal(scope))), { maxItems: 16 })),
  },
  Strict,
);

const RotateBody = Type.Object(
  { grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 })) },
  Strict,
);

/** What key self-service uses: the keys workflow, API-key auth (and its client address for the audit), the key list. */
export type ApiKeyRouteDeps = KeysDeps & ApiKeyAuthDeps & { keys: KeyService };

export function registerApiKeyRoutes(app: App, deps: ApiKeyRouteDeps): void {
  const config = { face: 'keys' as const };
  const onRequest = apiKeyAuth(deps, 'keys');

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/v1/auth/api-keys',
    { config, onRequest, schema: { body: CreateBody } },
    async (request, reply) => {
      const caller = principalOf(request);
      const body = request.body;
      const mode = body.mode ?? caller.mode;
      if (caller.mode === 'test' && mode === 'live') {
        throw new AppError('scope_not_allowed', 'A test key can only create test keys', { param: 'mode' });
      }
      const scopes = narrowScopes(caller.scopes, body.scopes);
      const created = await createKey(
        deps,
        {
          customerId: caller.customerId,
          name: body.name,
          mode,
          scopes,
          allowedModels: caller.allowedModels,
          ipAllowlist: caller.ipAllowlist,
          rateLimitRpm: caller.rateLimitRpm,
          maxConcurrency: caller.maxConcurrency,
          expiresAt: body.expires_at ? parseTimestamp(body.expires_at, 'expires_at') : null,
          createdBy: `api_key:${caller.keyId}`,
          rotatedFrom: null,
        },
        auditContext(deps, request, `api_key:${caller.keyId}`),
      );
      return reply.status(201).send(keyView(created.row, created.plaintext));
    },
  );

  app.get('/api/v1/auth/api-keys', { config, onRequest }, async (request) => {
    const caller = principalOf(request);
    const rows = await deps.keys.list(caller.customerId, caller.mode === 'test' ? 'test' : null, 1000, null);
    return rows.filter((row) => !row.revoked_at).map((row) => keyView(row));
  });

  app.delete<{ Params: Static<typeof IdParam> }>(
    '/api/v1/auth/api-keys/:id',
    { config, onRequest, schema: { params: IdParam } },
    async (request, reply) => {
      const caller = principalOf(request);
      await revokeKey(deps, caller.customerId, request.params.id, auditContext(deps, request, `api_key:${caller.keyId}`), testOnly(caller.mode));
      return reply.status(204).send();
    },
  );

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof RotateBody> }>(
    '/api/v1/auth/api-keys/:id/rotate',
    { config, onRequest, schema: { params: IdParam, body: RotateBody } },
    async (request, reply) => {
      const caller = principalOf(request);
      const created = await rotateKey(
        deps,
        caller.customerId,
        request.params.id,
        request.body.grace_seconds ?? 24 * 3600,
        auditContext(deps, request, `api_key:${caller.keyId}`),
        testOnly(caller.mode),
      );
      return reply.status(201).send(keyView(created.row, created.plaintext));
    },
  );
}

function testOnly(mode: string): string | null {
  return mode === 'test' ? 'test' : null;
}

function narrowScopes(callerScopes: string[], requested: string[] | undefined): string[] {
  if (requested === undefined || requested.length === 0) return callerScopes;
  if (callerScopes.length > 0) {
    const wider = requested.find((scope) => !callerScopes.includes(scope));
    if (wider) throw new AppError('scope_not_allowed', `Cannot grant the "${wider}" scope`, { param: 'scopes' });
  }
  return [...new Set(requested)];
}
