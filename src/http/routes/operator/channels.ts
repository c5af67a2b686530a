import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../../../lib/clock.js';
import type { ChannelService } from '../../../modules/channels/service.js';
import type { ErrorClass } from '../../../providers/spec.js';
import {
  accountView, channelView, createAccount, createChannel, deleteAccount, getChannelWithAccounts, listChannelsWithAccounts, testAccountAudited, updateAccount, updateChannel,
  type ChannelsDeps,
} from '../../../workflows/channels.js';
import type { TestAccountDeps } from '../../../workflows/test-account.js';
import type { App } from '../../app-type.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { IdParam, Strict } from '../../schemas.js';
import { PricingSchema } from './models.js';

/**
 * Operator API: channels and the upstream credential pool (API.md §8). Credentials are encrypted at rest and never
 * returned after creation; every mutation is audited in its own transaction (workflows/channels.ts).
 */
const ERROR_CLASSES: ErrorClass[] = ['invalid_request', 'moderation_input', 'moderation_output', 'auth', 'upstream_quota', 'rate_limited', 'upstream_error', 'network', 'not_found', 'unsupported'];
const Retry = Type.Object(
  {
    attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    failover_on: Type.Optional(Type.Array(Type.Union(ERROR_CLASSES.map((value) => Type.Literal(value))), { maxItems: 10 })),
  },
  Strict,
);
const ChannelFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  provider: Type.String({ minLength: 1, maxLength: 32 }),
  base_url: Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' }),
  models: Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.String({ minLength: 1, maxLength: 256 }), { maxProperties: 500 }),
  group: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
  priority: Type.Integer({ minimum: -1000, maximum: 1000 }),
  weight: Type.Integer({ minimum: 1, maximum: 10_000 }),
  enabled: Type.Boolean(),
  retry: Retry,
  settings: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 64 }),
  /** M11: the upstream cost of each mapped model, in the catalogue's price rule shapes (credits). */
  costs: Type.Record(Type.String({ minLength: 1, maxLength: 128 }), PricingSchema, { maxProperties: 500 }),
};
const CreateChannel = Type.Object(
  {
    name: ChannelFields.name, provider: ChannelFields.provider, base_url: ChannelFields.base_url, models: ChannelFields.models,
    group: Type.Optional(ChannelFields.group), priority: Type.Optional(ChannelFields.priority), weight: Type.Optional(ChannelFields.weight),
    enabled: Type.Optional(ChannelFields.enabled), retry: Type.Optional(ChannelFields.retry), settings: Type.Optional(ChannelFields.settings),
    costs: Type.Optional(ChannelFields.costs),
  },
  Strict,
);
const PatchChannel = Type.Partial(CreateChannel, Strict);
const CreateAccount = Type.Object(
  { channel_id: Type.String({ minLength: 1, maxLength: 64 }), credential: Type.String({ minLength: 1, maxLength: 4096 }), label: Type.Optional(Type.String({ maxLength: 200 })) },
  Strict,
);
const PatchAccount = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
    label: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    credential: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  },
  Strict,
);
const TestBody = Type.Object({ model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }, Strict);
const AccountQuery = Type.Object({ channel_id: Type.Optional(Type.String({ maxLength: 64 })) }, Strict);

/**
 * What the channel routes use: the channels and account-test workflows, operator auth, the client address for the
 * audit, and the channel service and clock they read.
 */
export type ChannelRouteDeps = ChannelsDeps & TestAccountDeps & OperatorAuthDeps & ClientIpDeps & { channels: ChannelService; clock: Clock };

export function registerChannelRoutes(app: App, deps: ChannelRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = operatorAuth(deps);
  const audit = (request: Parameters<typeof auditContext>[1]) => auditContext(deps, request, operatorActor(request));

  // Each channel with `accounts`, its credential pool in counts (workflows/channels.ts accountsSummary).
  app.get('/api/admin/channels', { config, onRequest }, async () => ({ object: 'list', data: await listChannelsWithAccounts(deps) }));

  app.get<{ Params: Static<typeof IdParam> }>('/api/admin/channels/:id', { config, onRequest, schema: { params: IdParam, summary: 'One channel with its account counts' } }, async (request) =>
    getChannelWithAccounts(deps, request.params.id));

  app.post('/api/admin/channels', { config, onRequest, schema: { body: CreateChannel } }, async (request, reply) => {
    const row = await createChannel(deps, request.body, audit(request));
    return reply.status(201).send(channelView(row, deps.clock.now()));
  });

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof PatchChannel> }>('/api/admin/channels/:id', { config, onRequest, schema: { params: IdParam, body: PatchChannel } }, async (request) => {
    const row = await updateChannel(deps, request.params.id, request.body, audit(request));
    return channelView(row, deps.clock.now());
  });

  app.get<{ Querystring: Static<typeof AccountQuery> }>('/api/accounts', { config, onRequest, schema: { querystring: AccountQuery } }, async (request) =>
    ({ object: 'list', data: (await deps.channels.listCredentials(request.query.channel_id ?? null)).map((row) => accountView(row, deps.clock.now())) }));

  app.post('/api/accounts', { config, onRequest, schema: { body: CreateAccount } }, async (request, reply) => {
    const row = await createAccount(deps, request.body.channel_id, request.body.credential, request.body.label ?? null, audit(request));
    return reply.status(201).send(accountView(row, deps.clock.now()));
  });

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof PatchAccount> }>('/api/accounts/:id', { config, onRequest, schema: { params: IdParam, body: PatchAccount } }, async (request) => {
    const row = await updateAccount(deps, request.params.id, request.body, audit(request));
    return accountView(row, deps.clock.now());
  });

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof TestBody> }>('/api/accounts/:id/test', { config, onRequest, schema: { params: IdParam, body: TestBody } }, async (request) => {
    return testAccountAudited(deps, request.params.id, request.body.model, audit(request));
  });

  app.delete<{ Params: Static<typeof IdParam> }>('/api/accounts/:id', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    await deleteAccount(deps, request.params.id, audit(request));
    return { id: request.params.id, object: 'account', deleted: true };
  });
}
