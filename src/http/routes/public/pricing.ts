import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Config } from '../../../config/index.js';
import { createHash } from 'node:crypto';
import type { CatalogService } from '../../../modules/catalog/service.js';
import { MODEL_TYPES, buildPriceList, pricingView, type PriceListOptions } from '../../../modules/catalog/price-list.js';
import { atPercent } from '../../../modules/catalog/pricing.js';
import type { CatalogModel } from '../../../modules/catalog/types.js';
import type { App } from '../../app-type.js';
import { renderPricePage } from '../../views/price-page.js';

/**
 * Public, no key (API.md §11): `GET /models`, the price list as HTML, and `GET /api/pricing`, the same as JSON with
 * an `ETag` (hash of the body) and `Cache-Control: public, max-age=60`. Both take `?type=` (one model type; anything
 * else is 400 with the plain body). Other query parameters (tracking tags on shared links) are ignored.
 */
const TypeQuery = Type.Object(
  {
    type: Type.Optional(Type.Union(MODEL_TYPES.map((each) => Type.Literal(each)), { description: 'Only models of this type' })),
  },
  { additionalProperties: true },
);

export type PricingRouteDeps = { catalog: CatalogService; config: Pick<Config, 'priceCurrency' | 'creditsPerCurrencyUnit'> };

const CACHE_CONTROL = 'public, max-age=60';

function options(deps: PricingRouteDeps): PriceListOptions {
  return { currency: deps.config.priceCurrency, creditsPerUnit: deps.config.creditsPerCurrencyUnit };
}

/** The group whose prices the public list shows: new customers' group (API.md §8). */
const PUBLIC_GROUP = 'default';

/** Enabled models at the price in force, at the public group's `price_percent` (100 = the catalogue price). */
async function publicModels(deps: PricingRouteDeps): Promise<CatalogModel[]> {
  const percent = await deps.catalog.percentFor(PUBLIC_GROUP);
  return (await deps.catalog.list()).map((model) => atPercent(model, percent));
}

/** Whether `If-None-Match` names this entity tag (weak comparison, RFC 9110 §13.1.2). */
export function matchesEtag(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return value.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === bare);
}

/** Sends `text` with a strong ETag of its bytes, or 304 when the client already has it. */
export function sendCached(request: FastifyRequest, reply: FastifyReply, contentType: string, text: string): FastifyReply {
  const etag = `"${createHash('sha256').update(text, 'utf8').digest('base64url').slice(0, 32)}"`;
  reply.header('ETag', etag).header('Cache-Control', CACHE_CONTROL).header('Vary', 'Accept-Encoding');
  if (matchesEtag(request.headers['if-none-match'], etag)) return reply.status(304).send();
  return reply.type(contentType).send(text);
}

export function registerPricingRoutes(app: App, deps: PricingRouteDeps): void {
  const config = { face: 'plain' as const };

  app.get<{ Querystring: Static<typeof TypeQuery> }>(
    '/models',
    { config, schema: { querystring: TypeQuery, summary: 'Public price list (HTML)' } },
    async (request, reply) => {
      const list = buildPriceList(await publicModels(deps), options(deps), request.query.type);
      return sendCached(request, reply, 'text/html; charset=utf-8', renderPricePage(list, options(deps), request.query.type));
    },
  );

  app.get<{ Querystring: Static<typeof TypeQuery> }>(
    '/api/pricing',
    { config, schema: { querystring: TypeQuery, summary: 'Public price list (JSON)' } },
    async (request, reply) => {
      const models = await publicModels(deps);
      const byId = new Map(models.map((model) => [model.id, model]));
      const list = buildPriceList(models, options(deps), request.query.type);
      const body = {
        object: 'list',
        currency: deps.config.priceCurrency,
        credits_per_currency_unit: deps.config.creditsPerCurrencyUnit,
        data: list.map((entry) => pricingView(entry, options(deps), byId.get(entry.id)!)),
      };
      return sendCached(request, reply, 'application/json; charset=utf-8', JSON.stringify(body));
    },
  );
}
