import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/http/app-type.js';
import { buildServer } from '../../src/http/server.js';
import { compileNow } from '../../src/http/lazy-validators.js';
import { useTestApp } from '../harness/setup.js';

/**
 * Route validators are compiled on a route's first request, not when the app starts (src/http/lazy-validators.ts,
 * issue 14). A schema Ajv cannot compile would then pass the start unnoticed and answer 500 on first use; this file
 * compiles every request schema of every route the real app registers (its route table, filled by an onRoute hook),
 * with the app's own compiler, so a broken one fails here. The 4xx bodies of invalid requests are unchanged
 * (hostile-input.test.ts, fuzz.test.ts and the face tests check them); the deferred validator answers exactly as the
 * compiled one does.
 */
const ctx = useTestApp();

const PARTS = ['body', 'querystring', 'params', 'headers'] as const;

/** Compiles every request schema of every route of `app` (after `ready`); the routes whose schemas failed, and why. */
function compileRouteValidators(app: App): { compiled: number; failures: string[] } {
  const compile = app.validatorCompiler;
  if (!compile) throw new Error('the app has no validator compiler: is it ready?');
  let compiled = 0;
  const failures: string[] = [];
  for (const route of app.routeTable) {
    for (const httpPart of PARTS) {
      const schema = (route.schema as Record<string, unknown> | undefined)?.[httpPart];
      if (schema === undefined) continue;
      // A body may have one schema per content type (`content`), each compiled on its own, as Fastify does.
      const content = httpPart === 'body' ? (schema as { content?: Record<string, { schema: unknown }> }).content : undefined;
      const schemas = content ? Object.entries(content).map(([type, entry]) => [`${httpPart} ${type}`, entry.schema] as const) : [[httpPart, schema] as const];
      for (const [label, one] of schemas) {
        try {
          const validate = compileNow(compile({ schema: one, method: route.method, url: route.url, httpPart }));
          if (typeof validate !== 'function') throw new Error('no validator function');
          compiled += 1;
        } catch (error) {
          failures.push(`${route.method} ${route.url} ${label}: ${(error as Error).message}`);
        }
      }
    }
  }
  return { compiled, failures };
}

describe('route validators', () => {
  it('every request schema of every registered route compiles', () => {
    const { compiled, failures } = compileRouteValidators(ctx.app.app);
    expect(failures).toEqual([]);
    // The operator API alone has dozens of validated routes, twice (/api and /admin/api).
    expect(compiled).toBeGreaterThan(100);
  });

  it('a broken schema starts (compiled lazily), answers 500 on first use, and this check names it', async () => {
    const server = buildServer(ctx.app.deps);
    server.post('/v1/__broken_schema', { schema: { body: { type: 'object', properties: { a: { type: 'no-such-type' } } } } }, async () => ({ ok: true }));
    await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { failures } = compileRouteValidators(server);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatch(/^POST \/v1\/__broken_schema body: schema is invalid/);
      const response = await fetch(`http://127.0.0.1:${(server.server.address() as AddressInfo).port}/v1/__broken_schema`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}',
      });
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('internal_error');
    } finally {
      await server.close();
    }
  });

  it('a deferred validator gives the compiled one\'s answer and errors, and compiles once', () => {
    const compile = ctx.app.app.validatorCompiler!;
    const schema = { type: 'object', additionalProperties: false, required: ['n'], properties: { n: { type: 'integer', minimum: 1, default: 5 }, m: { type: 'string', default: 'x' } } };
    const deferred = compile({ schema, method: 'POST', url: '/probe', httpPart: 'body' }) as ((data: unknown) => boolean) & { errors?: unknown };
    const compiled = compileNow(deferred) as ((data: unknown) => boolean) & { errors?: unknown };
    expect(compiled).not.toBe(deferred);
    expect(compileNow(deferred)).toBe(compiled);
    for (const data of [{ n: 1 }, { n: 0 }, {}, { n: 2, extra: true }, { n: '2' }, [], null]) {
      const viaDeferred = structuredClone(data);
      const viaCompiled = structuredClone(data);
      expect(deferred(viaDeferred)).toBe(compiled(viaCompiled));
      expect(deferred.errors).toEqual(compiled.errors);
      // Defaults are applied to the request's own object either way (useDefaults).
      expect(viaDeferred).toEqual(viaCompiled);
    }
  });
});
