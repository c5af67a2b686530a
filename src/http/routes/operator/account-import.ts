import { Type } from '@sinclair/typebox';
import { MAX_IMPORT_LINES, importAccounts } from '../../../workflows/account-import.js';
import type { ChannelsDeps } from '../../../workflows/channels.js';
import type { App } from '../../app-type.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { Strict } from '../../schemas.js';

/**
 * `POST /api/accounts/import` (API.md §8): many credentials into one channel's pool, a result per line. Lines are
 * checked one by one (an unusable line is `invalid`, not a 400 for the whole import); only the shape is validated here.
 */
const Line = Type.Union([
  Type.String({ maxLength: 16_384 }),
  Type.Object({ credential: Type.String({ maxLength: 16_384 }), label: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])) }, Strict),
]);
const Body = Type.Object(
  { channel_id: Type.String({ minLength: 1, maxLength: 64 }), credentials: Type.Array(Line, { minItems: 1, maxItems: MAX_IMPORT_LINES }) },
  Strict,
);

export type AccountImportRouteDeps = ChannelsDeps & OperatorAuthDeps & ClientIpDeps;

export function registerAccountImportRoute(app: App, deps: AccountImportRouteDeps): void {
  app.post('/api/accounts/import', { config: { face: 'operator' }, onRequest: operatorAuth(deps), schema: { body: Body } }, async (request) =>
    importAccounts(deps, request.body.channel_id, request.body.credentials, auditContext(deps, request, operatorActor(request))));
}
