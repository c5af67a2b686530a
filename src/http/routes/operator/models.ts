import { Type, type Static } from '@sinclair/typebox';
import { LIST_PRICE_UNITS, type Capabilities } from '../../../modules/catalog/types.js';
import { createModel, deleteModel, getModel, listModels, modelPrices, updateModel, type CatalogueDeps } from '../../../workflows/catalogue.js';
import type { App } from '../../app-type.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { IdParam, Strict, parseTimestamp } from '../../schemas.js';

/**
 * Operator API: the model catalogue and its price history (API.md §8 "Models, prices and groups"). Capabilities are
 * checked per model type and prices against them in the workflow (workflows/catalogue.ts), every change is audited
 * in its transaction.
 */
const ModelId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' });
const Price = Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 });
const Variant = Type.String({ minLength: 1, maxLength: 32 });
export const PricingSchema = Type.Object(
  {
    unit: Type.Union([Type.Literal('second'), Type.Literal('image'), Type.Literal('track'), Type.Literal('token')]),
    credits: Type.Optional(Price),
    credits_by: Type.Optional(Type.Record(Variant, Price, { maxProperties: 100 })),
    input_credits_per_million: Type.Optional(Price),
    output_credits_per_million: Type.Optional(Price),
  },
  Strict,
);
const Amount = Type.Number({ minimum: 0, maximum: 1_000_000_000 });
const ListPriceSchema = Type.Union([
  Type.Object(
    {
      amount: Amount,
      currency: Type.String({ pattern: '^[A-Z]{3}$' }),
      unit: Type.Union(LIST_PRICE_UNITS.map((unit) => Type.Literal(unit))),
      amount_by: Type.Optional(Type.Record(Variant, Amount, { maxProperties: 100 })),
    },
    Strict,
  ),
  Type.Null(),
]);
const ModelType = Type.Union(['video', 'image', 'music', 'chat', 'embedding'].map((type) => Type.Literal(type)));
const CapabilitiesSchema = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 64 });
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

const CreateModel = Type.Object(
  {
    id: ModelId,
    type: ModelType,
    category: Type.Optional(Text(64)),
    display_name: Text(200),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 4000 }), Type.Null()])),
    capabilities: CapabilitiesSchema,
    pricing: Type.Optional(PricingSchema),
    list_price: Type.Optional(ListPriceSchema),
    enabled: Type.Optional(Type.Boolean()),
    sort_order: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
  },
  Strict,
);
const PatchModel = Type.Object(
  {
    category: Type.Optional(Text(64)),
    display_name: Type.Optional(Text(200)),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 4000 }), Type.Null()])),
    capabilities: Type.Optional(CapabilitiesSchema),
    pricing: Type.Optional(PricingSchema),
    effective_at: Type.Optional(Type.String({ minLength: 10, maxLength: 40 })),
    list_price: Type.Optional(ListPriceSchema),
    enabled: Type.Optional(Type.Boolean()),
    sort_order: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
  },
  Strict,
);

/** What the catalogue routes use: the catalogue workflows, operator auth and the client address for the audit. */
export type CatalogueRouteDeps = CatalogueDeps & OperatorAuthDeps & ClientIpDeps;

export function registerModelAdminRoutes(app: App, deps: CatalogueRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = operatorAuth(deps);
  const audit = (request: Parameters<typeof auditContext>[1]) => auditContext(deps, request, operatorActor(request));

  app.get('/api/admin/models', { config, onRequest }, async () => ({ object: 'list', data: await listModels(deps) }));

  app.post<{ Body: Static<typeof CreateModel> }>('/api/admin/models', { config, onRequest, schema: { body: CreateModel } }, async (request, reply) => {
    const body = request.body;
    const view = await createModel(deps, { ...body, type: body.type as 'video', capabilities: body.capabilities as Capabilities }, audit(request));
    return reply.status(201).header('Location', `/api/admin/models/${view.id}`).send(view);
  });

  app.get<{ Params: Static<typeof IdParam> }>('/api/admin/models/:id', { config, onRequest, schema: { params: IdParam } }, async (request) =>
    getModel(deps, request.params.id));

  app.get<{ Params: Static<typeof IdParam> }>('/api/admin/models/:id/prices', { config, onRequest, schema: { params: IdParam } }, async (request) =>
    modelPrices(deps, request.params.id));

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof PatchModel> }>(
    '/api/admin/models/:id',
    { config, onRequest, schema: { params: IdParam, body: PatchModel } },
    async (request) => {
      const { effective_at: effectiveAt, capabilities, ...rest } = request.body;
      return updateModel(deps, request.params.id, {
        ...rest,
        ...(capabilities !== undefined ? { capabilities: capabilities as Capabilities } : {}),
        ...(effectiveAt !== undefined ? { effective_at: parseTimestamp(effectiveAt, 'effective_at') } : {}),
      }, audit(request));
    },
  );

  app.delete<{ Params: Static<typeof IdParam> }>('/api/admin/models/:id', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    await deleteModel(deps, request.params.id, audit(request));
    return { id: request.params.id, object: 'model', deleted: true };
  });
}
