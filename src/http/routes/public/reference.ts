import type { Config } from '../../../config/index.js';
import type { App } from '../../app-type.js';
import { buildOpenApiDocument } from '../../openapi/document.js';
import { isConsoleRoute } from '../../plugins/admin-session.js';
import { renderDocsPage } from '../../views/docs-page.js';
import { sendCached } from './pricing.js';

/**
 * Public, no key (API.md §11): `GET /openapi.json`, the OpenAPI 3.1 document of every registered route, and
 * `GET /docs`, the reference page rendered from it. Both are built from `app.routeTable` on the first request —
 * routes cannot be added once the app is ready, so every route of every file is in it — and kept. The console's
 * routes (`/admin`, `/admin/*`: its pages, its session-cookie JSON and the operator API mounted again under
 * `/admin/api`) are left out: they are the SPA's, authenticated by the session cookie, and documented in API.md §12.
 */
const API_VERSION = '1.0.0';

export function registerReferenceRoutes(app: App, deps: { config: Pick<Config, 'publicBaseUrl'> }): void {
  const config = { face: 'plain' as const };
  let cached: { json: string; html: string } | null = null;
  const built = () => {
    if (!cached) {
      const document = buildOpenApiDocument(app.routeTable.filter((route) => !isConsoleRoute(route.url)), { baseUrl: deps.config.publicBaseUrl, version: API_VERSION });
      cached = { json: JSON.stringify(document), html: renderDocsPage(document) };
    }
    return cached;
  };

  app.get('/openapi.json', { config, schema: { summary: 'This OpenAPI 3.1 document' } }, async (request, reply) =>
    sendCached(request, reply, 'application/json; charset=utf-8', built().json),
  );

  app.get('/docs', { config, schema: { summary: 'API reference (HTML)' } }, async (request, reply) =>
    sendCached(request, reply, 'text/html; charset=utf-8', built().html),
  );
}
