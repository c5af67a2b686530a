import { Type, type Static } from '@sinclair/typebox';
import type { CatalogService } from '../../../modules/catalog/service.js';
import { AppError } from '../../../lib/errors.js';
import type { Principal } from '../../../modules/keys/authenticator.js';
import { atPercent, holdFor, publicPricing, quoteRequest } from '../../../modules/catalog/pricing.js';
import type { CatalogModel } from '../../../modules/catalog/types.js';
import { parseVideoSize } from '../../../lib/video-size.js';
import { normalizeParams, resolveModel } from '../../../workflows/create-task.js';
import type { App } from '../../app-type.js';
import { apiKeyAuth, principalOf, type ApiKeyAuthDeps } from '../../plugins/api-key-auth.js';
import { IdParam } from '../../schemas.js';
import { Seconds, toSeconds } from './common.js';

/** `GET /v1/models[/:id]` (the models the key may use) and `POST /v1/quotes` (a price, nothing reserved). */
function modelView(model: CatalogModel) {
  return {
    id: model.id,
    object: 'model',
    owned_by: 'genrelay',
    created: Math.floor(new Date(model.created_at).getTime() / 1000),
    type: model.type,
    category: model.category,
    name: model.display_name,
    capabilities: model.capabilities,
    pricing: publicPricing(model),
  };
}

function visible(principal: Principal, model: CatalogModel): boolean {
  return principal.allowedModels === null || principal.allowedModels.includes(model.id);
}

const QuoteBody = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 128 }),
    seconds: Type.Optional(Seconds),
    resolution: Type.Optional(Type.String({ maxLength: 16 })),
    ratio: Type.Optional(Type.String({ maxLength: 16 })),
    size: Type.Optional(Type.String({ maxLength: 16 })),
    quality: Type.Optional(Type.String({ maxLength: 16 })),
    n: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    generate_audio: Type.Optional(Type.Boolean()),
    prompt: Type.Optional(Type.String({ maxLength: 32_000 })),
  },
  { additionalProperties: false },
);

/** What the model and quote routes use: API-key auth and the catalogue (model resolution reads only the catalogue). */
export type ModelRouteDeps = ApiKeyAuthDeps & { catalog: CatalogService };

export function registerModelRoutes(app: App, deps: ModelRouteDeps): void {
  const onRequest = apiKeyAuth(deps);
  const config = { face: 'v1' as const };

  app.get('/v1/models', { config, onRequest }, async (request) => {
    const principal = principalOf(request);
    const models = (await deps.catalog.list()).filter((model) => visible(principal, model));
    const percent = await deps.catalog.percentFor(principal.group);
    return { object: 'list', data: models.map((model) => modelView(atPercent(model, percent))) };
  });

  app.get<{ Params: Static<typeof IdParam> }>('/v1/models/:id', { config, onRequest, schema: { params: IdParam } }, async (request) => {
    const principal = principalOf(request);
    const model = (await deps.catalog.list()).find((candidate) => candidate.id === request.params.id);
    if (!model || !visible(principal, model)) throw new AppError('not_found', 'No such model');
    return modelView(atPercent(model, await deps.catalog.percentFor(principal.group)));
  });

  app.post('/v1/quotes', { config, onRequest, schema: { body: QuoteBody } }, async (request) => {
    const principal = principalOf(request);
    const body = request.body;
    const catalogModel = await deps.catalog.get(body.model);
    const model = await resolveModel(deps, principal, body.model, catalogModel.type as 'video' | 'image' | 'music');
    const sized = body.size && model.type === 'video' ? parseVideoSize(body.size) : null;
    const params = normalizeParams(model, model.type as 'video' | 'image' | 'music', {
      ...(body.seconds !== undefined ? { seconds: toSeconds(body.seconds)! } : {}),
      ...(body.resolution ?? sized?.resolution ? { resolution: body.resolution ?? sized!.resolution } : {}),
      ...(body.ratio ?? sized?.ratio ? { ratio: body.ratio ?? sized!.ratio } : {}),
      ...(body.size && model.type === 'image' ? { size: body.size } : {}),
      ...(body.quality ? { quality: body.quality } : {}),
      ...(body.n !== undefined ? { n: body.n } : {}),
      ...(body.generate_audio !== undefined ? { generate_audio: body.generate_audio } : {}),
    });
    // The customer's own price (M10): the group percent applied exactly as the hold will apply it.
    const customer = atPercent(model, await deps.catalog.percentFor(principal.group));
    const quote = quoteRequest(customer, params);
    return { model: model.id, credits: Number(holdFor(customer, params)), breakdown: quote.breakdown, price_version: model.price_version };
  });
}
