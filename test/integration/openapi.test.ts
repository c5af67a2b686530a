import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import { openApiPath } from '../../src/http/openapi/document.js';
import { SUMMARIES } from '../../src/http/openapi/operations.js';
import { isConsoleRoute } from '../../src/http/plugins/admin-session.js';
import { useTestApp } from '../harness/setup.js';

/**
 * `GET /openapi.json` and `GET /docs` (issue 10, API.md §11): an OpenAPI 3.1 document generated from the route table
 * — valid for a real OpenAPI validator, listing every registered route outside the console's /admin once, with each
 * face's security and error body — and the reference page rendered from it, served with no external asset.
 */
const ctx = useTestApp();

const SECURITY: Record<string, unknown[]> = {
  v1: [{ apiKeyBearer: [] }, { apiKeyHeader: [] }],
  jobs: [{ apiKeyBearer: [] }, { apiKeyHeader: [] }],
  keys: [{ apiKeyBearer: [] }, { apiKeyHeader: [] }],
  operator: [{ operatorBearer: [] }],
  plain: [],
};
const ERROR_SCHEMA: Record<string, string> = { v1: 'Error', jobs: 'JobsError', keys: 'KeysError', operator: 'Error', plain: 'Error' };

async function openapi(): Promise<any> {
  const response = await ctx.app.request('GET', '/openapi.json');
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return response.body;
}

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document, served without a key', async () => {
    const document = await openapi();
    expect(document.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // The validator does refuse a broken document (a path item with an unknown operation, an operation without responses).
    const broken = structuredClone(document);
    broken.paths['/healthz'].get.responses = 'none';
    expect((await new Validator().validate(broken)).valid).toBe(false);
    expect(document.servers).toEqual([{ url: ctx.app.deps.config.publicBaseUrl }]);
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['apiKeyBearer', 'apiKeyHeader', 'operatorBearer']);
    expect(document.components.securitySchemes.apiKeyHeader).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(document.components.schemas.JobsError.required).toEqual(['ok', 'error']);
    expect(document.components.schemas.KeysError.required).toEqual(['detail']);
  });

  it('lists every registered route exactly once, with its face, security, parameters, summary and error body', async () => {
    const document = await openapi();
    // The rule: every route outside /admin is listed; the console's routes (/admin, /admin/*: its pages, its session
    // JSON and the operator API mounted again under /admin/api) are not — they take the session cookie, not a key
    // (API.md §12). Each mounted route is the duplicate of a listed /api/ route.
    const all = ctx.app.app.routeTable;
    const routes = all.filter((route) => !isConsoleRoute(route.url));
    const consoleRoutes = all.filter((route) => isConsoleRoute(route.url));
    expect(consoleRoutes.length).toBeGreaterThan(30);
    expect(Object.keys(document.paths).filter((path) => path === '/admin' || path.startsWith('/admin/'))).toEqual([]);
    const listedOperator = new Set(routes.map((route) => `${route.method} ${route.url}`));
    for (const route of consoleRoutes.filter((entry) => /^\/admin\/api\/(public|admin|accounts)(\/|$)/.test(entry.url))) {
      expect(listedOperator.has(`${route.method} ${route.url.slice('/admin'.length)}`), route.url).toBe(true);
    }
    expect(routes.length).toBeGreaterThan(50);
    const listed = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    const registered = routes.map((route) => `${route.method} ${openApiPath(route.url)}`);
    expect([...listed].sort()).toEqual([...registered].sort());
    expect(new Set(registered).size).toBe(registered.length);

    const operationIds = new Set<string>();
    for (const route of routes) {
      const label = `${route.method} ${route.url}`;
      const path = openApiPath(route.url);
      expect(path, label).not.toContain(':');
      const operation = document.paths[path][route.method.toLowerCase()];
      expect(operation['x-face'], label).toBe(route.face);
      expect(operation.tags, label).toEqual([route.face]);
      expect(typeof operation.summary === 'string' && operation.summary.length > 3, label).toBe(true);
      if (SUMMARIES[label]) expect(operation.summary, label).toBe(route.schema?.summary ?? SUMMARIES[label]);
      expect(operationIds.has(operation.operationId), label).toBe(false);
      operationIds.add(operation.operationId);
      if (label === 'GET /v1/files/:id/content') expect(operation.security, label).toEqual([{ apiKeyBearer: [] }, { apiKeyHeader: [] }, {}]);
      else if (label.startsWith('POST /webhooks/upstream/')) expect(operation.security, label).toEqual([]);
      else expect(operation.security, label).toEqual(SECURITY[route.face!]);
      // Every path template parameter is declared.
      for (const name of [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1])) {
        expect(operation.parameters?.some((parameter: any) => parameter.in === 'path' && parameter.name === name && parameter.required), `${label} {${name}}`).toBe(true);
      }
      const errors = Object.entries(operation.responses).filter(([status]) => /^[45]/.test(status));
      expect(errors.length, label).toBeGreaterThan(0);
      for (const [status, response] of errors as Array<[string, any]>) {
        expect(response.content['application/json'].schema, `${label} ${status}`).toEqual({ $ref: `#/components/schemas/${ERROR_SCHEMA[route.face!]}` });
      }
      if (SECURITY[route.face!]!.length > 0 && !label.startsWith('POST /webhooks/')) expect(operation.responses['401'], label).toBeDefined();
    }
  });

  it('carries the route schemas: bodies, queries, required headers', async () => {
    const document = await openapi();
    const create = document.paths['/api/public/customers'].post;
    expect(create.requestBody.content['application/json'].schema).toMatchObject({ type: 'object', required: ['name'], additionalProperties: false });
    expect(create.requestBody.content['application/json'].schema.properties.name).toMatchObject({ type: 'string', maxLength: 200 });
    expect(create.responses['409'].description).toContain('conflict');
    const videos = document.paths['/v1/videos'].post;
    expect(Object.keys(videos.requestBody.content).sort()).toEqual(['application/json', 'multipart/form-data']);
    expect(videos.responses['402'].description).toContain('insufficient_credits');
    const jobs = document.paths['/v1/images/generate'].post;
    expect(jobs.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }));
    expect(document.paths['/models'].get.parameters).toContainEqual(expect.objectContaining({ name: 'type', in: 'query', required: false }));
    expect(document.paths['/v1/models/{id}'].get.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', schema: expect.objectContaining({ maxLength: 64 }) }));
  });

  it('includes routes registered by any file, in any order, without touching the generator', async () => {
    const app = buildServer(ctx.app.deps);
    app.get('/v1/registered-last/:thing', { config: { face: 'v1' }, schema: { summary: 'Registered after everything' } }, async () => ({}));
    await app.ready();
    try {
      const response = await app.inject({ method: 'GET', url: '/openapi.json' });
      expect(response.statusCode).toBe(200);
      const operation = response.json().paths['/v1/registered-last/{thing}'].get;
      expect(operation).toMatchObject({ summary: 'Registered after everything', 'x-face': 'v1', parameters: [{ name: 'thing', in: 'path', required: true }] });
    } finally {
      await app.close();
    }
  });

  it('answers If-None-Match with 304', async () => {
    const first = await ctx.app.request('GET', '/openapi.json');
    const etag = first.headers.get('etag')!;
    expect(etag).toBeTruthy();
    expect((await ctx.app.request('GET', '/openapi.json', { headers: { 'if-none-match': etag } })).status).toBe(304);
  });
});

describe('API reference page', () => {
  it('shows every operation with its auth, parameters, body fields and errors, and loads nothing from elsewhere', async () => {
    const page = await ctx.app.request('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
    const document = await openapi();
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      expect(page.text, path).toContain(`<code>${path}</code>`);
      for (const operation of Object.values(item)) expect(page.text, operation.operationId).toContain(`id="${operation.operationId}"`);
    }
    for (const face of ['v1', 'jobs', 'keys', 'operator', 'plain']) expect(page.text).toContain(`id="face-${face}"`);
    expect(page.text).toContain('Operator key (Authorization: Bearer)');
    expect(page.text).toContain('API key (X-API-Key)');
    expect(page.text).toContain('insufficient_credits');
    expect(page.text).toContain('<code>prompt</code>');
    // Offline: no script, no stylesheet or image from another origin, no remote font or import.
    expect(page.text).not.toMatch(/<script/i);
    expect(page.text).not.toMatch(/<link\b/i);
    expect(page.text).not.toMatch(/@import|url\(/i);
    const base = ctx.app.deps.config.publicBaseUrl;
    const remote = [...page.text.matchAll(/(?:src|href|action|srcset)\s*=\s*["']?([^"'\s>]+)/gi)].map((match) => match[1]!)
      .filter((target) => /^(https?:)?\/\//i.test(target) && !target.startsWith(base));
    expect(remote).toEqual([]);
  });
});
